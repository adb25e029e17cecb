package v1alpha1

// Condition types of a ResponsibleModel.
const (
	// ConditionReady is True when the spec's version and artifact serve
	// and nothing is abnormal. It summarizes, in this order, Stalled
	// (False), Degraded (False), Reconciling (Unknown) and Promoted.
	ConditionReady = "Ready"
	// ConditionEvaluated is True when every requested evaluation of the
	// candidate has a valid report.
	ConditionEvaluated = "Evaluated"
	// ConditionPolicyAllowed is True when the policy allowed the candidate.
	ConditionPolicyAllowed = "PolicyAllowed"
	// ConditionPromoted is True when the candidate became stable.
	ConditionPromoted = "Promoted"
	// ConditionCompliant is False when the stable version no longer passes
	// the current policy. The operator does not tear it down.
	ConditionCompliant = "Compliant"
	// ConditionDegraded is True when serving is impaired (unschedulable
	// pods, rollback).
	ConditionDegraded = "Degraded"
	// ConditionReconciling is True while the operator makes progress on
	// its own: the candidate's evaluations run or it rolls out (kstatus:
	// InProgress). Abnormal-true: False otherwise.
	ConditionReconciling = "Reconciling"
	// ConditionStalled is True when nothing changes without a human: the
	// candidate was denied (an evaluation Error included) or rolled back,
	// or the spec cannot be acted on (kstatus: Failed, with this message).
	// Abnormal-true: False otherwise.
	ConditionStalled = "Stalled"
)

// Condition types of a PrivacyBudget.
const (
	// ConditionExhausted is True when nothing remains of the budget.
	ConditionExhausted = "Exhausted"
)

// Condition reasons.
const (
	ReasonReconciling        = "Reconciling"
	ReasonSuspended          = "Suspended"
	ReasonEvaluationsPending = "EvaluationsPending"
	ReasonEvaluationsRunning = "EvaluationsRunning"
	// ReasonEvaluationsQueued: no evaluation runs and at least one waits
	// for Kueue to admit its Job (spec.evaluations.job.queueName).
	ReasonEvaluationsQueued    = "EvaluationsQueued"
	ReasonEvaluationsSucceeded = "EvaluationsSucceeded"
	ReasonEvaluationFailed     = "EvaluationFailed"
	ReasonNoEvaluations        = "NoEvaluations"
	ReasonPolicyAllowed        = "PolicyAllowed"
	ReasonPolicyDenied         = "PolicyDenied"
	ReasonPolicyError          = "PolicyError"
	ReasonPolicyWarned         = "PolicyWarned"
	ReasonDryRun               = "DryRun"
	ReasonBudgetExhausted      = "BudgetExhausted"
	ReasonBudgetNotFound       = "BudgetNotFound"
	ReasonAwaitingDecision     = "AwaitingDecision"
	ReasonRollingOut           = "RollingOut"
	ReasonPromoted             = "Promoted"
	ReasonServing              = "Serving"
	ReasonNotServing           = "NotServing"
	ReasonGPUUnschedulable     = "GPUUnschedulable"
	ReasonRolledBack           = "RolledBack"
	ReasonCompliant            = "Compliant"
	ReasonNonCompliant         = "NonCompliant"
	ReasonInvalidSpec          = "InvalidSpec"
	ReasonWithinBudget         = "WithinBudget"
	ReasonPolicyNotFound       = "PolicyNotFound"
	ReasonNoCandidate          = "NoCandidate"
	// ReasonAwaitingApproval: the policy allowed the candidate and a
	// PromotionPolicy requires a person to approve it.
	ReasonAwaitingApproval = "AwaitingApproval"
	// ReasonApprovalRejected: an approver rejected the candidate.
	ReasonApprovalRejected = "ApprovalRejected"
	// ReasonDriftDetected: live monitoring found the stable version's
	// traffic drifted from its evaluation data (the feature and statistic
	// are named); ReasonLiveFairnessViolated: its live outcomes are unfair;
	// ReasonMonitoringViolated: another monitoring rule.
	ReasonDriftDetected        = "DriftDetected"
	ReasonLiveFairnessViolated = "LiveFairnessViolated"
	ReasonMonitoringViolated   = "MonitoringViolated"
	// ReasonPolicyInconclusive: the policy found no violation but findings
	// the evidence cannot settle; a person approves or rejects.
	ReasonPolicyInconclusive = "PolicyInconclusive"
	// ReasonEvidenceReused: an evaluation of a version that was promoted
	// before, with the same inputs, reads the evidence recorded then (a
	// rollback) instead of running again.
	ReasonEvidenceReused = "EvidenceReused"
	// ReasonApproved and ReasonOverridden name, on a promotion's history
	// entry and decision record, that a person approved it, or promoted a
	// denied version past the policy (break-glass).
	ReasonApproved   = "Approved"
	ReasonOverridden = "Overridden"
	// ReasonReconciled: Reconciling or Stalled is False.
	ReasonReconciled = "Reconciled"
)

// ReasonQueued is the reason of a Pending evaluation whose Job waits,
// suspended, for Kueue to admit it.
const ReasonQueued = "Queued"

// Reasons of an evaluation in state Error (status.evaluations[].reason).
const (
	// ReasonJobFailed: the evaluation Job failed (its pods exhausted the
	// backoff limit). The message quotes the evaluator's error when the pod
	// left one.
	ReasonJobFailed = "JobFailed"
	// ReasonDeadlineExceeded: the Job ran past activeDeadlineSeconds.
	ReasonDeadlineExceeded = "DeadlineExceeded"
	// ReasonJobDeleted: the Job recorded for the evaluation is gone. It is
	// not recreated until the retry annotation changes.
	ReasonJobDeleted = "JobDeleted"
	// ReasonReportMissing: the Job completed but its pod left no report in
	// its termination message.
	ReasonReportMissing = "ReportMissing"
	// ReasonReportInvalid: the report does not follow the schema; the
	// message names each offending field.
	ReasonReportInvalid = "ReportInvalid"
	// ReasonReportMismatch: the report is of another kind, model, version,
	// model digest or data set digest than the Job evaluated, or it does
	// not name the model and data set digests.
	ReasonReportMismatch = "ReportMismatch"
	// ReasonEvaluatorError: the evaluator ran and reported state Error.
	ReasonEvaluatorError = "EvaluatorError"
	// ReasonReportUntrusted: the report did not come from a pod that the
	// evaluation Job the operator created controls, running that Job's own
	// pod template (a pod that only carries the Job's name label, say), or
	// the Job is not the one the operator created. The report is ignored.
	ReasonReportUntrusted = "ReportUntrusted"
	// ReasonEvidenceTampered: a stored report is missing, or its digest is
	// not the one the operator recorded when it read the report from the
	// Job's pod. It never counts as a pass.
	ReasonEvidenceTampered = "EvidenceTampered"
)

// Annotations understood by the operator.
const (
	// AnnotationRetryEvaluations, set to any new value, deletes the
	// candidate's failed evaluation Jobs and runs them again.
	AnnotationRetryEvaluations = "rai.responsible-ai.dev/retry-evaluations"
	// AnnotationSpecChangedBy names the user who last changed the model's
	// spec. Admission writes it (config/admission/spec_changed_by.yaml) and
	// refuses any other value; a PromotionPolicy with
	// requireIndependentApprover does not count that user's approval.
	AnnotationSpecChangedBy = "rai.responsible-ai.dev/spec-changed-by"
)

// Labels the operator puts on what it creates.
const (
	LabelModel          = "rai.responsible-ai.dev/model"
	LabelVersion        = "rai.responsible-ai.dev/version"
	LabelEvaluationKind = "rai.responsible-ai.dev/evaluation"
	LabelComponent      = "app.kubernetes.io/component"
	LabelManagedBy      = "app.kubernetes.io/managed-by"
)
