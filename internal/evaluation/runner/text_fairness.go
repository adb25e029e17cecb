package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/responsible-ai/rmodel-operator/internal/contract"
	"github.com/responsible-ai/rmodel-operator/internal/evaluation/fairness"
	"github.com/responsible-ai/rmodel-operator/internal/evaluation/text"
	"github.com/responsible-ai/rmodel-operator/internal/report"
)

// TextFairnessConfig are the inputs of `rai evaluate fairness` for a text model.
type TextFairnessConfig struct {
	Common
	Text       TextOptions
	Label      string
	Sensitive  []string
	Privileged string // COL=VALUE[,COL=VALUE...]; text-classification only
	// Favorable is the favorable label's name (text-classification).
	Favorable string
	// Threshold decides P(favorable) for a model with two labels.
	Threshold float64
	Bootstrap int
	Seed      uint64
}

// BiasAUCGroup is one entry of details.bias_aucs: Borkan et al. 2019's AUCs of one group.
type BiasAUCGroup struct {
	Group         string `json:"group"`
	Count         int    `json:"count"`
	Positives     int    `json:"positives"`
	Negatives     int    `json:"negatives"`
	SubgroupAUC   Num    `json:"subgroup_auc"`
	BPSNAUC       Num    `json:"bpsn_auc"`
	BNSPAUC       Num    `json:"bnsp_auc"`
	BackgroundPos int    `json:"background_positives"`
	BackgroundNeg int    `json:"background_negatives"`
}

// BiasAUCDetails are details.bias_aucs and the worst groups.
type BiasAUCDetails struct {
	Score  string         `json:"score"`
	Groups []BiasAUCGroup `json:"groups"`
	// Worst names, per metric, the group with the lowest defined AUC.
	Worst map[string]string `json:"worst"`
}

// EvaluateTextFairness runs `rai evaluate fairness` on a text model.
func EvaluateTextFairness(ctx context.Context, cfg TextFairnessConfig) (*report.Report, error) {
	return run(report.KindFairness, cfg.Common, func(rep *report.Report) error { return evaluateTextFairness(ctx, cfg, rep) })
}

func evaluateTextFairness(ctx context.Context, cfg TextFairnessConfig, rep *report.Report) error {
	if err := cfg.Text.CheckTask(); err != nil {
		return err
	}
	if cfg.Label == "" || len(cfg.Sensitive) == 0 {
		return fmt.Errorf("--%s and --%s are required", contract.FlagLabel, contract.FlagSensitive)
	}
	if len(cfg.Sensitive) > fairness.MaxSensitive {
		return fmt.Errorf("--%s lists %d columns; at most %d", contract.FlagSensitive, len(cfg.Sensitive), fairness.MaxSensitive)
	}
	m, dataDigest, err := openTextEvaluation(cfg.Common, cfg.Text, "fairness", rep)
	if err != nil {
		return err
	}
	defer m.Close()
	p := rep.Parameters
	p["label"], p["sensitive"] = cfg.Label, strings.Join(cfg.Sensitive, ",")
	rows, err := readTextRows(ctx, cfg.DataPath, cfg.Text.textColumn(), cfg.Label, cfg.Sensitive)
	if err != nil {
		return err
	}
	rep.Dataset = &report.Dataset{SHA256: dataDigest, Rows: int64(len(rows))}
	if cfg.Text.Task == contract.TaskTokenClassification {
		if cfg.Privileged != "" {
			return fmt.Errorf("--%s applies to text-classification fairness only", contract.FlagPrivileged)
		}
		return entityFairness(ctx, cfg, m, rows, rep)
	}
	return textGroupFairness(ctx, cfg, m, rows, rep)
}

// checkRowLabels maps each row's label name to its index, refusing a name the model lacks.
func checkRowLabels(path, column string, m *loadedText, rows []textRow) ([]int, error) {
	out := make([]int, len(rows))
	for i, r := range rows {
		j := slices.Index(m.labels, r.Label)
		if j < 0 {
			return nil, fmt.Errorf("%s: row %d, column %q: label %q is not one of the model's labels (%s)", path, r.Row, column, r.Label, strings.Join(m.labels, ", "))
		}
		out[i] = j
	}
	return out, nil
}

func textGroupFairness(ctx context.Context, cfg TextFairnessConfig, m *loadedText, rows []textRow, rep *report.Report) error {
	if cfg.Favorable == "" {
		cfg.Favorable = contract.DefaultFavorableLabel
	}
	fav, err := m.label(cfg.Favorable, "--"+contract.FlagFavorable)
	if err != nil {
		return err
	}
	priv, err := fairness.ParsePrivileged(cfg.Privileged, cfg.Sensitive)
	if err != nil {
		return err
	}
	truth, err := checkRowLabels(cfg.DataPath, cfg.Label, m, rows)
	if err != nil {
		return err
	}
	dec := newDecision(m, fav, cfg.Threshold)
	p := rep.Parameters
	p["favorable"], p["privileged"] = cfg.Favorable, cfg.Privileged
	p["bootstrap"], p["seed"] = strconv.Itoa(cfg.Bootstrap), strconv.FormatUint(cfg.Seed, 10)
	p["decision"] = dec.describe(m.labels)
	if dec.binary {
		p["threshold"] = strconv.FormatFloat(cfg.Threshold, 'g', -1, 64)
	}
	texts := make([]string, len(rows))
	for i, r := range rows {
		texts[i] = r.Text
	}
	probs, err := classifyAll(ctx, m, texts)
	if err != nil {
		return err
	}
	table := fairness.Table{Columns: cfg.Sensitive}
	for i, r := range rows {
		g := fairness.Group{Values: r.Group}
		label, pred := truth[i] == fav, dec.favorable(probs[i])
		switch {
		case label && pred:
			g.TP = 1
		case label:
			g.FN = 1
		case pred:
			g.FP = 1
		default:
			g.TN = 1
		}
		table.Groups = append(table.Groups, g)
	}
	table.Normalize()
	if priv != nil {
		if err := checkPrivileged(&table, priv, cfg.Privileged); err != nil {
			return err
		}
	}
	var bias *BiasAUCDetails
	if dec.binary {
		examples := make([]text.ScoredExample, len(rows))
		for i, r := range rows {
			examples[i] = text.ScoredExample{Score: probs[i][fav], Label: truth[i] == fav, Identities: []string{groupName(cfg.Sensitive, r.Group)}}
		}
		bias, err = biasAUCs(examples, rep, fmt.Sprintf("P(%s)", m.labels[fav]))
		if err != nil {
			return err
		}
	}
	if err := FinishFairness(rep, table, priv, cfg.Bootstrap, cfg.Seed); err != nil {
		return err
	}
	if bias == nil {
		return nil
	}
	// details.bias_aucs beside the group counts; the compact form names the worst groups.
	full, err := withKey(rep.Details, "bias_aucs", bias)
	if err != nil {
		return err
	}
	rep.Details = full
	if rep.CompactDetails != nil {
		if c, err := withKey(rep.CompactDetails, "bias_auc_worst", bias.Worst); err == nil {
			trial := *rep
			trial.Details, trial.Truncated = c, true
			if b, err := json.Marshal(&trial); err == nil && len(b) <= report.MaxCompactBytes {
				rep.CompactDetails = c
			}
		}
	}
	return nil
}

// withKey adds key: v to the JSON object obj.
func withKey(obj json.RawMessage, key string, v any) (json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(obj, &m); err != nil {
		return nil, fmt.Errorf("report details: %w", err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	m[key] = b
	return json.Marshal(m)
}

// biasAUCs sets subgroup_auc_min, bpsn_auc_min and bnsp_auc_min (the minimum over the groups
// where the AUC is defined) and returns the per-group details.
func biasAUCs(examples []text.ScoredExample, rep *report.Report, score string) (*BiasAUCDetails, error) {
	aucs, err := text.BiasAUCsByIdentity(examples)
	if err != nil {
		return nil, err
	}
	d := &BiasAUCDetails{Score: score, Worst: map[string]string{}}
	num := func(a text.AUCValue) Num {
		if !a.Defined {
			return Num(math.NaN())
		}
		return Num(a.Value)
	}
	type metric struct {
		name  string
		get   func(text.BiasAUCs) text.AUCValue
		worst string
		min   float64
	}
	ms := []*metric{
		{name: "subgroup_auc", get: func(b text.BiasAUCs) text.AUCValue { return b.Subgroup }, min: math.NaN()},
		{name: "bpsn_auc", get: func(b text.BiasAUCs) text.AUCValue { return b.BPSN }, min: math.NaN()},
		{name: "bnsp_auc", get: func(b text.BiasAUCs) text.AUCValue { return b.BNSP }, min: math.NaN()},
	}
	for _, a := range aucs {
		d.Groups = append(d.Groups, BiasAUCGroup{
			Group: a.Identity, Count: a.Size, Positives: a.Subgroup.Positives, Negatives: a.Subgroup.Negatives,
			SubgroupAUC: num(a.Subgroup), BPSNAUC: num(a.BPSN), BNSPAUC: num(a.BNSP),
			BackgroundPos: a.BPSN.Positives, BackgroundNeg: a.BNSP.Negatives,
		})
		for _, m := range ms {
			if v := m.get(a); v.Defined && (math.IsNaN(m.min) || v.Value < m.min) {
				m.min, m.worst = v.Value, a.Identity
			}
		}
	}
	sort.SliceStable(d.Groups, func(i, j int) bool { return d.Groups[i].Group < d.Groups[j].Group })
	for _, m := range ms {
		rep.SetMetric(m.name+"_min", m.min, fmt.Sprintf("no group has both the examples %s needs (positive and negative labels on its sides)", m.name))
		if m.worst != "" {
			d.Worst[m.name] = m.worst
		}
	}
	return d, nil
}

// EntityGroup is one entry of details.groups of a token-classification fairness report.
type EntityGroup struct {
	Name          string            `json:"name"`
	Values        map[string]string `json:"values"`
	Sentences     int               `json:"sentences"`
	Precision     float64           `json:"precision"`
	Recall        float64           `json:"recall"`
	F1            float64           `json:"f1"`
	Support       int               `json:"support"`
	Predicted     int               `json:"predicted"`
	TruePositives int               `json:"true_positives"`
}

// EntityFairnessDetails is details for a token-classification fairness report.
type EntityFairnessDetails struct {
	SensitiveColumns []string      `json:"sensitive_columns"`
	Scheme           string        `json:"scheme"`
	Groups           []EntityGroup `json:"groups"`
	// BestGroup and WorstGroup have the highest and lowest F1 of the groups with true
	// entities; Gap is their difference.
	BestGroup  string                 `json:"best_group,omitempty"`
	WorstGroup string                 `json:"worst_group,omitempty"`
	Gap        Num                    `json:"gap"`
	Overall    text.Scores            `json:"overall"`
	ByType     map[string]text.Scores `json:"by_type"`
	// TruncatedSentences had words beyond the maximum length; those words are predicted O.
	TruncatedSentences int `json:"truncated_sentences"`
}

func entityFairness(ctx context.Context, cfg TextFairnessConfig, m *loadedText, rows []textRow, rep *report.Report) error {
	col := cfg.Text.textColumn()
	sentences := make([][]string, len(rows))
	gold := make([][]string, len(rows))
	for i, r := range rows {
		w, t, err := wordsAndTags(cfg.DataPath, col, cfg.Label, r, m.labels)
		if err != nil {
			return err
		}
		sentences[i], gold[i] = w, t
	}
	pred, truncated, err := tagAll(ctx, m, sentences)
	if err != nil {
		return err
	}
	tagged := make([]text.TaggedSentence, len(rows))
	for i, r := range rows {
		tagged[i] = text.TaggedSentence{Group: groupName(cfg.Sensitive, r.Group), True: gold[i], Pred: pred[i]}
	}
	overall, err := text.EntityF1(gold, pred)
	if err != nil {
		return err
	}
	byGroup, err := text.EntityF1ByGroup(tagged)
	if err != nil {
		return err
	}
	rep.Parameters["scheme"] = "IOB2, strict (seqeval mode=strict)"
	d := EntityFairnessDetails{SensitiveColumns: cfg.Sensitive, Scheme: "IOB2 strict", Overall: overall.Micro, ByType: overall.ByType, TruncatedSentences: truncated}
	count := map[string]int{}
	values := map[string][]string{}
	for i, t := range tagged {
		count[t.Group]++
		values[t.Group] = rows[i].Group
	}
	for name, g := range byGroup.Groups {
		eg := EntityGroup{Name: name, Values: map[string]string{}, Sentences: count[name],
			Precision: g.Micro.Precision, Recall: g.Micro.Recall, F1: g.Micro.F1,
			Support: g.Micro.Support, Predicted: g.Micro.Predicted, TruePositives: g.Micro.TruePositives}
		for j, c := range cfg.Sensitive {
			eg.Values[c] = values[name][j]
		}
		d.Groups = append(d.Groups, eg)
	}
	sort.Slice(d.Groups, func(i, j int) bool { return d.Groups[i].Name < d.Groups[j].Name })
	rep.SetMetric("entity_f1", overall.Micro.F1, "")
	rep.SetMetric("entity_precision", overall.Micro.Precision, "")
	rep.SetMetric("entity_recall", overall.Micro.Recall, "")
	if overall.Micro.Support == 0 {
		rep.SetUndefined("entity_f1", "the data has no true entities")
	}
	if byGroup.Gap.Best == "" {
		why := "no group has true entities"
		rep.SetUndefined("entity_f1_min", why)
		rep.SetUndefined("entity_f1_gap", why)
		d.Gap = Num(math.NaN())
	} else {
		d.BestGroup, d.WorstGroup, d.Gap = byGroup.Gap.Best, byGroup.Gap.Worst, Num(byGroup.Gap.Gap)
		rep.SetMetric("entity_f1_min", byGroup.Gap.WorstF1, "")
		rep.SetMetric("entity_f1_gap", byGroup.Gap.Gap, "")
	}
	// The compact form keeps the groups with the lowest F1 first.
	byF1 := append([]EntityGroup(nil), d.Groups...)
	sort.SliceStable(byF1, func(i, j int) bool { return byF1[i].F1 < byF1[j].F1 })
	if err := SetDetails(rep, d, nil); err != nil {
		return err
	}
	FitCompactDetails(rep, func(n int) any {
		c := d
		c.ByType = nil
		c.Groups = byF1[:min(n, len(byF1))]
		return c
	}, 12)
	return nil
}

// wordsAndTags splits a token-classification row: words separated by single spaces, one
// IOB2 tag per word, each tag one of the model's labels.
func wordsAndTags(path, textCol, labelCol string, r textRow, labels []string) ([]string, []string, error) {
	words := strings.Split(r.Text, " ")
	for _, w := range words {
		if w == "" {
			return nil, nil, fmt.Errorf("%s: row %d, column %q: an empty word (words must be separated by single spaces, with none at either end)", path, r.Row, textCol)
		}
	}
	tags := strings.Fields(r.Label)
	if len(tags) != len(words) {
		return nil, nil, fmt.Errorf("%s: row %d: column %q has %d tags but column %q has %d words (one IOB2 tag per word)", path, r.Row, labelCol, len(tags), textCol, len(words))
	}
	for j, t := range tags {
		if _, err := text.Entities([]string{t}); err != nil {
			if inner := errors.Unwrap(err); inner != nil {
				err = inner // text.Entities says "tag 0: …"
			}
			return nil, nil, fmt.Errorf("%s: row %d, column %q, tag %d: %w", path, r.Row, labelCol, j+1, err)
		}
		if !slices.Contains(labels, t) {
			return nil, nil, fmt.Errorf("%s: row %d, column %q, tag %d: %q is not one of the model's labels (%s)", path, r.Row, labelCol, j+1, t, strings.Join(labels, ", "))
		}
	}
	return words, tags, nil
}

// tagAll tags sentences in batches: the predicted tag of a word is the label with the
// highest probability at its first token; a word cut off by the maximum length is O.
func tagAll(ctx context.Context, m *loadedText, sentences [][]string) (tags [][]string, truncated int, err error) {
	probs, truncated, err := tagProbs(ctx, m, sentences)
	if err != nil {
		return nil, 0, err
	}
	tags = make([][]string, len(sentences))
	for i, s := range sentences {
		tags[i] = make([]string, len(s))
		for j := range s {
			tags[i][j] = "O"
			if probs[i][j] != nil {
				tags[i][j] = m.labels[argmax(probs[i][j])]
			}
		}
	}
	return tags, truncated, nil
}

// tagProbs runs TagWords in batches and checks the answer's shape.
func tagProbs(ctx context.Context, m *loadedText, sentences [][]string) ([][][]float64, int, error) {
	out := make([][][]float64, 0, len(sentences))
	truncated := 0
	for lo := 0; lo < len(sentences); lo += textBatch {
		hi := min(len(sentences), lo+textBatch)
		p, err := m.TagWords(ctx, sentences[lo:hi])
		if err != nil {
			return nil, 0, fmt.Errorf("tag sentences %d to %d: %w", lo+1, hi, err)
		}
		if len(p) != hi-lo {
			return nil, 0, fmt.Errorf("tag sentences %d to %d: the model answered %d results", lo+1, hi, len(p))
		}
		for i, s := range p {
			if len(s) != len(sentences[lo+i]) {
				return nil, 0, fmt.Errorf("tag sentence %d: %d predictions for %d words", lo+i+1, len(s), len(sentences[lo+i]))
			}
			if slices.ContainsFunc(s, func(v []float64) bool { return v == nil }) {
				truncated++
			}
			for _, v := range s {
				if v != nil && len(v) != len(m.labels) {
					return nil, 0, fmt.Errorf("tag sentence %d: %d probabilities for %d labels", lo+i+1, len(v), len(m.labels))
				}
			}
		}
		out = append(out, p...)
	}
	return out, truncated, nil
}
