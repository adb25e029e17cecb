package controllers

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/report"
	"github.com/responsible-ai/rmodel-operator/policies"
	"github.com/responsible-ai/rmodel-operator/policies/fake"
)

func eval(kind string, state raiv1.EvaluationState, reason string) raiv1.EvaluationStatus {
	return raiv1.EvaluationStatus{Kind: kind, Version: "v2", State: state, Reason: reason, Message: "m"}
}

func TestEvaluatedCondition(t *testing.T) {
	both := []report.Kind{report.KindFairness, report.KindPrivacy}
	cases := []struct {
		name  string
		kinds []report.Kind
		evals []raiv1.EvaluationStatus
		// wantStatus and wantReason are the condition's verdict.
		wantStatus metav1.ConditionStatus
		wantReason string
	}{
		{"nothing requested", nil, nil, metav1.ConditionTrue, raiv1.ReasonNoEvaluations},
		{"none started", both, nil, metav1.ConditionUnknown, raiv1.ReasonEvaluationsPending},
		{"one running", both, []raiv1.EvaluationStatus{eval("fairness", raiv1.EvaluationRunning, "")}, metav1.ConditionUnknown, raiv1.ReasonEvaluationsRunning},
		{"all succeeded", both, []raiv1.EvaluationStatus{eval("fairness", raiv1.EvaluationSucceeded, ""), eval("privacy", raiv1.EvaluationSucceeded, "")}, metav1.ConditionTrue, raiv1.ReasonEvaluationsSucceeded},
		{"an error wins over running", both, []raiv1.EvaluationStatus{eval("fairness", raiv1.EvaluationRunning, ""), eval("privacy", raiv1.EvaluationError, raiv1.ReasonReportInvalid)}, metav1.ConditionFalse, raiv1.ReasonEvaluationFailed},
		{"an unrequested kind does not count", []report.Kind{report.KindFairness}, []raiv1.EvaluationStatus{eval("fairness", raiv1.EvaluationSucceeded, ""), eval("privacy", raiv1.EvaluationError, "JobFailed")}, metav1.ConditionTrue, raiv1.ReasonEvaluationsSucceeded},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := evaluatedCondition(tc.kinds, tc.evals)
			if c.Status != tc.wantStatus || c.Reason != tc.wantReason {
				t.Errorf("evaluatedCondition = %s/%s (%s), want %s/%s", c.Status, c.Reason, c.Message, tc.wantStatus, tc.wantReason)
			}
		})
	}
}

func decisionOf(allowed bool, mode raiv1.EnforcementMode, codes ...string) *raiv1.DecisionStatus {
	d := &raiv1.DecisionStatus{ID: "abc", Version: "v2", ModelSHA256: sha(2), Allowed: allowed, Enforcement: mode, PolicyDigest: "sha256:x"}
	for _, c := range codes {
		d.Violations = append(d.Violations, raiv1.Violation{Code: c, Message: c + " message"})
	}
	return d
}

func TestPolicyAllowedConditionAndPromotable(t *testing.T) {
	cases := []struct {
		name     string
		decision *raiv1.DecisionStatus
		// wantStatus and wantReason are PolicyAllowed's verdict.
		wantStatus metav1.ConditionStatus
		wantReason string
		// wantPromotable: the candidate may roll out.
		wantPromotable bool
	}{
		{"no decision", nil, metav1.ConditionUnknown, raiv1.ReasonAwaitingDecision, false},
		{"allowed", decisionOf(true, raiv1.EnforcementEnforce), metav1.ConditionTrue, raiv1.ReasonPolicyAllowed, true},
		{"denied", decisionOf(false, raiv1.EnforcementEnforce, "FairnessDemographicParity"), metav1.ConditionFalse, raiv1.ReasonPolicyDenied, false},
		{"denied under Warn", decisionOf(false, raiv1.EnforcementWarn, "FairnessDemographicParity"), metav1.ConditionFalse, raiv1.ReasonPolicyWarned, true},
		// DryRun records the decision and never promotes, allowed or not.
		{"denied under DryRun", decisionOf(false, raiv1.EnforcementDryRun, "EvaluationFailed"), metav1.ConditionFalse, raiv1.ReasonDryRun, false},
		{"allowed under DryRun", decisionOf(true, raiv1.EnforcementDryRun), metav1.ConditionTrue, raiv1.ReasonPolicyAllowed, false},
		{"a required evaluation omitted blocks under Warn", decisionOf(false, raiv1.EnforcementWarn, CodeEvaluationRequired), metav1.ConditionFalse, raiv1.ReasonPolicyDenied, false},
		{"a refused tenant policy blocks under Warn", decisionOf(false, raiv1.EnforcementWarn, CodePolicyRefused), metav1.ConditionFalse, raiv1.ReasonPolicyError, false},
		{"a budget of other data blocks under Warn", decisionOf(false, raiv1.EnforcementWarn, CodeBudgetMismatch), metav1.ConditionFalse, raiv1.ReasonPolicyDenied, false},
		{"policy error", decisionOf(false, raiv1.EnforcementEnforce, policies.CodePolicyError), metav1.ConditionFalse, raiv1.ReasonPolicyError, false},
		{"budget exhausted blocks under Warn", decisionOf(false, raiv1.EnforcementWarn, policies.CodeBudgetExhausted), metav1.ConditionFalse, raiv1.ReasonBudgetExhausted, false},
		{"budget not found blocks under DryRun", decisionOf(false, raiv1.EnforcementDryRun, CodeBudgetNotFound), metav1.ConditionFalse, raiv1.ReasonBudgetNotFound, false},
		{"missing policy blocks under Warn", decisionOf(false, raiv1.EnforcementWarn, CodePolicyNotFound), metav1.ConditionFalse, raiv1.ReasonPolicyNotFound, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := policyAllowedCondition(tc.decision)
			if c.Status != tc.wantStatus || c.Reason != tc.wantReason {
				t.Errorf("policyAllowedCondition = %s/%s (%s), want %s/%s", c.Status, c.Reason, c.Message, tc.wantStatus, tc.wantReason)
			}
			if got := promotable(tc.decision); got != tc.wantPromotable {
				t.Errorf("promotable = %v, want %v", got, tc.wantPromotable)
			}
		})
	}
}

// TestDecideConditions: every condition, decided from the facts of one
// reconcile and the status, and what kstatus (the health library of Flux,
// kpt and cli-utils) reads from them. No client.
func TestDecideConditions(t *testing.T) {
	fairness := []report.Kind{report.KindFairness}
	succeeded := []raiv1.EvaluationStatus{eval("fairness", raiv1.EvaluationSucceeded, "")}
	allowedV2 := decisionOf(true, raiv1.EnforcementEnforce)
	deniedV2 := decisionOf(false, raiv1.EnforcementEnforce, "FairnessDemographicParity")
	failedV2 := decisionOf(false, raiv1.EnforcementEnforce, "EvaluationFailed")
	warnedV2 := decisionOf(false, raiv1.EnforcementWarn, "FairnessDemographicParity")
	type want struct {
		// status and reason of a condition type; "" skips it.
		status metav1.ConditionStatus
		reason string
	}
	cases := []struct {
		name   string
		status raiv1.ResponsibleModelStatus
		facts  verdictFacts
		// want maps condition types to their verdicts.
		want map[string]want
		// wantKstatus is what kstatus computes; wantKstatusMessage a part
		// of its message.
		wantKstatus        kstatus.Status
		wantKstatusMessage string
	}{
		{"first version evaluating", raiv1.ResponsibleModelStatus{CandidateVersion: "v2", Evaluations: []raiv1.EvaluationStatus{eval("fairness", raiv1.EvaluationRunning, "")}},
			verdictFacts{Kinds: fairness},
			map[string]want{raiv1.ConditionReconciling: {metav1.ConditionTrue, raiv1.ReasonEvaluationsRunning}, raiv1.ConditionStalled: {metav1.ConditionFalse, raiv1.ReasonReconciled},
				raiv1.ConditionReady: {metav1.ConditionUnknown, raiv1.ReasonEvaluationsRunning}, raiv1.ConditionPolicyAllowed: {metav1.ConditionUnknown, raiv1.ReasonAwaitingDecision},
				raiv1.ConditionPromoted: {metav1.ConditionFalse, raiv1.ReasonEvaluationsRunning}},
			kstatus.InProgressStatus, "being evaluated"},
		{"first version denied", raiv1.ResponsibleModelStatus{CandidateVersion: "v2", Evaluations: succeeded, LastDecision: deniedV2},
			verdictFacts{Kinds: fairness, EvaluationsDone: true},
			map[string]want{raiv1.ConditionStalled: {metav1.ConditionTrue, raiv1.ReasonPolicyDenied}, raiv1.ConditionReconciling: {metav1.ConditionFalse, raiv1.ReasonReconciled},
				raiv1.ConditionReady: {metav1.ConditionFalse, raiv1.ReasonPolicyDenied}, raiv1.ConditionPromoted: {metav1.ConditionFalse, raiv1.ReasonPolicyDenied},
				raiv1.ConditionPolicyAllowed: {metav1.ConditionFalse, raiv1.ReasonPolicyDenied}},
			kstatus.FailedStatus, "FairnessDemographicParity"},
		{"candidate denied, stable serving", raiv1.ResponsibleModelStatus{StableVersion: "v1", StableModelSHA256: sha(1), CandidateVersion: "v2", Evaluations: succeeded, LastDecision: deniedV2},
			verdictFacts{Kinds: fairness, EvaluationsDone: true},
			map[string]want{raiv1.ConditionStalled: {metav1.ConditionTrue, raiv1.ReasonPolicyDenied}, raiv1.ConditionReady: {metav1.ConditionFalse, raiv1.ReasonPolicyDenied},
				raiv1.ConditionDegraded: {metav1.ConditionFalse, raiv1.ReasonServing}},
			kstatus.FailedStatus, "version v1 keeps serving"},
		{"an evaluation Error", raiv1.ResponsibleModelStatus{CandidateVersion: "v2", Evaluations: []raiv1.EvaluationStatus{eval("fairness", raiv1.EvaluationError, raiv1.ReasonReportUntrusted)}, LastDecision: failedV2},
			verdictFacts{Kinds: fairness, EvaluationsDone: true},
			map[string]want{raiv1.ConditionEvaluated: {metav1.ConditionFalse, raiv1.ReasonEvaluationFailed}, raiv1.ConditionStalled: {metav1.ConditionTrue, raiv1.ReasonEvaluationFailed},
				raiv1.ConditionPromoted: {metav1.ConditionFalse, raiv1.ReasonEvaluationFailed}},
			kstatus.FailedStatus, "EvaluationFailed"},
		{"rolling out", raiv1.ResponsibleModelStatus{StableVersion: "v1", CandidateVersion: "v2", Evaluations: succeeded, LastDecision: allowedV2},
			verdictFacts{Kinds: fairness, EvaluationsDone: true, Promotable: true, Rollout: &rolloutObservation{Phase: rolloutProgressing, Message: "0 of 1 pods updated"}},
			map[string]want{raiv1.ConditionReconciling: {metav1.ConditionTrue, raiv1.ReasonRollingOut}, raiv1.ConditionPromoted: {metav1.ConditionFalse, raiv1.ReasonRollingOut},
				raiv1.ConditionPolicyAllowed: {metav1.ConditionTrue, raiv1.ReasonPolicyAllowed}, raiv1.ConditionReady: {metav1.ConditionUnknown, raiv1.ReasonRollingOut}},
			kstatus.InProgressStatus, "rolling out"},
		{"denied under Warn, rolling out", raiv1.ResponsibleModelStatus{CandidateVersion: "v2", Evaluations: succeeded, LastDecision: warnedV2},
			verdictFacts{Kinds: fairness, EvaluationsDone: true, Promotable: true, Rollout: &rolloutObservation{Phase: rolloutProgressing, Message: "0 of 1"}},
			map[string]want{raiv1.ConditionPolicyAllowed: {metav1.ConditionFalse, raiv1.ReasonPolicyWarned}, raiv1.ConditionStalled: {metav1.ConditionFalse, raiv1.ReasonReconciled},
				raiv1.ConditionReconciling: {metav1.ConditionTrue, raiv1.ReasonRollingOut}},
			kstatus.InProgressStatus, ""},
		{"no GPU free yet", raiv1.ResponsibleModelStatus{StableVersion: "v1", CandidateVersion: "v2", Evaluations: succeeded, LastDecision: allowedV2},
			verdictFacts{Kinds: fairness, EvaluationsDone: true, Promotable: true, Rollout: &rolloutObservation{Phase: rolloutUnschedulable, Message: "0/3 nodes are available"}},
			map[string]want{raiv1.ConditionDegraded: {metav1.ConditionTrue, raiv1.ReasonGPUUnschedulable}, raiv1.ConditionPromoted: {metav1.ConditionFalse, raiv1.ReasonGPUUnschedulable},
				raiv1.ConditionReconciling: {metav1.ConditionTrue, raiv1.ReasonRollingOut}, raiv1.ConditionReady: {metav1.ConditionFalse, raiv1.ReasonGPUUnschedulable}},
			kstatus.InProgressStatus, ""},
		{"promoted now", raiv1.ResponsibleModelStatus{StableVersion: "v2", StableModelSHA256: sha(2), Evaluations: succeeded, LastDecision: allowedV2},
			verdictFacts{Kinds: fairness, EvaluationsDone: true, Promotable: true, Promoted: true, PromotedMessage: "version v2 serves"},
			map[string]want{raiv1.ConditionPromoted: {metav1.ConditionTrue, raiv1.ReasonPromoted}, raiv1.ConditionReady: {metav1.ConditionTrue, raiv1.ReasonServing},
				raiv1.ConditionReconciling: {metav1.ConditionFalse, raiv1.ReasonReconciled}, raiv1.ConditionStalled: {metav1.ConditionFalse, raiv1.ReasonReconciled}},
			kstatus.CurrentStatus, ""},
		{"serving, nothing to do", raiv1.ResponsibleModelStatus{StableVersion: "v2", StableModelSHA256: sha(2), LastDecision: allowedV2, StableEvidence: []raiv1.EvidenceRecord{{Kind: "fairness", State: raiv1.EvaluationSucceeded}}},
			verdictFacts{Kinds: fairness},
			map[string]want{raiv1.ConditionReady: {metav1.ConditionTrue, raiv1.ReasonServing}, raiv1.ConditionEvaluated: {metav1.ConditionTrue, raiv1.ReasonEvaluationsSucceeded},
				raiv1.ConditionPolicyAllowed: {metav1.ConditionTrue, raiv1.ReasonPolicyAllowed}},
			kstatus.CurrentStatus, ""},
		{"rolled back now", raiv1.ResponsibleModelStatus{StableVersion: "v1", CandidateVersion: "v2", Evaluations: succeeded, LastDecision: allowedV2},
			verdictFacts{Kinds: fairness, EvaluationsDone: true, Promotable: true, Blocked: true, RolledBack: "version v2 was rolled back: GPUUnschedulable; version v1 keeps serving"},
			map[string]want{raiv1.ConditionStalled: {metav1.ConditionTrue, raiv1.ReasonRolledBack}, raiv1.ConditionDegraded: {metav1.ConditionTrue, raiv1.ReasonRolledBack},
				raiv1.ConditionPromoted: {metav1.ConditionFalse, raiv1.ReasonRolledBack}, raiv1.ConditionReconciling: {metav1.ConditionFalse, raiv1.ReasonReconciled}},
			kstatus.FailedStatus, "GPUUnschedulable"},
		{"still rolled back", raiv1.ResponsibleModelStatus{StableVersion: "v1", CandidateVersion: "v2", LastDecision: allowedV2,
			History: []raiv1.HistoryEntry{{Version: "v2", Action: raiv1.HistoryRolledBack, Message: "ProgressDeadlineExceeded"}}},
			verdictFacts{Kinds: fairness, Blocked: true},
			map[string]want{raiv1.ConditionStalled: {metav1.ConditionTrue, raiv1.ReasonRolledBack}, raiv1.ConditionReady: {metav1.ConditionFalse, raiv1.ReasonRolledBack}},
			kstatus.FailedStatus, "ProgressDeadlineExceeded"},
		{"awaiting a person's approval", raiv1.ResponsibleModelStatus{CandidateVersion: "v2", Evaluations: succeeded, LastDecision: allowedV2},
			verdictFacts{Kinds: fairness, EvaluationsDone: true, AwaitingApproval: "PromotionPolicy p requires a person to approve version v2"},
			map[string]want{raiv1.ConditionPromoted: {metav1.ConditionFalse, raiv1.ReasonAwaitingApproval}, raiv1.ConditionStalled: {metav1.ConditionFalse, raiv1.ReasonReconciled},
				raiv1.ConditionReconciling: {metav1.ConditionFalse, raiv1.ReasonReconciled}, raiv1.ConditionReady: {metav1.ConditionUnknown, raiv1.ReasonAwaitingApproval}},
			kstatus.InProgressStatus, "requires a person to approve"},
		{"rejected by its approver", raiv1.ResponsibleModelStatus{CandidateVersion: "v2", Evaluations: succeeded, LastDecision: allowedV2},
			verdictFacts{Kinds: fairness, EvaluationsDone: true, Rejected: "bob rejected version v2 (ModelApproval r): not yet"},
			map[string]want{raiv1.ConditionPromoted: {metav1.ConditionFalse, raiv1.ReasonApprovalRejected}, raiv1.ConditionStalled: {metav1.ConditionTrue, raiv1.ReasonApprovalRejected}},
			kstatus.FailedStatus, "bob rejected"},
		{"the spec cannot be acted on", raiv1.ResponsibleModelStatus{CandidateVersion: "v2"},
			verdictFacts{Kinds: fairness, InvalidSpec: &stalledError{Reason: raiv1.ReasonInvalidSpec, Message: "the API server refused evaluation Job x"}},
			map[string]want{raiv1.ConditionStalled: {metav1.ConditionTrue, raiv1.ReasonInvalidSpec}, raiv1.ConditionReconciling: {metav1.ConditionFalse, raiv1.ReasonReconciled}},
			kstatus.FailedStatus, "refused evaluation Job"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := &raiv1.ResponsibleModel{TypeMeta: metav1.TypeMeta{APIVersion: raiv1.GroupVersion.String(), Kind: "ResponsibleModel"},
				ObjectMeta: metav1.ObjectMeta{Name: "m", Namespace: "ns", Generation: 3}, Status: tc.status}
			obj.Status.ObservedGeneration = 3
			if obj.Status.CandidateVersion == "v2" {
				obj.Status.CandidateModelSHA256 = sha(2)
			}
			decideConditions(obj, tc.facts, testNow)
			for typ, w := range tc.want {
				c := findCondition(obj, typ)
				if c == nil || c.Status != w.status || c.Reason != w.reason {
					t.Errorf("%s = %+v, want %s/%s", typ, c, w.status, w.reason)
				}
			}
			for _, c := range obj.Status.Conditions {
				if c.ObservedGeneration != 3 || c.Message == "" {
					t.Errorf("condition %s: observedGeneration %d, message %q", c.Type, c.ObservedGeneration, c.Message)
				}
			}
			u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
			if err != nil {
				t.Fatal(err)
			}
			res, err := kstatus.Compute(&unstructured.Unstructured{Object: u})
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tc.wantKstatus || !strings.Contains(res.Message, tc.wantKstatusMessage) {
				t.Errorf("kstatus = %s (%q), want %s containing %q", res.Status, res.Message, tc.wantKstatus, tc.wantKstatusMessage)
			}
		})
	}
}

// TestSuspendedDecidesOnlyReady: a suspended model keeps its verdicts.
func TestSuspendedDecidesOnlyReady(t *testing.T) {
	obj := &raiv1.ResponsibleModel{Status: raiv1.ResponsibleModelStatus{Conditions: []metav1.Condition{{Type: raiv1.ConditionStalled, Status: metav1.ConditionTrue, Reason: raiv1.ReasonPolicyDenied, Message: "x"}}}}
	decideConditions(obj, verdictFacts{Suspended: true}, testNow)
	if c := findCondition(obj, raiv1.ConditionReady); c == nil || c.Reason != raiv1.ReasonSuspended || c.Status != metav1.ConditionFalse {
		t.Errorf("Ready = %+v", c)
	}
	if c := findCondition(obj, raiv1.ConditionStalled); c.Reason != raiv1.ReasonPolicyDenied || len(obj.Status.Conditions) != 2 {
		t.Errorf("suspend changed other conditions: %+v", obj.Status.Conditions)
	}
}

// TestReadyFrom: Ready is decided by the first abnormal condition in
// readyFrom's order.
func TestReadyFrom(t *testing.T) {
	cond := func(typ string, status metav1.ConditionStatus, reason string) metav1.Condition {
		return metav1.Condition{Type: typ, Status: status, Reason: reason, Message: reason}
	}
	st := &raiv1.ResponsibleModelStatus{StableVersion: "v1", StableModelSHA256: sha(1)}
	cases := []struct {
		name  string
		conds []metav1.Condition
		// wantStatus and wantReason are Ready's verdict.
		wantStatus metav1.ConditionStatus
		wantReason string
	}{
		{"all normal", []metav1.Condition{cond(raiv1.ConditionPromoted, metav1.ConditionTrue, raiv1.ReasonPromoted), cond(raiv1.ConditionStalled, metav1.ConditionFalse, "R")}, metav1.ConditionTrue, raiv1.ReasonServing},
		{"stalled before degraded", []metav1.Condition{cond(raiv1.ConditionDegraded, metav1.ConditionTrue, raiv1.ReasonGPUUnschedulable), cond(raiv1.ConditionStalled, metav1.ConditionTrue, raiv1.ReasonRolledBack)}, metav1.ConditionFalse, raiv1.ReasonRolledBack},
		{"degraded before reconciling", []metav1.Condition{cond(raiv1.ConditionReconciling, metav1.ConditionTrue, raiv1.ReasonRollingOut), cond(raiv1.ConditionDegraded, metav1.ConditionTrue, raiv1.ReasonGPUUnschedulable)}, metav1.ConditionFalse, raiv1.ReasonGPUUnschedulable},
		{"reconciling", []metav1.Condition{cond(raiv1.ConditionReconciling, metav1.ConditionTrue, raiv1.ReasonEvaluationsRunning)}, metav1.ConditionUnknown, raiv1.ReasonEvaluationsRunning},
		{"not promoted", []metav1.Condition{cond(raiv1.ConditionPromoted, metav1.ConditionFalse, raiv1.ReasonAwaitingDecision)}, metav1.ConditionUnknown, raiv1.ReasonAwaitingDecision},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := readyVerdict(tc.conds, st)
			if c.Status != tc.wantStatus || c.Reason != tc.wantReason {
				t.Errorf("Ready = %s/%s (%s), want %s/%s", c.Status, c.Reason, c.Message, tc.wantStatus, tc.wantReason)
			}
		})
	}
}

func TestMergeViolationsAndCompliance(t *testing.T) {
	allowed := fake.Allow().Decision
	d := mergeViolations(allowed, []policies.Violation{{Code: policies.CodeBudgetExhausted, Message: "over"}})
	if d.Allow || len(d.Violations) != 1 {
		t.Errorf("an operator violation must deny: %+v", d)
	}
	policyDenied := fake.Deny(policies.Violation{Code: policies.CodeBudgetExhausted, Message: "policy says over"}).Decision
	if d := mergeViolations(policyDenied, []policies.Violation{{Code: policies.CodeBudgetExhausted, Message: "operator says over"}}); len(d.Violations) != 1 || d.Violations[0].Message != "policy says over" {
		t.Errorf("the policy's own violation of the same code is kept alone: %+v", d.Violations)
	}
	if c := complianceCondition("v1", allowed, nil); c.Status != metav1.ConditionTrue || c.Reason != raiv1.ReasonCompliant {
		t.Errorf("compliance of an allowed stable version: %+v", c)
	}
	if c := complianceCondition("v1", policyDenied, nil); c.Status != metav1.ConditionFalse || c.Reason != raiv1.ReasonNonCompliant {
		t.Errorf("compliance of a denied stable version: %+v", c)
	}
	// Altered evidence is never compliant, whatever the policy made of the
	// rest.
	tampered := []tamperedEvidence{{Kind: "fairness", Message: "ConfigMap x is gone"}}
	if c := complianceCondition("v1", allowed, tampered); c.Status != metav1.ConditionFalse || c.Reason != raiv1.ReasonEvidenceTampered || !strings.Contains(c.Message, "ConfigMap x is gone") {
		t.Errorf("compliance with tampered evidence: %+v", c)
	}
}

var testNow = metav1.Now().Time

func TestNoCandidatePolicyCondition(t *testing.T) {
	cases := []struct {
		name   string
		status raiv1.ResponsibleModelStatus
		// wantReason is PolicyAllowed's reason.
		wantReason string
	}{
		{"the stable version's own decision", raiv1.ResponsibleModelStatus{StableVersion: "v2", StableModelSHA256: sha(2), LastDecision: decisionOf(true, raiv1.EnforcementEnforce)}, raiv1.ReasonPolicyAllowed},
		{"an abandoned candidate's denial", raiv1.ResponsibleModelStatus{StableVersion: "v1", LastDecision: decisionOf(false, raiv1.EnforcementEnforce, "X")}, raiv1.ReasonNoCandidate},
		{"no decision at all", raiv1.ResponsibleModelStatus{StableVersion: "v1"}, raiv1.ReasonNoCandidate},
		{"a decision on another artifact of the stable version's name", raiv1.ResponsibleModelStatus{StableVersion: "v2", StableModelSHA256: sha(9), LastDecision: decisionOf(true, raiv1.EnforcementEnforce)}, raiv1.ReasonNoCandidate},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if c := noCandidatePolicyCondition(&tc.status); c.Reason != tc.wantReason {
				t.Errorf("PolicyAllowed = %s (%s), want %s", c.Reason, c.Message, tc.wantReason)
			}
		})
	}
}

// TestApprovesOnlyThisCandidacy: an approval counts for the decision it
// names, and only when given during the current candidacy — a version that
// comes back with the same decision ID needs a person again.
func TestApprovesOnlyThisCandidacy(t *testing.T) {
	since := metav1.NewTime(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	obj := &raiv1.ResponsibleModel{ObjectMeta: metav1.ObjectMeta{Name: "m"}, Status: raiv1.ResponsibleModelStatus{CandidateSince: &since}}
	d := &raiv1.DecisionStatus{ID: "d1", Version: "v1", ModelSHA256: sha(1)}
	approval := func(at time.Time, id string) *raiv1.ModelApproval {
		return &raiv1.ModelApproval{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(at)},
			Spec: raiv1.ModelApprovalSpec{Model: "m", Version: "v1", ModelSHA256: raiv1.SHA256(sha(1)), DecisionID: id}}
	}
	for _, tc := range []struct {
		name string
		a    *raiv1.ModelApproval
		want bool
	}{
		{"during the candidacy", approval(since.Add(time.Minute), "d1"), true},
		{"in the candidacy's first second", approval(since.Time, "d1"), true},
		{"before the candidacy (an earlier one)", approval(since.Add(-time.Hour), "d1"), false},
		{"another decision", approval(since.Add(time.Minute), "d2"), false},
	} {
		if got := approves(tc.a, obj, d); got != tc.want {
			t.Errorf("%s: approves = %t, want %t", tc.name, got, tc.want)
		}
	}
}
