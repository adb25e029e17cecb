package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ApprovalDecision is what an approver decided.
// +kubebuilder:validation:Enum=Approve;Reject;Override
type ApprovalDecision string

const (
	ApprovalApprove ApprovalDecision = "Approve"
	ApprovalReject  ApprovalDecision = "Reject"
	// ApprovalOverride is break-glass: it promotes a version the policy
	// denied. It needs the `override` verb, is never silent (a Warning
	// event, the decision record, Compliant=False until a passing version
	// replaces it), and cannot open a budget or missing-policy denial.
	ApprovalOverride ApprovalDecision = "Override"
)

// ModelApprovalSpec is one person's approval (or rejection) of one decision
// on one version of a model. Admission accepts it only from the user it
// names as approver, and only when that user holds the `approve` verb on
// the model (config/admission/model_approvals.yaml).
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="approvals are immutable"
type ModelApprovalSpec struct {
	// Model is the ResponsibleModel's name (same namespace).
	// +kubebuilder:validation:MinLength=1
	Model string `json:"model"`
	// Version approved.
	// +kubebuilder:validation:MinLength=1
	Version string `json:"version"`
	// ModelSHA256 is the digest of the artifact approved.
	ModelSHA256 SHA256 `json:"modelSHA256"`
	// DecisionID is the policy decision approved (status.lastDecision.id):
	// a new decision needs a new approval.
	// +kubebuilder:validation:MinLength=1
	DecisionID string `json:"decisionID"`
	// Approver is the user who approves; it must be the user who creates
	// the approval.
	// +kubebuilder:validation:MinLength=1
	Approver string `json:"approver"`
	// Decision: Approve lets an allowed version roll out where a
	// PromotionPolicy requires approval; Reject stops it; Override promotes
	// a denied version (break-glass).
	// +kubebuilder:default=Approve
	// +optional
	Decision ApprovalDecision `json:"decision,omitempty"`
	// Reason is recorded with the promotion (or the rejection).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	Reason string `json:"reason"`
}

// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=mapproval;mapprovals,categories=rai
// +kubebuilder:printcolumn:name="Model",type=string,JSONPath=`.spec.model`
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.spec.version`
// +kubebuilder:printcolumn:name="Decision",type=string,JSONPath=`.spec.decision`
// +kubebuilder:printcolumn:name="Approver",type=string,JSONPath=`.spec.approver`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// ModelApproval is a human's approval or rejection of a model version that
// a PromotionPolicy with requireApproval holds for one.
type ModelApproval struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the approval.
	Spec ModelApprovalSpec `json:"spec"`
}

// +kubebuilder:object:root=true

// ModelApprovalList is a list of ModelApprovals.
type ModelApprovalList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ModelApproval `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ModelApproval{}, &ModelApprovalList{})
}
