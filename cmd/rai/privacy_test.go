package main

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// `rai privacy epsilon` prints Opacus' value for its own test case.
func TestPrivacyEpsilonCommand(t *testing.T) {
	cmd := newPrivacyEpsilonCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"--noise-multiplier", "1.5", "--sample-rate", "0.04", "--steps", "2250", "--delta", "1e-5"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	var got struct{ Epsilon, Order float64 }
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("output %q: %v", out.String(), err)
	}
	if math.Abs(got.Epsilon-7.32911117143)/7.32911117143 > 1e-9 || got.Order != 3.9 {
		t.Fatalf("output %s", out.String())
	}

	cmd = newPrivacyEpsilonCmd()
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"--noise-multiplier", "0", "--sample-rate", "0.04", "--steps", "10", "--delta", "1e-5"})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "no differential privacy") {
		t.Fatalf("σ = 0: %v", err)
	}
	cmd = newPrivacyEpsilonCmd()
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{"--noise-multiplier", "1"})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "required") {
		t.Fatalf("missing flags: %v", err)
	}
}
