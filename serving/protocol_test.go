package serving

import (
	"math"
	"runtime"
	"strings"
	"testing"
)

var testSpec = InputSpec{Name: "features", Shape: []int64{-1, 3}, Outputs: []string{"probability"}}

func TestDecodeInferRequestAcceptsFlatAndNestedData(t *testing.T) {
	flat := `{"id":"a","inputs":[{"name":"features","shape":[2,3],"datatype":"FP32","data":[1,2,3,4.5,-5e-1,6e2]}]}`
	nested := `{"id":"a","inputs":[{"name":"features","shape":[2,3],"datatype":"FP32","data":[[1,2,3],[4.5,-0.5,600]]}]}`
	want := []float32{1, 2, 3, 4.5, -0.5, 600}
	for name, body := range map[string]string{"flat": flat, "nested": nested} {
		req, err := DecodeInferRequest([]byte(body), &testSpec)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if req.ID != "a" || req.Rows != 2 || len(req.Data) != 6 || req.Outputs != nil {
			t.Fatalf("%s: %+v", name, req)
		}
		for i := range want {
			if req.Data[i] != want[i] {
				t.Fatalf("%s: data %v, want %v", name, req.Data, want)
			}
		}
	}
	req, err := DecodeInferRequest([]byte(`{"inputs":[{"name":"features","shape":[1,3],"datatype":"FP32","data":[0,0,1e-50]}],"outputs":[{"name":"probability"}]}`), &testSpec)
	if err != nil || len(req.Outputs) != 1 || req.Data[2] != 0 {
		t.Fatalf("requested output / underflow: %+v, %v", req, err)
	}
}

// badRequests are the malformed requests every layer must reject with a message naming the
// problem; the server test sends the same bodies over HTTP.
var badRequests = []struct {
	name, body, want string
}{
	{"invalid JSON", `{"inputs":[`, "invalid JSON"},
	{"not an object", `[1,2]`, "wrong JSON type"},
	{"no inputs", `{"inputs":[]}`, `missing input "features"`},
	{"unknown input", `{"inputs":[{"name":"age","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}`, `unknown input "age"`},
	{"input twice", `{"inputs":[{"name":"features","shape":[1,3],"datatype":"FP32","data":[1,2,3]},{"name":"features","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}`, "given twice"},
	{"wrong datatype", `{"inputs":[{"name":"features","shape":[1,3],"datatype":"INT64","data":[1,2,3]}]}`, `datatype "INT64"`},
	{"wrong feature count", `{"inputs":[{"name":"features","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]}`, "dimension 1 must be 3"},
	{"wrong rank", `{"inputs":[{"name":"features","shape":[3],"datatype":"FP32","data":[1,2,3]}]}`, "has 1 dimensions"},
	{"zero rows", `{"inputs":[{"name":"features","shape":[0,3],"datatype":"FP32","data":[]}]}`, "batch dimension 0"},
	{"too few values", `{"inputs":[{"name":"features","shape":[2,3],"datatype":"FP32","data":[1,2,3]}]}`, "holds 6 values, data has 3"},
	{"too many values", `{"inputs":[{"name":"features","shape":[1,3],"datatype":"FP32","data":[1,2,3,4]}]}`, "more values than the shape holds"},
	{"string value", `{"inputs":[{"name":"features","shape":[1,3],"datatype":"FP32","data":[1,"2",3]}]}`, "element 1 is a string"},
	{"NaN as string", `{"inputs":[{"name":"features","shape":[1,3],"datatype":"FP32","data":[1,"NaN",3]}]}`, "element 1 is a string"},
	{"null value", `{"inputs":[{"name":"features","shape":[1,3],"datatype":"FP32","data":[1,null,3]}]}`, "element 1 is null"},
	{"overflows float32", `{"inputs":[{"name":"features","shape":[1,3],"datatype":"FP32","data":[1,2,1e39]}]}`, "element 2 (1e39) is not a finite float32"},
	{"overflows float64", `{"inputs":[{"name":"features","shape":[1,3],"datatype":"FP32","data":[1,-1e400,3]}]}`, "not a finite float32"},
	{"huge shape, little data", `{"inputs":[{"name":"features","shape":[1000000000,3],"datatype":"FP32","data":[1,2,3]}]}`, "holds 3000000000 values, data has 3"},
	{"missing data", `{"inputs":[{"name":"features","shape":[1,3],"datatype":"FP32"}]}`, "missing data"},
	{"data not array", `{"inputs":[{"name":"features","shape":[1,3],"datatype":"FP32","data":{"a":1}}]}`, "JSON array of numbers"},
	{"unknown output", `{"inputs":[{"name":"features","shape":[1,3],"datatype":"FP32","data":[1,2,3]}],"outputs":[{"name":"label"}]}`, `unknown output "label"`},
	{"shape not numbers", `{"inputs":[{"name":"features","shape":["1",3],"datatype":"FP32","data":[1,2,3]}]}`, "wrong JSON type"},
	{"deep nesting", `{"inputs":[{"name":"features","shape":[1,3],"datatype":"FP32","data":` + strings.Repeat("[", 40) + "1" + strings.Repeat("]", 40) + `}]}`, "more than 32 deep"},
}

func TestDecodeInferRequestRejectsBadInput(t *testing.T) {
	for _, tc := range badRequests {
		_, err := DecodeInferRequest([]byte(tc.body), &testSpec)
		re, ok := err.(*RequestError)
		if !ok || re.Status != 400 || !strings.Contains(re.Message, tc.want) {
			t.Errorf("%s: error %v, want a 400 containing %q", tc.name, err, tc.want)
		}
	}
}

// FuzzDecodeInferRequest checks the decoder never panics and that whatever it accepts is a
// request the model can run: the right number of finite values for a valid shape.
func FuzzDecodeInferRequest(f *testing.F) {
	f.Add(`{"id":"x","inputs":[{"name":"features","shape":[2,3],"datatype":"FP32","data":[[1,2,3],[4,5,6]]}]}`)
	f.Add(`{"inputs":[{"name":"features","shape":[1,3],"datatype":"FP32","data":[1e38,-3.4e38,0.1]}],"outputs":[{"name":"probability"}]}`)
	for _, tc := range badRequests {
		f.Add(tc.body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req, err := DecodeInferRequest([]byte(body), &testSpec)
		if err != nil {
			if _, ok := err.(*RequestError); !ok {
				t.Fatalf("error %T %v is not a *RequestError", err, err)
			}
			return
		}
		if req.Rows < 1 || len(req.Shape) != 2 || req.Shape[0] != int64(req.Rows) || req.Shape[1] != 3 || len(req.Data) != req.Rows*3 {
			t.Fatalf("accepted inconsistent request %+v", req)
		}
		for i, v := range req.Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("accepted non-finite value %v at %d", v, i)
			}
		}
	})
}

// A client-chosen shape must not make the decoder allocate for it: memory follows the body.
func TestDecodeAllocatesByBodyNotByShape(t *testing.T) {
	body := []byte(`{"inputs":[{"name":"features","shape":[1000000000,3],"datatype":"FP32","data":[1,2,3]}]}`)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := DecodeInferRequest(body, &testSpec); err == nil {
		t.Fatal("accepted")
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Fatalf("decoding a 100-byte body allocated %d bytes", grew)
	}
}
