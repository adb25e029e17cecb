package controllers

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/report"
	"github.com/responsible-ai/rmodel-operator/internal/testenv"
	"github.com/responsible-ai/rmodel-operator/policies"
)

func promotionPolicy(name string, mod func(*raiv1.PromotionPolicySpec)) raiv1.PromotionPolicy {
	p := raiv1.PromotionPolicy{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if mod != nil {
		mod(&p.Spec)
	}
	return p
}

// TestBuildPlatformView: several policies all apply; the strictest floor
// of each threshold wins; a mode must be allowed by every policy.
func TestBuildPlatformView(t *testing.T) {
	v := buildPlatformView([]raiv1.PromotionPolicy{
		promotionPolicy("zeta", func(s *raiv1.PromotionPolicySpec) {
			s.RequiredEvaluations = []raiv1.EvaluationKind{"fairness"}
			s.Thresholds = map[string]raiv1.Threshold{"demographic_parity_ratio_min": "0.85", "abstain_rate_max": "0.1", "custom": "1"}
			s.AllowedEnforcement = []raiv1.EnforcementMode{raiv1.EnforcementEnforce, raiv1.EnforcementWarn}
		}),
		promotionPolicy("alpha", func(s *raiv1.PromotionPolicySpec) {
			s.RequiredEvaluations = []raiv1.EvaluationKind{"fairness", "privacy"}
			s.Thresholds = map[string]raiv1.Threshold{"demographic_parity_ratio_min": "0.9", "abstain_rate_max": "0.2", "custom": "2"}
			s.AllowedEnforcement = []raiv1.EnforcementMode{raiv1.EnforcementWarn, raiv1.EnforcementDryRun}
			s.Privacy = &raiv1.PromotionPrivacy{RequireBudget: true, MatchDatasetDigest: true}
		}),
	})
	if !slices.Equal(v.Names(), []string{"alpha", "zeta"}) {
		t.Errorf("policies %v", v.Names())
	}
	if got := v.Thresholds["demographic_parity_ratio_min"]; got.Value != "0.9" || got.Source != "PromotionPolicy alpha" {
		t.Errorf("a *_min floor: the larger wins: %+v", got)
	}
	if got := v.Thresholds["abstain_rate_max"]; got.Value != "0.1" || got.Source != "PromotionPolicy zeta" {
		t.Errorf("a *_max ceiling: the smaller wins: %+v", got)
	}
	if got := v.Thresholds["custom"]; got.Value != "2" {
		t.Errorf("a key of unknown direction keeps the first policy's value: %+v", got)
	}
	if !slices.Equal(v.Allowed, []raiv1.EnforcementMode{raiv1.EnforcementEnforce, raiv1.EnforcementWarn}) {
		t.Errorf("allowed modes %v: Warn is allowed by both, DryRun by one, Enforce always", v.Allowed)
	}
	if !slices.Equal(v.Required[report.KindFairness], []string{"alpha", "zeta"}) || !slices.Equal(v.Required[report.KindPrivacy], []string{"alpha"}) {
		t.Errorf("required %v", v.Required)
	}
	if none := buildPlatformView(nil); !slices.Equal(none.Allowed, []raiv1.EnforcementMode{raiv1.EnforcementEnforce}) {
		t.Errorf("without a PromotionPolicy only Enforce is allowed: %v", none.Allowed)
	}
	if dflt := buildPlatformView([]raiv1.PromotionPolicy{promotionPolicy("p", nil)}); !slices.Equal(dflt.Allowed, []raiv1.EnforcementMode{raiv1.EnforcementEnforce}) {
		t.Errorf("a policy without allowedEnforcement allows Enforce only: %v", dflt.Allowed)
	}
}

// TestEffectiveEnforcement: a mode the platform does not allow applies as
// Enforce.
func TestEffectiveEnforcement(t *testing.T) {
	warnOK := buildPlatformView([]raiv1.PromotionPolicy{promotionPolicy("p", func(s *raiv1.PromotionPolicySpec) {
		s.AllowedEnforcement = []raiv1.EnforcementMode{raiv1.EnforcementWarn}
	})})
	for _, tc := range []struct {
		mode raiv1.EnforcementMode
		view *platformView
		// want is the mode that applies.
		want raiv1.EnforcementMode
	}{
		{raiv1.EnforcementWarn, buildPlatformView(nil), raiv1.EnforcementEnforce},
		{raiv1.EnforcementDryRun, warnOK, raiv1.EnforcementEnforce},
		{raiv1.EnforcementWarn, warnOK, raiv1.EnforcementWarn},
		{"", warnOK, raiv1.EnforcementEnforce},
	} {
		if got := effectiveEnforcement(newModel("ns", "m", withEnforcement(tc.mode)), tc.view); got != tc.want {
			t.Errorf("%q under %v: %s, want %s", tc.mode, tc.view.Allowed, got, tc.want)
		}
	}
}

// TestPlatformViolations: what the operator checks itself: required
// evaluations, budget binding, the budget's data set.
func TestPlatformViolations(t *testing.T) {
	strict := buildPlatformView([]raiv1.PromotionPolicy{promotionPolicy("prod", func(s *raiv1.PromotionPolicySpec) {
		s.RequiredEvaluations = []raiv1.EvaluationKind{"fairness", "robustness"}
		s.Privacy = &raiv1.PromotionPrivacy{RequireBudget: true, MatchDatasetDigest: true}
	})})
	codes := func(vs []policies.Violation) []string {
		var out []string
		for _, v := range vs {
			out = append(out, v.Code+": "+v.Message)
		}
		return out
	}
	m := newModel("ns", "m")
	got := codes(platformViolations(m, strict, requestedKinds(&m.Spec), nil, nil))
	if len(got) != 2 || !strings.Contains(got[0], "EvaluationRequired: PromotionPolicy prod requires a robustness evaluation") ||
		!strings.HasPrefix(got[1], "BudgetRequired") {
		t.Errorf("violations %q", got)
	}
	budget := newBudget("ns", "b", "3")
	rep := baseReport(report.KindPrivacy, 1)
	rep.Parameters = map[string]string{paramTrainingDatasetSHA256: sha(50)}
	mb := newModel("ns", "m", withPrivacyBudget("b"), func(m *raiv1.ResponsibleModel) {
		m.Spec.Evaluations.Robustness = &raiv1.RobustnessEvaluation{Sigma: "0.25"}
	})
	if got := codes(platformViolations(mb, strict, requestedKinds(&mb.Spec), budget, rep)); len(got) != 1 || !strings.Contains(got[0], "names no spec.datasetSHA256") {
		t.Errorf("a budget naming no data set: %q", got)
	}
	budget.Spec.DatasetSHA256 = raiv1.SHA256(sha(51))
	if got := codes(platformViolations(mb, strict, requestedKinds(&mb.Spec), budget, rep)); len(got) != 1 || !strings.Contains(got[0], "protects "+sha(51)) {
		t.Errorf("a budget of other data: %q", got)
	}
	budget.Spec.DatasetSHA256 = raiv1.SHA256(sha(50))
	if got := codes(platformViolations(mb, strict, requestedKinds(&mb.Spec), budget, rep)); len(got) != 0 {
		t.Errorf("the budget of the training data: %q", got)
	}
	if got := codes(platformViolations(mb, strict, requestedKinds(&mb.Spec), budget, baseReport(report.KindPrivacy, 1))); len(got) != 1 || !strings.Contains(got[0], "rai.dataset.sha256") {
		t.Errorf("a model naming no training data: %q", got)
	}
}

// TestTenantThresholds: a namespace policy ConfigMap may hold only
// threshold data.
func TestTenantThresholds(t *testing.T) {
	got, err := tenantThresholds("ns/p", map[string]string{"a.json": `{"rai": {"thresholds": {"demographic_parity_ratio_min": 0.9}}}`})
	if err != nil || got["demographic_parity_ratio_min"] != 0.9 {
		t.Errorf("threshold data: %v %v", got, err)
	}
	for name, data := range map[string]map[string]string{
		"Rego":            {"p.rego": "package rai.promotion\nallow := true"},
		"other data":      {"a.json": `{"rai": {"budgets": {"x": 1}}}`},
		"other top level": {"a.json": `{"evil": {"thresholds": {}}}`},
		"not an object":   {"a.json": `[1]`},
	} {
		if _, err := tenantThresholds("ns/p", data); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

// TestSamplePromotionPolicyJudges: the worked example in config/samples
// compiles with the embedded policy in real OPA, its Rego denies too few
// evaluation rows, and its floors tighten the defaults.
func TestSamplePromotionPolicyJudges(t *testing.T) {
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "config", "samples", "rai_v1alpha1_promotionpolicy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p := raiv1.PromotionPolicy{}
	if err := yaml.UnmarshalStrict(raw, &p); err != nil {
		t.Fatal(err)
	}
	b, err := promotionPolicyBundle(&p)
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := policies.Merge(policies.Default(), b)
	if err != nil {
		t.Fatal(err)
	}
	view := buildPlatformView([]raiv1.PromotionPolicy{p})
	m := newModel("ns", "m")
	rep := &report.Report{}
	if err := json.Unmarshal([]byte(fairnessReport(1, 0.83)), rep); err != nil {
		t.Fatal(err)
	}
	rep.Dataset.Rows = 1200
	input, err := buildPolicyInput(m, policyInput{Version: "v1", Requested: []string{"fairness"}, Reports: map[string]*report.Report{"fairness": rep}, Platform: view})
	if err != nil {
		t.Fatal(err)
	}
	d, err := policyEngine.Decide(context.Background(), bundle, input)
	if err != nil || d.Error != "" {
		t.Fatalf("decide: %v %s", err, d.Error)
	}
	var codes []string
	for _, v := range d.Violations {
		codes = append(codes, v.Code)
	}
	if d.Allow || !slices.Contains(codes, "ProductionEvaluationRows") || !slices.Contains(codes, "FairnessDemographicParity") {
		t.Errorf("decision %+v: want the rows rule and the 0.85 floor (0.83 passes the default 0.8) to deny", d.Violations)
	}
	if got := d.Thresholds["demographic_parity_ratio_min"]; got.Value != 0.85 || got.Source != "PromotionPolicy production" {
		t.Errorf("applied threshold %+v", got)
	}
}
