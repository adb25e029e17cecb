package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// EvaluationKind names an evaluation.
// +kubebuilder:validation:Enum=fairness;privacy;robustness;explain
type EvaluationKind string

// PromotionPolicySpec is the platform team's rule for the models it
// selects. A model's own policy settings may only tighten it: a namespace
// user (the person the gate judges) cannot loosen it.
type PromotionPolicySpec struct {
	// NamespaceSelector selects the namespaces whose models the policy
	// judges; empty selects every namespace.
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`

	// ModelSelector selects models by their labels; empty selects every
	// model of the selected namespaces.
	// +optional
	ModelSelector *metav1.LabelSelector `json:"modelSelector,omitempty"`

	// RequiredEvaluations must be requested by every selected model: one
	// that omits any is denied (EvaluationRequired), naming it.
	// +listType=set
	// +kubebuilder:validation:MaxItems=4
	// +optional
	RequiredEvaluations []EvaluationKind `json:"requiredEvaluations,omitempty"`

	// Thresholds are the platform's floors and ceilings, by the policy's
	// names (docs/policies.md): a model's spec.policy.thresholds (and the
	// data of its policy ConfigMap) may only tighten them (raise a *_min or
	// certified_radius, lower a *_max); a looser value never applies. When
	// several policies select a model, the strictest value of each wins.
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.matches('^[a-z][a-z0-9_]*$'))",message="threshold names are lowercase snake_case"
	// +optional
	Thresholds map[string]Threshold `json:"thresholds,omitempty"`

	// AllowedEnforcement lists the enforcement modes a selected model may
	// ask for in spec.policy.enforcement; any other applies as Enforce.
	// Several policies: a mode must be allowed by each. Default: Enforce
	// only.
	// +listType=set
	// +kubebuilder:validation:MaxItems=3
	// +optional
	AllowedEnforcement []EnforcementMode `json:"allowedEnforcement,omitempty"`

	// RequireApproval holds a selected model's allowed version until a
	// person approves it (a ModelApproval of its decision, by a user with
	// the `approve` verb on the model): the model waits in
	// AwaitingApproval, and a rejection stops it (ApprovalRejected).
	// +optional
	RequireApproval bool `json:"requireApproval,omitempty"`

	// ConfidenceIntervals says how the default policy treats a metric that
	// meets its threshold while its confidence interval (a fairness
	// report's bootstrap interval) reaches past it: Ignore (the default:
	// the point estimate judges) or Inconclusive (the verdict is
	// inconclusive and a person approves or rejects the version,
	// AwaitingApproval). A point estimate past its threshold denies either
	// way.
	// +kubebuilder:validation:Enum=Ignore;Inconclusive
	// +optional
	ConfidenceIntervals ConfidenceIntervalsMode `json:"confidenceIntervals,omitempty"`

	// RequireIndependentApprover (four eyes) does not count an approval by
	// the user who last changed the model's spec, as admission records it
	// in the rai.responsible-ai.dev/spec-changed-by annotation. It applies
	// to every approval of a selected model: those requireApproval asks for
	// and those of an inconclusive verdict.
	// +optional
	RequireIndependentApprover bool `json:"requireIndependentApprover,omitempty"`

	// EvaluationQueueName is the Kueue LocalQueue a selected model's
	// evaluation Jobs wait in when its spec.evaluations.job.queueName is
	// empty (with several selecting policies, the first by name that sets
	// one).
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	EvaluationQueueName string `json:"evaluationQueueName,omitempty"`

	// Privacy binds privacy evaluations to budgets.
	// +optional
	Privacy *PromotionPrivacy `json:"privacy,omitempty"`

	// Modules are Rego modules (file name: source, package rai.promotion)
	// that extend the embedded default policy for the selected models, with
	// full power: they are the platform's, not a namespace user's.
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.endsWith('.rego'))",message="module names end in .rego"
	// +optional
	Modules map[string]string `json:"modules,omitempty"`

	// Data is a JSON object merged into the policy data (data.*), as the
	// cluster policy ConfigMap's *.json keys are.
	// +kubebuilder:validation:MaxLength=262144
	// +optional
	Data string `json:"data,omitempty"`
}

// PromotionPrivacy binds the privacy evaluation of selected models.
type PromotionPrivacy struct {
	// RequireBudget: a selected model must request a privacy evaluation
	// bound to a PrivacyBudget (BudgetRequired otherwise).
	// +optional
	RequireBudget bool `json:"requireBudget,omitempty"`

	// MatchDatasetDigest: the budget must protect the data the model was
	// trained on: its spec.datasetSHA256 must equal the model's
	// rai.dataset.sha256 metadata, as the privacy report names it
	// (BudgetMismatch otherwise), rather than a budget chosen by name alone.
	// +optional
	MatchDatasetDigest bool `json:"matchDatasetDigest,omitempty"`
}

// PromotionPolicyStatus says what the operator made of the policy.
type PromotionPolicyStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready (the policy's modules and data can be read).
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// MatchedModels is how many ResponsibleModels the policy selects.
	// +optional
	MatchedModels int32 `json:"matchedModels"`

	// Digest is the sha256 of the spec that judges, as decisions record it.
	// +optional
	Digest string `json:"digest,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=ppolicy;ppolicies,categories=rai
// +kubebuilder:printcolumn:name="Models",type=integer,JSONPath=`.status.matchedModels`
// +kubebuilder:printcolumn:name="Required",type=string,JSONPath=`.spec.requiredEvaluations`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// PromotionPolicy is the platform team's cluster-scoped promotion rule for
// the models it selects: required evaluations, threshold floors, the
// enforcement modes a model may use, privacy budget binding, and Rego.
type PromotionPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the rule.
	Spec PromotionPolicySpec `json:"spec"`

	// Status is what the operator made of it.
	// +optional
	Status PromotionPolicyStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// PromotionPolicyList is a list of PromotionPolicies.
type PromotionPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []PromotionPolicy `json:"items"`
}

func init() {
	SchemeBuilder.Register(&PromotionPolicy{}, &PromotionPolicyList{})
}

// ConfidenceIntervalsMode is how the policy judges a confidence interval
// that straddles a threshold.
type ConfidenceIntervalsMode string

const (
	// ConfidenceIntervalsIgnore: the point estimate judges.
	ConfidenceIntervalsIgnore ConfidenceIntervalsMode = "Ignore"
	// ConfidenceIntervalsInconclusive: a straddling interval makes the
	// verdict inconclusive.
	ConfidenceIntervalsInconclusive ConfidenceIntervalsMode = "Inconclusive"
)
