package artifact

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// The S3 tests run against a real SeaweedFS S3 gateway (`weed server -s3`),
// which `make test-deps` builds into bin/weed from the Go module proxy
// (hack/tools/seaweedfs). RAI_WEED names another binary.

const (
	s3AccessKey = "rai-test"
	s3SecretKey = "rai-test-secret-key"
	s3Bucket    = "models"
)

// weedBinary returns the weed binary, or skips the test.
func weedBinary(t *testing.T) string {
	t.Helper()
	path := os.Getenv("RAI_WEED")
	if path == "" {
		path, _ = filepath.Abs("../../bin/weed")
	}
	if _, err := os.Stat(path); err != nil {
		t.Skipf("no SeaweedFS binary at %s (`make weed` builds it; `make test` does first): skipping the tests against a real S3 server", path)
	}
	return path
}

// freePorts returns n TCP ports that were free a moment ago.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// weedServer is a running SeaweedFS with one S3 identity.
type weedServer struct {
	endpoint string
	cmd      *exec.Cmd
	log      string
	done     chan struct{}
}

// startWeed starts master, volume, filer and S3 gateway in one process on
// free ports and waits until the gateway stores objects.
func startWeed(t *testing.T) *weedServer {
	t.Helper()
	bin := weedBinary(t)
	dir := t.TempDir()
	identities := fmt.Sprintf(`{"identities":[{"name":"rai","credentials":[{"accessKey":%q,"secretKey":%q}],"actions":["Admin","Read","Write","List","Tagging"]}]}`, s3AccessKey, s3SecretKey)
	conf := filepath.Join(dir, "s3.json")
	if err := os.WriteFile(conf, []byte(identities), 0o600); err != nil {
		t.Fatal(err)
	}
	p := freePorts(t, 11)
	port := func(i int) string { return strconv.Itoa(p[i]) }
	args := []string{"server", "-dir=" + filepath.Join(dir, "data"), "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
		"-master.port=" + port(0), "-master.port.grpc=" + port(1),
		"-volume.port=" + port(2), "-volume.port.grpc=" + port(3), "-volume.max=4",
		"-filer", "-filer.port=" + port(4), "-filer.port.grpc=" + port(5),
		"-s3", "-s3.port=" + port(6), "-s3.port.grpc=" + port(7), "-s3.port.iceberg=" + port(8),
		"-s3.config=" + conf, "-metricsPort=" + port(9), "-iam=false",
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "weed.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	s := &weedServer{endpoint: "http://127.0.0.1:" + port(6), cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { cmd.Wait(); logFile.Close(); close(s.done) }()
	t.Cleanup(s.stop)

	// Ready when a bucket can be made and an object stored: the gateway
	// answers before the volume server has registered.
	admin := s.client(t, s3AccessKey, s3SecretKey)
	ctx := context.Background()
	deadline := time.Now().Add(90 * time.Second)
	for {
		err := admin.MakeBucket(ctx, s3Bucket, minio.MakeBucketOptions{})
		if err != nil && minio.ToErrorResponse(err).Code == "BucketAlreadyOwnedByYou" {
			err = nil
		}
		if err == nil {
			_, err = admin.PutObject(ctx, s3Bucket, ".ready", bytes.NewReader([]byte("ok")), 2, minio.PutObjectOptions{})
		}
		if err == nil {
			break
		}
		select {
		case <-s.done:
			t.Fatalf("weed exited: %s", s.tail())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("SeaweedFS did not store an object within 90s (last error: %v):\n%s", err, s.tail())
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("SeaweedFS S3 gateway at %s stores objects %.1fs after start", s.endpoint, time.Since(start).Seconds())
	return s
}

func (s *weedServer) client(t *testing.T, access, secret string) *minio.Client {
	t.Helper()
	c, err := minio.New(strings.TrimPrefix(s.endpoint, "http://"), &minio.Options{
		Creds: credentials.NewStaticV4(access, secret, ""), Region: DefaultS3Region, BucketLookup: minio.BucketLookupPath, MaxRetries: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// stop kills the server and waits until its S3 port is closed.
func (s *weedServer) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Kill()
	<-s.done
}

func (s *weedServer) tail() string {
	b, _ := os.ReadFile(s.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// useS3 points the fetcher's environment at the server.
func (s *weedServer) useS3(t *testing.T, access, secret string) {
	t.Setenv(EnvS3Endpoint, s.endpoint)
	t.Setenv(EnvS3Region, DefaultS3Region)
	t.Setenv(EnvS3PathStyle, "true")
	t.Setenv(EnvS3AccessKey, access)
	t.Setenv(EnvS3SecretKey, secret)
	t.Setenv(EnvS3SessionToken, "")
}

func TestS3AgainstSeaweedFS(t *testing.T) {
	srv := startWeed(t)
	ctx := context.Background()
	model := bytes.Repeat([]byte("onnx-model-bytes "), 4096)
	data := []byte("age,income,label\n30,1,1\n40,0,0\n")
	admin := srv.client(t, s3AccessKey, s3SecretKey)
	for key, content := range map[string][]byte{"credit/v1/model.onnx": model, "credit/eval.csv": data} {
		if _, err := admin.PutObject(ctx, s3Bucket, key, bytes.NewReader(content), int64(len(content)), minio.PutObjectOptions{}); err != nil {
			t.Fatalf("upload %s: %v", key, err)
		}
	}
	modelURI := "s3://" + s3Bucket + "/credit/v1/model.onnx"
	dataURI := "s3://" + s3Bucket + "/credit/eval.csv"

	t.Run("right credentials: fetched and verified", func(t *testing.T) {
		srv.useS3(t, s3AccessKey, s3SecretKey)
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
		{name: "wrong secret key", access: s3AccessKey, secret: "not-the-secret", uri: modelURI,
			want: []string{modelURI, srv.endpoint, "SignatureDoesNotMatch", "HTTP 403"}, is: ErrAccessDenied},
		{name: "unknown access key", access: "nobody", secret: s3SecretKey, uri: modelURI,
			want: []string{modelURI, "InvalidAccessKeyId", "HTTP 403"}, is: ErrAccessDenied},
		{name: "no credentials", uri: modelURI,
			want: []string{modelURI, "AccessDenied", "HTTP 403"}, is: ErrAccessDenied},
		{name: "missing key", access: s3AccessKey, secret: s3SecretKey, uri: "s3://" + s3Bucket + "/credit/v9/model.onnx",
			want: []string{"s3://models/credit/v9/model.onnx", "NoSuchKey", "HTTP 404"}, is: ErrNotFound},
		{name: "missing bucket", access: s3AccessKey, secret: s3SecretKey, uri: "s3://no-such-bucket/model.onnx",
			want: []string{"s3://no-such-bucket/model.onnx", "NoSuchBucket", "HTTP 404"}, is: ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.useS3(t, tc.access, tc.secret)
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

	t.Run("cache by digest: the second fetch does not reach the server", func(t *testing.T) {
		srv.useS3(t, s3AccessKey, s3SecretKey)
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

		srv.stop()
		if _, err := http.Get(srv.endpoint); err == nil {
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
