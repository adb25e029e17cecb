package main

// These are output-formatting tests: the commands read the objects below
// from controller-runtime's fake client (not an API server), with a fixed
// clock, and their output is compared with testdata/*.golden. Run
// `go test ./cmd/kubectl-rmodel -update` to rewrite the golden files, and
// review the diff.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/decisionchain"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

var (
	now     = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	created = metav1.NewTime(now.Add(-50 * time.Hour))
	policy  = strings.Repeat("b", 64)
	shaV1   = strings.Repeat("1", 64)
	shaV2   = strings.Repeat("2", 64)
)

func at(minutes int) metav1.Time {
	return metav1.NewTime(now.Add(-time.Duration(minutes) * time.Minute))
}

func cond(t string, s metav1.ConditionStatus, reason, msg string) metav1.Condition {
	return metav1.Condition{Type: t, Status: s, Reason: reason, Message: msg, LastTransitionTime: at(30)}
}

// fairnessReport is a report ConfigMap's content and its digest.
func fairnessReport(version, sha string, dpr, eod float64) (string, string) {
	raw := fmt.Sprintf(`{"schemaVersion":"rai.report/v1","kind":"fairness","model":{"name":"credit-fair","version":%q,"sha256":%q},"state":"Succeeded","metrics":{"demographic_parity_ratio":%v,"equalized_odds_difference":%v,"selection_rate_min":null}}`, version, sha, dpr, eod)
	sum := sha256.Sum256([]byte(raw))
	return raw, hex.EncodeToString(sum[:])
}

func reportCM(name, raw string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "risk", Name: name}, Data: map[string]string{"fairness.json": raw}}
}

// records seals a chain of specs for one model.
func records(t *testing.T, ns, model, uid string, specs []raiv1.DecisionRecordSpec) []raiv1.DecisionRecord {
	t.Helper()
	prev := decisionchain.GenesisHash
	var out []raiv1.DecisionRecord
	for i, s := range specs {
		s.Model, s.ModelUID, s.Sequence, s.PreviousHash = model, uid, int64(i+1), prev
		if err := decisionchain.Seal(&s); err != nil {
			t.Fatal(err)
		}
		prev = s.Hash
		out = append(out, raiv1.DecisionRecord{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("%s-%s-%d", model, uid, i+1),
			Labels: map[string]string{raiv1.LabelModel: model, raiv1.LabelVersion: s.Version}}, Spec: s})
	}
	return out
}

func head(rs []raiv1.DecisionRecord) *raiv1.DecisionChainHead {
	last := rs[len(rs)-1]
	return &raiv1.DecisionChainHead{Count: last.Spec.Sequence, Hash: last.Spec.Hash, Last: last.Name}
}

func fixtures(t *testing.T) []client.Object {
	t.Helper()
	var objs []client.Object

	// credit-biased: its only version, denied; Warn was asked for but the
	// PromotionPolicy allows only Enforce.
	biasedDecision := &raiv1.DecisionStatus{
		ID: "9f1c0d2e-biased-v1", Version: "v1", ModelSHA256: shaV1, Allowed: false,
		Enforcement: raiv1.EnforcementEnforce, RequestedEnforcement: raiv1.EnforcementWarn,
		InputSHA256: strings.Repeat("c", 64), PolicyDigest: policy, PromotionPolicies: []string{"lending-platform"},
		Thresholds: []raiv1.AppliedThreshold{
			{Key: "demographic_parity_ratio_min", Value: "0.9", Source: "spec.policy.thresholds.demographic_parity_ratio_min"},
			{Key: "disparate_impact_ratio_max", Value: "1.2", Source: "policy default"},
			{Key: "disparate_impact_ratio_min", Value: "0.8", Source: "policy default"},
			{Key: "equalized_odds_difference_max", Value: "0.1", Source: "PromotionPolicy lending-platform (spec.policy.thresholds.equalized_odds_difference_max 0.2 is looser: not applied)"},
			{Key: "statistical_parity_difference_max", Value: "0.1", Source: "policy default"},
		},
		Violations: []raiv1.Violation{
			{Code: "FairnessDemographicParity", Message: "fairness: demographic_parity_ratio 0.5412 is below the minimum 0.9 (spec.policy.thresholds.demographic_parity_ratio_min; the four-fifths rule)"},
			{Code: "FairnessDisparateImpact", Message: "fairness: disparate_impact_ratio 0.5412 is below the minimum 0.8 (policy default)"},
			{Code: "FairnessEqualizedOdds", Message: "fairness: equalized_odds_difference 0.3104 exceeds the maximum 0.1 (PromotionPolicy lending-platform (spec.policy.thresholds.equalized_odds_difference_max 0.2 is looser: not applied))"},
			{Code: "FairnessStatisticalParity", Message: "fairness: |statistical_parity_difference| 0.2291 exceeds the maximum 0.1 (policy default)"},
		},
		Time: at(40),
	}
	stalled := "credit-biased v1 (sha256 111111111111) was denied by the policy; nothing serves; change spec.version or the policy to try again: FairnessDemographicParity: fairness: demographic_parity_ratio 0.5412 is below the minimum 0.9"
	objs = append(objs, &raiv1.ResponsibleModel{
		ObjectMeta: metav1.ObjectMeta{Namespace: "risk", Name: "credit-biased", UID: "uid-biased", CreationTimestamp: created},
		Spec:       raiv1.ResponsibleModelSpec{Version: "v1", Serving: raiv1.ServingSpec{GPU: &raiv1.GPUSpec{Count: ptr.To[int32](1), Product: "NVIDIA-H100-80GB-HBM3"}}},
		Status: raiv1.ResponsibleModelStatus{
			CandidateVersion: "v1", CandidateModelSHA256: shaV1,
			Conditions: []metav1.Condition{
				cond(raiv1.ConditionReady, metav1.ConditionFalse, raiv1.ReasonPolicyDenied, stalled),
				cond(raiv1.ConditionPolicyAllowed, metav1.ConditionFalse, raiv1.ReasonPolicyDenied, "4 violations"),
				cond(raiv1.ConditionStalled, metav1.ConditionTrue, raiv1.ReasonPolicyDenied, stalled),
			},
			Evaluations: []raiv1.EvaluationStatus{
				{Kind: "fairness", Version: "v1", ModelSHA256: shaV1, State: raiv1.EvaluationSucceeded, Job: "credit-biased-v1-fairness-1a2b",
					Metrics: map[string]string{"demographic_parity_ratio": "0.5412", "disparate_impact_ratio": "0.5412", "equalized_odds_difference": "0.3104", "statistical_parity_difference": "-0.2291"}},
				{Kind: "robustness", Version: "v1", ModelSHA256: shaV1, State: raiv1.EvaluationError, Reason: raiv1.ReasonDeadlineExceeded,
					Message: "Job credit-biased-v1-robustness-3c4d ran past activeDeadlineSeconds (900)"},
			},
			LastDecision: biasedDecision,
			History:      []raiv1.HistoryEntry{{Version: "v1", ModelSHA256: shaV1, Action: raiv1.HistoryDenied, DecisionID: biasedDecision.ID, Reason: raiv1.ReasonPolicyDenied, Time: at(40)}},
		},
	})

	// credit-fair: v1 promoted and serving, v2 allowed but rolled back.
	raw1, sum1 := fairnessReport("v1", shaV1, 0.9412, 0.0431)
	raw2, sum2 := fairnessReport("v2", shaV2, 0.9105, 0.0502)
	objs = append(objs, reportCM("credit-fair-v1-fairness-report", raw1), reportCM("credit-fair-v2-fairness-report", raw2))
	ev := func(ref, sum string) []raiv1.EvidenceRecord {
		return []raiv1.EvidenceRecord{{Kind: "fairness", State: raiv1.EvaluationSucceeded, ReportRef: &raiv1.LocalObjectReference{Name: ref}, ReportSHA256: sum}}
	}
	fair := records(t, "risk", "credit-fair", "uid-fair", []raiv1.DecisionRecordSpec{
		{Time: at(200), Action: "Promoted", Reason: "Promoted", Version: "v1", ModelSHA256: shaV1, DecisionID: "d-fair-v1", PolicyDigest: policy,
			Allowed: true, Enforcement: raiv1.EnforcementEnforce, Evidence: ev("credit-fair-v1-fairness-report", sum1)},
		{Time: at(60), Action: "RolledBack", Reason: "ProgressDeadlineExceeded", Version: "v2", ModelSHA256: shaV2, DecisionID: "d-fair-v2", PolicyDigest: policy,
			Allowed: true, Enforcement: raiv1.EnforcementEnforce, Evidence: ev("credit-fair-v2-fairness-report", sum2)},
	})
	for i := range fair {
		objs = append(objs, &fair[i])
	}
	objs = append(objs, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "risk", Name: "credit-fair-model-card"},
		Data: map[string]string{"model-card.md": "# Model card: credit-fair v1\n\nIntended use: ranks loan applications for human review.\n\n| metric | value |\n|---|---|\n| demographic_parity_ratio | 0.9412 |\n"}})
	objs = append(objs, &raiv1.ResponsibleModel{
		ObjectMeta: metav1.ObjectMeta{Namespace: "risk", Name: "credit-fair", UID: "uid-fair", CreationTimestamp: created},
		Spec:       raiv1.ResponsibleModelSpec{Version: "v1", Serving: raiv1.ServingSpec{GPU: &raiv1.GPUSpec{MIGProfile: "1g.10gb"}}},
		Status: raiv1.ResponsibleModelStatus{
			StableVersion: "v1", StableModelSHA256: shaV1, FailedVersion: "v2", FailedModelSHA256: shaV2,
			Conditions: []metav1.Condition{
				cond(raiv1.ConditionReady, metav1.ConditionTrue, raiv1.ReasonServing, "credit-fair v1 serves"),
				cond(raiv1.ConditionPolicyAllowed, metav1.ConditionTrue, raiv1.ReasonPolicyAllowed, "allowed"),
				cond(raiv1.ConditionStalled, metav1.ConditionFalse, raiv1.ReasonReconciled, ""),
			},
			Evaluations: []raiv1.EvaluationStatus{{Kind: "fairness", Version: "v1", ModelSHA256: shaV1, State: raiv1.EvaluationSucceeded,
				Metrics: map[string]string{"demographic_parity_ratio": "0.9412", "equalized_odds_difference": "0.0431"}}},
			LastDecision: &raiv1.DecisionStatus{ID: "d-fair-v1", Version: "v1", ModelSHA256: shaV1, Allowed: true, Enforcement: raiv1.EnforcementEnforce,
				PolicyDigest: policy, Thresholds: []raiv1.AppliedThreshold{{Key: "demographic_parity_ratio_min", Value: "0.8", Source: "policy default"}}, Time: at(200)},
			Serving:       &raiv1.ServingStatus{Deployment: "credit-fair-serving", Replicas: 2, ReadyReplicas: 2, Version: "v1"},
			ModelCardRef:  &raiv1.LocalObjectReference{Name: "credit-fair-model-card"},
			DecisionChain: head(fair),
			History: []raiv1.HistoryEntry{
				{Version: "v1", ModelSHA256: shaV1, Action: raiv1.HistoryPromoted, DecisionID: "d-fair-v1", Reason: raiv1.ReasonPromoted, Time: at(200)},
				{Version: "v2", ModelSHA256: shaV2, Action: raiv1.HistoryRolledBack, DecisionID: "d-fair-v2", Reason: "ProgressDeadlineExceeded", Time: at(60)},
			},
		},
	})

	// credit-tampered: three records, the second edited after it was sealed.
	tampered := records(t, "risk", "credit-tampered", "uid-t", []raiv1.DecisionRecordSpec{
		{Time: at(300), Action: "Denied", Version: "v1", ModelSHA256: shaV1, DecisionID: "d-t1", PolicyDigest: policy},
		{Time: at(250), Action: "Denied", Version: "v2", ModelSHA256: shaV2, DecisionID: "d-t2", PolicyDigest: policy},
		{Time: at(200), Action: "Promoted", Version: "v3", ModelSHA256: shaV2, DecisionID: "d-t3", PolicyDigest: policy, Allowed: true,
			Evidence: []raiv1.EvidenceRecord{{Kind: "fairness", State: raiv1.EvaluationSucceeded, ReportRef: &raiv1.LocalObjectReference{Name: "credit-tampered-v3-fairness-report"}, ReportSHA256: shaV1}}},
	})
	h := head(tampered)
	tampered[1].Spec.Action, tampered[1].Spec.Allowed = "Promoted", true
	for i := range tampered {
		objs = append(objs, &tampered[i])
	}
	objs = append(objs, &raiv1.ResponsibleModel{
		ObjectMeta: metav1.ObjectMeta{Namespace: "risk", Name: "credit-tampered", UID: "uid-t", CreationTimestamp: created},
		Spec:       raiv1.ResponsibleModelSpec{Version: "v3"},
		Status:     raiv1.ResponsibleModelStatus{StableVersion: "v3", StableModelSHA256: shaV2, DecisionChain: h},
	})

	// credit-margin, in the lab namespace: its candidate's fairness meets
	// the minimum while the interval reaches below it; a person decides.
	objs = append(objs, &raiv1.ResponsibleModel{
		ObjectMeta: metav1.ObjectMeta{Namespace: "lab", Name: "credit-margin", UID: "uid-margin", CreationTimestamp: created},
		Spec:       raiv1.ResponsibleModelSpec{Version: "v1"},
		Status: raiv1.ResponsibleModelStatus{
			CandidateVersion: "v1", CandidateModelSHA256: shaV1,
			Conditions: []metav1.Condition{
				cond(raiv1.ConditionReady, metav1.ConditionUnknown, raiv1.ReasonAwaitingApproval, "the policy found version v1 inconclusive"),
				cond(raiv1.ConditionPolicyAllowed, metav1.ConditionFalse, raiv1.ReasonPolicyInconclusive, "policy found version v1 inconclusive"),
				cond(raiv1.ConditionStalled, metav1.ConditionFalse, raiv1.ReasonReconciled, "the operator can make progress"),
			},
			Evaluations: []raiv1.EvaluationStatus{{Kind: "fairness", Version: "v1", ModelSHA256: shaV1, State: raiv1.EvaluationSucceeded,
				Metrics: map[string]string{"demographic_parity_ratio": "0.82"}}},
			LastDecision: &raiv1.DecisionStatus{ID: "d-margin-v1", Version: "v1", ModelSHA256: shaV1, Enforcement: raiv1.EnforcementEnforce, PolicyDigest: policy,
				Inconclusive: []raiv1.Violation{{Code: "FairnessDemographicParity", Message: "fairness: demographic_parity_ratio 0.82 meets the minimum 0.8 (policy default), but its 95% confidence interval [0.77, 0.85] reaches below it: approve only if the margin is enough"}},
				Thresholds:   []raiv1.AppliedThreshold{{Key: "demographic_parity_ratio_min", Value: "0.8", Source: "policy default"}}, Time: at(30)},
		},
	})

	// credit-local, in another namespace: a CPU model whose candidate v2
	// is being evaluated while v1 serves.
	objs = append(objs, &raiv1.ResponsibleModel{
		ObjectMeta: metav1.ObjectMeta{Namespace: "dev", Name: "credit-local", UID: types.UID("uid-local"), CreationTimestamp: metav1.NewTime(now.Add(-90 * time.Second))},
		Spec:       raiv1.ResponsibleModelSpec{Version: "v2"},
		Status: raiv1.ResponsibleModelStatus{
			StableVersion: "v1", CandidateVersion: "v2", CandidateModelSHA256: shaV2,
			Conditions: []metav1.Condition{
				cond(raiv1.ConditionReady, metav1.ConditionUnknown, raiv1.ReasonEvaluationsRunning, "evaluating v2"),
				cond(raiv1.ConditionPolicyAllowed, metav1.ConditionUnknown, raiv1.ReasonAwaitingDecision, "v2's evaluations have not finished"),
				cond(raiv1.ConditionCompliant, metav1.ConditionFalse, raiv1.ReasonDriftDetected, "live traffic of stable version v1 fails the monitoring rules"),
			},
			LastDecision: &raiv1.DecisionStatus{ID: "d-local-v1", Version: "v1", Allowed: true, Enforcement: raiv1.EnforcementEnforce, PolicyDigest: policy, Time: at(10)},
			Serving:      &raiv1.ServingStatus{Deployment: "credit-local-serving", Replicas: 1, ReadyReplicas: 1, Version: "v1"},
			// v1's live traffic drifted on region_score.
			Monitoring: &raiv1.MonitoringStatus{Version: "v1", ModelSHA256: shaV1, Time: at(5), Replicas: 1, Rows: 3000, DecisionID: "d-local-mon",
				Summary:    "largest drift feature region_score: PSI 1.029; most significant feature region_score: KS D=0.447 (Holm-adjusted p=0)",
				Violations: []raiv1.Violation{{Code: "DriftPSI", Message: "monitoring: feature region_score drifted: PSI 1.029 exceeds the maximum 0.25 (policy default; live mean 1.49, reference mean 0.02, 3000 live rows)"}}},
		},
	})
	return objs
}

// run runs the plugin with args against the fixtures, in namespace risk
// unless -n says otherwise.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return runWith(t, fixtures(t), args...)
}

func runWith(t *testing.T, objs []client.Object, args ...string) (string, error) {
	t.Helper()
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build()
	var out bytes.Buffer
	cmd := newRootCmd(&env{Out: &out, ErrOut: &out, Now: func() time.Time { return now },
		Client: func(f *kubeFlags) (client.Client, string, error) {
			if f.namespace != "" {
				return c, f.namespace, nil
			}
			return c, "risk", nil
		}})
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run with -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestCommands(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"get", []string{"get"}, ""},
		{"get-all-namespaces", []string{"get", "-A"}, ""},
		{"get-credit-fair-json", []string{"get", "credit-fair", "-o", "json"}, ""},
		{"why-denied", []string{"why", "credit-biased"}, ""},
		{"why-denied-json", []string{"why", "credit-biased", "-o", "json"}, ""},
		{"why-promoted", []string{"why", "credit-fair"}, ""},
		{"why-pending", []string{"why", "credit-local", "-n", "dev"}, ""},
		{"why-inconclusive", []string{"why", "credit-margin", "-n", "lab"}, ""},
		{"history-promoted", []string{"history", "credit-fair"}, ""},
		{"history-promoted-yaml", []string{"history", "credit-fair", "-o", "yaml"}, ""},
		{"card", []string{"card", "credit-fair"}, ""},
		{"diff", []string{"diff", "credit-fair", "v1", "v2"}, ""},
		{"diff-no-record", []string{"diff", "credit-fair", "v1", "v9"}, ""},
		{"diff-report-gone", []string{"diff", "credit-tampered", "v1", "v3"}, ""},
		{"verify-ok", []string{"verify", "credit-fair"}, ""},
		{"verify-broken", []string{"verify", "credit-tampered"}, "1 decision chain(s) do not verify"},
		{"verify-all", []string{"verify", "-A"}, "1 decision chain(s) do not verify"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(t, tc.args...)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("%v: %v\n%s", tc.args, err, out)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("%v: error %v, want %q", tc.args, err, tc.wantErr)
			}
			golden(t, tc.name, out)
		})
	}
}

// TestErrors: wrong input fails with a message, and card says why there is
// no card.
func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"get", "-o", "wide"}, `unknown output format "wide"`},
		{[]string{"why", "nope"}, `"nope" not found`},
		{[]string{"card", "credit-biased"}, "has no model card"},
		{[]string{"verify", "credit-fair", "-A"}, "not both"},
	} {
		if _, err := run(t, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.want)
		}
	}
}

// TestDiffAlteredReport: a report whose bytes no longer have the recorded
// digest is named, and its metrics are not shown.
func TestDiffAlteredReport(t *testing.T) {
	objs := fixtures(t)
	for _, o := range objs {
		if cm, ok := o.(*corev1.ConfigMap); ok && cm.Name == "credit-fair-v2-fairness-report" {
			cm.Data["fairness.json"] = strings.Replace(cm.Data["fairness.json"], "0.9105", "0.9999", 1)
		}
	}
	out, err := runWith(t, objs, "diff", "credit-fair", "v1", "v2")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Note: v2 fairness: report ConfigMap credit-fair-v2-fairness-report key fairness.json has sha256") ||
		!strings.Contains(out, "altered, metrics not shown") || strings.Contains(out, "0.9999") {
		t.Errorf("an altered report:\n%s", out)
	}
}
