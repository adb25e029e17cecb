package artifact

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/responsible-ai/rmodel-operator/internal/artifact/s3test"
)

// The S3 tests run against a real SeaweedFS S3 gateway (see s3test).

const s3Bucket = "models"

// useS3 points the fetcher's environment at the server.
func useS3(t *testing.T, s *s3test.Server, access, secret string) {
	t.Setenv(EnvS3Endpoint, s.Endpoint)
	t.Setenv(EnvS3Region, DefaultS3Region)
	t.Setenv(EnvS3PathStyle, "true")
	t.Setenv(EnvS3AccessKey, access)
	t.Setenv(EnvS3SecretKey, secret)
	t.Setenv(EnvS3SessionToken, "")
}

func TestS3AgainstSeaweedFS(t *testing.T) {
	srv := s3test.StartTLS(t, s3Bucket)
	ctx := context.Background()
	model := bytes.Repeat([]byte("onnx-model-bytes "), 4096)
	data := []byte("age,income,label\n30,1,1\n40,0,0\n")
	modelURI := srv.Put(t, s3Bucket, "credit/v1/model.onnx", model)
	dataURI := srv.Put(t, s3Bucket, "credit/eval.csv", data)

	t.Run("right credentials: fetched and verified", func(t *testing.T) {
		useS3(t, srv, s3test.AccessKey, s3test.SecretKey)
		t.Setenv(EnvCacheDir, "")
		got, err := Fetch(ctx, modelURI, digest(model), 1<<30)
		if err != nil || !bytes.Equal(got, model) {
			t.Fatalf("Fetch(%s) = %d bytes, %v", modelURI, len(got), err)
		}
		dir := t.TempDir()
		path, err := Localize(ctx, dataURI, digest(data), dir)
		if err != nil {
			t.Fatalf("Localize(%s): %v", dataURI, err)
		}
		if b, _ := os.ReadFile(path); !bytes.Equal(b, data) || filepath.Dir(path) != dir {
			t.Fatalf("Localize(%s) = %s holding %q", dataURI, path, b)
		}
		if _, err := Fetch(ctx, modelURI, digest([]byte("another model")), 1<<30); !errors.Is(err, ErrDigestMismatch) {
			t.Fatalf("a model whose digest differs: %v, want ErrDigestMismatch", err)
		}
	})

	// Each refusal names the object, the store and S3's own error code.
	for _, tc := range []struct {
		name, access, secret, uri string
		// want are substrings of the error; is is the sentinel it wraps.
		want []string
		is   error
	}{
		{name: "wrong secret key", access: s3test.AccessKey, secret: "not-the-secret", uri: modelURI,
			want: []string{modelURI, srv.Endpoint, "SignatureDoesNotMatch", "HTTP 403"}, is: ErrAccessDenied},
		{name: "unknown access key", access: "nobody", secret: s3test.SecretKey, uri: modelURI,
			want: []string{modelURI, "InvalidAccessKeyId", "HTTP 403"}, is: ErrAccessDenied},
		{name: "no credentials", uri: modelURI,
			want: []string{modelURI, "AccessDenied", "HTTP 403"}, is: ErrAccessDenied},
		{name: "missing key", access: s3test.AccessKey, secret: s3test.SecretKey, uri: "s3://" + s3Bucket + "/credit/v9/model.onnx",
			want: []string{"s3://models/credit/v9/model.onnx", "NoSuchKey", "HTTP 404"}, is: ErrNotFound},
		{name: "missing bucket", access: s3test.AccessKey, secret: s3test.SecretKey, uri: "s3://no-such-bucket/model.onnx",
			want: []string{"s3://no-such-bucket/model.onnx", "NoSuchBucket", "HTTP 404"}, is: ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			useS3(t, srv, tc.access, tc.secret)
			cacheDir := t.TempDir()
			t.Setenv(EnvCacheDir, cacheDir)
			_, err := Fetch(ctx, tc.uri, digest(model), 1<<30)
			if err == nil {
				t.Fatal("fetched")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q: %v", w, err)
				}
			}
			if !errors.Is(err, tc.is) {
				t.Errorf("error does not wrap %v: %v", tc.is, err)
			}
			dir := t.TempDir()
			if _, err := Localize(ctx, tc.uri, digest(model), dir); !errors.Is(err, tc.is) {
				t.Errorf("Localize: %v, want %v", err, tc.is)
			}
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Errorf("Localize left %d files behind", len(left))
			}
			if _, cached := CachedPath(digest(model)); cached {
				t.Errorf("a refused fetch was cached")
			}
			t.Log(err)
		})
	}

	// SeaweedFS's https endpoint has a certificate that a CA made for the
	// test signed: refused with the system's roots, read with the bundle.
	t.Run("https with a private CA", func(t *testing.T) {
		model := []byte("a model behind TLS")
		uri := srv.Put(t, s3Bucket, "tls/model.onnx", model)
		useS3(t, srv, s3test.AccessKey, s3test.SecretKey)
		t.Setenv(EnvS3Endpoint, srv.TLSEndpoint)
		t.Setenv(EnvCacheDir, "")
		ctx := context.Background()

		t.Setenv(EnvS3CABundle, "")
		_, err := Fetch(ctx, uri, digest(model), 1<<20)
		if err == nil || !strings.Contains(err.Error(), "certificate") || !strings.Contains(err.Error(), srv.TLSEndpoint) {
			t.Fatalf("with the system's roots: %v, want a certificate error naming %s", err, srv.TLSEndpoint)
		}
		t.Log(err)
		t.Setenv(EnvS3CABundle, srv.CAFile)
		if got, err := Fetch(ctx, uri, digest(model), 1<<20); err != nil || !bytes.Equal(got, model) {
			t.Fatalf("with the CA bundle: %q, %v", got, err)
		}
		notPEM := filepath.Join(t.TempDir(), "ca.crt")
		os.WriteFile(notPEM, []byte("not a certificate"), 0o644)
		t.Setenv(EnvS3CABundle, notPEM)
		if _, err := Fetch(ctx, uri, digest(model), 1<<20); err == nil || !strings.Contains(err.Error(), "holds no PEM certificate") {
			t.Fatalf("a CA bundle without certificates: %v", err)
		}
	})

	t.Run("cache by digest: the second fetch does not reach the server", func(t *testing.T) {
		useS3(t, srv, s3test.AccessKey, s3test.SecretKey)
		t.Setenv(EnvCacheDir, t.TempDir())
		if _, err := Fetch(ctx, modelURI, digest(model), 1<<30); err != nil {
			t.Fatal(err)
		}
		if _, err := Localize(ctx, dataURI, digest(data), t.TempDir()); err != nil {
			t.Fatal(err)
		}
		entry, ok := CachedPath(digest(model))
		if !ok {
			t.Fatalf("the model is not cached at %s", entry)
		}
		// A corrupt entry is not used: it is replaced by a fresh download.
		os.Chmod(entry, 0o644)
		if err := os.WriteFile(entry, []byte("tampered"), 0o644); err != nil {
			t.Fatal(err)
		}
		if got, err := Fetch(ctx, modelURI, digest(model), 1<<30); err != nil || !bytes.Equal(got, model) {
			t.Fatalf("Fetch over a corrupt cache entry = %d bytes, %v", len(got), err)
		}
		if b, _ := os.ReadFile(entry); !bytes.Equal(b, model) {
			t.Fatalf("the corrupt entry was not replaced")
		}

		srv.Stop()
		if _, err := http.Get(srv.Endpoint); err == nil {
			t.Fatal("the S3 server still answers")
		}
		start := time.Now()
		got, err := Fetch(ctx, modelURI, digest(model), 1<<30)
		if err != nil || !bytes.Equal(got, model) {
			t.Fatalf("Fetch from the cache with the server down = %d bytes, %v", len(got), err)
		}
		t.Logf("cached model (%d bytes) read and verified in %v with the server down", len(got), time.Since(start))
		dir := t.TempDir()
		path, err := Localize(ctx, dataURI, digest(data), dir)
		if err != nil || filepath.Dir(path) != dir {
			t.Fatalf("Localize from the cache with the server down = %s, %v", path, err)
		}
		// A digest the cache lacks does need the server.
		if _, err := Fetch(ctx, modelURI, digest([]byte("v2")), 1<<30); err == nil || !strings.Contains(err.Error(), "connection refused") {
			t.Fatalf("an uncached digest with the server down: %v, want connection refused", err)
		}
	})
}
