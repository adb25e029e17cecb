package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/responsible-ai/rmodel-operator/internal/monitoring"
	"github.com/responsible-ai/rmodel-operator/internal/onnxwriter"
	"github.com/responsible-ai/rmodel-operator/internal/report"
)

// TestEvaluateReference: the evaluation Job form writes the whole summary
// as one line of standard output and a rai.report/v1 of kind reference
// whose details name that line's sha256 — the digest the operator checks
// the pod's log against — and fits a termination message.
func TestEvaluateReference(t *testing.T) {
	dir := t.TempDir()
	names := []string{"income", "debt", "region_score"}
	rng := rand.New(rand.NewPCG(7, 8))
	mlp := onnxwriter.RandomMLP(rng.Float64, len(names), 8)
	model, err := mlp.Marshal(onnxwriter.ModelInfo{Metadata: map[string]string{"rai.features": strings.Join(names, ",")}})
	if err != nil {
		t.Fatal(err)
	}
	modelPath := filepath.Join(dir, "model.onnx")
	os.WriteFile(modelPath, model, 0o644)
	sum := sha256.Sum256(model)
	var csv strings.Builder
	csv.WriteString("sex,income,debt,region_score,label\n")
	for range 2000 {
		row, sex, label := creditRow(rng, 0)
		fmt.Fprintf(&csv, "%s,%v,%v,%v,%d\n", sex, row[0], row[1], row[2], label)
	}
	dataPath := filepath.Join(dir, "eval.csv")
	os.WriteFile(dataPath, []byte(csv.String()), 0o644)
	reportPath, termPath := filepath.Join(dir, "report.json"), filepath.Join(dir, "termination-log")
	out, err := runRai(context.Background(), "evaluate", "reference", "--model", modelPath, "--sha256", hex.EncodeToString(sum[:]),
		"--model-name", "credit", "--model-version", "v1", "--data", dataPath, "--label", "label", "--sensitive", "sex",
		"--report", reportPath, "--termination-log", termPath)
	if err != nil {
		t.Fatalf("rai evaluate reference: %v\n%s", err, out)
	}
	term, err := os.ReadFile(termPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(term) > report.MaxCompactBytes {
		t.Errorf("termination message of %d bytes, over %d", len(term), report.MaxCompactBytes)
	}
	rep, err := report.Parse(term)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Kind != report.KindReference || rep.State != report.StateSucceeded || rep.Model.SHA256 != hex.EncodeToString(sum[:]) || rep.Dataset == nil || rep.Dataset.Rows != 2000 {
		t.Fatalf("report %+v", rep)
	}
	var digest monitoring.ReferenceDigest
	if err := json.Unmarshal(rep.Details, &digest); err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(out, "\n")
	var found *monitoring.Reference
	for _, l := range lines {
		if ref, err := monitoring.ParseReference([]byte(l), digest.SHA256); err == nil {
			found = ref
		}
	}
	if found == nil {
		t.Fatalf("no line of the output has the report's sha256 %s (%d lines)", digest.SHA256, len(lines))
	}
	if len(found.Features) != 3 || len(found.Groups) != 2 || digest.Features != 3 {
		t.Errorf("reference of %d features, %d groups; digest %+v", len(found.Features), len(found.Groups), digest)
	}
	if *rep.Metrics["features"] != 3 {
		t.Errorf("metrics %v", rep.Metrics)
	}
}
