package artifact

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func digest(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func TestFetchAndLocalize(t *testing.T) {
	content := []byte("a,b,label\n1,2,1\n")
	dir := t.TempDir()
	path := filepath.Join(dir, "eval.csv")
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	good, bad := digest(content), digest([]byte("other"))
	ctx := context.Background()

	for _, uri := range []string{"file://" + path, srv.URL + "/eval.csv"} {
		data, err := Fetch(ctx, uri, strings.ToUpper(good), 1<<20)
		if err != nil || string(data) != string(content) {
			t.Fatalf("Fetch(%s) = %q, %v", uri, data, err)
		}
		if _, err := Fetch(ctx, uri, bad, 1<<20); !errors.Is(err, ErrDigestMismatch) {
			t.Fatalf("Fetch(%s) with a wrong digest: %v, want ErrDigestMismatch", uri, err)
		}
		if _, err := Fetch(ctx, uri, good, 4); err == nil || !strings.Contains(err.Error(), "larger than 4 bytes") {
			t.Fatalf("Fetch(%s) over the size limit: %v", uri, err)
		}

		out := t.TempDir()
		local, err := Localize(ctx, uri, good, out)
		if err != nil {
			t.Fatalf("Localize(%s): %v", uri, err)
		}
		if got, _ := os.ReadFile(local); string(got) != string(content) {
			t.Fatalf("Localize(%s) wrote %q", uri, got)
		}
		if _, err := Localize(ctx, uri, bad, out); !errors.Is(err, ErrDigestMismatch) {
			t.Fatalf("Localize(%s) with a wrong digest: %v", uri, err)
		}
		if entries, _ := os.ReadDir(out); len(entries) != 1 {
			t.Fatalf("a refused artifact was left behind: %d files in %s", len(entries), out)
		}
		if _, err := Localize(ctx, uri, "", out); err == nil || !strings.Contains(err.Error(), "sha256 is required") {
			t.Fatalf("Localize(%s) without a digest: %v", uri, err)
		}
	}

	// A plain path is used in place, checked when a digest is given.
	if p, err := Localize(ctx, path, good, ""); err != nil || p != path {
		t.Fatalf("Localize(path) = %q, %v", p, err)
	}
	if _, err := Localize(ctx, path, bad, ""); !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("Localize(path) with a wrong digest: %v", err)
	}

	for uri, want := range map[string]string{
		srv.URL + "/missing.csv": "404",
		"ftp://host/m.onnx":      `scheme "ftp" not supported`,
		"file://host/m.onnx":     "file URIs name a local path",
		"file:///no/such/file":   "no such file",
	} {
		if _, err := Fetch(ctx, uri, good, 1<<20); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Fetch(%s) = %v, want an error containing %q", uri, err, want)
		}
	}
	if _, err := Fetch(ctx, "file://"+path, "abc", 1<<20); err == nil || !strings.Contains(err.Error(), "not 64 hexadecimal digits") {
		t.Errorf("malformed digest: %v", err)
	}
}
