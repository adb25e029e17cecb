package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/responsible-ai/rmodel-operator/internal/artifact"
	"github.com/responsible-ai/rmodel-operator/internal/contract"
	"github.com/responsible-ai/rmodel-operator/internal/evaluation/dataset"
	"github.com/responsible-ai/rmodel-operator/internal/onnx"
	"github.com/responsible-ai/rmodel-operator/internal/report"
)

// TextModel is a language model as the text evaluations use it: internal/textmodel's model
// behind an adapter (textmodel.go), or a pure-Go model in tests.
type TextModel interface {
	// Labels are the label names in logit order.
	Labels() []string
	// Metadata is the model's metadata_props (may be nil).
	Metadata() map[string]string
	// Classify returns, per text, the softmax probabilities over Labels (text-classification).
	Classify(ctx context.Context, texts []string) ([][]float64, error)
	// TagWords returns, per sentence of pre-split words, one probability vector over Labels
	// per word: the prediction at the word's first token (token-classification). A word
	// without a token (cut off by the maximum length) has nil.
	TagWords(ctx context.Context, sentences [][]string) ([][][]float64, error)
	Close() error
}

// TextModelOptions are what LoadTextModel needs besides the two files' bytes.
type TextModelOptions struct {
	Task      string
	Labels    []string
	MaxLength int
	// Output names the logits output ("" is "logits").
	Output string
	// Device runs the model on the CPU or a GPU (see Common.Device).
	Device onnx.Device
}

// LoadTextModel builds a TextModel from the model and tokenizer.json bytes. textmodel.go sets
// it to internal/textmodel's loader; tests may replace it.
var LoadTextModel = func(model, tokenizer []byte, opts TextModelOptions) (TextModel, error) {
	return nil, errors.New("text models are not available in this build")
}

// TextOptions are the inputs every text evaluation shares (the --task, --tokenizer,
// --tokenizer-sha256, --labels, --max-length and --text-column flags).
type TextOptions struct {
	Task            string
	TokenizerPath   string
	TokenizerSHA256 string
	Labels          []string
	MaxLength       int
	TextColumn      string
	// Output names the model's logits output (--output; "" is "logits").
	Output string
}

// IsTextTask reports whether task takes text through a tokenizer.
func IsTextTask(task string) bool {
	return task == contract.TaskTextClassification || task == contract.TaskTokenClassification
}

// CheckTask refuses an unknown task, and text-only options given for a tabular model.
func (o TextOptions) CheckTask() error {
	switch o.Task {
	case "", contract.TaskBinaryClassification:
		if o.TokenizerPath != "" || len(o.Labels) > 0 || o.MaxLength != 0 {
			return fmt.Errorf("--%s, --%s and --%s apply to %s and %s models only", contract.FlagTokenizer, contract.FlagLabels, contract.FlagMaxLength, contract.TaskTextClassification, contract.TaskTokenClassification)
		}
		return nil
	case contract.TaskTextClassification, contract.TaskTokenClassification:
		if o.MaxLength < 0 {
			return fmt.Errorf("--%s %d: want 0 (the model's default) or more", contract.FlagMaxLength, o.MaxLength)
		}
		return nil
	}
	return fmt.Errorf("--%s %q: want %s, %s or %s", contract.FlagTask, o.Task, contract.TaskBinaryClassification, contract.TaskTextClassification, contract.TaskTokenClassification)
}

func (o TextOptions) textColumn() string {
	if o.TextColumn == "" {
		return contract.DefaultTextColumn
	}
	return o.TextColumn
}

// loadedText is a text model with the digests the report records.
type loadedText struct {
	TextModel
	sha256, tokenizerSHA256 string
	labels                  []string
}

// openTextModel reads and digest-checks the model and its tokenizer and loads them.
func openTextModel(c Common, o TextOptions) (*loadedText, error) {
	if c.ModelPath == "" {
		return nil, fmt.Errorf("--%s is required", contract.FlagModel)
	}
	if o.TokenizerPath == "" {
		return nil, fmt.Errorf("--%s is required for a %s model", contract.FlagTokenizer, o.Task)
	}
	read := func(what, path, want string) ([]byte, string, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, "", fmt.Errorf("read %s: %w", what, err)
		}
		sum := sha256.Sum256(b)
		d := hex.EncodeToString(sum[:])
		return b, d, CheckDigest(what, path, want, d)
	}
	mb, md, err := read("model", c.ModelPath, c.ModelSHA256)
	if err != nil {
		return nil, err
	}
	tb, td, err := read("tokenizer", o.TokenizerPath, o.TokenizerSHA256)
	if err != nil {
		return nil, err
	}
	m, err := LoadTextModel(mb, tb, TextModelOptions{Task: o.Task, Labels: o.Labels, MaxLength: o.MaxLength, Output: o.Output, Device: c.Device})
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", c.ModelPath, err)
	}
	labels := m.Labels()
	if len(labels) < 2 {
		m.Close()
		return nil, fmt.Errorf("model %s has %d labels; a text model needs at least 2", c.ModelPath, len(labels))
	}
	return &loadedText{TextModel: m, sha256: md, tokenizerSHA256: td, labels: labels}, nil
}

// label returns the index of the label named name, or an error naming the labels.
func (m *loadedText) label(name, what string) (int, error) {
	if i := slices.Index(m.labels, name); i >= 0 {
		return i, nil
	}
	return -1, fmt.Errorf("%s %q is not one of the model's labels (%s)", what, name, strings.Join(m.labels, ", "))
}

// record writes the model's and the text options' facts into the report.
func (m *loadedText) record(rep *report.Report, o TextOptions) {
	rep.Model.SHA256 = m.sha256
	p := rep.Parameters
	p["task"] = o.Task
	p["labels"] = strings.Join(m.labels, ",")
	p["num_labels"] = strconv.Itoa(len(m.labels))
	p["tokenizer_sha256"] = m.tokenizerSHA256
	p["text_column"] = o.textColumn()
	if o.MaxLength > 0 {
		p["max_length"] = strconv.Itoa(o.MaxLength)
	}
}

// textRow is one row of a text dataset.
type textRow struct {
	// Row is the 1-based data row.
	Row   int64
	Text  string
	Label string
	// Group holds the sensitive columns' values, in their order.
	Group []string
}

// readTextRows reads every row of a text dataset: the text column, the label column when
// label is not "", and the sensitive columns. An empty text is an error naming its row.
// The rows are held in memory: text evaluation sets are small next to what a language model
// can score in a Job's time.
func readTextRows(ctx context.Context, path, textColumn, label string, sensitive []string) ([]textRow, error) {
	cat := []string{textColumn}
	var labels []string
	if label != "" {
		cat = append(cat, label)
		labels = []string{label}
	}
	first := len(cat)
	cat = append(cat, sensitive...)
	for i, c := range cat {
		if slices.Index(cat, c) != i {
			return nil, fmt.Errorf("%s: column %q is named twice (text, label and sensitive columns must differ)", path, c)
		}
	}
	r, err := dataset.Open(path, dataset.Spec{Categorical: cat, Labels: labels})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var rows []textRow
	var b dataset.Batch
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ok, err := r.Next(&b, BatchRows)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		texts := r.Dict(0)
		for i := 0; i < b.Rows; i++ {
			row := textRow{Row: b.FirstRow + int64(i), Text: texts[b.Codes[0][i]]}
			if strings.TrimSpace(row.Text) == "" {
				return nil, fmt.Errorf("%s: row %d, column %q: empty text", path, row.Row, textColumn)
			}
			if label != "" {
				row.Label = strings.TrimSpace(r.Dict(1)[b.Codes[1][i]])
			}
			for j := range sensitive {
				row.Group = append(row.Group, r.Dict(first + j)[b.Codes[first+j][i]])
			}
			rows = append(rows, row)
		}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: no data rows", path)
	}
	return rows, nil
}

// checkTextData checks the data file's digest and returns it.
func checkTextData(c Common) (string, error) {
	if c.DataPath == "" {
		return "", fmt.Errorf("--%s is required", contract.FlagData)
	}
	d, err := artifact.FileSHA256(c.DataPath)
	if err != nil {
		return "", err
	}
	return d, CheckDigest("data", c.DataPath, c.DataSHA256, d)
}

// openTextEvaluation is how every text evaluation of kind starts: it
// refuses --shard, checks the data file's digest (returned), opens the
// digest-checked model and tokenizer, and records them in the report. The
// caller closes the model.
func openTextEvaluation(c Common, o TextOptions, kind string, rep *report.Report) (*loadedText, string, error) {
	if err := refuseShard(c, kind); err != nil {
		return nil, "", err
	}
	dataDigest, err := checkTextData(c)
	if err != nil {
		return nil, "", err
	}
	m, err := openTextModel(c, o)
	if err != nil {
		return nil, "", err
	}
	m.record(rep, o)
	return m, dataDigest, nil
}

// refuseShard refuses --shard for a text evaluation.
func refuseShard(c Common, kind string) error {
	if c.Shard.Count > 1 {
		return fmt.Errorf("--%s: text %s evaluations do not shard (the whole text set is scored in one Job); run without --%s", contract.FlagShard, kind, contract.FlagShard)
	}
	return nil
}

// textBatch is how many texts one Classify or TagWords call gets.
const textBatch = 32

// classifyAll classifies texts in batches and checks each answer's shape.
func classifyAll(ctx context.Context, m *loadedText, texts []string) ([][]float64, error) {
	out := make([][]float64, 0, len(texts))
	for lo := 0; lo < len(texts); lo += textBatch {
		hi := min(len(texts), lo+textBatch)
		p, err := m.Classify(ctx, texts[lo:hi])
		if err != nil {
			return nil, fmt.Errorf("classify texts %d to %d: %w", lo+1, hi, err)
		}
		if len(p) != hi-lo {
			return nil, fmt.Errorf("classify texts %d to %d: the model answered %d results", lo+1, hi, len(p))
		}
		for i, v := range p {
			if len(v) != len(m.labels) {
				return nil, fmt.Errorf("classify text %d: %d probabilities for %d labels", lo+i+1, len(v), len(m.labels))
			}
			for _, x := range v {
				if math.IsNaN(x) {
					return nil, fmt.Errorf("classify text %d: the model answered NaN", lo+i+1)
				}
			}
		}
		out = append(out, p...)
	}
	return out, nil
}

// argmax is the index of the largest value, the first of equal ones.
func argmax(v []float64) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// decision is a text classifier's favorable decision: P(favorable) ≥ threshold for a model
// with two labels, the favorable label being the most probable one otherwise.
type decision struct {
	fav       int
	threshold float64
	binary    bool
}

func newDecision(m *loadedText, fav int, threshold float64) decision {
	return decision{fav: fav, threshold: threshold, binary: len(m.labels) == 2}
}

func (d decision) favorable(p []float64) bool {
	if d.binary {
		return p[d.fav] >= d.threshold
	}
	return argmax(p) == d.fav
}

// predicted is the predicted label index: for two labels, the favorable one exactly when
// the decision is favorable.
func (d decision) predicted(p []float64) int {
	if d.binary {
		if p[d.fav] >= d.threshold {
			return d.fav
		}
		return 1 - d.fav
	}
	return argmax(p)
}

func (d decision) describe(labels []string) string {
	if d.binary {
		return fmt.Sprintf("P(%s) ≥ %v", labels[d.fav], d.threshold)
	}
	return fmt.Sprintf("argmax = %s", labels[d.fav])
}

// groupName is the fairness package's group name: "col=value" joined by commas.
func groupName(columns, values []string) string {
	parts := make([]string, len(columns))
	for i, c := range columns {
		parts[i] = c + "=" + values[i]
	}
	return strings.Join(parts, ",")
}

// sortStableBy sorts s stably by less.
func sortStableBy[T any](s []T, less func(a, b T) bool) {
	sort.SliceStable(s, func(i, j int) bool { return less(s[i], s[j]) })
}
