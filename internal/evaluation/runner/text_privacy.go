package runner

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/responsible-ai/rmodel-operator/internal/artifact"
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
	meta := map[string]string{}
	for k, v := range m.Metadata() {
		meta[k] = v
	}
	d := PrivacyDetails{Source: "none"}
	p, source, err := dpParams(cfg, meta)
	if err != nil {
		return err
	}
	d.Source = source
	if source == "none" {
		rep.SetUndefined("epsilon", NoDPReason)
		rep.SetUndefined("order", NoDPReason)
		if cfg.DeltaSet {
			rep.SetMetric("delta", cfg.Delta, "")
		}
	} else {
		if err := p.Validate(); err != nil {
			return fmt.Errorf("DP-SGD parameters from %s: %w", source, err)
		}
		orders := privacy.DefaultOrders()
		rdp := privacy.RDP(p.SampleRate, p.NoiseMultiplier, p.Steps, orders)
		eps, order := privacy.EpsilonFromRDP(orders, rdp, p.Delta)
		d.RDP = &struct {
			Orders []float64 `json:"orders"`
			RDP    []Num     `json:"rdp"`
		}{Orders: orders}
		for _, v := range rdp {
			d.RDP.RDP = append(d.RDP.RDP, Num(v))
		}
		reason := fmt.Sprintf("noise multiplier %v: no differential privacy (epsilon is infinite)", p.NoiseMultiplier)
		rep.SetMetric("epsilon", eps, reason)
		rep.SetMetric("order", order, reason)
		rep.SetMetric("delta", p.Delta, "")
		rep.SetMetric("noise_multiplier", p.NoiseMultiplier, "")
		rep.SetMetric("sample_rate", p.SampleRate, "")
		rep.SetMetric("steps", float64(p.Steps), "")
		rep.Parameters["accountant"] = "rdp (Opacus default orders, Balle et al. 2020 conversion)"
		if s, ok := meta[MetaEpsilon]; ok {
			if v, err := strconv.ParseFloat(s, 64); err == nil {
				d.ClaimedEpsilon = report.Float(v)
			}
		}
	}
	rep.Parameters["source"] = source
	if v, ok := meta[MetaDatasetSHA256]; ok && v != "" {
		rep.Parameters[ParamTrainingDatasetSHA256] = v
	}
	var audit *textAuditDetails
	if cfg.Members != "" || cfg.NonMembers != "" {
		if cfg.Members == "" || cfg.NonMembers == "" || cfg.Label == "" {
			return fmt.Errorf("a membership audit needs --members, --non-members and --label")
		}
		delta := p.Delta
		if source == "none" {
			delta = cfg.Delta
			if !cfg.DeltaSet {
				delta = 1e-5
			}
		}
		ml, err := textLosses(ctx, m, cfg.Members, o, cfg.Label)
		if err != nil {
			return err
		}
		nl, err := textLosses(ctx, m, cfg.NonMembers, o, cfg.Label)
		if err != nil {
			return err
		}
		a, err := privacy.MembershipAudit(ml, nl, delta, 0.95, cfg.Seed)
		if err != nil {
			return err
		}
		rep.SetMetric("mia_auc", a.AUC, "")
		rep.SetMetric("mia_advantage", a.Advantage, "")
		rep.SetMetric("mia_epsilon_lower_bound", a.EpsilonLowerBound, "")
		rep.Intervals = map[string]report.Interval{
			"mia_epsilon_lower_bound": Interval(a.EpsilonLowerBound, math.Inf(1), a.Confidence,
				"one-sided: threshold chosen on half the samples, Clopper–Pearson upper bounds on FPR and FNR on the other half"),
		}
		attack := "loss threshold (cross-entropy of the true label)"
		if o.Task == contract.TaskTokenClassification {
			attack = "loss threshold (mean cross-entropy of the true tags, at each word's first token)"
		}
		audit = &textAuditDetails{a.Members, a.NonMembers, attack, Num(a.Threshold), a.FPR, a.FNR, a.FPRUpper, a.FNRUpper, a.Confidence, a.EpsilonLowerBound}
		rep.Parameters["members"], rep.Parameters["non_members"] = cfg.Members, cfg.NonMembers
		if d1, err := artifact.FileSHA256(cfg.Members); err == nil {
			rep.Dataset = &report.Dataset{SHA256: d1, Rows: int64(a.Members + a.NonMembers)}
		}
	}
	full := textPrivacyDetails{PrivacyDetails: d, Audit: audit}
	compact := full
	compact.RDP = nil
	return SetDetails(rep, full, compact)
}

// textAuditDetails are AuditDetails with a threshold that may be −∞ (written null): the
// selection half's best attack may be no better than chance, and then no loss threshold helps.
type textAuditDetails struct {
	Members           int     `json:"members"`
	NonMembers        int     `json:"non_members"`
	Attack            string  `json:"attack"`
	Threshold         Num     `json:"threshold"`
	FPR               float64 `json:"fpr"`
	FNR               float64 `json:"fnr"`
	FPRUpper          float64 `json:"fpr_upper"`
	FNRUpper          float64 `json:"fnr_upper"`
	Confidence        float64 `json:"confidence"`
	EpsilonLowerBound float64 `json:"epsilon_lower_bound"`
}

// textPrivacyDetails are PrivacyDetails with textAuditDetails: the same JSON shape.
type textPrivacyDetails struct {
	PrivacyDetails
	Audit *textAuditDetails `json:"audit,omitempty"`
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
