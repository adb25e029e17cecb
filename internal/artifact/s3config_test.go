package artifact

import (
	"context"
	"strings"
	"testing"
)

func TestS3URIsAndEndpoints(t *testing.T) {
	for _, tc := range []struct {
		uri, bucket, key string
		// wantErr is a substring of the error; empty means valid.
		wantErr string
	}{
		{uri: "s3://models/credit/v1/model.onnx", bucket: "models", key: "credit/v1/model.onnx"},
		{uri: "s3://models/a%20b.csv", bucket: "models", key: "a%20b.csv"},
		{uri: "s3://models/", wantErr: "want s3://bucket/key"},
		{uri: "s3://models", wantErr: "want s3://bucket/key"},
		{uri: "s3:///key", wantErr: "want s3://bucket/key"},
		{uri: "s3://models/k?versionId=1", wantErr: "want s3://bucket/key"},
	} {
		bucket, key, err := parseS3URI(tc.uri)
		switch {
		case tc.wantErr == "" && (err != nil || bucket != tc.bucket || key != tc.key):
			t.Errorf("parseS3URI(%q) = %q, %q, %v; want %q, %q", tc.uri, bucket, key, err, tc.bucket, tc.key)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("parseS3URI(%q): %v, want an error containing %q", tc.uri, err, tc.wantErr)
		}
	}
	for _, tc := range []struct {
		endpoint, host string
		secure         bool
		wantErr        bool
	}{
		{endpoint: "", host: "s3.amazonaws.com", secure: true},
		{endpoint: "https://minio.storage.svc:9000", host: "minio.storage.svc:9000", secure: true},
		{endpoint: "http://127.0.0.1:8333/", host: "127.0.0.1:8333"},
		{endpoint: "minio:9000", wantErr: true},
		{endpoint: "https://minio:9000/models", wantErr: true},
		{endpoint: "ftp://minio", wantErr: true},
	} {
		host, secure, err := S3Config{Endpoint: tc.endpoint}.endpoint()
		if (err != nil) != tc.wantErr || host != tc.host || secure != tc.secure {
			t.Errorf("endpoint %q = %q, secure %v, %v", tc.endpoint, host, secure, err)
		}
	}
	t.Setenv(EnvS3PathStyle, "yes please")
	if _, err := Fetch(context.Background(), "s3://models/m.onnx", strings.Repeat("0", 64), 1); err == nil || !strings.Contains(err.Error(), EnvS3PathStyle) {
		t.Errorf("a malformed %s: %v", EnvS3PathStyle, err)
	}
	t.Setenv(EnvS3PathStyle, "")
	t.Setenv(EnvS3Endpoint, "minio:9000")
	if _, err := Fetch(context.Background(), "s3://models/m.onnx", strings.Repeat("0", 64), 1); err == nil || !strings.Contains(err.Error(), `S3 endpoint "minio:9000"`) {
		t.Errorf("an endpoint without a scheme: %v", err)
	}
}
