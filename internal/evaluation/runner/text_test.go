package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/responsible-ai/rmodel-operator/internal/contract"
	evtext "github.com/responsible-ai/rmodel-operator/internal/evaluation/text"
	"github.com/responsible-ai/rmodel-operator/internal/onnxwriter"
	"github.com/responsible-ai/rmodel-operator/internal/report"
	"github.com/responsible-ai/rmodel-operator/internal/text"
	"github.com/responsible-ai/rmodel-operator/internal/textmodel/textmodeltest"
)

// The tests of the text evaluations run real onnxruntime on tiny real text models with the
// Hugging Face interface and the real bert-base-uncased tokenizer, and compare the reports with
// values derived independently: by hand, in closed form, or by brute force.

const testTokenizer = "../../text/bertbase/bert-base-uncased.json"

func testTok(t *testing.T) *text.Tokenizer {
	t.Helper()
	tok, err := text.Load(testTokenizer)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func tokenID(t *testing.T, tok *text.Tokenizer, word string) int64 {
	t.Helper()
	id, ok := tok.TokenID(word)
	if !ok {
		t.Fatalf("%q is not one token of the test vocabulary", word)
	}
	return id
}

// bowWeights are the keyword model's logit weights by word; [CLS] carries the bias.
var bowWeights = map[string]float32{"[CLS]": -0.5, "great": 3, "awful": -3, "she": -1, "women": -2}

// bowScore is the keyword model's P(pos) of a text of whole-token words, in closed form:
// σ(−0.5 + Σ weights of its words).
func bowScore(words ...string) float64 {
	s := float64(bowWeights["[CLS]"])
	for _, w := range words {
		s += float64(bowWeights[strings.ToLower(w)])
	}
	return 1 / (1 + math.Exp(-s))
}

// writeBOW writes the keyword model (labels neg, pos): logits [0, Σ_t mask_t·w(id_t)], a
// logistic regression on token counts, and returns its path.
func writeBOW(t *testing.T, dir string) string {
	t.Helper()
	w := map[string][]float32{}
	for k, v := range bowWeights {
		w[k] = []float32{0, v}
	}
	return writeKeywords(t, dir, "bow.onnx", []string{"neg", "pos"}, w)
}

// writeKeywords writes a keyword model over len(labels) labels: logits Σ_t mask_t·w(id_t), with
// w(id) the row weights gives the token (0 for the others).
func writeKeywords(t *testing.T, dir, name string, labels []string, weights map[string][]float32) string {
	t.Helper()
	tok := testTok(t)
	k := len(labels)
	table := make([]float32, textmodeltest.VocabSize*k)
	for w, v := range weights {
		copy(table[tokenID(t, tok, w)*int64(k):], v)
	}
	seq := []onnxwriter.Dim{{Param: "batch"}, {Param: "sequence"}}
	g := onnxwriter.Graph{
		Name: "keywords",
		Initializers: []onnxwriter.Tensor{
			{Name: "table", Dims: []int64{textmodeltest.VocabSize, int64(k)}, Float: table},
			{Name: "axis1", Dims: []int64{1}, Int64: []int64{1}},
			{Name: "axis2", Dims: []int64{1}, Int64: []int64{2}},
		},
		Inputs: []onnxwriter.ValueInfo{
			{Name: "input_ids", ElemType: onnxwriter.Int64, Shape: seq},
			{Name: "attention_mask", ElemType: onnxwriter.Int64, Shape: seq},
		},
		Nodes: []onnxwriter.Node{
			{OpType: "Gather", Inputs: []string{"table", "input_ids"}, Outputs: []string{"w"}},
			{OpType: "Cast", Inputs: []string{"attention_mask"}, Outputs: []string{"mask"}, Attrs: []onnxwriter.Attr{onnxwriter.IntAttr("to", int64(onnxwriter.Float))}},
			{OpType: "Unsqueeze", Inputs: []string{"mask", "axis2"}, Outputs: []string{"mask3"}},
			{OpType: "Mul", Inputs: []string{"w", "mask3"}, Outputs: []string{"masked"}},
			{OpType: "ReduceSum", Inputs: []string{"masked", "axis1"}, Outputs: []string{"logits"}, Attrs: []onnxwriter.Attr{onnxwriter.IntAttr("keepdims", 0)}},
		},
		Outputs: []onnxwriter.ValueInfo{{Name: "logits", ElemType: onnxwriter.Float, Shape: []onnxwriter.Dim{{Param: "batch"}, {Value: int64(k)}}}},
	}
	lj, _ := json.Marshal(labels)
	m := onnxwriter.Model{ProducerName: "rai-test", Metadata: map[string]string{"rai.labels": string(lj), "rai.task": contract.TaskTextClassification}, Graph: g}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, name, string(b))
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func fileSHA(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func textOpts(task string) TextOptions {
	return TextOptions{Task: task, TokenizerPath: testTokenizer, TextColumn: "text"}
}

func textMetric(t *testing.T, rep *report.Report, name string) float64 {
	t.Helper()
	if err := rep.Validate(); err != nil {
		t.Fatal(err)
	}
	if c, err := rep.Compact(); err != nil || len(c) > report.MaxCompactBytes {
		t.Fatalf("compact report: %d bytes, %v", len(c), err)
	}
	v, ok := rep.Metrics[name]
	if !ok || v == nil {
		t.Fatalf("metric %s missing or null (undefined: %q); metrics %v", name, rep.Undefined[name], rep.Metrics)
	}
	return *v
}

func closeTo(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-5 {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func sigmoid(s float64) float64 { return 1 / (1 + math.Exp(-s)) }

// TestTextCounterfactualClosedForm: on the keyword model, swapping he/she changes the logit by
// exactly w(she) − w(he) = −1, so every |Δ| is |σ(s−1) − σ(s)| for the text's logit s, and the
// decision flips exactly where the threshold 0.5 lies between the two.
func TestTextCounterfactualClosedForm(t *testing.T) {
	dir := t.TempDir()
	model := writeBOW(t, dir)
	data := writeFile(t, dir, "d.csv", "text\nhe is great\nShe is awful\nhe is here\nmen and women\nnothing to swap\n")
	pairs := writeFile(t, dir, "pairs.csv", "a,b\nhe,she\nmen,women\nking,queen\n")
	rep, err := EvaluateCounterfactual(context.Background(), CounterfactualConfig{
		Common: Common{ModelPath: model, DataPath: data, DataSHA256: fileSHA(t, data)}, Text: textOpts(contract.TaskTextClassification),
		TermPairs: pairs, TermPairsSHA256: fileSHA(t, pairs), Favorable: "pos", Threshold: 0.5,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Kind != report.KindCounterfactual || rep.State != report.StateSucceeded {
		t.Fatalf("kind %s state %s", rep.Kind, rep.State)
	}
	// he/she: "he is great" s = 2.5 → 1.5; "She is awful" s = −4.5 → −3.5 ("He is awful");
	// "he is here" s = −0.5 → −1.5: no flip (both below 0.5). "he is great" stays above.
	d1 := math.Abs(bowScore("he", "is", "great") - bowScore("she", "is", "great"))
	d2 := math.Abs(bowScore("she", "is", "awful") - bowScore("he", "is", "awful"))
	d3 := math.Abs(bowScore("he", "is", "here") - bowScore("she", "is", "here"))
	// men/women: "men and women" swaps both ways into "women and men": the same words, Δ = 0.
	var d CounterfactualDetails
	if err := json.Unmarshal(rep.Details, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Pairs) != 3 || d.Pairs[0].Texts != 3 || d.Pairs[1].Texts != 1 || d.Pairs[2].Texts != 0 {
		t.Fatalf("pairs %+v", d.Pairs)
	}
	closeTo(t, "he/she mean |Δ|", float64(d.Pairs[0].MeanAbsDelta), (d1+d2+d3)/3)
	closeTo(t, "he/she max |Δ|", d.Pairs[0].MaxAbsDelta, math.Max(d1, math.Max(d2, d3)))
	closeTo(t, "men/women mean |Δ|", float64(d.Pairs[1].MeanAbsDelta), 0)
	if !math.IsNaN(float64(d.Pairs[2].MeanAbsDelta)) {
		t.Errorf("king/queen occurs nowhere, mean |Δ| %v", d.Pairs[2].MeanAbsDelta)
	}
	closeTo(t, "counterfactual_mean_abs_delta", textMetric(t, rep, "counterfactual_mean_abs_delta"), (d1+d2+d3)/3)
	closeTo(t, "counterfactual_flip_rate", textMetric(t, rep, "counterfactual_flip_rate"), 0)
	if d.WorstPair != "he/she" {
		t.Errorf("worst pair %q", d.WorstPair)
	}

	// A text whose logit crosses 0 under the swap flips: "he is good" s = −0.5 + 0 → P = σ(−0.5)
	// < 0.5 either way; with the threshold at σ(−1) < t ≤ σ(−0.5) it flips.
	rep, err = EvaluateCounterfactual(context.Background(), CounterfactualConfig{
		Common: Common{ModelPath: model, DataPath: data}, Text: textOpts(contract.TaskTextClassification),
		TermPairs: pairs, Favorable: "pos", Threshold: 0.3,
	})
	if err != nil {
		t.Fatal(err)
	}
	// At 0.3: he is here σ(−0.5)=0.378 vs σ(−1.5)=0.182 flips; the others do not.
	closeTo(t, "flip rate at 0.3", textMetric(t, rep, "counterfactual_flip_rate"), 1.0/3)
}

// TestTextFairnessGroupMetricsAndBiasAUCs: the confusion counts follow from the keyword
// model's closed-form scores, and the bias AUCs equal a brute-force count of pairs.
func TestTextFairnessGroupMetricsAndBiasAUCs(t *testing.T) {
	dir := t.TempDir()
	model := writeBOW(t, dir)
	type row struct {
		text, label, group string
	}
	rows := []row{
		{"a great film", "pos", "a"}, {"an awful film", "neg", "a"}, {"great", "neg", "a"}, {"a film", "pos", "a"},
		{"she was great", "pos", "b"}, {"she was awful", "neg", "b"}, {"she was here", "pos", "b"}, {"women were great", "neg", "b"},
	}
	var csv strings.Builder
	csv.WriteString("text,label,group\n")
	for _, r := range rows {
		csv.WriteString(r.text + "," + r.label + "," + r.group + "\n")
	}
	data := writeFile(t, dir, "d.csv", csv.String())
	rep, err := EvaluateTextFairness(context.Background(), TextFairnessConfig{
		Common: Common{ModelPath: model, DataPath: data}, Text: textOpts(contract.TaskTextClassification),
		Label: "label", Sensitive: []string{"group"}, Favorable: "pos", Threshold: 0.5, Privileged: "group=a",
	})
	if err != nil {
		t.Fatal(err)
	}
	scores := make([]float64, len(rows))
	sel := map[string]float64{}
	n := map[string]float64{}
	for i, r := range rows {
		scores[i] = bowScore(strings.Fields(r.text)...)
		n[r.group]++
		if scores[i] >= 0.5 {
			sel[r.group]++
		}
	}
	// a: great film 2.5 ✓, awful −3.5, great 2.5 ✓, film −0.5 → 2/4; b: she great 1.5 ✓,
	// she awful −4.5, she here −1.5, women great 0.5 ✓ → 2/4.
	ra, rb := sel["a"]/n["a"], sel["b"]/n["b"]
	closeTo(t, "demographic_parity_difference", textMetric(t, rep, "demographic_parity_difference"), math.Abs(ra-rb))
	closeTo(t, "statistical_parity_difference", textMetric(t, rep, "statistical_parity_difference"), rb-ra)
	// Brute force: AUC = P(pos scores above neg) + ½ P(tie) over all pairs.
	auc := func(pos, neg []float64) float64 {
		var s float64
		for _, p := range pos {
			for _, q := range neg {
				switch {
				case p > q:
					s++
				case p == q:
					s += 0.5
				}
			}
		}
		return s / float64(len(pos)*len(neg))
	}
	side := func(group string, in bool, label string) []float64 {
		var out []float64
		for i, r := range rows {
			if (r.group == group) == in && r.label == label {
				out = append(out, scores[i])
			}
		}
		return out
	}
	want := map[string]map[string]float64{}
	for _, g := range []string{"a", "b"} {
		want[g] = map[string]float64{
			"subgroup": auc(side(g, true, "pos"), side(g, true, "neg")),
			"bpsn":     auc(side(g, false, "pos"), side(g, true, "neg")),
			"bnsp":     auc(side(g, true, "pos"), side(g, false, "neg")),
		}
	}
	for _, m := range []string{"subgroup", "bpsn", "bnsp"} {
		closeTo(t, m+"_auc_min", textMetric(t, rep, m+"_auc_min"), math.Min(want["a"][m], want["b"][m]))
	}
	var d struct {
		Groups   []FairnessGroup `json:"groups"`
		BiasAUCs BiasAUCDetails  `json:"bias_aucs"`
	}
	if err := json.Unmarshal(rep.Details, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Groups) != 2 || d.Groups[0].Name != "group=a" || d.Groups[0].TP+d.Groups[0].FP != int64(sel["a"]) {
		t.Errorf("groups %+v", d.Groups)
	}
	if len(d.BiasAUCs.Groups) != 2 || d.BiasAUCs.Score != "P(pos)" {
		t.Fatalf("bias AUCs %+v", d.BiasAUCs)
	}
	for _, g := range d.BiasAUCs.Groups {
		name := strings.TrimPrefix(g.Group, "group=")
		closeTo(t, g.Group+" subgroup", float64(g.SubgroupAUC), want[name]["subgroup"])
		closeTo(t, g.Group+" bpsn", float64(g.BPSNAUC), want[name]["bpsn"])
		closeTo(t, g.Group+" bnsp", float64(g.BNSPAUC), want[name]["bnsp"])
	}
	worst := "group=a"
	if want["b"]["bpsn"] < want["a"]["bpsn"] {
		worst = "group=b"
	}
	if d.BiasAUCs.Worst["bpsn_auc"] != worst {
		t.Errorf("worst bpsn group %q, want %q", d.BiasAUCs.Worst["bpsn_auc"], worst)
	}
	if rep.Parameters["task"] != contract.TaskTextClassification || rep.Parameters["num_labels"] != "2" {
		t.Errorf("parameters %v", rep.Parameters)
	}
}

// nerTagger writes textmodeltest's tagger with labels O, B-PER, I-PER, B-LOC: john and mary
// are B-PER, smith I-PER, paris B-LOC, every other token O.
func nerTagger(t *testing.T, dir string) string {
	t.Helper()
	tok := testTok(t)
	byID := map[int64]int{tokenID(t, tok, "john"): 1, tokenID(t, tok, "mary"): 1, tokenID(t, tok, "smith"): 2, tokenID(t, tok, "paris"): 3}
	spec := textmodeltest.NewTagger(4, byID)
	spec.Metadata = map[string]string{"rai.labels": `["O","B-PER","I-PER","B-LOC"]`}
	b, err := spec.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, "ner.onnx", string(b))
}

// TestTextFairnessEntityF1ByGroup: a crafted case counted by hand.
//
//	group a: "john smith went to paris"  gold B-PER I-PER O O B-LOC, predicted the same: TP 2
//	group b: "mary met rome"             gold B-PER O B-LOC, predicted B-PER O O: TP 1, pred 1, support 2
//	group b: "john mary"                 gold B-PER I-PER, predicted B-PER B-PER: TP 0, pred 2, support 1
//
// a: P 1, R 1, F1 1. b: P 1/3, R 1/3, F1 1/3. Overall: TP 3, pred 5, support 5: F1 0.6.
func TestTextFairnessEntityF1ByGroup(t *testing.T) {
	dir := t.TempDir()
	model := nerTagger(t, dir)
	data := writeFile(t, dir, "d.csv", "text,tags,group\n"+
		"john smith went to paris,B-PER I-PER O O B-LOC,a\n"+
		"mary met rome,B-PER O B-LOC,b\n"+
		"john mary,B-PER I-PER,b\n")
	rep, err := EvaluateTextFairness(context.Background(), TextFairnessConfig{
		Common: Common{ModelPath: model, DataPath: data}, Text: textOpts(contract.TaskTokenClassification),
		Label: "tags", Sensitive: []string{"group"},
	})
	if err != nil {
		t.Fatal(err)
	}
	closeTo(t, "entity_f1", textMetric(t, rep, "entity_f1"), 0.6)
	closeTo(t, "entity_f1_min", textMetric(t, rep, "entity_f1_min"), 1.0/3)
	closeTo(t, "entity_f1_gap", textMetric(t, rep, "entity_f1_gap"), 2.0/3)
	var d EntityFairnessDetails
	if err := json.Unmarshal(rep.Details, &d); err != nil {
		t.Fatal(err)
	}
	if d.BestGroup != "group=a" || d.WorstGroup != "group=b" || len(d.Groups) != 2 {
		t.Fatalf("details %+v", d)
	}
	b := d.Groups[1]
	if b.Support != 3 || b.Predicted != 3 || b.TruePositives != 1 || b.Sentences != 2 {
		t.Errorf("group b %+v", b)
	}
	if _, ok := rep.Metrics["demographic_parity_ratio"]; ok {
		t.Error("a token-classification report has tabular group metrics")
	}
}

// TestTextBadInputNamesTheProblem: errors name the file, the row and the column.
func TestTextBadInputNamesTheProblem(t *testing.T) {
	dir := t.TempDir()
	bow, ner := writeBOW(t, dir), nerTagger(t, dir)
	cases := []struct {
		name, model, task, csv, want string
		shard                        Shard
	}{
		{"missing text column", bow, contract.TaskTextClassification, "txt,label,group\nhi,pos,a\n", `column "text" not found`, Shard{}},
		{"unknown label", bow, contract.TaskTextClassification, "text,label,group\nhi,pos,a\nho,maybe,b\n", `row 2, column "label": label "maybe" is not one of the model's labels (neg, pos)`, Shard{}},
		{"empty text", bow, contract.TaskTextClassification, "text,label,group\n\"\",pos,a\n", `row 1, column "text": empty text`, Shard{}},
		{"tag count", ner, contract.TaskTokenClassification, "text,label,group\njohn smith,B-PER I-PER,a\njohn went,B-PER,a\n", `row 2: column "label" has 1 tags but column "text" has 2 words`, Shard{}},
		{"double space", ner, contract.TaskTokenClassification, "text,label,group\njohn  smith,B-PER O I-PER,a\n", `row 1, column "text": an empty word`, Shard{}},
		{"bad tag", ner, contract.TaskTokenClassification, "text,label,group\njohn smith,B-PER PER,a\n", `row 1, column "label", tag 2: "PER" is not an IOB2 tag`, Shard{}},
		{"tag not a label", ner, contract.TaskTokenClassification, "text,label,group\njohn smith,B-PER B-ORG,a\n", `row 1, column "label", tag 2: "B-ORG" is not one of the model's labels`, Shard{}},
		{"shard", bow, contract.TaskTextClassification, "text,label,group\nhi,pos,a\n", "text fairness evaluations do not shard", Shard{Index: 0, Count: 2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := writeFile(t, t.TempDir(), "d.csv", tc.csv)
			rep, err := EvaluateTextFairness(context.Background(), TextFairnessConfig{
				Common: Common{ModelPath: tc.model, DataPath: data, Shard: tc.shard}, Text: textOpts(tc.task),
				Label: "label", Sensitive: []string{"group"}, Favorable: "pos", Threshold: 0.5,
			})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
			if tc.shard.Count == 0 && !strings.Contains(err.Error(), data) {
				t.Errorf("error %q does not name the file", err)
			}
			if rep == nil || rep.State != report.StateError {
				t.Errorf("want an Error report, got %+v", rep)
			}
		})
	}
	// The favorable label must be one of the model's.
	data := writeFile(t, dir, "ok.csv", "text,label,group\nhi,pos,a\n")
	_, err := EvaluateTextFairness(context.Background(), TextFairnessConfig{
		Common: Common{ModelPath: bow, DataPath: data}, Text: textOpts(contract.TaskTextClassification),
		Label: "label", Sensitive: []string{"group"}, Favorable: "1", Threshold: 0.5,
	})
	if err == nil || !strings.Contains(err.Error(), `--favorable "1" is not one of the model's labels (neg, pos)`) {
		t.Errorf("error %v", err)
	}
	// A wrong tokenizer digest is refused naming both digests.
	_, err = EvaluateTextFairness(context.Background(), TextFairnessConfig{
		Common: Common{ModelPath: bow, DataPath: data}, Text: TextOptions{Task: contract.TaskTextClassification, TokenizerPath: testTokenizer, TokenizerSHA256: strings.Repeat("0", 64)},
		Label: "label", Sensitive: []string{"group"}, Favorable: "pos", Threshold: 0.5,
	})
	if err == nil || !strings.Contains(err.Error(), "tokenizer "+testTokenizer+": sha256 mismatch") {
		t.Errorf("error %v", err)
	}
}

// TestTextRobustnessKeywordModel: on the keyword model one edit of "great" removes its token
// (every edit of it tokenizes without the token "great"), so each correctly classified positive
// text flips after exactly one edit, while the negative texts cannot flip (removing "awful"
// leaves the logit at −0.5). With typo rate 1 every positive text is wrong and every negative
// right.
func TestTextRobustnessKeywordModel(t *testing.T) {
	dir := t.TempDir()
	model := writeBOW(t, dir)
	data := writeFile(t, dir, "d.csv", "text,label\ngreat movie,pos\na great plot,pos\nawful movie,neg\nan awful plot,neg\n")
	rep, err := EvaluateTextRobustness(context.Background(), TextRobustnessConfig{
		Common: Common{ModelPath: model, DataPath: data}, Text: textOpts(contract.TaskTextClassification),
		Label: "label", Favorable: "pos", Threshold: 0.5, MaxEdits: 3, TypoRate: 1, AttackRows: 100, Seed: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	closeTo(t, "attack_success_rate", textMetric(t, rep, "attack_success_rate"), 0.5)
	closeTo(t, "attack_mean_edits", textMetric(t, rep, "attack_mean_edits"), 1)
	closeTo(t, "clean_accuracy", textMetric(t, rep, "clean_accuracy"), 1)
	closeTo(t, "typo_accuracy", textMetric(t, rep, "typo_accuracy"), 0.5)
	var d TextRobustnessDetails
	if err := json.Unmarshal(rep.Details, &d); err != nil {
		t.Fatal(err)
	}
	if d.Attack.Correct != 4 || d.Attack.Succeeded != 2 || len(d.Attack.Examples) != 2 {
		t.Fatalf("attack %+v", d.Attack)
	}
	for _, e := range d.Attack.Examples {
		if strings.Contains(e.Adversarial, "great") || e.Edits != 1 {
			t.Errorf("adversarial example %+v", e)
		}
	}
	// Token classification is refused.
	_, err = EvaluateTextRobustness(context.Background(), TextRobustnessConfig{
		Common: Common{ModelPath: model, DataPath: data}, Text: textOpts(contract.TaskTokenClassification), Label: "label",
	})
	if err == nil || !strings.Contains(err.Error(), "not supported for token-classification") {
		t.Errorf("error %v", err)
	}
}

// TestTextExplainExactShapley: the keyword model's exact Shapley values over words are, for a
// text with "great" and words of weight 0, φ(great) = σ(2.5) − σ(−0.5) and 0 for the others
// (f depends on great's presence only); LIME ranks "great" first with a positive mean.
func TestTextExplainExactShapley(t *testing.T) {
	dir := t.TempDir()
	model := writeBOW(t, dir)
	data := writeFile(t, dir, "d.csv", "text,label\ngreat movie,pos\nthe plot,neg\nawful film,neg\n")
	rep, err := EvaluateTextExplain(context.Background(), TextExplainConfig{
		Common: Common{ModelPath: model, DataPath: data}, Text: textOpts(contract.TaskTextClassification),
		Label: "label", Favorable: "pos", Threshold: 0.5, Samples: 10, LIMESamples: 500, Seed: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	// the plot → σ(−0.5) < 0.5: neg ✓; all three right.
	closeTo(t, "baseline_accuracy", textMetric(t, rep, "baseline_accuracy"), 1)
	var d TextExplainDetails
	if err := json.Unmarshal(rep.Details, &d); err != nil {
		t.Fatal(err)
	}
	if d.ExplainedTexts != 3 || d.ShapleyTexts != 3 || d.Score != "P(pos)" {
		t.Fatalf("details %+v", d)
	}
	by := map[string]TokenExplanation{}
	for _, f := range d.Features {
		by[f.Name] = f
	}
	phiGreat := sigmoid(2.5) - sigmoid(-0.5)
	phiAwful := sigmoid(-3.5) - sigmoid(-0.5)
	closeTo(t, "great shapley_mean", float64(by["great"].ShapleyMean), phiGreat/3)
	closeTo(t, "awful shapley_mean", float64(by["awful"].ShapleyMean), phiAwful/3)
	closeTo(t, "movie shapley_mean_abs", float64(by["movie"].ShapleyMeanAbs), 0)
	if d.Features[0].Name != "great" || d.Features[0].Rank != 1 || d.Features[0].LIMEMean <= 0 || by["awful"].LIMEMean >= 0 {
		t.Errorf("features %+v", d.Features)
	}
}

// TestTextPrivacyAuditLosses: the audit's AUC equals a brute-force count over the closed-form
// losses −log P(true label).
func TestTextPrivacyAuditLosses(t *testing.T) {
	dir := t.TempDir()
	model := writeBOW(t, dir)
	members := writeFile(t, dir, "m.csv", "text,label\ngreat movie,pos\nawful movie,neg\ngreat,pos\nawful plot,neg\n")
	nonMembers := writeFile(t, dir, "n.csv", "text,label\ngreat movie,neg\nthe plot,pos\nawful,pos\nfilm,neg\n")
	rep, err := EvaluateTextPrivacy(context.Background(), PrivacyConfig{
		Common: Common{ModelPath: model}, Members: members, NonMembers: nonMembers, Label: "label", Delta: 1e-5, DeltaSet: true, Seed: 1,
	}, textOpts(contract.TaskTextClassification))
	if err != nil {
		t.Fatal(err)
	}
	loss := func(label string, words ...string) float64 {
		p := bowScore(words...)
		if label == "neg" {
			p = 1 - p
		}
		return -math.Log(p)
	}
	ml := []float64{loss("pos", "great", "movie"), loss("neg", "awful", "movie"), loss("pos", "great"), loss("neg", "awful", "plot")}
	nl := []float64{loss("neg", "great", "movie"), loss("pos", "the", "plot"), loss("pos", "awful"), loss("neg", "film")}
	var s float64
	for _, a := range ml {
		for _, b := range nl {
			switch {
			case a < b:
				s++
			case a == b:
				s += 0.5
			}
		}
	}
	closeTo(t, "mia_auc", textMetric(t, rep, "mia_auc"), s/16)
	if rep.Metrics["epsilon"] != nil || rep.Undefined["epsilon"] != NoDPReason {
		t.Errorf("epsilon %v (%q)", rep.Metrics["epsilon"], rep.Undefined["epsilon"])
	}
}

// TestTextThreeLabels: with more than two labels the favorable decision is the argmax. The
// expected decisions come from a three-label keyword model's softmax, computed by hand.
func TestTextThreeLabels(t *testing.T) {
	dir := t.TempDir()
	labels := []string{"x", "y", "z"}
	weights := map[string][]float32{"[CLS]": {0, 0, 0.5}, "great": {0, 2, 0}, "awful": {2, 0, 0}, "she": {0, 1, 0}, "rain": {0, 0, 1.5}}
	model := writeKeywords(t, dir, "k3.onnx", labels, weights)
	texts := []string{"he went home", "she went home", "a great cat", "an awful dog", "he is great", "she is awful", "rain", "she and rain", "great rain"}
	// ref is softmax(Σ weights of [CLS] and the words), by hand.
	ref := func(s string) []float64 {
		l := append([]float32(nil), weights["[CLS]"]...)
		for _, w := range strings.Fields(s) {
			for j, v := range weights[w] {
				l[j] += v
			}
		}
		p := make([]float64, 3)
		var z float64
		for j := range p {
			p[j] = math.Exp(float64(l[j]))
			z += p[j]
		}
		for j := range p {
			p[j] /= z
		}
		return p
	}
	var csv strings.Builder
	csv.WriteString("text,label,group\n")
	sel, count := map[string]int{}, map[string]int{}
	correct := 0
	for i, s := range texts {
		g := []string{"a", "b"}[i%2]
		label := labels[i%3]
		csv.WriteString(s + "," + label + "," + g + "\n")
		p := ref(s)
		count[g]++
		if argmax(p) == 1 {
			sel[g]++
		}
		if labels[argmax(p)] == label {
			correct++
		}
	}
	data := writeFile(t, dir, "d.csv", csv.String())
	o := textOpts(contract.TaskTextClassification)
	o.Labels = labels
	rep, err := EvaluateTextFairness(context.Background(), TextFairnessConfig{
		Common: Common{ModelPath: model, DataPath: data}, Text: o, Label: "label", Sensitive: []string{"group"}, Favorable: "y", Threshold: 0.5,
	})
	if err != nil {
		t.Fatal(err)
	}
	ra, rb := float64(sel["a"])/float64(count["a"]), float64(sel["b"])/float64(count["b"])
	closeTo(t, "selection_rate", textMetric(t, rep, "selection_rate"), float64(sel["a"]+sel["b"])/float64(len(texts)))
	closeTo(t, "demographic_parity_difference", textMetric(t, rep, "demographic_parity_difference"), math.Abs(ra-rb))
	if _, ok := rep.Metrics["bpsn_auc_min"]; ok {
		t.Error("bias AUCs reported for a three-label model")
	}
	if rep.Parameters["decision"] != "argmax = y" {
		t.Errorf("decision %q", rep.Parameters["decision"])
	}
	rr, err := EvaluateTextRobustness(context.Background(), TextRobustnessConfig{
		Common: Common{ModelPath: model, DataPath: data}, Text: o, Label: "label", Favorable: "y", MaxEdits: 2, TypoRate: 0, AttackRows: 100, Seed: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	closeTo(t, "clean_accuracy", textMetric(t, rr, "clean_accuracy"), float64(correct)/float64(len(texts)))
	closeTo(t, "typo_accuracy at rate 0", textMetric(t, rr, "typo_accuracy"), float64(correct)/float64(len(texts)))
	var d TextRobustnessDetails
	json.Unmarshal(rr.Details, &d)
	if d.Attack.Correct != correct || d.Attack.Texts != len(texts) {
		t.Errorf("attack %+v, want %d correct", d.Attack, correct)
	}
	// Counterfactual flips by the argmax: he/she.
	pairs := writeFile(t, dir, "p.csv", "a,b\nhe,she\n")
	rc, err := EvaluateCounterfactual(context.Background(), CounterfactualConfig{
		Common: Common{ModelPath: model, DataPath: data}, Text: o, TermPairs: pairs, Favorable: "y", Threshold: 0.99,
	})
	if err != nil {
		t.Fatal(err)
	}
	flips, n, sum := 0, 0, 0.0
	for _, s := range texts {
		p := evtext.TermPair{A: "he", B: "she"}
		if cf, ok := p.Swap(s); ok {
			a, b := ref(s), ref(cf)
			n++
			sum += math.Abs(a[1] - b[1])
			if (argmax(a) == 1) != (argmax(b) == 1) {
				flips++
			}
		}
	}
	closeTo(t, "counterfactual_flip_rate", textMetric(t, rc, "counterfactual_flip_rate"), float64(flips)/float64(n))
	closeTo(t, "counterfactual_mean_abs_delta", textMetric(t, rc, "counterfactual_mean_abs_delta"), sum/float64(n))
	t.Logf("3 labels: selection a %v b %v, accuracy %d/%d, he/she flips %d/%d, mean |Δ| %.4f", ra, rb, correct, len(texts), flips, n, sum/float64(n))
}

// TestTextPrivacyTokenLosses: a token classifier's loss is the mean over words of
// −log P(true tag); the tagger puts logit 4 on its label, so P is e⁴/(e⁴+3) where the tagger
// agrees with the gold tag and 1/(e⁴+3) where it does not.
func TestTextPrivacyTokenLosses(t *testing.T) {
	dir := t.TempDir()
	model := nerTagger(t, dir)
	members := writeFile(t, dir, "m.csv", "text,tags\njohn smith,B-PER I-PER\nwent,B-PER\n")
	nonMembers := writeFile(t, dir, "n.csv", "text,tags\njohn went,O O\njohn paris went,B-PER B-LOC B-LOC\n")
	rep, err := EvaluateTextPrivacy(context.Background(), PrivacyConfig{
		Common: Common{ModelPath: model}, Members: members, NonMembers: nonMembers, Label: "tags", Seed: 1,
	}, textOpts(contract.TaskTokenClassification))
	if err != nil {
		t.Fatal(err)
	}
	right, wrong := -math.Log(math.Exp(4)/(math.Exp(4)+3)), -math.Log(1/(math.Exp(4)+3))
	// members: both words right (r), the one word wrong (w); non-members: (w + r)/2 and
	// (2r + w)/3. No two losses tie (a tie would rest on the last bits of two softmaxes).
	ml := []float64{right, wrong}
	nl := []float64{(wrong + right) / 2, (2*right + wrong) / 3}
	var s float64
	for _, a := range ml {
		for _, b := range nl {
			switch {
			case math.Abs(a-b) < 1e-9:
				s += 0.5
			case a < b:
				s++
			}
		}
	}
	closeTo(t, "mia_auc", textMetric(t, rep, "mia_auc"), s/4)
	var d PrivacyDetails
	if err := json.Unmarshal(rep.Details, &d); err != nil {
		t.Fatal(err)
	}
	if d.Audit == nil || !strings.Contains(d.Audit.Attack, "first token") {
		t.Errorf("audit %+v", d.Audit)
	}
}

// TestTextCompactReportsFit: many pairs and long adversarial texts still give a termination
// message within report.MaxCompactBytes, keeping the worst pairs first.
func TestTextCompactReportsFit(t *testing.T) {
	dir := t.TempDir()
	model := writeBOW(t, dir)
	var texts, pairs strings.Builder
	texts.WriteString("text,label\n")
	pairs.WriteString("a,b\n")
	long := strings.Repeat("very ", 60)
	for i := range 150 {
		fmt.Fprintf(&texts, "%s great w%d,pos\n", long, i)
		fmt.Fprintf(&pairs, "w%d,she\n", i)
	}
	data := writeFile(t, dir, "d.csv", texts.String())
	pp := writeFile(t, dir, "p.csv", pairs.String())
	rep, err := EvaluateCounterfactual(context.Background(), CounterfactualConfig{
		Common: Common{ModelPath: model, DataPath: data}, Text: textOpts(contract.TaskTextClassification), TermPairs: pp, Favorable: "pos", Threshold: 0.5,
	})
	if err != nil {
		t.Fatal(err)
	}
	textMetric(t, rep, "counterfactual_mean_abs_delta")
	c, _ := rep.Compact()
	var cr report.Report
	json.Unmarshal(c, &cr)
	var cd CounterfactualDetails
	if err := json.Unmarshal(cr.Details, &cd); err != nil || !cr.Truncated || len(cd.Pairs) == 0 || len(cd.Pairs) == 150 {
		t.Fatalf("compact: truncated %v, %d pairs, %v", cr.Truncated, len(cd.Pairs), err)
	}
	rr, err := EvaluateTextRobustness(context.Background(), TextRobustnessConfig{
		Common: Common{ModelPath: model, DataPath: data}, Text: textOpts(contract.TaskTextClassification),
		Label: "label", Favorable: "pos", Threshold: 0.5, MaxEdits: 1, TypoRate: 0.1, AttackRows: 20, Seed: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	closeTo(t, "attack_success_rate", textMetric(t, rr, "attack_success_rate"), 1)
}
