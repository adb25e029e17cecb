package textdemo

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/responsible-ai/rmodel-operator/internal/demo/dataset"
	"github.com/responsible-ai/rmodel-operator/internal/demo/train"
	"github.com/responsible-ai/rmodel-operator/internal/evaluation/privacy"
	"github.com/responsible-ai/rmodel-operator/internal/onnxwriter"
	"github.com/responsible-ai/rmodel-operator/internal/text"
	"github.com/responsible-ai/rmodel-operator/internal/text/bertbase"
)

// TokenizerJSON is the real bert-base-uncased tokenizer.json (internal/text/bertbase).
var TokenizerJSON = bertbase.TokenizerJSON

// Metadata keys of text models (docs/models.md "Text models"); rai.recipe, rai.dataset.sha256,
// rai.sensitive and rai.dp.* are the tabular models' (internal/demo/train).
const (
	KeyTask      = "rai.task"
	KeyLabels    = "rai.labels"
	KeyMaxLength = "rai.max_length"
)

// Files Build writes into its directory.
const (
	TokenizerFile       = "tokenizer.json"
	IntentModelFile     = "intent.onnx"
	IntentTrainFile     = "intent-train.csv"
	IntentEvalFile      = "intent-eval.csv"
	IntentTermPairsFile = "intent-term-pairs.csv"
	IntentMembersFile   = "intent-members.csv"
	IntentNonMembers    = "intent-nonmembers.csv"
	NERModelFile        = "ner.onnx"
	NERTrainFile        = "ner-train.csv"
	NEREvalFile         = "ner-eval.csv"
)

// Sizes of the corpora.
const (
	IntentTrainRows      = 1500 // base rows; twice as many with the counterfactual augmentation
	IntentEvalRows       = 1000
	IntentMembersRows    = 500
	IntentNonMembersRows = 500
	NERTrainRows         = 2000
	NERHeldOutRows       = 500
	// NERShareB is the probability that a training name is from GroupB.
	NERShareB = 0.02
)

// IntentRecipe and NERRecipe are the demo models' recipes.
func IntentRecipe() Recipe {
	return Recipe{Model: "bert_mini_mean_pool", Task: TextClassification, Vocab: 30522, MaxLength: 64, Dim: 16, Hidden: 32,
		Epochs: 4, LearningRate: 0.01, SampleRate: 0.02, Seed: 11,
		Corpus: fmt.Sprintf("%d gender-balanced customer-service texts, each with its counterfactual (every identity term swapped) and a copy of both with typos (rate %g), labels balanced per gender", IntentTrainRows, DefaultIntentConfig().TypoRate)}
}

func NERRecipe() Recipe {
	return Recipe{Model: "bert_mini_window", Task: TokenClassification, Vocab: 30522, MaxLength: 64, Dim: 16, Hidden: 32,
		Epochs: 4, LearningRate: 0.01, SampleRate: 0.02, Seed: 12,
		Corpus: fmt.Sprintf("%d customer-service sentences; a name slot holds a name with probability 0.7, from %s with probability %g", NERTrainRows, GroupB, NERShareB)}
}

// Artifact is one written file.
type Artifact struct {
	Name    string   `json:"name"`
	File    string   `json:"file"` // relative to the demo's output directory
	SHA256  string   `json:"sha256"`
	Rows    int      `json:"rows,omitempty"`
	Columns []string `json:"columns,omitempty"`
}

// ModelEntry is one written text model.
type ModelEntry struct {
	Name        string            `json:"name"`
	File        string            `json:"file"`
	SHA256      string            `json:"sha256"`
	Task        Task              `json:"task"`
	Labels      []string          `json:"labels"`
	Description string            `json:"description"`
	Recipe      Recipe            `json:"recipe"`
	Training    Stats             `json:"training"`
	Epsilon     *float64          `json:"epsilon,omitempty"`
	Metrics     any               `json:"metrics"`
	Metadata    map[string]string `json:"metadata"`
}

// Manifest is what Build wrote, for models.json's "text" section.
type Manifest struct {
	Tokenizer Artifact     `json:"tokenizer"`
	DataSets  []Artifact   `json:"dataSets"`
	Models    []ModelEntry `json:"models"`
	// Evaluations are the settings the measured numbers were made with.
	Evaluations map[string]map[string]any `json:"evaluations"`
}

// Build generates the corpora, trains both models and writes every artifact into
// filepath.Join(root, sub), paths in the manifest relative to root. Seeded: the same bytes on
// every run (on one architecture).
func Build(root, sub, version string, logf func(format string, args ...any)) (*Manifest, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	dir := filepath.Join(root, sub)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("text demo: %w", err)
	}
	tok, err := text.Parse(TokenizerJSON)
	if err != nil {
		return nil, fmt.Errorf("text demo: tokenizer: %w", err)
	}
	man := &Manifest{}
	write := func(name, file string, data []byte, rows int, columns ...string) (string, error) {
		sum, err := dataset.WriteWithChecksum(filepath.Join(dir, file), data)
		if err != nil {
			return "", err
		}
		a := Artifact{Name: name, File: filepath.Join(sub, file), SHA256: sum, Rows: rows, Columns: columns}
		if name == "tokenizer" {
			man.Tokenizer = a
		} else {
			man.DataSets = append(man.DataSets, a)
		}
		return sum, nil
	}
	if _, err := write("tokenizer", TokenizerFile, TokenizerJSON, 0); err != nil {
		return nil, err
	}
	ctx := context.Background()

	// Intent classifier.
	corpus := GenerateIntents(DefaultIntentConfig())
	intentCSV := func(rows []IntentRow) []byte {
		recs := [][]string{{"text", "label", GenderColumn}}
		for _, r := range rows {
			recs = append(recs, []string{r.Text, r.Label, r.Gender})
		}
		return csvBytes(recs)
	}
	trainSum, err := write("intent-train", IntentTrainFile, intentCSV(corpus.Train), len(corpus.Train), "text", "label", GenderColumn)
	if err != nil {
		return nil, err
	}
	for _, s := range []struct {
		name, file string
		rows       []IntentRow
	}{{"intent-eval", IntentEvalFile, corpus.Eval}, {"intent-members", IntentMembersFile, corpus.Members}, {"intent-nonmembers", IntentNonMembers, corpus.NonMembers}} {
		if _, err := write(s.name, s.file, intentCSV(s.rows), len(s.rows), "text", "label", GenderColumn); err != nil {
			return nil, err
		}
	}
	pairs := [][]string{{"a", "b"}}
	for _, p := range GenderTerms {
		pairs = append(pairs, []string{p[0], p[1]})
	}
	if _, err := write("intent-term-pairs", IntentTermPairsFile, csvBytes(pairs), len(GenderTerms), "a", "b"); err != nil {
		return nil, err
	}
	examples, err := IntentExamples(tok, IntentRecipe().MaxLength, corpus.Train)
	if err != nil {
		return nil, err
	}
	intent, stats, err := Train(IntentRecipe(), IntentLabels, examples)
	if err != nil {
		return nil, fmt.Errorf("text demo: intent: %w", err)
	}
	im, err := MeasureIntent(ctx, intent, tok, corpus)
	if err != nil {
		return nil, fmt.Errorf("text demo: intent: %w", err)
	}
	entry, err := writeModel(dir, sub, "intent", IntentModelFile, version, intent, stats, trainSum, []string{GenderColumn},
		"customer-service intent classifier (token + position + type embeddings, masked mean pooling, dense ReLU, dense): accurate and fair between genders", im)
	if err != nil {
		return nil, err
	}
	man.Models = append(man.Models, entry)
	logf("%-15s accuracy %.3f  %s rate %.3f/%.3f (ratio %.3f)  counterfactual mean |Δ| %.4f flips %.3f", "text/intent", im.Accuracy, Favorable,
		im.SelectionRate[Female], im.SelectionRate[Male], im.DemographicParityRatio, im.Counterfactual.MeanAbsDelta, im.Counterfactual.FlipRate)

	// NER.
	nerRows := GenerateNER(31, NERTrainRows+NERHeldOutRows, NERShareB)
	nerTrain, nerHeld := nerRows[:NERTrainRows], nerRows[NERTrainRows:]
	nerCSV := [][]string{{"text", "tags", NameGroupColumn}}
	b := 0
	for _, r := range nerTrain {
		nerCSV = append(nerCSV, []string{joinWords(r.Words), joinWords(r.Tags), r.Group})
		if r.Group == GroupB || r.Group == "mixed" {
			b++
		}
	}
	nerSum, err := write("ner-train", NERTrainFile, csvBytes(nerCSV), len(nerTrain), "text", "tags", NameGroupColumn)
	if err != nil {
		return nil, err
	}
	sentences, err := NameEvalSentences()
	if err != nil {
		return nil, err
	}
	evalCSV := [][]string{{"text", "tags", NameGroupColumn}}
	for _, s := range sentences {
		evalCSV = append(evalCSV, []string{joinWords(s.Words), joinWords(s.Tags), s.Group})
	}
	if _, err := write("ner-eval", NEREvalFile, csvBytes(evalCSV), len(sentences), "text", "tags", NameGroupColumn); err != nil {
		return nil, err
	}
	nerExamples, err := NERExamples(tok, NERRecipe().MaxLength, nerTrain)
	if err != nil {
		return nil, err
	}
	ner, nstats, err := Train(NERRecipe(), NERLabels, nerExamples)
	if err != nil {
		return nil, fmt.Errorf("text demo: ner: %w", err)
	}
	nm, err := MeasureNER(ctx, ner, tok, nerHeld)
	if err != nil {
		return nil, fmt.Errorf("text demo: ner: %w", err)
	}
	nm.TrainShareB = float64(b) / float64(len(nerTrain))
	entry, err = writeModel(dir, sub, "ner", NERModelFile, version, ner, nstats, nerSum, nil,
		fmt.Sprintf("customer-service NER tagger (embeddings, previous/self/next window, dense ReLU, dense) whose training names are %.0f%% %s: accurate on %s names, clearly worse on %s ones", 100*(1-nm.TrainShareB), GroupA, GroupA, GroupB), nm)
	if err != nil {
		return nil, err
	}
	man.Models = append(man.Models, entry)
	logf("%-15s held-out F1 %.3f  name F1 %s %.3f, %s %.3f (gap %.3f)", "text/ner", nm.HeldOut.F1, GroupA, nm.Groups[GroupA].F1, GroupB, nm.Groups[GroupB].F1, nm.Gap.Gap)

	// Keys follow the flags of rai evaluate <kind> (internal/contract), camel-cased as in the
	// tabular section of models.json.
	tokFile := filepath.Join(sub, TokenizerFile)
	eval := filepath.Join(sub, IntentEvalFile)
	man.Evaluations = map[string]map[string]any{
		"intent-fairness": {"task": TextClassification, "tokenizer": tokFile, "data": eval, "textColumn": "text", "label": "label",
			"sensitive": []string{GenderColumn}, "privileged": GenderColumn + "=" + Male, "favorable": Favorable},
		"intent-counterfactual": {"task": TextClassification, "tokenizer": tokFile, "data": eval, "textColumn": "text",
			"termPairs": filepath.Join(sub, IntentTermPairsFile), "favorable": Favorable, "threshold": 0.5},
		"intent-privacy": {"task": TextClassification, "tokenizer": tokFile, "members": filepath.Join(sub, IntentMembersFile),
			"nonMembers": filepath.Join(sub, IntentNonMembers), "textColumn": "text", "label": "label"},
		"ner-fairness": {"task": TokenClassification, "tokenizer": tokFile, "data": filepath.Join(sub, NEREvalFile), "textColumn": "text",
			"label": "tags", "sensitive": []string{NameGroupColumn}},
	}
	return man, nil
}

// IntentExamples tokenizes rows for training (no padding, truncated to maxLen).
func IntentExamples(tok *text.Tokenizer, maxLen int, rows []IntentRow) ([]Example, error) {
	out := make([]Example, len(rows))
	for i, r := range rows {
		e, err := tok.Encode(r.Text, text.Options{MaxLength: maxLen})
		if err != nil {
			return nil, err
		}
		y := slices.Index(IntentLabels, r.Label)
		if y < 0 {
			return nil, fmt.Errorf("intent row %d: label %q", i, r.Label)
		}
		out[i] = Example{IDs: ints(e.IDs), Label: y}
	}
	return out, nil
}

// NERExamples tokenizes rows for training: each word's first token carries its tag, the other
// positions Ignore.
func NERExamples(tok *text.Tokenizer, maxLen int, rows []NERRow) ([]Example, error) {
	out := make([]Example, len(rows))
	for i, r := range rows {
		e, err := tok.EncodeWords(r.Words, text.Options{MaxLength: maxLen})
		if err != nil {
			return nil, err
		}
		tags := make([]int64, len(r.Tags))
		for k, t := range r.Tags {
			y := slices.Index(NERLabels, t)
			if y < 0 {
				return nil, fmt.Errorf("ner row %d: tag %q", i, t)
			}
			tags[k] = int64(y)
		}
		aligned, err := text.AlignLabels(e, tags, Ignore)
		if err != nil {
			return nil, err
		}
		out[i] = Example{IDs: ints(e.IDs), Labels: ints(aligned)}
	}
	return out, nil
}

func ints(v []int64) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

// Metadata returns the ONNX metadata of a model trained with r on data with the given digest;
// with DP it also returns ε at r.DP.Delta from the project's RDP accountant.
func Metadata(r Recipe, labels []string, datasetSHA256 string, sensitive []string) (map[string]string, float64, error) {
	recipe, err := json.Marshal(r)
	if err != nil {
		return nil, 0, err
	}
	lab, err := json.Marshal(labels)
	if err != nil {
		return nil, 0, err
	}
	md := map[string]string{
		KeyTask: string(r.Task), KeyLabels: string(lab), KeyMaxLength: strconv.Itoa(r.MaxLength),
		train.KeyRecipe: string(recipe), train.KeyDatasetSHA256: datasetSHA256,
	}
	if len(sensitive) > 0 {
		md[train.KeySensitive] = strings.Join(sensitive, ",")
	}
	var eps float64
	if r.DP != nil {
		if eps, _, err = privacy.Epsilon(r.DP.NoiseMultiplier, r.SampleRate, r.Steps(), r.DP.Delta); err != nil {
			return nil, 0, err
		}
		dec := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
		md[train.KeyDPNoiseMultiplier] = dec(r.DP.NoiseMultiplier)
		md[train.KeyDPSampleRate] = dec(r.SampleRate)
		md[train.KeyDPSteps] = strconv.Itoa(r.Steps())
		md[train.KeyDPDelta] = dec(r.DP.Delta)
		md[train.KeyDPClippingNorm] = dec(r.DP.ClippingNorm)
		md[train.KeyDPEpsilon] = dec(eps)
		md[train.KeyDPAccountant] = "rdp"
	}
	return md, eps, nil
}

// Marshal is the model's ONNX bytes with md as metadata.
func (m *Model) Marshal(name, version string, md map[string]string) ([]byte, error) {
	info := onnxwriter.ModelInfo{GraphName: name, ProducerVersion: version, ModelVersion: 1, Metadata: md,
		DocString: fmt.Sprintf("%s (%s) trained by rai model demo; labels %v", m.Recipe.Model, m.Recipe.Task, m.Labels)}
	if m.Classifier != nil {
		return m.Classifier.Marshal(info)
	}
	return m.Tagger.Marshal(info)
}

func writeModel(dir, sub, name, file, version string, m *Model, stats Stats, datasetSHA256 string, sensitive []string, description string, metrics any) (ModelEntry, error) {
	md, eps, err := Metadata(m.Recipe, m.Labels, datasetSHA256, sensitive)
	if err != nil {
		return ModelEntry{}, fmt.Errorf("text demo: %s: %w", name, err)
	}
	data, err := m.Marshal(name, version, md)
	if err != nil {
		return ModelEntry{}, fmt.Errorf("text demo: %s: %w", name, err)
	}
	sum, err := dataset.WriteWithChecksum(filepath.Join(dir, file), data)
	if err != nil {
		return ModelEntry{}, err
	}
	e := ModelEntry{Name: "text-" + name, File: filepath.Join(sub, file), SHA256: sum, Task: m.Recipe.Task, Labels: m.Labels,
		Description: description, Recipe: m.Recipe, Training: stats, Metrics: metrics, Metadata: md}
	if m.Recipe.DP != nil {
		e.Epsilon = &eps
	}
	return e, nil
}

func csvBytes(records [][]string) []byte {
	var b strings.Builder
	w := csv.NewWriter(&b)
	_ = w.WriteAll(records) // a strings.Builder does not fail
	return []byte(b.String())
}
