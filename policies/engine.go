// Package policies is the promotion gate: it decides, with OPA, whether a
// model version may be promoted from its evaluation reports.
//
// A policy is a Bundle of Rego v1 modules and data. The default policy ships
// embedded (Default); the platform's cluster ConfigMap and PromotionPolicies
// can add modules and data (BundleFromConfigMap, Merge). The engine queries
// package rai.promotion for `allow` (a boolean) and `violations` (a set of
// {"code", "message"} objects), and reads `applied_thresholds` (the
// thresholds that judged, for the model's status). It fails closed: a policy
// that does not compile, errors, runs out of time or leaves allow undefined
// denies, and the decision's single violation says why.
//
// Controllers use the Engine interface; policies/fake scripts decisions for
// their unit tests.
package policies

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/open-policy-agent/opa/v1/util"
	"golang.org/x/sync/singleflight"
)

// Violation codes the engine itself produces when a decision fails closed.
const (
	// CodePolicyError: the policy did not compile, or evaluating it failed
	// (for example a rule produced conflicting values).
	CodePolicyError = "PolicyError"
	// CodePolicyTimeout: evaluation ran past the engine's time limit.
	CodePolicyTimeout = "PolicyTimeout"
	// CodePolicyUndefined: rai.promotion.allow is undefined or not a
	// boolean, or violations is not a set of {code, message} objects.
	CodePolicyUndefined = "PolicyUndefined"
	// CodePolicyDenied: allow is false but the policy gave no violation.
	CodePolicyDenied = "PolicyDenied"
)

// Violation codes of the default policy (policies/rego). Custom policies may
// add their own codes.
const (
	CodeEvaluationMissing           = "EvaluationMissing"
	CodeEvaluationFailed            = "EvaluationFailed"
	CodeMetricMissing               = "MetricMissing"
	CodeMetricUndefined             = "MetricUndefined"
	CodeThresholdInvalid            = "ThresholdInvalid"
	CodeInputInvalid                = "InputInvalid"
	CodeFairnessDemographicParity   = "FairnessDemographicParity"
	CodeFairnessStatisticalParity   = "FairnessStatisticalParity"
	CodeFairnessDisparateImpact     = "FairnessDisparateImpact"
	CodeFairnessEqualizedOdds       = "FairnessEqualizedOdds"
	CodePrivacyEpsilonExceeded      = "PrivacyEpsilonExceeded"
	CodePrivacyDeltaExceeded        = "PrivacyDeltaExceeded"
	CodeBudgetExhausted             = "BudgetExhausted"
	CodePrivacyNoGuarantee          = "PrivacyNoGuarantee"
	CodePrivacyClaimContradicted    = "PrivacyClaimContradicted"
	CodeRobustnessCertifiedAccuracy = "RobustnessCertifiedAccuracy"
	CodeRobustnessAbstainRate       = "RobustnessAbstainRate"
)

// Package is the Rego package the engine queries.
const Package = "rai.promotion"

// Violation is one reason a version may not be promoted.
type Violation struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Decision is the outcome of evaluating a policy on an input.
type Decision struct {
	// Allow is true only when the policy's allow is true and it reported no
	// violation and no inconclusive finding.
	Allow bool `json:"allow"`
	// Violations are sorted by Code, then Message, without duplicates.
	Violations []Violation `json:"violations,omitempty"`
	// Inconclusive are findings the evidence cannot settle (for example a
	// metric whose confidence interval straddles its threshold): with no
	// violation, they leave the decision to a person (Inconclusive). Sorted
	// as Violations.
	Inconclusive []Violation `json:"inconclusive,omitempty"`
	// ID is the hex sha256 of the policy digest and the canonical input
	// JSON: the same policy and input always give the same ID.
	ID string `json:"id"`
	// PolicyDigest is Bundle.Digest of the policy that decided.
	PolicyDigest string `json:"policyDigest"`
	// Error is set when the decision failed closed (compile or evaluation
	// error, timeout, undefined allow); the only violation then repeats it.
	Error string `json:"error,omitempty"`
	// Thresholds are the effective thresholds the policy judged with, by
	// key (data.rai.promotion.applied_thresholds). They are informational:
	// nil when the policy defines none or defines them malformed, and never
	// a reason to deny. They are not part of the decision ID.
	Thresholds map[string]AppliedThreshold `json:"thresholds,omitempty"`
}

// AppliedThreshold is the value of one threshold that judged a decision and
// where it came from ("policy default", "spec.policy.thresholds.<key>",
// "PromotionPolicy production", ...; see docs/policies.md).
type AppliedThreshold struct {
	Value  float64 `json:"value"`
	Source string  `json:"source"`
}

// Engine decides promotions. Decide returns a non-nil error only for a
// caller's mistake (an input or data that is not JSON); every problem of the
// policy itself is a denying Decision.
type Engine interface {
	Decide(ctx context.Context, bundle Bundle, input map[string]any) (Decision, error)
}

// DefaultTimeout bounds one evaluation.
const DefaultTimeout = 2 * time.Second

// DefaultCacheSize is how many compiled policies the engine keeps.
const DefaultCacheSize = 64

// Option configures a RegoEngine.
type Option func(*RegoEngine)

// WithTimeout sets the time limit of one evaluation (compilation excluded).
// A non-positive d keeps the default.
func WithTimeout(d time.Duration) Option {
	return func(e *RegoEngine) {
		if d > 0 {
			e.timeout = d
		}
	}
}

// WithCacheSize sets how many compiled policies are kept, least recently
// used first out. A non-positive n keeps the default.
func WithCacheSize(n int) Option {
	return func(e *RegoEngine) {
		if n > 0 {
			e.cacheSize = n
		}
	}
}

// RegoEngine evaluates bundles with OPA. It compiles each distinct bundle
// once (keyed by its digest, concurrent first uses share one compilation)
// and is safe for concurrent use.
type RegoEngine struct {
	timeout   time.Duration
	cacheSize int
	cache     *lru.Cache[string, *compiled]
	inflight  singleflight.Group
	caps      *ast.Capabilities
	// compilations counts compilations, for tests of the cache.
	compilations atomic.Int64
}

// compiled is the outcome of compiling one bundle: a query ready to
// evaluate, or the compile error that every decision on it reports.
type compiled struct {
	query rego.PreparedEvalQuery
	err   error
}

var _ Engine = (*RegoEngine)(nil)

// deniedBuiltins are removed from the policy language: a policy from a
// ConfigMap must not reach the network from inside the manager.
var deniedBuiltins = []string{"http.send", "net.lookup_ip_addr"}

// NewEngine returns an engine with a DefaultTimeout per evaluation and a
// cache of DefaultCacheSize compiled policies.
func NewEngine(opts ...Option) *RegoEngine {
	e := &RegoEngine{timeout: DefaultTimeout, cacheSize: DefaultCacheSize}
	for _, o := range opts {
		o(e)
	}
	cache, err := lru.New[string, *compiled](e.cacheSize)
	if err != nil {
		panic(fmt.Sprintf("policy cache of size %d: %v", e.cacheSize, err)) // size is > 0 by construction
	}
	e.cache = cache
	caps := ast.CapabilitiesForThisVersion()
	caps.Builtins = slices.DeleteFunc(caps.Builtins, func(b *ast.Builtin) bool {
		return slices.Contains(deniedBuiltins, b.Name)
	})
	e.caps = caps
	return e
}

// query binds the documents the gate reads. Collecting each into an array
// keeps the query defined when a rule is undefined, so that a missing allow
// is reported as such rather than as an empty result (and a policy without
// applied_thresholds still decides).
const query = `allow := [x | x := data.rai.promotion.allow]; violations := [x | x := data.rai.promotion.violations]; inconclusive := [x | x := data.rai.promotion.inconclusive]; applied := [x | x := data.rai.promotion.applied_thresholds]`

// Decide evaluates bundle on input. See Engine.
func (e *RegoEngine) Decide(ctx context.Context, bundle Bundle, input map[string]any) (Decision, error) {
	var d Decision
	digest, err := bundle.Digest()
	if err != nil {
		return failClosed(d, CodePolicyError, err.Error()), err
	}
	d.PolicyDigest = digest
	canonicalInput, err := canonicalJSON(input)
	if err != nil {
		err = fmt.Errorf("encode policy input: %w", err)
		return failClosed(d, CodePolicyError, err.Error()), err
	}
	sum := sha256.Sum256([]byte(digest + "\n" + string(canonicalInput)))
	d.ID = hex.EncodeToString(sum[:])

	c, err := e.compile(ctx, digest, bundle)
	if err != nil {
		return failClosed(d, CodePolicyError, err.Error()), err
	}
	if c.err != nil {
		// "bundle activation failed" is OPA's wrapping, not news to a reader.
		msg := strings.TrimPrefix(c.err.Error(), "bundle activation failed: ")
		return failClosed(d, CodePolicyError, "compile policy: "+msg), nil
	}

	var parsed any
	if err := util.UnmarshalJSON(canonicalInput, &parsed); err != nil {
		err = fmt.Errorf("decode policy input: %w", err)
		return failClosed(d, CodePolicyError, err.Error()), err
	}
	value, err := ast.InterfaceToValue(parsed)
	if err != nil {
		err = fmt.Errorf("convert policy input: %w", err)
		return failClosed(d, CodePolicyError, err.Error()), err
	}

	// OPA notices cancellation asynchronously, so a short evaluation could
	// finish on a context that is already done: check it first.
	if err := ctx.Err(); err != nil {
		return failClosed(d, CodePolicyError, "policy evaluation was cancelled: "+err.Error()), nil
	}
	evalCtx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	rs, err := c.query.Eval(evalCtx, rego.EvalParsedInput(value))
	if err != nil {
		switch {
		case errors.Is(evalCtx.Err(), context.DeadlineExceeded):
			return failClosed(d, CodePolicyTimeout, fmt.Sprintf("policy evaluation did not finish within %s", e.timeout)), nil
		case evalCtx.Err() != nil || topdown.IsCancel(err):
			return failClosed(d, CodePolicyError, "policy evaluation was cancelled: "+err.Error()), nil
		default:
			return failClosed(d, CodePolicyError, "evaluate policy: "+err.Error()), nil
		}
	}
	return interpret(d, rs), nil
}

// compile returns the cached compilation of bundle, compiling it on first
// use. It returns an error only when the bundle's data cannot be stored.
func (e *RegoEngine) compile(ctx context.Context, digest string, bundle Bundle) (*compiled, error) {
	if c, ok := e.cache.Get(digest); ok {
		return c, nil
	}
	v, err, _ := e.inflight.Do(digest, func() (any, error) {
		if c, ok := e.cache.Get(digest); ok {
			return c, nil
		}
		c, err := e.prepare(context.WithoutCancel(ctx), bundle)
		if err != nil {
			return nil, err
		}
		e.cache.Add(digest, c)
		return c, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*compiled), nil
}

// prepare compiles bundle. Compile errors are part of the result (and so
// cached: a broken policy is not recompiled on every reconcile).
func (e *RegoEngine) prepare(ctx context.Context, bundle Bundle) (*compiled, error) {
	e.compilations.Add(1)
	raw, err := canonicalJSON(bundle.Data)
	if err != nil {
		return nil, fmt.Errorf("encode policy data: %w", err)
	}
	var data map[string]any
	if err := util.UnmarshalJSON(raw, &data); err != nil {
		return nil, fmt.Errorf("decode policy data: %w", err)
	}
	if data == nil {
		data = map[string]any{}
	}
	opts := []func(*rego.Rego){
		rego.Query(query),
		rego.Store(inmem.NewFromObject(data)),
		rego.Capabilities(e.caps),
		rego.SetRegoVersion(ast.RegoV1),
	}
	for _, name := range slices.Sorted(maps.Keys(bundle.Modules)) {
		opts = append(opts, rego.Module(name, bundle.Modules[name]))
	}
	q, err := rego.New(opts...).PrepareForEval(ctx)
	if err != nil {
		return &compiled{err: err}, nil
	}
	return &compiled{query: q}, nil
}

// interpret turns the query's bindings into a decision. The policy allows
// only when allow is exactly true and violations is empty: violations always
// deny, whatever a custom module does to allow.
func interpret(d Decision, rs rego.ResultSet) Decision {
	if len(rs) != 1 {
		return failClosed(d, CodePolicyUndefined, fmt.Sprintf("the query of %s gave %d results, want 1", Package, len(rs)))
	}
	allows, _ := rs[0].Bindings["allow"].([]any)
	if len(allows) != 1 {
		return failClosed(d, CodePolicyUndefined, fmt.Sprintf("data.%s.allow is undefined: the policy must define allow", Package))
	}
	allow, ok := allows[0].(bool)
	if !ok {
		return failClosed(d, CodePolicyUndefined, fmt.Sprintf("data.%s.allow is %s, want a boolean", Package, describe(allows[0])))
	}
	var violations []Violation
	if docs, _ := rs[0].Bindings["violations"].([]any); len(docs) == 1 {
		set, ok := docs[0].([]any)
		if !ok {
			return failClosed(d, CodePolicyUndefined, fmt.Sprintf("data.%s.violations is %s, want a set of {code, message} objects", Package, describe(docs[0])))
		}
		for i, item := range set {
			v, err := toViolation(item)
			if err != nil {
				return failClosed(d, CodePolicyUndefined, fmt.Sprintf("data.%s.violations element %d: %v", Package, i, err))
			}
			violations = append(violations, v)
		}
	}
	var inconclusive []Violation
	if docs, _ := rs[0].Bindings["inconclusive"].([]any); len(docs) == 1 {
		set, ok := docs[0].([]any)
		if !ok {
			return failClosed(d, CodePolicyUndefined, fmt.Sprintf("data.%s.inconclusive is %s, want a set of {code, message} objects", Package, describe(docs[0])))
		}
		for i, item := range set {
			v, err := toViolation(item)
			if err != nil {
				return failClosed(d, CodePolicyUndefined, fmt.Sprintf("data.%s.inconclusive element %d: %v", Package, i, err))
			}
			inconclusive = append(inconclusive, v)
		}
	}
	if !allow && len(violations) == 0 && len(inconclusive) == 0 {
		violations = []Violation{{Code: CodePolicyDenied, Message: fmt.Sprintf("data.%s.allow is false but the policy gave no violation", Package)}}
	}
	d.Violations = sortViolations(violations)
	d.Inconclusive = sortViolations(inconclusive)
	d.Allow = allow && len(d.Violations) == 0 && len(d.Inconclusive) == 0
	if docs, _ := rs[0].Bindings["applied"].([]any); len(docs) == 1 {
		d.Thresholds = toThresholds(docs[0])
	}
	return d
}

// toThresholds reads applied_thresholds: an object of {value, source}
// objects, value a number and source a string. It returns nil for an empty
// or malformed document: the thresholds are informational, so a policy
// that gets them wrong still decides.
func toThresholds(doc any) map[string]AppliedThreshold {
	obj, ok := doc.(map[string]any)
	if !ok || len(obj) == 0 {
		return nil
	}
	out := make(map[string]AppliedThreshold, len(obj))
	for key, item := range obj {
		entry, ok := item.(map[string]any)
		if !ok {
			return nil
		}
		value, ok := toFloat(entry["value"])
		if !ok {
			return nil
		}
		source, ok := entry["source"].(string)
		if !ok {
			return nil
		}
		out[key] = AppliedThreshold{Value: value, Source: source}
	}
	return out
}

// toFloat reads a finite JSON number of a policy result.
func toFloat(v any) (float64, bool) {
	var f float64
	switch n := v.(type) {
	case json.Number:
		var err error
		if f, err = n.Float64(); err != nil {
			return 0, false
		}
	case float64:
		f = n
	case int:
		f = float64(n)
	case int64:
		f = float64(n)
	default:
		return 0, false
	}
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// toViolation reads one element of the violations set.
func toViolation(item any) (Violation, error) {
	obj, ok := item.(map[string]any)
	if !ok {
		return Violation{}, fmt.Errorf("got %s, want an object with string code and message", describe(item))
	}
	code, _ := obj["code"].(string)
	message, _ := obj["message"].(string)
	if code == "" {
		return Violation{}, fmt.Errorf("code is %s, want a non-empty string", describe(obj["code"]))
	}
	if _, ok := obj["message"].(string); !ok {
		return Violation{}, fmt.Errorf("message of %q is %s, want a string", code, describe(obj["message"]))
	}
	return Violation{Code: code, Message: message}, nil
}

// sortViolations orders violations by code, then message, and drops
// duplicates, so that equal decisions read (and compare) the same.
func sortViolations(vs []Violation) []Violation {
	slices.SortFunc(vs, func(a, b Violation) int {
		if c := strings.Compare(a.Code, b.Code); c != 0 {
			return c
		}
		return strings.Compare(a.Message, b.Message)
	})
	return slices.Compact(vs)
}

// describe renders a policy value for an error message.
func describe(v any) string {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%T", v)
	}
	var kind string
	switch v.(type) {
	case nil:
		return "null"
	case string:
		kind = "string"
	case json.Number, float64, int:
		kind = "number"
	case bool:
		kind = "boolean"
	case []any:
		kind = "collection"
	case map[string]any:
		kind = "object"
	default:
		kind = fmt.Sprintf("%T", v)
	}
	const limit = 80
	if len(raw) > limit {
		raw = append(bytes.Clone(raw[:limit]), "..."...)
	}
	return fmt.Sprintf("the %s %s", kind, raw)
}

// failClosed makes d a denial whose only violation is the failure.
func failClosed(d Decision, code, message string) Decision {
	d.Allow = false
	d.Violations = []Violation{{Code: code, Message: message}}
	d.Inconclusive = nil
	d.Error = message
	return d
}
