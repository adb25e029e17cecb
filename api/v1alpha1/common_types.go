package v1alpha1

// Numbers in spec are strings, never floats (Kubernetes API conventions):
// a float does not round-trip through every client unchanged.

// Decimal is a non-negative decimal number written as a string, for example
// "0.5", "3", "1e-5" or "1.5E-3".
// +kubebuilder:validation:Pattern=`^[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$`
// +kubebuilder:validation:MaxLength=32
type Decimal string

// Ratio is a decimal number in [0, 1] written as a string, for example "0.8".
// +kubebuilder:validation:Pattern=`^[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$`
// +kubebuilder:validation:MaxLength=32
// +kubebuilder:validation:XValidation:rule="double(self) >= 0.0 && double(self) <= 1.0",message="must be a number between 0 and 1"
type Ratio string

// OpenRatio is a decimal number strictly between 0 and 1, for example a
// privacy delta "1e-5" or a significance level "0.001".
// +kubebuilder:validation:Pattern=`^[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$`
// +kubebuilder:validation:MaxLength=32
// +kubebuilder:validation:XValidation:rule="double(self) > 0.0 && double(self) < 1.0",message="must be a number strictly between 0 and 1"
type OpenRatio string

// SHA256 is a lowercase hex SHA-256 digest (64 characters, no prefix).
// +kubebuilder:validation:Pattern=`^[a-f0-9]{64}$`
type SHA256 string

// ArtifactURI locates a model or data artifact: file://, http://, https://
// or s3://bucket/key (read as spec.storage.s3 says).
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=2048
// +kubebuilder:validation:XValidation:rule="self.startsWith('file://') || self.startsWith('http://') || self.startsWith('https://') || self.startsWith('s3://')",message="must be a file://, http://, https:// or s3:// URI"
// +kubebuilder:validation:XValidation:rule="!self.startsWith('s3://') || self.matches('^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/[^?#]+$')",message="an s3:// URI is s3://bucket/key: a lowercase bucket name of 3 to 63 characters and a non-empty key"
type ArtifactURI string

// LocalObjectReference names an object in the same namespace.
type LocalObjectReference struct {
	// Name of the referenced object.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// Threshold is a policy threshold: a decimal number, possibly negative,
// written as a string, for example "0.8" or "-0.1".
// +kubebuilder:validation:Pattern=`^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$`
// +kubebuilder:validation:MaxLength=32
type Threshold string
