package textmodel

import (
	"errors"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/responsible-ai/rmodel-operator/internal/contract"
	"github.com/responsible-ai/rmodel-operator/internal/onnx"
	"github.com/responsible-ai/rmodel-operator/internal/text"
	"github.com/responsible-ai/rmodel-operator/internal/textmodel/textmodeltest"
)

func TestMain(m *testing.M) {
	if err := onnx.Init(""); err != nil {
		println("textmodel tests need onnxruntime:", err.Error())
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func tokenizerJSON(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../text/bertbase/bert-base-uncased.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var sentimentLabels = []string{"neg", "neu", "pos"}

func loadClassifier(t *testing.T, spec textmodeltest.Classifier, opts Options) *Model {
	t.Helper()
	data, err := spec.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if opts.Task == "" {
		opts.Task = contract.TaskTextClassification
	}
	m, err := Load(data, tokenizerJSON(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-5 }

func TestClassifyMatchesHandComputedProbabilities(t *testing.T) {
	for _, types := range []bool{false, true} {
		spec := textmodeltest.NewClassifier(len(sentimentLabels))
		spec.TokenTypeIDs = types
		spec.Metadata = map[string]string{MetaLabels: `["neg","neu","pos"]`, MetaTask: contract.TaskTextClassification}
		m := loadClassifier(t, spec, Options{})
		if m.TakesTokenTypeIDs() != types {
			t.Fatalf("TakesTokenTypeIDs = %v", m.TakesTokenTypeIDs())
		}
		if got := m.Labels(); strings.Join(got, ",") != "neg,neu,pos" {
			t.Fatalf("labels from rai.labels = %q", got)
		}
		if m.MaxLength() != contract.DefaultMaxLength {
			t.Fatalf("max length = %d, want the default %d (no option, metadata or tokenizer truncation)", m.MaxLength(), contract.DefaultMaxLength)
		}
		texts := []string{"a great film", "awful, truly awful!", "ok", strings.Repeat("word ", 40)}
		got, err := m.Classify(texts)
		if err != nil {
			t.Fatal(err)
		}
		for i, txt := range texts {
			enc, err := m.Tokenizer().Encode(txt, text.Options{MaxLength: m.MaxLength()})
			if err != nil {
				t.Fatal(err)
			}
			want := spec.Reference(enc.IDs)
			var sum float64
			for j := range want {
				sum += got[i][j]
				if !near(got[i][j], want[j]) {
					t.Fatalf("types=%v text %q: P(%s) = %v, hand computed %v", types, txt, sentimentLabels[j], got[i][j], want[j])
				}
			}
			if !near(sum, 1) {
				t.Fatalf("text %q: probabilities sum to %v", txt, sum)
			}
		}
		// The reference itself is not trivial: the texts get different distributions.
		if near(got[0][0], got[1][0]) {
			t.Fatalf("two texts got the same P(neg) %v: the test model does not depend on its input", got[0][0])
		}
	}
}

func TestScoresDoNotDependOnTheBatch(t *testing.T) {
	m := loadClassifier(t, textmodeltest.NewClassifier(3), Options{Labels: sentimentLabels})
	short, long := "fine", "a much longer text that makes the batch pad the short one with many positions"
	alone, err := m.Classify([]string{short})
	if err != nil {
		t.Fatal(err)
	}
	batched, err := m.Classify([]string{long, short, long})
	if err != nil {
		t.Fatal(err)
	}
	for j := range alone[0] {
		if !near(alone[0][j], batched[1][j]) {
			t.Fatalf("P(%s | %q) alone %v, padded in a batch %v", sentimentLabels[j], short, alone[0][j], batched[1][j])
		}
	}
	// More texts than one run takes: Classify batches internally and keeps the order.
	texts := make([]string, BatchSize*2+5)
	for i := range texts {
		texts[i] = strings.Repeat("x ", i%9+1)
	}
	all, err := m.Classify(texts)
	if err != nil {
		t.Fatal(err)
	}
	last, err := m.Classify(texts[len(texts)-1:])
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(texts) || !near(all[len(all)-1][2], last[0][2]) {
		t.Fatalf("%d results for %d texts; last %v, alone %v", len(all), len(texts), all[len(all)-1], last[0])
	}
}

func TestRunPadsAndChecksShapes(t *testing.T) {
	m := loadClassifier(t, textmodeltest.NewClassifier(3), Options{Labels: sentimentLabels, MaxLength: 6})
	encs, err := m.EncodeStrict([]string{"one", "one two three"})
	if err != nil {
		t.Fatal(err)
	}
	if encs[0].Len() != 3 || encs[1].Len() != 5 {
		t.Fatalf("EncodeStrict padded: lengths %d, %d", encs[0].Len(), encs[1].Len())
	}
	logits, shape, err := m.Run(encs)
	if err != nil {
		t.Fatal(err)
	}
	if len(shape) != 2 || shape[0] != 2 || shape[1] != 3 || len(logits) != 6 {
		t.Fatalf("logits %v shape %v", logits, shape)
	}
	// Truncation: Encode cuts at MaxLength, EncodeStrict refuses and counts.
	long := "one two three four five six seven"
	enc, err := m.Encode([]string{long})
	if err != nil {
		t.Fatal(err)
	}
	if enc[0].Len() != 6 || !enc[0].Truncated {
		t.Fatalf("Encode: %d positions, truncated %v; want 6, true", enc[0].Len(), enc[0].Truncated)
	}
	_, err = m.EncodeStrict([]string{"ok", long})
	var tooLong *TooLongError
	if !errors.As(err, &tooLong) || tooLong.Index != 1 || tooLong.Tokens != 9 || tooLong.MaxLength != 6 {
		t.Fatalf("EncodeStrict of a 9-token text at max length 6: %v", err)
	}
	if !strings.Contains(err.Error(), "text 1 has 9 tokens") {
		t.Fatalf("message %q", err)
	}
	for _, empty := range []string{"", "  \t "} {
		if _, err := m.EncodeStrict([]string{empty}); !errors.Is(err, ErrEmptyText) {
			t.Fatalf("EncodeStrict(%q): %v, want ErrEmptyText", empty, err)
		}
	}
	if _, err := m.EncodeStrict([]string{"ok", "\xff\xfe"}); err == nil || !strings.Contains(err.Error(), "text 1 is not valid UTF-8") {
		t.Fatalf("EncodeStrict of invalid UTF-8: %v", err)
	}
	if _, _, err := m.Run(nil); err == nil {
		t.Fatal("Run of no encodings succeeded")
	}
}

func TestLoadReadsLabelsAndMaxLength(t *testing.T) {
	spec := textmodeltest.NewClassifier(2)
	spec.Metadata = map[string]string{MetaID2Label: `{"1":"POSITIVE","0":"NEGATIVE"}`, MetaMaxLength: "64"}
	m := loadClassifier(t, spec, Options{})
	if got := strings.Join(m.Labels(), ","); got != "NEGATIVE,POSITIVE" {
		t.Fatalf("labels from id2label = %s", got)
	}
	if m.MaxLength() != 64 {
		t.Fatalf("max length = %d, want rai.max_length 64", m.MaxLength())
	}
	// The options win over the metadata.
	m = loadClassifier(t, spec, Options{Labels: []string{"no", "yes"}, MaxLength: 16})
	if strings.Join(m.Labels(), ",") != "no,yes" || m.MaxLength() != 16 {
		t.Fatalf("labels %q max length %d, want the options'", m.Labels(), m.MaxLength())
	}
	// A fixed sequence length bounds the max length and is padded to.
	spec = textmodeltest.NewClassifier(2)
	spec.SequenceLength = 12
	m = loadClassifier(t, spec, Options{Labels: []string{"no", "yes"}})
	if m.MaxLength() != 12 {
		t.Fatalf("max length = %d, want the model's fixed 12", m.MaxLength())
	}
	encs, _ := m.EncodeStrict([]string{"short"})
	if _, _, err := m.Run(encs); err != nil {
		t.Fatalf("run a 3-token text on a 12-position model: %v", err)
	}
}

func TestLoadRefuses(t *testing.T) {
	tok := tokenizerJSON(t)
	classifier := textmodeltest.NewClassifier(3)
	tagger := textmodeltest.NewTagger(len(nerLabels), nerVocab(t))
	dynamicLabels := textmodeltest.NewClassifier(3)
	dynamicLabels.DynamicLabels = true
	noMask := textmodeltest.NewClassifier(3)
	noMask.NoAttentionMask = true
	cases := map[string]struct {
		spec      textmodeltest.Marshaler
		tokenizer []byte
		opts      Options
		want      string
	}{
		"no task":           {classifier, tok, Options{Labels: sentimentLabels}, "needs a task"},
		"tabular task":      {classifier, tok, Options{Task: contract.TaskBinaryClassification, Labels: sentimentLabels}, `task "binary-classification" is not a text task`},
		"no labels":         {classifier, tok, Options{Task: contract.TaskTextClassification}, "no labels: give them (--labels)"},
		"label count":       {classifier, tok, Options{Task: contract.TaskTextClassification, Labels: []string{"a", "b"}}, `2 labels (the labels given: a,b), but the model's output "logits" has 3`},
		"duplicate label":   {classifier, tok, Options{Task: contract.TaskTextClassification, Labels: []string{"a", "b", "a"}}, `label "a" appears twice`},
		"rank for task":     {classifier, tok, Options{Task: contract.TaskTokenClassification, Labels: sentimentLabels}, `model output "logits" is FP32 [-1 3]: token-classification wants FP32 [batch, sequence, labels]`},
		"tagger as clf":     {tagger, tok, Options{Task: contract.TaskTextClassification, Labels: nerLabels}, "text-classification wants FP32 [batch, labels]"},
		"no output":         {classifier, tok, Options{Task: contract.TaskTextClassification, Labels: sentimentLabels, Output: "scores"}, `model has no output "scores" (its outputs: logits)`},
		"no mask":           {noMask, tok, Options{Task: contract.TaskTextClassification, Labels: sentimentLabels}, `model has no input "attention_mask" (its inputs: input_ids)`},
		"bad tokenizer":     {classifier, []byte(`{"model":{"type":"BPE","vocab":{"a":0}}}`), Options{Task: contract.TaskTextClassification, Labels: sentimentLabels}, "tokenizer: unsupported tokenizer: model type \"BPE\""},
		"tokenizer json":    {classifier, []byte(`{`), Options{Task: contract.TaskTextClassification, Labels: sentimentLabels}, "tokenizer: parse tokenizer.json"},
		"max length 1":      {classifier, tok, Options{Task: contract.TaskTextClassification, Labels: sentimentLabels, MaxLength: 1}, "max length 1"},
		"dynamic labels ok": {dynamicLabels, tok, Options{Task: contract.TaskTextClassification, Labels: []string{"a", "b"}}, ""},
	}
	withMeta := func(md map[string]string) textmodeltest.Classifier {
		s := textmodeltest.NewClassifier(3)
		s.Metadata = md
		return s
	}
	cases["task mismatch"] = struct {
		spec      textmodeltest.Marshaler
		tokenizer []byte
		opts      Options
		want      string
	}{withMeta(map[string]string{MetaTask: contract.TaskTokenClassification}), tok, Options{Task: contract.TaskTextClassification, Labels: sentimentLabels},
		`the model's metadata says rai.task "token-classification", but it is to be used for "text-classification"`}
	for name, md := range map[string]map[string]string{
		`model metadata rai.labels must be a JSON array`:             {MetaLabels: `{"0":"a"}`},
		`model metadata id2label: key "2"; want the ids 0 to 1`:      {MetaID2Label: `{"0":"a","2":"b"}`},
		`model metadata rai.max_length "long": want an integer`:      {MetaLabels: `["a","b","c"]`, MetaMaxLength: "long"},
		`3 labels (metadata rai.labels: a,b,c), but the model's out`: {MetaLabels: `["a","b","c"]`, "unused": ""},
	} {
		spec := withMeta(md)
		if name[0] == '3' {
			spec = textmodeltest.NewClassifier(4)
			spec.Metadata = md
		}
		cases[name] = struct {
			spec      textmodeltest.Marshaler
			tokenizer []byte
			opts      Options
			want      string
		}{spec, tok, Options{Task: contract.TaskTextClassification}, name}
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			data, err := c.spec.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			m, err := Load(data, c.tokenizer, c.opts)
			if c.want == "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				m.Close()
				return
			}
			if err == nil {
				m.Close()
				t.Fatalf("Load succeeded, want an error saying %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Load: %v\nwant it to say %q", err, c.want)
			}
		})
	}
	// An unsupported tokenizer is text.ErrUnsupported, for callers that tell it apart.
	data, _ := classifier.Marshal()
	if _, err := Load(data, []byte(`{"model":{"type":"Unigram","vocab":{"a":0}}}`), Options{Task: contract.TaskTextClassification, Labels: sentimentLabels}); !errors.Is(err, text.ErrUnsupported) {
		t.Fatalf("Unigram tokenizer: %v, want text.ErrUnsupported", err)
	}
	// A dynamic label dimension is checked at each run.
	data, _ = dynamicLabels.Marshal()
	m, err := Load(data, tok, Options{Task: contract.TaskTextClassification, Labels: []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Classify([]string{"hello"}); err == nil || !strings.Contains(err.Error(), `output "logits" has shape [1 3] for 1 texts of 3 positions, want [1 2] (2 labels, the labels given)`) {
		t.Fatalf("classify with 2 labels on 3 logits: %v", err)
	}
}

var nerLabels = []string{"O", "B-PER", "I-PER", "B-LOC", "I-LOC"}

// nerVocab gives the hand-made tagger's label per token: john B-PER, smith I-PER, paris B-LOC,
// every other token O.
func nerVocab(t *testing.T) map[int64]int {
	t.Helper()
	tok, err := text.Parse(tokenizerJSON(t))
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]int{}
	for token, label := range map[string]int{"john": 1, "smith": 2, "paris": 3} {
		id, ok := tok.TokenID(token)
		if !ok {
			t.Fatalf("%q not in the vocabulary", token)
		}
		out[id] = label
	}
	return out
}

func TestTagAndEntities(t *testing.T) {
	spec := textmodeltest.NewTagger(len(nerLabels), nerVocab(t))
	spec.Metadata = map[string]string{MetaLabels: `["O","B-PER","I-PER","B-LOC","I-LOC"]`}
	data, err := spec.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load(data, tokenizerJSON(t), Options{Task: contract.TaskTokenClassification})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	texts := []string{"My name is John Smith, I live in Paris.", "Paris"}
	encs, err := m.Encode(texts)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := m.Tag(encs)
	if err != nil {
		t.Fatal(err)
	}
	// Each token's logits are textmodeltest.TaggerScale on its label and 0 elsewhere.
	top := math.Exp(textmodeltest.TaggerScale) / (math.Exp(textmodeltest.TaggerScale) + float64(len(nerLabels)-1))
	if len(tags) != 2 || len(tags[0]) != encs[0].Len() || len(tags[1]) != encs[1].Len() {
		t.Fatalf("tag shapes: %d texts, %d and %d rows", len(tags), len(tags[0]), len(tags[1]))
	}
	if !near(tags[1][1][3], top) { // "paris" in the second text is B-LOC
		t.Fatalf("P(B-LOC | paris) = %v, want %v", tags[1][1][3], top)
	}
	spans, err := m.Entities(texts[0], encs[0], tags[0])
	if err != nil {
		t.Fatal(err)
	}
	want := []text.EntitySpan{
		{Label: "PER", Word: "john smith", Start: 11, End: 21},
		{Label: "LOC", Word: "paris", Start: 33, End: 38},
	}
	if len(spans) != len(want) {
		t.Fatalf("entities %+v, want %+v", spans, want)
	}
	for i, w := range want {
		s := spans[i]
		if s.Label != w.Label || s.Word != w.Word || s.Start != w.Start || s.End != w.End || !near(s.Score, top) {
			t.Fatalf("entity %d = %+v, want %+v with score %v", i, s, w, top)
		}
		if got := texts[0][s.Bytes.Start:s.Bytes.End]; !strings.EqualFold(got, w.Word) {
			t.Fatalf("entity %d covers %q", i, got)
		}
	}
	// The second text, padded in the batch, tags as it does alone.
	alone, err := m.Encode(texts[1:])
	if err != nil {
		t.Fatal(err)
	}
	tagsAlone, err := m.Tag(alone)
	if err != nil {
		t.Fatal(err)
	}
	for p := range tagsAlone[0] {
		for j := range tagsAlone[0][p] {
			if !near(tagsAlone[0][p][j], tags[1][p][j]) {
				t.Fatalf("position %d label %d: alone %v, in a batch %v", p, j, tagsAlone[0][p][j], tags[1][p][j])
			}
		}
	}
	if _, err := m.Classify(texts); err == nil {
		t.Fatal("Classify on a token-classification model succeeded")
	}
}
