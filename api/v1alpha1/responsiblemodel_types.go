package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ResponsibleModelSpec is what a platform team asks for: a model version,
// the evidence it must produce, the policy that judges the evidence, and how
// to serve the version once it is promoted.
// +kubebuilder:validation:XValidation:rule="!has(self.evaluations) || has(self.evaluations.dataset) || !(has(self.evaluations.fairness) || has(self.evaluations.explanations) || has(self.evaluations.counterfactual) || (has(self.evaluations.robustness) && !has(self.evaluations.robustness.dataset)))",message="evaluations.dataset is required for fairness, counterfactual, robustness (without its own dataset) and explanations evaluations"
// +kubebuilder:validation:XValidation:rule="!has(self.evaluations) || !has(self.evaluations.robustness) || has(self.evaluations.robustness.sigma) || (has(self.model.task) && self.model.task != 'binary-classification')",message="evaluations.robustness.sigma is required for binary-classification models"
// +kubebuilder:validation:XValidation:rule="!has(self.evaluations) || !has(self.evaluations.robustness) || !has(self.model.task) || self.model.task != 'token-classification'",message="evaluations.robustness is not supported for token-classification models"
// +kubebuilder:validation:XValidation:rule="!has(self.evaluations) || !has(self.evaluations.counterfactual) || (has(self.model.task) && self.model.task == 'text-classification')",message="evaluations.counterfactual needs model.task text-classification"
// +kubebuilder:validation:XValidation:rule="!has(self.evaluations) || !has(self.evaluations.explanations) || !has(self.model.task) || self.model.task != 'token-classification'",message="evaluations.explanations is not supported for token-classification models"
// +kubebuilder:validation:XValidation:rule="!has(self.monitoring) || !has(self.model.task) || self.model.task == 'binary-classification'",message="monitoring is supported for binary-classification models only"
// +kubebuilder:validation:XValidation:rule="self.version != oldSelf.version || (self.model.task == oldSelf.model.task && has(self.model.tokenizer) == has(oldSelf.model.tokenizer) && (!has(self.model.tokenizer) || self.model.tokenizer.sha256 == oldSelf.model.tokenizer.sha256) && (has(self.model.labels) ? self.model.labels : []) == (has(oldSelf.model.labels) ? oldSelf.model.labels : []) && (has(self.model.maxLength) ? self.model.maxLength : 0) == (has(oldSelf.model.maxLength) ? oldSelf.model.maxLength : 0))",message="model.task, tokenizer, labels and maxLength belong to a version: change spec.version to change them"
type ResponsibleModelSpec struct {
	// Version names the model version to run, for example "v3" or
	// "2026-11-28.1". Changing it (together with model) makes the new version
	// the candidate: it is evaluated and judged while the stable version keeps
	// serving.
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9]([a-zA-Z0-9._-]{0,61}[a-zA-Z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	Version string `json:"version"`

	// Model is the artifact of this version.
	Model ModelArtifact `json:"model"`

	// Storage says how artifacts named by s3:// URIs (the model, datasets,
	// membership-audit files) are read: the endpoint, region, addressing
	// style and the Secret holding the credentials.
	// +optional
	Storage *StorageSpec `json:"storage,omitempty"`

	// IntendedUse describes what the model is for and what it must not be
	// used for. It is copied into the model card.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	IntendedUse string `json:"intendedUse,omitempty"`

	// Evaluations lists the evidence each candidate version must produce.
	// Each evaluation runs as a Kubernetes Job.
	// +optional
	Evaluations EvaluationsSpec `json:"evaluations,omitempty"`

	// Policy selects the OPA policy that decides whether the evidence is good
	// enough, and how its decision is enforced.
	// +optional
	Policy PolicySpec `json:"policy,omitempty"`

	// Serving configures the Deployment that serves the promoted version
	// over the Open Inference Protocol v2.
	// +optional
	Serving ServingSpec `json:"serving,omitempty"`

	// Suspend stops reconciliation: no Jobs are created and nothing is
	// promoted or rolled back until it is set back to false. What already
	// serves keeps serving.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// Monitoring watches the promoted version's live traffic: the serving
	// replicas keep aggregates of their inputs and predictions (never the
	// rows), and the operator compares them with a reference summary of the
	// evaluation data (computed by a `reference` evaluation and kept with
	// the evidence), asks the policy, and acts. Setting it adds the
	// `reference` evaluation, so it takes effect from the next version.
	// +optional
	Monitoring *MonitoringSpec `json:"monitoring,omitempty"`
}

// MonitoringAction is what a monitoring violation does.
// +kubebuilder:validation:Enum=Record;Rollback
type MonitoringAction string

const (
	// MonitoringRecord records a violation: a DecisionRecord (Flagged), a
	// Warning event and Compliant=False; the version keeps serving.
	MonitoringRecord MonitoringAction = "Record"
	// MonitoringRollback also rolls back, under enforcement Enforce, to
	// the newest earlier version the policy allowed (never one that was
	// denied or overridden) whose evidence is still recorded.
	MonitoringRollback MonitoringAction = "Rollback"
)

// MonitoringSpec configures live monitoring. The statistics, their
// defaults and the thresholds (spec.policy.thresholds drift_psi_max,
// drift_ks_p_value_min, live_demographic_parity_ratio_min) are in
// docs/operator.md.
type MonitoringSpec struct {
	// Interval between two reads of the serving replicas' windows.
	// Default 1m.
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`

	// Window is the length of one server window (rai serve
	// --monitoring-window). Default 1m.
	// +optional
	Window *metav1.Duration `json:"window,omitempty"`

	// Windows is how many of the most recent windows one read judges
	// together. Default 5.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=60
	// +optional
	Windows int32 `json:"windows,omitempty"`

	// GroupFeature names the model input column (by name, or by index)
	// that holds the sensitive group of a row. Without it, the group is the
	// OIP v2 request parameter "group".
	// +kubebuilder:validation:MaxLength=128
	// +optional
	GroupFeature string `json:"groupFeature,omitempty"`

	// Action on a violation: Record (the default) or Rollback.
	// +optional
	Action MonitoringAction `json:"action,omitempty"`
}

// ModelFormat is the serialization format of a model artifact.
// +kubebuilder:validation:Enum=onnx
type ModelFormat string

// ModelFormatONNX is an ONNX model, served through onnxruntime.
const ModelFormatONNX ModelFormat = "onnx"

// ModelTask is what a model answers; it fixes the model's input and output
// contract (docs/models.md).
// +kubebuilder:validation:Enum=binary-classification;text-classification;token-classification
type ModelTask string

const (
	// TaskBinaryClassification is a tabular binary classifier: float32
	// [batch, features] in, P(favorable) out.
	TaskBinaryClassification ModelTask = "binary-classification"
	// TaskTextClassification is a text classifier (intent, toxicity):
	// Hugging Face ONNX inputs, logits [batch, labels].
	TaskTextClassification ModelTask = "text-classification"
	// TaskTokenClassification is a token classifier (NER, IOB2 labels):
	// Hugging Face ONNX inputs, logits [batch, sequence, labels].
	TaskTokenClassification ModelTask = "token-classification"
)

// IsText reports whether the task takes text through a tokenizer.
func (t ModelTask) IsText() bool {
	return t == TaskTextClassification || t == TaskTokenClassification
}

// ArtifactReference locates a file and pins its content.
type ArtifactReference struct {
	// URI of the file: file://, http://, https:// or s3://bucket/key (see
	// spec.storage).
	URI ArtifactURI `json:"uri"`
	// SHA256 is the hex SHA-256 digest of the file; readers refuse a file
	// whose digest differs.
	SHA256 SHA256 `json:"sha256"`
}

// TextModelConfig is what, beside the model file, makes a text model's
// answers: its task, tokenizer, labels and sequence length. It is judged
// with the model and recorded with each decision about it.
type TextModelConfig struct {
	// Task of the model.
	Task ModelTask `json:"task"`
	// Tokenizer the model was judged with.
	Tokenizer ArtifactReference `json:"tokenizer"`
	// Labels from the spec (empty: the model's metadata).
	// +listType=atomic
	// +optional
	Labels []string `json:"labels,omitempty"`
	// MaxLength from the spec (unset: the model's metadata or tokenizer).
	// +optional
	MaxLength *int32 `json:"maxLength,omitempty"`
}

// TextModel returns the spec's text-model configuration, nil for a
// binary classifier.
func (m *ModelArtifact) TextModel() *TextModelConfig {
	if !m.Task.IsText() {
		return nil
	}
	c := &TextModelConfig{Task: m.Task, Labels: append([]string(nil), m.Labels...)}
	if m.Tokenizer != nil {
		c.Tokenizer = *m.Tokenizer
	}
	if m.MaxLength != nil {
		n := *m.MaxLength
		c.MaxLength = &n
	}
	return c
}

// ModelArtifact locates a model file and pins its content.
// +kubebuilder:validation:XValidation:rule="!has(self.task) || self.task == 'binary-classification' || has(self.tokenizer)",message="tokenizer is required for text-classification and token-classification models"
// +kubebuilder:validation:XValidation:rule="(has(self.task) && self.task != 'binary-classification') || (!has(self.tokenizer) && !has(self.labels) && !has(self.maxLength))",message="tokenizer, labels and maxLength apply to text-classification and token-classification models only"
type ModelArtifact struct {
	// URI of the model file: file://, http://, https:// or s3://bucket/key
	// (see spec.storage).
	URI ArtifactURI `json:"uri"`

	// SHA256 is the hex SHA-256 digest of the model file. The evaluation
	// Jobs and the serving pods refuse a file whose digest differs.
	SHA256 SHA256 `json:"sha256"`

	// Format of the model file. Only "onnx" is supported.
	// +kubebuilder:default=onnx
	// +optional
	Format ModelFormat `json:"format,omitempty"`

	// InputName is the model input that takes the feature matrix
	// (float32, shape [batch, features]). Empty means the model's only input.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	InputName string `json:"inputName,omitempty"`

	// OutputName is the model output holding the probability of the
	// favorable class (for text models: the logits). Empty means the
	// model's first output.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	OutputName string `json:"outputName,omitempty"`

	// Task is what the model answers: binary-classification (a tabular
	// classifier, the default), text-classification (one label per text)
	// or token-classification (one IOB2 label per token, for NER). Text
	// models follow the Hugging Face ONNX export interface (input_ids,
	// attention_mask, optional token_type_ids; logits); see docs/models.md.
	// +kubebuilder:default=binary-classification
	// +optional
	Task ModelTask `json:"task,omitempty"`

	// Tokenizer is the text model's Hugging Face tokenizer.json (BERT
	// WordPiece family), pinned by digest like the model. Required for text
	// tasks.
	// +optional
	Tokenizer *ArtifactReference `json:"tokenizer,omitempty"`

	// Labels are the text model's label names in logit order (IOB2 tags for
	// token-classification, for example O, B-PER, I-PER). Empty means the
	// model's metadata: rai.labels (a JSON array) or id2label.
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=64
	// +kubebuilder:validation:items:Pattern=`^[^,]+$`
	// +listType=atomic
	// +optional
	Labels []string `json:"labels,omitempty"`

	// MaxLength is the longest token sequence, [CLS] and [SEP] included,
	// the text model takes. Unset means the model's rai.max_length
	// metadata, else the tokenizer file's truncation length, else 128.
	// +kubebuilder:validation:Minimum=2
	// +kubebuilder:validation:Maximum=8192
	// +optional
	MaxLength *int32 `json:"maxLength,omitempty"`
}

// EvaluationsSpec lists the evaluations to run for every candidate version.
// An evaluation that is not listed is not run and not required.
type EvaluationsSpec struct {
	// Dataset is the labelled evaluation data (CSV or Parquet) shared by the
	// fairness, robustness and explanations evaluations.
	// +optional
	Dataset *DatasetSpec `json:"dataset,omitempty"`

	// Fairness measures group fairness of the model's decisions
	// (Fairlearn's and AIF360's metrics).
	// +optional
	Fairness *FairnessEvaluation `json:"fairness,omitempty"`

	// Privacy computes the differential-privacy guarantee (epsilon at delta)
	// of the model's DP-SGD training and charges it to a PrivacyBudget on
	// promotion.
	// +optional
	Privacy *PrivacyEvaluation `json:"privacy,omitempty"`

	// Robustness certifies robustness to L2 perturbations with randomized
	// smoothing.
	// +optional
	Robustness *RobustnessEvaluation `json:"robustness,omitempty"`

	// Explanations computes permutation feature importance and sampled
	// Shapley values (for text classifiers: LIME and Shapley values over
	// words); the top features or words appear in the model card.
	// +optional
	Explanations *ExplanationEvaluation `json:"explanations,omitempty"`

	// Counterfactual measures counterfactual token fairness of a text
	// classifier (Garg et al. 2019): each identity-term pair is swapped in
	// the dataset's texts and the change of the favorable class's score
	// measured (flip rate, mean |Δscore|, worst pair).
	// +optional
	Counterfactual *CounterfactualEvaluation `json:"counterfactual,omitempty"`

	// Job sets the limits of every evaluation Job.
	// +optional
	Job EvaluationJobSpec `json:"job,omitempty"`
}

// DataFormat is the file format of a dataset.
// +kubebuilder:validation:Enum=csv;parquet
type DataFormat string

const (
	DataFormatCSV     DataFormat = "csv"
	DataFormatParquet DataFormat = "parquet"
)

// DatasetSpec locates labelled evaluation data and pins its content.
type DatasetSpec struct {
	// URI of the data file: file://, http://, https:// or s3://bucket/key
	// (see spec.storage).
	URI ArtifactURI `json:"uri"`

	// SHA256 is the hex SHA-256 digest of the data file.
	SHA256 SHA256 `json:"sha256"`

	// Format of the data file.
	// +kubebuilder:default=csv
	// +optional
	Format DataFormat `json:"format,omitempty"`

	// LabelColumn is the column holding the true label.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	LabelColumn string `json:"labelColumn"`

	// FavorableLabel is the label value that benefits the subject, for
	// example "1" for "loan approved" (for a text classifier, a label
	// name).
	// +kubebuilder:default="1"
	// +kubebuilder:validation:MaxLength=256
	// +optional
	FavorableLabel string `json:"favorableLabel,omitempty"`

	// TextColumn is the column holding a text model's input: the text
	// (text-classification), or its words separated by single spaces with
	// labelColumn holding one IOB2 tag per word (token-classification).
	// Default "text". Ignored for binary-classification.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	TextColumn string `json:"textColumn,omitempty"`
}

// CounterfactualEvaluation configures counterfactual token fairness.
type CounterfactualEvaluation struct {
	// TermPairs is a CSV file with header "a,b": one identity-term pair per
	// row (he,she; husband,wife). Each is swapped both ways as whole words,
	// case kept.
	TermPairs DataFile `json:"termPairs"`
}

// PrivilegedGroup names the value of a sensitive column that marks the
// privileged group, for the signed privileged-versus-rest metrics.
type PrivilegedGroup struct {
	// Column is a sensitive column.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Column string `json:"column"`

	// Value marks the privileged group in that column.
	// +kubebuilder:validation:MaxLength=256
	Value string `json:"value"`
}

// FairnessEvaluation configures the fairness evaluation.
// +kubebuilder:validation:XValidation:rule="!has(self.privileged) || self.privileged.all(p, p.column in self.sensitiveColumns)",message="every privileged column must be listed in sensitiveColumns"
type FairnessEvaluation struct {
	// SensitiveColumns are the dataset columns that define groups. Several
	// columns define intersectional groups (their cross product).
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=8
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	// +listType=set
	SensitiveColumns []string `json:"sensitiveColumns"`

	// Privileged names the privileged group for statistical parity
	// difference and disparate impact ratio. Without it those two metrics are
	// not computed.
	// +kubebuilder:validation:MaxItems=8
	// +listType=map
	// +listMapKey=column
	// +optional
	Privileged []PrivilegedGroup `json:"privileged,omitempty"`

	// PredictionThreshold turns the model's probability of the favorable
	// class into a decision: favorable when probability >= threshold.
	// +kubebuilder:default="0.5"
	// +optional
	PredictionThreshold Ratio `json:"predictionThreshold,omitempty"`
}

// DPParametersSource says where the DP-SGD training parameters come from.
// +kubebuilder:validation:Enum=ModelMetadata;Spec
type DPParametersSource string

const (
	// DPParametersFromModelMetadata reads rai.dp.* from the ONNX model's
	// metadata_props (see docs/models.md).
	DPParametersFromModelMetadata DPParametersSource = "ModelMetadata"
	// DPParametersFromSpec takes them from spec.evaluations.privacy.dpSGD.
	DPParametersFromSpec DPParametersSource = "Spec"
)

// DPSGDParameters are the parameters of a DP-SGD training run.
type DPSGDParameters struct {
	// NoiseMultiplier is the ratio of the Gaussian noise's standard
	// deviation to the clipping norm.
	NoiseMultiplier Decimal `json:"noiseMultiplier"`

	// SampleRate is the Poisson sampling rate of each step (batch size
	// divided by dataset size).
	SampleRate Ratio `json:"sampleRate"`

	// Steps is the number of noisy gradient steps.
	// +kubebuilder:validation:Minimum=1
	Steps int64 `json:"steps"`
}

// PrivacyEvaluation configures the differential-privacy evaluation.
// +kubebuilder:validation:XValidation:rule="self.parametersFrom != 'Spec' || has(self.dpSGD)",message="dpSGD is required when parametersFrom is Spec"
type PrivacyEvaluation struct {
	// ParametersFrom says where the DP-SGD parameters come from: the model's
	// metadata (default) or dpSGD below.
	// +kubebuilder:default=ModelMetadata
	// +optional
	ParametersFrom DPParametersSource `json:"parametersFrom,omitempty"`

	// DPSGD are the training parameters when parametersFrom is Spec.
	// +optional
	DPSGD *DPSGDParameters `json:"dpSGD,omitempty"`

	// Delta is the delta at which epsilon is reported, for example "1e-5".
	// It should be below 1/N for a training set of N records.
	Delta OpenRatio `json:"delta"`

	// MaxEpsilon is the largest epsilon this version may have at delta.
	// +optional
	MaxEpsilon *Decimal `json:"maxEpsilon,omitempty"`

	// BudgetRef names the PrivacyBudget (same namespace) that the version's
	// epsilon is charged to when it is promoted. A version that would
	// overspend the budget is denied.
	// +optional
	BudgetRef *LocalObjectReference `json:"budgetRef,omitempty"`

	// MembershipAudit runs an empirical membership-inference audit on
	// training members and held-out non-members: an empirical lower bound
	// on epsilon above the claimed epsilon contradicts the claim.
	// +optional
	MembershipAudit *MembershipAudit `json:"membershipAudit,omitempty"`
}

// MembershipAudit locates member and non-member samples for the audit.
type MembershipAudit struct {
	// Members are records that were in the training set.
	Members DataFile `json:"members"`
	// NonMembers are records from the same distribution that were not.
	NonMembers DataFile `json:"nonMembers"`
}

// DataFile locates a data file in the dataset's format and pins its content.
type DataFile struct {
	// URI of the file: file://, http://, https:// or s3://bucket/key (see
	// spec.storage).
	URI ArtifactURI `json:"uri"`
	// SHA256 is the hex SHA-256 digest of the file.
	SHA256 SHA256 `json:"sha256"`
}

// RobustnessEvaluation configures randomized-smoothing certification
// (Cohen, Rosenfeld & Kolter 2019).
// +kubebuilder:validation:XValidation:rule="!has(self.selectionSamples) || !has(self.certificationSamples) || self.selectionSamples <= self.certificationSamples",message="selectionSamples must not exceed certificationSamples"
type RobustnessEvaluation struct {
	// Dataset overrides evaluations.dataset for this evaluation: smoothing
	// draws thousands of noisy samples per row, so a smaller, representative
	// slice of the evaluation data is usual.
	// +optional
	Dataset *DatasetSpec `json:"dataset,omitempty"`

	// Sigma is the standard deviation of the Gaussian smoothing noise, in
	// feature units. Required for binary-classification models; text
	// classifiers are attacked with edits instead (maxEdits, typoRate).
	// +optional
	Sigma Decimal `json:"sigma,omitempty"`

	// MaxEdits is a text classifier's attack budget: the most words a
	// DeepWordBug-style attack edits (one character each: adjacent swap,
	// deletion, insertion, keyboard-neighbour substitution) to flip a
	// prediction.
	// +kubebuilder:default=3
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=64
	// +optional
	MaxEdits *int32 `json:"maxEdits,omitempty"`

	// TypoRate is the probability that each word of a text gets one random
	// typo, for a text classifier's accuracy under typos.
	// +kubebuilder:default="0.1"
	// +optional
	TypoRate Ratio `json:"typoRate,omitempty"`

	// The default markers of selectionSamples, certificationSamples and
	// alpha are literals; internal/contract's tests check them against the
	// defaults rai evaluate robustness uses.

	// SelectionSamples (the paper's n0) is the number of noise samples used
	// to pick the top class.
	// +kubebuilder:default=100
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000000
	// +optional
	SelectionSamples *int32 `json:"selectionSamples,omitempty"`

	// CertificationSamples (the paper's n) is the number of fresh noise
	// samples used to bound the top class's probability. (Not named "n":
	// YAML 1.1 reads a bare n as false.)
	// +kubebuilder:default=10000
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000000
	// +optional
	CertificationSamples *int32 `json:"certificationSamples,omitempty"`

	// Alpha is the failure probability of the certificate.
	// +kubebuilder:default="0.001"
	// +optional
	Alpha OpenRatio `json:"alpha,omitempty"`

	// Radii are the L2 radii at which certified accuracy is reported.
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Radii []Decimal `json:"radii,omitempty"`
}

// ExplanationEvaluation configures the explanations evaluation. Listing it
// turns it on.
type ExplanationEvaluation struct {
	// The default marker of samples is a literal; internal/contract's tests
	// check it against rai evaluate explain's --shapley-rows default.

	// Samples is the number of rows that get sampled Shapley values, drawn
	// uniformly from the dataset (fewer when the dataset has fewer rows).
	// Permutation importance uses the same uniform sample, of 1000 rows or
	// of samples rows when that is more; the sample is also the Shapley
	// background.
	// +kubebuilder:default=200
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100000
	// +optional
	Samples *int32 `json:"samples,omitempty"`
}

// EvaluationJobSpec sets the limits of evaluation Jobs.
type EvaluationJobSpec struct {
	// ActiveDeadlineSeconds bounds how long one evaluation may run.
	// +kubebuilder:default=900
	// +kubebuilder:validation:Minimum=1
	// +optional
	ActiveDeadlineSeconds *int64 `json:"activeDeadlineSeconds,omitempty"`

	// BackoffLimit is the number of retries of a failed evaluation pod.
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10
	// +optional
	BackoffLimit *int32 `json:"backoffLimit,omitempty"`

	// Resources of the evaluation container.
	// +optional
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`

	// Shards splits the fairness and robustness evaluations into an Indexed
	// Job of this many pods whose partial reports are merged.
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=64
	// +optional
	Shards *int32 `json:"shards,omitempty"`

	// QueueName is the Kueue LocalQueue (same namespace) the evaluation
	// Jobs wait in: they are created suspended with the label
	// kueue.x-k8s.io/queue-name, and Kueue starts each when the queue's
	// ClusterQueue has quota for its resources. Empty means the
	// PromotionPolicies' evaluationQueueName, else no queue: the Jobs start
	// at once. While a Job waits the model says EvaluationsQueued.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	QueueName string `json:"queueName,omitempty"`

	// GPU runs the evaluations that use a model on NVIDIA GPUs (rai evaluate
	// --device cuda), asked for as spec.serving.gpu asks: whole GPUs, a MIG
	// slice, or devices through Dynamic Resource Allocation. Randomized
	// smoothing, at thousands of noisy samples per row, gains the most.
	// +optional
	GPU *GPUSpec `json:"gpu,omitempty"`
}

// EnforcementMode says what a policy denial does.
// +kubebuilder:validation:Enum=Enforce;Warn;DryRun
type EnforcementMode string

const (
	// EnforcementEnforce blocks a denied version (the default).
	EnforcementEnforce EnforcementMode = "Enforce"
	// EnforcementWarn promotes a denied version with a Warning event.
	EnforcementWarn EnforcementMode = "Warn"
	// EnforcementDryRun records the decision and never promotes: a dry
	// run of the gate.
	EnforcementDryRun EnforcementMode = "DryRun"
)

// PolicySpec selects the promotion policy.
type PolicySpec struct {
	// ConfigMapRef names a ConfigMap (same namespace) whose *.json keys
	// hold policy data that may only tighten thresholds
	// ({"rai": {"thresholds": {...}}}). Rego comes only from the platform's
	// PromotionPolicies: a ConfigMap with other content is refused
	// (PolicyRefused). See docs/policies.md.
	// +optional
	ConfigMapRef *LocalObjectReference `json:"configMapRef,omitempty"`

	// Enforcement says what a denial does: Enforce blocks the version, Warn
	// promotes it with a Warning event, DryRun records the decision and
	// never promotes (allowed or not). A mode the selecting PromotionPolicies
	// do not allow (by default only Enforce is) applies as Enforce.
	// +kubebuilder:default=Enforce
	// +optional
	Enforcement EnforcementMode `json:"enforcement,omitempty"`

	// Thresholds tighten the policy's thresholds by name, for example
	// demographic_parity_ratio_min: "0.9": a value looser than the
	// platform's (the PromotionPolicies', the cluster policy data's, the
	// default) never applies. The decision records which value judged and
	// where it came from. See docs/policies.md for the names.
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.matches('^[a-z][a-z0-9_]*$'))",message="threshold names are lowercase snake_case"
	// +optional
	Thresholds map[string]Threshold `json:"thresholds,omitempty"`
}

// ServingSpec configures the serving Deployment of the promoted version.
type ServingSpec struct {
	// AuditVolumeClaim names a PersistentVolumeClaim (same namespace) that
	// holds the serving pods' inference audit logs, one directory per pod,
	// so that a pod's log outlives it (rescheduling, rollouts); a restarted
	// server verifies and extends its own chain. Without it the log is on
	// an emptyDir: it survives container restarts, not the pod. Each log's
	// head is anchored in status.serving.auditHeads either way. With more
	// than one replica on several nodes the claim must be ReadWriteMany.
	// +optional
	AuditVolumeClaim *LocalObjectReference `json:"auditVolumeClaim,omitempty"`

	// Replicas of the serving Deployment. At least 1: a version is
	// promoted (and its privacy charged) only when a pod has loaded it.
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// Resources of the serving container. GPU limits come from gpu.
	// +optional
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`

	// GPU schedules the serving pods on NVIDIA GPUs. Without it the model is
	// served on CPU.
	// +optional
	GPU *GPUSpec `json:"gpu,omitempty"`

	// The default markers of port, maxBatchSize and maxBatchDelay are
	// literals; internal/contract's tests check them against rai serve's
	// flag defaults.

	// Port the inference server listens on.
	// +kubebuilder:default=8080
	// +kubebuilder:validation:Minimum=1024
	// +kubebuilder:validation:Maximum=65535
	// +optional
	Port int32 `json:"port,omitempty"`

	// MaxBatchSize is the largest batch the server's dynamic batcher forms
	// from concurrent requests. 1 turns batching off.
	// +kubebuilder:default=32
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=4096
	// +optional
	MaxBatchSize int32 `json:"maxBatchSize,omitempty"`

	// MaxBatchDelay is how long the batcher waits to fill a batch.
	// +kubebuilder:default="2ms"
	// +optional
	MaxBatchDelay *metav1.Duration `json:"maxBatchDelay,omitempty"`

	// ProgressDeadlineSeconds is how long a rollout may take before the
	// operator rolls back to the previous stable version.
	// +kubebuilder:default=600
	// +kubebuilder:validation:Minimum=10
	// +optional
	ProgressDeadlineSeconds *int32 `json:"progressDeadlineSeconds,omitempty"`

	// NodeSelector is added to the serving pods' node selector.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`

	// Tolerations are added to the serving pods' tolerations (the
	// nvidia.com/gpu taint is tolerated automatically when gpu is set).
	// +optional
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`
}

// GPUSpec asks for NVIDIA GPUs: either whole GPUs (count) or one MIG slice
// (migProfile), optionally of a given product and memory size as GPU Feature
// Discovery labels them. With deviceClassName the GPUs are asked for
// through Dynamic Resource Allocation instead of the device plugin's
// extended resources; docs/operator.md compares the ways.
// +kubebuilder:validation:XValidation:rule="!(has(self.count) && has(self.migProfile))",message="set either count or migProfile, not both"
// +kubebuilder:validation:XValidation:rule="has(self.count) || has(self.migProfile)",message="set count or migProfile"
// +kubebuilder:validation:XValidation:rule="!has(self.deviceClassName) || !has(self.migProfile)",message="migProfile is a device-plugin resource: with deviceClassName, select MIG devices with a selector"
// +kubebuilder:validation:XValidation:rule="!has(self.deviceClassName) || !has(self.product)",message="product matches a GPU Feature Discovery node label: with deviceClassName, select the product with a selector on the device's productName attribute"
// +kubebuilder:validation:XValidation:rule="has(self.deviceClassName) || !has(self.selectors)",message="selectors apply only with deviceClassName"
type GPUSpec struct {
	// Count of whole GPUs per pod (resource nvidia.com/gpu).
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=16
	// +optional
	Count *int32 `json:"count,omitempty"`

	// MIGProfile asks for one MIG slice per pod, for example "1g.10gb"
	// (resource nvidia.com/mig-1g.10gb, mixed MIG strategy).
	// +kubebuilder:validation:Pattern=`^[1-7]g\.[0-9]+gb(\+me)?$`
	// +optional
	MIGProfile string `json:"migProfile,omitempty"`

	// Product restricts scheduling to nodes whose nvidia.com/gpu.product
	// label equals it, for example "NVIDIA-H100-80GB-HBM3".
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`
	// +optional
	Product string `json:"product,omitempty"`

	// MinMemory restricts scheduling to nodes whose nvidia.com/gpu.memory
	// label (MiB per GPU) is at least this much, for example "40Gi". With
	// deviceClassName it selects devices whose memory capacity is at least
	// this much.
	// +optional
	MinMemory *resource.Quantity `json:"minMemory,omitempty"`

	// DeviceClassName asks for count GPUs of this DeviceClass through
	// Dynamic Resource Allocation (resource.k8s.io/v1): the operator creates
	// a ResourceClaimTemplate that each serving pod claims from, and the
	// scheduler allocates devices a DRA driver published in ResourceSlices,
	// for example "gpu.nvidia.com" (the NVIDIA DRA driver's class).
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	// +optional
	DeviceClassName string `json:"deviceClassName,omitempty"`

	// Selectors are CEL expressions every allocated device must satisfy,
	// over its attributes and capacity as its driver publishes them, for
	// example device.attributes["gpu.nvidia.com"].productName ==
	// "NVIDIA H100 80GB HBM3". With deviceClassName only.
	// +kubebuilder:validation:MaxItems=8
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=1024
	// +listType=atomic
	// +optional
	Selectors []string `json:"selectors,omitempty"`
}
