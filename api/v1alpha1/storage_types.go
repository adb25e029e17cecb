package v1alpha1

// StorageSpec says how the artifacts this spec names by s3:// URI are read:
// the model, the evaluation datasets and the membership-audit files. It
// applies to the serving pods and to every evaluation Job.
type StorageSpec struct {
	// S3 configures the S3-compatible object store that s3://bucket/key
	// URIs name. Without it, s3:// URIs are read anonymously from AWS S3 in
	// us-east-1 with virtual-hosted-style addressing.
	// +optional
	S3 *S3Storage `json:"s3,omitempty"`
}

// S3Storage locates an S3-compatible object store and the credentials that
// read it.
type S3Storage struct {
	// Endpoint is the store's base URL, scheme included and no path, for
	// example "https://minio.storage.svc:9000" (http:// only inside a trusted
	// network). Empty means AWS S3 in region.
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:Pattern=`^https?://[^/?#@\s]+$`
	// +optional
	Endpoint string `json:"endpoint,omitempty"`

	// Region signs the requests (SigV4), for example "eu-west-1". Most
	// S3-compatible stores accept the default.
	// +kubebuilder:default=us-east-1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`
	// +optional
	Region string `json:"region,omitempty"`

	// PathStyle addresses objects as endpoint/bucket/key instead of
	// bucket.endpoint/key. Most self-hosted stores (MinIO, SeaweedFS, Ceph)
	// need it.
	// +optional
	PathStyle bool `json:"pathStyle,omitempty"`

	// CredentialsSecretRef names a Secret (same namespace) with the keys
	// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and optionally
	// AWS_SESSION_TOKEN. The serving and evaluation containers get them as
	// environment variables; the operator never reads the Secret. Without it
	// requests are anonymous.
	// +optional
	CredentialsSecretRef *LocalObjectReference `json:"credentialsSecretRef,omitempty"`

	// CABundle names a ConfigMap key (same namespace) holding the PEM
	// certificates that verify an https endpoint, in place of the system's
	// roots: for a store whose certificate a private CA signed.
	// +optional
	CABundle *ConfigMapKeyReference `json:"caBundle,omitempty"`
}

// ConfigMapKeyReference names a key of a ConfigMap in the same namespace.
type ConfigMapKeyReference struct {
	// Name of the ConfigMap.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// Key holding the value.
	// +kubebuilder:default="ca.crt"
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	// +optional
	Key string `json:"key,omitempty"`
}
