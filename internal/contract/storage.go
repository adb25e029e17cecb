package contract

// The environment of a pod that reads s3:// artifacts, which the operator
// sets from spec.storage.s3 and rai's artifact fetcher reads: the
// credentials as references to the keys of the Secret the spec names (the
// operator never reads them), the rest as values. The AWS names are the
// ones AWS's own tools read.
const (
	EnvS3Endpoint     = "AWS_ENDPOINT_URL_S3"
	EnvS3Region       = "AWS_REGION"
	EnvS3PathStyle    = "RAI_S3_PATH_STYLE"
	EnvS3AccessKey    = "AWS_ACCESS_KEY_ID"
	EnvS3SecretKey    = "AWS_SECRET_ACCESS_KEY"
	EnvS3SessionToken = "AWS_SESSION_TOKEN"
	// EnvS3CABundle is the path of PEM certificates that verify an https
	// endpoint in place of the system's roots.
	EnvS3CABundle = "AWS_CA_BUNDLE"
)

// S3CABundleMountPath is where the operator mounts spec.storage.s3.caBundle
// (as the file S3CABundleFile).
const (
	S3CABundleMountPath = "/etc/rai/s3-ca"
	S3CABundleFile      = "ca.crt"
)

// DefaultS3Region signs requests when no region is set: spec.storage.s3.region's default.
const DefaultS3Region = "us-east-1"

// EnvArtifactCache names the directory where rai keeps remote artifacts by
// digest; ArtifactCacheMountPath is where the operator mounts the
// node-local cache in serving and evaluation pods.
const (
	EnvArtifactCache       = "RAI_ARTIFACT_CACHE"
	ArtifactCacheMountPath = "/var/cache/rai"
)
