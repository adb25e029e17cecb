// Package fairness computes group-fairness metrics of a binary classifier
// from per-group confusion counts, with Fairlearn's names and semantics for
// the unsigned disparities and AIF360's for the signed
// privileged-versus-rest ones.
//
// Every metric here is a function of a Table of confusion counts (TP, FP,
// TN, FN per group). Counts add, so shards of a large evaluation merge
// exactly by adding their tables, and a row bootstrap is a multinomial
// resample of the table's cells.
//
// Conventions, matching Fairlearn (fairlearn.metrics, MetricFrame):
//
//   - Groups are the observed combinations of the sensitive columns' values;
//     with several columns, combinations with no rows are left out (Fairlearn
//     reindexes them to NaN and pandas' min/max skip NaN).
//   - selection_rate = (TP+FP)/n per group.
//   - true_positive_rate of a group with no actual positives is 0, and
//     false_positive_rate of a group with no actual negatives is 0:
//     Fairlearn computes them with sklearn's confusion_matrix(normalize=
//     "true"), which turns 0/0 into 0. The report's per-group details show
//     such a rate as null with the reason; the disparities use 0 as
//     Fairlearn does.
//   - between_groups: difference = max − min, ratio = min / max; a ratio with
//     max = 0 is 0/0, undefined (null in the report).
//   - to_overall: difference = max over groups of |group − overall|; ratio =
//     min over groups of r or 1/r where r = group / overall (whichever is
//     ≤ 1); groups where r is 0/0 are skipped, all skipped is undefined.
//   - equalized_odds_difference = max(TPR difference, FPR difference);
//     equalized_odds_ratio = min(TPR ratio, FPR ratio). Fairlearn applies
//     Python's min to the pair, which returns NaN only when the TPR ratio is
//     NaN; here the ratio is null when either is undefined, so an undefined
//     component never hides behind a defined one.
//   - equal_opportunity_* are the TPR difference and ratio.
//
// Signed metrics (AIF360 ClassificationMetric / TrustyAI), privileged group
// given as column=value pairs on sensitive columns, unprivileged = the rest:
//
//   - statistical_parity_difference = P(ŷ=fav | unprivileged) − P(ŷ=fav | privileged)
//   - disparate_impact_ratio = P(ŷ=fav | unprivileged) / P(ŷ=fav | privileged),
//     undefined when the privileged selection rate is 0.
package fairness

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Counts is a confusion matrix with the favorable label as positive.
type Counts struct {
	TP, FP, TN, FN int64
}

// N is the number of rows.
func (c Counts) N() int64 { return c.TP + c.FP + c.TN + c.FN }

// Add returns c + d.
func (c Counts) Add(d Counts) Counts {
	return Counts{c.TP + d.TP, c.FP + d.FP, c.TN + d.TN, c.FN + d.FN}
}

// SelectionRate is (TP+FP)/n.
func (c Counts) SelectionRate() float64 { return ratio(c.TP+c.FP, c.N()) }

// TPR is TP/(TP+FN), 0 when the group has no actual positives (Fairlearn).
func (c Counts) TPR() float64 { return ratioOrZero(c.TP, c.TP+c.FN) }

// FPR is FP/(FP+TN), 0 when the group has no actual negatives (Fairlearn).
func (c Counts) FPR() float64 { return ratioOrZero(c.FP, c.FP+c.TN) }

// Precision is TP/(TP+FP), NaN when nothing was predicted favorable.
func (c Counts) Precision() float64 { return ratio(c.TP, c.TP+c.FP) }

// Accuracy is (TP+TN)/n.
func (c Counts) Accuracy() float64 { return ratio(c.TP+c.TN, c.N()) }

func ratio(a, b int64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

func ratioOrZero(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Group is one combination of sensitive values and its counts.
type Group struct {
	// Values has one value per sensitive column, in Table.Columns order.
	Values []string
	Counts
}

// Name is "col=value" pairs joined by commas.
func (g Group) Name(columns []string) string {
	parts := make([]string, len(columns))
	for i, c := range columns {
		parts[i] = c + "=" + g.Values[i]
	}
	return strings.Join(parts, ",")
}

// Table is the sufficient statistic of a fairness evaluation.
type Table struct {
	// Columns are the sensitive columns.
	Columns []string
	// Groups holds the non-empty groups.
	Groups []Group
}

// Normalize sorts the groups by their values and merges duplicates, so two
// tables over the same data compare equal whatever the row order was.
func (t *Table) Normalize() {
	sort.Slice(t.Groups, func(i, j int) bool {
		a, b := t.Groups[i].Values, t.Groups[j].Values
		for k := range a {
			if a[k] != b[k] {
				return a[k] < b[k]
			}
		}
		return false
	})
	out := t.Groups[:0]
	for _, g := range t.Groups {
		if n := len(out); n > 0 && equalValues(out[n-1].Values, g.Values) {
			out[n-1].Counts = out[n-1].Counts.Add(g.Counts)
			continue
		}
		if g.N() > 0 {
			out = append(out, g)
		}
	}
	t.Groups = out
}

func equalValues(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

// Merge adds other's groups into t. The sensitive columns must match.
func (t *Table) Merge(other Table) error {
	if strings.Join(t.Columns, "\x00") != strings.Join(other.Columns, "\x00") {
		return fmt.Errorf("merge fairness counts: sensitive columns %v and %v differ", t.Columns, other.Columns)
	}
	t.Groups = append(t.Groups, other.Groups...)
	t.Normalize()
	return nil
}

// Overall sums every group.
func (t *Table) Overall() Counts {
	var c Counts
	for _, g := range t.Groups {
		c = c.Add(g.Counts)
	}
	return c
}

// Privileged selects the privileged group: every listed column must equal
// its value. Columns must be sensitive columns.
type Privileged map[string]string

// ParsePrivileged parses "COL=VALUE[,COL=VALUE...]" and checks the columns
// are among the sensitive ones.
func ParsePrivileged(s string, sensitive []string) (Privileged, error) {
	if s == "" {
		return nil, nil
	}
	p := Privileged{}
	for _, part := range strings.Split(s, ",") {
		col, val, ok := strings.Cut(part, "=")
		if !ok || col == "" {
			return nil, fmt.Errorf("--privileged %q: want COL=VALUE[,COL=VALUE...]", s)
		}
		found := false
		for _, c := range sensitive {
			found = found || c == col
		}
		if !found {
			return nil, fmt.Errorf("--privileged column %q is not one of the sensitive columns %v", col, sensitive)
		}
		p[col] = val
	}
	return p, nil
}

// Split sums the privileged and unprivileged groups.
func (p Privileged) Split(t *Table) (priv, unpriv Counts) {
	for _, g := range t.Groups {
		if p.matches(t.Columns, g.Values) {
			priv = priv.Add(g.Counts)
		} else {
			unpriv = unpriv.Add(g.Counts)
		}
	}
	return priv, unpriv
}

func (p Privileged) matches(columns, values []string) bool {
	for i, c := range columns {
		if v, ok := p[c]; ok && v != values[i] {
			return false
		}
	}
	return true
}

// Metric names, as the policies read them.
const (
	DemographicParityDifference = "demographic_parity_difference"
	DemographicParityRatio      = "demographic_parity_ratio"
	EqualizedOddsDifference     = "equalized_odds_difference"
	EqualizedOddsRatio          = "equalized_odds_ratio"
	EqualOpportunityDifference  = "equal_opportunity_difference"
	EqualOpportunityRatio       = "equal_opportunity_ratio"
	ToOverallSuffix             = "_to_overall"
	StatisticalParityDifference = "statistical_parity_difference"
	DisparateImpactRatio        = "disparate_impact_ratio"
	Accuracy                    = "accuracy"
	SelectionRate               = "selection_rate"
)

// Headline lists the metrics that get bootstrap intervals.
var Headline = []string{
	DemographicParityDifference, DemographicParityRatio,
	EqualizedOddsDifference, EqualizedOddsRatio,
	EqualOpportunityDifference, EqualOpportunityRatio,
	StatisticalParityDifference, DisparateImpactRatio,
	Accuracy, SelectionRate,
}

// Value is a metric value, NaN when undefined, with the reason.
type Value struct {
	V      float64
	Reason string
}

func undefined(reason string) Value { return Value{V: math.NaN(), Reason: reason} }

// Metrics computes every metric of t. priv may be nil: the signed metrics
// are then undefined.
func Metrics(t *Table, priv Privileged) map[string]Value {
	m := map[string]Value{}
	all := t.Overall()
	m[Accuracy] = Value{V: all.Accuracy()}
	m[SelectionRate] = Value{V: all.SelectionRate()}
	if len(t.Groups) == 0 {
		for _, n := range Headline {
			if n != Accuracy && n != SelectionRate {
				m[n] = undefined("no rows")
			}
		}
		return m
	}
	sr := make([]float64, len(t.Groups))
	tpr := make([]float64, len(t.Groups))
	fpr := make([]float64, len(t.Groups))
	for i, g := range t.Groups {
		sr[i], tpr[i], fpr[i] = g.SelectionRate(), g.TPR(), g.FPR()
	}
	set := func(name string, v float64, reason string) {
		if math.IsNaN(v) {
			m[name] = undefined(reason)
			return
		}
		m[name] = Value{V: v}
	}
	srDiff, srRatio := betweenGroups(sr)
	tprDiff, tprRatio := betweenGroups(tpr)
	fprDiff, fprRatio := betweenGroups(fpr)
	srDiffO, srRatioO := toOverall(sr, all.SelectionRate())
	tprDiffO, tprRatioO := toOverall(tpr, all.TPR())
	fprDiffO, fprRatioO := toOverall(fpr, all.FPR())

	set(DemographicParityDifference, srDiff, "")
	set(DemographicParityRatio, srRatio, "every group has selection rate 0 (0/0)")
	set(EqualOpportunityDifference, tprDiff, "")
	set(EqualOpportunityRatio, tprRatio, "every group has true positive rate 0 (0/0)")
	set(EqualizedOddsDifference, math.Max(tprDiff, fprDiff), "")
	set(EqualizedOddsRatio, minDefined(tprRatio, fprRatio), "the true or false positive rate is 0 in every group (0/0)")

	set(DemographicParityDifference+ToOverallSuffix, srDiffO, "")
	set(DemographicParityRatio+ToOverallSuffix, srRatioO, "overall selection rate is 0 (0/0)")
	set(EqualOpportunityDifference+ToOverallSuffix, tprDiffO, "")
	set(EqualOpportunityRatio+ToOverallSuffix, tprRatioO, "overall true positive rate is 0 (0/0)")
	set(EqualizedOddsDifference+ToOverallSuffix, math.Max(tprDiffO, fprDiffO), "")
	set(EqualizedOddsRatio+ToOverallSuffix, minDefined(tprRatioO, fprRatioO), "overall true or false positive rate is 0 (0/0)")

	if priv == nil {
		m[StatisticalParityDifference] = undefined("no privileged group given (--privileged COL=VALUE)")
		m[DisparateImpactRatio] = undefined("no privileged group given (--privileged COL=VALUE)")
		return m
	}
	p, u := priv.Split(t)
	switch {
	case p.N() == 0:
		m[StatisticalParityDifference] = undefined("the privileged group has no rows")
		m[DisparateImpactRatio] = undefined("the privileged group has no rows")
	case u.N() == 0:
		m[StatisticalParityDifference] = undefined("the unprivileged group has no rows")
		m[DisparateImpactRatio] = undefined("the unprivileged group has no rows")
	default:
		m[StatisticalParityDifference] = Value{V: u.SelectionRate() - p.SelectionRate()}
		if p.SelectionRate() == 0 {
			m[DisparateImpactRatio] = undefined("the privileged group's selection rate is 0")
		} else {
			m[DisparateImpactRatio] = Value{V: u.SelectionRate() / p.SelectionRate()}
		}
	}
	return m
}

// minDefined is min(a, b), NaN if either is NaN.
func minDefined(a, b float64) float64 {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.NaN()
	}
	return math.Min(a, b)
}

// betweenGroups returns max − min and min / max (NaN for 0/0).
func betweenGroups(v []float64) (diff, ratio float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range v {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	diff = hi - lo
	if hi == 0 {
		return diff, math.NaN()
	}
	return diff, lo / hi
}

// toOverall returns max |v − overall| and the smallest ratio folded below
// 1, skipping 0/0 (Fairlearn's ratio_sub_one over by_group / overall).
func toOverall(v []float64, overall float64) (diff, ratio float64) {
	ratio = math.NaN()
	for _, x := range v {
		diff = math.Max(diff, math.Abs(x-overall))
		r := x / overall
		if math.IsNaN(r) {
			continue
		}
		if r > 1 {
			r = 1 / r
		}
		if math.IsNaN(ratio) || r < ratio {
			ratio = r
		}
	}
	return diff, ratio
}
