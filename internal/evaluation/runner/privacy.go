package runner

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/responsible-ai/rmodel-operator/internal/artifact"
	"github.com/responsible-ai/rmodel-operator/internal/evaluation/dataset"
	"github.com/responsible-ai/rmodel-operator/internal/evaluation/privacy"
	"github.com/responsible-ai/rmodel-operator/internal/report"
)

// PrivacyConfig are the inputs of `rai evaluate privacy`. DP-SGD parameters
// given as flags win over the model's rai.dp.* metadata; *Set says which
// flags were given.
type PrivacyConfig struct {
	Common
	NoiseMultiplier, SampleRate, Delta    float64
	Steps                                 int
	NoiseSet, RateSet, StepsSet, DeltaSet bool
	Members, NonMembers                   string
	Label, Favorable                      string
	Seed                                  uint64
}

// PrivacyDetails is details for kind privacy.
type PrivacyDetails struct {
	// Source says where the DP-SGD parameters came from: "flags",
	// "model metadata", or "none".
	Source string `json:"source"`
	RDP    *struct {
		Orders []float64 `json:"orders"`
		RDP    []Num     `json:"rdp"`
	} `json:"rdp,omitempty"`
	// ClaimedEpsilon is the model's own rai.dp.epsilon, when it has one,
	// beside the recomputed value in metrics.
	ClaimedEpsilon *float64      `json:"claimed_epsilon,omitempty"`
	Audit          *AuditDetails `json:"audit,omitempty"`
}

// AuditDetails are the membership-inference audit's working figures.
type AuditDetails struct {
	Members    int    `json:"members"`
	NonMembers int    `json:"non_members"`
	Attack     string `json:"attack"`
	// Threshold is the loss threshold the attack chose; null when no
	// threshold beats chance on the selection half (the audit then finds
	// nothing, and JSON has no infinities).
	Threshold         *float64 `json:"threshold"`
	FPR               float64  `json:"fpr"`
	FNR               float64  `json:"fnr"`
	FPRUpper          float64  `json:"fpr_upper"`
	FNRUpper          float64  `json:"fnr_upper"`
	Confidence        float64  `json:"confidence"`
	EpsilonLowerBound float64  `json:"epsilon_lower_bound"`
}

// NoDPReason is the reason given for a null epsilon of a model trained
// without differential privacy.
const NoDPReason = "model has no differential-privacy guarantee"

// EvaluatePrivacy computes the model's (ε, δ) from its DP-SGD parameters and,
// with member and non-member samples, runs a membership-inference audit.
func EvaluatePrivacy(ctx context.Context, cfg PrivacyConfig) (*report.Report, error) {
	return run(report.KindPrivacy, cfg.Common, func(rep *report.Report) error { return evaluatePrivacy(ctx, cfg, rep) })
}

func evaluatePrivacy(ctx context.Context, cfg PrivacyConfig, rep *report.Report) error {
	var model *ONNXModel
	meta := map[string]string{}
	if cfg.ModelPath != "" {
		m, err := LoadONNX(cfg.ModelPath, cfg.ModelSHA256, "")
		if err != nil {
			return err
		}
		defer m.Close()
		model = m
		rep.Model.SHA256 = m.SHA256
		for k, v := range m.Metadata() {
			meta[k] = v
		}
	}
	d, p, source, err := accountDP(cfg, meta, rep)
	if err != nil {
		return err
	}

	if cfg.Members != "" || cfg.NonMembers != "" {
		if cfg.Members == "" || cfg.NonMembers == "" || cfg.Label == "" {
			return fmt.Errorf("a membership audit needs --members, --non-members and --label")
		}
		if model == nil {
			return fmt.Errorf("a membership audit needs --model")
		}
		fav := cfg.Favorable
		if fav == "" {
			fav = "1"
		}
		workers := cfg.Workers
		if workers <= 0 {
			workers = Workers()
		}
		ml, err := losses(ctx, model, cfg.Members, cfg.Label, fav, workers)
		if err != nil {
			return err
		}
		nl, err := losses(ctx, model, cfg.NonMembers, cfg.Label, fav, workers)
		if err != nil {
			return err
		}
		a, err := privacy.MembershipAudit(ml, nl, auditDelta(cfg, p, source), 0.95, cfg.Seed)
		if err != nil {
			return err
		}
		d.Audit = recordAudit(rep, cfg, a, "loss threshold (cross-entropy)")
	}
	// The compact form drops the RDP curve first (it is the bulky part).
	compact := d
	compact.RDP = nil
	return SetDetails(rep, d, compact)
}

// accountDP computes ε at δ with the RDP accountant from the DP-SGD
// parameters (the flags', else the model's rai.dp.* metadata) and writes the
// metrics and parameters into rep; a model without DP gets a null epsilon.
// It returns the details begun, the parameters and where they came from
// ("flags", "metadata" or "none").
func accountDP(cfg PrivacyConfig, meta map[string]string, rep *report.Report) (PrivacyDetails, privacy.Params, string, error) {
	d := PrivacyDetails{Source: "none"}
	p, source, err := dpParams(cfg, meta)
	if err != nil {
		return d, p, source, err
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
			return d, p, source, fmt.Errorf("DP-SGD parameters from %s: %w", source, err)
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
	// The training data's digest, as the trainer wrote it into the model:
	// the operator matches it against the PrivacyBudget that is charged.
	if v, ok := meta[MetaDatasetSHA256]; ok && v != "" {
		rep.Parameters[ParamTrainingDatasetSHA256] = v
	}
	return d, p, source, nil
}

// auditDelta is the δ of the membership audit's ε lower bound: the DP
// parameters', else --delta, else 1e-5.
func auditDelta(cfg PrivacyConfig, p privacy.Params, source string) float64 {
	switch {
	case source != "none":
		return p.Delta
	case cfg.DeltaSet:
		return cfg.Delta
	}
	return 1e-5
}

// recordAudit writes a membership audit's metrics, interval and data set
// into rep and returns its details; attack names the loss.
func recordAudit(rep *report.Report, cfg PrivacyConfig, a privacy.Audit, attack string) *AuditDetails {
	rep.SetMetric("mia_auc", a.AUC, "")
	rep.SetMetric("mia_advantage", a.Advantage, "")
	rep.SetMetric("mia_epsilon_lower_bound", a.EpsilonLowerBound, "")
	rep.Intervals = map[string]report.Interval{
		"mia_epsilon_lower_bound": Interval(a.EpsilonLowerBound, math.Inf(1), a.Confidence,
			"one-sided: threshold chosen on half the samples, Clopper–Pearson upper bounds on FPR and FNR on the other half"),
	}
	rep.Parameters["members"], rep.Parameters["non_members"] = cfg.Members, cfg.NonMembers
	if sum, err := artifact.FileSHA256(cfg.Members); err == nil {
		rep.Dataset = &report.Dataset{SHA256: sum, Rows: int64(a.Members + a.NonMembers)}
	}
	return &AuditDetails{a.Members, a.NonMembers, attack, report.Float(a.Threshold), a.FPR, a.FNR, a.FPRUpper, a.FNRUpper, a.Confidence, a.EpsilonLowerBound}
}

// ParamTrainingDatasetSHA256 is the privacy report parameter naming the
// training data's sha256, from the model's rai.dataset.sha256 metadata.
const ParamTrainingDatasetSHA256 = "training_dataset_sha256"

// dpParams takes the DP-SGD parameters from the flags when any is given
// (then all three must be), else from the model's metadata, else none.
func dpParams(cfg PrivacyConfig, meta map[string]string) (privacy.Params, string, error) {
	p := privacy.Params{NoiseMultiplier: cfg.NoiseMultiplier, SampleRate: cfg.SampleRate, Steps: cfg.Steps, Delta: cfg.Delta}
	if cfg.NoiseSet || cfg.RateSet || cfg.StepsSet {
		if !(cfg.NoiseSet && cfg.RateSet && cfg.StepsSet) {
			return p, "", errors.New("give all of --noise-multiplier, --sample-rate and --steps, or none (to read them from the model's metadata)")
		}
		if !cfg.DeltaSet {
			if v, ok := meta[MetaDelta]; ok {
				d, err := strconv.ParseFloat(v, 64)
				if err != nil {
					return p, "", fmt.Errorf("model metadata %s = %q is not a number", MetaDelta, v)
				}
				p.Delta = d
			} else {
				return p, "", errors.New("--delta is required")
			}
		}
		return p, "flags", nil
	}
	keys := []string{MetaNoiseMultiplier, MetaSampleRate, MetaSteps}
	found := 0
	for _, k := range keys {
		if _, ok := meta[k]; ok {
			found++
		}
	}
	if found == 0 {
		return p, "none", nil
	}
	num := func(k string) (float64, error) {
		v, ok := meta[k]
		if !ok {
			return 0, fmt.Errorf("model metadata has some rai.dp.* keys but not %s", k)
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, fmt.Errorf("model metadata %s = %q is not a number", k, v)
		}
		return f, nil
	}
	var err error
	if p.NoiseMultiplier, err = num(MetaNoiseMultiplier); err != nil {
		return p, "", err
	}
	if p.SampleRate, err = num(MetaSampleRate); err != nil {
		return p, "", err
	}
	steps, err := num(MetaSteps)
	if err != nil {
		return p, "", err
	}
	if steps != math.Trunc(steps) || steps < 0 {
		return p, "", fmt.Errorf("model metadata %s = %v is not a whole number", MetaSteps, steps)
	}
	p.Steps = int(steps)
	if !cfg.DeltaSet {
		if p.Delta, err = num(MetaDelta); err != nil {
			return p, "", fmt.Errorf("--delta not given and %w", err)
		}
	}
	return p, "model metadata", nil
}

// losses scores a labelled sample with the model and returns each row's
// cross-entropy loss, in row order. An unreadable label (empty, NaN, ±Inf)
// is an error naming its row.
func losses(ctx context.Context, m Model, path, label, favorable string, workers int) ([]float64, error) {
	columns, err := dataset.Columns(path)
	if err != nil {
		return nil, err
	}
	features, err := FeatureColumns(m, columns, label)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	r, err := dataset.Open(path, dataset.Spec{Numeric: features, Categorical: []string{label}, Labels: []string{label}})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []float64
	var fav []bool
	type block struct {
		first int64
		loss  []float64
	}
	results := make(chan block, 1024)
	done := make(chan struct{})
	go func() {
		for b := range results {
			need := int(b.first-1) + len(b.loss)
			for len(out) < need {
				out = append(out, 0)
			}
			copy(out[b.first-1:], b.loss)
		}
		close(done)
	}()
	_, err = Stream(ctx, r, m, workers, Shard{},
		func(w *Work) error {
			d := r.Dict(0)
			for len(fav) < len(d) {
				fav = append(fav, IsFavorable(d[len(fav)], favorable))
			}
			for i, c := range w.Codes[0] {
				w.Labels[i] = fav[c]
			}
			return nil
		},
		func(_ int, w *Work) error {
			l := make([]float64, w.Rows)
			for i := range l {
				l[i] = privacy.CrossEntropy(float64(w.Scores[i]), w.Labels[i])
			}
			results <- block{w.FirstRow, l}
			return nil
		})
	close(results)
	<-done
	if err != nil {
		return nil, err
	}
	return out, nil
}
