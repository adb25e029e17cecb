package runner

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/responsible-ai/rmodel-operator/internal/contract"
	"github.com/responsible-ai/rmodel-operator/internal/evaluation/text"
	"github.com/responsible-ai/rmodel-operator/internal/report"
)

// TextExplainConfig are the inputs of `rai evaluate explain` for a text classifier.
type TextExplainConfig struct {
	Common
	Text      TextOptions
	Label     string
	Favorable string
	Threshold float64
	// Samples texts are drawn uniformly (reservoir sampling, seeded) and each is explained
	// (LIME; exact Shapley values too for those of at most text.MaxExactShapleyWords words);
	// baseline_accuracy is measured on them.
	Samples int
	// LIMESamples is LIME's perturbed texts per explained text (0: LIME's 5000).
	LIMESamples int
	Seed        uint64
}

// TokenExplanation is one entry of details.features for a text model: a token (a word,
// lower-cased) and its attributions toward P(favorable), averaged over the explained texts (a
// text without the token counts 0; a token twice in a text counts the sum).
type TokenExplanation struct {
	Name string `json:"name"`
	Rank int    `json:"rank"`
	// LIMEMeanAbs is the mean over explained texts of Σ|LIME weight| of the token's
	// occurrences; LIMEMean the same signed (positive pushes toward the favorable label).
	LIMEMeanAbs float64 `json:"lime_mean_abs"`
	LIMEMean    float64 `json:"lime_mean"`
	// ShapleyMeanAbs and ShapleyMean are the same over the texts with exact Shapley values
	// (null when there are none).
	ShapleyMeanAbs Num `json:"shapley_mean_abs"`
	ShapleyMean    Num `json:"shapley_mean"`
	// Texts is how many explained texts contain the token.
	Texts int `json:"texts"`
}

// TextExplainDetails is details for a text explain report.
type TextExplainDetails struct {
	Score            string             `json:"score"`
	Features         []TokenExplanation `json:"features"`
	BaselineAccuracy float64            `json:"baseline_accuracy"`
	Rows             int                `json:"rows"`
	ExplainedTexts   int                `json:"explained_texts"`
	ShapleyTexts     int                `json:"shapley_texts"`
	LIMESamples      int                `json:"lime_samples"`
	MeanLIMER2       float64            `json:"mean_lime_r2"`
	// Tokens is how many distinct tokens were explained; Features keeps the top
	// maxExplainedTokens.
	Tokens int `json:"tokens"`
}

// maxExplainedTokens bounds details.features of a text explain report.
const maxExplainedTokens = 100

// EvaluateTextExplain explains a text classifier's P(favorable) with LIME and exact Shapley
// values over words.
func EvaluateTextExplain(ctx context.Context, cfg TextExplainConfig) (*report.Report, error) {
	return run(report.KindExplain, cfg.Common, func(rep *report.Report) error { return evaluateTextExplain(ctx, cfg, rep) })
}

func evaluateTextExplain(ctx context.Context, cfg TextExplainConfig, rep *report.Report) error {
	if err := cfg.Text.CheckTask(); err != nil {
		return err
	}
	switch {
	case cfg.Text.Task == contract.TaskTokenClassification:
		return fmt.Errorf("explain is not supported for %s models", contract.TaskTokenClassification)
	case cfg.Label == "":
		return fmt.Errorf("--%s is required", contract.FlagLabel)
	case cfg.Samples < 1:
		return fmt.Errorf("--%s %d: need at least 1 text", contract.FlagSamples, cfg.Samples)
	case cfg.LIMESamples < 0 || cfg.LIMESamples == 1:
		return fmt.Errorf("--lime-samples %d: want 0 (LIME's 5000) or at least 2", cfg.LIMESamples)
	}
	m, dataDigest, err := openTextEvaluation(cfg.Common, cfg.Text, "explain", rep)
	if err != nil {
		return err
	}
	defer m.Close()
	if cfg.Favorable == "" {
		cfg.Favorable = contract.DefaultFavorableLabel
	}
	fav, err := m.label(cfg.Favorable, "--"+contract.FlagFavorable)
	if err != nil {
		return err
	}
	rows, err := readTextRows(ctx, cfg.DataPath, cfg.Text.textColumn(), cfg.Label, nil)
	if err != nil {
		return err
	}
	truth, err := checkRowLabels(cfg.DataPath, cfg.Label, m, rows)
	if err != nil {
		return err
	}
	rep.Dataset = &report.Dataset{SHA256: dataDigest, Rows: int64(len(rows))}
	lime := cfg.LIMESamples
	if lime == 0 {
		lime = text.DefaultLIMESamples
	}
	dec := newDecision(m, fav, cfg.Threshold)
	score := fmt.Sprintf("P(%s)", m.labels[fav])
	p := rep.Parameters
	p["label"], p["favorable"], p["decision"], p["score"] = cfg.Label, cfg.Favorable, dec.describe(m.labels), score
	p["samples"], p["lime_samples"] = strconv.Itoa(cfg.Samples), strconv.Itoa(lime)
	p["seed"] = strconv.FormatUint(cfg.Seed, 10)
	if dec.binary {
		p["threshold"] = strconv.FormatFloat(cfg.Threshold, 'g', -1, 64)
	}

	// Reservoir sample (Algorithm R), as the tabular explain does.
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xe4a1))
	var sample []int
	for i := range rows {
		if len(sample) < cfg.Samples {
			sample = append(sample, i)
		} else if k := rng.IntN(i + 1); k < cfg.Samples {
			sample[k] = i
		}
	}
	texts := make([]string, len(sample))
	for i, r := range sample {
		texts[i] = rows[r].Text
	}
	probs, err := classifyAll(ctx, m, texts)
	if err != nil {
		return err
	}
	correct := 0
	for i, r := range sample {
		if dec.predicted(probs[i]) == truth[r] {
			correct++
		}
	}
	d := TextExplainDetails{Score: score, Rows: len(sample), LIMESamples: lime, BaselineAccuracy: float64(correct) / float64(len(sample))}
	rep.SetMetric("baseline_accuracy", d.BaselineAccuracy, "")

	sc := probScorer{m, fav}
	type sums struct{ limeAbs, lime, shapAbs, shap float64 }
	tokens := map[string]*sums{}
	inTexts := map[string]int{}
	get := func(w string) *sums {
		k := strings.ToLower(w)
		if tokens[k] == nil {
			tokens[k] = &sums{}
		}
		return tokens[k]
	}
	explained := len(texts)
	var r2 float64
	for i := 0; i < explained; i++ {
		if text.SplitWords(texts[i]).Len() == 0 {
			continue
		}
		e, err := text.LIME(ctx, sc, texts[i], text.LIMEOptions{Samples: lime, Seed: cfg.Seed + uint64(i), BatchSize: 64})
		if err != nil {
			return fmt.Errorf("explain text %d (row %d): %w", i+1, rows[sample[i]].Row, err)
		}
		d.ExplainedTexts++
		r2 += e.R2
		seen := map[string]bool{}
		for j, w := range e.Words {
			s := get(w)
			s.limeAbs += math.Abs(e.Weights[j])
			s.lime += e.Weights[j]
			if k := strings.ToLower(w); !seen[k] {
				seen[k] = true
				inTexts[k]++
			}
		}
		if len(e.Words) > text.MaxExactShapleyWords {
			continue
		}
		sv, err := text.ExactShapley(ctx, sc, texts[i], text.ShapleyOptions{BatchSize: 64})
		if err != nil {
			return fmt.Errorf("explain text %d (row %d): %w", i+1, rows[sample[i]].Row, err)
		}
		d.ShapleyTexts++
		for j, w := range sv.Words {
			s := get(w)
			s.shapAbs += math.Abs(sv.Values[j])
			s.shap += sv.Values[j]
		}
	}
	if d.ExplainedTexts > 0 {
		d.MeanLIMER2 = r2 / float64(d.ExplainedTexts)
	}
	n, ns := float64(d.ExplainedTexts), float64(d.ShapleyTexts)
	for name, s := range tokens {
		t := TokenExplanation{Name: name, LIMEMeanAbs: s.limeAbs / n, LIMEMean: s.lime / n, Texts: inTexts[name],
			ShapleyMeanAbs: Num(math.NaN()), ShapleyMean: Num(math.NaN())}
		if ns > 0 {
			t.ShapleyMeanAbs, t.ShapleyMean = Num(s.shapAbs/ns), Num(s.shap/ns)
		}
		d.Features = append(d.Features, t)
	}
	d.Tokens = len(d.Features)
	sortStableBy(d.Features, func(a, b TokenExplanation) bool {
		if a.LIMEMeanAbs != b.LIMEMeanAbs {
			return a.LIMEMeanAbs > b.LIMEMeanAbs
		}
		sa, sb := float64(a.ShapleyMeanAbs), float64(b.ShapleyMeanAbs)
		if sa != sb && !math.IsNaN(sa) && !math.IsNaN(sb) {
			return sa > sb
		}
		return a.Name < b.Name
	})
	for i := range d.Features {
		d.Features[i].Rank = i + 1
	}
	d.Features = d.Features[:min(len(d.Features), maxExplainedTokens)]
	rep.SetMetric("explained_texts", n, "")
	rep.SetMetric("mean_lime_r2", d.MeanLIMER2, "no sampled text has a word to explain")
	if d.ExplainedTexts == 0 {
		rep.SetUndefined("mean_lime_r2", "no sampled text has a word to explain")
	}
	compact := d
	compact.Features = d.Features[:min(len(d.Features), 10)]
	return SetDetails(rep, d, compact)
}
