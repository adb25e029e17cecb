package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/responsible-ai/rmodel-operator/internal/evaluation/fairness"
	"github.com/responsible-ai/rmodel-operator/internal/onnx"
	"github.com/responsible-ai/rmodel-operator/internal/onnxwriter"
	"github.com/responsible-ai/rmodel-operator/internal/report"
)

// TestMain initialises onnxruntime (make onnxruntime, or
// $RAI_ONNXRUNTIME_LIB) before any test changes directory.
func TestMain(m *testing.M) {
	if err := onnx.Init(""); err != nil {
		println("runner tests need onnxruntime:", err.Error())
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func writeModel(t *testing.T, m onnxwriter.MLP, meta map[string]string) string {
	t.Helper()
	b, err := m.Marshal(onnxwriter.ModelInfo{Metadata: meta})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "model.onnx")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeText(t *testing.T, name, s string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func metric(t *testing.T, r *report.Report, name string) float64 {
	t.Helper()
	v, ok := r.Metrics[name]
	if !ok {
		t.Fatalf("metric %s missing", name)
	}
	if v == nil {
		t.Fatalf("metric %s is null: %s", name, r.Undefined[name])
	}
	return *v
}

// handCSV is the hand-derived case of the fairness package test, with a
// feature x that a logistic regression σ(x) maps to the prediction: x = 2
// for a favorable prediction, x = -2 otherwise. The model sees only x
// (sex and the label are not features).
func handCSV(t *testing.T) string {
	var b strings.Builder
	b.WriteString("x,sex,label,pred\n")
	add := func(sex string, pairs ...[2]int) {
		for _, p := range pairs {
			x := -2
			if p[1] == 1 {
				x = 2
			}
			fmt.Fprintf(&b, "%d,%s,%d,%d\n", x, sex, p[0], p[1])
		}
	}
	add("F", [2]int{1, 1}, [2]int{1, 0}, [2]int{0, 1}, [2]int{0, 0})
	add("M", [2]int{1, 1}, [2]int{1, 1}, [2]int{1, 0}, [2]int{0, 0}, [2]int{0, 0})
	add("X", [2]int{0, 1}, [2]int{0, 0})
	return writeText(t, "hand.csv", b.String())
}

// End to end through onnxruntime: the hand-derived values come out of a
// real model run, and the same data with --predictions gives the same.
func TestFairnessEndToEndHandDerived(t *testing.T) {
	data := handCSV(t)
	model := writeModel(t, onnxwriter.LogisticRegression([]float32{1}, 0), map[string]string{"rai.features": "x"})
	cfg := FairnessConfig{
		Common: Common{ModelPath: model, DataPath: data, Workers: 2},
		Label:  "label", Sensitive: []string{"sex"}, Privileged: "sex=M", Favorable: "1", Threshold: 0.5,
		Bootstrap: 200, Seed: 3,
	}
	rep, err := EvaluateFairness(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfgP := cfg
	cfgP.ModelPath, cfgP.Predictions = "", "pred"
	repP, err := EvaluateFairness(context.Background(), cfgP)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*report.Report{rep, repP} {
		if err := r.Validate(); err != nil {
			t.Fatal(err)
		}
		for name, want := range map[string]float64{
			fairness.DemographicParityDifference: 0.1,
			fairness.DemographicParityRatio:      0.8,
			fairness.EqualizedOddsDifference:     2.0 / 3,
			fairness.EqualOpportunityRatio:       0,
			fairness.StatisticalParityDifference: 0.1,
			fairness.DisparateImpactRatio:        1.25,
			fairness.Accuracy:                    7.0 / 11,
		} {
			if got := metric(t, r, name); math.Abs(got-want) > 1e-12 {
				t.Errorf("%s = %v, want %v", name, got, want)
			}
		}
		if r.Dataset == nil || r.Dataset.Rows != 11 || len(r.Dataset.SHA256) != 64 {
			t.Errorf("dataset %+v", r.Dataset)
		}
		if iv, ok := r.Intervals[fairness.DemographicParityDifference]; !ok || iv.Lower == nil || iv.Level != 0.95 {
			t.Errorf("no bootstrap interval: %+v", r.Intervals)
		}
		c, err := r.Compact()
		if err != nil || len(c) > report.MaxCompactBytes {
			t.Errorf("compact: %d bytes, %v", len(c), err)
		}
		if !strings.Contains(string(r.Details), `"tpr":null`) || !strings.Contains(string(r.Details), "no favorable labels") {
			t.Errorf("group X's undefined TPR not reported: %s", r.Details)
		}
	}
	if len(rep.Model.SHA256) != 64 {
		t.Errorf("model digest %q", rep.Model.SHA256)
	}
}

// A random MLP over 20,000 rows: the report equals a Go reference tally of
// the model's own predictions, and three shards merged equal one pass
// exactly (metrics, intervals and counts).
func TestFairnessShardsMergeToOnePass(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	mlp := onnxwriter.RandomMLP(rng.Float64, 3, 8)
	model := writeModel(t, mlp, nil)
	var b strings.Builder
	b.WriteString("a,b,g,c,h,y\n")
	ref := fairness.Table{Columns: []string{"g", "h"}}
	idx := map[string]int{}
	for range 20000 {
		x := []float32{float32(rng.NormFloat64()), float32(rng.NormFloat64()), float32(rng.NormFloat64())}
		p := mlp.Predict(x)
		if math.Abs(p-0.5) < 1e-3 {
			continue // keep float32/float64 threshold ties out of the comparison
		}
		g, h := []string{"p", "q", "r"}[rng.IntN(3)], []string{"s", "t"}[rng.IntN(2)]
		y := rng.IntN(2)
		fmt.Fprintf(&b, "%v,%v,%s,%v,%s,%d\n", x[0], x[1], g, x[2], h, y)
		k := g + h
		if _, ok := idx[k]; !ok {
			idx[k] = len(ref.Groups)
			ref.Groups = append(ref.Groups, fairness.Group{Values: []string{g, h}})
		}
		c := &ref.Groups[idx[k]].Counts
		switch {
		case y == 1 && p >= 0.5:
			c.TP++
		case y == 1:
			c.FN++
		case p >= 0.5:
			c.FP++
		default:
			c.TN++
		}
	}
	ref.Normalize()
	data := writeText(t, "d.csv", b.String())
	cfg := FairnessConfig{
		Common: Common{ModelPath: model, DataPath: data, Workers: 2},
		Label:  "y", Sensitive: []string{"g", "h"}, Privileged: "g=p", Threshold: 0.5, Favorable: "1",
		Bootstrap: 300, Seed: 9,
	}
	one, err := EvaluateFairness(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := FairnessTable(one)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ref.Groups {
		if got.Groups[i].Counts != ref.Groups[i].Counts {
			t.Fatalf("group %v: onnxruntime tally %+v, Go reference %+v", ref.Groups[i].Values, got.Groups[i].Counts, ref.Groups[i].Counts)
		}
	}
	var parts []*report.Report
	for i := range 3 {
		c := cfg
		c.Shard = Shard{Index: i, Count: 3}
		part, err := EvaluateFairness(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		if len(part.Metrics) != 0 || part.Shard == nil {
			t.Fatalf("partial report carries metrics %v", part.Metrics)
		}
		parts = append(parts, roundTrip(t, part))
	}
	merged, err := Merge([]*report.Report{parts[2], parts[0], parts[1]}, MergeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if merged.Dataset.Rows != one.Dataset.Rows {
		t.Fatalf("merged rows %d, one pass %d", merged.Dataset.Rows, one.Dataset.Rows)
	}
	for name, v := range one.Metrics {
		mv := merged.Metrics[name]
		if (v == nil) != (mv == nil) || (v != nil && *v != *mv) {
			t.Errorf("%s: merged %v, one pass %v", name, mv, v)
		}
	}
	for name, iv := range one.Intervals {
		if miv := merged.Intervals[name]; *miv.Lower != *iv.Lower || *miv.Upper != *iv.Upper {
			t.Errorf("interval %s: merged [%v,%v], one pass [%v,%v]", name, *miv.Lower, *miv.Upper, *iv.Lower, *iv.Upper)
		}
	}
	if rep, err := Merge(parts[:2], MergeOptions{}); err == nil || !strings.Contains(err.Error(), "shards 2 of 3 are missing") || rep.State != report.StateError || rep.Validate() != nil {
		t.Fatalf("missing shard: %v (report state %s)", err, rep.State)
	}
	if _, err := Merge([]*report.Report{parts[0], parts[0], parts[1]}, MergeOptions{}); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("duplicate shard: %v", err)
	}
}

func roundTrip(t *testing.T, r *report.Report) *report.Report {
	t.Helper()
	p := filepath.Join(t.TempDir(), "r.json")
	if err := Write(r, p, ""); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	back, err := report.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

func TestFairnessBadInputNamesTheProblem(t *testing.T) {
	data := handCSV(t)
	model := writeModel(t, onnxwriter.LogisticRegression([]float32{1}, 0), map[string]string{"rai.features": "x"})
	model2 := writeModel(t, onnxwriter.LogisticRegression([]float32{1, 1, 1}, 0), nil)
	bad := writeText(t, "bad.csv", "x,sex,label\n1,F,1\nabc,M,0\n")
	base := FairnessConfig{Common: Common{ModelPath: model, DataPath: data}, Label: "label", Sensitive: []string{"sex"}, Threshold: 0.5}
	for name, c := range map[string]struct {
		mod  func(*FairnessConfig)
		want []string
	}{
		"missing sensitive column": {func(c *FairnessConfig) { c.Sensitive = []string{"race"} }, []string{`"race"`, "not found"}},
		"missing label":            {func(c *FairnessConfig) { c.Label = "outcome" }, []string{`"outcome"`, "not found"}},
		"non-numeric feature":      {func(c *FairnessConfig) { c.DataPath = bad }, []string{"row 2", `column "x"`, `"abc"`}},
		"feature-count mismatch":   {func(c *FairnessConfig) { c.ModelPath = model2 }, []string{"feature-count mismatch", "takes 3 features", "2 feature columns (x, pred)"}},
		"empty privileged group":   {func(c *FairnessConfig) { c.Privileged = "sex=Z" }, []string{"empty group", "sex=Z"}},
		"model digest mismatch":    {func(c *FairnessConfig) { c.ModelSHA256 = strings.Repeat("0", 64) }, []string{"sha256 mismatch", "model"}},
		"data digest mismatch":     {func(c *FairnessConfig) { c.DataSHA256 = strings.Repeat("a", 64) }, []string{"sha256 mismatch", "data"}},
		"privileged not sensitive": {func(c *FairnessConfig) { c.Privileged = "label=1" }, []string{"not one of the sensitive columns"}},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := base
			c.mod(&cfg)
			rep, err := EvaluateFairness(context.Background(), cfg)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if rep.State != report.StateError || rep.Message != err.Error() {
				t.Errorf("report state %s message %q", rep.State, rep.Message)
			}
			if err := rep.Validate(); err != nil {
				t.Errorf("error report invalid: %v", err)
			}
		})
	}
}

// With many groups the compact form still fits the termination message
// and keeps min_group_count and the smallest groups.
func TestFairnessCompactKeepsSmallestGroups(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 1))
	var b strings.Builder
	b.WriteString("g,h,y,p\n")
	for i := range 4000 {
		fmt.Fprintf(&b, "g%02d,h%d,%d,%d\n", i%20, i%3, rng.IntN(2), rng.IntN(2))
	}
	b.WriteString("tiny,h0,1,1\n")
	rep, err := EvaluateFairness(context.Background(), FairnessConfig{
		Common: Common{DataPath: writeText(t, "d.csv", b.String())},
		Label:  "y", Sensitive: []string{"g", "h"}, Predictions: "p", Favorable: "1", Bootstrap: 50, Seed: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := rep.Compact()
	if err != nil || len(c) > report.MaxCompactBytes {
		t.Fatalf("compact: %d bytes, %v", len(c), err)
	}
	var back struct {
		Truncated bool `json:"truncated"`
		Details   struct {
			MinGroupCount int64 `json:"min_group_count"`
			Groups        []struct {
				Name  string `json:"name"`
				Count int64  `json:"count"`
			} `json:"groups"`
		} `json:"details"`
	}
	if err := json.Unmarshal(c, &back); err != nil {
		t.Fatal(err)
	}
	if !back.Truncated || back.Details.MinGroupCount != 1 || len(back.Details.Groups) == 0 || back.Details.Groups[0].Name != "g=tiny,h=h0" {
		t.Fatalf("compact details %+v", back)
	}
}

// Merge refuses parts that do not belong together, and a failed shard makes
// the merged report an Error that carries the shard's message.
func TestMergeRefusesMismatchedParts(t *testing.T) {
	var b strings.Builder
	b.WriteString("g,y,p\n")
	for i := range 9000 {
		fmt.Fprintf(&b, "%c,%d,%d\n", 'a'+rune(i%3), i%2, (i/2)%2)
	}
	data := writeText(t, "d.csv", b.String())
	part := func(i int, favorable string) *report.Report {
		rep, err := EvaluateFairness(context.Background(), FairnessConfig{
			Common: Common{DataPath: data, Shard: Shard{Index: i, Count: 2}},
			Label:  "y", Sensitive: []string{"g"}, Predictions: "p", Favorable: favorable, Bootstrap: 10,
		})
		if err != nil {
			t.Fatal(err)
		}
		return roundTrip(t, rep)
	}
	p0, p1 := part(0, "1"), part(1, "1")
	if _, err := Merge([]*report.Report{p0, part(1, "0")}, MergeOptions{}); err == nil || !strings.Contains(err.Error(), "parameters") {
		t.Fatalf("different parameters: %v", err)
	}
	whole, err := EvaluateFairness(context.Background(), FairnessConfig{Common: Common{DataPath: data}, Label: "y", Sensitive: []string{"g"}, Predictions: "p", Favorable: "1", Bootstrap: 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Merge([]*report.Report{p0, roundTrip(t, whole)}, MergeOptions{}); err == nil || !strings.Contains(err.Error(), "not a shard report") {
		t.Fatalf("whole report as a part: %v", err)
	}
	failed := *p1
	failed.State, failed.Message, failed.Details = report.StateError, "data.csv: row 7, column \"x\": value \"?\" is not a finite number", nil
	merged, err := Merge([]*report.Report{p0, &failed}, MergeOptions{})
	if err == nil || merged == nil || merged.State != report.StateError || !strings.Contains(merged.Message, "row 7") {
		t.Fatalf("failed shard: %v, %+v", err, merged)
	}
	ok, err := Merge([]*report.Report{p1, p0}, MergeOptions{})
	if err != nil || ok.Dataset.Rows != 9000 {
		t.Fatalf("good merge: %v %+v", err, ok.Dataset)
	}
}
