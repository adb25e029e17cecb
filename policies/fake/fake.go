// Package fake is a scripted policies.Engine for controller unit tests: it
// returns the decisions a test lines up, in order, and records every call.
// It runs no Rego; the real engine is tested in package policies.
package fake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/responsible-ai/rmodel-operator/policies"
)

// CodeUnscripted is the violation of the denial returned when the script
// is empty: an unscripted decision fails closed, like the real engine.
const CodeUnscripted = "FakeUnscripted"

// Result is one scripted answer of Decide.
type Result struct {
	Decision policies.Decision
	Err      error
}

// Call records the arguments of one Decide.
type Call struct {
	Bundle policies.Bundle
	Input  map[string]any
}

// Engine returns scripted results in order; the last one repeats for any
// further call. It is safe for concurrent use.
type Engine struct {
	mu     sync.Mutex
	script []Result
	calls  []Call
}

var _ policies.Engine = (*Engine)(nil)

// New returns an engine that answers with results, in order.
func New(results ...Result) *Engine {
	return &Engine{script: results}
}

// Allow is an allowing decision.
func Allow() Result {
	return Result{Decision: policies.Decision{Allow: true}}
}

// Deny is a denial with the given violations (sorted as the real engine
// sorts them).
func Deny(violations ...policies.Violation) Result {
	vs := slices.Clone(violations)
	slices.SortFunc(vs, func(a, b policies.Violation) int {
		if c := strings.Compare(a.Code, b.Code); c != 0 {
			return c
		}
		return strings.Compare(a.Message, b.Message)
	})
	return Result{Decision: policies.Decision{Violations: vs}}
}

// Failed is a fail-closed denial, as the real engine returns for a policy
// that does not compile (code policies.CodePolicyError) or times out
// (policies.CodePolicyTimeout).
func Failed(code, message string) Result {
	return Result{Decision: policies.Decision{
		Violations: []policies.Violation{{Code: code, Message: message}},
		Error:      message,
	}}
}

// Script replaces the remaining results.
func (e *Engine) Script(results ...Result) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.script = results
}

// Calls returns the calls so far, oldest first.
func (e *Engine) Calls() []Call {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.calls)
}

// Decide records the call and returns the next scripted result. Like the
// real engine, it fills PolicyDigest with the bundle's digest and ID with a
// hash of the digest and the input when the script leaves them empty, so
// the same bundle and input give the same ID.
func (e *Engine) Decide(_ context.Context, bundle policies.Bundle, input map[string]any) (policies.Decision, error) {
	e.mu.Lock()
	e.calls = append(e.calls, Call{Bundle: bundle, Input: input})
	var r Result
	switch len(e.script) {
	case 0:
		r = Failed(CodeUnscripted, "the fake policy engine has no scripted decision")
	case 1:
		r = e.script[0]
	default:
		r = e.script[0]
		e.script = e.script[1:]
	}
	e.mu.Unlock()

	d := r.Decision
	d.Violations = slices.Clone(d.Violations)
	d.Thresholds = maps.Clone(d.Thresholds)
	if d.PolicyDigest == "" {
		digest, err := bundle.Digest()
		if err != nil {
			return d, fmt.Errorf("fake policy engine: %w", err)
		}
		d.PolicyDigest = digest
	}
	if d.ID == "" {
		raw, err := json.Marshal(input)
		if err != nil {
			return d, fmt.Errorf("fake policy engine: encode input: %w", err)
		}
		sum := sha256.Sum256(append([]byte(d.PolicyDigest+"\n"), raw...))
		d.ID = hex.EncodeToString(sum[:])
	}
	// A scripted allow with violations would be impossible from the real
	// engine; keep the fake as strict.
	d.Allow = d.Allow && len(d.Violations) == 0
	return d, r.Err
}
