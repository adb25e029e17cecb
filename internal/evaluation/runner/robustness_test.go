package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/responsible-ai/rmodel-operator/internal/evaluation/robustness"
	"github.com/responsible-ai/rmodel-operator/internal/onnxwriter"
	"github.com/responsible-ai/rmodel-operator/internal/report"
)

// Through onnxruntime, a logistic regression: every certified radius is
// below the exact |w·x+b|/‖w‖ (CERTIFY's guarantee, α = 0.001), every attack
// norm above it (a real adversarial example) and within 10% of it; the
// report's certified accuracy at each radius equals a count from the exact
// radii within the few rows near a radius; shards merge to the one pass.
func TestRobustnessLinearThroughONNX(t *testing.T) {
	w := []float32{0.8, -0.6, 0.3}
	const b = float32(0.1)
	model := writeModel(t, onnxwriter.LogisticRegression(w, b), nil)
	rng := rand.New(rand.NewPCG(2, 2))
	var sb strings.Builder
	sb.WriteString("x1,x2,x3,y\n")
	const rows = 60
	xs := make([][]float32, rows)
	labels := make([]int, rows)
	for i := range rows {
		x := []float32{float32(rng.NormFloat64() * 0.5), float32(rng.NormFloat64() * 0.5), float32(rng.NormFloat64() * 0.5)}
		y := 0
		if float64(w[0]*x[0]+w[1]*x[1]+w[2]*x[2]+b) >= 0 {
			y = 1
		}
		if i%10 == 9 {
			y = 1 - y // a few mislabelled rows
		}
		xs[i], labels[i] = x, y
		fmt.Fprintf(&sb, "%v,%v,%v,%d\n", x[0], x[1], x[2], y)
	}
	data := writeText(t, "r.csv", sb.String())
	cfg := RobustnessConfig{
		Common: Common{ModelPath: model, DataPath: data, Workers: 2},
		Label:  "y", Favorable: "1", Threshold: 0.5, Sigma: 0.25, N0: 100, N: 20000, Alpha: 0.001,
		Radii: []float64{0, 0.1, 0.25}, Seed: 4, AttackRows: 30, AttackQueries: 2000,
	}
	rep, err := EvaluateRobustness(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Validate(); err != nil {
		t.Fatal(err)
	}
	var d RobustnessDetails
	if err := json.Unmarshal(rep.Details, &d); err != nil {
		t.Fatal(err)
	}
	// Clean accuracy: exactly 9 of 10 rows are labelled as the model predicts.
	if got := metric(t, rep, "clean_accuracy"); math.Abs(got-0.9) > 1e-12 {
		t.Fatalf("clean accuracy %v", got)
	}
	// Recompute each row's certificate with the Go smoother on the Go
	// reference model: onnxruntime's counts must give the same radii up to
	// float32 rounding of rows right at the boundary, so compare aggregates.
	var exactCorrect [3]int
	for i := range rows {
		exact := robustness.ExactLinearRadius(w, b, xs[i])
		pred := 0
		if float64(w[0]*xs[i][0]+w[1]*xs[i][1]+w[2]*xs[i][2]+b) >= 0 {
			pred = 1
		}
		for k, r := range cfg.Radii {
			if pred == labels[i] && exact >= r {
				exactCorrect[k]++
			}
		}
	}
	for k, rr := range d.Radii {
		got := float64(rr.CertifiedAccuracy) * rows
		// Certified ≤ exact (up to α), and not far below at these radii with n = 20000.
		if got > float64(exactCorrect[k]) || got < float64(exactCorrect[k])-8 {
			t.Errorf("radius %v: %v rows certified correct, %d by the exact radius", rr.Radius, got, exactCorrect[k])
		}
	}
	// Attack norms bracket the exact distance from above.
	for i, n := range d.Counts.AttackNorms {
		exact := robustness.ExactLinearRadius(w, b, xs[i])
		pred := 0
		if float64(w[0]*xs[i][0]+w[1]*xs[i][1]+w[2]*xs[i][2]+b) >= 0 {
			pred = 1
		}
		if pred != labels[i] {
			if n != 0 {
				t.Errorf("row %d misclassified but attack norm %v", i, n)
			}
			continue
		}
		if float64(n) < exact*(1-1e-3)-1e-5 || float64(n) > exact*1.1+1e-3 {
			t.Errorf("row %d: attack norm %v, exact %v", i, n, exact)
		}
	}
	if len(d.Counts.AttackNorms) != 30 {
		t.Fatalf("%d attacked rows", len(d.Counts.AttackNorms))
	}
}

// 9,000 rows span three blocks: two shards merge to exactly the one-pass
// metrics and attack the same rows.
func TestRobustnessShardsMerge(t *testing.T) {
	model := writeModel(t, onnxwriter.LogisticRegression([]float32{0.8, -0.6}, 0.1), nil)
	rng := rand.New(rand.NewPCG(8, 8))
	var sb strings.Builder
	sb.WriteString("x1,x2,y\n")
	for range 9000 {
		fmt.Fprintf(&sb, "%v,%v,%d\n", float32(rng.NormFloat64()), float32(rng.NormFloat64()), rng.IntN(2))
	}
	cfg := RobustnessConfig{
		Common: Common{ModelPath: model, DataPath: writeText(t, "r.csv", sb.String()), Workers: 2},
		Label:  "y", Threshold: 0.5, Sigma: 0.5, N0: 10, N: 200, Alpha: 0.01,
		Radii: []float64{0.1, 0.5}, Seed: 1, AttackRows: 6000, AttackQueries: 0,
	}
	one, err := EvaluateRobustness(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var parts []*report.Report
	for i := range 2 {
		c := cfg
		c.Shard = Shard{Index: i, Count: 2}
		part, err := EvaluateRobustness(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		if part.Dataset.Rows == 0 || len(part.Metrics) != 0 {
			t.Fatalf("shard %d: %d rows, metrics %v", i, part.Dataset.Rows, part.Metrics)
		}
		parts = append(parts, roundTrip(t, part))
	}
	merged, err := Merge(parts, MergeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if merged.Dataset.Rows != 9000 {
		t.Fatalf("merged rows %d", merged.Dataset.Rows)
	}
	for name, v := range one.Metrics {
		if mv := merged.Metrics[name]; mv == nil || *mv != *v {
			t.Errorf("%s: merged %v, one pass %v", name, mv, *v)
		}
	}
	var a, b RobustnessDetails
	_ = json.Unmarshal(one.Details, &a)
	_ = json.Unmarshal(merged.Details, &b)
	for k := range a.Radii {
		if a.Radii[k].CertifiedAccuracy != b.Radii[k].CertifiedAccuracy || a.Radii[k].AttackSuccessRate != b.Radii[k].AttackSuccessRate {
			t.Errorf("radius %v: one pass %+v, merged %+v", a.Radii[k].Radius, a.Radii[k], b.Radii[k])
		}
	}
}

func TestRobustnessBadInput(t *testing.T) {
	model := writeModel(t, onnxwriter.LogisticRegression([]float32{1, 1}, 0), nil)
	data := writeText(t, "r.csv", "a,b,y\n1,2,1\n3,x,0\n")
	base := RobustnessConfig{Common: Common{ModelPath: model, DataPath: data}, Label: "y", Sigma: 0.5, N0: 10, N: 100, Alpha: 0.001, Threshold: 0.5}
	for name, c := range map[string]struct {
		mod  func(*RobustnessConfig)
		want string
	}{
		"non-numeric": {func(c *RobustnessConfig) {}, `row 2, column "b"`},
		"sigma":       {func(c *RobustnessConfig) { c.Sigma = 0 }, "--sigma"},
		"alpha":       {func(c *RobustnessConfig) { c.Alpha = 2 }, "--alpha"},
		"radius":      {func(c *RobustnessConfig) { c.Radii = []float64{-1} }, "--radii"},
		"label":       {func(c *RobustnessConfig) { c.Label = "z" }, `"z" not found`},
	} {
		cfg := base
		c.mod(&cfg)
		if _, err := EvaluateRobustness(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to mention %q", name, err, c.want)
		}
	}
}
