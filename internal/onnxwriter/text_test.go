package onnxwriter_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/responsible-ai/rmodel-operator/internal/onnx"
	"github.com/responsible-ai/rmodel-operator/internal/onnxwriter"
	"github.com/responsible-ai/rmodel-operator/internal/text"
)

var sentences = []string{
	"I want a refund for my order.",
	"Hi",
	"My husband says the delivery of order 55321 never arrived, where is it?",
	"Please cancel my subscription before Friday; Mr. Okonkwo-Adeyemi asked twice.",
	"The app crashes whenever she opens the billing page.",
}

const maxLen = 32

func tokenize(t *testing.T) (ids, mask, types []int64, batch, seq int) {
	t.Helper()
	tok, err := text.Load("../text/bertbase/bert-base-uncased.json")
	if err != nil {
		t.Fatal(err)
	}
	encs, err := tok.EncodeBatch(sentences, text.Options{MaxLength: maxLen, Padding: text.PadLongest})
	if err != nil {
		t.Fatal(err)
	}
	seq = encs[0].Len()
	lengths := map[int]bool{}
	for _, e := range encs {
		n := 0
		for _, m := range e.AttentionMask {
			n += int(m)
		}
		lengths[n] = true
		ids, mask, types = append(ids, e.IDs...), append(mask, e.AttentionMask...), append(types, e.TypeIDs...)
	}
	if len(lengths) != len(sentences) || seq < 10 {
		t.Fatalf("want sentences of distinct lengths padded to the longest: lengths %v, sequence %d", lengths, seq)
	}
	// Mark one position of one sentence as segment b, so the token type table is exercised.
	types[1] = 1
	return ids, mask, types, len(encs), seq
}

func runONNX(t *testing.T, model []byte, ids, mask, types []int64, batch, seq int) ([]float32, []int64) {
	t.Helper()
	if err := onnx.Init(""); err != nil {
		t.Fatalf("these tests need onnxruntime (make onnxruntime): %v", err)
	}
	names := []string{onnxwriter.InputIDsName, onnxwriter.AttentionMaskName, onnxwriter.TokenTypeIDsName}
	s, err := ort.NewDynamicAdvancedSessionWithONNXData(model, names, []string{onnxwriter.LogitsName}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Destroy()
	var inputs []ort.Value
	for _, data := range [][]int64{ids, mask, types} {
		v, err := ort.NewTensor(ort.NewShape(int64(batch), int64(seq)), data)
		if err != nil {
			t.Fatal(err)
		}
		defer v.Destroy()
		inputs = append(inputs, v)
	}
	outputs := []ort.Value{nil}
	if err := s.Run(inputs, outputs); err != nil {
		t.Fatal(err)
	}
	defer outputs[0].Destroy()
	out := outputs[0].(*ort.Tensor[float32])
	return append([]float32(nil), out.GetData()...), out.GetShape()
}

func rng() func() float64 { return rand.New(rand.NewPCG(7, 7)).Float64 }

// A classifier with the real vocabulary size and random weights gives onnxruntime's logits
// equal to the Go forward pass on real tokenized, padded sentences.
func TestTextClassifierMatchesGoForward(t *testing.T) {
	next := rng()
	enc := onnxwriter.RandomTextEncoder(next, 30522, maxLen, 16, 1)
	m := onnxwriter.TextClassifier{Encoder: enc, Hidden: onnxwriter.RandomDense(next, 16, 24), Output: onnxwriter.RandomDense(next, 24, 5)}
	data, err := m.Marshal(onnxwriter.ModelInfo{Metadata: map[string]string{"rai.task": "text-classification"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 4<<20 {
		t.Errorf("model is %d bytes", len(data))
	}
	ids, mask, types, batch, seq := tokenize(t)
	got, shape := runONNX(t, data, ids, mask, types, batch, seq)
	if len(shape) != 2 || shape[0] != int64(batch) || shape[1] != 5 {
		t.Fatalf("logits shape %v", shape)
	}
	worst, spread := 0.0, 0.0
	for b := range batch {
		want, err := m.Logits(ids[b*seq:(b+1)*seq], mask[b*seq:(b+1)*seq], types[b*seq:(b+1)*seq])
		if err != nil {
			t.Fatal(err)
		}
		for j, w := range want {
			worst = math.Max(worst, math.Abs(w-float64(got[b*5+j])))
			spread = math.Max(spread, math.Abs(w))
		}
	}
	if worst >= 1e-4 || spread < 0.05 {
		t.Fatalf("max |onnxruntime − Go| = %g (logits up to %g)", worst, spread)
	}
	// Padding does not change a sentence's logits: "Hi" alone equals "Hi" padded.
	alone, err := m.Logits(ids[seq:seq+3], mask[seq:seq+3], types[seq:seq+3])
	if err != nil {
		t.Fatal(err)
	}
	for j := range alone {
		if math.Abs(alone[j]-float64(got[5+j])) >= 1e-4 {
			t.Fatalf("padded %v, alone %v", got[5:10], alone)
		}
	}
}

func TestTokenClassifierMatchesGoForward(t *testing.T) {
	next := rng()
	enc := onnxwriter.RandomTextEncoder(next, 30522, maxLen, 16, 1)
	m := onnxwriter.TokenClassifier{Encoder: enc, Hidden: onnxwriter.RandomDense(next, 48, 32), Output: onnxwriter.RandomDense(next, 32, 7)}
	data, err := m.Marshal(onnxwriter.ModelInfo{})
	if err != nil {
		t.Fatal(err)
	}
	ids, mask, types, batch, seq := tokenize(t)
	got, shape := runONNX(t, data, ids, mask, types, batch, seq)
	if len(shape) != 3 || shape[0] != int64(batch) || shape[1] != int64(seq) || shape[2] != 7 {
		t.Fatalf("logits shape %v", shape)
	}
	worst := 0.0
	for b := range batch {
		want, err := m.Logits(ids[b*seq:(b+1)*seq], mask[b*seq:(b+1)*seq], types[b*seq:(b+1)*seq])
		if err != nil {
			t.Fatal(err)
		}
		for p, row := range want {
			for j, w := range row {
				worst = math.Max(worst, math.Abs(w-float64(got[(b*seq+p)*7+j])))
			}
		}
	}
	if worst >= 1e-4 {
		t.Fatalf("max |onnxruntime − Go| = %g", worst)
	}
	// The last real token of "Hi" ([SEP], position 2) sees zeros after it whether padded or not.
	alone, err := m.Logits(ids[seq:seq+3], mask[seq:seq+3], types[seq:seq+3])
	if err != nil {
		t.Fatal(err)
	}
	for j := range alone[2] {
		if math.Abs(alone[2][j]-float64(got[(seq+2)*7+j])) >= 1e-4 {
			t.Fatalf("padding changed a real token's logits")
		}
	}
	// The window matters: changing the next token changes a token's logits.
	ids2 := append([]int64(nil), ids[:seq]...)
	ids2[3] = 2000
	a, _ := m.Logits(ids[:seq], mask[:seq], types[:seq])
	b, _ := m.Logits(ids2, mask[:seq], types[:seq])
	if a[2][0] == b[2][0] || a[6][0] != b[6][0] {
		t.Fatalf("context window: token 2 %v → %v, token 6 %v → %v", a[2][0], b[2][0], a[6][0], b[6][0])
	}
}

func TestTextModelsRejectInconsistentShapes(t *testing.T) {
	next := rng()
	enc := onnxwriter.RandomTextEncoder(next, 100, 8, 4, 1)
	cases := map[string]interface {
		Marshal(onnxwriter.ModelInfo) ([]byte, error)
	}{
		"classifier hidden In":     onnxwriter.TextClassifier{Encoder: enc, Hidden: onnxwriter.RandomDense(next, 5, 3), Output: onnxwriter.RandomDense(next, 3, 2)},
		"token classifier window":  onnxwriter.TokenClassifier{Encoder: enc, Hidden: onnxwriter.RandomDense(next, 4, 3), Output: onnxwriter.RandomDense(next, 3, 2)},
		"short position embedding": onnxwriter.TextClassifier{Encoder: onnxwriter.TextEncoder{Vocab: 100, MaxLen: 8, Dim: 4, Token: enc.Token, Position: enc.Position[:4], TokenType: enc.TokenType}, Hidden: onnxwriter.RandomDense(next, 4, 3), Output: onnxwriter.RandomDense(next, 3, 2)},
	}
	for name, m := range cases {
		if _, err := m.Marshal(onnxwriter.ModelInfo{}); err == nil {
			t.Errorf("%s: marshalled", name)
		}
	}
	ok := onnxwriter.TextClassifier{Encoder: enc, Hidden: onnxwriter.RandomDense(next, 4, 3), Output: onnxwriter.RandomDense(next, 3, 2)}
	if _, err := ok.Logits(make([]int64, 9), make([]int64, 9), nil); err == nil || !strings.Contains(err.Error(), "positions") {
		t.Errorf("9 positions on a model of 8: %v", err)
	}
	if _, err := ok.Logits([]int64{100}, []int64{1}, nil); err == nil {
		t.Error("id 100 of a vocabulary of 100 accepted")
	}
}
