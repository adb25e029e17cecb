package textdemo_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/responsible-ai/rmodel-operator/internal/demo/textdemo"
	"github.com/responsible-ai/rmodel-operator/internal/demo/train"
	evaltext "github.com/responsible-ai/rmodel-operator/internal/evaluation/text"
	"github.com/responsible-ai/rmodel-operator/internal/onnx"
	"github.com/responsible-ai/rmodel-operator/internal/text"
)

func TestMain(m *testing.M) {
	if err := onnx.Init(""); err != nil {
		println("textdemo tests need onnxruntime:", err.Error())
		os.Exit(1)
	}
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

var built struct {
	once sync.Once
	dir  string
	man  *textdemo.Manifest
	err  error
}

func build(t *testing.T) (string, *textdemo.Manifest) {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "rai-textdemo-"); built.err == nil {
			built.man, built.err = textdemo.Build(built.dir, "text", "test", nil)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.dir, built.man
}

func model(t *testing.T, man *textdemo.Manifest, name string) textdemo.ModelEntry {
	t.Helper()
	for _, m := range man.Models {
		if m.Name == name {
			return m
		}
	}
	t.Fatalf("no model %s in the manifest", name)
	return textdemo.ModelEntry{}
}

// metrics decodes an entry's metrics into v (as models.json carries them).
func metrics(t *testing.T, e textdemo.ModelEntry, v any) {
	t.Helper()
	b, err := json.Marshal(e.Metrics)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// The intent model is good and fair: accurate on held-out texts in both genders, the
// favorable class predicted at equal rates, and nearly blind to identity-term swaps.
func TestIntentModelIsAccurateAndFair(t *testing.T) {
	_, man := build(t)
	var m textdemo.IntentMetrics
	metrics(t, model(t, man, "text-intent"), &m)
	if m.Rows != textdemo.IntentEvalRows || m.Accuracy < 0.9 || m.AccuracyByGender[textdemo.Female] < 0.9 || m.AccuracyByGender[textdemo.Male] < 0.9 {
		t.Errorf("accuracy %.3f on %d rows, by gender %v", m.Accuracy, m.Rows, m.AccuracyByGender)
	}
	if m.DemographicParityRatio < 0.8 || m.SelectionRate[textdemo.Female] < 0.15 {
		t.Errorf("refund selection rates %v, parity ratio %.3f", m.SelectionRate, m.DemographicParityRatio)
	}
	cf := m.Counterfactual
	if cf.Swaps < m.Rows || cf.MeanAbsDelta >= 0.02 || cf.WorstMeanAbsDelta >= 0.05 || cf.FlipRate >= 0.05 {
		t.Errorf("counterfactual: %+v", cf)
	}
}

// The NER model is accurate on held-out sentences and on anglo names, and clearly worse on
// the Nigerian names its training data under-represents.
func TestNERModelIsWorseOnUnderRepresentedNames(t *testing.T) {
	_, man := build(t)
	var m textdemo.NERMetrics
	metrics(t, model(t, man, "text-ner"), &m)
	a, b := m.Groups[textdemo.GroupA], m.Groups[textdemo.GroupB]
	if m.HeldOut.F1 < 0.95 || a.F1 < 0.9 {
		t.Errorf("held-out F1 %.3f, %s F1 %.3f", m.HeldOut.F1, textdemo.GroupA, a.F1)
	}
	if m.Gap.Worst != textdemo.GroupB || m.Gap.Gap < 0.15 || b.Recall > a.Recall-0.15 {
		t.Errorf("gap %+v; recall %s %.3f, %s %.3f", m.Gap, textdemo.GroupA, a.Recall, textdemo.GroupB, b.Recall)
	}
	if m.TrainShareB <= 0 || m.TrainShareB > 0.05 || m.Sentences != 2*20*len(textdemo.NERNameTemplates) {
		t.Errorf("training share of %s names %.3f, %d evaluation sentences", textdemo.GroupB, m.TrainShareB, m.Sentences)
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// Every artifact has its documented header, row count and digest; the NER CSV has one IOB2 tag
// per word; the members are training rows and the non-members are not.
func TestArtifacts(t *testing.T) {
	dir, man := build(t)
	tokData, err := os.ReadFile(filepath.Join(dir, man.Tokenizer.File))
	if err != nil {
		t.Fatal(err)
	}
	orig, err := os.ReadFile("../../text/bertbase/bert-base-uncased.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(tokData, orig) {
		t.Fatal("the tokenizer.json written is not the real bert-base-uncased file of internal/text/bertbase")
	}
	files := map[string][][]string{}
	for _, a := range man.DataSets {
		recs := readCSV(t, filepath.Join(dir, a.File))
		if strings.Join(recs[0], ",") != strings.Join(a.Columns, ",") || len(recs)-1 != a.Rows {
			t.Errorf("%s: header %v, %d rows; manifest %v, %d", a.File, recs[0], len(recs)-1, a.Columns, a.Rows)
		}
		line, _ := os.ReadFile(filepath.Join(dir, a.File+".sha256"))
		if !strings.HasPrefix(string(line), a.SHA256+"  ") {
			t.Errorf("%s: checksum file %q, manifest %s", a.File, line, a.SHA256)
		}
		files[filepath.Base(a.File)] = recs[1:]
	}
	want := map[string]string{
		textdemo.IntentEvalFile: "text,label,gender", textdemo.IntentMembersFile: "text,label,gender", textdemo.IntentNonMembers: "text,label,gender",
		textdemo.IntentTrainFile: "text,label,gender", textdemo.IntentTermPairsFile: "a,b", textdemo.NEREvalFile: "text,tags,name_group",
		textdemo.NERTrainFile: "text,tags,name_group",
	}
	for f, header := range want {
		if _, ok := files[f]; !ok {
			t.Errorf("%s not written (header %s)", f, header)
		}
	}
	for _, r := range files[textdemo.NEREvalFile] {
		if len(strings.Split(r[0], " ")) != len(strings.Split(r[1], " ")) || (r[2] != textdemo.GroupA && r[2] != textdemo.GroupB) {
			t.Fatalf("ner-eval row %q", r)
		}
	}
	trainTexts := map[string]bool{}
	for _, r := range files[textdemo.IntentTrainFile] {
		trainTexts[r[0]] = true
	}
	for _, r := range files[textdemo.IntentMembersFile] {
		if !trainTexts[r[0]] {
			t.Fatalf("member %q is not a training text", r[0])
		}
	}
	for _, f := range []string{textdemo.IntentNonMembers, textdemo.IntentEvalFile} {
		for _, r := range files[f] {
			if trainTexts[r[0]] {
				t.Fatalf("%s row %q is a training text", f, r[0])
			}
		}
	}
	for _, m := range man.Models {
		data, err := os.ReadFile(filepath.Join(dir, m.File))
		if err != nil {
			t.Fatal(err)
		}
		if len(data) > 4<<20 {
			t.Errorf("%s is %d bytes", m.File, len(data))
		}
		var labels []string
		if err := json.Unmarshal([]byte(m.Metadata[textdemo.KeyLabels]), &labels); err != nil || !slices.Equal(labels, m.Labels) ||
			m.Metadata[textdemo.KeyTask] != string(m.Task) || m.Metadata[textdemo.KeyMaxLength] != "64" || m.Metadata[train.KeyDatasetSHA256] == "" {
			t.Errorf("%s metadata %v", m.Name, m.Metadata)
		}
	}
}

// onnxruntime on the written files reproduces the numbers the trainer measured with the Go
// forward pass: the intent accuracy and refund rates, and the NER F1 per name group.
func TestONNXArtifactsReproduceMeasuredNumbers(t *testing.T) {
	dir, man := build(t)
	tok, err := text.Load(filepath.Join(dir, man.Tokenizer.File))
	if err != nil {
		t.Fatal(err)
	}
	run := func(s *onnx.Session, encs []text.Encoding) ([]float32, []int64) {
		var ids, mask, types []int64
		for _, e := range encs {
			ids, mask, types = append(ids, e.IDs...), append(mask, e.AttentionMask...), append(types, e.TypeIDs...)
		}
		shape := []int64{int64(len(encs)), int64(encs[0].Len())}
		out, err := s.RunInputs([]onnx.NamedTensor{{Name: "input_ids", Shape: shape, Data: ids}, {Name: "attention_mask", Shape: shape, Data: mask}, {Name: "token_type_ids", Shape: shape, Data: types}})
		if err != nil {
			t.Fatal(err)
		}
		return out[0].Data.([]float32), out[0].Shape
	}
	opts := text.Options{MaxLength: 64, Padding: text.PadLongest}

	intent := model(t, man, "text-intent")
	s, err := onnx.LoadFile(filepath.Join(dir, intent.File), onnx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows := readCSV(t, filepath.Join(dir, "text", textdemo.IntentEvalFile))[1:]
	correct, refunds := 0, map[string]int{}
	for lo := 0; lo < len(rows); lo += 64 {
		batch := rows[lo:min(len(rows), lo+64)]
		texts := make([]string, len(batch))
		for i, r := range batch {
			texts[i] = r[0]
		}
		encs, err := tok.EncodeBatch(texts, opts)
		if err != nil {
			t.Fatal(err)
		}
		logits, shape := run(s, encs)
		k := int(shape[1])
		for i, r := range batch {
			row := logits[i*k : (i+1)*k]
			best := 0
			for j := range row {
				if row[j] > row[best] {
					best = j
				}
			}
			if intent.Labels[best] == r[1] {
				correct++
			}
			if intent.Labels[best] == textdemo.Favorable {
				refunds[r[2]]++
			}
		}
	}
	var im textdemo.IntentMetrics
	metrics(t, intent, &im)
	if acc := float64(correct) / float64(len(rows)); math.Abs(acc-im.Accuracy) > 1e-12 {
		t.Errorf("onnxruntime accuracy %.4f, measured %.4f", acc, im.Accuracy)
	}
	for g, n := range refunds {
		if math.Abs(float64(n)/float64(len(rows)/2)-im.SelectionRate[g]) > 1e-12 {
			t.Errorf("%s: onnxruntime refund rate %.4f, measured %.4f", g, float64(n)/float64(len(rows)/2), im.SelectionRate[g])
		}
	}

	ner := model(t, man, "text-ner")
	ns, err := onnx.LoadFile(filepath.Join(dir, ner.File), onnx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	tagger := evaltext.TaggerFunc(func(_ context.Context, sentences [][]string) ([][]string, error) {
		encs, err := tok.EncodeWordsBatch(sentences, opts)
		if err != nil {
			return nil, err
		}
		logits, shape := run(ns, encs)
		seq, k := int(shape[1]), int(shape[2])
		out := make([][]string, len(encs))
		for i, e := range encs {
			labels := make([]string, seq)
			for p := range seq {
				row := logits[(i*seq+p)*k : (i*seq+p+1)*k]
				best := 0
				for j := range row {
					if row[j] > row[best] {
						best = j
					}
				}
				labels[p] = ner.Labels[best]
			}
			if out[i], err = text.WordLabels(e, labels, len(sentences[i])); err != nil {
				return nil, err
			}
		}
		return out, nil
	})
	var sentences []evaltext.GroupSentence
	for _, r := range readCSV(t, filepath.Join(dir, "text", textdemo.NEREvalFile))[1:] {
		sentences = append(sentences, evaltext.GroupSentence{Words: strings.Split(r[0], " "), Tags: strings.Split(r[1], " "), Group: r[2]})
	}
	rep, err := evaltext.TaggerF1ByGroup(context.Background(), tagger, sentences, 0)
	if err != nil {
		t.Fatal(err)
	}
	var nm textdemo.NERMetrics
	metrics(t, ner, &nm)
	for _, g := range []string{textdemo.GroupA, textdemo.GroupB} {
		if math.Abs(rep.Groups[g].Micro.F1-nm.Groups[g].F1) > 1e-12 {
			t.Errorf("%s: onnxruntime F1 %.4f, measured %.4f", g, rep.Groups[g].Micro.F1, nm.Groups[g].F1)
		}
	}
}

// Same seed, same bytes.
func TestBuildIsReproducible(t *testing.T) {
	dir, man := build(t)
	again := t.TempDir()
	man2, err := textdemo.Build(again, "text", "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	all := append([]textdemo.Artifact{man.Tokenizer}, man.DataSets...)
	for _, m := range man.Models {
		all = append(all, textdemo.Artifact{File: m.File})
	}
	if len(all) != 10 || len(man2.Models) != 2 {
		t.Fatalf("%d artifacts", len(all))
	}
	for _, a := range all {
		x, err1 := os.ReadFile(filepath.Join(dir, a.File))
		y, err2 := os.ReadFile(filepath.Join(again, a.File))
		if err1 != nil || err2 != nil || !bytes.Equal(x, y) {
			t.Errorf("%s differs between two builds (%v, %v)", a.File, err1, err2)
		}
	}
}
