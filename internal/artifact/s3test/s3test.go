// Package s3test starts a real S3-compatible server for tests: SeaweedFS's
// `weed server -s3` (master, volume server, filer and S3 gateway in one
// process) on free local ports, with one identity. `make test-deps` builds
// bin/weed from the Go module proxy (hack/tools/seaweedfs); RAI_WEED names
// another binary. Tests skip, saying why, when there is none.
package s3test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
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

// The identity the server knows.
const (
	AccessKey = "rai-test"
	SecretKey = "rai-test-secret-key"
	Region    = "us-east-1"
)

// Server is a running SeaweedFS.
type Server struct {
	// Endpoint is the S3 gateway's base URL (path-style addressing).
	Endpoint string
	// TLSEndpoint, with StartTLS, is its https URL, whose certificate
	// (for 127.0.0.1) CAFile's certificate signed.
	TLSEndpoint, CAFile string
	cmd                 *exec.Cmd
	log                 string
	done                chan struct{}
}

// Binary returns the weed binary, or skips the test.
func Binary(t testing.TB) string {
	t.Helper()
	path := os.Getenv("RAI_WEED")
	if path == "" {
		// A test runs in its package's directory: the repository's bin/
		// is in it or above it.
		dir, _ := os.Getwd()
		path = filepath.Join(dir, "bin", "weed")
		for parent := filepath.Dir(dir); parent != dir; dir, parent = parent, filepath.Dir(parent) {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				path = filepath.Join(dir, "bin", "weed")
				if _, err := os.Stat(filepath.Join(dir, "hack", "tools", "seaweedfs")); err == nil {
					break
				}
			}
		}
	}
	if _, err := os.Stat(path); err != nil {
		t.Skipf("no SeaweedFS binary at %s (`make weed` builds it; `make test` does first): skipping the tests against a real S3 server", path)
	}
	return path
}

// freePorts returns n TCP ports that were free a moment ago.
func freePorts(t testing.TB, n int) []int {
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

// Start starts a server with the given buckets and waits until it stores
// objects; it is killed when the test ends.
func Start(t testing.TB, buckets ...string) *Server {
	t.Helper()
	return start(t, false, buckets)
}

// StartTLS is Start with an https endpoint too, its certificate signed by a
// CA made for the test.
func StartTLS(t testing.TB, buckets ...string) *Server {
	t.Helper()
	return start(t, true, buckets)
}

func start(t testing.TB, withTLS bool, buckets []string) *Server {
	t.Helper()
	bin := Binary(t)
	dir := t.TempDir()
	identities := fmt.Sprintf(`{"identities":[{"name":"rai","credentials":[{"accessKey":%q,"secretKey":%q}],"actions":["Admin","Read","Write","List","Tagging"]}]}`, AccessKey, SecretKey)
	conf := filepath.Join(dir, "s3.json")
	if err := os.WriteFile(conf, []byte(identities), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := freePorts(t, 11)
	port := func(i int) string { return strconv.Itoa(p[i]) }
	args := []string{"server", "-dir=" + filepath.Join(dir, "data"), "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
		"-master.port=" + port(0), "-master.port.grpc=" + port(1),
		"-volume.port=" + port(2), "-volume.port.grpc=" + port(3), "-volume.max=32", "-master.volumeSizeLimitMB=64",
		"-filer", "-filer.port=" + port(4), "-filer.port.grpc=" + port(5),
		"-s3", "-s3.port=" + port(6), "-s3.port.grpc=" + port(7), "-s3.port.iceberg=" + port(8),
		"-s3.config=" + conf, "-metricsPort=" + port(9), "-iam=false",
	}
	var caFile string
	if withTLS {
		var certFile, keyFile string
		caFile, certFile, keyFile = writeCertificates(t, dir)
		args = append(args, "-s3.cert.file="+certFile, "-s3.key.file="+keyFile, "-s3.port.https="+port(10))
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
	s := &Server{Endpoint: "http://127.0.0.1:" + port(6), cmd: cmd, log: logPath, done: make(chan struct{})}
	if withTLS {
		s.TLSEndpoint, s.CAFile = "https://127.0.0.1:"+port(10), caFile
	}
	go func() { cmd.Wait(); logFile.Close(); close(s.done) }()
	t.Cleanup(s.Stop)

	// Ready when a bucket can be made and an object stored: the gateway
	// answers before the volume server has registered.
	admin := s.Client(t, AccessKey, SecretKey)
	ctx := context.Background()
	deadline := time.Now().Add(90 * time.Second)
	if len(buckets) == 0 {
		buckets = []string{"ready"}
	}
	// Each bucket is a collection with volumes of its own: write to each.
	for _, bucket := range buckets {
		for {
			err := admin.MakeBucket(ctx, bucket, minio.MakeBucketOptions{})
			if err != nil && minio.ToErrorResponse(err).Code == "BucketAlreadyOwnedByYou" {
				err = nil
			}
			if err == nil {
				_, err = admin.PutObject(ctx, bucket, ".ready", bytes.NewReader([]byte("ok")), 2, minio.PutObjectOptions{})
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
	}
	t.Logf("SeaweedFS S3 gateway at %s stores objects %.1fs after start", s.Endpoint, time.Since(start).Seconds())
	return s
}

// Client is an S3 client of the server with the given credentials.
func (s *Server) Client(t testing.TB, access, secret string) *minio.Client {
	t.Helper()
	c, err := minio.New(strings.TrimPrefix(s.Endpoint, "http://"), &minio.Options{
		Creds: credentials.NewStaticV4(access, secret, ""), Region: Region, BucketLookup: minio.BucketLookupPath, MaxRetries: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Put uploads content as bucket/key and returns its s3:// URI.
func (s *Server) Put(t testing.TB, bucket, key string, content []byte) string {
	t.Helper()
	if _, err := s.Client(t, AccessKey, SecretKey).PutObject(context.Background(), bucket, key, bytes.NewReader(content), int64(len(content)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("upload s3://%s/%s: %v", bucket, key, err)
	}
	return "s3://" + bucket + "/" + key
}

// Stop kills the server and waits for it to exit.
func (s *Server) Stop() {
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Kill()
	<-s.done
}

func (s *Server) tail() string {
	b, _ := os.ReadFile(s.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// writeCertificates makes a CA and a server certificate for 127.0.0.1
// that it signs, and writes the CA's certificate and the server's
// certificate and key as PEM files in dir.
func writeCertificates(t testing.TB, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rai test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	must(err)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	must(err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	must(err)
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		must(os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
		return path
	}
	return write("ca.crt", "CERTIFICATE", caDER), write("tls.crt", "CERTIFICATE", leafDER), write("tls.key", "EC PRIVATE KEY", keyDER)
}
