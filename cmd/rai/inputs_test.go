package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFetchInputsLocalizesURIs(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "eval.csv")
	content := []byte("x,label\n1,1\n")
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	good := hex.EncodeToString(sum[:])

	var c commonFlags
	uri, plain := "file://"+path, "relative.csv"
	if err := c.fetchInputs(context.Background(), []input{{"--data", "--data-sha256", &uri, good}, {"--members", "--members-sha256", &plain, ""}}); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(uri); err != nil || string(got) != string(content) || !strings.HasPrefix(uri, c.tmpDir) {
		t.Fatalf("the URI was not replaced by a local copy in %s: %q (%v)", c.tmpDir, uri, err)
	}
	if plain != "relative.csv" {
		t.Fatalf("a plain path was rewritten to %q", plain)
	}
	tmp := c.tmpDir
	c.cleanup()
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("cleanup left %s behind", tmp)
	}

	bad := "file://" + path
	err := c.fetchInputs(context.Background(), []input{{"--data", "--data-sha256", &bad, strings.Repeat("0", 64)}})
	if err == nil || !strings.Contains(err.Error(), "--data") || !strings.Contains(err.Error(), "sha256 mismatch") {
		t.Fatalf("a digest mismatch: %v", err)
	}
	c.cleanup()
	err = c.fetchInputs(context.Background(), []input{{"--model", "--sha256", &bad, ""}})
	if err == nil || !strings.Contains(err.Error(), "needs its sha256 (--sha256)") {
		t.Fatalf("a URI without a digest: %v", err)
	}
}
