package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/responsible-ai/rmodel-operator/internal/artifact"
)

// TestCheckPartDigests: the merge takes only the parts the operator read.
func TestCheckPartDigests(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	for p, body := range map[string]string{a: `{"part":0}`, b: `{"part":1}`} {
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	da, _ := artifact.FileSHA256(a)
	db, _ := artifact.FileSHA256(b)
	if err := checkPartDigests([]string{a, b}, []string{da, db}); err != nil {
		t.Errorf("matching digests: %v", err)
	}
	if err := checkPartDigests([]string{a, b}, nil); err != nil {
		t.Errorf("no digests: %v", err)
	}
	if err := checkPartDigests([]string{a, b}, []string{db, da}); err == nil || !strings.Contains(err.Error(), "not the report the operator read") {
		t.Errorf("swapped digests: %v", err)
	}
	if err := checkPartDigests([]string{a, b}, []string{da}); err == nil || !strings.Contains(err.Error(), "1 --part-sha256 digests for 2 parts") {
		t.Errorf("too few digests: %v", err)
	}
}
