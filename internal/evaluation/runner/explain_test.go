package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/responsible-ai/rmodel-operator/internal/onnxwriter"
)

// Through onnxruntime: a logistic regression that ignores one column ranks
// it last with importance exactly 0 and Shapley value 0, and ranks the
// heavily weighted feature first.
func TestExplainRanksFeatures(t *testing.T) {
	model := writeModel(t, onnxwriter.LogisticRegression([]float32{0.2, 0, 4}, 0), map[string]string{"rai.features": "a,unused,b"})
	rng := rand.New(rand.NewPCG(1, 3))
	var sb strings.Builder
	sb.WriteString("b,label,unused,a\n")
	for range 5000 {
		a, u, b := rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()
		y := 0
		if 0.2*a+4*b+0.3*rng.NormFloat64() > 0 {
			y = 1
		}
		fmt.Fprintf(&sb, "%v,%d,%v,%v\n", b, y, u, a)
	}
	cfg := ExplainConfig{
		Common: Common{ModelPath: model, DataPath: writeText(t, "e.csv", sb.String())},
		Label:  "label", Threshold: 0.5, Samples: 800, Repeats: 3, Permutations: 16, ShapleyRows: 50, Seed: 2,
	}
	rep, err := EvaluateExplain(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Validate(); err != nil {
		t.Fatal(err)
	}
	var d ExplainDetails
	if err := json.Unmarshal(rep.Details, &d); err != nil {
		t.Fatal(err)
	}
	names := []string{d.Features[0].Name, d.Features[1].Name, d.Features[2].Name}
	if strings.Join(names, ",") != "b,a,unused" || d.Features[0].Rank != 1 {
		t.Fatalf("ranking %v", d.Features)
	}
	last := d.Features[2]
	if last.PermutationImportanceMean != 0 || last.ShapleyMeanAbs != 0 {
		t.Fatalf("unused feature: %+v", last)
	}
	if d.Features[0].PermutationImportanceMean < 0.3 || d.Features[0].ShapleyMeanAbs < 5*d.Features[1].ShapleyMeanAbs {
		t.Fatalf("top feature: %+v vs %+v", d.Features[0], d.Features[1])
	}
	if d.Rows != 800 || rep.Dataset.Rows != 5000 || math.Abs(d.BaselineAccuracy-metric(t, rep, "baseline_accuracy")) > 0 {
		t.Fatalf("rows %d dataset %d", d.Rows, rep.Dataset.Rows)
	}
}
