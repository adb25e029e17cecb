package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CompositionMethod says how the epsilons of several promoted versions add up.
// +kubebuilder:validation:Enum=RDP;Basic
type CompositionMethod string

const (
	// CompositionRDP adds the versions' RDP curves and converts the sum to
	// epsilon at the budget's delta; it falls back to Basic for charges that
	// carry no curve. It is tighter than adding epsilons.
	CompositionRDP CompositionMethod = "RDP"
	// CompositionBasic adds epsilons (and deltas).
	CompositionBasic CompositionMethod = "Basic"
)

// PrivacyBudgetSpec is the total privacy loss allowed for one dataset.
type PrivacyBudgetSpec struct {
	// Epsilon is the total epsilon that all promoted versions trained on the
	// dataset may spend together, for example "8".
	// +kubebuilder:validation:XValidation:rule="double(self) > 0.0",message="must be greater than 0"
	Epsilon Decimal `json:"epsilon"`

	// Delta is the delta at which the budget's epsilon is measured.
	Delta OpenRatio `json:"delta"`

	// Composition is how charges add up.
	// +kubebuilder:default=RDP
	// +optional
	Composition CompositionMethod `json:"composition,omitempty"`

	// Dataset describes the data this budget protects, for people.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Dataset string `json:"dataset,omitempty"`

	// DatasetSHA256 is the sha256 of the training data this budget
	// protects. A PromotionPolicy with privacy.matchDatasetDigest charges a
	// model to this budget only when the model's rai.dataset.sha256
	// metadata names the same digest.
	// +optional
	DatasetSHA256 SHA256 `json:"datasetSHA256,omitempty"`
}

// PrivacyCharge is the privacy one promoted version spent. Charges are never
// removed: the privacy was spent even if the model is deleted.
type PrivacyCharge struct {
	// Model is the ResponsibleModel's name.
	Model string `json:"model"`
	// Version that was promoted.
	Version string `json:"version"`
	// ModelSHA256 is the digest of the artifact charged. A charge is keyed
	// by it: an artifact is charged once to a budget, whatever model name
	// or version releases it, and an artifact with another digest is a new
	// charge even under a name and version charged before.
	// +optional
	ModelSHA256 string `json:"modelSHA256,omitempty"`
	// DatasetSHA256 is the digest of the data set the privacy report
	// names (the membership audit's members), when it names one.
	// +optional
	DatasetSHA256 string `json:"datasetSHA256,omitempty"`
	// Epsilon of the version at the budget's delta.
	Epsilon string `json:"epsilon"`
	// Delta at which the version's epsilon was computed.
	Delta string `json:"delta"`
	// RDP is the version's RDP curve at the accountant's default orders
	// (Opacus': 1.1 to 10.9 by 0.1, then 12 to 63), as decimal strings; used
	// for RDP composition.
	// +listType=atomic
	// +optional
	RDP []string `json:"rdp,omitempty"`
	// DecisionID of the decision that promoted the version.
	// +optional
	DecisionID string `json:"decisionID,omitempty"`
	// Time the charge was made.
	Time metav1.Time `json:"time"`
}

// PrivacyBudgetStatus lists what was spent and what remains.
type PrivacyBudgetStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: Ready, Exhausted.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// Spent is the composed epsilon of all charges at the budget's delta.
	// +optional
	Spent string `json:"spent,omitempty"`
	// Remaining is epsilon minus spent (never below 0).
	// +optional
	Remaining string `json:"remaining,omitempty"`
	// Charges, one per promoted version, oldest first.
	// +listType=atomic
	// +optional
	Charges []PrivacyCharge `json:"charges,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=pbudget,categories=rai
// +kubebuilder:printcolumn:name="Epsilon",type=string,JSONPath=`.spec.epsilon`
// +kubebuilder:printcolumn:name="Delta",type=string,JSONPath=`.spec.delta`
// +kubebuilder:printcolumn:name="Spent",type=string,JSONPath=`.status.spent`
// +kubebuilder:printcolumn:name="Remaining",type=string,JSONPath=`.status.remaining`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// PrivacyBudget is the differential-privacy budget of one dataset, shared by
// every model version trained on it.
type PrivacyBudget struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the total budget.
	Spec PrivacyBudgetSpec `json:"spec"`

	// Status lists the charges and what remains.
	// +optional
	Status PrivacyBudgetStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// PrivacyBudgetList is a list of PrivacyBudgets.
type PrivacyBudgetList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []PrivacyBudget `json:"items"`
}

func init() {
	SchemeBuilder.Register(&PrivacyBudget{}, &PrivacyBudgetList{})
}
