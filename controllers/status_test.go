package controllers

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
	d := &raiv1.DecisionStatus{ID: "abc", Version: "v2", Allowed: allowed, Enforcement: mode, PolicyDigest: "sha256:x"}
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
		{"denied under DryRun", decisionOf(false, raiv1.EnforcementDryRun, "EvaluationFailed"), metav1.ConditionFalse, raiv1.ReasonDryRun, true},
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

func TestPromotedCondition(t *testing.T) {
	unknown := metav1.Condition{Status: metav1.ConditionUnknown, Reason: raiv1.ReasonEvaluationsRunning, Message: "running: fairness"}
	done := metav1.Condition{Status: metav1.ConditionTrue, Reason: raiv1.ReasonEvaluationsSucceeded}
	cases := []struct {
		name      string
		status    raiv1.ResponsibleModelStatus
		evaluated metav1.Condition
		blocked   bool
		// wantStatus and wantReason are Promoted's verdict.
		wantStatus metav1.ConditionStatus
		wantReason string
	}{
		{"stable, no candidate", raiv1.ResponsibleModelStatus{StableVersion: "v1"}, done, false, metav1.ConditionTrue, raiv1.ReasonPromoted},
		{"evaluating", raiv1.ResponsibleModelStatus{StableVersion: "v1", CandidateVersion: "v2"}, unknown, false, metav1.ConditionFalse, raiv1.ReasonEvaluationsRunning},
		{"awaiting decision", raiv1.ResponsibleModelStatus{CandidateVersion: "v2"}, done, false, metav1.ConditionFalse, raiv1.ReasonAwaitingDecision},
		{"decision of an older candidate", raiv1.ResponsibleModelStatus{CandidateVersion: "v3", LastDecision: decisionOf(true, raiv1.EnforcementEnforce)}, done, false, metav1.ConditionFalse, raiv1.ReasonAwaitingDecision},
		{"denied", raiv1.ResponsibleModelStatus{CandidateVersion: "v2", LastDecision: decisionOf(false, raiv1.EnforcementEnforce, "X")}, done, false, metav1.ConditionFalse, raiv1.ReasonPolicyDenied},
		{"allowed", raiv1.ResponsibleModelStatus{CandidateVersion: "v2", LastDecision: decisionOf(true, raiv1.EnforcementEnforce)}, done, false, metav1.ConditionFalse, raiv1.ReasonRollingOut},
		{"rolled back", raiv1.ResponsibleModelStatus{StableVersion: "v1", CandidateVersion: "v2", LastDecision: decisionOf(true, raiv1.EnforcementEnforce)}, done, true, metav1.ConditionFalse, raiv1.ReasonRolledBack},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := promotedCondition(&tc.status, tc.evaluated, tc.blocked)
			if c.Status != tc.wantStatus || c.Reason != tc.wantReason {
				t.Errorf("promotedCondition = %s/%s (%s), want %s/%s", c.Status, c.Reason, c.Message, tc.wantStatus, tc.wantReason)
			}
		})
	}
}

func TestSummarizeReady(t *testing.T) {
	cond := func(typ string, status metav1.ConditionStatus, reason string) metav1.Condition {
		return metav1.Condition{Type: typ, Status: status, Reason: reason, Message: reason}
	}
	cases := []struct {
		name   string
		stable string
		conds  []metav1.Condition
		// wantStatus and wantReason are Ready's verdict.
		wantStatus metav1.ConditionStatus
		wantReason string
	}{
		{"serving", "v1", nil, metav1.ConditionTrue, raiv1.ReasonServing},
		{"degraded wins", "v1", []metav1.Condition{cond(raiv1.ConditionDegraded, metav1.ConditionTrue, raiv1.ReasonGPUUnschedulable)}, metav1.ConditionFalse, raiv1.ReasonGPUUnschedulable},
		{"first version denied", "", []metav1.Condition{cond(raiv1.ConditionPromoted, metav1.ConditionFalse, raiv1.ReasonPolicyDenied)}, metav1.ConditionFalse, raiv1.ReasonPolicyDenied},
		{"first version rolling out", "", []metav1.Condition{cond(raiv1.ConditionPromoted, metav1.ConditionFalse, raiv1.ReasonRollingOut)}, metav1.ConditionUnknown, raiv1.ReasonRollingOut},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := &raiv1.ResponsibleModel{Status: raiv1.ResponsibleModelStatus{StableVersion: tc.stable, Conditions: tc.conds}}
			summarizeReady(obj, testNow)
			c := findCondition(obj, raiv1.ConditionReady)
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
		{"the stable version's own decision", raiv1.ResponsibleModelStatus{StableVersion: "v2", LastDecision: decisionOf(true, raiv1.EnforcementEnforce)}, raiv1.ReasonPolicyAllowed},
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
