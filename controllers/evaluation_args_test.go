package controllers

import (
	"slices"
	"strings"
	"testing"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/report"
)

// flagValue returns the value after flag in args, or "" when absent.
func flagValue(args []string, flag string) string {
	if i := slices.Index(args, flag); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

func TestEvaluationArgsDatasetAndTerminationLog(t *testing.T) {
	shared := &raiv1.DatasetSpec{URI: "file:///data/eval.csv", SHA256: raiv1.SHA256(sha(2)), LabelColumn: "label"}
	own := &raiv1.DatasetSpec{URI: "https://data/robust.csv", SHA256: raiv1.SHA256(sha(3)), LabelColumn: "y", FavorableLabel: "yes"}
	obj := &raiv1.ResponsibleModel{Spec: raiv1.ResponsibleModelSpec{
		Version: "v1",
		Model:   raiv1.ModelArtifact{URI: "file:///m.onnx", SHA256: raiv1.SHA256(sha(1))},
		Evaluations: raiv1.EvaluationsSpec{
			Dataset:    shared,
			Fairness:   &raiv1.FairnessEvaluation{SensitiveColumns: []string{"sex"}},
			Robustness: &raiv1.RobustnessEvaluation{Sigma: "0.25", Dataset: own},
		},
	}}
	cases := []struct {
		kind report.Kind
		// want maps a flag to the value it must have.
		want map[string]string
	}{
		{report.KindFairness, map[string]string{"--data": string(shared.URI), "--data-sha256": sha(2), "--label": "label", "--termination-log": "/dev/termination-log"}},
		{report.KindRobustness, map[string]string{"--data": string(own.URI), "--data-sha256": sha(3), "--label": "y", "--favorable": "yes", "--termination-log": "/dev/termination-log"}},
	}
	for _, tc := range cases {
		args := evaluationArgs(obj, tc.kind)
		for flag, want := range tc.want {
			if got := flagValue(args, flag); got != want {
				t.Errorf("%s: %s = %q, want %q (args: %s)", tc.kind, flag, got, want, strings.Join(args, " "))
			}
		}
	}
	// Without its own dataset, robustness reads the shared one.
	obj.Spec.Evaluations.Robustness.Dataset = nil
	if got := flagValue(evaluationArgs(obj, report.KindRobustness), "--data"); got != string(shared.URI) {
		t.Errorf("robustness without its own dataset reads %q, want the shared %q", got, shared.URI)
	}
}
