package artifact

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/responsible-ai/rmodel-operator/internal/contract"
)

// The environment s3:// URIs are read with (see internal/contract).
const (
	EnvS3Endpoint     = contract.EnvS3Endpoint
	EnvS3Region       = contract.EnvS3Region
	EnvS3PathStyle    = contract.EnvS3PathStyle
	EnvS3AccessKey    = contract.EnvS3AccessKey
	EnvS3SecretKey    = contract.EnvS3SecretKey
	EnvS3SessionToken = contract.EnvS3SessionToken
	EnvS3CABundle     = contract.EnvS3CABundle
)

// DefaultS3Region signs requests when no region is set.
const DefaultS3Region = contract.DefaultS3Region

// ErrNotFound is returned when the object store has no such bucket or key.
var ErrNotFound = errors.New("artifact not found")

// ErrAccessDenied is returned when the object store refuses the credentials
// or their permissions.
var ErrAccessDenied = errors.New("access denied")

// S3Config says how s3://bucket/key URIs are read.
type S3Config struct {
	// Endpoint is the store's base URL (http:// or https://, no path);
	// empty means AWS S3.
	Endpoint string
	// Region signs the requests; empty means DefaultS3Region.
	Region string
	// PathStyle addresses endpoint/bucket/key instead of bucket.endpoint/key.
	PathStyle bool
	// AccessKey, SecretKey and SessionToken are the credentials; without
	// an access key and a secret key requests are anonymous.
	AccessKey, SecretKey, SessionToken string
	// CABundle is the path of PEM certificates that verify an https
	// endpoint in place of the system's roots; empty means the system's.
	CABundle string
}

// S3ConfigFromEnv reads the Env* variables.
func S3ConfigFromEnv() (S3Config, error) {
	c := S3Config{
		Endpoint:     os.Getenv(EnvS3Endpoint),
		Region:       os.Getenv(EnvS3Region),
		AccessKey:    os.Getenv(EnvS3AccessKey),
		SecretKey:    os.Getenv(EnvS3SecretKey),
		SessionToken: os.Getenv(EnvS3SessionToken),
		CABundle:     os.Getenv(EnvS3CABundle),
	}
	if v := os.Getenv(EnvS3PathStyle); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("%s=%q: want true or false", EnvS3PathStyle, v)
		}
		c.PathStyle = b
	}
	return c, nil
}

// endpoint returns the host[:port] and whether to use TLS.
func (c S3Config) endpoint() (host string, secure bool, err error) {
	if c.Endpoint == "" {
		return "s3.amazonaws.com", true, nil
	}
	u, err := url.Parse(c.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
		return "", false, fmt.Errorf("S3 endpoint %q: want http(s)://host[:port] with no path", c.Endpoint)
	}
	return u.Host, u.Scheme == "https", nil
}

// describe names the store in error messages.
func (c S3Config) describe() string {
	if c.Endpoint == "" {
		return "AWS S3"
	}
	return c.Endpoint
}

func (c S3Config) client() (*minio.Client, error) {
	host, secure, err := c.endpoint()
	if err != nil {
		return nil, err
	}
	region := c.Region
	if region == "" {
		region = DefaultS3Region
	}
	lookup := minio.BucketLookupDNS
	if c.PathStyle {
		lookup = minio.BucketLookupPath
	}
	creds := credentials.NewStaticV4("", "", "")
	if c.AccessKey != "" || c.SecretKey != "" {
		creds = credentials.NewStaticV4(c.AccessKey, c.SecretKey, c.SessionToken)
	}
	var transport http.RoundTripper
	if c.CABundle != "" {
		pem, err := os.ReadFile(c.CABundle)
		if err != nil {
			return nil, fmt.Errorf("S3 CA bundle: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("S3 CA bundle %s holds no PEM certificate", c.CABundle)
		}
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
		transport = t
	}
	return minio.New(host, &minio.Options{
		Creds:        creds,
		Transport:    transport,
		Secure:       secure,
		Region:       region,
		BucketLookup: lookup,
		// A pod that cannot read its artifact fails and is restarted by
		// Kubernetes; minio-go's ten retries would only hide why.
		MaxRetries: 3,
	})
}

// parseS3URI splits s3://bucket/key.
func parseS3URI(uri string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(uri, "s3://")
	if !ok {
		return "", "", fmt.Errorf("artifact URI %q: not an s3:// URI", uri)
	}
	bucket, key, _ = strings.Cut(rest, "/")
	if bucket == "" || key == "" || strings.ContainsAny(rest, "?#") {
		return "", "", fmt.Errorf("artifact URI %q: want s3://bucket/key", uri)
	}
	return bucket, key, nil
}

// openS3 opens s3://bucket/key with the configuration of the environment.
// The object is requested before it returns, so that a refused credential
// or a missing key is an error here, not on Read.
func openS3(ctx context.Context, uri string) (io.ReadCloser, error) {
	bucket, key, err := parseS3URI(uri)
	if err != nil {
		return nil, err
	}
	cfg, err := S3ConfigFromEnv()
	if err != nil {
		return nil, fmt.Errorf("fetch %q: %w", uri, err)
	}
	return cfg.Open(ctx, bucket, key)
}

// Open opens bucket/key. The caller closes it.
func (c S3Config) Open(ctx context.Context, bucket, key string) (io.ReadCloser, error) {
	uri := "s3://" + bucket + "/" + key
	cl, err := c.client()
	if err != nil {
		return nil, fmt.Errorf("fetch %q: %w", uri, err)
	}
	ctx, cancel := context.WithTimeout(ctx, DownloadTimeout)
	// Core's GetObject sends the GET now and returns S3's error document
	// (a HEAD answer has none: "403" would be all it says).
	body, _, _, err := minio.Core{Client: cl}.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		cancel()
		return nil, c.fetchError(uri, err)
	}
	return cancelOnClose{body, cancel}, nil
}

// fetchError names the object, the store and S3's error code, and wraps
// ErrNotFound or ErrAccessDenied where the code says so.
func (c S3Config) fetchError(uri string, err error) error {
	resp := minio.ToErrorResponse(err)
	if resp.Code == "" {
		return fmt.Errorf("fetch %q from %s: %w", uri, c.describe(), err)
	}
	var kind error
	switch resp.Code {
	case "NoSuchKey", "NoSuchBucket", "NotFound":
		kind = ErrNotFound
	case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "AuthorizationHeaderMalformed":
		kind = ErrAccessDenied
	}
	msg := fmt.Sprintf("fetch %q from %s: S3 error %s (HTTP %d): %s", uri, c.describe(), resp.Code, resp.StatusCode, resp.Message)
	if kind != nil {
		return fmt.Errorf("%s: %w", msg, kind)
	}
	return errors.New(msg)
}
