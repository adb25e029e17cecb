package onnx

import (
	"strings"
	"testing"

	"github.com/responsible-ai/rmodel-operator/internal/onnxwriter"
)

// idsPlusBias is y[n, s] = table[ids[n, s]] + bias[n, s]: one INT64 and one FP32 input, both
// [batch, sequence] with dynamic dimensions, and a fixed-width FP32 input "scale" [batch, 2]
// that only takes part through its shape check.
func idsPlusBias(t *testing.T) *Session {
	t.Helper()
	m := onnxwriter.Model{Graph: onnxwriter.Graph{
		Name: "ids_plus_bias",
		Nodes: []onnxwriter.Node{
			{OpType: "Gather", Inputs: []string{"table", "ids"}, Outputs: []string{"looked_up"}},
			{OpType: "Add", Inputs: []string{"looked_up", "bias"}, Outputs: []string{"y"}},
			{OpType: "Identity", Inputs: []string{"scale"}, Outputs: []string{"scale_out"}},
		},
		Initializers: []onnxwriter.Tensor{{Name: "table", Dims: []int64{4}, Float: []float32{10, 20, 30, 40}}},
		Inputs: []onnxwriter.ValueInfo{
			{Name: "ids", ElemType: onnxwriter.Int64, Shape: []onnxwriter.Dim{{Param: "batch"}, {Param: "sequence"}}},
			{Name: "bias", ElemType: onnxwriter.Float, Shape: []onnxwriter.Dim{{Param: "batch"}, {Param: "sequence"}}},
			{Name: "scale", ElemType: onnxwriter.Float, Shape: []onnxwriter.Dim{{Param: "batch"}, {Value: 2}}},
		},
		Outputs: []onnxwriter.ValueInfo{
			{Name: "y", ElemType: onnxwriter.Float, Shape: []onnxwriter.Dim{{Param: "batch"}, {Param: "sequence"}}},
			{Name: "scale_out", ElemType: onnxwriter.Float, Shape: []onnxwriter.Dim{{Param: "batch"}, {Value: 2}}},
		},
	}}
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	s, err := Load(data, Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestRunInputsNamedInt64AndFloat32(t *testing.T) {
	s := idsPlusBias(t)
	// Given in another order than the model declares them.
	outs, err := s.RunInputs([]NamedTensor{
		{Name: "scale", Shape: []int64{2, 2}, Data: []float32{1, 2, 3, 4}},
		{Name: "bias", Shape: []int64{2, 3}, Data: []float32{0.5, 0, 0, 0, 0, -1}},
		{Name: "ids", Shape: []int64{2, 3}, Data: []int64{0, 1, 2, 3, 3, 0}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 2 || outs[0].Name != "y" || outs[0].DataType != FP32 {
		t.Fatalf("outputs %+v", outs)
	}
	want := []float32{10.5, 20, 30, 40, 40, 9}
	got := outs[0].Data.([]float32)
	if !slicesEqual(outs[0].Shape, []int64{2, 3}) || !slicesEqual(got, want) {
		t.Fatalf("y = %v shape %v, want %v shape [2 3]", got, outs[0].Shape, want)
	}
	if got := outs[1].Data.([]float32); !slicesEqual(got, []float32{1, 2, 3, 4}) {
		t.Fatalf("scale_out = %v", got)
	}
}

func slicesEqual[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRunInputsRefusesMismatchedInputs(t *testing.T) {
	s := idsPlusBias(t)
	ids := NamedTensor{Name: "ids", Shape: []int64{1, 2}, Data: []int64{0, 1}}
	bias := NamedTensor{Name: "bias", Shape: []int64{1, 2}, Data: []float32{0, 0}}
	scale := NamedTensor{Name: "scale", Shape: []int64{1, 2}, Data: []float32{0, 0}}
	cases := map[string]struct {
		inputs []NamedTensor
		want   string
	}{
		"missing":       {[]NamedTensor{ids, bias}, `missing input "scale"`},
		"unknown":       {[]NamedTensor{ids, bias, scale, {Name: "token_type_ids", Shape: []int64{1, 2}, Data: []int64{0, 0}}}, `unknown input "token_type_ids": the model's inputs are bias, ids, scale`},
		"twice":         {[]NamedTensor{ids, ids, bias, scale}, `input "ids" given twice`},
		"wrong type":    {[]NamedTensor{{Name: "ids", Shape: []int64{1, 2}, Data: []float32{0, 1}}, bias, scale}, `input "ids": FP32 data, the model takes INT64`},
		"go type":       {[]NamedTensor{{Name: "ids", Shape: []int64{1, 2}, Data: []int32{0, 1}}, bias, scale}, `input "ids": data of Go type []int32`},
		"rank":          {[]NamedTensor{{Name: "ids", Shape: []int64{2}, Data: []int64{0, 1}}, bias, scale}, `input "ids": shape [2] has 1 dimensions, the model's [-1 -1] has 2`},
		"fixed dim":     {[]NamedTensor{ids, bias, {Name: "scale", Shape: []int64{2, 1}, Data: []float32{0, 0}}}, `input "scale": shape [2 1], the model takes [-1 2] (dimension 1 is fixed at 2)`},
		"value count":   {[]NamedTensor{{Name: "ids", Shape: []int64{1, 3}, Data: []int64{0, 1}}, bias, scale}, `input "ids": shape [1 3] holds 3 values, data has 2`},
		"negative dims": {[]NamedTensor{{Name: "ids", Shape: []int64{-1, 2}, Data: []int64{0, 1}}, bias, scale}, `negative dimension`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := s.RunInputs(c.inputs)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to say %q", err, c.want)
			}
		})
	}
	// The float path is untouched: Run still refuses a model that is not one FP32 input.
	if _, err := s.Run([]float32{0}, 1); err == nil || !strings.Contains(err.Error(), "want exactly one") {
		t.Fatalf("Run on a three-input model: %v", err)
	}
}
