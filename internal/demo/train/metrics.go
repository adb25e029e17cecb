package train

import (
	"fmt"
	"math"
	"slices"

	"github.com/responsible-ai/rmodel-operator/internal/demo/dataset"
)

// GroupMetrics are one group's confusion-matrix rates at the 0.5 threshold.
type GroupMetrics struct {
	Count         int     `json:"count"`
	SelectionRate float64 `json:"selection_rate"` // P(ŷ = 1)
	TPR           float64 `json:"tpr"`            // P(ŷ = 1 | y = 1)
	FPR           float64 `json:"fpr"`            // P(ŷ = 1 | y = 0)
	Accuracy      float64 `json:"accuracy"`
}

// Summary is the trainer's own quick check of a model on a table: accuracy and the two fairness
// numbers the demo's policy uses, with Fairlearn's definitions. It is not the project's
// evaluator (internal/evaluation), which also reports intervals and intersectional groups.
type Summary struct {
	Accuracy float64                 `json:"accuracy"`
	Groups   map[string]GroupMetrics `json:"groups"`
	// DemographicParityRatio is min over max of the groups' selection rates.
	DemographicParityRatio float64 `json:"demographic_parity_ratio"`
	// EqualizedOddsDifference is the larger of the TPR and FPR ranges across groups.
	EqualizedOddsDifference float64 `json:"equalized_odds_difference"`
}

// Summarize predicts every row of t with m (favorable when P ≥ 0.5) and groups by the sensitive
// column attr.
func Summarize(m *Model, t *dataset.Table, attr string) (Summary, error) {
	groups, ok := t.Sensitive[attr]
	if !ok {
		return Summary{}, fmt.Errorf("summarize: the table has no sensitive column %q", attr)
	}
	type counts struct{ n, sel, pos, tp, neg, fp, correct int }
	by := map[string]*counts{}
	correct := 0
	for i, x := range t.X {
		pred := 0
		if m.Predict(x) >= 0.5 {
			pred = 1
		}
		c := by[groups[i]]
		if c == nil {
			c = &counts{}
			by[groups[i]] = c
		}
		c.n++
		c.sel += pred
		if t.Y[i] == 1 {
			c.pos++
			c.tp += pred
		} else {
			c.neg++
			c.fp += pred
		}
		if pred == t.Y[i] {
			c.correct++
			correct++
		}
	}
	ratio := func(a, b int) float64 {
		if b == 0 {
			return math.NaN()
		}
		return float64(a) / float64(b)
	}
	s := Summary{Accuracy: ratio(correct, t.Len()), Groups: map[string]GroupMetrics{}}
	var sel, tpr, fpr []float64
	for g, c := range by {
		gm := GroupMetrics{Count: c.n, SelectionRate: ratio(c.sel, c.n), TPR: ratio(c.tp, c.pos), FPR: ratio(c.fp, c.neg), Accuracy: ratio(c.correct, c.n)}
		s.Groups[g] = gm
		sel, tpr, fpr = append(sel, gm.SelectionRate), append(tpr, gm.TPR), append(fpr, gm.FPR)
	}
	s.DemographicParityRatio = slices.Min(sel) / slices.Max(sel)
	s.EqualizedOddsDifference = math.Max(slices.Max(tpr)-slices.Min(tpr), slices.Max(fpr)-slices.Min(fpr))
	return s, nil
}
