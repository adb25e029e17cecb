package serving

import (
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/responsible-ai/rmodel-operator/internal/contract"
	"github.com/responsible-ai/rmodel-operator/internal/textmodel"
	"github.com/responsible-ai/rmodel-operator/serving/inference"
)

var (
	fuzzTextOnce sync.Once
	fuzzText     *textServing
)

// fuzzTextServing is a textServing over the test classifier (max length 16, 200 bytes a text).
func fuzzTextServing(f *testing.F) *textServing {
	fuzzTextOnce.Do(func() {
		data, err := classifierSpec().Marshal()
		if err != nil {
			f.Fatal(err)
		}
		tok, err := os.ReadFile(tokenizerPath)
		if err != nil {
			f.Fatal(err)
		}
		m, err := textmodel.Load(data, tok, textmodel.Options{Task: contract.TaskTextClassification, IntraOpThreads: 1})
		if err != nil {
			f.Fatal(err)
		}
		fuzzText = &textServing{model: m, labels: m.Labels(), k: len(m.Labels()), maxTextBytes: 200,
			tokenInputs: []string{textmodel.InputIDs, textmodel.AttentionMask}}
	})
	return fuzzText
}

// checkTextDecoded fails unless an accepted request is one the model can run as is.
func checkTextDecoded(t *testing.T, ts *textServing, req *textRequest, err error) {
	t.Helper()
	if err != nil {
		if _, ok := err.(*RequestError); !ok {
			t.Fatalf("error %T %v is not a *RequestError", err, err)
		}
		return
	}
	if req.rows < 1 || len(req.encs) != req.rows || len(req.outputs) == 0 || (req.texts != nil) == (req.tokens != nil) {
		t.Fatalf("accepted inconsistent request %+v", req)
	}
	for i, e := range req.encs {
		if e.Len() < 1 || e.Len() > ts.model.MaxLength() || len(e.AttentionMask) != e.Len() || len(e.TypeIDs) != e.Len() {
			t.Fatalf("accepted encoding %d of %d positions (max %d): %+v", i, e.Len(), ts.model.MaxLength(), e)
		}
	}
}

// Any REST body, binary or not, decodes to a request the model can run or to a *RequestError.
func FuzzDecodeTextHTTP(f *testing.F) {
	ts := fuzzTextServing(f)
	f.Add(`{"inputs":[{"name":"text","datatype":"BYTES","shape":[2],"data":["hello","world"]}]}`, "")
	f.Add(`{"inputs":[{"name":"text","datatype":"BYTES","shape":[1,1],"data":[["hi"]]}],"outputs":[{"name":"logits"}]}`, "")
	f.Add(`{"inputs":[{"name":"input_ids","datatype":"INT64","shape":[1,3],"data":[101,7592,102]},{"name":"attention_mask","datatype":"INT64","shape":[1,3],"data":[[1,1,1]]}]}`, "")
	bin := `{"inputs":[{"name":"text","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":6}}]}`
	f.Add(bin+"\x02\x00\x00\x00hi", strconv.Itoa(len(bin)))
	f.Fuzz(func(t *testing.T, body, headerLen string) {
		h := http.Header{}
		if headerLen != "" {
			h.Set(InferenceHeaderContentLength, headerLen)
		}
		s := &Server{text: ts}
		req, err := s.decodeTextHTTP(h, []byte(body))
		checkTextDecoded(t, ts, req, err)
	})
}

// Any gRPC message decodes to a request the model can run or to a *RequestError (a panic would
// stop the server).
func FuzzDecodeTextGRPC(f *testing.F) {
	ts := fuzzTextServing(f)
	for _, r := range []*inference.ModelInferRequest{
		{Inputs: []*inference.ModelInferRequest_InferInputTensor{{Name: "text", Datatype: "BYTES", Shape: []int64{1},
			Contents: &inference.InferTensorContents{BytesContents: [][]byte{[]byte("hello")}}}}},
		{Inputs: []*inference.ModelInferRequest_InferInputTensor{{Name: "text", Datatype: "BYTES", Shape: []int64{2}}},
			RawInputContents: [][]byte{appendLengthPrefixed(nil, []string{"a b", "c"})}},
		{Inputs: []*inference.ModelInferRequest_InferInputTensor{
			{Name: "input_ids", Datatype: "INT64", Shape: []int64{1, 2}, Contents: &inference.InferTensorContents{Int64Contents: []int64{101, 102}}},
			{Name: "attention_mask", Datatype: "INT64", Shape: []int64{1, 2}, Contents: &inference.InferTensorContents{Int64Contents: []int64{1, 1}}},
		}},
	} {
		b, err := proto.Marshal(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		var r inference.ModelInferRequest
		if proto.Unmarshal(msg, &r) != nil {
			return
		}
		req, err := ts.decodeGRPC(&r)
		checkTextDecoded(t, ts, req, err)
	})
}
