package controllers

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/report"
)

func TestBuildModelCard(t *testing.T) {
	explain := baseReport(report.KindExplain, 3)
	explain.Details, _ = json.Marshal(map[string]any{"features": []map[string]any{
		{"name": "age", "rank": 2, "permutation_importance_mean": 0.05},
		{"name": "income", "rank": 1, "permutation_importance_mean": 0.12},
	}})
	var fairness report.Report
	if err := json.Unmarshal([]byte(fairnessReport(3, 0.91)), &fairness); err != nil {
		t.Fatal(err)
	}
	privacy := baseReport(report.KindPrivacy, 3)
	privacy.SetUndefined("mia_epsilon_lower_bound", "too few members")
	decision := decisionOf(true, raiv1.EnforcementEnforce)
	decision.ID, decision.Time = "d3c1510n", metav1.Now()
	cases := []struct {
		name string
		obj  *raiv1.ResponsibleModel
		in   modelCardInput
		// want are substrings of the card; notWant must not appear.
		want, notWant []string
	}{
		{
			name: "everything",
			obj:  newModel("ns", "credit"),
			in: modelCardInput{Version: "v3", ModelURI: "https://m/v3.onnx", ModelSHA256: sha(3), Decision: decision,
				Reports: map[string]*report.Report{"fairness": &fairness, "explain": explain, "privacy": privacy}},
			want: []string{
				"# Model card: credit v3", "Ranks loan applications for human review.", "sha256: `" + sha(3) + "`",
				"fairness data: sha256 `" + sha(100) + "`, 6000 rows",
				"| demographic_parity_ratio | 0.91 | [0.86, 0.94] at 0.95 (bootstrap) |",
				"| mia_epsilon_lower_bound | undefined: too few members |",
				"Top features: 1. income (permutation importance 0.12), 2. age",
				"Decision ID: `d3c1510n`", "Policy digest: `sha256:x`", "Verdict: allowed (enforcement Enforce)",
			},
		},
		{
			name: "intended use from the annotation, no evaluations",
			obj: newModel("ns", "plain", func(m *raiv1.ResponsibleModel) {
				m.Spec.IntendedUse = ""
				m.Annotations = map[string]string{AnnotationIntendedUse: "Internal triage only."}
			}),
			in:      modelCardInput{Version: "v1", ModelURI: "file:///m.onnx", ModelSHA256: sha(1)},
			want:    []string{"Internal triage only.", "No evaluation was requested.", "No decision is recorded for this version."},
			notWant: []string{"Top features"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			card := buildModelCard(tc.obj, tc.in)
			for _, w := range tc.want {
				if !strings.Contains(card, w) {
					t.Errorf("the card lacks %q:\n%s", w, card)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(card, w) {
					t.Errorf("the card has %q:\n%s", w, card)
				}
			}
		})
	}
}

// TestModelCardTextTopWords: a text model's explain report ranks words by
// LIME weight on the explained score; the card names them with it.
func TestModelCardTextTopWords(t *testing.T) {
	rep := baseReport(report.KindExplain, 1)
	rep.Details = json.RawMessage(`{"score":"P(refund)","features":[
		{"name":"charged","rank":2,"lime_mean_abs":0.2,"lime_mean":-0.2},
		{"name":"refund","rank":1,"lime_mean_abs":0.5,"lime_mean":0.5}]}`)
	got := explainTopFeatures(rep)
	want := []string{"1. refund (LIME weight 0.5 on P(refund))", "2. charged (LIME weight -0.2 on P(refund))"}
	if !slices.Equal(got, want) {
		t.Errorf("top words %q, want %q", got, want)
	}
}
