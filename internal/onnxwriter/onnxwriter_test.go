package onnxwriter

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// The Go reference computed by hand: σ(0.8·1 − 1.5·2 + 0.5) = σ(−1.7).
func TestLogisticRegressionPredict(t *testing.T) {
	m := LogisticRegression([]float32{0.8, -1.5}, 0.5)
	got := m.Predict([]float32{1, 2})
	want := 1 / (1 + math.Exp(1.7))
	if math.Abs(got-want) > 1e-7 {
		t.Fatalf("Predict = %v, want %v", got, want)
	}
}

// A two-layer network computed by hand: h = relu([1,2]·[[1,-1],[1,1]] + [0,-5]) = relu([3,-4]) =
// [3,0]; z = 3·0.5 + 0·7 − 1 = 0.5.
func TestMLPPredict(t *testing.T) {
	m := MLP{
		Hidden: []Dense{{In: 2, Out: 2, W: []float32{1, -1, 1, 1}, B: []float32{0, -5}}},
		Output: Dense{In: 2, Out: 1, W: []float32{0.5, 7}, B: []float32{-1}},
	}
	got := m.Predict([]float32{1, 2})
	want := 1 / (1 + math.Exp(-0.5))
	if math.Abs(got-want) > 1e-7 {
		t.Fatalf("Predict = %v, want %v", got, want)
	}
}

func TestMarshalIsDeterministicAndCarriesMetadata(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	m := RandomMLP(rng.Float64, 4, 8)
	info := ModelInfo{ProducerName: "p", Metadata: map[string]string{"b": "2", "a": "1", "c": "3"}}
	first, err := m.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		again, err := m.Marshal(info)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, again) {
			t.Fatal("two encodings of one model differ")
		}
	}
	// Walk the top-level fields: ir_version 8, opset 17, metadata_props in key order.
	var ir, opset uint64
	var keys []string
	b := first
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			ir, b = v, b[n:]
		case typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				t.Fatalf("field %d: %v", num, protowire.ParseError(n))
			}
			b = b[n:]
			switch num {
			case 8:
				_, _, tn := protowire.ConsumeTag(v)
				opset, _ = protowire.ConsumeVarint(v[tn:])
			case 14:
				_, _, tn := protowire.ConsumeTag(v)
				k, _ := protowire.ConsumeString(v[tn:])
				keys = append(keys, k)
			}
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			b = b[n:]
		}
	}
	if ir != DefaultIRVersion || opset != DefaultOpset || strings.Join(keys, ",") != "a,b,c" {
		t.Fatalf("ir %d opset %d metadata keys %v", ir, opset, keys)
	}
}

func TestModelRejectsInconsistentLayers(t *testing.T) {
	cases := map[string]MLP{
		"weights count": {Output: Dense{In: 2, Out: 1, W: []float32{1}, B: []float32{0}}},
		"chain":         {Hidden: []Dense{{In: 2, Out: 3, W: make([]float32, 6), B: make([]float32, 3)}}, Output: Dense{In: 2, Out: 1, W: make([]float32, 2), B: make([]float32, 1)}},
		"two outputs":   {Output: Dense{In: 1, Out: 2, W: make([]float32, 2), B: make([]float32, 2)}},
	}
	for name, m := range cases {
		if _, err := m.Marshal(ModelInfo{}); err == nil {
			t.Errorf("%s: inconsistent model marshalled", name)
		}
	}
	bad := Model{Graph: Graph{
		Inputs:       []ValueInfo{{Name: "x", ElemType: Float}},
		Outputs:      []ValueInfo{{Name: "y", ElemType: Float}},
		Initializers: []Tensor{{Name: "w", Dims: []int64{2, 2}, Float: []float32{1}}},
	}}
	if _, err := bad.Marshal(); err == nil || !strings.Contains(err.Error(), `tensor "w"`) {
		t.Errorf("short tensor: %v", err)
	}
}
