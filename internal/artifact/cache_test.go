package artifact

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestCacheSavesDownloads counts the requests an HTTP server gets: a digest
// in the cache is not downloaded again, by Fetch or by Localize, and the
// least recently used entries go when the cache is over its size.
func TestCacheSavesDownloads(t *testing.T) {
	const size = 1000
	var requests atomic.Int64
	content := func(name string) []byte { return []byte(strings.Repeat(name, size/len(name))) }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Write(content(strings.TrimPrefix(r.URL.Path, "/")))
	}))
	defer srv.Close()
	dir := t.TempDir()
	t.Setenv(EnvCacheDir, dir)
	t.Setenv(EnvCacheMaxBytes, strconv.Itoa(2*size+size/2)) // room for two entries
	ctx := context.Background()
	fetch := func(name string) {
		t.Helper()
		if got, err := Fetch(ctx, srv.URL+"/"+name, digest(content(name)), 1<<20); err != nil || string(got) != string(content(name)) {
			t.Fatalf("Fetch(%s) = %q, %v", name, got, err)
		}
	}
	expectRequests := func(n int64, why string) {
		t.Helper()
		if got := requests.Load(); got != n {
			t.Fatalf("%s: the server got %d requests in all, want %d", why, got, n)
		}
	}

	fetch("a")
	expectRequests(1, "first fetch of a")
	fetch("a")
	expectRequests(1, "a again")
	local, err := Localize(ctx, srv.URL+"/a", digest(content("a")), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	expectRequests(1, "a localized")
	if b, _ := os.ReadFile(local); string(b) != string(content("a")) {
		t.Fatalf("Localize from the cache wrote %q", b)
	}
	// Localize fills the cache too.
	if _, err := Localize(ctx, srv.URL+"/b", digest(content("b")), t.TempDir()); err != nil {
		t.Fatal(err)
	}
	expectRequests(2, "b localized")
	fetch("b")
	expectRequests(2, "b fetched")

	// a is used after b, so storing c (over the limit) removes b.
	past := time.Now().Add(-time.Minute)
	os.Chtimes(filepath.Join(dir, "sha256", digest(content("a"))), past, past)
	os.Chtimes(filepath.Join(dir, "sha256", digest(content("b"))), past.Add(-time.Minute), past.Add(-time.Minute))
	fetch("a")
	expectRequests(2, "a from the cache")
	fetch("c")
	expectRequests(3, "c")
	for name, want := range map[string]bool{"a": true, "b": false, "c": true} {
		if _, err := os.Stat(filepath.Join(dir, "sha256", digest(content(name)))); (err == nil) != want {
			t.Errorf("after trimming, %s cached: %v, want %v", name, err == nil, want)
		}
	}

	// file:// artifacts are local already: never copied into the cache.
	path := filepath.Join(t.TempDir(), "d")
	os.WriteFile(path, content("d"), 0o644)
	if _, err := Fetch(ctx, "file://"+path, digest(content("d")), 1<<20); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "sha256", digest(content("d")))); err == nil {
		t.Errorf("a file:// artifact was cached")
	}

	// An unwritable cache costs downloads, not failures.
	t.Setenv(EnvCacheDir, filepath.Join(path, "not-a-directory"))
	before := requests.Load()
	for range 2 {
		fetch("e")
	}
	expectRequests(before+2, fmt.Sprintf("an unwritable cache (%s)", os.Getenv(EnvCacheDir)))
}
