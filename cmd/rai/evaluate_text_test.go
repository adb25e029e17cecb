package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	evtext "github.com/responsible-ai/rmodel-operator/internal/evaluation/text"
	"github.com/responsible-ai/rmodel-operator/internal/report"
	"github.com/responsible-ai/rmodel-operator/internal/text"
	"github.com/responsible-ai/rmodel-operator/internal/textmodel/textmodeltest"
)

const textTestTokenizer = "../../internal/text/bertbase/bert-base-uncased.json"

func writeTextFile(t *testing.T, dir, name string, b []byte) (path, digest string) {
	t.Helper()
	path = filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return path, hex.EncodeToString(s[:])
}

func readReport(t *testing.T, path string) *report.Report {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := report.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestEvaluateTextCommands runs the text kinds as the operator's Jobs do: the tokenizer and
// the term pairs named by file:// URI with their digests, every text flag of the contract.
func TestEvaluateTextCommands(t *testing.T) {
	dir := t.TempDir()
	spec := textmodeltest.NewClassifier(2)
	mb, err := spec.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	model, modelSHA := writeTextFile(t, dir, "m.onnx", mb)
	tb, err := os.ReadFile(textTestTokenizer)
	if err != nil {
		t.Fatal(err)
	}
	tokPath, tokSHA := writeTextFile(t, dir, "tokenizer.json", tb)
	texts := []string{"he went home", "she went home", "he is a doctor", "the cat sat", "she said no"}
	var csv strings.Builder
	csv.WriteString("sentence,label,group\n")
	for i, s := range texts {
		csv.WriteString(s + "," + []string{"neg", "pos"}[i%2] + "," + []string{"a", "b"}[i%2] + "\n")
	}
	data, dataSHA := writeTextFile(t, dir, "d.csv", []byte(csv.String()))
	pairs, pairsSHA := writeTextFile(t, dir, "pairs.csv", []byte("a,b\nhe,she\n"))
	common := []string{"--task", "text-classification", "--model", model, "--sha256", modelSHA,
		"--tokenizer", "file://" + tokPath, "--tokenizer-sha256", tokSHA, "--labels", "neg,pos", "--max-length", "16",
		"--data", data, "--data-sha256", dataSHA, "--text-column", "sentence", "--favorable", "pos"}

	out := filepath.Join(dir, "cf.json")
	if msg, err := runRai(context.Background(), append([]string{"evaluate", "counterfactual", "--term-pairs", "file://" + pairs,
		"--term-pairs-sha256", pairsSHA, "--threshold", "0.5", "--label", "label", "--report", out}, common...)...); err != nil {
		t.Fatalf("counterfactual: %v\n%s", err, msg)
	}
	rep := readReport(t, out)
	// Expected from textmodeltest's float64 reference on the tokenizer's ids.
	tok, err := text.Load(textTestTokenizer)
	if err != nil {
		t.Fatal(err)
	}
	p := func(s string) float64 {
		e, err := tok.Encode(s, text.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return spec.Reference(e.IDs)[1]
	}
	var sum float64
	n := 0
	for _, s := range texts {
		if cf, ok := (evtext.TermPair{A: "he", B: "she"}).Swap(s); ok {
			sum += math.Abs(p(s) - p(cf))
			n++
		}
	}
	if n != 4 {
		t.Fatalf("%d texts with he/she", n)
	}
	if got := *rep.Metrics["counterfactual_mean_abs_delta"]; math.Abs(got-sum/4) > 1e-5 {
		t.Errorf("counterfactual_mean_abs_delta %v, want %v", got, sum/4)
	}
	if rep.Kind != report.KindCounterfactual || rep.Parameters["tokenizer_sha256"] != tokSHA || rep.Model.SHA256 != modelSHA || rep.Parameters["max_length"] != "16" {
		t.Errorf("report %+v", rep)
	}

	// fairness, robustness (no --sigma), explain and privacy of the same model.
	for _, tc := range []struct {
		kind   string
		args   []string
		metric string
	}{
		{"fairness", []string{"--label", "label", "--sensitive", "group", "--threshold", "0.5"}, "bpsn_auc_min"},
		{"robustness", []string{"--label", "label", "--max-edits", "2", "--typo-rate", "0.5", "--seed", "3"}, "typo_accuracy"},
		{"explain", []string{"--label", "label", "--samples", "2", "--lime-samples", "200"}, "baseline_accuracy"},
	} {
		out := filepath.Join(dir, tc.kind+".json")
		if msg, err := runRai(context.Background(), append(append([]string{"evaluate", tc.kind, "--report", out}, tc.args...), common...)...); err != nil {
			t.Fatalf("%s: %v\n%s", tc.kind, err, msg)
		}
		rep := readReport(t, out)
		if rep.State != report.StateSucceeded || rep.Metrics[tc.metric] == nil || rep.Parameters["task"] != "text-classification" {
			t.Errorf("%s: state %s, metrics %v, parameters %v", tc.kind, rep.State, rep.Metrics, rep.Parameters)
		}
	}
	privOut := filepath.Join(dir, "privacy.json")
	nonMembers, _ := writeTextFile(t, dir, "n.csv", []byte("sentence,label\nthe dog ran,pos\nrain again,neg\nno way,pos\n"))
	if msg, err := runRai(context.Background(), "evaluate", "privacy", "--task", "text-classification", "--model", model,
		"--tokenizer", tokPath, "--labels", "neg,pos", "--text-column", "sentence", "--members", data, "--non-members", nonMembers,
		"--label", "label", "--delta", "1e-5", "--report", privOut); err != nil {
		t.Fatalf("privacy: %v\n%s", err, msg)
	}
	if rep := readReport(t, privOut); rep.Metrics["mia_auc"] == nil || rep.Parameters["task"] != "text-classification" {
		t.Errorf("privacy: metrics %v", rep.Metrics)
	}

	// Refusals, each with an Error report.
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"shard", append([]string{"evaluate", "fairness", "--label", "label", "--sensitive", "group", "--shard", "0/2"}, common...), "text fairness evaluations do not shard"},
		{"sigma on text", append([]string{"evaluate", "robustness", "--label", "label", "--sigma", "0.5"}, common...), "--sigma does not apply to text models"},
		{"unknown task", []string{"evaluate", "explain", "--task", "image-classification", "--model", model, "--data", data, "--label", "label"}, `--task "image-classification": want binary-classification, text-classification or token-classification`},
		{"tokenizer for tabular", []string{"evaluate", "explain", "--tokenizer", tokPath, "--model", model, "--data", data, "--label", "label"}, "apply to text-classification and token-classification models only"},
		{"tokenizer digest", append(append([]string{"evaluate", "fairness", "--label", "label", "--sensitive", "group"}, common...), "--tokenizer-sha256", strings.Repeat("ab", 32)), "sha256 mismatch"},
		{"tabular robustness needs sigma", []string{"evaluate", "robustness", "--model", model, "--data", data, "--label", "label"}, `required flag(s) "sigma" not set`},
		{"counterfactual of a tabular model", []string{"evaluate", "counterfactual", "--model", model, "--data", data, "--term-pairs", pairs}, "counterfactual evaluates text-classification models"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "r.json")
			msg, err := runRai(context.Background(), append(tc.args, "--report", out)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q\n%s", err, tc.want, msg)
			}
			if rep := readReport(t, out); rep.State != report.StateError || !strings.Contains(rep.Message, tc.want) {
				t.Errorf("report state %s message %q", rep.State, rep.Message)
			}
		})
	}
}
