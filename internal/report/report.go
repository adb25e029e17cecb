// Package report defines the evaluation report contract: the JSON document
// that every `rai evaluate <kind>` writes, that the operator reads from an
// evaluation pod's termination message, and that the promotion policies
// judge. It is pure Go (no cgo) so the manager can import it.
//
// Evaluators measure; they never decide pass/fail. An undefined value is a
// JSON null in Metrics with its reason in Undefined, never NaN or Inf.
package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"time"
)

// SchemaVersion is the only report schema this build reads and writes.
const SchemaVersion = "rai.report/v1"

// MaxCompactBytes is the size limit of the compact form: it must fit a
// container termination message (4096 bytes).
const MaxCompactBytes = 4096

// Kind names an evaluation.
type Kind string

const (
	KindFairness   Kind = "fairness"
	KindPrivacy    Kind = "privacy"
	KindRobustness Kind = "robustness"
	KindExplain    Kind = "explain"
	// KindReference summarizes the evaluation data for live monitoring:
	// its report's details are the summary's digest (the summary itself,
	// too large for a termination message, is the pod's log line of that
	// digest).
	KindReference Kind = "reference"
	// KindCounterfactual is counterfactual token fairness of a text
	// classifier (Garg et al. 2019): identity terms swapped in the texts.
	KindCounterfactual Kind = "counterfactual"
)

// Kinds lists every evaluation kind in a stable order.
var Kinds = []Kind{KindFairness, KindPrivacy, KindRobustness, KindExplain, KindReference, KindCounterfactual}

// State is the outcome of running an evaluator (not a verdict on the model).
type State string

const (
	StateSucceeded State = "Succeeded"
	StateError     State = "Error"
)

// Report is one evaluation's evidence for one (model, version, kind).
type Report struct {
	SchemaVersion string    `json:"schemaVersion"`
	Kind          Kind      `json:"kind"`
	Model         Model     `json:"model"`
	Dataset       *Dataset  `json:"dataset,omitempty"`
	Evaluator     Evaluator `json:"evaluator"`
	StartTime     time.Time `json:"startTime"`
	EndTime       time.Time `json:"endTime"`
	State         State     `json:"state"`
	// Message explains an Error state; empty on success.
	Message string `json:"message,omitempty"`
	// Metrics are the headline numbers, by name (Fairlearn's names for
	// fairness). A nil value is undefined; Undefined says why.
	Metrics map[string]*float64 `json:"metrics"`
	// Undefined maps a metric whose value is null to the reason.
	Undefined map[string]string `json:"undefined,omitempty"`
	// Intervals are confidence intervals for headline metrics, by name.
	Intervals map[string]Interval `json:"intervals,omitempty"`
	// Parameters echo the evaluator's inputs (threshold, sigma, delta, ...).
	Parameters map[string]string `json:"parameters,omitempty"`
	// Details carries kind-specific structured results (groups, RDP curve,
	// per-radius results, feature rankings). It may be trimmed in the
	// compact form; see Truncated.
	Details json.RawMessage `json:"details,omitempty"`
	// CompactDetails, when set by the evaluator, replaces Details in the
	// compact form if the whole report does not fit (for example the top
	// groups only). It is never serialized itself.
	CompactDetails json.RawMessage `json:"-"`
	// Shard is set on a partial report written with --shard i/N.
	Shard *Shard `json:"shard,omitempty"`
	// Truncated is true when this is a compact form whose Details were
	// shortened to fit MaxCompactBytes.
	Truncated bool `json:"truncated,omitempty"`
}

// Model identifies the evaluated model artifact.
type Model struct {
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
	SHA256  string `json:"sha256,omitempty"`
}

// Dataset identifies the evaluation data.
type Dataset struct {
	SHA256 string `json:"sha256"`
	Rows   int64  `json:"rows"`
}

// Evaluator identifies the program that measured.
type Evaluator struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Interval is a two-sided confidence interval.
type Interval struct {
	Lower *float64 `json:"lower"`
	Upper *float64 `json:"upper"`
	// Level is the confidence level, for example 0.95.
	Level  float64 `json:"level"`
	Method string  `json:"method,omitempty"`
}

// Shard locates a partial report within an Indexed Job.
type Shard struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// Float returns a pointer to v, or nil when v is NaN or infinite, so a
// caller cannot put a non-finite number into a report by accident.
func Float(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// SetMetric records a metric; a non-finite value becomes null with reason.
func (r *Report) SetMetric(name string, v float64, reasonIfUndefined string) {
	if r.Metrics == nil {
		r.Metrics = map[string]*float64{}
	}
	p := Float(v)
	r.Metrics[name] = p
	if p == nil {
		r.SetUndefined(name, reasonIfUndefined)
	}
}

// SetUndefined records a null metric and its reason.
func (r *Report) SetUndefined(name, reason string) {
	if r.Metrics == nil {
		r.Metrics = map[string]*float64{}
	}
	if r.Undefined == nil {
		r.Undefined = map[string]string{}
	}
	if reason == "" {
		reason = "undefined"
	}
	r.Metrics[name] = nil
	r.Undefined[name] = reason
}

var (
	sha256Pattern = regexp.MustCompile(`^[a-f0-9]{64}$`)

	// ErrInvalid wraps every schema violation found by Validate.
	ErrInvalid = errors.New("invalid evaluation report")
)

// Validate checks the report against the schema and returns an error that
// names each offending field.
func (r *Report) Validate() error {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if r.SchemaVersion != SchemaVersion {
		bad("schemaVersion %q is not %q", r.SchemaVersion, SchemaVersion)
	}
	known := false
	for _, k := range Kinds {
		known = known || r.Kind == k
	}
	if !known {
		bad("kind %q is not one of %v", r.Kind, Kinds)
	}
	if r.Model.SHA256 != "" && !sha256Pattern.MatchString(r.Model.SHA256) {
		bad("model.sha256 %q is not 64 lowercase hex digits", r.Model.SHA256)
	}
	if r.Dataset != nil {
		if r.Dataset.SHA256 != "" && !sha256Pattern.MatchString(r.Dataset.SHA256) {
			bad("dataset.sha256 %q is not 64 lowercase hex digits", r.Dataset.SHA256)
		}
		if r.Dataset.Rows < 0 {
			bad("dataset.rows %d is negative", r.Dataset.Rows)
		}
	}
	switch r.State {
	case StateSucceeded:
	case StateError:
		if r.Message == "" {
			bad("state Error needs a message")
		}
	default:
		bad("state %q is not Succeeded or Error", r.State)
	}
	if r.StartTime.IsZero() || r.EndTime.IsZero() {
		bad("startTime and endTime are required")
	} else if r.EndTime.Before(r.StartTime) {
		bad("endTime %s is before startTime %s", r.EndTime.Format(time.RFC3339), r.StartTime.Format(time.RFC3339))
	}
	if r.State == StateSucceeded && r.Metrics == nil {
		bad("metrics is required when state is Succeeded")
	}
	names := make([]string, 0, len(r.Metrics))
	for name := range r.Metrics {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		v := r.Metrics[name]
		if v == nil {
			if r.Undefined[name] == "" {
				bad("metrics.%s is null without a reason in undefined.%s", name, name)
			}
			continue
		}
		if math.IsNaN(*v) || math.IsInf(*v, 0) {
			bad("metrics.%s is not finite", name)
		}
	}
	if r.Shard != nil && (r.Shard.Count < 1 || r.Shard.Index < 0 || r.Shard.Index >= r.Shard.Count) {
		bad("shard %d/%d is out of range", r.Shard.Index, r.Shard.Count)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, joinProblems(problems))
	}
	return nil
}

func joinProblems(p []string) string {
	out := p[0]
	for _, s := range p[1:] {
		out += "; " + s
	}
	return out
}

// Parse decodes and validates a report. Unknown fields are refused so a
// typo in a hand-written or foreign report is not silently ignored.
func Parse(data []byte) (*Report, error) {
	var r Report
	dec := json.NewDecoder(bytesReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%w: decode JSON: %v", ErrInvalid, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the JSON document", ErrInvalid)
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return &r, nil
}
