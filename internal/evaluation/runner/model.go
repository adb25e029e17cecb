// Package runner is the glue shared by the `rai evaluate` commands: loading
// and digest-checking the model, choosing the feature columns, streaming the
// data through one inference runner per core, and writing reports.
package runner

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/responsible-ai/rmodel-operator/internal/artifact"
	"github.com/responsible-ai/rmodel-operator/internal/evaluation/dataset"
	"github.com/responsible-ai/rmodel-operator/internal/onnx"
)

// Scorer returns, for each of rows rows of features (row-major), the
// probability of the favorable class. Not safe for concurrent use: the
// pipeline makes one per worker goroutine.
type Scorer interface {
	Score(features []float32, rows int, out []float32) error
}

// Model is a binary classifier that can make per-goroutine Scorers.
type Model interface {
	// Features is the number of input values per row.
	Features() int
	// Metadata is the model's metadata_props (may be nil).
	Metadata() map[string]string
	// NewScorer makes a Scorer for batches of up to maxRows rows.
	NewScorer(maxRows int) (Scorer, error)
	Close() error
}

// Metadata keys written into DP-trained models (see docs/evaluations.md).
const (
	MetaFeatures        = "rai.features"
	MetaLabel           = "rai.label"
	MetaDatasetSHA256   = "rai.dataset.sha256"
	MetaNoiseMultiplier = "rai.dp.noise_multiplier"
	MetaSampleRate      = "rai.dp.sample_rate"
	MetaSteps           = "rai.dp.steps"
	MetaDelta           = "rai.dp.delta"
	MetaClippingNorm    = "rai.dp.clipping_norm"
	MetaEpsilon         = "rai.dp.epsilon"
)

// ONNXModel is a Model served by onnxruntime. Its output 0 holds P(favorable)
// in column 0 when it has one value per row (the project's convention), or in
// column 1 when it has two (class probabilities [P(0), P(1)]).
type ONNXModel struct {
	sess     *onnx.Session
	features int
	output   int // index of the output holding the probabilities
	// SHA256 is the hex digest of the model file.
	SHA256 string
	Path   string
}

// LoadONNX reads the model at path, checks its sha256 against wantSHA256
// when that is not empty, and loads it on the CPU with one onnxruntime
// thread per Run: parallelism comes from one Scorer per core. output names
// the output holding the probabilities ("" is the first).
func LoadONNX(path, wantSHA256, output string) (*ONNXModel, error) {
	return LoadONNXOn(path, wantSHA256, output, onnx.DeviceCPU)
}

// LoadONNXOn is LoadONNX on device: with DeviceCUDA the session runs on the
// first GPU (each Scorer's Run on it), and a CUDA provider that is not there
// is an error.
func LoadONNXOn(path, wantSHA256, output string, device onnx.Device) (*ONNXModel, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	sum := sha256.Sum256(data)
	digest := hex.EncodeToString(sum[:])
	if err := CheckDigest("model", path, wantSHA256, digest); err != nil {
		return nil, err
	}
	sess, err := onnx.Load(data, onnx.Options{IntraOpThreads: 1, Device: device})
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", path, err)
	}
	_, rowSize, err := sess.FeatureShape()
	if err != nil {
		sess.Close()
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	outs := sess.Outputs()
	if len(outs) < 1 {
		sess.Close()
		return nil, fmt.Errorf("model %s has no outputs", path)
	}
	out := 0
	if output != "" {
		out = -1
		for i, o := range outs {
			if o.Name == output {
				out = i
			}
		}
		if out < 0 {
			sess.Close()
			var names []string
			for _, o := range outs {
				names = append(names, o.Name)
			}
			return nil, fmt.Errorf("model %s has no output %q (outputs: %s)", path, output, strings.Join(names, ", "))
		}
	}
	return &ONNXModel{sess: sess, features: rowSize, output: out, SHA256: digest, Path: path}, nil
}

// CheckDigest compares a computed sha256 with the expected one (ignored when
// want is empty), case-insensitively, and names both on a mismatch.
func CheckDigest(what, path, want, got string) error {
	if want == "" {
		return nil
	}
	if !strings.EqualFold(strings.TrimPrefix(want, "sha256:"), got) {
		return fmt.Errorf("%s %s: sha256 mismatch: expected %s, file has %s", what, path, strings.ToLower(want), got)
	}
	return nil
}

// Features implements Model.
func (m *ONNXModel) Features() int { return m.features }

// Metadata implements Model.
func (m *ONNXModel) Metadata() map[string]string { return m.sess.Metadata().Custom }

// Close implements Model.
func (m *ONNXModel) Close() error { return m.sess.Close() }

// NewScorer implements Model.
func (m *ONNXModel) NewScorer(maxRows int) (Scorer, error) {
	r, err := m.sess.NewRunner(maxRows)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", m.Path, err)
	}
	width := r.OutputRowSizes()[m.output]
	col := 0
	switch width {
	case 1:
	case 2:
		col = 1
	default:
		r.Close()
		return nil, fmt.Errorf("model %s: output 0 has %d values per row; want 1 (P(favorable)) or 2 (P(0), P(1))", m.Path, width)
	}
	return &onnxScorer{r: r, out: m.output, width: width, col: col}, nil
}

type onnxScorer struct {
	r               *onnx.Runner
	out, width, col int
}

func (s *onnxScorer) Score(features []float32, rows int, out []float32) error {
	outs, err := s.r.Run(features, rows)
	if err != nil {
		return err
	}
	o := outs[s.out]
	if s.width == 1 {
		copy(out[:rows], o[:rows])
		return nil
	}
	for i := range rows {
		out[i] = o[i*s.width+s.col]
	}
	return nil
}

// FeatureColumns decides which data columns feed the model, in order: the
// model's rai.features metadata when present; otherwise every column except
// the excluded ones (label, sensitive attributes, predictions), in file
// order. Sensitive columns are therefore not model inputs unless the model
// says so in rai.features. The excluded columns must exist, and the count
// must match the model's input.
func FeatureColumns(m Model, columns []string, exclude ...string) ([]string, error) {
	have := map[string]bool{}
	for _, c := range columns {
		have[c] = true
	}
	for _, e := range exclude {
		if e != "" && !have[e] {
			return nil, fmt.Errorf("%w: column %q not found (columns: %s)", dataset.ErrColumn, e, strings.Join(columns, ", "))
		}
	}
	if meta := m.Metadata()[MetaFeatures]; meta != "" {
		var fs []string
		for _, f := range strings.Split(meta, ",") {
			fs = append(fs, strings.TrimSpace(f))
		}
		if len(fs) != m.Features() {
			return nil, fmt.Errorf("model metadata %s lists %d features but the model input takes %d", MetaFeatures, len(fs), m.Features())
		}
		return fs, nil
	}
	skip := map[string]bool{}
	for _, e := range exclude {
		if e != "" {
			skip[e] = true
		}
	}
	var fs []string
	for _, c := range columns {
		if !skip[c] {
			fs = append(fs, c)
		}
	}
	if len(fs) != m.Features() {
		return nil, fmt.Errorf("feature-count mismatch: the model takes %d features but the data has %d feature columns (%s); name them in the model's %s metadata or drop extra columns", m.Features(), len(fs), strings.Join(fs, ", "), MetaFeatures)
	}
	return fs, nil
}

// Workers is the number of inference goroutines: one per core.
func Workers() int { return max(1, runtime.GOMAXPROCS(0)) }

// IsFavorable reports whether a label or prediction value is the favorable
// one: equal as text, or both numbers and numerically equal ("1" and "1.0").
func IsFavorable(value, favorable string) bool {
	v, f := strings.TrimSpace(value), strings.TrimSpace(favorable)
	if v == f {
		return true
	}
	a, errA := strconv.ParseFloat(v, 64)
	b, errB := strconv.ParseFloat(f, 64)
	return errA == nil && errB == nil && a == b
}

// InputBuffer returns the onnxruntime runner's own input buffer for rows
// rows: a caller that fills it and passes it to Score saves a copy.
func (s *onnxScorer) InputBuffer(rows int) []float32 { return s.r.Input(rows) }

// Close releases the scorer's onnxruntime tensors.
func (s *onnxScorer) Close() error { return s.r.Close() }

// labelledInput is a model with its labelled evaluation data, open for
// reading: the start of every evaluation that scores rows.
type labelledInput struct {
	Model *ONNXModel
	Data  dataset.Reader
	// Features are the data's columns the model reads, in its input order.
	Features []string
	// DataSHA256 is the data file's digest, for the report.
	DataSHA256 string
}

// openLabelled checks the data file's digest, loads the model (checking its
// digest), and opens the data with the model's feature columns and the
// label column, whose unreadable values (empty, NaN, ±Inf) are errors.
// Close releases both.
func openLabelled(c Common, label string) (*labelledInput, error) {
	dataDigest, err := artifact.FileSHA256(c.DataPath)
	if err != nil {
		return nil, err
	}
	if err := CheckDigest("data", c.DataPath, c.DataSHA256, dataDigest); err != nil {
		return nil, err
	}
	m, err := LoadONNXOn(c.ModelPath, c.ModelSHA256, "", c.Device)
	if err != nil {
		return nil, err
	}
	columns, err := dataset.Columns(c.DataPath)
	if err != nil {
		m.Close()
		return nil, err
	}
	features, err := FeatureColumns(m, columns, label)
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("%s: %w", c.DataPath, err)
	}
	r, err := dataset.Open(c.DataPath, dataset.Spec{Numeric: features, Categorical: []string{label}, Labels: []string{label}})
	if err != nil {
		m.Close()
		return nil, err
	}
	return &labelledInput{Model: m, Data: r, Features: features, DataSHA256: dataDigest}, nil
}

// Close closes the data and the model.
func (in *labelledInput) Close() {
	in.Data.Close()
	in.Model.Close()
}
