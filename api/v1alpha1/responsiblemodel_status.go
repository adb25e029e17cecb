package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MaxHistory bounds status.history; older entries are dropped first.
const MaxHistory = 20

// ResponsibleModelStatus is what the operator observed and decided.
type ResponsibleModelStatus struct {
	// ObservedGeneration is the generation of the spec that the status
	// describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready, Evaluated, PolicyAllowed, Promoted, Compliant and
	// Degraded. Each carries a CamelCase reason and a message for humans.
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`

	// StableVersion is the version that serves traffic.
	// +optional
	StableVersion string `json:"stableVersion,omitempty"`

	// StableModelSHA256 is the model digest of the stable version: with
	// StableVersion, the identity of what serves. A version name with
	// another digest is a new candidate that goes through the whole gate.
	// +optional
	StableModelSHA256 string `json:"stableModelSHA256,omitempty"`

	// StableEvidence records the evidence the stable version was promoted
	// on: one entry per requested evaluation, with the digest of the report
	// the operator read from the evaluation Job's own pod. The compliance
	// re-check and the model card read only evidence that still matches.
	// +listType=map
	// +listMapKey=kind
	// +optional
	StableEvidence []EvidenceRecord `json:"stableEvidence,omitempty"`

	// StableModelURI is the model URI of the stable version: a rollback and
	// a serving change while a candidate is judged run it again.
	// +optional
	StableModelURI string `json:"stableModelURI,omitempty"`

	// StableTextModel is the task, tokenizer, labels and length the stable
	// text model was promoted with; it serves with them whatever the spec
	// says until another candidate is promoted. A spec whose text
	// configuration differs from it is a new candidate.
	// +optional
	StableTextModel *TextModelConfig `json:"stableTextModel,omitempty"`

	// CandidateVersion is the version under evaluation or rollout; empty
	// when spec.version is the stable version.
	// +optional
	CandidateVersion string `json:"candidateVersion,omitempty"`

	// CandidateModelSHA256 is the model digest of the candidate; with
	// CandidateVersion, the identity of what is judged.
	// +optional
	CandidateModelSHA256 string `json:"candidateModelSHA256,omitempty"`

	// CandidateSince is when the current candidate was first seen; the time
	// from it to the first decision is a metric.
	// +optional
	CandidateSince *metav1.Time `json:"candidateSince,omitempty"`

	// FailedVersion is a candidate whose rollout was rolled back. It is not
	// rolled out again until the spec names another version or model
	// digest, or the retry annotation changes.
	// +optional
	FailedVersion string `json:"failedVersion,omitempty"`

	// FailedModelSHA256 is the model digest of FailedVersion.
	// +optional
	FailedModelSHA256 string `json:"failedModelSHA256,omitempty"`

	// ObservedRetry is the value of the retry-evaluations annotation that
	// the operator last acted on.
	// +optional
	ObservedRetry string `json:"observedRetry,omitempty"`

	// PreviousVersion is the version that served before the stable one;
	// a failed rollout returns to it.
	// +optional
	PreviousVersion string `json:"previousVersion,omitempty"`

	// Evaluations summarize the candidate's (or, when there is none, the
	// stable version's) evaluations. The full reports live in the ConfigMap
	// each entry references.
	// +listType=map
	// +listMapKey=kind
	// +optional
	Evaluations []EvaluationStatus `json:"evaluations,omitempty"`

	// LastDecision is the policy's most recent decision on the candidate.
	// +optional
	LastDecision *DecisionStatus `json:"lastDecision,omitempty"`

	// Serving describes the serving Deployment.
	// +optional
	Serving *ServingStatus `json:"serving,omitempty"`

	// Monitoring is the last read of the stable version's live traffic.
	// +optional
	Monitoring *MonitoringStatus `json:"monitoring,omitempty"`

	// ModelCardRef names the ConfigMap holding the stable version's model
	// card (Markdown, key model-card.md).
	// +optional
	ModelCardRef *LocalObjectReference `json:"modelCardRef,omitempty"`

	// DecisionChain is the head of the model's chain of DecisionRecords.
	// +optional
	DecisionChain *DecisionChainHead `json:"decisionChain,omitempty"`

	// History records promotions, denials and rollbacks, newest last, at
	// most 20 entries (the DecisionRecords keep all of them).
	// +kubebuilder:validation:MaxItems=20
	// +listType=atomic
	// +optional
	History []HistoryEntry `json:"history,omitempty"`
}

// EvaluationState is the state of one evaluation.
// +kubebuilder:validation:Enum=Pending;Running;Succeeded;Error
type EvaluationState string

const (
	EvaluationPending   EvaluationState = "Pending"
	EvaluationRunning   EvaluationState = "Running"
	EvaluationSucceeded EvaluationState = "Succeeded"
	// EvaluationError means no valid evidence: the Job failed, ran past its
	// deadline, was deleted, or finished without a valid report. It never
	// counts as a pass.
	EvaluationError EvaluationState = "Error"
)

// EvaluationStatus summarizes one evaluation of one version.
type EvaluationStatus struct {
	// Kind of evaluation: fairness, privacy, robustness or explain.
	Kind string `json:"kind"`

	// Version evaluated.
	Version string `json:"version"`

	// ModelSHA256 is the digest of the artifact evaluated.
	// +optional
	ModelSHA256 string `json:"modelSHA256,omitempty"`

	// Job that runs the evaluation.
	// +optional
	Job string `json:"job,omitempty"`

	// JobUID is the UID of the Job the operator created. Only a pod that
	// this Job controls (and that runs the Job's own pod template) can
	// report; a Job of the same name with another UID is not trusted.
	// +optional
	JobUID string `json:"jobUID,omitempty"`

	// ReportSHA256 is the sha256 of the report as the operator read it from
	// the Job's pod and stored it in ReportRef. A stored report with
	// another digest, or none, is EvidenceTampered.
	// +optional
	ReportSHA256 string `json:"reportSHA256,omitempty"`

	// State of the evaluation.
	State EvaluationState `json:"state"`

	// Reason is a CamelCase reason for an Error state, for example JobFailed,
	// DeadlineExceeded, JobDeleted or ReportInvalid.
	// +optional
	Reason string `json:"reason,omitempty"`

	// Message explains the state.
	// +optional
	Message string `json:"message,omitempty"`

	// Metrics are the report's headline numbers as strings ("null" where
	// undefined).
	// +optional
	Metrics map[string]string `json:"metrics,omitempty"`

	// ReportRef names the immutable ConfigMap that holds the report, under
	// the key <kind>.json.
	// +optional
	ReportRef *LocalObjectReference `json:"reportRef,omitempty"`

	// CompletionTime is when the report was read.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
}

// DecisionChainHead is the last DecisionRecord of a model.
type DecisionChainHead struct {
	// Count of records (the last one's sequence).
	Count int64 `json:"count"`
	// Hash of the last record.
	Hash string `json:"hash"`
	// Last names the last record.
	Last string `json:"last"`
	// Oldest is the time of the oldest record kept: the records are looked
	// at for retention only once it is past.
	// +optional
	Oldest *metav1.Time `json:"oldest,omitempty"`
	// PrunedThrough is the last record removed for retention (the chain
	// that remains starts after it): its sequence and hash.
	// +optional
	PrunedThrough *DecisionChainMark `json:"prunedThrough,omitempty"`
}

// DecisionChainMark is one record of a chain, by sequence and hash.
type DecisionChainMark struct {
	Sequence int64  `json:"sequence"`
	Hash     string `json:"hash"`
}

// AppliedThreshold is one threshold as it judged.
type AppliedThreshold struct {
	// Key is the threshold's name, for example demographic_parity_ratio_min.
	Key string `json:"key"`
	// Value that judged.
	Value string `json:"value"`
	// Source is where it came from.
	Source string `json:"source"`
}

// EvidenceRecord is one piece of evidence a version was judged on.
type EvidenceRecord struct {
	// Kind of evaluation.
	Kind string `json:"kind"`
	// State of the evaluation when the version was judged; an Error has no
	// report.
	State EvaluationState `json:"state"`
	// ReportRef names the immutable ConfigMap that holds the report.
	// +optional
	ReportRef *LocalObjectReference `json:"reportRef,omitempty"`
	// ReportSHA256 is the sha256 of the report as the operator read it.
	// +optional
	ReportSHA256 string `json:"reportSHA256,omitempty"`
}

// Violation is one reason a policy denied a version.
type Violation struct {
	// Code is a CamelCase identifier, for example FairnessDemographicParity.
	Code string `json:"code"`
	// Message explains the violation with the measured value and threshold.
	Message string `json:"message"`
}

// DecisionStatus records one policy decision.
type DecisionStatus struct {
	// ID identifies the decision; the same policy and input give the same ID.
	ID string `json:"id"`

	// Version judged.
	Version string `json:"version"`

	// ModelSHA256 is the digest of the artifact judged.
	// +optional
	ModelSHA256 string `json:"modelSHA256,omitempty"`

	// Allowed is the policy's verdict, before enforcement.
	Allowed bool `json:"allowed"`

	// Enforcement in force when the decision was made: the spec's mode
	// when the selecting PromotionPolicies allow it, else Enforce.
	Enforcement EnforcementMode `json:"enforcement"`

	// InputSHA256 is the sha256 of the policy input's JSON (keys sorted):
	// what was judged, without the reports themselves.
	// +optional
	InputSHA256 string `json:"inputSHA256,omitempty"`

	// RequestedEnforcement is the spec's mode when it was not allowed (and
	// Enforce applied instead).
	// +optional
	RequestedEnforcement EnforcementMode `json:"requestedEnforcement,omitempty"`

	// Thresholds are the values that judged, with where each came from
	// (a PromotionPolicy, policy data, the default, or the model's own when
	// it was stricter; a looser one is named as not applied).
	// +listType=map
	// +listMapKey=key
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Thresholds []AppliedThreshold `json:"thresholds,omitempty"`

	// PromotionPolicies that selected the model and judged with the
	// embedded policy.
	// +listType=atomic
	// +optional
	PromotionPolicies []string `json:"promotionPolicies,omitempty"`

	// PolicyDigest is the sha256 of the policy bundle that decided.
	PolicyDigest string `json:"policyDigest"`

	// Violations lists why the policy denied, in a stable order.
	// +listType=atomic
	// +optional
	Violations []Violation `json:"violations,omitempty"`

	// Inconclusive lists what the evidence cannot settle (for example a
	// metric that meets its threshold while its confidence interval reaches
	// past it). With no violation, the verdict is Inconclusive: the
	// candidate waits in AwaitingApproval for a person to approve or reject
	// it, under Enforce.
	// +listType=atomic
	// +optional
	Inconclusive []Violation `json:"inconclusive,omitempty"`

	// Time of the decision.
	Time metav1.Time `json:"time"`
}

// ServingStatus describes the serving workload.
type ServingStatus struct {
	// Deployment serving the stable version.
	// +optional
	Deployment string `json:"deployment,omitempty"`

	// Service in front of the Deployment.
	// +optional
	Service string `json:"service,omitempty"`

	// URL of the inference endpoint inside the cluster.
	// +optional
	URL string `json:"url,omitempty"`

	// Replicas desired.
	// +optional
	Replicas int32 `json:"replicas,omitempty"`

	// ReadyReplicas that pass their readiness probe.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`

	// Version the Deployment's pod template runs.
	// +optional
	Version string `json:"version,omitempty"`

	// AuditHeads anchor each serving pod's inference audit log outside the
	// pod: the head (entry count, last hash, first hash) the operator last
	// read from the pod's /v2/audit/head. `rai audit verify
	// --anchor-count --anchor-hash` fails on a log cut back below it.
	// +listType=map
	// +listMapKey=pod
	// +kubebuilder:validation:MaxItems=64
	// +optional
	AuditHeads []AuditHead `json:"auditHeads,omitempty"`

	// AuditAnchorTime is when the operator last asked the pods for their
	// heads.
	// +optional
	AuditAnchorTime *metav1.Time `json:"auditAnchorTime,omitempty"`
}

// AuditHead is a serving pod's inference audit log head, as read.
type AuditHead struct {
	// Pod that serves.
	Pod string `json:"pod"`
	// Count of entries in its log.
	Count int64 `json:"count"`
	// Hash of the last entry.
	Hash string `json:"hash"`
	// Genesis is the first entry's hash: it identifies the log.
	// +optional
	Genesis string `json:"genesis,omitempty"`
	// Time the head was read.
	Time metav1.Time `json:"time"`
}

// HistoryAction names what happened to a version.
// +kubebuilder:validation:Enum=Promoted;Denied;RolledBack;Flagged
type HistoryAction string

const (
	HistoryPromoted   HistoryAction = "Promoted"
	HistoryDenied     HistoryAction = "Denied"
	HistoryRolledBack HistoryAction = "RolledBack"
	// HistoryFlagged: live monitoring found a violation; the version
	// keeps serving.
	HistoryFlagged HistoryAction = "Flagged"
)

// HistoryEntry is one event in a model's life: who, what, why.
type HistoryEntry struct {
	// Version concerned.
	Version string `json:"version"`
	// ModelSHA256 is the digest of the artifact concerned.
	// +optional
	ModelSHA256 string `json:"modelSHA256,omitempty"`
	// Action taken.
	Action HistoryAction `json:"action"`
	// DecisionID of the policy decision behind the action, if any.
	// +optional
	DecisionID string `json:"decisionID,omitempty"`
	// Reason is a CamelCase reason.
	// +optional
	Reason string `json:"reason,omitempty"`
	// Message explains the action.
	// +optional
	Message string `json:"message,omitempty"`
	// Time of the action.
	Time metav1.Time `json:"time"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=rmodel;rmodels,categories=rai
// +kubebuilder:printcolumn:name="Stable",type=string,JSONPath=`.status.stableVersion`
// +kubebuilder:printcolumn:name="Candidate",type=string,JSONPath=`.status.candidateVersion`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Policy",type=string,JSONPath=`.status.conditions[?(@.type=="PolicyAllowed")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// ResponsibleModel deploys a model version only after its evaluations and
// the promotion policy allow it.
type ResponsibleModel struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired model version and how it is judged and served.
	Spec ResponsibleModelSpec `json:"spec"`

	// Status is what the operator observed and decided.
	// +optional
	Status ResponsibleModelStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ResponsibleModelList is a list of ResponsibleModels.
type ResponsibleModelList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ResponsibleModel `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ResponsibleModel{}, &ResponsibleModelList{})
}

// MonitoringStatus is the last monitoring read.
type MonitoringStatus struct {
	// Version and ModelSHA256 are the monitored version.
	Version     string `json:"version"`
	ModelSHA256 string `json:"modelSHA256"`
	// Time of the read.
	Time metav1.Time `json:"time"`
	// Start and End bound the live traffic judged.
	// +optional
	Start *metav1.Time `json:"start,omitempty"`
	// +optional
	End *metav1.Time `json:"end,omitempty"`
	// Replicas read, and the rows of live traffic they summarized.
	Replicas int32 `json:"replicas"`
	Rows     int64 `json:"rows"`
	// Summary names the largest drift and the live demographic parity.
	// +optional
	Summary string `json:"summary,omitempty"`
	// DecisionID of the policy's decision on the monitoring report.
	// +optional
	DecisionID string `json:"decisionID,omitempty"`
	// Violations of that decision (DriftPSI, DriftKS,
	// LiveDemographicParity, ...), naming the feature and statistic.
	// +listType=atomic
	// +optional
	Violations []Violation `json:"violations,omitempty"`
	// Message says why a read could not judge (no replica answered, no
	// reference), when it could not.
	// +optional
	Message string `json:"message,omitempty"`
}
