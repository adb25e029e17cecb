package runner

import (
	"context"
	"fmt"
	"math"

	"github.com/responsible-ai/rmodel-operator/internal/contract"
	"github.com/responsible-ai/rmodel-operator/internal/evaluation/privacy"
	"github.com/responsible-ai/rmodel-operator/internal/report"
)

// EvaluateTextPrivacy is `rai evaluate privacy` for a text model: the same ε accounting from
// the flags or the model's rai.dp.* metadata, and the same membership audit, on the
// cross-entropy of each member and non-member text's true label (token-classification: the
// mean over its words, each read at its first token).
func EvaluateTextPrivacy(ctx context.Context, cfg PrivacyConfig, o TextOptions) (*report.Report, error) {
	return run(report.KindPrivacy, cfg.Common, func(rep *report.Report) error { return evaluateTextPrivacy(ctx, cfg, o, rep) })
}

func evaluateTextPrivacy(ctx context.Context, cfg PrivacyConfig, o TextOptions, rep *report.Report) error {
	if err := o.CheckTask(); err != nil {
		return err
	}
	m, err := openTextModel(cfg.Common, o)
	if err != nil {
		return err
	}
	defer m.Close()
	m.record(rep, o)
	d, p, source, err := accountDP(cfg, m.Metadata(), rep)
	if err != nil {
		return err
	}
	if cfg.Members != "" || cfg.NonMembers != "" {
		if cfg.Members == "" || cfg.NonMembers == "" || cfg.Label == "" {
			return fmt.Errorf("a membership audit needs --members, --non-members and --label")
		}
		ml, err := textLosses(ctx, m, cfg.Members, o, cfg.Label)
		if err != nil {
			return err
		}
		nl, err := textLosses(ctx, m, cfg.NonMembers, o, cfg.Label)
		if err != nil {
			return err
		}
		a, err := privacy.MembershipAudit(ml, nl, auditDelta(cfg, p, source), 0.95, cfg.Seed)
		if err != nil {
			return err
		}
		attack := "loss threshold (cross-entropy of the true label)"
		if o.Task == contract.TaskTokenClassification {
			attack = "loss threshold (mean cross-entropy of the true tags, at each word's first token)"
		}
		d.Audit = recordAudit(rep, cfg, a, attack)
	}
	compact := d
	compact.RDP = nil
	return SetDetails(rep, d, compact)
}

// probFloor clamps probabilities as privacy.CrossEntropy does.
const probFloor = 1e-7

func clampedLoss(p float64) float64 {
	return -math.Log(math.Min(math.Max(p, probFloor), 1-probFloor))
}

// textLosses is each row's cross-entropy of its true label (text-classification) or the mean
// over its words of the cross-entropy of the true tag (token-classification; a word cut off
// by the maximum length is left out, a sentence with none of its words scored is an error).
func textLosses(ctx context.Context, m *loadedText, path string, o TextOptions, label string) ([]float64, error) {
	rows, err := readTextRows(ctx, path, o.textColumn(), label, nil)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(rows))
	if o.Task == contract.TaskTokenClassification {
		sentences := make([][]string, len(rows))
		gold := make([][]string, len(rows))
		for i, r := range rows {
			if sentences[i], gold[i], err = wordsAndTags(path, o.textColumn(), label, r, m.labels); err != nil {
				return nil, err
			}
		}
		probs, _, err := tagProbs(ctx, m, sentences)
		if err != nil {
			return nil, err
		}
		index := map[string]int{}
		for i, l := range m.labels {
			index[l] = i
		}
		for i := range rows {
			var sum float64
			n := 0
			for j, t := range gold[i] {
				if probs[i][j] == nil {
					continue
				}
				sum += clampedLoss(probs[i][j][index[t]])
				n++
			}
			if n == 0 {
				return nil, fmt.Errorf("%s: row %d: no word of the sentence reached the model (maximum length)", path, rows[i].Row)
			}
			out[i] = sum / float64(n)
		}
		return out, nil
	}
	truth, err := checkRowLabels(path, label, m, rows)
	if err != nil {
		return nil, err
	}
	texts := make([]string, len(rows))
	for i, r := range rows {
		texts[i] = r.Text
	}
	probs, err := classifyAll(ctx, m, texts)
	if err != nil {
		return nil, err
	}
	for i := range rows {
		out[i] = clampedLoss(probs[i][truth[i]])
	}
	return out, nil
}
