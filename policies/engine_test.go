package policies

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/responsible-ai/rmodel-operator/internal/report"
)

// reportOf builds an evaluation report with the real report type, so these
// tests also check that the report's JSON is what the policy reads.
func reportOf(kind report.Kind, metrics map[string]float64, details any) report.Report {
	r := report.Report{
		SchemaVersion: report.SchemaVersion,
		Kind:          kind,
		State:         report.StateSucceeded,
		Dataset:       &report.Dataset{SHA256: strings.Repeat("a", 64), Rows: 6000},
		Evaluator:     report.Evaluator{Name: "rai", Version: "test"},
		StartTime:     time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC),
		EndTime:       time.Date(2026, 11, 28, 10, 5, 0, 0, time.UTC),
		Metrics:       map[string]*float64{},
	}
	for name, v := range metrics {
		r.SetMetric(name, v, "")
	}
	if details != nil {
		raw, err := json.Marshal(details)
		if err != nil {
			panic(err)
		}
		r.Details = raw
	}
	return r
}

// goodInput passes every default rule; mutate it to break one.
func goodInput() map[string]any {
	return map[string]any{
		"model": map[string]any{
			"name": "credit", "namespace": "default",
			"labels": map[string]any{}, "annotations": map[string]any{}, "spec": map[string]any{},
		},
		"version":              "v2",
		"requestedEvaluations": []string{"fairness", "privacy", "robustness"},
		"evaluations": map[string]any{
			"fairness": reportOf(report.KindFairness, map[string]float64{
				"demographic_parity_ratio":      0.9,
				"statistical_parity_difference": -0.05,
				"disparate_impact_ratio":        0.95,
				"equalized_odds_difference":     0.04,
			}, nil),
			"privacy": reportOf(report.KindPrivacy, map[string]float64{"epsilon": 2.5, "delta": 1e-5}, nil),
			"robustness": reportOf(report.KindRobustness, map[string]float64{"abstain_rate": 0.1}, map[string]any{
				"radii": []map[string]any{{"radius": 0.25, "certified_accuracy": 0.7}},
			}),
		},
		"privacy": map[string]any{"maxEpsilon": "3", "delta": "1e-5"},
		"budget":  map[string]any{"name": "lending-data", "epsilonTotal": "8", "epsilonSpent": "5.1", "epsilonRemaining": "2.9"},
	}
}

// withFairness replaces one fairness metric of in.
func withFairness(in map[string]any, name string, v float64) map[string]any {
	r := in["evaluations"].(map[string]any)["fairness"].(report.Report)
	m := map[string]*float64{}
	for k, x := range r.Metrics {
		m[k] = x
	}
	r.Metrics = m
	r.SetMetric(name, v, "")
	in["evaluations"].(map[string]any)["fairness"] = r
	return in
}

// policyOf is a bundle of the given modules alone (no default policy).
func policyOf(modules ...string) Bundle {
	b := Bundle{Modules: map[string]string{}}
	for i := 0; i+1 < len(modules); i += 2 {
		b.Modules[modules[i]] = modules[i+1]
	}
	return b
}

func mustMerge(t *testing.T, bundles ...Bundle) Bundle {
	t.Helper()
	b, err := Merge(bundles...)
	if err != nil {
		t.Fatalf("Merge: %v", err)
	}
	return b
}

func decide(t *testing.T, e *RegoEngine, b Bundle, in map[string]any) Decision {
	t.Helper()
	d, err := e.Decide(context.Background(), b, in)
	if err != nil {
		t.Fatalf("Decide returned an error: %v", err)
	}
	return d
}

func codesOf(d Decision) []string {
	var codes []string
	for _, v := range d.Violations {
		codes = append(codes, v.Code)
	}
	return codes
}

// wantFailClosed checks that d is a denial with exactly one violation of
// code whose message contains every fragment, repeated in d.Error.
func wantFailClosed(t *testing.T, d Decision, code string, fragments ...string) {
	t.Helper()
	if d.Allow {
		t.Fatalf("decision allows, want a fail-closed denial %s", code)
	}
	if len(d.Violations) != 1 || d.Violations[0].Code != code {
		t.Fatalf("violations = %+v, want one %s", d.Violations, code)
	}
	if d.Error == "" || d.Error != d.Violations[0].Message {
		t.Errorf("Error = %q, want the violation's message %q", d.Error, d.Violations[0].Message)
	}
	for _, f := range fragments {
		if !strings.Contains(d.Violations[0].Message, f) {
			t.Errorf("message %q does not contain %q", d.Violations[0].Message, f)
		}
	}
	if d.ID == "" || !strings.HasPrefix(d.PolicyDigest, "sha256:") {
		t.Errorf("a fail-closed decision still needs an ID and digest: %+v", d)
	}
}

func TestDecideDefaultPolicy(t *testing.T) {
	e := NewEngine()
	d := decide(t, e, Default(), goodInput())
	if !d.Allow || len(d.Violations) != 0 || d.Error != "" {
		t.Fatalf("good input: got %+v, want allow without violations", d)
	}
	d = decide(t, e, Default(), withFairness(goodInput(), "demographic_parity_ratio", 0.62))
	want := []Violation{{Code: CodeFairnessDemographicParity, Message: "fairness: demographic_parity_ratio 0.62 is below the minimum 0.8 (policy default; the four-fifths rule)"}}
	if d.Allow || !reflect.DeepEqual(d.Violations, want) || d.Error != "" {
		t.Fatalf("low parity: got %+v, want deny with %+v", d, want)
	}
}

func TestDecideReportsUndefinedMetricReason(t *testing.T) {
	in := goodInput()
	r := in["evaluations"].(map[string]any)["privacy"].(report.Report)
	r.Metrics = map[string]*float64{}
	r.SetUndefined("epsilon", "model has no differential-privacy guarantee")
	in["evaluations"].(map[string]any)["privacy"] = r
	d := decide(t, NewEngine(), Default(), in)
	if d.Allow || !slices.Equal(codesOf(d), []string{CodePrivacyNoGuarantee}) {
		t.Fatalf("got %+v, want a PrivacyNoGuarantee denial", d)
	}
	if !strings.Contains(d.Violations[0].Message, "model has no differential-privacy guarantee") {
		t.Errorf("message %q lacks the report's reason", d.Violations[0].Message)
	}
}

func TestDecideCompilesOncePerDigest(t *testing.T) {
	e := NewEngine()
	for range 3 {
		decide(t, e, Default(), goodInput())
	}
	if n := e.compilations.Load(); n != 1 {
		t.Fatalf("3 decisions on one policy compiled %d times, want 1", n)
	}
	// An equal bundle built separately has the same digest: no compilation.
	decide(t, e, mustMerge(t, Default(), Bundle{}), goodInput())
	if n := e.compilations.Load(); n != 1 {
		t.Fatalf("an equal merged bundle compiled again: %d compilations, want 1", n)
	}
	custom := mustMerge(t, Default(), Bundle{Data: map[string]any{"rai": map[string]any{"thresholds": map[string]any{"abstain_rate_max": "0.3"}}}})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := e.Decide(context.Background(), custom, goodInput()); err != nil {
				t.Errorf("Decide: %v", err)
			}
		})
	}
	wg.Wait()
	if n := e.compilations.Load(); n != 2 {
		t.Fatalf("8 concurrent first decisions on a new policy: %d compilations in all, want 2", n)
	}
}

func TestDecideCachesCompileErrors(t *testing.T) {
	e := NewEngine()
	broken := policyOf("broken.rego", "package rai.promotion\nallow if {")
	for range 2 {
		wantFailClosed(t, decide(t, e, broken, goodInput()), CodePolicyError)
	}
	if n := e.compilations.Load(); n != 1 {
		t.Fatalf("a broken policy compiled %d times, want 1 (the error is cached)", n)
	}
}

func TestDecideCacheIsBounded(t *testing.T) {
	e := NewEngine(WithCacheSize(1))
	a := policyOf("a.rego", "package rai.promotion\nallow := true")
	b := policyOf("b.rego", "package rai.promotion\nallow := true")
	for _, p := range []Bundle{a, b, a} {
		decide(t, e, p, goodInput())
	}
	if n := e.compilations.Load(); n != 3 {
		t.Fatalf("a, b, a with a cache of 1: %d compilations, want 3 (a was evicted)", n)
	}
}

func TestDecideTimeout(t *testing.T) {
	// About 10^10 iterations that never match: far longer than the limit, and
	// without building a large value in memory.
	slow := policyOf("slow.rego", `package rai.promotion

allow if {
	count([1 | some i in numbers.range(1, 100000); some j in numbers.range(1, 100000); i == 0 - j]) == 0
}
`)
	e := NewEngine(WithTimeout(50 * time.Millisecond))
	start := time.Now()
	d := decide(t, e, slow, goodInput())
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("a 50ms limit took %s", elapsed)
	}
	wantFailClosed(t, d, CodePolicyTimeout, "50ms")
}

func TestDecideCancelledContextFailsClosed(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d, err := NewEngine().Decide(ctx, Default(), goodInput())
	if err != nil {
		t.Fatalf("Decide: %v", err)
	}
	wantFailClosed(t, d, CodePolicyError, "cancel")
}

func TestDecideFailsClosed(t *testing.T) {
	cases := []struct {
		name   string
		bundle Bundle
		code   string
		// fragments must appear in the violation's message.
		fragments []string
	}{
		{
			name:      "parse error names file and line",
			bundle:    mustMerge(t, Default(), policyOf("custom.rego", "package rai.promotion\n\nviolations contains v if {\n\tv := \n}\n")),
			code:      CodePolicyError,
			fragments: []string{"compile policy", "custom.rego:", "rego_parse_error"},
		},
		{
			name:      "type error names file and line",
			bundle:    mustMerge(t, Default(), policyOf("custom.rego", "package rai.promotion\n\nviolations contains v if {\n\tv := nosuch.function(1)\n}\n")),
			code:      CodePolicyError,
			fragments: []string{"custom.rego:4", "rego_type_error", "nosuch.function"},
		},
		{
			name:      "network builtins are not available",
			bundle:    mustMerge(t, Default(), policyOf("leak.rego", "package rai.promotion\n\nviolations contains v if {\n\thttp.send({\"method\": \"GET\", \"url\": \"http://x\"})\n\tv := {}\n}\n")),
			code:      CodePolicyError,
			fragments: []string{"leak.rego:4", "http.send"},
		},
		{
			name:      "a custom module cannot redefine allow as a default",
			bundle:    mustMerge(t, Default(), policyOf("custom.rego", "package rai.promotion\n\ndefault allow := true\n")),
			code:      CodePolicyError,
			fragments: []string{"multiple default rules"},
		},
		{
			name: "conflicting rule values",
			bundle: policyOf("conflict.rego", `package rai.promotion

limit := 1 if input.version
limit := 2 if input.model
allow if limit == 1
`),
			code:      CodePolicyError,
			fragments: []string{"evaluate policy", "conflict.rego:3", "eval_conflict_error"},
		},
		{
			name:      "a custom threshold default cannot change a built-in one",
			bundle:    mustMerge(t, Default(), policyOf("weaker.rego", "package rai.promotion\n\nthreshold_defaults.abstain_rate_max := 0.9\n")),
			code:      CodePolicyError,
			fragments: []string{"evaluate policy", "eval_conflict_error"},
		},
		{
			name:      "data cannot shadow allow",
			bundle:    mustMerge(t, Default(), Bundle{Data: map[string]any{"rai": map[string]any{"promotion": map[string]any{"allow": true}}}}),
			code:      CodePolicyError,
			fragments: []string{"conflicting rule for data path rai/promotion/allow"},
		},
		{
			name:      "a custom module cannot replace violations",
			bundle:    mustMerge(t, Default(), policyOf("custom.rego", "package rai.promotion\n\nviolations := set()\n")),
			code:      CodePolicyError,
			fragments: []string{"conflicting rules data.rai.promotion.violations"},
		},
		{
			name:      "missing allow",
			bundle:    policyOf("noallow.rego", "package rai.promotion\n\nviolations := set()\n"),
			code:      CodePolicyUndefined,
			fragments: []string{"data.rai.promotion.allow is undefined"},
		},
		{
			name:      "allow in another package",
			bundle:    policyOf("other.rego", "package rai.other\n\nallow := true\n"),
			code:      CodePolicyUndefined,
			fragments: []string{"allow is undefined"},
		},
		{
			name:      "empty bundle",
			bundle:    Bundle{},
			code:      CodePolicyUndefined,
			fragments: []string{"allow is undefined"},
		},
		{
			name:      "non-boolean allow",
			bundle:    policyOf("str.rego", "package rai.promotion\n\nallow := \"yes\"\n"),
			code:      CodePolicyUndefined,
			fragments: []string{`allow is the string "yes", want a boolean`},
		},
		{
			name:      "violations not objects",
			bundle:    policyOf("v.rego", "package rai.promotion\n\nallow := false\n\nviolations contains \"too risky\"\n"),
			code:      CodePolicyUndefined,
			fragments: []string{"violations element 0", `the string "too risky"`},
		},
		{
			name:      "violation without code",
			bundle:    policyOf("v.rego", "package rai.promotion\n\nallow := false\n\nviolations contains {\"message\": \"m\"}\n"),
			code:      CodePolicyUndefined,
			fragments: []string{"code is null"},
		},
		{
			name:      "violations not a set",
			bundle:    policyOf("v.rego", "package rai.promotion\n\nallow := false\n\nviolations := \"none\"\n"),
			code:      CodePolicyUndefined,
			fragments: []string{`violations is the string "none"`},
		},
	}
	e := NewEngine()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantFailClosed(t, decide(t, e, tc.bundle, goodInput()), tc.code, tc.fragments...)
		})
	}
}

func TestDecideViolationsAlwaysDeny(t *testing.T) {
	e := NewEngine()
	// A module that tries to allow a version despite violations.
	permissive := mustMerge(t, Default(), policyOf("permissive.rego", "package rai.promotion\n\nallow if true\n"))
	d := decide(t, e, permissive, withFairness(goodInput(), "demographic_parity_ratio", 0.5))
	if d.Allow || !slices.Equal(codesOf(d), []string{CodeFairnessDemographicParity}) {
		t.Fatalf("got %+v, want a denial: violations always deny", d)
	}
	// Nor can a complete allow := true.
	complete := mustMerge(t, Default(), policyOf("complete.rego", "package rai.promotion\n\nallow := true\n"))
	d = decide(t, e, complete, withFairness(goodInput(), "demographic_parity_ratio", 0.5))
	if d.Allow || !slices.Equal(codesOf(d), []string{CodeFairnessDemographicParity}) {
		t.Fatalf("got %+v, want a denial: violations always deny", d)
	}
	// A policy that denies without saying why still gets a reason.
	silent := policyOf("silent.rego", "package rai.promotion\n\nallow := false\n")
	d = decide(t, e, silent, goodInput())
	if d.Allow || !slices.Equal(codesOf(d), []string{CodePolicyDenied}) || d.Error != "" {
		t.Fatalf("got %+v, want a PolicyDenied denial that is not an error", d)
	}
}

func TestDecideCustomPolicyAddsRuleAndReason(t *testing.T) {
	cm, err := BundleFromConfigMap(map[string]string{
		"owner.rego": `package rai.promotion

violations contains {"code": "OwnerMissing", "message": "the model needs an owner label"} if {
	not input.model.labels.owner
}
`,
	})
	if err != nil {
		t.Fatal(err)
	}
	e := NewEngine()
	policy := mustMerge(t, Default(), cm)
	d := decide(t, e, policy, withFairness(goodInput(), "equalized_odds_difference", 0.2))
	want := []Violation{
		{Code: CodeFairnessEqualizedOdds, Message: "fairness: equalized_odds_difference 0.2 exceeds the maximum 0.1 (policy default)"},
		{Code: "OwnerMissing", Message: "the model needs an owner label"},
	}
	if d.Allow || !reflect.DeepEqual(d.Violations, want) {
		t.Fatalf("got %+v, want %+v", d.Violations, want)
	}
	in := goodInput()
	in["model"].(map[string]any)["labels"] = map[string]any{"owner": "risk-team"}
	if d := decide(t, e, policy, in); !d.Allow {
		t.Fatalf("with an owner label: got %+v, want allow", d)
	}
}

func TestDecisionIDAndDigest(t *testing.T) {
	e := NewEngine()
	base := decide(t, e, Default(), goodInput())
	if len(base.ID) != 64 {
		t.Fatalf("ID %q is not a hex sha256", base.ID)
	}
	// The same policy and input from another engine, with the input
	// rebuilt through JSON (maps instead of report structs).
	raw, err := json.Marshal(goodInput())
	if err != nil {
		t.Fatal(err)
	}
	var same map[string]any
	if err := json.Unmarshal(raw, &same); err != nil {
		t.Fatal(err)
	}
	again := decide(t, NewEngine(), Default(), same)
	if again.ID != base.ID || again.PolicyDigest != base.PolicyDigest {
		t.Fatalf("same policy and input: ID %s / %s, digest %s / %s", base.ID, again.ID, base.PolicyDigest, again.PolicyDigest)
	}
	in := goodInput()
	in["version"] = "v3"
	if d := decide(t, e, Default(), in); d.ID == base.ID || d.PolicyDigest != base.PolicyDigest {
		t.Errorf("changed input: ID %s (base %s), want a new ID and the same digest", d.ID, base.ID)
	}
	changed := mustMerge(t, Default(), Bundle{Data: map[string]any{"rai": map[string]any{"thresholds": map[string]any{"abstain_rate_max": "0.2"}}}})
	if d := decide(t, e, changed, goodInput()); d.ID == base.ID || d.PolicyDigest == base.PolicyDigest {
		t.Errorf("changed policy data: ID %s digest %s, want both new", d.ID, d.PolicyDigest)
	}
}

func TestDecideViolationOrderIsStable(t *testing.T) {
	in := goodInput()
	for name, v := range map[string]float64{
		"demographic_parity_ratio":      0.5,
		"statistical_parity_difference": 0.3,
		"disparate_impact_ratio":        1.5,
		"equalized_odds_difference":     0.3,
	} {
		in = withFairness(in, name, v)
	}
	in["thresholds"] = map[string]any{"abstain_rate_max": "x", "certified_accuracy_min": "y"}
	e := NewEngine()
	first := decide(t, e, Default(), in)
	if len(first.Violations) != 6 {
		t.Fatalf("got %d violations %+v, want 6", len(first.Violations), first.Violations)
	}
	if !slices.IsSortedFunc(first.Violations, func(a, b Violation) int {
		if c := strings.Compare(a.Code, b.Code); c != 0 {
			return c
		}
		return strings.Compare(a.Message, b.Message)
	}) {
		t.Fatalf("violations not sorted by code then message: %+v", first.Violations)
	}
	for range 5 {
		if d := decide(t, e, Default(), in); !reflect.DeepEqual(d, first) {
			t.Fatalf("decisions differ:\n%+v\n%+v", d, first)
		}
	}
}

func TestDecideRejectsNonJSONInput(t *testing.T) {
	in := goodInput()
	in["version"] = math.NaN()
	d, err := NewEngine().Decide(context.Background(), Default(), in)
	if err == nil || !strings.Contains(err.Error(), "encode policy input") {
		t.Fatalf("err = %v, want an encode policy input error", err)
	}
	if d.Allow || d.Error == "" {
		t.Errorf("decision %+v, want a fail-closed denial alongside the error", d)
	}
}

func TestDecideRejectsNonJSONData(t *testing.T) {
	bad := mustMerge(t, Default(), Bundle{Data: map[string]any{"c": make(chan int)}})
	d, err := NewEngine().Decide(context.Background(), bad, goodInput())
	if err == nil || !strings.Contains(err.Error(), "data is not JSON") {
		t.Fatalf("err = %v, want a data error", err)
	}
	if d.Allow || d.Error == "" {
		t.Errorf("decision %+v, want a fail-closed denial alongside the error", d)
	}
}

// BenchmarkDecide measures one decision of the default policy on a cached
// compilation: the per-reconcile cost of the gate.
func BenchmarkDecide(b *testing.B) {
	e := NewEngine()
	policy := Default()
	in := goodInput()
	ctx := context.Background()
	if d, err := e.Decide(ctx, policy, in); err != nil || !d.Allow {
		b.Fatalf("warm-up: %+v, %v", d, err)
	}
	for b.Loop() {
		if _, err := e.Decide(ctx, policy, in); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDecideReportsAppliedThresholds checks that a decision carries the
// thresholds that judged it, and that the model's owner can tighten but not
// loosen the platform's.
func TestDecideReportsAppliedThresholds(t *testing.T) {
	e := NewEngine()
	d := decide(t, e, Default(), goodInput())
	if len(d.Thresholds) != 19 {
		t.Fatalf("default policy: thresholds %+v, want the 19 defaults", d.Thresholds)
	}
	if got, want := d.Thresholds["demographic_parity_ratio_min"], (AppliedThreshold{Value: 0.8, Source: "policy default"}); got != want {
		t.Errorf("demographic_parity_ratio_min = %+v, want %+v", got, want)
	}

	in := withFairness(goodInput(), "demographic_parity_ratio", 0.62)
	in["thresholds"] = map[string]any{"demographic_parity_ratio_min": "0.6", "abstain_rate_max": "0.15"}
	in["namespaceThresholds"] = map[string]any{"certified_radius": 0.1}
	in["platform"] = map[string]any{"thresholds": map[string]any{
		"demographic_parity_ratio_min": map[string]any{"value": "0.7", "source": "PromotionPolicy production"},
	}}
	policy := mustMerge(t, Default(), Bundle{Data: map[string]any{"rai": map[string]any{"thresholds": map[string]any{
		"demographic_parity_ratio_min": "0.5", "equalized_odds_difference_max": "0.08",
	}}}})
	d = decide(t, e, policy, in)
	wantViolations := []Violation{{Code: CodeFairnessDemographicParity, Message: "fairness: demographic_parity_ratio 0.62 is below the minimum 0.7 " +
		"(PromotionPolicy production (spec.policy.thresholds.demographic_parity_ratio_min 0.6 is looser: not applied); the four-fifths rule)"}}
	if d.Allow || !reflect.DeepEqual(d.Violations, wantViolations) {
		t.Fatalf("a spec that loosens the platform's floor: got %+v, want %+v", d.Violations, wantViolations)
	}
	for key, want := range map[string]AppliedThreshold{
		"demographic_parity_ratio_min":  {0.7, "PromotionPolicy production (spec.policy.thresholds.demographic_parity_ratio_min 0.6 is looser: not applied)"},
		"abstain_rate_max":              {0.15, "spec.policy.thresholds.abstain_rate_max"},
		"certified_radius":              {0.25, "policy default (policy ConfigMap rai.thresholds.certified_radius 0.1 is looser: not applied)"},
		"equalized_odds_difference_max": {0.08, "policy data rai.thresholds.equalized_odds_difference_max"},
		"certified_accuracy_min":        {0.6, "policy default"},
	} {
		if got := d.Thresholds[key]; got != want {
			t.Errorf("%s = %+v, want %+v", key, got, want)
		}
	}
	if len(d.Thresholds) != 19 {
		t.Errorf("thresholds %+v, want 8 keys", d.Thresholds)
	}

	// The thresholds are not part of the decision ID.
	canonical, err := canonicalJSON(in)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(d.PolicyDigest + "\n" + string(canonical)))
	if d.ID != hex.EncodeToString(sum[:]) {
		t.Errorf("ID %s, want the sha256 of the digest and the input", d.ID)
	}

	// A threshold that is not a number denies and is absent.
	in = goodInput()
	in["namespaceThresholds"] = map[string]any{"abstain_rate_max": "lots"}
	d = decide(t, e, Default(), in)
	if d.Allow || !slices.Equal(codesOf(d), []string{CodeThresholdInvalid}) {
		t.Fatalf("a namespace threshold that is not a number: got %+v, want ThresholdInvalid", d.Violations)
	}
	if _, ok := d.Thresholds["abstain_rate_max"]; ok || len(d.Thresholds) != 18 {
		t.Errorf("thresholds %+v, want the 18 valid ones", d.Thresholds)
	}
}

// TestDecideIgnoresMalformedAppliedThresholds checks that applied_thresholds
// is informational: absent or malformed, the decision is the same and its
// Thresholds are nil.
func TestDecideIgnoresMalformedAppliedThresholds(t *testing.T) {
	e := NewEngine()
	for name, rule := range map[string]string{
		"undefined":         "",
		"empty":             "applied_thresholds := {}",
		"a string":          `applied_thresholds := "none"`,
		"a set":             `applied_thresholds := {"a"}`,
		"entry not object":  `applied_thresholds := {"a": 1}`,
		"value a string":    `applied_thresholds := {"a": {"value": "0.8", "source": "s"}}`,
		"value missing":     `applied_thresholds := {"a": {"source": "s"}}`,
		"source not string": `applied_thresholds := {"a": {"value": 0.8, "source": 1}}`,
		"one bad of two":    `applied_thresholds := {"a": {"value": 0.8, "source": "s"}, "b": {"value": null, "source": "s"}}`,
		"value too large":   `applied_thresholds := {"a": {"value": 1e400, "source": "s"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			d := decide(t, e, policyOf("p.rego", "package rai.promotion\n\nallow := true\n\n"+rule+"\n"), goodInput())
			if !d.Allow || d.Error != "" || len(d.Violations) != 0 {
				t.Fatalf("got %+v, want allow: applied_thresholds never denies", d)
			}
			if d.Thresholds != nil {
				t.Errorf("Thresholds = %+v, want nil", d.Thresholds)
			}
		})
	}
	d := decide(t, e, policyOf("p.rego", `package rai.promotion

allow := true

applied_thresholds := {"a": {"value": 2, "source": "s"}, "b": {"value": 0.5, "source": "t", "note": "extra"}}
`), goodInput())
	want := map[string]AppliedThreshold{"a": {2, "s"}, "b": {0.5, "t"}}
	if !reflect.DeepEqual(d.Thresholds, want) {
		t.Fatalf("Thresholds = %+v, want %+v", d.Thresholds, want)
	}
}
