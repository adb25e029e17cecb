package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/responsible-ai/rmodel-operator/internal/onnx"
	"github.com/responsible-ai/rmodel-operator/internal/report"
)

// EvaluatorName and EvaluatorVersion identify this program in reports; the
// rai command sets the version from its build.
var (
	EvaluatorName    = "rai"
	EvaluatorVersion = "dev"
)

// Common are the inputs every evaluation shares.
type Common struct {
	ModelPath    string
	ModelSHA256  string // expected digest (--sha256), "" to skip the check
	ModelName    string
	ModelVersion string
	DataPath     string
	DataSHA256   string // expected digest (--data-sha256)
	Shard        Shard
	Workers      int
	// Device runs the model on the CPU ("" or cpu) or a GPU (cuda); a
	// CUDA that is unavailable is an error, never a silent CPU run.
	Device onnx.Device
}

// run starts a report of kind, fills it with evaluate and finishes it: an
// Error report (and the error) when evaluate fails.
func run(kind report.Kind, c Common, evaluate func(*report.Report) error) (*report.Report, error) {
	rep := NewReport(kind, c, time.Now())
	if err := evaluate(rep); err != nil {
		return Fail(rep, err), err
	}
	rep.EndTime = time.Now().UTC()
	return rep, nil
}

// NewReport starts a report of kind at start.
func NewReport(kind report.Kind, c Common, start time.Time) *report.Report {
	r := &report.Report{
		SchemaVersion: report.SchemaVersion,
		Kind:          kind,
		Model:         report.Model{Name: c.ModelName, Version: c.ModelVersion},
		Evaluator:     report.Evaluator{Name: EvaluatorName, Version: EvaluatorVersion},
		StartTime:     start.UTC(),
		State:         report.StateSucceeded,
		Metrics:       map[string]*float64{},
		Parameters:    map[string]string{},
	}
	if c.Shard.Count > 0 {
		r.Shard = &report.Shard{Index: c.Shard.Index, Count: c.Shard.Count}
	}
	return r
}

// Fail turns r into an Error report with err's message.
func Fail(r *report.Report, err error) *report.Report {
	r.EndTime = time.Now().UTC()
	r.State = report.StateError
	r.Message = err.Error()
	r.Metrics = map[string]*float64{}
	r.Undefined = nil
	r.Intervals = nil
	r.Details = nil
	r.CompactDetails = nil
	return r
}

// SetDetails marshals full and compact details into r.
func SetDetails(r *report.Report, full, compact any) error {
	b, err := json.Marshal(full)
	if err != nil {
		return fmt.Errorf("encode report details: %w", err)
	}
	r.Details = b
	if compact != nil {
		if r.CompactDetails, err = json.Marshal(compact); err != nil {
			return fmt.Errorf("encode compact report details: %w", err)
		}
	}
	return nil
}

// FitCompactDetails sets rep.CompactDetails to variant(n) for the largest n
// ≤ maxN whose report fits report.MaxCompactBytes, so the termination
// message keeps as much of the details as it can (variant(0) at least, when
// that fits). Call it once metrics, intervals and parameters are final.
func FitCompactDetails(rep *report.Report, variant func(n int) any, maxN int) {
	for n := maxN; n >= 0; n-- {
		b, err := json.Marshal(variant(n))
		if err != nil {
			return
		}
		c := *rep
		c.Details, c.Truncated = b, true
		if full, err := json.Marshal(&c); err == nil && len(full) <= report.MaxCompactBytes {
			rep.CompactDetails = b
			return
		}
	}
}

// Interval builds a report interval; non-finite ends become null.
func Interval(lower, upper, level float64, method string) report.Interval {
	return report.Interval{Lower: report.Float(lower), Upper: report.Float(upper), Level: level, Method: method}
}

// Num is a JSON number that is null when NaN or infinite.
type Num float64

// MarshalJSON implements json.Marshaler.
func (n Num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(f)
}

// UnmarshalJSON reads a number or null (as NaN).
func (n *Num) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = Num(math.NaN())
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*n = Num(f)
	return nil
}

// DefaultTerminationLog is where Kubernetes reads a container's
// termination message.
const DefaultTerminationLog = "/dev/termination-log"

// TerminationLogPath resolves the --termination-log flag: an explicit path is
// used as is; the default is used only when that file exists (outside a pod
// there is none, and nothing is written).
func TerminationLogPath(flag string, explicit bool) string {
	if explicit {
		return flag
	}
	if _, err := os.Stat(flag); err == nil {
		return flag
	}
	return ""
}

// Write sets the end time, validates r, writes the full JSON to path and
// the compact form to terminationLog (each skipped when empty).
func Write(r *report.Report, path, terminationLog string) error {
	r.EndTime = time.Now().UTC()
	if r.EndTime.Before(r.StartTime) {
		r.EndTime = r.StartTime
	}
	var errs []error
	if err := r.Validate(); err != nil {
		errs = append(errs, err)
	}
	if path != "" {
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return fmt.Errorf("encode report: %w", err)
		}
		if dir := filepath.Dir(path); dir != "" {
			_ = os.MkdirAll(dir, 0o755)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			errs = append(errs, fmt.Errorf("write report: %w", err))
		}
	}
	if terminationLog != "" {
		c, err := r.Compact()
		if err != nil {
			errs = append(errs, err)
		} else if err := os.WriteFile(terminationLog, c, 0o644); err != nil {
			errs = append(errs, fmt.Errorf("write termination log: %w", err))
		}
	}
	return errors.Join(errs...)
}
