package fake

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/responsible-ai/rmodel-operator/policies"
)

func TestScriptInOrderThenRepeatLast(t *testing.T) {
	budget := policies.Violation{Code: policies.CodeBudgetExhausted, Message: "privacy: epsilon 3 exceeds 2.9"}
	fair := policies.Violation{Code: policies.CodeFairnessDemographicParity, Message: "fairness: 0.6 < 0.8"}
	e := New(Deny(fair, budget), Allow())
	ctx := context.Background()
	in := map[string]any{"version": "v2"}

	d, err := e.Decide(ctx, policies.Default(), in)
	if err != nil || d.Allow || !reflect.DeepEqual(d.Violations, []policies.Violation{budget, fair}) {
		t.Fatalf("first: %+v, %v; want a denial with sorted violations", d, err)
	}
	for range 2 {
		if d, _ := e.Decide(ctx, policies.Default(), in); !d.Allow {
			t.Fatalf("later: %+v, want the last result (allow) repeated", d)
		}
	}
	if calls := e.Calls(); len(calls) != 3 || calls[0].Input["version"] != "v2" {
		t.Fatalf("calls = %+v, want 3 recorded with their input", calls)
	}
}

func TestFillsDigestAndDeterministicID(t *testing.T) {
	e := New(Allow())
	in := map[string]any{"version": "v2"}
	a, _ := e.Decide(context.Background(), policies.Default(), in)
	b, _ := e.Decide(context.Background(), policies.Default(), in)
	want, _ := policies.Default().Digest()
	if a.PolicyDigest != want || a.ID == "" || a.ID != b.ID {
		t.Fatalf("decisions %+v and %+v: want the bundle digest %s and equal IDs", a, b, want)
	}
	c, _ := e.Decide(context.Background(), policies.Default(), map[string]any{"version": "v3"})
	if c.ID == a.ID {
		t.Error("a different input kept the ID")
	}
}

func TestUnscriptedFailsClosed(t *testing.T) {
	d, err := New().Decide(context.Background(), policies.Bundle{}, nil)
	if err != nil || d.Allow || d.Error == "" || len(d.Violations) != 1 || d.Violations[0].Code != CodeUnscripted {
		t.Fatalf("got %+v, %v; want a fail-closed %s denial", d, err, CodeUnscripted)
	}
}

func TestScriptedErrorAndFailure(t *testing.T) {
	boom := errors.New("boom")
	e := New(Result{Err: boom}, Failed(policies.CodePolicyError, "custom.rego:3: rego_parse_error"))
	if _, err := e.Decide(context.Background(), policies.Bundle{}, nil); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the scripted error", err)
	}
	d, _ := e.Decide(context.Background(), policies.Bundle{}, nil)
	if d.Allow || d.Error != "custom.rego:3: rego_parse_error" || d.Violations[0].Code != policies.CodePolicyError {
		t.Fatalf("got %+v, want the scripted fail-closed decision", d)
	}
	e.Script(Result{Decision: policies.Decision{Allow: true, Violations: []policies.Violation{{Code: "X"}}}})
	if d, _ := e.Decide(context.Background(), policies.Bundle{}, nil); d.Allow {
		t.Fatal("a scripted allow with violations allowed; the real engine never does")
	}
}

func TestScriptedThresholdsAreCopied(t *testing.T) {
	applied := map[string]policies.AppliedThreshold{"abstain_rate_max": {Value: 0.2, Source: "policy default"}}
	e := New(Result{Decision: policies.Decision{Allow: true, Thresholds: applied}})
	d, _ := e.Decide(context.Background(), policies.Bundle{}, nil)
	if !reflect.DeepEqual(d.Thresholds, applied) {
		t.Fatalf("Thresholds = %+v, want the scripted %+v", d.Thresholds, applied)
	}
	d.Thresholds["abstain_rate_max"] = policies.AppliedThreshold{Value: 1}
	if again, _ := e.Decide(context.Background(), policies.Bundle{}, nil); again.Thresholds["abstain_rate_max"].Value != 0.2 {
		t.Fatal("a caller's change to Thresholds leaked into the script")
	}
	if d, _ := New(Allow()).Decide(context.Background(), policies.Bundle{}, nil); d.Thresholds != nil {
		t.Fatalf("Allow() Thresholds = %+v, want nil", d.Thresholds)
	}
}
