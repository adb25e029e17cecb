package serving

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/responsible-ai/rmodel-operator/internal/artifact"
	"github.com/responsible-ai/rmodel-operator/internal/contract"
	"github.com/responsible-ai/rmodel-operator/internal/onnx"
	"github.com/responsible-ai/rmodel-operator/internal/text"
	"github.com/responsible-ai/rmodel-operator/internal/textmodel"
	"github.com/responsible-ai/rmodel-operator/serving/audit"
)

// Text models (docs/serving.md "Text models"): a server started with a text task serves a
// textmodel.Model. A request gives either the input "text", BYTES [batch] (REST: JSON strings, or
// binary data with Triton's 4-byte little-endian length before each element; gRPC:
// bytes_contents or raw_input_contents laid out the same way), tokenized by the server, or the
// token tensors input_ids and attention_mask (and token_type_ids when the model takes them),
// INT64 [batch, sequence]. A text with more tokens than the model's max length is refused, never
// truncated. Answers:
//
//   - text-classification: label (BYTES [batch]), score (FP32 [batch], the label's probability)
//     and probabilities (FP32 [batch, labels]) by default for text, logits (FP32 [batch, labels])
//     by default for tokens; each may be asked for with either input;
//   - token-classification: entities (BYTES [batch], each element the JSON array of the text's
//     entity spans {entity_group, score, word, start, end}, character offsets, Hugging Face's
//     "simple" aggregation) for text; logits (FP32 [batch, sequence, labels]) for tokens.
//
// Requests of both kinds are batched together: a batch is padded to its longest sequence.

// The text model's tensor names.
const (
	TextInput            = "text"
	OutputLabel          = "label"
	OutputScore          = "score"
	OutputProbabilities  = "probabilities"
	OutputLogits         = "logits"
	OutputEntities       = "entities"
	defaultMaxTextBytes  = 64 << 10
	maxTokenizerBytes    = 256 << 20
	textWarmUp           = "warm up"
	bytesDatatype        = "BYTES"
	int64Datatype        = "INT64"
	fp32Datatype         = "FP32"
	truncationStatement  = "none: a text with more than max_length tokens ([CLS] and [SEP] included) is refused with 400, which gives its token count"
	textInputsStatement  = "either text (BYTES [batch], UTF-8) or the token tensors (INT64 [batch, sequence])"
	entitiesNeedTextNote = "the server aggregates entities on the text's characters"
)

// isTextTask says whether task is one of the text tasks.
func isTextTask(task string) bool {
	return task == contract.TaskTextClassification || task == contract.TaskTokenClassification
}

// checkTask checks the task settings of cfg (in New).
func (cfg *Config) checkTask() error {
	switch {
	case cfg.Task == "" || cfg.Task == contract.TaskBinaryClassification:
		var given []string
		if cfg.TokenizerURI != "" || cfg.TokenizerSHA256 != "" {
			given = append(given, "a tokenizer")
		}
		if len(cfg.Labels) > 0 {
			given = append(given, "labels")
		}
		if cfg.MaxLength != 0 {
			given = append(given, "a max length")
		}
		if len(given) > 0 {
			return fmt.Errorf("%s given for a %s model: they are for the text tasks (%s, %s)", strings.Join(given, ", "),
				contract.TaskBinaryClassification, contract.TaskTextClassification, contract.TaskTokenClassification)
		}
		return nil
	case !isTextTask(cfg.Task):
		return fmt.Errorf("unknown task %q: want %s (the default), %s or %s", cfg.Task,
			contract.TaskBinaryClassification, contract.TaskTextClassification, contract.TaskTokenClassification)
	}
	if cfg.TokenizerURI == "" {
		return fmt.Errorf("a %s model needs its tokenizer.json (--%s and --%s)", cfg.Task, contract.FlagTokenizer, contract.FlagTokenizerSHA256)
	}
	if b, err := hex.DecodeString(cfg.TokenizerSHA256); err != nil || len(b) != sha256.Size {
		return fmt.Errorf("the tokenizer's sha256 is required as 64 hexadecimal digits, got %q", cfg.TokenizerSHA256)
	}
	if cfg.Monitoring.Enabled {
		return fmt.Errorf("monitoring (--%s) is not supported for text models (%s): its aggregates are of tabular features", "monitoring", cfg.Task)
	}
	if cfg.AuditRawInputs {
		return fmt.Errorf("--audit-raw-inputs is for tabular models: a text model's audit log holds digests of the texts, never the texts")
	}
	if cfg.MaxLength < 0 || cfg.MaxLength == 1 {
		return fmt.Errorf("max length %d: want 0 (the model's) or at least 2 ([CLS] and [SEP])", cfg.MaxLength)
	}
	if cfg.MaxTextBytes < 0 {
		return fmt.Errorf("max text bytes %d is negative", cfg.MaxTextBytes)
	}
	if cfg.MaxTextBytes == 0 {
		cfg.MaxTextBytes = defaultMaxTextBytes
	}
	return nil
}

// FetchTokenizer reads a tokenizer.json as FetchModel reads a model: only if its sha256 matches.
func FetchTokenizer(ctx context.Context, uri, wantSHA256 string) ([]byte, error) {
	data, err := artifact.Fetch(ctx, uri, wantSHA256, maxTokenizerBytes)
	if errors.Is(err, artifact.ErrDigestMismatch) {
		return nil, fmt.Errorf("tokenizer %w: refusing to load it", err)
	}
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return data, nil
}

// textServing is the state of a server with a text model (nil for a tabular one).
type textServing struct {
	model        *textmodel.Model
	exec         textExecutor
	labels       []string
	k            int
	tokenizerSHA string
	tokenInputs  []string // input_ids, attention_mask[, token_type_ids]
	maxTextBytes int
}

// loadText loads the text model from its bytes (already digest-checked), fetches the tokenizer
// and prepares the executor and the metadata; Load calls it.
func (s *Server) loadText(ctx context.Context, model []byte) error {
	tok, err := FetchTokenizer(ctx, s.cfg.TokenizerURI, s.cfg.TokenizerSHA256)
	if err != nil {
		return err
	}
	m, err := textmodel.Load(model, tok, textmodel.Options{
		Task: s.cfg.Task, Labels: s.cfg.Labels, MaxLength: s.cfg.MaxLength,
		Device: s.cfg.Device, IntraOpThreads: s.cfg.IntraOpThreads, LibraryPath: s.cfg.LibraryPath,
	})
	if err != nil {
		return fmt.Errorf("load text model %q: %w", s.cfg.ModelURI, err)
	}
	s.sess = m.Session()
	t := &textServing{model: m, labels: m.Labels(), k: len(m.Labels()), tokenizerSHA: hexSHA(s.cfg.TokenizerSHA256),
		tokenInputs: []string{textmodel.InputIDs, textmodel.AttentionMask}, maxTextBytes: s.cfg.MaxTextBytes}
	if m.TakesTokenTypeIDs() {
		t.tokenInputs = append(t.tokenInputs, textmodel.TokenTypeIDs)
	}
	s.text = t
	s.describeText()
	observe := func(rows int) { s.metrics.batch.Observe(float64(rows)) }
	if s.cfg.MaxBatchSize > 1 {
		t.exec = newTextBatcher(m, s.cfg.MaxBatchSize, s.cfg.MaxBatchDelay, observe)
	} else {
		t.exec = newTextPool(m, s.cfg.Workers, observe)
	}
	s.loaded.Store(true)
	encs, err := m.EncodeStrict([]string{textWarmUp})
	if err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	t.exec.arrive()
	if _, err := t.exec.infer(encs); err != nil {
		return fmt.Errorf("warm-up inference: %w", err)
	}
	s.ready.Store(true)
	s.metrics.ready.Set(1)
	s.log.Info("model ready", "model", s.cfg.Name, "version", s.version, "sha256", s.modelSHA, "task", m.Task(),
		"tokenizer_sha256", t.tokenizerSHA, "labels", len(t.labels), "max_length", m.MaxLength(), "device", s.sess.Device(),
		"max_batch_size", s.cfg.MaxBatchSize, "max_batch_delay", s.cfg.MaxBatchDelay.String(), "onnxruntime", onnx.LibraryPath())
	return nil
}

// Tokenization is what the metadata says of how the server tokenizes.
type Tokenization struct {
	MaxLength    int    `json:"max_length"`
	Truncation   string `json:"truncation"`
	Padding      string `json:"padding"`
	MaxTextBytes int    `json:"max_text_bytes"`
	// TokenizerSHA256 is the digest of the tokenizer.json served.
	TokenizerSHA256 string `json:"tokenizer_sha256"`
}

func (s *Server) describeText() {
	t, m := s.text, s.text.model
	s.version = s.cfg.ModelVersion
	if s.version == "" {
		s.version = "1"
		if v := s.sess.Metadata().Version; v > 0 {
			s.version = strconv.FormatInt(v, 10)
		}
	}
	k := int64(t.k)
	s.meta = ModelMetadata{
		Name: s.cfg.Name, Versions: []string{s.version}, Platform: "onnxruntime_onnx",
		Inputs: []TensorMetadata{{Name: TextInput, Datatype: bytesDatatype, Shape: []int64{-1}}},
		Parameters: map[string]any{
			"task": m.Task(), "labels": t.labels, "inputs": textInputsStatement,
			"tokenization": Tokenization{MaxLength: m.MaxLength(), Truncation: truncationStatement, Padding: "longest",
				MaxTextBytes: t.maxTextBytes, TokenizerSHA256: t.tokenizerSHA},
		},
	}
	for _, name := range t.tokenInputs {
		s.meta.Inputs = append(s.meta.Inputs, TensorMetadata{Name: name, Datatype: int64Datatype, Shape: []int64{-1, -1}})
	}
	if m.Task() == contract.TaskTextClassification {
		s.meta.Outputs = []TensorMetadata{
			{Name: OutputLabel, Datatype: bytesDatatype, Shape: []int64{-1}},
			{Name: OutputScore, Datatype: fp32Datatype, Shape: []int64{-1}},
			{Name: OutputProbabilities, Datatype: fp32Datatype, Shape: []int64{-1, k}},
			{Name: OutputLogits, Datatype: fp32Datatype, Shape: []int64{-1, k}},
		}
	} else {
		s.meta.Outputs = []TensorMetadata{
			{Name: OutputEntities, Datatype: bytesDatatype, Shape: []int64{-1}},
			{Name: OutputLogits, Datatype: fp32Datatype, Shape: []int64{-1, -1, k}},
		}
	}
}

// textInput is one decoded input tensor of a text request, REST or gRPC.
type textInput struct {
	name  string
	shape []int64
	texts []string // the BYTES elements of "text"
	ints  []int64  // the values of a token tensor
}

// textRequest is a decoded, checked text request.
type textRequest struct {
	ID   string
	rows int
	// texts is set for a text request, tokens (in the model's order) for a token one.
	texts     []string
	textShape []int64
	tokens    []audit.Int64Tensor
	encs      []text.Encoding
	outputs   []string // the outputs to answer, in order
	// binaryOutputs and binaryAll: the REST binary tensor extension, as InferRequest's.
	binaryOutputs map[string]bool
	binaryAll     bool
}

// checkTextHead checks an input's name, datatype and shape before its data is decoded.
func (t *textServing) checkTextHead(name, datatype string, shape []int64) error {
	switch {
	case name == TextInput:
		if datatype != bytesDatatype {
			return badRequest("input %q: datatype %q, want BYTES (UTF-8 strings)", name, datatype)
		}
		if !(len(shape) == 1 || len(shape) == 2 && shape[1] == 1) {
			return badRequest("input %q: shape %v, want [batch] (or [batch, 1])", name, shape)
		}
	case slices.Contains(t.tokenInputs, name):
		if datatype != int64Datatype {
			return badRequest("input %q: datatype %q, want INT64", name, datatype)
		}
		if len(shape) != 2 {
			return badRequest("input %q: shape %v, want [batch, sequence]", name, shape)
		}
		if shape[1] < 1 || shape[1] > int64(t.model.MaxLength()) {
			return badRequest("input %q: sequence length %d, want 1 to the model's max length %d", name, shape[1], t.model.MaxLength())
		}
	default:
		return badRequest("unknown input %q: the model takes %s: %s or %s", name, textInputsStatement, TextInput, strings.Join(t.tokenInputs, ", "))
	}
	if shape[0] < 1 || shape[0] > 1<<20 {
		return badRequest("input %q: batch dimension %d out of range (1 to %d)", name, shape[0], 1<<20)
	}
	return nil
}

// elements is the number of values shape holds (checked by checkTextHead: no overflow).
func elements(shape []int64) int {
	n := 1
	for _, d := range shape {
		n *= int(d)
	}
	return n
}

// build checks decoded inputs together, encodes them, and reads the outputs asked for.
func (t *textServing) build(id string, ins []textInput, requested []string) (*textRequest, error) {
	req := &textRequest{ID: id}
	byName := map[string]*textInput{}
	for i := range ins {
		if byName[ins[i].name] != nil {
			return nil, badRequest("input %q given twice", ins[i].name)
		}
		byName[ins[i].name] = &ins[i]
	}
	if len(ins) == 0 {
		return nil, badRequest("the request has no inputs: the model takes %s", textInputsStatement)
	}
	if tin := byName[TextInput]; tin != nil {
		if len(ins) > 1 {
			return nil, badRequest("give either the input %q or the token tensors, not both", TextInput)
		}
		if err := t.encodeTexts(req, tin); err != nil {
			return nil, err
		}
	} else if err := t.encodeTokens(req, byName); err != nil {
		return nil, err
	}
	return req, t.chooseOutputs(req, requested)
}

func (t *textServing) encodeTexts(req *textRequest, in *textInput) error {
	if len(in.texts) != elements(in.shape) {
		return badRequest("input %q: shape %v holds %d strings, data has %d", in.name, in.shape, elements(in.shape), len(in.texts))
	}
	for i, s := range in.texts {
		if len(s) > t.maxTextBytes {
			return &RequestError{Status: http.StatusRequestEntityTooLarge,
				Message: fmt.Sprintf("input %q: element %d has %d bytes, more than the server's limit of %d per text", in.name, i, len(s), t.maxTextBytes)}
		}
		if !utf8.ValidString(s) {
			return badRequest("input %q: element %d is not valid UTF-8", in.name, i)
		}
	}
	encs, err := t.model.EncodeStrict(in.texts)
	var tooLong *textmodel.TooLongError
	var empty *textmodel.EmptyTextError
	switch {
	case errors.As(err, &tooLong):
		return badRequest("input %q: element %d has %d tokens ([CLS] and [SEP] included), more than the model's max length %d; the server does not truncate, shorten the text",
			in.name, tooLong.Index, tooLong.Tokens, tooLong.MaxLength)
	case errors.As(err, &empty):
		return badRequest("input %q: element %d is empty (no tokens besides [CLS] and [SEP])", in.name, empty.Index)
	case err != nil:
		return badRequest("input %q: %v", in.name, err)
	}
	req.rows, req.texts, req.textShape, req.encs = len(encs), in.texts, in.shape, encs
	return nil
}

func (t *textServing) encodeTokens(req *textRequest, byName map[string]*textInput) error {
	ids, mask := byName[textmodel.InputIDs], byName[textmodel.AttentionMask]
	if ids == nil || mask == nil {
		missing := textmodel.InputIDs
		if ids != nil {
			missing = textmodel.AttentionMask
		}
		return badRequest("missing input %q: the model takes %s", missing, textInputsStatement)
	}
	shape := ids.shape
	for _, name := range t.tokenInputs {
		in := byName[name]
		if in == nil {
			continue
		}
		if !slices.Equal(in.shape, shape) {
			return badRequest("input %q: shape %v, but %q has shape %v; the token tensors share one shape", name, in.shape, textmodel.InputIDs, shape)
		}
		if len(in.ints) != elements(shape) {
			return badRequest("input %q: shape %v holds %d values, data has %d", name, shape, elements(shape), len(in.ints))
		}
		req.tokens = append(req.tokens, audit.Int64Tensor{Name: name, Shape: shape, Data: in.ints})
	}
	vocab := int64(t.model.Tokenizer().VocabSize())
	rows, seq := int(shape[0]), int(shape[1])
	types := byName[textmodel.TokenTypeIDs]
	req.encs = make([]text.Encoding, rows)
	for r := range rows {
		e := text.Encoding{IDs: ids.ints[r*seq : (r+1)*seq], AttentionMask: mask.ints[r*seq : (r+1)*seq]}
		for p, id := range e.IDs {
			if id < 0 || id >= vocab {
				return badRequest("input %q: element [%d, %d] is %d, outside the tokenizer's vocabulary (0 to %d)", textmodel.InputIDs, r, p, id, vocab-1)
			}
		}
		for p, v := range e.AttentionMask {
			if v != 0 && v != 1 {
				return badRequest("input %q: element [%d, %d] is %d, want 0 or 1", textmodel.AttentionMask, r, p, v)
			}
		}
		if types != nil {
			e.TypeIDs = types.ints[r*seq : (r+1)*seq]
			for p, v := range e.TypeIDs {
				if v != 0 && v != 1 {
					return badRequest("input %q: element [%d, %d] is %d, want 0 or 1", textmodel.TokenTypeIDs, r, p, v)
				}
			}
		} else {
			e.TypeIDs = make([]int64, seq)
		}
		req.encs[r] = e
	}
	req.rows = rows
	return nil
}

// chooseOutputs checks the outputs asked for against the task and the input kind, or takes the
// default ones.
func (t *textServing) chooseOutputs(req *textRequest, requested []string) error {
	classify := t.model.Task() == contract.TaskTextClassification
	var all []string
	switch {
	case classify:
		all = []string{OutputLabel, OutputScore, OutputProbabilities, OutputLogits}
	case req.texts != nil:
		all = []string{OutputEntities}
	default:
		all = []string{OutputLogits}
	}
	if requested == nil {
		switch {
		case classify && req.texts != nil:
			req.outputs = all[:3]
		case classify:
			req.outputs = []string{OutputLogits}
		default:
			req.outputs = all
		}
		return nil
	}
	for _, name := range requested {
		if !slices.Contains(all, name) {
			switch {
			case !classify && name == OutputEntities:
				return badRequest("output %q needs the input %q: %s", name, TextInput, entitiesNeedTextNote)
			case !classify && name == OutputLogits:
				return badRequest("output %q of a %s model is answered for the token tensors only (the input %q answers %q)", name, t.model.Task(), TextInput, OutputEntities)
			}
			return badRequest("unknown output %q: this %s model answers %v", name, t.model.Task(), all)
		}
		if slices.Contains(req.outputs, name) {
			return badRequest("output %q asked for twice", name)
		}
		req.outputs = append(req.outputs, name)
	}
	return nil
}

// textOutput is one answered output: FP32 values or BYTES elements.
type textOutput struct {
	name     string
	datatype string
	shape    []int64
	floats   []float32
	strs     []string
}

// entitySpan is one element of the entities output, in Hugging Face's pipeline form.
type entitySpan struct {
	EntityGroup string  `json:"entity_group"`
	Score       float64 `json:"score"`
	Word        string  `json:"word"`
	Start       int     `json:"start"`
	End         int     `json:"end"`
}

// answer turns each encoding's logits into the outputs req asks for, and the audit summaries.
func (t *textServing) answer(req *textRequest, logits [][]float32) ([]textOutput, []audit.OutputSummary, error) {
	n, k := int64(req.rows), int64(t.k)
	var outs []textOutput
	var sums []audit.OutputSummary
	if t.model.Task() == contract.TaskTextClassification {
		probs := make([]float32, 0, req.rows*t.k)
		labels := make([]string, req.rows)
		scores := make([]float32, req.rows)
		labelIdx := make([]float32, req.rows)
		for i, row := range logits {
			p := textmodel.Softmax(row, t.k)[0]
			best := 0
			for j, v := range p {
				probs = append(probs, float32(v))
				if v > p[best] {
					best = j
				}
			}
			labels[i], scores[i], labelIdx[i] = t.labels[best], float32(p[best]), float32(best)
		}
		sums = append(sums, audit.Summarize("label_index", labelIdx))
		for _, name := range req.outputs {
			switch name {
			case OutputLabel:
				outs = append(outs, textOutput{name: name, datatype: bytesDatatype, shape: []int64{n}, strs: labels})
			case OutputScore:
				outs = append(outs, textOutput{name: name, datatype: fp32Datatype, shape: []int64{n}, floats: scores})
				sums = append(sums, audit.Summarize(name, scores))
			case OutputProbabilities:
				outs = append(outs, textOutput{name: name, datatype: fp32Datatype, shape: []int64{n, k}, floats: probs})
				sums = append(sums, audit.Summarize(name, probs))
			case OutputLogits:
				flat := slices.Concat(logits...)
				outs = append(outs, textOutput{name: name, datatype: fp32Datatype, shape: []int64{n, k}, floats: flat})
				sums = append(sums, audit.Summarize(name, flat))
			}
		}
		return outs, sums, nil
	}
	for _, name := range req.outputs {
		switch name {
		case OutputEntities:
			elems := make([]string, req.rows)
			var scores []float32
			for i, row := range logits {
				spans, err := t.model.Entities(req.texts[i], req.encs[i], textmodel.Softmax(row, t.k))
				if err != nil {
					return nil, nil, err
				}
				out := make([]entitySpan, len(spans))
				for j, sp := range spans {
					out[j] = entitySpan{EntityGroup: sp.Label, Score: sp.Score, Word: sp.Word, Start: sp.Start, End: sp.End}
					scores = append(scores, float32(sp.Score))
				}
				b, err := json.Marshal(out)
				if err != nil {
					return nil, nil, err
				}
				elems[i] = string(b)
			}
			outs = append(outs, textOutput{name: name, datatype: bytesDatatype, shape: []int64{n}, strs: elems})
			// The spans' scores only: their words are the text's.
			sums = append(sums, audit.Summarize("entity_scores", scores))
		case OutputLogits:
			flat := slices.Concat(logits...)
			seq := int64(req.encs[0].Len())
			outs = append(outs, textOutput{name: name, datatype: fp32Datatype, shape: []int64{n, seq, k}, floats: flat})
			sums = append(sums, audit.Summarize(name, flat))
		}
	}
	return outs, sums, nil
}

// inferText runs a decoded text request (after exec.arrive) and answers its outputs; REST and
// gRPC share it, so both are batched together, audited and counted alike.
func (s *Server) inferText(req *textRequest, id string) ([]textOutput, *failure) {
	logits, err := s.text.exec.infer(req.encs)
	if err != nil {
		s.log.Error("inference failed", "request_id", audit.LoggedRequestID(id), "error", err)
		return nil, &failure{http.StatusInternalServerError, "inference", fmt.Sprintf("inference failed: %v", err)}
	}
	outs, sums, err := s.text.answer(req, logits)
	if err != nil {
		s.log.Error("answer failed", "request_id", audit.LoggedRequestID(id), "error", err)
		return nil, &failure{http.StatusInternalServerError, "inference", fmt.Sprintf("inference failed: %v", err)}
	}
	if s.audit != nil {
		e := audit.Entry{
			RequestID: audit.LoggedRequestID(id), ModelName: s.cfg.Name, ModelVersion: s.version, ModelSHA256: s.modelSHA,
			Rows: req.rows, Outputs: sums,
		}
		if req.texts != nil {
			e.InputSHA256 = audit.TextDigest(TextInput, req.textShape, req.texts)
		} else {
			e.InputSHA256 = audit.TokensDigest(req.tokens...)
		}
		if _, err := s.audit.Append(e); err != nil {
			s.log.Error("audit log write failed", "request_id", audit.LoggedRequestID(id), "error", err)
			return nil, &failure{http.StatusInternalServerError, "audit", "audit log write failed"}
		}
	}
	return outs, nil
}

// decodeTextHTTP decodes a REST text request, with or without binary tensor data.
func (s *Server) decodeTextHTTP(h http.Header, body []byte) (*textRequest, error) {
	jsonPart, bin := body, []byte(nil)
	if v := h.Get(InferenceHeaderContentLength); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > int64(len(body)) {
			return nil, badRequest("%s %q: want the JSON header's length in bytes, 0 to the body's %d", InferenceHeaderContentLength, v, len(body))
		}
		jsonPart, bin = body[:n], body[n:]
	}
	if !utf8.Valid(jsonPart) {
		return nil, badRequest("the request's JSON is not valid UTF-8")
	}
	var w wireInferRequest
	if err := json.Unmarshal(jsonPart, &w); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return nil, badRequest("invalid request: field %q has the wrong JSON type (%s, want %s)", typeErr.Field, typeErr.Value, typeErr.Type)
		}
		return nil, badRequest("invalid JSON: %v", err)
	}
	t := s.text
	ins := make([]textInput, 0, len(w.Inputs))
	for i := range w.Inputs {
		in := &w.Inputs[i]
		if err := t.checkTextHead(in.Name, in.Datatype, in.Shape); err != nil {
			return nil, err
		}
		ti := textInput{name: in.Name, shape: in.Shape}
		size, hasBinary, err := binaryDataSize(in.Parameters, "binary_data_size")
		if err != nil {
			return nil, badRequest("input %q: %v", in.Name, err)
		}
		switch {
		case hasBinary:
			if bin == nil {
				return nil, badRequest("input %q: binary_data_size given, but the request has no %s header", in.Name, InferenceHeaderContentLength)
			}
			if len(in.Data) > 0 && string(in.Data) != "null" {
				return nil, badRequest("input %q: both data and binary_data_size given", in.Name)
			}
			if size > int64(len(bin)) {
				return nil, badRequest("input %q: binary_data_size %d, but only %d bytes of binary data are left", in.Name, size, len(bin))
			}
			if err := ti.decodeBinary(bin[:size]); err != nil {
				return nil, err
			}
			bin = bin[size:]
		case len(in.Data) == 0 || string(in.Data) == "null":
			return nil, badRequest("input %q: missing data", in.Name)
		case in.Name == TextInput:
			if ti.texts, err = jsonStrings(in.Data, elements(in.Shape)); err != nil {
				return nil, badRequest("input %q: %v", in.Name, err)
			}
		default:
			if ti.ints, err = jsonInt64s(in.Data, elements(in.Shape)); err != nil {
				return nil, badRequest("input %q: %v", in.Name, err)
			}
		}
		ins = append(ins, ti)
	}
	if len(bin) > 0 {
		return nil, badRequest("%d bytes of binary data follow the JSON header that no input's binary_data_size accounts for", len(bin))
	}
	var requested []string
	binaryOutputs := map[string]bool{}
	for _, o := range w.Outputs {
		requested = append(requested, o.Name)
		b, err := binaryFlag(o.Parameters, "binary_data")
		if err != nil {
			return nil, badRequest("output %q: %v", o.Name, err)
		}
		binaryOutputs[o.Name] = b
	}
	req, err := t.build(w.ID, ins, requested)
	if err != nil {
		return nil, err
	}
	req.binaryOutputs = binaryOutputs
	if req.binaryAll, err = binaryFlag(w.Parameters, "binary_data_output"); err != nil {
		return nil, badRequest("parameters: %v", err)
	}
	return req, nil
}

// textFailureReason is the errors metric's reason for a refused text request.
func textFailureReason(status int) string {
	if status == http.StatusRequestEntityTooLarge {
		return "text_too_large"
	}
	return "bad_request"
}

// decodeBinary decodes an input's binary data: BYTES elements each after its 4-byte
// little-endian length (Triton's layout), or little-endian INT64 values.
func (ti *textInput) decodeBinary(b []byte) error {
	var err error
	if ti.name == TextInput {
		if ti.texts, err = lengthPrefixed(b, elements(ti.shape)); err != nil {
			return badRequest("input %q: %v", ti.name, err)
		}
		return nil
	}
	if len(b) != 8*elements(ti.shape) {
		return badRequest("input %q: shape %v holds %d INT64 values (%d bytes), the binary data has %d bytes", ti.name, ti.shape, elements(ti.shape), 8*elements(ti.shape), len(b))
	}
	ti.ints = make([]int64, len(b)/8)
	for i := range ti.ints {
		ti.ints[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return nil
}

// lengthPrefixed splits Triton's serialized BYTES tensor: each element is a 4-byte little-endian
// length and that many bytes. It reads at most limit elements.
func lengthPrefixed(b []byte, limit int) ([]string, error) {
	var out []string
	for len(b) > 0 {
		if len(out) == limit {
			return nil, fmt.Errorf("more than the %d elements the shape holds", limit)
		}
		if len(b) < 4 {
			return nil, fmt.Errorf("element %d: %d bytes left, too few for its 4-byte length", len(out), len(b))
		}
		n := binary.LittleEndian.Uint32(b)
		if uint64(n) > uint64(len(b)-4) {
			return nil, fmt.Errorf("element %d: length %d, but %d bytes follow", len(out), n, len(b)-4)
		}
		out = append(out, string(b[4:4+n]))
		b = b[4+n:]
	}
	if len(out) != limit {
		return nil, fmt.Errorf("the shape holds %d elements, the data has %d", limit, len(out))
	}
	return out, nil
}

// appendLengthPrefixed appends elements in Triton's serialized BYTES layout.
func appendLengthPrefixed(dst []byte, elems []string) []byte {
	for _, e := range elems {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(e)))
		dst = append(dst, e...)
	}
	return dst
}

// jsonStrings reads a JSON array of strings (one level of nesting allowed, for [batch, 1]) of at
// most limit elements.
func jsonStrings(raw json.RawMessage, limit int) ([]string, error) {
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, errors.New("data must be a JSON array of strings")
	}
	var out []string
	var add func(elems []json.RawMessage, depth int) error
	add = func(elems []json.RawMessage, depth int) error {
		for _, e := range elems {
			if len(out) >= limit {
				return fmt.Errorf("data has more elements than the shape holds (%d)", limit)
			}
			switch c := firstByte(e); {
			case c == '"':
				var s string
				if err := json.Unmarshal(e, &s); err != nil {
					return fmt.Errorf("data element %d: %v", len(out), err)
				}
				out = append(out, s)
			case c == '[' && depth == 0:
				var inner []json.RawMessage
				if err := json.Unmarshal(e, &inner); err != nil {
					return err
				}
				if err := add(inner, 1); err != nil {
					return err
				}
			default:
				return fmt.Errorf("data element %d is %s, want a string", len(out), jsonKind(c))
			}
		}
		return nil
	}
	if err := add(elems, 0); err != nil {
		return nil, err
	}
	return out, nil
}

func firstByte(b []byte) byte {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return c
		}
	}
	return 0
}

// jsonInt64s reads a JSON array of integers (nested arrays flattened) of at most limit values.
func jsonInt64s(raw json.RawMessage, limit int) ([]int64, error) {
	var out []int64
	var walk func(raw json.RawMessage, depth int) error
	walk = func(raw json.RawMessage, depth int) error {
		if depth > maxNesting {
			return fmt.Errorf("data nests arrays more than %d deep", maxNesting)
		}
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil {
			return errors.New("data must be a JSON array of integers")
		}
		for _, e := range elems {
			c := firstByte(e)
			if c == '[' {
				if err := walk(e, depth+1); err != nil {
					return err
				}
				continue
			}
			if c != '-' && (c < '0' || c > '9') {
				return fmt.Errorf("data element %d is %s, want an integer", len(out), jsonKind(c))
			}
			if len(out) >= limit {
				return fmt.Errorf("data has more values than the shape holds (%d)", limit)
			}
			v, err := strconv.ParseInt(strings.TrimSpace(string(e)), 10, 64)
			if err != nil {
				return fmt.Errorf("data element %d (%s) is not an int64", len(out), strings.TrimSpace(string(e)))
			}
			out = append(out, v)
		}
		return nil
	}
	if err := walk(raw, 0); err != nil {
		return nil, err
	}
	return out, nil
}

// wireTextOutput is a text output in a REST answer: Data holds numbers or strings.
type wireTextOutput struct {
	Name       string         `json:"name"`
	Shape      []int64        `json:"shape"`
	Datatype   string         `json:"datatype"`
	Parameters map[string]any `json:"parameters,omitempty"`
	Data       any            `json:"data,omitempty"`
}

type wireTextResponse struct {
	ModelName    string           `json:"model_name"`
	ModelVersion string           `json:"model_version,omitempty"`
	ID           string           `json:"id,omitempty"`
	Outputs      []wireTextOutput `json:"outputs"`
}

// encodeTextHTTP encodes a text answer as REST JSON, with binary outputs after it when asked.
func encodeTextHTTP(resp wireTextResponse, outs []textOutput, req *textRequest) ([]byte, int, error) {
	var bin []byte
	binaryUsed := false
	for _, o := range outs {
		w := wireTextOutput{Name: o.name, Shape: o.shape, Datatype: o.datatype}
		if req.binaryAll || req.binaryOutputs[o.name] {
			binaryUsed = true
			start := len(bin)
			if o.datatype == bytesDatatype {
				bin = appendLengthPrefixed(bin, o.strs)
			} else {
				bin = appendFloat32sLE(bin, o.floats)
			}
			w.Parameters = map[string]any{"binary_data_size": len(bin) - start}
		} else if o.datatype == bytesDatatype {
			w.Data = o.strs
		} else {
			w.Data = o.floats
		}
		resp.Outputs = append(resp.Outputs, w)
	}
	body, err := json.Marshal(resp)
	if err != nil || !binaryUsed {
		return body, -1, err
	}
	return append(body, bin...), len(body), nil
}

// inferTextHTTP serves one REST text infer request (after the model check and exec.arrive).
func (s *Server) inferTextHTTP(w http.ResponseWriter, body []byte, header http.Header) (int, string) {
	req, err := s.decodeTextHTTP(header, body)
	if err != nil {
		s.text.exec.leave()
		re := &RequestError{Status: http.StatusBadRequest, Message: err.Error()}
		errors.As(err, &re)
		writeError(w, re.Status, re.Message)
		return re.Status, textFailureReason(re.Status)
	}
	id := req.ID
	if id == "" {
		id = newRequestID()
	}
	outs, f := s.inferText(req, id)
	if f != nil {
		writeError(w, f.status, f.msg)
		return f.status, f.reason
	}
	resp, headerLen, err := encodeTextHTTP(wireTextResponse{ModelName: s.cfg.Name, ModelVersion: s.version, ID: id}, outs, req)
	if err != nil {
		writeError(w, http.StatusInternalServerError, fmt.Sprintf("encode response: %v", err))
		return http.StatusInternalServerError, "encode"
	}
	if headerLen >= 0 {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set(InferenceHeaderContentLength, strconv.Itoa(headerLen))
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(http.StatusOK)
	w.Write(resp)
	return http.StatusOK, ""
}
