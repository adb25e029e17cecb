package train

import (
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/responsible-ai/rmodel-operator/internal/demo/dataset"
	"github.com/responsible-ai/rmodel-operator/internal/evaluation/privacy"
	"github.com/responsible-ai/rmodel-operator/internal/onnx"
)

// TestMain loads onnxruntime (make onnxruntime, or $RAI_ONNXRUNTIME_LIB) before any test runs:
// the export tests compare onnxruntime's predictions with the trainer's.
func TestMain(m *testing.M) {
	if err := onnx.Init(""); err != nil {
		println("train tests need onnxruntime:", err.Error())
		os.Exit(1)
	}
	os.Exit(m.Run())
}

var testSHA = strings.Repeat("ab", 32)

func provenance() Provenance {
	return Provenance{Name: "test", Features: dataset.FeatureNames, Label: dataset.LabelColumn, Sensitive: dataset.SensitiveColumns, DatasetSHA256: testSHA, Encoding: dataset.Encoding, Version: "test"}
}

// ortPredict runs every row of tab through onnxruntime.
func ortPredict(t *testing.T, model []byte, tab *dataset.Table) ([]float32, onnx.Metadata) {
	t.Helper()
	s, err := onnx.Load(model, onnx.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatalf("onnxruntime rejects the export: %v", err)
	}
	defer s.Close()
	f := len(tab.FeatureNames)
	x := make([]float32, 0, tab.Len()*f)
	for _, row := range tab.X {
		for _, v := range row {
			x = append(x, float32(v))
		}
	}
	outs, err := s.Run(x, tab.Len())
	if err != nil {
		t.Fatal(err)
	}
	probs, ok := outs[0].Data.([]float32)
	if !ok || outs[0].Name != "probability" {
		t.Fatalf("output %q holds %T, want probability []float32", outs[0].Name, outs[0].Data)
	}
	return probs, s.Metadata()
}

// Predictions in onnxruntime equal the trainer's own: probabilities within float32 rounding,
// and the same decision for every row whose probability is not within that rounding of 0.5.
func TestExportMatchesOnnxruntime(t *testing.T) {
	s := smallData(t, 4)
	dp := logreg()
	dp.DP = &DP{NoiseMultiplier: 1.5, ClippingNorm: 1, Delta: 1e-5}
	dp.Reweighing, dp.ReweighingAttribute = true, dataset.SexColumn
	for name, r := range map[string]Recipe{
		"logistic regression DP": dp,
		"mlp":                    {Model: MLP, Hidden: []int{16, 8}, Epochs: 3, LearningRate: 0.2, SampleRate: 0.05, Seed: 1},
	} {
		t.Run(name, func(t *testing.T) {
			m, _, err := Train(r, s.Train)
			if err != nil {
				t.Fatal(err)
			}
			exp, err := ExportONNX(m, r, provenance())
			if err != nil {
				t.Fatal(err)
			}
			got, md := ortPredict(t, exp.ONNX, s.Eval)
			if len(got) != s.Eval.Len() {
				t.Fatalf("%d outputs for %d rows", len(got), s.Eval.Len())
			}
			for i, x := range s.Eval.X {
				want := m.Predict(x)
				if d := math.Abs(float64(got[i]) - want); d > 2e-6 || math.IsNaN(float64(got[i])) {
					t.Fatalf("row %d: onnxruntime %v, trainer %v", i, got[i], want)
				}
				if math.Abs(want-0.5) > 1e-5 && (got[i] >= 0.5) != (want >= 0.5) {
					t.Fatalf("row %d: decisions differ", i)
				}
			}
			for k, v := range exp.Metadata {
				if md.Custom[k] != v {
					t.Errorf("metadata %s = %q in onnxruntime, %q exported", k, md.Custom[k], v)
				}
			}
		})
	}
}

func TestExportMetadataContract(t *testing.T) {
	s := smallData(t, 5)
	r := logreg()
	r.Reweighing, r.ReweighingAttribute = true, dataset.SexColumn
	plain, _, _ := Train(r, s.Train)
	exp, err := ExportONNX(plain, r, provenance())
	if err != nil {
		t.Fatal(err)
	}
	md := exp.Metadata
	if md[KeyFeatures] != strings.Join(dataset.FeatureNames, ",") || md[KeyLabel] != "label" || md[KeyDatasetSHA256] != testSHA || md[KeyEncoding] != dataset.Encoding || md[KeySensitive] != "sex,age_group" {
		t.Errorf("provenance keys: %v", md)
	}
	var back Recipe
	if err := json.Unmarshal([]byte(md[KeyRecipe]), &back); err != nil || back.Model != LogisticRegression || !back.Reweighing || back.ReweighingAttribute != "sex" || back.DP != nil || back.Seed != 1 {
		t.Errorf("rai.recipe %q decodes to %+v (%v)", md[KeyRecipe], back, err)
	}
	for k := range md {
		if strings.HasPrefix(k, "rai.dp.") {
			t.Errorf("a model trained without DP carries %s", k)
		}
	}

	r.DP = &DP{NoiseMultiplier: 2, ClippingNorm: 1, Delta: 1e-5}
	dp, _, _ := Train(r, s.Train)
	exp, err = ExportONNX(dp, r, provenance())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{KeyDPNoiseMultiplier: "2", KeyDPSampleRate: "0.05", KeyDPSteps: "100", KeyDPDelta: "0.00001", KeyDPClippingNorm: "1", KeyDPAccountant: "rdp"}
	for k, v := range want {
		if exp.Metadata[k] != v {
			t.Errorf("%s = %q, want %q", k, exp.Metadata[k], v)
		}
	}
	eps, _, _ := privacy.Epsilon(2, 0.05, 100, 1e-5)
	if exp.Metadata[KeyDPEpsilon] != decimal(eps) || exp.Epsilon != eps || eps < 0.5 || eps > 3 {
		t.Errorf("rai.dp.epsilon = %q (%v), accountant says %v", exp.Metadata[KeyDPEpsilon], exp.Epsilon, eps)
	}
	// Same inputs, same bytes.
	again, _ := ExportONNX(dp, r, provenance())
	if string(again.ONNX) != string(exp.ONNX) {
		t.Error("exporting the same model twice gave different bytes")
	}
}

func TestExportRejectsBadProvenance(t *testing.T) {
	m, _, _ := Train(logreg(), smallData(t, 6).Train)
	for name, c := range map[string]struct {
		edit func(*Provenance)
		want string
	}{
		"features": {func(p *Provenance) { p.Features = p.Features[1:] }, "8 feature names for a model of 9 inputs"},
		"comma":    {func(p *Provenance) { p.Features = append([]string{"a,b"}, p.Features[1:]...) }, `"a,b"`},
		"label":    {func(p *Provenance) { p.Label = "" }, "no label"},
		"sha":      {func(p *Provenance) { p.DatasetSHA256 = "ABC" }, "64 lowercase hex"},
	} {
		p := provenance()
		c.edit(&p)
		if _, err := ExportONNX(m, logreg(), p); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", name, err, c.want)
		}
	}
}

// The brittle model decides exactly like its base on the data (one-hot exactly 0 or 1), and
// the opposite way once the one-hot feature moves more than the half-width off {0, 1}; its
// ONNX export agrees with the trainer.
func TestBrittleFlipsOffTheLattice(t *testing.T) {
	s := smallData(t, 7)
	base, _, _ := Train(logreg(), s.Train)
	j := 5 // employment_salaried
	b, err := Brittle(base, j, 0.02)
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range s.Eval.X {
		if got, want := b.Logit(x), base.Logit(x); math.Abs(got-want) > 1e-9 {
			t.Fatalf("row %d on the lattice: brittle logit %v, base %v", i, got, want)
		}
		moved := append([]float64(nil), x...)
		moved[j] += 0.05
		if got, want := b.Logit(moved), -base.Logit(moved); math.Abs(got-want) > 1e-9 {
			t.Fatalf("row %d moved off the lattice: brittle logit %v, want %v", i, got, want)
		}
	}
	exp, err := ExportONNX(b, logreg(), provenance())
	if err != nil {
		t.Fatal(err)
	}
	got, _ := ortPredict(t, exp.ONNX, s.Eval)
	for i, x := range s.Eval.X {
		if d := math.Abs(float64(got[i]) - b.Predict(x)); d > 2e-6 {
			t.Fatalf("row %d: onnxruntime %v, trainer %v", i, got[i], b.Predict(x))
		}
	}
	if _, err := Brittle(b, j, 0.02); err == nil {
		t.Error("Brittle accepted an MLP base")
	}
}
