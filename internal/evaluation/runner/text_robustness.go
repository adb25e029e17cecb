package runner

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/responsible-ai/rmodel-operator/internal/contract"
	"github.com/responsible-ai/rmodel-operator/internal/evaluation/text"
	"github.com/responsible-ai/rmodel-operator/internal/report"
)

// TextRobustnessConfig are the inputs of `rai evaluate robustness` for a text classifier.
type TextRobustnessConfig struct {
	Common
	Text      TextOptions
	Label     string
	Favorable string
	Threshold float64
	// MaxEdits is the attack's budget of edited words per text.
	MaxEdits int
	// TypoRate is the probability that a word of two or more letters gets one random edit.
	TypoRate float64
	// AttackRows is how many texts, from the start of the data, are attacked.
	AttackRows int
	Seed       uint64
}

// TextAttackDetails are details.attack.
type TextAttackDetails struct {
	Texts       int                    `json:"texts"`
	Correct     int                    `json:"correct"`
	Succeeded   int                    `json:"succeeded"`
	SuccessRate Num                    `json:"success_rate"`
	MeanEdits   Num                    `json:"mean_edits"`
	MaxEdits    int                    `json:"max_edits"`
	Examples    []text.AdversarialText `json:"examples,omitempty"`
}

// TextTypoDetails are details.typos.
type TextTypoDetails struct {
	Texts         int     `json:"texts"`
	Rate          float64 `json:"rate"`
	CleanAccuracy float64 `json:"clean_accuracy"`
	TypoAccuracy  float64 `json:"typo_accuracy"`
}

// TextRobustnessDetails is details for a text robustness report.
type TextRobustnessDetails struct {
	Decision string            `json:"decision"`
	Attack   TextAttackDetails `json:"attack"`
	Typos    TextTypoDetails   `json:"typos"`
}

// maxAdversarialExamples bounds details.attack.examples.
const maxAdversarialExamples = 10

// EvaluateTextRobustness runs the DeepWordBug-style attack and accuracy under typos.
func EvaluateTextRobustness(ctx context.Context, cfg TextRobustnessConfig) (*report.Report, error) {
	return run(report.KindRobustness, cfg.Common, func(rep *report.Report) error { return evaluateTextRobustness(ctx, cfg, rep) })
}

// marginScorer scores a text by P(class) − the largest other probability: ≥ 0 exactly when
// class is the argmax (a tie goes to the first of the tied labels), so a multi-label classifier's argmax
// decision becomes the library's binary one (threshold 0, label true).
type marginScorer struct {
	m     *loadedText
	class int
}

func (s marginScorer) Score(ctx context.Context, texts []string) ([]float64, error) {
	p, err := classifyAll(ctx, s.m, texts)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(texts))
	for i, v := range p {
		other := math.Inf(-1)
		for j, x := range v {
			if j != s.class {
				other = math.Max(other, x)
			}
		}
		out[i] = v[s.class] - other
		if out[i] == 0 && argmax(v) != s.class {
			out[i] = -1e-12 // a tie goes to the first label, as argmax decides
		}
	}
	return out, nil
}

// probScorer scores a text by P(label).
type probScorer struct {
	m     *loadedText
	label int
}

func (s probScorer) Score(ctx context.Context, texts []string) ([]float64, error) {
	p, err := classifyAll(ctx, s.m, texts)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(texts))
	for i, v := range p {
		out[i] = v[s.label]
	}
	return out, nil
}

func evaluateTextRobustness(ctx context.Context, cfg TextRobustnessConfig, rep *report.Report) error {
	if err := cfg.Text.CheckTask(); err != nil {
		return err
	}
	switch {
	case cfg.Text.Task == contract.TaskTokenClassification:
		return fmt.Errorf("robustness is not supported for %s models (the typo attack is defined for a text's one label)", contract.TaskTokenClassification)
	case cfg.Label == "":
		return fmt.Errorf("--%s is required", contract.FlagLabel)
	case cfg.MaxEdits < 0:
		return fmt.Errorf("--%s %d: want 0 or more", contract.FlagMaxEdits, cfg.MaxEdits)
	case !(cfg.TypoRate >= 0 && cfg.TypoRate <= 1):
		return fmt.Errorf("--%s %v: want a probability in [0, 1]", contract.FlagTypoRate, cfg.TypoRate)
	case cfg.AttackRows < 0:
		return fmt.Errorf("--attack-rows %d: want 0 or more", cfg.AttackRows)
	}
	m, dataDigest, err := openTextEvaluation(cfg.Common, cfg.Text, "robustness", rep)
	if err != nil {
		return err
	}
	defer m.Close()
	if cfg.Favorable == "" {
		cfg.Favorable = contract.DefaultFavorableLabel
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
	binary := len(m.labels) == 2
	fav := -1
	if binary {
		if fav, err = m.label(cfg.Favorable, "--"+contract.FlagFavorable); err != nil {
			return err
		}
	}
	p := rep.Parameters
	p["label"], p["max_edits"], p["typo_rate"] = cfg.Label, strconv.Itoa(cfg.MaxEdits), strconv.FormatFloat(cfg.TypoRate, 'g', -1, 64)
	p["attack_rows"], p["seed"] = strconv.Itoa(cfg.AttackRows), strconv.FormatUint(cfg.Seed, 10)
	p["attack"] = "DeepWordBug-style greedy character edits (Gao et al. 2018), black box"
	d := TextRobustnessDetails{Decision: "argmax"}
	if binary {
		p["favorable"], p["threshold"] = cfg.Favorable, strconv.FormatFloat(cfg.Threshold, 'g', -1, 64)
		d.Decision = newDecision(m, fav, cfg.Threshold).describe(m.labels)
	}

	// Each pass runs once for a two-label model (score P(favorable), the threshold), or once
	// per true label of a multi-label one (the margin scorer, threshold 0).
	type pass struct {
		scorer    text.Scorer
		threshold float64
		texts     []text.LabeledText
		attacked  int
		seed      uint64
	}
	var passes []*pass
	attackN := min(cfg.AttackRows, len(rows))
	if binary {
		ps := &pass{scorer: probScorer{m, fav}, threshold: cfg.Threshold, attacked: attackN, seed: cfg.Seed}
		for i, r := range rows {
			ps.texts = append(ps.texts, text.LabeledText{Text: r.Text, Label: truth[i] == fav})
		}
		passes = []*pass{ps}
	} else {
		byClass := map[int]*pass{}
		// Rows attacked first within each class keep their file order.
		for _, first := range []bool{true, false} {
			for i, r := range rows {
				if (i < attackN) != first {
					continue
				}
				c := truth[i]
				if byClass[c] == nil {
					byClass[c] = &pass{scorer: marginScorer{m, c}, seed: cfg.Seed + uint64(c)}
				}
				byClass[c].texts = append(byClass[c].texts, text.LabeledText{Text: r.Text, Label: true})
				if first {
					byClass[c].attacked++
				}
			}
		}
		for c := range m.labels {
			if byClass[c] != nil {
				passes = append(passes, byClass[c])
			}
		}
	}
	a := &d.Attack
	a.Texts, a.MaxEdits = attackN, cfg.MaxEdits
	var edits float64
	var clean, typo float64
	for _, ps := range passes {
		opts := text.AttackOptions{Threshold: ps.threshold, MaxEdits: cfg.MaxEdits, Seed: ps.seed, BatchSize: textBatch}
		if ps.attacked > 0 {
			ar, err := text.WordBugAttack(ctx, ps.scorer, ps.texts[:ps.attacked], opts)
			if err != nil {
				return err
			}
			a.Correct += ar.Correct
			a.Succeeded += ar.Succeeded
			edits += ar.MeanEdits * float64(ar.Succeeded)
			for _, e := range ar.Examples {
				if len(a.Examples) < maxAdversarialExamples {
					a.Examples = append(a.Examples, e)
				}
			}
		}
		tr, err := text.TypoAccuracy(ctx, ps.scorer, ps.texts, cfg.TypoRate, opts)
		if err != nil {
			return err
		}
		n := float64(tr.Texts)
		clean += math.Round(tr.CleanAccuracy * n)
		typo += math.Round(tr.TypoAccuracy * n)
	}
	a.SuccessRate, a.MeanEdits = Num(math.NaN()), Num(math.NaN())
	if a.Correct > 0 {
		a.SuccessRate = Num(float64(a.Succeeded) / float64(a.Correct))
	}
	if a.Succeeded > 0 {
		a.MeanEdits = Num(edits / float64(a.Succeeded))
	}
	n := float64(len(rows))
	d.Typos = TextTypoDetails{Texts: len(rows), Rate: cfg.TypoRate, CleanAccuracy: clean / n, TypoAccuracy: typo / n}
	switch {
	case attackN == 0:
		rep.SetUndefined("attack_success_rate", "no text was attacked (--attack-rows 0)")
	case a.Correct == 0:
		rep.SetUndefined("attack_success_rate", "the model classifies none of the attacked texts correctly: there is nothing to attack")
	default:
		rep.SetMetric("attack_success_rate", float64(a.SuccessRate), "")
	}
	if a.Succeeded > 0 {
		rep.SetMetric("attack_mean_edits", float64(a.MeanEdits), "")
	} else {
		rep.SetUndefined("attack_mean_edits", "no attack succeeded")
	}
	rep.SetMetric("clean_accuracy", d.Typos.CleanAccuracy, "")
	rep.SetMetric("typo_accuracy", d.Typos.TypoAccuracy, "")
	if err := SetDetails(rep, d, nil); err != nil {
		return err
	}
	FitCompactDetails(rep, func(n int) any {
		c := d
		c.Attack.Examples = a.Examples[:min(n, len(a.Examples))]
		return c
	}, len(a.Examples))
	return nil
}
