package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DecisionAction names what a recorded decision did.
// +kubebuilder:validation:Enum=Promoted;Denied;RolledBack;Flagged
type DecisionAction string

// DecisionRecordSpec is one decision about one model, linked to the one
// before it: Hash is the sha256 of this spec's JSON with Hash empty, and
// PreviousHash is the Hash of the model's previous record (64 zeros for
// the first). Editing, removing or reordering a record breaks the chain
// at it; `rai audit verify-decisions` names the first bad record.
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="decision records are immutable"
type DecisionRecordSpec struct {
	// Model is the ResponsibleModel's name.
	Model string `json:"model"`
	// ModelUID is the ResponsibleModel's UID: a model re-created under the
	// same name starts a chain of its own.
	ModelUID string `json:"modelUID"`
	// Sequence numbers the model's records from 1.
	// +kubebuilder:validation:Minimum=1
	Sequence int64 `json:"sequence"`
	// PreviousHash is the Hash of the record before (64 zeros for the
	// first).
	PreviousHash string `json:"previousHash"`
	// Hash is the hex sha256 of this spec's JSON encoding with Hash empty.
	Hash string `json:"hash"`
	// Time of the action.
	Time metav1.Time `json:"time"`
	// Action taken.
	Action DecisionAction `json:"action"`
	// Reason is the CamelCase reason of the action.
	// +optional
	Reason string `json:"reason,omitempty"`
	// Message explains the action.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	Message string `json:"message,omitempty"`
	// Version and ModelSHA256 identify what was judged.
	Version     string `json:"version"`
	ModelSHA256 string `json:"modelSHA256"`
	// DecisionID of the policy decision.
	// +optional
	DecisionID string `json:"decisionID,omitempty"`
	// PolicyDigest is the digest of the policy bundle that decided.
	// +optional
	PolicyDigest string `json:"policyDigest,omitempty"`
	// InputSHA256 is the sha256 of the policy input's JSON.
	// +optional
	InputSHA256 string `json:"inputSHA256,omitempty"`
	// PromotionPolicies that selected the model.
	// +listType=atomic
	// +optional
	PromotionPolicies []string `json:"promotionPolicies,omitempty"`
	// Allowed is the policy's verdict, before enforcement.
	Allowed bool `json:"allowed"`
	// Enforcement that applied.
	// +optional
	Enforcement EnforcementMode `json:"enforcement,omitempty"`
	// Violations of the decision.
	// +listType=atomic
	// +optional
	Violations []Violation `json:"violations,omitempty"`
	// Inconclusive findings of the decision (see DecisionStatus).
	// +listType=atomic
	// +optional
	Inconclusive []Violation `json:"inconclusive,omitempty"`
	// ModelURI is where the judged artifact was read from, when the record
	// is about the spec's artifact: what a rollback to this version sets
	// (kubectl rmodel rollback).
	// +optional
	ModelURI string `json:"modelURI,omitempty"`
	// TextModel is the text model's task, tokenizer, labels and length when
	// the record is about the spec's artifact (a rollback sets them too).
	// +optional
	TextModel *TextModelConfig `json:"textModel,omitempty"`
	// Evidence judged: per kind, the digest of the report read from the
	// evaluation Job's pod.
	// +listType=atomic
	// +optional
	Evidence []EvidenceRecord `json:"evidence,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=drec;drecs,categories=rai
// +kubebuilder:printcolumn:name="Model",type=string,JSONPath=`.spec.model`
// +kubebuilder:printcolumn:name="Seq",type=integer,JSONPath=`.spec.sequence`
// +kubebuilder:printcolumn:name="Action",type=string,JSONPath=`.spec.action`
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.spec.version`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.spec.reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// DecisionRecord is an immutable, hash-chained record of one decision the
// operator made about a ResponsibleModel. Only the operator creates them
// (admission refuses everyone else).
type DecisionRecord struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the record.
	Spec DecisionRecordSpec `json:"spec"`
}

// +kubebuilder:object:root=true

// DecisionRecordList is a list of DecisionRecords.
type DecisionRecordList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []DecisionRecord `json:"items"`
}

func init() {
	SchemeBuilder.Register(&DecisionRecord{}, &DecisionRecordList{})
}
