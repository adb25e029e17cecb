package runner

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/responsible-ai/rmodel-operator/internal/onnxwriter"
	"github.com/responsible-ai/rmodel-operator/internal/report"
)

// wantErrorReport checks that an evaluation refused its input: an error
// mentioning every want, and a valid Error report carrying the same
// message and no metrics.
func wantErrorReport(t *testing.T, rep *report.Report, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error (report state %s); want one mentioning %q", rep.State, want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
	if rep == nil {
		t.Fatal("no report")
	}
	if rep.State != report.StateError || rep.Message != err.Error() {
		t.Errorf("report state %s message %q; want %s with the error", rep.State, rep.Message, report.StateError)
	}
	if len(rep.Metrics) != 0 {
		t.Errorf("an Error report with metrics %v", rep.Metrics)
	}
	if err := rep.Validate(); err != nil {
		t.Errorf("error report invalid: %v", err)
	}
}

// labelCSV writes rows rows of x,sex,label,pred where a logistic
// regression σ(x) predicts the label; row bad (1-based) has label
// badLabel and prediction badPred.
func labelCSV(t *testing.T, rows, bad int, badLabel, badPred string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("x,sex,label,pred\n")
	for i := 1; i <= rows; i++ {
		label, pred, x := "1", "1", 2
		if i%3 == 0 {
			label, pred, x = "0", "0", -2
		}
		if i == bad {
			label, pred = badLabel, badPred
		}
		fmt.Fprintf(&b, "%d,%s,%s,%s\n", x, []string{"F", "M"}[i%2], label, pred)
	}
	return writeText(t, "labels.csv", b.String())
}

// A NaN, empty or infinite label is not counted as unfavorable: the
// fairness evaluation fails with an Error report naming the row and the
// column, through a model or over a predictions column, in one batch or
// many, on one worker or several, and in a shard that does not own the
// bad row's block (every shard reads the whole file).
func TestFairnessRefusesUnreadableLabel(t *testing.T) {
	model := writeModel(t, onnxwriter.LogisticRegression([]float32{1}, 0), map[string]string{"rai.features": "x"})
	for name, c := range map[string]struct {
		rows, bad         int    // data rows; the 1-based row of the bad value
		badLabel, badPred string // the bad row's label and prediction
		predictions       bool   // evaluate the pred column, no model
		workers           int
		shard             Shard
	}{
		"NaN label":                   {rows: 10, bad: 5, badLabel: "NaN", badPred: "1", workers: 1},
		"nan label, predictions":      {rows: 10, bad: 4, badLabel: "nan", badPred: "1", predictions: true, workers: 1},
		"empty label":                 {rows: 10, bad: 3, badLabel: "", badPred: "0", workers: 1},
		"Inf label":                   {rows: 10, bad: 7, badLabel: "Inf", badPred: "0", workers: 1},
		"NaN prediction":              {rows: 10, bad: 2, badLabel: "1", badPred: "NaN", predictions: true, workers: 1},
		"NaN label, many batches":     {rows: 3 * BatchRows, bad: 2*BatchRows + 10, badLabel: "NaN", badPred: "1", workers: 2},
		"NaN label, another's shard":  {rows: 3 * BatchRows, bad: 10, badLabel: "NaN", badPred: "1", workers: 2, shard: Shard{Index: 1, Count: 2}},
		"NaN label, predictions, big": {rows: 3 * BatchRows, bad: BatchRows + 1, badLabel: "NaN", badPred: "1", predictions: true, workers: 2},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := FairnessConfig{
				Common: Common{ModelPath: model, DataPath: labelCSV(t, c.rows, c.bad, c.badLabel, c.badPred), Workers: c.workers, Shard: c.shard},
				Label:  "label", Sensitive: []string{"sex"}, Threshold: 0.5,
			}
			column := "label"
			if c.predictions {
				cfg.ModelPath, cfg.Predictions = "", "pred"
				if c.badLabel == "1" {
					column = "pred"
				}
			}
			rep, err := EvaluateFairness(context.Background(), cfg)
			wantErrorReport(t, rep, err, "labels.csv", fmt.Sprintf("row %d, column %q", c.bad, column))
			if !strings.Contains(err.Error(), "NaN or infinite") && !strings.Contains(err.Error(), "empty value") {
				t.Errorf("error %q does not say what is wrong with the value", err)
			}

			// The same data with a readable label evaluates.
			cfg.DataPath = labelCSV(t, c.rows, c.bad, "0", "0")
			rep, err = EvaluateFairness(context.Background(), cfg)
			if err != nil || rep.State != report.StateSucceeded {
				t.Fatalf("readable data: state %s, error %v", rep.State, err)
			}
		})
	}
}

// Robustness, explanations and the membership audit refuse an unreadable
// label the same way.
func TestOtherEvaluationsRefuseUnreadableLabel(t *testing.T) {
	lr2 := writeModel(t, onnxwriter.LogisticRegression([]float32{1, 1}, 0), nil)
	lr1 := writeModel(t, onnxwriter.LogisticRegression([]float32{1}, 0), nil)
	t.Run("robustness", func(t *testing.T) {
		data := writeText(t, "r.csv", "a,b,y\n1,2,1\n3,4,NaN\n")
		rep, err := EvaluateRobustness(context.Background(), RobustnessConfig{
			Common: Common{ModelPath: lr2, DataPath: data}, Label: "y", Sigma: 0.5, N0: 10, N: 100, Alpha: 0.001, Threshold: 0.5,
		})
		wantErrorReport(t, rep, err, "r.csv", `row 2, column "y"`, `"NaN"`)
	})
	t.Run("explain", func(t *testing.T) {
		data := writeText(t, "e.csv", "a,label,b\n1,1,2\n3,0,4\n5,,6\n")
		rep, err := EvaluateExplain(context.Background(), ExplainConfig{
			Common: Common{ModelPath: lr2, DataPath: data}, Label: "label", Threshold: 0.5, Samples: 10, Repeats: 1, Permutations: 2, ShapleyRows: 2, Seed: 1,
		})
		wantErrorReport(t, rep, err, "e.csv", `row 3, column "label"`, "empty value")
	})
	t.Run("privacy membership audit", func(t *testing.T) {
		members := writeText(t, "m.csv", "x,y\n1,1\n-1,0\n2,-inf\n")
		non := writeText(t, "n.csv", "x,y\n1,0\n-1,1\n")
		rep, err := EvaluatePrivacy(context.Background(), PrivacyConfig{
			Common: Common{ModelPath: lr1}, Members: members, NonMembers: non, Label: "y", Delta: 1e-5, DeltaSet: true, Seed: 1,
		})
		wantErrorReport(t, rep, err, "m.csv", `row 3, column "y"`, `"-inf"`)
	})
}
