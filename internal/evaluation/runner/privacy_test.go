package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/responsible-ai/rmodel-operator/internal/evaluation/privacy"
	"github.com/responsible-ai/rmodel-operator/internal/onnxwriter"
)

func TestPrivacyFromModelMetadata(t *testing.T) {
	dp := writeModel(t, onnxwriter.LogisticRegression([]float32{1}, 0), map[string]string{
		MetaNoiseMultiplier: "1.5", MetaSampleRate: "0.04", MetaSteps: "2250", MetaDelta: "1e-5", MetaEpsilon: "7.33",
		MetaDatasetSHA256: strings.Repeat("ab", 32),
	})
	rep, err := EvaluatePrivacy(context.Background(), PrivacyConfig{Common: Common{ModelPath: dp}})
	if err != nil {
		t.Fatal(err)
	}
	if got := metric(t, rep, "epsilon"); math.Abs(got-7.32911117143)/7.32911117143 > 1e-9 {
		t.Fatalf("epsilon %v", got)
	}
	if rep.Parameters[ParamTrainingDatasetSHA256] != strings.Repeat("ab", 32) {
		t.Errorf("the training data's digest is not in the report: %v", rep.Parameters)
	}
	if metric(t, rep, "order") != 3.9 || metric(t, rep, "steps") != 2250 || rep.Parameters["source"] != "model metadata" {
		t.Fatalf("report %+v", rep.Metrics)
	}
	if !strings.Contains(string(rep.Details), `"orders":[1.1,1.2`) || !strings.Contains(string(rep.Details), `"claimed_epsilon":7.33`) {
		t.Fatalf("details %s", rep.Details)
	}
	// Flags override the metadata; a lower δ costs more ε.
	rep2, err := EvaluatePrivacy(context.Background(), PrivacyConfig{Common: Common{ModelPath: dp}, Delta: 1e-7, DeltaSet: true})
	if err != nil {
		t.Fatal(err)
	}
	if metric(t, rep2, "epsilon") <= metric(t, rep, "epsilon") {
		t.Fatal("δ = 1e-7 did not raise ε")
	}
}

func TestPrivacyWithoutDP(t *testing.T) {
	plain := writeModel(t, onnxwriter.LogisticRegression([]float32{1}, 0), nil)
	rep, err := EvaluatePrivacy(context.Background(), PrivacyConfig{Common: Common{ModelPath: plain}, Delta: 1e-5, DeltaSet: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.State != "Succeeded" || rep.Metrics["epsilon"] != nil || rep.Undefined["epsilon"] != NoDPReason {
		t.Fatalf("state %s epsilon %v reason %q", rep.State, rep.Metrics["epsilon"], rep.Undefined["epsilon"])
	}
	if err := rep.Validate(); err != nil {
		t.Fatal(err)
	}
	// σ = 0 by flags: null with a reason, never Inf.
	rep, err = EvaluatePrivacy(context.Background(), PrivacyConfig{NoiseSet: true, RateSet: true, StepsSet: true, DeltaSet: true, SampleRate: 0.1, Steps: 10, Delta: 1e-5})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Metrics["epsilon"] != nil || !strings.Contains(rep.Undefined["epsilon"], "no differential privacy") {
		t.Fatalf("σ=0: %v %q", rep.Metrics["epsilon"], rep.Undefined["epsilon"])
	}
	if err := rep.Validate(); err != nil {
		t.Fatal(err)
	}
	// Some flags but not all.
	if _, err := EvaluatePrivacy(context.Background(), PrivacyConfig{NoiseSet: true, NoiseMultiplier: 1, Delta: 1e-5, DeltaSet: true}); err == nil || !strings.Contains(err.Error(), "--sample-rate") {
		t.Fatalf("partial flags: %v", err)
	}
}

// A "memorising" model: members sit where the model is confidently right,
// non-members carry random labels. The audit's AUC and advantage equal the
// brute-force values on the Go reference losses, and the bound is positive.
func TestPrivacyMembershipAudit(t *testing.T) {
	lr := onnxwriter.LogisticRegression([]float32{4}, 0)
	model := writeModel(t, lr, nil)
	rng := rand.New(rand.NewPCG(9, 9))
	var mem, non strings.Builder
	mem.WriteString("x,y\n")
	non.WriteString("x,y\n")
	var ml, nl []float64
	for range 6000 {
		x := float32(rng.NormFloat64())
		y := 0
		if x > 0 {
			y = 1
		}
		fmt.Fprintf(&mem, "%v,%d\n", x, y)
		ml = append(ml, privacy.CrossEntropy(lr.Predict([]float32{x}), y == 1))
		x2 := float32(rng.NormFloat64())
		y2 := rng.IntN(2)
		fmt.Fprintf(&non, "%v,%d\n", x2, y2)
		nl = append(nl, privacy.CrossEntropy(lr.Predict([]float32{x2}), y2 == 1))
	}
	cfg := PrivacyConfig{
		Common:  Common{ModelPath: model, Workers: 2},
		Members: writeText(t, "m.csv", mem.String()), NonMembers: writeText(t, "n.csv", non.String()),
		Label: "y", Delta: 1e-5, DeltaSet: true, Seed: 1,
	}
	rep, err := EvaluatePrivacy(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := metric(t, rep, "mia_auc"), privacy.AUC(ml, nl); math.Abs(got-want) > 1e-3 {
		t.Fatalf("AUC %v, Go reference %v", got, want)
	}
	if adv := metric(t, rep, "mia_advantage"); adv < 0.3 {
		t.Fatalf("advantage %v", adv)
	}
	if lb := metric(t, rep, "mia_epsilon_lower_bound"); lb <= 0 {
		t.Fatalf("epsilon lower bound %v", lb)
	}
	if rep.Metrics["epsilon"] != nil {
		t.Fatal("a model without DP got an epsilon")
	}
	cfg.Label = "nope"
	if _, err := EvaluatePrivacy(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("missing label column: %v", err)
	}
}

// TestPrivacyAuditWithNothingToFind: members and non-members with the same
// losses (the same rows): no loss threshold beats chance, the report still
// encodes (the threshold is null, not -Inf) and the audit finds no leak.
func TestPrivacyAuditWithNothingToFind(t *testing.T) {
	lr := onnxwriter.LogisticRegression([]float32{4}, 0)
	model := writeModel(t, lr, nil)
	var rows strings.Builder
	rows.WriteString("x,y\n")
	rng := rand.New(rand.NewPCG(3, 3))
	for range 2000 {
		x := float32(rng.NormFloat64())
		fmt.Fprintf(&rows, "%v,%d\n", x, rng.IntN(2))
	}
	cfg := PrivacyConfig{
		Common:  Common{ModelPath: model, Workers: 2},
		Members: writeText(t, "m.csv", rows.String()), NonMembers: writeText(t, "n.csv", rows.String()),
		Label: "y", Delta: 1e-5, DeltaSet: true, Seed: 1,
	}
	rep, err := EvaluatePrivacy(context.Background(), cfg)
	if err != nil {
		t.Fatalf("an audit with nothing to find: %v", err)
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Fatalf("the report does not encode: %v", err)
	}
	if lb := metric(t, rep, "mia_epsilon_lower_bound"); lb != 0 {
		t.Errorf("epsilon lower bound %v from identical member and non-member sets, want 0", lb)
	}
}
