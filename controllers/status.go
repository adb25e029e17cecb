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
	raiv1.ConditionReconciling,
	raiv1.ConditionStalled,
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
	var failed, running, pending, succeeded, queued []string
	for _, k := range kinds {
		e := findEvaluation(evals, string(k))
		switch {
		case e != nil && e.State == raiv1.EvaluationPending && e.Reason == raiv1.ReasonQueued:
			pending = append(pending, string(k))
			queued = append(queued, fmt.Sprintf("%s (%s)", k, e.Message))
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
	case len(queued) > 0:
		// Kueue holds the Jobs until their queue has quota: nothing is
		// wrong, the evaluations wait their turn.
		c.Status, c.Reason = metav1.ConditionUnknown, raiv1.ReasonEvaluationsQueued
		c.Message = fmt.Sprintf("queued: %s; pending: %s; done: %s", strings.Join(queued, ", "), list(pending), list(succeeded))
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
	case hasCode(d, policies.CodePolicyError, policies.CodePolicyTimeout, policies.CodePolicyUndefined, CodePolicyRefused):
		return raiv1.ReasonPolicyError
	case hasCode(d, CodeBudgetNotFound):
		return raiv1.ReasonBudgetNotFound
	case hasCode(d, policies.CodeBudgetExhausted, CodeBudgetUnchargeable):
		return raiv1.ReasonBudgetExhausted
	}
	return raiv1.ReasonPolicyDenied
}

// inconclusive: the policy found no violation, only findings the evidence
// cannot settle; a person approves or rejects the version.
func inconclusive(d *raiv1.DecisionStatus) bool {
	return d != nil && !d.Allowed && len(d.Violations) == 0 && len(d.Inconclusive) > 0
}

// promotable says whether a decision lets the candidate roll out: allowed,
// or denied under Warn unless a blocking code denied it. DryRun records the
// decision and never promotes.
func promotable(d *raiv1.DecisionStatus) bool {
	switch {
	case d == nil, d.Enforcement == raiv1.EnforcementDryRun:
		return false
	case d.Allowed:
		return true
	case hasCode(d, blockingCodes...):
		return false
	}
	return d.Enforcement == raiv1.EnforcementWarn
}

// enforcementNote says, for messages, that the spec's mode was not allowed.
func enforcementNote(d *raiv1.DecisionStatus) string {
	if d.RequestedEnforcement == "" || d.RequestedEnforcement == d.Enforcement {
		return ""
	}
	return fmt.Sprintf(" (spec.policy.enforcement %s is not allowed by the PromotionPolicies; %s applies)", d.RequestedEnforcement, d.Enforcement)
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
		c.Message = fmt.Sprintf("policy allowed version %s (decision %s, policy %s)%s", d.Version, shortID(d.ID), d.PolicyDigest, enforcementNote(d))
		if d.Enforcement == raiv1.EnforcementDryRun {
			c.Message += " (enforcement DryRun: recorded, never promoted)"
		}
		return c
	}
	if inconclusive(d) {
		c.Status, c.Reason = metav1.ConditionFalse, raiv1.ReasonPolicyInconclusive
		c.Message = fmt.Sprintf("policy found version %s inconclusive (decision %s)%s: %s", d.Version, shortID(d.ID), enforcementNote(d), violationsMessage(d.Inconclusive))
		switch d.Enforcement {
		case raiv1.EnforcementEnforce:
			c.Message += "; a person with the approve verb approves or rejects it"
		case raiv1.EnforcementWarn:
			c.Message += " (enforcement Warn: promoted anyway)"
		case raiv1.EnforcementDryRun:
			c.Message += " (enforcement DryRun: recorded, never promoted)"
		}
		return c
	}
	c.Status, c.Reason = metav1.ConditionFalse, denialReason(d)
	suffix := enforcementNote(d)
	switch {
	case promotable(d) && d.Enforcement == raiv1.EnforcementWarn:
		c.Reason, suffix = raiv1.ReasonPolicyWarned, suffix+" (enforcement Warn: promoted anyway)"
	case d.Enforcement == raiv1.EnforcementDryRun && !hasCode(d, blockingCodes...):
		c.Reason, suffix = raiv1.ReasonDryRun, suffix+" (enforcement DryRun: recorded, never promoted)"
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
	if len(d.Violations) == 0 && len(d.Inconclusive) > 0 {
		return metav1.Condition{Type: raiv1.ConditionCompliant, Status: metav1.ConditionUnknown, Reason: raiv1.ReasonPolicyInconclusive,
			Message: fmt.Sprintf("the current policy cannot settle whether stable version %s passes (decision %s, policy %s); it keeps serving: %s",
				version, shortID(d.ID), d.PolicyDigest, violationsMessage(toViolations(d.Inconclusive)))}
	}
	return metav1.Condition{Type: raiv1.ConditionCompliant, Status: metav1.ConditionFalse, Reason: raiv1.ReasonNonCompliant,
		Message: fmt.Sprintf("stable version %s no longer passes the current policy (decision %s, policy %s); it keeps serving: %s",
			version, shortID(d.ID), d.PolicyDigest, violationsMessage(toViolations(d.Violations)))}
}

// toViolations converts the engine's violations for status.
func toViolations(in []policies.Violation) []raiv1.Violation {
	out := make([]raiv1.Violation, len(in))
	for i, v := range in {
		out[i] = raiv1.Violation{Code: v.Code, Message: v.Message}
	}
	return out
}

// verdictFacts are what the steps of one reconcile observed and did, for
// the verdict functions. Everything else they read is the model's status.
type verdictFacts struct {
	// Kinds are the evaluation kinds the spec requests.
	Kinds []report.Kind
	// Suspended: spec.suspend stops the steps; only Ready says so.
	Suspended bool
	// Blocked: the candidate was rolled back and may not roll out again.
	Blocked bool
	// EvaluationsDone: every requested evaluation of the candidate is
	// Succeeded or Error.
	EvaluationsDone bool
	// Promotable: the decision lets the candidate roll out.
	Promotable bool
	// AwaitingApproval says what a person must approve before the
	// candidate rolls out; Rejected is the approver's rejection.
	AwaitingApproval, Rejected string
	// Rollout is where the candidate's rollout stands, when it rolls out.
	Rollout *rolloutObservation
	// Promoted: the candidate became stable; PromotedMessage says how.
	Promoted        bool
	PromotedMessage string
	// RolledBack is the rollback's message when the candidate was rolled
	// back in this reconcile.
	RolledBack string
	// Compliance is the re-check of the stable version; nil without one.
	Compliance *complianceFacts
	// InvalidSpec is why the spec cannot be acted on (the API server
	// refused what it describes); nil when it can.
	InvalidSpec *stalledError
}

// rolloutObservation is a candidate rollout's phase and message.
type rolloutObservation struct {
	Phase   rolloutPhase
	Message string
}

// complianceFacts are the stable version's re-check.
type complianceFacts struct {
	Decision policies.Decision
	Tampered []tamperedEvidence
}

// decideConditions sets every condition from the facts and the status: the
// one place where a condition is decided. Pure.
func decideConditions(obj *raiv1.ResponsibleModel, f verdictFacts, now time.Time) {
	set := func(c metav1.Condition) { setCondition(obj, c, now) }
	st := &obj.Status
	if f.Suspended {
		set(metav1.Condition{Type: raiv1.ConditionReady, Status: metav1.ConditionFalse, Reason: raiv1.ReasonSuspended,
			Message: "reconciliation is suspended (spec.suspend=true); what serves keeps serving"})
		return
	}
	evaluated := evaluatedVerdict(st, f)
	set(evaluated)
	set(policyVerdict(st, f))
	set(promotedVerdict(st, f, evaluated))
	set(degradedVerdict(st, f))
	if f.Compliance != nil {
		c := complianceCondition(st.StableVersion, f.Compliance.Decision, f.Compliance.Tampered)
		if m := monitoringCompliance(st); m != nil && c.Status == metav1.ConditionTrue {
			c = *m
		}
		set(c)
	}
	set(reconcilingVerdict(st, f, evaluated))
	set(stalledVerdict(obj, f))
	set(readyVerdict(obj.Status.Conditions, st))
}

// candidateActive: a candidate is being judged or rolled out (it is not
// blocked after a rollback).
func candidateActive(st *raiv1.ResponsibleModelStatus, f verdictFacts) bool {
	return st.CandidateVersion != "" && !f.Blocked
}

// evaluatedVerdict: the candidate's evaluations, or, without a candidate,
// those the stable version was promoted on.
func evaluatedVerdict(st *raiv1.ResponsibleModelStatus, f verdictFacts) metav1.Condition {
	if st.CandidateVersion != "" {
		return evaluatedCondition(f.Kinds, st.Evaluations)
	}
	if st.StableVersion == "" {
		return metav1.Condition{Type: raiv1.ConditionEvaluated, Status: metav1.ConditionUnknown, Reason: raiv1.ReasonReconciling, Message: "no version yet"}
	}
	var failed, kinds []string
	for _, e := range st.StableEvidence {
		kinds = append(kinds, e.Kind)
		if e.State != raiv1.EvaluationSucceeded {
			failed = append(failed, e.Kind)
		}
	}
	switch {
	case len(failed) > 0:
		return metav1.Condition{Type: raiv1.ConditionEvaluated, Status: metav1.ConditionFalse, Reason: raiv1.ReasonEvaluationFailed,
			Message: fmt.Sprintf("stable version %s was promoted with failed evaluations: %s", st.StableVersion, strings.Join(failed, ", "))}
	case len(kinds) == 0:
		return metav1.Condition{Type: raiv1.ConditionEvaluated, Status: metav1.ConditionTrue, Reason: raiv1.ReasonNoEvaluations,
			Message: fmt.Sprintf("stable version %s was promoted without evaluations", st.StableVersion)}
	}
	return metav1.Condition{Type: raiv1.ConditionEvaluated, Status: metav1.ConditionTrue, Reason: raiv1.ReasonEvaluationsSucceeded,
		Message: fmt.Sprintf("stable version %s was promoted on valid reports: %s", st.StableVersion, strings.Join(kinds, ", "))}
}

// policyVerdict: the decision on the candidate once its evaluations are
// done; without a candidate, the decision that promoted the stable version.
func policyVerdict(st *raiv1.ResponsibleModelStatus, f verdictFacts) metav1.Condition {
	switch {
	case st.CandidateVersion == "":
		return noCandidatePolicyCondition(st)
	case !decidedOnCandidate(st):
		return metav1.Condition{Type: raiv1.ConditionPolicyAllowed, Status: metav1.ConditionUnknown, Reason: raiv1.ReasonAwaitingDecision,
			Message: fmt.Sprintf("version %s awaits its evaluations; the policy decides when they finish", st.CandidateVersion)}
	case candidateActive(st, f) && !f.EvaluationsDone:
		return metav1.Condition{Type: raiv1.ConditionPolicyAllowed, Status: metav1.ConditionUnknown, Reason: raiv1.ReasonAwaitingDecision,
			Message: fmt.Sprintf("version %s is evaluated again; the policy decides when its evaluations finish", st.CandidateVersion)}
	}
	return policyAllowedCondition(st.LastDecision)
}

// decidedOnCandidate: the last decision is about the candidate's version and
// artifact.
func decidedOnCandidate(st *raiv1.ResponsibleModelStatus) bool {
	d := st.LastDecision
	return d != nil && st.CandidateVersion != "" && d.Version == st.CandidateVersion && d.ModelSHA256 == st.CandidateModelSHA256
}

// keepsServing says what serves while the candidate does not.
func keepsServing(st *raiv1.ResponsibleModelStatus) string {
	if st.StableVersion == "" {
		return "no version serves yet"
	}
	return "version " + st.StableVersion + " keeps serving"
}

// promotedVerdict: whether the candidate became stable, and if not, where it
// stands.
func promotedVerdict(st *raiv1.ResponsibleModelStatus, f verdictFacts, evaluated metav1.Condition) metav1.Condition {
	c := metav1.Condition{Type: raiv1.ConditionPromoted, Status: metav1.ConditionFalse}
	candidate := st.CandidateVersion
	switch {
	case f.Promoted:
		c.Status, c.Reason, c.Message = metav1.ConditionTrue, raiv1.ReasonPromoted, f.PromotedMessage
	case candidate == "" && st.StableVersion != "":
		c.Status, c.Reason, c.Message = metav1.ConditionTrue, raiv1.ReasonPromoted, "version "+st.StableVersion+" serves"
	case candidate == "":
		c.Status, c.Reason, c.Message = metav1.ConditionUnknown, raiv1.ReasonReconciling, "no version yet"
	case f.RolledBack != "":
		c.Reason, c.Message = raiv1.ReasonRolledBack, f.RolledBack
	case f.Blocked:
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
		c.Message = fmt.Sprintf("version %s is being evaluated (%s); %s", candidate, evaluated.Message, keepsServing(st))
	case !decidedOnCandidate(st):
		c.Reason, c.Message = raiv1.ReasonAwaitingDecision, fmt.Sprintf("version %s awaits the policy decision; %s", candidate, keepsServing(st))
	case f.AwaitingApproval != "":
		c.Reason, c.Message = raiv1.ReasonAwaitingApproval, f.AwaitingApproval+"; "+keepsServing(st)
	case f.Rejected != "":
		c.Reason, c.Message = raiv1.ReasonApprovalRejected, f.Rejected+"; "+keepsServing(st)
	case !f.Promotable && st.LastDecision.Enforcement == raiv1.EnforcementDryRun:
		c.Reason = raiv1.ReasonDryRun
		c.Message = fmt.Sprintf("enforcement DryRun records the decision on version %s (allowed: %t) and never promotes; %s", candidate, st.LastDecision.Allowed, keepsServing(st))
	case !f.Promotable:
		c.Reason = denialReason(st.LastDecision)
		if evaluated.Status == metav1.ConditionFalse {
			c.Reason = raiv1.ReasonEvaluationFailed
		}
		c.Message = fmt.Sprintf("version %s was not promoted; %s: %s", candidate, keepsServing(st), violationsMessage(st.LastDecision.Violations))
	case f.Rollout != nil && f.Rollout.Phase == rolloutUnschedulable:
		c.Reason = raiv1.ReasonGPUUnschedulable
		c.Message = fmt.Sprintf("version %s cannot roll out: %s; %s", candidate, f.Rollout.Message, keepsServing(st))
	case f.Rollout != nil:
		c.Reason, c.Message = raiv1.ReasonRollingOut, fmt.Sprintf("version %s is rolling out: %s", candidate, f.Rollout.Message)
	default:
		c.Reason, c.Message = raiv1.ReasonRollingOut, fmt.Sprintf("version %s is rolling out; %s", candidate, keepsServing(st))
	}
	return c
}

// degradedVerdict: serving is impaired when a rollback happened (or the
// candidate stays rolled back) or the candidate's pods cannot be placed.
func degradedVerdict(st *raiv1.ResponsibleModelStatus, f verdictFacts) metav1.Condition {
	c := metav1.Condition{Type: raiv1.ConditionDegraded, Status: metav1.ConditionFalse, Reason: raiv1.ReasonServing, Message: "serving is not impaired"}
	if st.StableVersion == "" && st.Serving == nil {
		c.Reason, c.Message = raiv1.ReasonNotServing, "no version serves yet"
	}
	switch {
	case f.RolledBack != "":
		c.Status, c.Reason, c.Message = metav1.ConditionTrue, raiv1.ReasonRolledBack, f.RolledBack
	case f.Blocked:
		c.Status, c.Reason = metav1.ConditionTrue, raiv1.ReasonRolledBack
		c.Message = fmt.Sprintf("version %s was rolled back; %s", st.CandidateVersion, keepsServing(st))
	case f.Rollout != nil && f.Rollout.Phase == rolloutUnschedulable:
		c.Status, c.Reason, c.Message = metav1.ConditionTrue, raiv1.ReasonGPUUnschedulable, f.Rollout.Message
	}
	return c
}

// reconcilingVerdict is True while the operator makes progress without a
// human: the candidate's evaluations run or it rolls out (kstatus reads
// InProgress).
func reconcilingVerdict(st *raiv1.ResponsibleModelStatus, f verdictFacts, evaluated metav1.Condition) metav1.Condition {
	c := metav1.Condition{Type: raiv1.ConditionReconciling, Status: metav1.ConditionFalse, Reason: raiv1.ReasonReconciled,
		Message: "nothing is in progress"}
	switch {
	case !candidateActive(st, f) || f.Promoted || f.RolledBack != "" || f.InvalidSpec != nil:
	case evaluated.Status == metav1.ConditionUnknown:
		c.Status, c.Reason = metav1.ConditionTrue, evaluated.Reason
		c.Message = fmt.Sprintf("version %s is being evaluated: %s", st.CandidateVersion, evaluated.Message)
	case f.Promotable && f.Rollout != nil:
		c.Status, c.Reason = metav1.ConditionTrue, raiv1.ReasonRollingOut
		c.Message = fmt.Sprintf("version %s is rolling out: %s", st.CandidateVersion, f.Rollout.Message)
	}
	return c
}

// stalledVerdict is True when nothing changes without a human: the spec
// cannot be acted on, the candidate was denied (an evaluation Error
// included) or rolled back (kstatus reads Failed, with this message).
func stalledVerdict(obj *raiv1.ResponsibleModel, f verdictFacts) metav1.Condition {
	st := &obj.Status
	c := metav1.Condition{Type: raiv1.ConditionStalled, Status: metav1.ConditionFalse, Reason: raiv1.ReasonReconciled,
		Message: "the operator can make progress"}
	candidate := st.CandidateVersion
	switch {
	case f.InvalidSpec != nil:
		c.Status, c.Reason, c.Message = metav1.ConditionTrue, f.InvalidSpec.Reason, f.InvalidSpec.Message
	case candidate == "" || f.Promoted:
	case f.RolledBack != "":
		c.Status, c.Reason, c.Message = metav1.ConditionTrue, raiv1.ReasonRolledBack, f.RolledBack
	case f.Blocked:
		c.Status, c.Reason = metav1.ConditionTrue, raiv1.ReasonRolledBack
		c.Message = promotedVerdict(st, f, metav1.Condition{}).Message
	case f.AwaitingApproval != "":
		// A person decides next: kstatus reads InProgress (Ready is not
		// True), not Failed.
	case f.Rejected != "":
		c.Status, c.Reason, c.Message = metav1.ConditionTrue, raiv1.ReasonApprovalRejected, f.Rejected+"; "+keepsServing(st)
	case f.EvaluationsDone && decidedOnCandidate(st) && !f.Promotable && st.LastDecision.Enforcement == raiv1.EnforcementDryRun:
		c.Status, c.Reason = metav1.ConditionTrue, raiv1.ReasonDryRun
		c.Message = fmt.Sprintf("enforcement DryRun records the decision on version %s (allowed: %t) and never promotes; %s. Change spec.policy.enforcement to promote: %s",
			candidate, st.LastDecision.Allowed, keepsServing(st), violationsMessage(st.LastDecision.Violations))
	case f.EvaluationsDone && decidedOnCandidate(st) && !f.Promotable:
		c.Status, c.Reason = metav1.ConditionTrue, denialReason(st.LastDecision)
		if e := findCondition(obj, raiv1.ConditionEvaluated); e != nil && e.Status == metav1.ConditionFalse {
			c.Reason = raiv1.ReasonEvaluationFailed
		}
		c.Message = fmt.Sprintf("version %s (sha256 %s) was denied; %s. Change the version or the policy, or set the %s annotation to a new value to evaluate again: %s",
			candidate, shortDigest(st.CandidateModelSHA256), keepsServing(st), raiv1.AnnotationRetryEvaluations, violationsMessage(st.LastDecision.Violations))
	}
	return c
}

// readyFrom declares what Ready summarizes, in order: the first condition
// that is in its abnormal state decides Ready, with that condition's reason
// and message. Stalled, Degraded and Reconciling are negative-polarity
// (True is abnormal); Promoted is positive (anything but True is).
var readyFrom = []struct {
	Type     string
	Negative bool
	// Ready is Ready's status when this condition decides it.
	Ready metav1.ConditionStatus
}{
	{raiv1.ConditionStalled, true, metav1.ConditionFalse},
	{raiv1.ConditionDegraded, true, metav1.ConditionFalse},
	{raiv1.ConditionReconciling, true, metav1.ConditionUnknown},
	{raiv1.ConditionPromoted, false, metav1.ConditionUnknown},
}

// readyVerdict is True when the spec's version and artifact serve and
// nothing is abnormal. Pure.
func readyVerdict(conds []metav1.Condition, st *raiv1.ResponsibleModelStatus) metav1.Condition {
	for _, r := range readyFrom {
		c := meta.FindStatusCondition(conds, r.Type)
		if c == nil {
			continue
		}
		if abnormal := (c.Status == metav1.ConditionTrue) == r.Negative; abnormal {
			return metav1.Condition{Type: raiv1.ConditionReady, Status: r.Ready, Reason: c.Reason, Message: c.Message}
		}
	}
	return metav1.Condition{Type: raiv1.ConditionReady, Status: metav1.ConditionTrue, Reason: raiv1.ReasonServing,
		Message: fmt.Sprintf("version %s (sha256 %s) is serving", st.StableVersion, shortDigest(st.StableModelSHA256))}
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
