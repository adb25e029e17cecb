// Package textmodel loads and runs the language models of docs/models.md "Text models": one
// loader that `rai serve` and `rai evaluate` share, so that both tokenize, pad, run and read
// scores the same way.
//
// A text model is an ONNX file with the Hugging Face export interface (inputs input_ids,
// attention_mask and optionally token_type_ids, INT64 [batch, sequence]; output logits, FP32
// [batch, labels] for text-classification or [batch, sequence, labels] for
// token-classification) and its BERT WordPiece tokenizer.json (internal/text).
//
//	m, err := textmodel.Load(modelBytes, tokenizerBytes, textmodel.Options{Task: contract.TaskTextClassification})
//	defer m.Close()
//	probs, err := m.Classify([]string{"great film", "awful"}) // probs[i][j]: P(label j | text i)
//
//	encs, err := m.Encode(texts)     // token-classification: tokenize (truncated at MaxLength) ...
//	tags, err := m.Tag(encs)         // ... per position probabilities ...
//	spans, err := m.Entities(texts[0], encs[0], tags[0]) // ... and Hugging Face "simple" entities
//
// Load checks everything it can before the first run: the inputs' names, types and ranks, the
// output's type and rank for the task, the task against the model's rai.task metadata, the label
// count against a fixed last output dimension (else against every run's output), the tokenizer
// (an unsupported one is refused with text.ErrUnsupported), and the maximum length (Options,
// else rai.max_length, else the tokenizer file's truncation, else contract.DefaultMaxLength).
//
// Run takes encodings of any lengths and pads them on the right, in the run, to the longest (or
// to the model's fixed sequence length): a text's scores do not depend on the rest of its batch
// in a model that honours the attention mask (Hugging Face's do). EncodeStrict refuses, instead of truncating, a text longer
// than MaxLength (*TooLongError) or an empty one (ErrEmptyText): the server's choice. Every
// method is safe for concurrent use.
//
// Package textmodeltest writes tiny text models in this interface for tests.
package textmodel

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/responsible-ai/rmodel-operator/internal/contract"
	"github.com/responsible-ai/rmodel-operator/internal/onnx"
	"github.com/responsible-ai/rmodel-operator/internal/text"
)

// The Hugging Face ONNX interface's tensor names.
const (
	InputIDs      = "input_ids"
	AttentionMask = "attention_mask"
	TokenTypeIDs  = "token_type_ids"
	// DefaultOutput is the output read when Options.Output is empty.
	DefaultOutput = "logits"
)

// The metadata keys Load reads (docs/models.md).
const (
	MetaTask      = "rai.task"
	MetaLabels    = "rai.labels"
	MetaID2Label  = "id2label"
	MetaMaxLength = "rai.max_length"
)

// BatchSize is how many texts Classify and Tag put in one run.
const BatchSize = 64

// Options configure Load. Task is required (contract.TaskTextClassification or
// contract.TaskTokenClassification); the rest may be zero.
type Options struct {
	Task string
	// Labels in logit order; nil reads the model's metadata (rai.labels, else id2label).
	Labels []string
	// MaxLength is the longest encoding, [CLS] and [SEP] included; 0 reads rai.max_length, else
	// the tokenizer file's truncation, else contract.DefaultMaxLength.
	MaxLength int
	// Output names the logits output; "" means "logits".
	Output string
	// Device, IntraOpThreads and LibraryPath are passed to onnx.Load.
	Device         onnx.Device
	IntraOpThreads int
	LibraryPath    string
}

// Model is a loaded text model and its tokenizer. It is safe for concurrent use.
type Model struct {
	sess      *onnx.Session
	tok       *text.Tokenizer
	task      string
	labels    []string
	maxLength int
	output    int  // index of the logits output among the session's outputs
	typeIDs   bool // the model takes token_type_ids
	seqLen    int  // the model's fixed sequence length; 0 when dynamic
	// labelsFrom says where the labels came from, for errors.
	labelsFrom string
}

// Load parses the tokenizer, loads the model and checks that they are a text model for
// opts.Task; see the package documentation for what it checks.
func Load(model, tokenizer []byte, opts Options) (*Model, error) {
	switch opts.Task {
	case contract.TaskTextClassification, contract.TaskTokenClassification:
	case "":
		return nil, fmt.Errorf("a text model needs a task: %s or %s", contract.TaskTextClassification, contract.TaskTokenClassification)
	default:
		return nil, fmt.Errorf("task %q is not a text task: want %s or %s", opts.Task, contract.TaskTextClassification, contract.TaskTokenClassification)
	}
	if opts.MaxLength < 0 || opts.MaxLength == 1 {
		return nil, fmt.Errorf("max length %d: want 0 (the model's) or at least 2 ([CLS] and [SEP])", opts.MaxLength)
	}
	tok, err := text.Parse(tokenizer)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	sess, err := onnx.Load(model, onnx.Options{LibraryPath: opts.LibraryPath, Device: opts.Device, IntraOpThreads: opts.IntraOpThreads})
	if err != nil {
		return nil, fmt.Errorf("load text model: %w", err)
	}
	m := &Model{sess: sess, tok: tok, task: opts.Task}
	if err := m.check(opts); err != nil {
		sess.Close()
		return nil, err
	}
	return m, nil
}

func (m *Model) check(opts Options) error {
	md := m.sess.Metadata().Custom
	if t, ok := md[MetaTask]; ok && t != m.task {
		return fmt.Errorf("the model's metadata says %s %q, but it is to be used for %q", MetaTask, t, m.task)
	}
	if err := m.checkInputs(); err != nil {
		return err
	}
	if err := m.checkOutput(opts.Output); err != nil {
		return err
	}
	if err := m.readLabels(opts.Labels, md); err != nil {
		return err
	}
	return m.readMaxLength(opts.MaxLength, md)
}

func (m *Model) checkInputs() error {
	ins := m.sess.Inputs()
	have := map[string]bool{}
	for _, in := range ins {
		switch in.Name {
		case InputIDs, AttentionMask, TokenTypeIDs:
		default:
			return fmt.Errorf("model input %q: a text model takes %s, %s and optionally %s", in.Name, InputIDs, AttentionMask, TokenTypeIDs)
		}
		if in.DataType != onnx.INT64 || len(in.Shape) != 2 {
			return fmt.Errorf("model input %q is %s %v: want INT64 [batch, sequence]", in.Name, in.DataType, in.Shape)
		}
		if in.Shape[0] > 0 {
			return fmt.Errorf("model input %q has a fixed batch dimension (%v): want it dynamic", in.Name, in.Shape)
		}
		if s := int(in.Shape[1]); s > 0 {
			if m.seqLen > 0 && m.seqLen != s {
				return fmt.Errorf("model inputs disagree on the sequence length (%d and %d)", m.seqLen, s)
			}
			m.seqLen = s
		}
		have[in.Name] = true
	}
	for _, name := range []string{InputIDs, AttentionMask} {
		if !have[name] {
			return fmt.Errorf("model has no input %q (its inputs: %s): a text model takes %s, %s and optionally %s",
				name, tensorNames(ins), InputIDs, AttentionMask, TokenTypeIDs)
		}
	}
	m.typeIDs = have[TokenTypeIDs]
	return nil
}

func (m *Model) checkOutput(name string) error {
	if name == "" {
		name = DefaultOutput
	}
	outs := m.sess.Outputs()
	m.output = slices.IndexFunc(outs, func(o onnx.TensorInfo) bool { return o.Name == name })
	if m.output < 0 {
		return fmt.Errorf("model has no output %q (its outputs: %s)", name, tensorNames(outs))
	}
	o := outs[m.output]
	rank := 2
	if m.task == contract.TaskTokenClassification {
		rank = 3
	}
	if o.DataType != onnx.FP32 || len(o.Shape) != rank {
		want := "[batch, labels]"
		if rank == 3 {
			want = "[batch, sequence, labels]"
		}
		return fmt.Errorf("model output %q is %s %v: %s wants FP32 %s", name, o.DataType, o.Shape, m.task, want)
	}
	return nil
}

func (m *Model) readLabels(given []string, md map[string]string) error {
	switch {
	case len(given) > 0:
		m.labels, m.labelsFrom = slices.Clone(given), "the labels given"
	case md[MetaLabels] != "":
		if err := json.Unmarshal([]byte(md[MetaLabels]), &m.labels); err != nil {
			return fmt.Errorf("model metadata %s must be a JSON array of label names: %v", MetaLabels, err)
		}
		m.labelsFrom = "metadata " + MetaLabels
	case md[MetaID2Label] != "":
		var byID map[string]string
		if err := json.Unmarshal([]byte(md[MetaID2Label]), &byID); err != nil {
			return fmt.Errorf("model metadata %s must be a JSON object of label names by id: %v", MetaID2Label, err)
		}
		m.labels = make([]string, len(byID))
		for k, v := range byID {
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(byID) || m.labels[i] != "" {
				return fmt.Errorf("model metadata %s: key %q; want the ids 0 to %d, each once", MetaID2Label, k, len(byID)-1)
			}
			m.labels[i] = v
		}
		m.labelsFrom = "metadata " + MetaID2Label
	default:
		return fmt.Errorf("no labels: give them (--%s) or store them in the model's metadata (%s, a JSON array, or %s)", contract.FlagLabels, MetaLabels, MetaID2Label)
	}
	if len(m.labels) < 2 && m.task == contract.TaskTextClassification {
		return fmt.Errorf("%s: %d label(s) %q; a classifier needs at least 2", m.labelsFrom, len(m.labels), m.labels)
	}
	for i, l := range m.labels {
		if l == "" {
			return fmt.Errorf("%s: label %d is empty", m.labelsFrom, i)
		}
		if slices.Index(m.labels, l) < i {
			return fmt.Errorf("%s: label %q appears twice", m.labelsFrom, l)
		}
	}
	o := m.sess.Outputs()[m.output]
	if last := o.Shape[len(o.Shape)-1]; last > 0 && int(last) != len(m.labels) {
		return fmt.Errorf("%d labels (%s: %s), but the model's output %q has %d (shape %v)",
			len(m.labels), m.labelsFrom, strings.Join(m.labels, ","), o.Name, last, o.Shape)
	}
	return nil
}

func (m *Model) readMaxLength(given int, md map[string]string) error {
	switch {
	case given > 0:
		m.maxLength = given
	case md[MetaMaxLength] != "":
		n, err := strconv.Atoi(md[MetaMaxLength])
		if err != nil || n < 2 {
			return fmt.Errorf("model metadata %s %q: want an integer of at least 2", MetaMaxLength, md[MetaMaxLength])
		}
		m.maxLength = n
	case m.tok.FileOptions().MaxLength > 0:
		m.maxLength = m.tok.FileOptions().MaxLength
	default:
		m.maxLength = contract.DefaultMaxLength
	}
	if m.seqLen > 0 && m.maxLength > m.seqLen {
		if given > 0 {
			return fmt.Errorf("max length %d is longer than the model's fixed sequence length %d", given, m.seqLen)
		}
		m.maxLength = m.seqLen
	}
	return nil
}

func tensorNames(infos []onnx.TensorInfo) string {
	var ns []string
	for _, i := range infos {
		ns = append(ns, i.Name)
	}
	return strings.Join(ns, ", ")
}

// Task is contract.TaskTextClassification or contract.TaskTokenClassification.
func (m *Model) Task() string { return m.task }

// Labels are the label names in logit order (do not modify).
func (m *Model) Labels() []string { return m.labels }

// MaxLength is the longest encoding the model takes, [CLS] and [SEP] included.
func (m *Model) MaxLength() int { return m.maxLength }

// Tokenizer is the model's tokenizer.
func (m *Model) Tokenizer() *text.Tokenizer { return m.tok }

// Session is the model's onnxruntime session.
func (m *Model) Session() *onnx.Session { return m.sess }

// OutputName is the name of the logits output.
func (m *Model) OutputName() string { return m.sess.Outputs()[m.output].Name }

// TakesTokenTypeIDs says whether the model has a token_type_ids input.
func (m *Model) TakesTokenTypeIDs() bool { return m.typeIDs }

// Close releases the session.
func (m *Model) Close() error { return m.sess.Close() }

// options is how Encode tokenizes: truncation at MaxLength, padding to the longest.
func (m *Model) options() text.Options {
	return text.Options{MaxLength: m.maxLength, Padding: text.PadLongest}
}

// Encode tokenizes texts, truncating each to MaxLength (Encoding.Truncated says so) and padding
// them to the longest.
func (m *Model) Encode(texts []string) ([]text.Encoding, error) {
	return m.tok.EncodeBatch(texts, m.options())
}

// EncodeWords tokenizes pre-split texts (text.Tokenizer.EncodeWordsBatch), truncated to
// MaxLength and padded to the longest.
func (m *Model) EncodeWords(words [][]string) ([]text.Encoding, error) {
	return m.tok.EncodeWordsBatch(words, m.options())
}

// TooLongError is EncodeStrict's refusal of a text with more tokens than MaxLength.
type TooLongError struct {
	// Index is the text's position in the batch.
	Index int
	// Tokens is the text's token count, [CLS] and [SEP] included.
	Tokens    int
	MaxLength int
}

func (e *TooLongError) Error() string {
	return fmt.Sprintf("text %d has %d tokens ([CLS] and [SEP] included), more than the model's maximum length %d", e.Index, e.Tokens, e.MaxLength)
}

// ErrEmptyText is EncodeStrict's refusal of an empty text: its *EmptyTextError Is it.
var ErrEmptyText = errors.New("text is empty")

// EmptyTextError is EncodeStrict's refusal of a text with no tokens besides [CLS] and [SEP].
type EmptyTextError struct {
	// Index is the text's position in the batch.
	Index int
}

func (e *EmptyTextError) Error() string {
	return fmt.Sprintf("text %d is empty (no tokens besides [CLS] and [SEP])", e.Index)
}

// Is makes errors.Is(err, ErrEmptyText) hold.
func (e *EmptyTextError) Is(target error) bool { return target == ErrEmptyText }

// EncodeStrict tokenizes texts each on its own, without padding (Run pads), and refuses rather
// than truncates: an empty text (or one of whitespace only) fails with an *EmptyTextError (Is
// ErrEmptyText), one with
// more than MaxLength tokens with a *TooLongError giving its token count. The server uses it, so
// that no client gets scores for a text the model did not read in full.
func (m *Model) EncodeStrict(texts []string) ([]text.Encoding, error) {
	encs, err := m.tok.EncodeBatch(texts, text.Options{MaxLength: m.maxLength})
	if err != nil {
		return nil, err
	}
	for i, e := range encs {
		switch {
		case e.Truncated:
			full, err := m.tok.Encode(texts[i], text.Options{})
			if err != nil {
				return nil, err
			}
			return nil, &TooLongError{Index: i, Tokens: full.Len(), MaxLength: m.maxLength}
		case e.Len() <= 2:
			return nil, &EmptyTextError{Index: i}
		}
	}
	return encs, nil
}

// Run runs one batch of encodings, padded on the right to the longest of them (or to the model's
// fixed sequence length), and returns the logits output, flat and row-major, with its shape:
// [len(encs), labels] or [len(encs), padded length, labels]. The output's shape is checked
// against the batch and the labels.
func (m *Model) Run(encs []text.Encoding) (logits []float32, shape []int64, err error) {
	if len(encs) == 0 {
		return nil, nil, errors.New("run: no encodings")
	}
	seq := m.seqLen
	for i, e := range encs {
		if len(e.AttentionMask) != e.Len() || len(e.TypeIDs) != e.Len() {
			return nil, nil, fmt.Errorf("run: encoding %d is malformed (%d ids, %d mask, %d type ids)", i, e.Len(), len(e.AttentionMask), len(e.TypeIDs))
		}
		if m.seqLen > 0 && e.Len() > m.seqLen {
			return nil, nil, fmt.Errorf("run: encoding %d has %d positions, the model takes %d", i, e.Len(), m.seqLen)
		}
		if m.seqLen == 0 {
			seq = max(seq, e.Len())
		}
	}
	n := len(encs)
	ids := make([]int64, n*seq)
	mask := make([]int64, n*seq)
	var types []int64
	if m.typeIDs {
		types = make([]int64, n*seq)
	}
	pad := m.tok.PadID()
	for i, e := range encs {
		row := ids[i*seq : (i+1)*seq]
		copy(row, e.IDs)
		for k := e.Len(); k < seq; k++ {
			row[k] = pad
		}
		copy(mask[i*seq:], e.AttentionMask)
		if types != nil {
			copy(types[i*seq:], e.TypeIDs)
		}
	}
	shape2 := []int64{int64(n), int64(seq)}
	inputs := []onnx.NamedTensor{{Name: InputIDs, Shape: shape2, Data: ids}, {Name: AttentionMask, Shape: shape2, Data: mask}}
	if types != nil {
		inputs = append(inputs, onnx.NamedTensor{Name: TokenTypeIDs, Shape: shape2, Data: types})
	}
	outs, err := m.sess.RunInputs(inputs)
	if err != nil {
		return nil, nil, err
	}
	o := outs[m.output]
	want := []int64{int64(n), int64(len(m.labels))}
	if m.task == contract.TaskTokenClassification {
		want = []int64{int64(n), int64(seq), int64(len(m.labels))}
	}
	if !slices.Equal(o.Shape, want) {
		return nil, nil, fmt.Errorf("run: output %q has shape %v for %d texts of %d positions, want %v (%d labels, %s)",
			o.Name, o.Shape, n, seq, want, len(m.labels), m.labelsFrom)
	}
	return o.Data.([]float32), o.Shape, nil
}

// Classify returns, per text, the softmax probabilities over Labels (text-classification),
// running BatchSize texts at a time; texts are truncated at MaxLength.
func (m *Model) Classify(texts []string) ([][]float64, error) {
	if m.task != contract.TaskTextClassification {
		return nil, fmt.Errorf("classify: the model is for %s", m.task)
	}
	out := make([][]float64, 0, len(texts))
	for start := 0; start < len(texts); start += BatchSize {
		encs, err := m.Encode(texts[start:min(start+BatchSize, len(texts))])
		if err != nil {
			return nil, err
		}
		probs, err := m.ClassifyEncodings(encs)
		if err != nil {
			return nil, err
		}
		out = append(out, probs...)
	}
	return out, nil
}

// ClassifyEncodings is Classify for encodings already made, in one run.
func (m *Model) ClassifyEncodings(encs []text.Encoding) ([][]float64, error) {
	if m.task != contract.TaskTextClassification {
		return nil, fmt.Errorf("classify: the model is for %s", m.task)
	}
	logits, _, err := m.Run(encs)
	if err != nil {
		return nil, err
	}
	return Softmax(logits, len(m.labels)), nil
}

// Tag returns, per encoding and per position of it (enc.Len() rows, padding included when the
// encoding has some), the softmax probabilities over Labels (token-classification), running
// BatchSize encodings at a time.
func (m *Model) Tag(encs []text.Encoding) ([][][]float64, error) {
	if m.task != contract.TaskTokenClassification {
		return nil, fmt.Errorf("tag: the model is for %s", m.task)
	}
	out := make([][][]float64, 0, len(encs))
	for start := 0; start < len(encs); start += BatchSize {
		batch := encs[start:min(start+BatchSize, len(encs))]
		logits, shape, err := m.Run(batch)
		if err != nil {
			return nil, err
		}
		seq, k := int(shape[1]), len(m.labels)
		for i, e := range batch {
			out = append(out, Softmax(logits[i*seq*k:(i*seq+e.Len())*k], k))
		}
	}
	return out, nil
}

// Entities groups one text's per-position probabilities (a row of Tag) into entity spans as
// Hugging Face's token-classification pipeline does with aggregation_strategy="simple"; enc is
// the text's encoding (from Encode or EncodeStrict of the same text).
func (m *Model) Entities(txt string, enc text.Encoding, probs [][]float64) ([]text.EntitySpan, error) {
	return m.tok.AggregateSimple(txt, enc, probs, m.labels)
}

// Softmax splits flat logits into rows of k and returns each row's softmax probabilities.
func Softmax(logits []float32, k int) [][]float64 {
	rows := make([][]float64, len(logits)/k)
	buf := make([]float64, k)
	for r := range rows {
		for j := range buf {
			buf[j] = float64(logits[r*k+j])
		}
		rows[r] = text.Softmax(buf)
	}
	return rows
}
