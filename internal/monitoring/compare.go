package monitoring

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// ReportSchemaVersion is the schema of Compare's report.
const ReportSchemaVersion = "rai.monitoring.report/v1"

// Defaults of CompareOptions.
const (
	DefaultMinFeatureCount   = 500
	DefaultMinGroupCount     = 100
	DefaultMinGroupPositives = 30
	DefaultPSIEpsilon        = 1e-4
	DefaultConfidence        = 0.95
	DefaultSketchDelta       = 0.01
)

// Statuses of a measurement in the report.
const (
	StatusOK               = "ok"
	StatusInsufficientData = "insufficient_data"
	// StatusNotMonitored: the server keeps no summary of this feature (beyond
	// --monitoring-max-features) or no predictions (no usable output).
	StatusNotMonitored = "not_monitored"
)

// Statistic names, as WorstFeature.Statistic.
const (
	StatisticPSI = "psi"
	StatisticKS  = "ks"
)

// CompareOptions are Compare's sample-size floors and constants; a zero field takes its default.
type CompareOptions struct {
	// MinFeatureCount live values of a feature before PSI and KS are computed (default 500: below
	// it PSI's noise, about (bins−1)/n, approaches the usual 0.1 threshold).
	MinFeatureCount int64 `json:"min_feature_count"`
	// MinGroupCount predictions in a group before it takes part in demographic parity (100).
	MinGroupCount int64 `json:"min_group_count"`
	// MinGroupPositives labelled positives (TP+FN, from feedback) in a group before it takes part
	// in equal opportunity (30).
	MinGroupPositives int64 `json:"min_group_positives"`
	// PSIEpsilon replaces a bin fraction below it (an empty bin) in PSI (1e-4).
	PSIEpsilon float64 `json:"psi_epsilon"`
	// Confidence of the intervals (0.95).
	Confidence float64 `json:"confidence"`
	// SketchDelta is the probability allowed for a sketch's rank error to exceed the bound the KS
	// p-value accounts for (0.01).
	SketchDelta float64 `json:"sketch_delta"`
}

func (o CompareOptions) withDefaults() CompareOptions {
	if o.MinFeatureCount <= 0 {
		o.MinFeatureCount = DefaultMinFeatureCount
	}
	if o.MinGroupCount <= 0 {
		o.MinGroupCount = DefaultMinGroupCount
	}
	if o.MinGroupPositives <= 0 {
		o.MinGroupPositives = DefaultMinGroupPositives
	}
	if o.PSIEpsilon <= 0 {
		o.PSIEpsilon = DefaultPSIEpsilon
	}
	if o.Confidence <= 0 || o.Confidence >= 1 {
		o.Confidence = DefaultConfidence
	}
	if o.SketchDelta <= 0 || o.SketchDelta >= 1 {
		o.SketchDelta = DefaultSketchDelta
	}
	return o
}

// Report is Compare's measurement of live traffic against the reference: the Rego input for the
// monitoring policy. It decides nothing; every number the policy may compare is here, and a
// measurement without enough data says so in its status and reason instead of a number. No NaN
// or Inf: an undefined number is null.
type Report struct {
	SchemaVersion string         `json:"schema_version"`
	Model         ModelRef       `json:"model"`
	Reference     ReferenceInfo  `json:"reference"`
	Live          LiveInfo       `json:"live"`
	Options       CompareOptions `json:"options"`
	Drift         DriftReport    `json:"drift"`
	Fairness      FairnessReport `json:"fairness"`
}

// ReferenceInfo identifies the reference compared against.
type ReferenceInfo struct {
	Dataset   DataRef   `json:"dataset"`
	CreatedAt time.Time `json:"created_at"`
}

// LiveInfo is the span of live traffic compared.
type LiveInfo struct {
	Start        time.Time `json:"start"`
	End          time.Time `json:"end"`
	Windows      int       `json:"windows"`
	Replicas     int       `json:"replicas"`
	Requests     int64     `json:"requests"`
	Rows         int64     `json:"rows"`
	WithheldRows int64     `json:"withheld_rows"`
}

// DriftReport is per-feature drift.
type DriftReport struct {
	Features []FeatureDrift `json:"features"`
	// Tested is the number of features with a KS test (the family the corrections are over).
	Tested int `json:"tested"`
	// WorstPSI is the feature with the largest PSI; WorstKS the one with the smallest
	// Holm-adjusted KS p-value (ties: the larger statistic). Null when no feature was tested.
	WorstPSI *WorstFeature `json:"worst_psi"`
	WorstKS  *WorstFeature `json:"worst_ks"`
}

// WorstFeature names a feature and a statistic for a condition message.
type WorstFeature struct {
	Feature   string  `json:"feature"`
	Statistic string  `json:"statistic"` // StatisticPSI or StatisticKS
	Value     float64 `json:"value"`     // the PSI, or the KS statistic D
	// PValueHolm is the Holm-adjusted KS p-value (KS only).
	PValueHolm *float64 `json:"p_value_holm,omitempty"`
}

// String is "feature F: PSI 0.31" or "feature F: KS D=0.210 (Holm-adjusted p=1.2e-08)".
func (w *WorstFeature) String() string {
	if w == nil {
		return ""
	}
	if w.Statistic == StatisticKS && w.PValueHolm != nil {
		return fmt.Sprintf("feature %s: KS D=%.3f (Holm-adjusted p=%.2g)", w.Feature, w.Value, *w.PValueHolm)
	}
	return fmt.Sprintf("feature %s: PSI %.3f", w.Feature, w.Value)
}

// FeatureDrift is one feature's drift.
type FeatureDrift struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	// ReferenceCount and LiveCount are the sample sizes.
	ReferenceCount int64    `json:"reference_count"`
	LiveCount      int64    `json:"live_count"`
	ReferenceMean  float64  `json:"reference_mean"`
	LiveMean       *float64 `json:"live_mean"`
	// PSI over the reference's bins with PSIEpsilon for empty bins; PSIExpectedNoDrift is its
	// expected value when live and reference come from one distribution, (bins−1)·(1/n + 1/m) (the
	// χ² approximation): a threshold near it flags noise.
	PSI                *float64 `json:"psi"`
	PSIExpectedNoDrift *float64 `json:"psi_expected_no_drift"`
	// LiveFractions are the live fractions in the reference's PSI bins (from the sketch).
	LiveFractions []float64 `json:"live_fractions,omitempty"`
	KS            *KSResult `json:"ks"`
}

// KSResult is a two-sample Kolmogorov–Smirnov test of live values against the reference.
type KSResult struct {
	// Statistic is D = sup |F_live − F_ref| between the live sketch's CDF and the reference ECDF.
	Statistic float64 `json:"statistic"`
	// ErrorBound bounds |D − D_exact| (the statistic of the raw samples) with probability ≥
	// 1 − SketchDelta: the live sketch's MaxRankError plus the reference ECDF's resolution.
	ErrorBound float64 `json:"error_bound"`
	// EffectiveN is n·m/(n+m).
	EffectiveN float64 `json:"effective_n"`
	// PValue is the asymptotic p-value P(K > √EffectiveN · max(0, D − ErrorBound)): with
	// probability ≥ 1 − SketchDelta it is at least the p-value of the raw samples, so the sketch
	// never makes drift look more significant than it is. PValueAtStatistic is P(K > √n_e · D).
	PValue            float64 `json:"p_value"`
	PValueAtStatistic float64 `json:"p_value_at_statistic"`
	// PValueBonferroni and PValueHolm adjust PValue over the Tested features.
	PValueBonferroni float64 `json:"p_value_bonferroni"`
	PValueHolm       float64 `json:"p_value_holm"`
}

// FairnessReport is live fairness from the prediction and feedback counts.
type FairnessReport struct {
	Groups []GroupFairness `json:"groups"`
	// Fairlearn's between-groups definitions over the groups with enough data: the largest minus
	// the smallest rate, and the smallest over the largest.
	DemographicParityDifference Disparity `json:"demographic_parity_difference"`
	DemographicParityRatio      Disparity `json:"demographic_parity_ratio"`
	EqualOpportunityDifference  Disparity `json:"equal_opportunity_difference"`
	EqualOpportunityRatio       Disparity `json:"equal_opportunity_ratio"`
}

// GroupFairness is one group's live rates, with Wilson intervals, next to its reference rates.
type GroupFairness struct {
	Name        string `json:"name"`
	Predictions int64  `json:"predictions"`
	Positives   int64  `json:"positive_predictions"`
	Confusion
	PositiveRate   *float64  `json:"positive_rate"`
	PositiveRateCI []float64 `json:"positive_rate_ci,omitempty"`
	// TPR is TP/(TP+FN) from feedback.
	TPR   *float64  `json:"tpr"`
	TPRCI []float64 `json:"tpr_ci,omitempty"`
	// ReferencePositiveRate and ReferenceTPR are the evaluation data's (null when the group is
	// not in the reference).
	ReferencePositiveRate *float64 `json:"reference_positive_rate"`
	ReferenceTPR          *float64 `json:"reference_tpr"`
	// InDemographicParity and InEqualOpportunity say whether the group met the sample-size floor.
	InDemographicParity bool `json:"in_demographic_parity"`
	InEqualOpportunity  bool `json:"in_equal_opportunity"`
}

// Disparity is a between-groups fairness measurement.
type Disparity struct {
	Status string    `json:"status"`
	Reason string    `json:"reason,omitempty"`
	Value  *float64  `json:"value"`
	CI     []float64 `json:"ci,omitempty"`
	// Method names the interval: "newcombe" (hybrid score, the difference of the two groups'
	// rates) or "wilson-bonferroni" (the ratio of the groups' Wilson bounds at level
	// 1 − (1−confidence)/2 each, so joint coverage ≥ confidence).
	Method string `json:"method,omitempty"`
	// Groups are the groups with the largest and the smallest rate.
	MaxGroup string `json:"max_group,omitempty"`
	MinGroup string `json:"min_group,omitempty"`
	// GroupsCompared is the number of groups with enough data.
	GroupsCompared int `json:"groups_compared"`
}

// ErrModelMismatch: the live snapshot is of another model file than the reference.
var ErrModelMismatch = errors.New("live traffic is of another model than the reference")

// Compare measures live against ref: per feature (matched by position: both are in the model's
// input order) PSI and a KS test with Holm and Bonferroni corrections over the features tested,
// and live fairness per group. live is typically Merge of every replica's FetchWindow; all its
// windows are totalled. Compare fails when the reference is invalid or live's model sha256
// differs from the reference's (when both are known).
func Compare(ref *Reference, live *Snapshot, opts CompareOptions) (*Report, error) {
	if err := ref.Validate(); err != nil {
		return nil, err
	}
	if ref.Model.SHA256 != "" && live.SHA256 != "" && !strings.EqualFold(ref.Model.SHA256, live.SHA256) {
		return nil, fmt.Errorf("%w: live %s, reference %s", ErrModelMismatch, live.SHA256, ref.Model.SHA256)
	}
	opts = opts.withDefaults()
	total := live.Total()
	rep := &Report{
		SchemaVersion: ReportSchemaVersion,
		Model:         ModelRef{Name: live.Model, Version: live.Version, SHA256: live.SHA256},
		Reference:     ReferenceInfo{Dataset: ref.Dataset, CreatedAt: ref.CreatedAt},
		Live: LiveInfo{Start: total.Start, End: total.End, Windows: len(live.Windows), Replicas: live.Replicas,
			Requests: total.Requests, Rows: total.Rows, WithheldRows: total.WithheldRows},
		Options: opts,
	}
	rep.Drift = compareDrift(ref, &total, opts)
	rep.Fairness = compareFairness(ref, &total, live.PredictionOutput != "", opts)
	return rep, nil
}

func compareDrift(ref *Reference, live *Window, opts CompareOptions) DriftReport {
	var d DriftReport
	var tested []int
	var pvals []float64
	for j, rf := range ref.Features {
		fd := FeatureDrift{Name: rf.Name, ReferenceCount: rf.Count, ReferenceMean: rf.Mean}
		if j >= len(live.Features) {
			if len(live.Features) == 0 {
				fd.Status, fd.Reason = StatusInsufficientData, "no live feature summaries (no traffic, or every window below the server's min rows)"
			} else {
				fd.Status, fd.Reason = StatusNotMonitored, fmt.Sprintf("the server monitors the first %d input columns only", len(live.Features))
			}
			d.Features = append(d.Features, fd)
			continue
		}
		lf := live.Features[j]
		fd.LiveCount = lf.Count
		if lf.Count > 0 {
			fd.LiveMean = ptr(lf.Mean)
		}
		if lf.Count < opts.MinFeatureCount || lf.Sketch == nil {
			fd.Status = StatusInsufficientData
			fd.Reason = fmt.Sprintf("%d live values, fewer than the %d required", lf.Count, opts.MinFeatureCount)
			d.Features = append(d.Features, fd)
			continue
		}
		fd.Status = StatusOK
		w := lf.Sketch.sorted()
		fd.LiveFractions = binFractions(w.rank, rf.Bins.Edges)
		fd.PSI = ptr(PSI(rf.Bins.Fractions, fd.LiveFractions, opts.PSIEpsilon))
		fd.PSIExpectedNoDrift = ptr(float64(len(rf.Bins.Fractions)-1) * (1/float64(lf.Count) + 1/float64(rf.Count)))
		stat := ksStatistic(w, &ref.Features[j].ECDF)
		bound := lf.Sketch.MaxRankError(opts.SketchDelta) + rf.ECDF.Resolution
		ne := EffectiveN(rf.Count, lf.Count)
		fd.KS = &KSResult{
			Statistic: stat, ErrorBound: bound, EffectiveN: ne,
			PValue:            KolmogorovSurvival(math.Sqrt(ne) * math.Max(0, stat-bound)),
			PValueAtStatistic: KolmogorovSurvival(math.Sqrt(ne) * stat),
		}
		tested = append(tested, len(d.Features))
		pvals = append(pvals, fd.KS.PValue)
		d.Features = append(d.Features, fd)
	}
	d.Tested = len(tested)
	bonf, holm := Bonferroni(pvals), Holm(pvals)
	for k, i := range tested {
		ks := d.Features[i].KS
		ks.PValueBonferroni, ks.PValueHolm = bonf[k], holm[k]
	}
	for _, i := range tested {
		f := &d.Features[i]
		if d.WorstPSI == nil || *f.PSI > d.WorstPSI.Value {
			d.WorstPSI = &WorstFeature{Feature: f.Name, Statistic: StatisticPSI, Value: *f.PSI}
		}
		if w := d.WorstKS; w == nil || f.KS.PValueHolm < *w.PValueHolm || (f.KS.PValueHolm == *w.PValueHolm && f.KS.Statistic > w.Value) {
			d.WorstKS = &WorstFeature{Feature: f.Name, Statistic: StatisticKS, Value: f.KS.Statistic, PValueHolm: ptr(f.KS.PValueHolm)}
		}
	}
	return d
}

func ptr(x float64) *float64 { return &x }

func compareFairness(ref *Reference, live *Window, havePredictions bool, opts CompareOptions) FairnessReport {
	var fr FairnessReport
	refGroups := map[string]GroupReference{}
	for _, g := range ref.Groups {
		refGroups[g.Name] = g
	}
	type rate struct {
		name string
		k, n int64
	}
	var dp, eo []rate
	for _, g := range live.Groups {
		gf := GroupFairness{Name: g.Name, Predictions: g.Predictions, Positives: g.Positives, Confusion: g.Confusion}
		if g.Predictions > 0 && havePredictions {
			gf.PositiveRate = ptr(float64(g.Positives) / float64(g.Predictions))
			lo, hi := Wilson(g.Positives, g.Predictions, opts.Confidence)
			gf.PositiveRateCI = []float64{lo, hi}
		}
		if p := g.Confusion.TP + g.Confusion.FN; p > 0 {
			gf.TPR = ptr(float64(g.Confusion.TP) / float64(p))
			lo, hi := Wilson(g.Confusion.TP, p, opts.Confidence)
			gf.TPRCI = []float64{lo, hi}
		}
		if r, ok := refGroups[g.Name]; ok {
			gf.ReferencePositiveRate, gf.ReferenceTPR = r.PositiveRate, r.TPR
		}
		if havePredictions && g.Predictions >= opts.MinGroupCount {
			gf.InDemographicParity = true
			dp = append(dp, rate{g.Name, g.Positives, g.Predictions})
		}
		if p := g.Confusion.TP + g.Confusion.FN; p >= opts.MinGroupPositives {
			gf.InEqualOpportunity = true
			eo = append(eo, rate{g.Name, g.Confusion.TP, p})
		}
		fr.Groups = append(fr.Groups, gf)
	}
	between := func(rates []rate, what, floor string) (diff, ratioD Disparity) {
		diff.GroupsCompared, ratioD.GroupsCompared = len(rates), len(rates)
		if !havePredictions {
			diff.Status, diff.Reason = StatusNotMonitored, "the server counts no predictions (the model has no output it reads as P(favorable))"
			ratioD.Status, ratioD.Reason = diff.Status, diff.Reason
			return
		}
		if len(rates) < 2 {
			diff.Status = StatusInsufficientData
			diff.Reason = fmt.Sprintf("%d group(s) with at least %s; two are needed", len(rates), floor)
			ratioD.Status, ratioD.Reason = diff.Status, diff.Reason
			return
		}
		hi, lo := rates[0], rates[0]
		for _, r := range rates[1:] {
			if float64(r.k)/float64(r.n) > float64(hi.k)/float64(hi.n) {
				hi = r
			}
			if float64(r.k)/float64(r.n) < float64(lo.k)/float64(lo.n) {
				lo = r
			}
		}
		ph, pl := float64(hi.k)/float64(hi.n), float64(lo.k)/float64(lo.n)
		diff.Status, diff.Value, diff.Method, diff.MaxGroup, diff.MinGroup = StatusOK, ptr(ph-pl), "newcombe", hi.name, lo.name
		a, b := Newcombe(hi.k, hi.n, lo.k, lo.n, opts.Confidence)
		diff.CI = []float64{a, b}
		ratioD.MaxGroup, ratioD.MinGroup, ratioD.Method = hi.name, lo.name, "wilson-bonferroni"
		if ph == 0 {
			ratioD.Status, ratioD.Reason = StatusInsufficientData, fmt.Sprintf("no group has a positive %s: the ratio is 0/0", what)
			return
		}
		ratioD.Status, ratioD.Value = StatusOK, ptr(pl/ph)
		level := 1 - (1-opts.Confidence)/2
		lh, uh := Wilson(hi.k, hi.n, level)
		ll, ul := Wilson(lo.k, lo.n, level)
		upper := 1.0
		if lh > 0 {
			upper = math.Min(1, ul/lh)
		}
		ratioD.CI = []float64{ll / uh, upper}
		return
	}
	fr.DemographicParityDifference, fr.DemographicParityRatio = between(dp, "positive rate", fmt.Sprintf("%d predictions", opts.MinGroupCount))
	fr.EqualOpportunityDifference, fr.EqualOpportunityRatio = between(eo, "true positive rate", fmt.Sprintf("%d labelled positives (feedback)", opts.MinGroupPositives))
	return fr
}

// Headline is a one-line summary for a condition message or an event: the worst PSI and KS
// features and the demographic parity difference, or why they are missing.
func (r *Report) Headline() string {
	var parts []string
	switch {
	case r.Drift.Tested == 0:
		parts = append(parts, "drift: insufficient data")
	default:
		parts = append(parts, "largest drift "+r.Drift.WorstPSI.String(), "most significant "+r.Drift.WorstKS.String())
	}
	dp := r.Fairness.DemographicParityDifference
	if dp.Status == StatusOK {
		parts = append(parts, fmt.Sprintf("demographic parity difference %.3f [%.3f, %.3f] (%s vs %s)", *dp.Value, dp.CI[0], dp.CI[1], dp.MaxGroup, dp.MinGroup))
	} else {
		parts = append(parts, "demographic parity: "+dp.Status)
	}
	return strings.Join(parts, "; ")
}
