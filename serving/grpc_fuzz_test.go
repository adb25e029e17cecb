package serving

import (
	"context"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/responsible-ai/rmodel-operator/serving/inference"
)

// checkDecoded fails unless a request the decoder accepted is consistent with testSpec.
func checkDecoded(t *testing.T, req *InferRequest) {
	t.Helper()
	if req.Rows < 1 || len(req.Shape) != 2 || req.Shape[0] != int64(req.Rows) || req.Shape[1] != 3 || len(req.Data) != req.Rows*3 {
		t.Fatalf("accepted inconsistent request %+v", req)
	}
	for i, v := range req.Data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("accepted non-finite value %v at %d", v, i)
		}
	}
}

// A panic in a gRPC handler stops the whole server (grpc-go does not recover): any message must
// decode to a checked request or a *RequestError.
func FuzzDecodeGRPCInferRequest(f *testing.F) {
	for _, r := range []*inference.ModelInferRequest{
		typedRequest("x", [][]float32{{1, 2, 3}, {4, 5, 6}}),
		rawRequest("y", [][]float32{{1, 2, 3}}),
		{Inputs: []*inference.ModelInferRequest_InferInputTensor{{Name: "features", Datatype: "FP32", Shape: []int64{-1, 3}}}},
	} {
		r.Parameters = map[string]*inference.InferParameter{"group": {ParameterChoice: &inference.InferParameter_Int64Param{Int64Param: 1}}}
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
		req, err := decodeGRPCInferRequest(&r, &testSpec, true)
		if err != nil {
			if _, ok := err.(*RequestError); !ok {
				t.Fatalf("error %T %v is not a *RequestError", err, err)
			}
			return
		}
		checkDecoded(t, req)
	})
}

func FuzzDecodeBinaryInferRequest(f *testing.F) {
	json := `{"inputs":[{"name":"features","shape":[1,3],"datatype":"FP32","parameters":{"binary_data_size":12}}]}`
	f.Add(json+"\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40", strconv.Itoa(len(json)))
	f.Add(json+"\x00\x00\xc0\x7f\x00\x00\x00\x40\x00\x00\x40\x40", strconv.Itoa(len(json))) // NaN
	f.Add(json, "-1")
	f.Fuzz(func(t *testing.T, body, headerLen string) {
		h := http.Header{}
		h.Set(InferenceHeaderContentLength, headerLen)
		req, err := decodeHTTPInferRequest(h, []byte(body), &testSpec)
		if err != nil {
			if _, ok := err.(*RequestError); !ok {
				t.Fatalf("error %T %v is not a *RequestError", err, err)
			}
			return
		}
		checkDecoded(t, req)
	})
}

func TestGRPCHandlerPanicIsInternal(t *testing.T) {
	s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	_, err := s.recoverGRPC(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/inference.GRPCInferenceService/ModelInfer"},
		func(context.Context, any) (any, error) { panic("boom") })
	if status.Code(err) != codes.Internal {
		t.Fatalf("panic answered %v, want Internal", err)
	}
}
