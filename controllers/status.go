package controllers

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/report"
	"github.com/responsible-ai/rmodel-operator/policies"
)

// Pure status functions: they decide conditions from what the steps
// recorded, need no client, and are table-tested.

// ownedConditions are the conditions a reconcile always reports, so a
// kubectl user never has to guess whether one is missing or false.
var ownedConditions = []string{
	raiv1.ConditionReady,
	raiv1.ConditionEvaluated,
	raiv1.ConditionPolicyAllowed,
	raiv1.ConditionPromoted,
}

// initConditions sets every owned condition that is absent to Unknown with
// reason Reconciling. Conditions already present keep their status until a
// step decides them again.
func initConditions(obj *raiv1.ResponsibleModel, now time.Time) {
	for _, t := range ownedConditions {
		if meta.FindStatusCondition(obj.Status.Conditions, t) != nil {
			continue
		}
		meta.SetStatusCondition(&obj.Status.Conditions, metav1.Condition{
			Type:               t,
			Status:             metav1.ConditionUnknown,
			Reason:             raiv1.ReasonReconciling,
			Message:            "the operator has not decided this yet",
			ObservedGeneration: obj.Generation,
			LastTransitionTime: metav1.NewTime(now),
		})
	}
}

// setCondition sets c for the object's generation.
func setCondition(obj *raiv1.ResponsibleModel, c metav1.Condition, now time.Time) {
	c.ObservedGeneration = obj.Generation
	c.LastTransitionTime = metav1.NewTime(now)
	c.Message = truncate(c.Message, 32768)
	meta.SetStatusCondition(&obj.Status.Conditions, c)
}

func findCondition(obj *raiv1.ResponsibleModel, t string) *metav1.Condition {
	return meta.FindStatusCondition(obj.Status.Conditions, t)
}

// evaluatedCondition summarizes the evaluations of the requested kinds:
// any Error makes it False (EvaluationFailed), all Succeeded True, else
// Unknown (pending or running).
func evaluatedCondition(kinds []report.Kind, evals []raiv1.EvaluationStatus) metav1.Condition {
	if len(kinds) == 0 {
		return metav1.Condition{Type: raiv1.ConditionEvaluated, Status: metav1.ConditionTrue, Reason: raiv1.ReasonNoEvaluations,
			Message: "the spec requests no evaluations"}
	}
	var failed, running, pending, succeeded []string
	for _, k := range kinds {
		e := findEvaluation(evals, string(k))
		switch {
		case e == nil || e.State == raiv1.EvaluationPending:
			pending = append(pending, string(k))
		case e.State == raiv1.EvaluationRunning:
			running = append(running, string(k))
		case e.State == raiv1.EvaluationError:
			failed = append(failed, fmt.Sprintf("%s: %s: %s", k, e.Reason, e.Message))
		default:
			succeeded = append(succeeded, string(k))
		}
	}
	c := metav1.Condition{Type: raiv1.ConditionEvaluated}
	switch {
	case len(failed) > 0:
		c.Status, c.Reason = metav1.ConditionFalse, raiv1.ReasonEvaluationFailed
		c.Message = "evaluation failed: " + strings.Join(failed, "; ")
	case len(pending)+len(running) == 0:
		c.Status, c.Reason = metav1.ConditionTrue, raiv1.ReasonEvaluationsSucceeded
		c.Message = "every evaluation has a valid report: " + strings.Join(succeeded, ", ")
	case len(running) > 0:
		c.Status, c.Reason = metav1.ConditionUnknown, raiv1.ReasonEvaluationsRunning
		c.Message = fmt.Sprintf("running: %s; pending: %s; done: %s", list(running), list(pending), list(succeeded))
	default:
		c.Status, c.Reason = metav1.ConditionUnknown, raiv1.ReasonEvaluationsPending
		c.Message = fmt.Sprintf("pending: %s; done: %s", list(pending), list(succeeded))
	}
	return c
}

func list(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// hasCode reports whether a decision carries a violation with one of codes.
func hasCode(d *raiv1.DecisionStatus, codes ...string) bool {
	return slices.ContainsFunc(d.Violations, func(v raiv1.Violation) bool { return slices.Contains(codes, v.Code) })
}

// denialReason names why a decision denied: the budget and policy errors
// have their own reasons, everything else is PolicyDenied.
func denialReason(d *raiv1.DecisionStatus) string {
	switch {
	case hasCode(d, CodePolicyNotFound):
		return raiv1.ReasonPolicyNotFound
	case hasCode(d, policies.CodePolicyError, policies.CodePolicyTimeout, policies.CodePolicyUndefined):
		return raiv1.ReasonPolicyError
	case hasCode(d, CodeBudgetNotFound):
		return raiv1.ReasonBudgetNotFound
	case hasCode(d, policies.CodeBudgetExhausted, CodeBudgetUnchargeable):
		return raiv1.ReasonBudgetExhausted
	}
	return raiv1.ReasonPolicyDenied
}

// promotable says whether a decision lets the candidate roll out: allowed,
// or denied under Warn or DryRun unless a blocking code denied it.
func promotable(d *raiv1.DecisionStatus) bool {
	if d == nil {
		return false
	}
	if d.Allowed {
		return true
	}
	if hasCode(d, blockingCodes...) {
		return false
	}
	return d.Enforcement == raiv1.EnforcementWarn || d.Enforcement == raiv1.EnforcementDryRun
}

// policyAllowedCondition states the policy's verdict on the candidate.
func policyAllowedCondition(d *raiv1.DecisionStatus) metav1.Condition {
	c := metav1.Condition{Type: raiv1.ConditionPolicyAllowed}
	if d == nil {
		c.Status, c.Reason, c.Message = metav1.ConditionUnknown, raiv1.ReasonAwaitingDecision, "no decision yet"
		return c
	}
	if d.Allowed {
		c.Status, c.Reason = metav1.ConditionTrue, raiv1.ReasonPolicyAllowed
		c.Message = fmt.Sprintf("policy allowed version %s (decision %s, policy %s)", d.Version, shortID(d.ID), d.PolicyDigest)
		return c
	}
	c.Status, c.Reason = metav1.ConditionFalse, denialReason(d)
	suffix := ""
	if promotable(d) {
		switch d.Enforcement {
		case raiv1.EnforcementWarn:
			c.Reason, suffix = raiv1.ReasonPolicyWarned, " (enforcement Warn: promoted anyway)"
		case raiv1.EnforcementDryRun:
			c.Reason, suffix = raiv1.ReasonDryRun, " (enforcement DryRun: promoted anyway)"
		}
	}
	c.Message = fmt.Sprintf("policy denied version %s (decision %s)%s: %s", d.Version, shortID(d.ID), suffix, violationsMessage(d.Violations))
	return c
}

// violationsMessage joins violations for a condition or event.
func violationsMessage(vs []raiv1.Violation) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.Code + ": " + v.Message
	}
	return strings.Join(parts, "; ")
}

// complianceCondition states whether the stable version passes the current
// policy.
func complianceCondition(version string, d policies.Decision, tampered []tamperedEvidence) metav1.Condition {
	if len(tampered) > 0 {
		parts := make([]string, len(tampered))
		for i, t := range tampered {
			parts[i] = t.Message
		}
		return metav1.Condition{Type: raiv1.ConditionCompliant, Status: metav1.ConditionFalse, Reason: raiv1.ReasonEvidenceTampered,
			Message: fmt.Sprintf("stable version %s cannot be re-checked: the evidence it was promoted on is missing or altered (%s); it keeps serving",
				version, strings.Join(parts, "; "))}
	}
	if d.Allow {
		return metav1.Condition{Type: raiv1.ConditionCompliant, Status: metav1.ConditionTrue, Reason: raiv1.ReasonCompliant,
			Message: fmt.Sprintf("stable version %s passes the current policy (decision %s, policy %s)", version, shortID(d.ID), d.PolicyDigest)}
	}
	vs := make([]raiv1.Violation, len(d.Violations))
	for i, v := range d.Violations {
		vs[i] = raiv1.Violation{Code: v.Code, Message: v.Message}
	}
	return metav1.Condition{Type: raiv1.ConditionCompliant, Status: metav1.ConditionFalse, Reason: raiv1.ReasonNonCompliant,
		Message: fmt.Sprintf("stable version %s no longer passes the current policy (decision %s, policy %s); it keeps serving: %s",
			version, shortID(d.ID), d.PolicyDigest, violationsMessage(vs))}
}

// promotedCondition states where the candidate stands before its rollout;
// the serving step refines it while the candidate rolls out.
func promotedCondition(st *raiv1.ResponsibleModelStatus, evaluated metav1.Condition, blocked bool) metav1.Condition {
	c := metav1.Condition{Type: raiv1.ConditionPromoted, Status: metav1.ConditionFalse}
	candidate := st.CandidateVersion
	keeps := "no version serves yet"
	if st.StableVersion != "" {
		keeps = "version " + st.StableVersion + " keeps serving"
	}
	d := st.LastDecision
	switch {
	case candidate == "" && st.StableVersion != "":
		c.Status, c.Reason, c.Message = metav1.ConditionTrue, raiv1.ReasonPromoted, "version "+st.StableVersion+" serves"
	case candidate == "":
		c.Status, c.Reason, c.Message = metav1.ConditionUnknown, raiv1.ReasonReconciling, "no version yet"
	case blocked:
		c.Reason = raiv1.ReasonRolledBack
		why := ""
		for i := len(st.History) - 1; i >= 0; i-- {
			if h := st.History[i]; h.Version == candidate && h.Action == raiv1.HistoryRolledBack {
				why = ": " + h.Message
				break
			}
		}
		c.Message = fmt.Sprintf("version %s was rolled back%s. Set the %s annotation to a new value, or change the version, to try again", candidate, why, raiv1.AnnotationRetryEvaluations)
	case evaluated.Status == metav1.ConditionUnknown:
		c.Reason = evaluated.Reason
		c.Message = fmt.Sprintf("version %s is being evaluated (%s); %s", candidate, evaluated.Message, keeps)
	case d == nil || d.Version != candidate || d.ModelSHA256 != st.CandidateModelSHA256:
		c.Reason, c.Message = raiv1.ReasonAwaitingDecision, fmt.Sprintf("version %s awaits the policy decision; %s", candidate, keeps)
	case !promotable(d):
		c.Reason = denialReason(d)
		c.Message = fmt.Sprintf("version %s was not promoted; %s: %s", candidate, keeps, violationsMessage(d.Violations))
	default:
		c.Reason, c.Message = raiv1.ReasonRollingOut, fmt.Sprintf("version %s is rolling out; %s", candidate, keeps)
	}
	return c
}

// summarizeReady derives Ready from the other conditions unless a step set
// it explicitly for this generation (suspend does): a degraded model is not
// ready; a stable version that serves is; without one, Ready follows why
// nothing was promoted.
func summarizeReady(obj *raiv1.ResponsibleModel, now time.Time) {
	ready := meta.FindStatusCondition(obj.Status.Conditions, raiv1.ConditionReady)
	if ready != nil && ready.ObservedGeneration == obj.Generation && ready.Reason == raiv1.ReasonSuspended {
		return
	}
	cond := metav1.Condition{Type: raiv1.ConditionReady, ObservedGeneration: obj.Generation, LastTransitionTime: metav1.NewTime(now)}
	promoted := meta.FindStatusCondition(obj.Status.Conditions, raiv1.ConditionPromoted)
	switch degraded := meta.FindStatusCondition(obj.Status.Conditions, raiv1.ConditionDegraded); {
	case degraded != nil && degraded.Status == metav1.ConditionTrue:
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, degraded.Reason, degraded.Message
	case obj.Status.StableVersion != "":
		cond.Status, cond.Reason = metav1.ConditionTrue, raiv1.ReasonServing
		cond.Message = "version " + obj.Status.StableVersion + " is serving"
		if c := obj.Status.CandidateVersion; c != "" && promoted != nil {
			cond.Message += fmt.Sprintf("; candidate %s: %s", c, promoted.Reason)
		}
	case promoted != nil && promoted.Status == metav1.ConditionFalse && !slices.Contains([]string{raiv1.ReasonRollingOut, raiv1.ReasonEvaluationsPending, raiv1.ReasonEvaluationsRunning, raiv1.ReasonAwaitingDecision}, promoted.Reason):
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, promoted.Reason, promoted.Message
	default:
		cond.Status, cond.Reason = metav1.ConditionUnknown, raiv1.ReasonReconciling
		cond.Message = "no version has been promoted yet"
		if promoted != nil {
			cond.Reason, cond.Message = promoted.Reason, promoted.Message
		}
	}
	meta.SetStatusCondition(&obj.Status.Conditions, cond)
}

// noCandidatePolicyCondition states PolicyAllowed when spec.version serves:
// the decision that promoted it, or Unknown when the last decision was about
// a candidate the spec has since abandoned.
func noCandidatePolicyCondition(st *raiv1.ResponsibleModelStatus) metav1.Condition {
	if d := st.LastDecision; d != nil && d.Version == st.StableVersion && d.ModelSHA256 == st.StableModelSHA256 {
		return policyAllowedCondition(d)
	}
	return metav1.Condition{Type: raiv1.ConditionPolicyAllowed, Status: metav1.ConditionUnknown, Reason: raiv1.ReasonNoCandidate,
		Message: "no candidate is waiting for a decision; Compliant says whether the stable version passes the current policy"}
}
