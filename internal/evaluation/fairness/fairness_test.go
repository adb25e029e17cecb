package fairness

import (
	"math"
	"math/rand/v2"
	"testing"
)

// row is one labelled prediction: sensitive values, label y, prediction p
// (1 = favorable).
type row struct {
	s    []string
	y, p int
}

// tableOf builds a Table through the same Grouper and Tally path the
// evaluator uses.
func tableOf(t *testing.T, columns []string, rows []row) Table {
	t.Helper()
	dicts := make([][]string, len(columns))
	codes := make([][]int32, len(columns))
	index := make([]map[string]int32, len(columns))
	for c := range columns {
		index[c] = map[string]int32{}
	}
	for _, r := range rows {
		for c, v := range r.s {
			id, ok := index[c][v]
			if !ok {
				id = int32(len(dicts[c]))
				index[c][v] = id
				dicts[c] = append(dicts[c], v)
			}
			codes[c] = append(codes[c], id)
		}
	}
	g, err := NewGrouper(len(columns))
	if err != nil {
		t.Fatal(err)
	}
	groups := make([]int32, len(rows))
	g.Assign(codes, len(rows), groups)
	var tally Tally
	for i, r := range rows {
		tally.Count(groups[i], r.y == 1, r.p == 1)
	}
	return g.Table(columns, dicts, tally.Cells)
}

func rowsOf(values []string, pairs ...[2]int) []row {
	out := make([]row, len(pairs))
	for i, p := range pairs {
		out[i] = row{s: values, y: p[0], p: p[1]}
	}
	return out
}

func concat(parts ...[]row) []row {
	var out []row
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func near(t *testing.T, m map[string]Value, name string, want float64) {
	t.Helper()
	got, ok := m[name]
	if !ok {
		t.Errorf("%s missing", name)
		return
	}
	if math.IsNaN(got.V) || math.Abs(got.V-want) > 1e-12 {
		t.Errorf("%s = %v (%s), want %v", name, got.V, got.Reason, want)
	}
}

func isUndefined(t *testing.T, m map[string]Value, name string) {
	t.Helper()
	if v := m[name]; !math.IsNaN(v.V) || v.Reason == "" {
		t.Errorf("%s = %v (reason %q), want undefined with a reason", name, v.V, v.Reason)
	}
}

// Hand-derived case with a group (X) that has no actual positives.
//
//	F: (y,ŷ) = (1,1) (1,0) (0,1) (0,0)  TP1 FN1 FP1 TN1  sr 1/2  TPR 1/2  FPR 1/2
//	M: (1,1) (1,1) (1,0) (0,0) (0,0)     TP2 FN1 FP0 TN2  sr 2/5  TPR 2/3  FPR 0
//	X: (0,1) (0,0)                       TP0 FN0 FP1 TN1  sr 1/2  TPR 0 (Fairlearn: 0/0 → 0)  FPR 1/2
//	overall: TP3 FN2 FP2 TN4, n 11: sr 5/11, TPR 3/5, FPR 1/3, accuracy 7/11
func TestMetricsGroupWithoutPositives(t *testing.T) {
	rows := concat(
		rowsOf([]string{"F"}, [2]int{1, 1}, [2]int{1, 0}, [2]int{0, 1}, [2]int{0, 0}),
		rowsOf([]string{"M"}, [2]int{1, 1}, [2]int{1, 1}, [2]int{1, 0}, [2]int{0, 0}, [2]int{0, 0}),
		rowsOf([]string{"X"}, [2]int{0, 1}, [2]int{0, 0}),
	)
	// Shuffle: the result must not depend on row order.
	rand.New(rand.NewPCG(1, 1)).Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	tab := tableOf(t, []string{"sex"}, rows)
	if len(tab.Groups) != 3 || tab.Groups[2].Values[0] != "X" || tab.Groups[2].TP+tab.Groups[2].FN != 0 {
		t.Fatalf("groups %+v", tab.Groups)
	}
	priv, err := ParsePrivileged("sex=M", tab.Columns)
	if err != nil {
		t.Fatal(err)
	}
	m := Metrics(&tab, priv)
	near(t, m, Accuracy, 7.0/11)
	near(t, m, SelectionRate, 5.0/11)
	near(t, m, DemographicParityDifference, 0.5-0.4)
	near(t, m, DemographicParityRatio, 0.4/0.5)
	near(t, m, EqualOpportunityDifference, 2.0/3)
	near(t, m, EqualOpportunityRatio, 0)
	near(t, m, EqualizedOddsDifference, 2.0/3) // max(TPR gap 2/3, FPR gap 1/2)
	near(t, m, EqualizedOddsRatio, 0)
	// to_overall: sr gaps |1/2-5/11| = 1/22, |2/5-5/11| = 3/55; ratios 11/10 → 10/11 and 22/25.
	near(t, m, DemographicParityDifference+ToOverallSuffix, 3.0/55)
	near(t, m, DemographicParityRatio+ToOverallSuffix, 0.88)
	// TPR gaps to 3/5: 1/10, 1/15, 3/5; FPR gaps to 1/3: 1/6, 1/3, 1/6.
	near(t, m, EqualOpportunityDifference+ToOverallSuffix, 0.6)
	near(t, m, EqualizedOddsDifference+ToOverallSuffix, 0.6)
	near(t, m, EqualizedOddsRatio+ToOverallSuffix, 0)
	// AIF360 signed, privileged sex=M: unprivileged F+X has sr 3/6.
	near(t, m, StatisticalParityDifference, 0.5-0.4)
	near(t, m, DisparateImpactRatio, 0.5/0.4)
}

// Intersectional groups over sex × race with the combination (M, b)
// missing: it must be left out, not counted as a group of rate 0.
//
//	(F,a): (1,1) (0,0)        sr 1/2  TPR 1  FPR 0
//	(F,b): (1,0) (0,1)        sr 1/2  TPR 0  FPR 1
//	(M,a): (1,1) (1,1) (0,1)  sr 1    TPR 1  FPR 1
func TestMetricsIntersectionalMissingCombination(t *testing.T) {
	rows := concat(
		rowsOf([]string{"F", "a"}, [2]int{1, 1}, [2]int{0, 0}),
		rowsOf([]string{"F", "b"}, [2]int{1, 0}, [2]int{0, 1}),
		rowsOf([]string{"M", "a"}, [2]int{1, 1}, [2]int{1, 1}, [2]int{0, 1}),
	)
	tab := tableOf(t, []string{"sex", "race"}, rows)
	if len(tab.Groups) != 3 {
		t.Fatalf("want 3 observed combinations, got %d: %+v", len(tab.Groups), tab.Groups)
	}
	if got := tab.Groups[2].Name(tab.Columns); got != "sex=M,race=a" {
		t.Fatalf("group name %q", got)
	}
	priv, _ := ParsePrivileged("sex=M", tab.Columns)
	m := Metrics(&tab, priv)
	near(t, m, DemographicParityDifference, 0.5) // would be 1 if (M,b) counted as 0
	near(t, m, DemographicParityRatio, 0.5)
	near(t, m, EqualOpportunityDifference, 1)
	near(t, m, EqualizedOddsDifference, 1)
	near(t, m, EqualizedOddsRatio, 0)
	near(t, m, StatisticalParityDifference, 0.5-1)
	near(t, m, DisparateImpactRatio, 0.5)
	// Privileged on both columns: only (M,a).
	priv2, _ := ParsePrivileged("sex=F,race=b", tab.Columns)
	m2 := Metrics(&tab, priv2)
	near(t, m2, StatisticalParityDifference, 4.0/5-0.5) // unprivileged (F,a)+(M,a): 4 of 5 selected
}

func TestMetricsZeroDivision(t *testing.T) {
	// Nothing predicted favorable: selection-rate ratios are 0/0.
	rows := concat(
		rowsOf([]string{"F"}, [2]int{1, 0}, [2]int{0, 0}),
		rowsOf([]string{"M"}, [2]int{1, 0}, [2]int{0, 0}),
	)
	tab := tableOf(t, []string{"sex"}, rows)
	priv, _ := ParsePrivileged("sex=M", tab.Columns)
	m := Metrics(&tab, priv)
	near(t, m, DemographicParityDifference, 0)
	isUndefined(t, m, DemographicParityRatio)
	isUndefined(t, m, DemographicParityRatio+ToOverallSuffix)
	isUndefined(t, m, EqualOpportunityRatio)
	isUndefined(t, m, EqualizedOddsRatio)
	near(t, m, StatisticalParityDifference, 0)
	isUndefined(t, m, DisparateImpactRatio)
	// No privileged group: signed metrics undefined with a reason.
	m = Metrics(&tab, nil)
	isUndefined(t, m, StatisticalParityDifference)
	// A privileged value that matches no row.
	priv, _ = ParsePrivileged("sex=Z", tab.Columns)
	isUndefined(t, Metrics(&tab, priv), DisparateImpactRatio)
	if _, err := ParsePrivileged("race=a", tab.Columns); err == nil {
		t.Fatal("privileged column outside the sensitive columns accepted")
	}
	if _, err := ParsePrivileged("sex", tab.Columns); err == nil {
		t.Fatal("privileged without =VALUE accepted")
	}
}

func TestMergeEqualsOnePass(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	var rows []row
	for range 5000 {
		s := []string{[]string{"a", "b", "c"}[rng.IntN(3)], []string{"x", "y"}[rng.IntN(2)]}
		rows = append(rows, row{s: s, y: rng.IntN(2), p: rng.IntN(2)})
	}
	whole := tableOf(t, []string{"g", "h"}, rows)
	left := tableOf(t, []string{"g", "h"}, rows[:1234])
	right := tableOf(t, []string{"g", "h"}, rows[1234:])
	if err := left.Merge(right); err != nil {
		t.Fatal(err)
	}
	if len(left.Groups) != len(whole.Groups) {
		t.Fatalf("merged %d groups, whole %d", len(left.Groups), len(whole.Groups))
	}
	for i := range whole.Groups {
		if left.Groups[i].Counts != whole.Groups[i].Counts || left.Groups[i].Name(left.Columns) != whole.Groups[i].Name(whole.Columns) {
			t.Fatalf("group %d: merged %+v, whole %+v", i, left.Groups[i], whole.Groups[i])
		}
	}
	if err := left.Merge(Table{Columns: []string{"g"}}); err == nil {
		t.Fatal("merging tables over different columns accepted")
	}
}

// The multinomial resample of the cells must have the distribution of a row
// bootstrap: compare the spread of the demographic parity difference under
// both on the same data.
func TestBootstrapMatchesRowResampling(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	var rows []row
	for range 400 {
		g := rng.IntN(2)
		p := 0
		if rng.Float64() < 0.3+0.2*float64(g) {
			p = 1
		}
		rows = append(rows, row{s: []string{[]string{"u", "v"}[g]}, y: rng.IntN(2), p: p})
	}
	tab := tableOf(t, []string{"g"}, rows)
	const reps = 3000
	iv := Bootstrap(&tab, nil, reps, 42, 0.95)[DemographicParityDifference]
	// Row bootstrap by hand.
	var vals []float64
	for range reps {
		sample := make([]row, len(rows))
		for i := range sample {
			sample[i] = rows[rng.IntN(len(rows))]
		}
		st := tableOf(t, []string{"g"}, sample)
		vals = append(vals, Metrics(&st, nil)[DemographicParityDifference].V)
	}
	sd := func(v []float64) float64 {
		var m, s float64
		for _, x := range v {
			m += x
		}
		m /= float64(len(v))
		for _, x := range v {
			s += (x - m) * (x - m)
		}
		return math.Sqrt(s / float64(len(v)-1))
	}
	rowSD := sd(vals)
	// For a roughly normal statistic the 95% percentile interval spans ≈ 2·1.96 sd.
	cellSD := (iv.Upper - iv.Lower) / (2 * 1.96)
	if r := cellSD / rowSD; r < 0.85 || r > 1.15 {
		t.Fatalf("cell bootstrap sd %.4f vs row bootstrap sd %.4f (ratio %.3f)", cellSD, rowSD, r)
	}
	point := Metrics(&tab, nil)[DemographicParityDifference].V
	if !(iv.Lower < point && point < iv.Upper) || iv.Defined != reps {
		t.Fatalf("interval [%v, %v] (%d defined) does not contain %v", iv.Lower, iv.Upper, iv.Defined, point)
	}
	// Seeded: the same seed gives the same interval.
	if again := Bootstrap(&tab, nil, reps, 42, 0.95)[DemographicParityDifference]; again != iv {
		t.Fatalf("same seed, different interval: %+v vs %+v", again, iv)
	}
}

func TestBootstrapUndefinedMetric(t *testing.T) {
	rows := concat(rowsOf([]string{"F"}, [2]int{1, 0}, [2]int{0, 0}), rowsOf([]string{"M"}, [2]int{0, 0}))
	tab := tableOf(t, []string{"sex"}, rows)
	iv := Bootstrap(&tab, nil, 200, 1, 0.95)[DemographicParityRatio]
	if !math.IsNaN(iv.Lower) || iv.Defined != 0 {
		t.Fatalf("interval of an always-undefined ratio: %+v", iv)
	}
}

func TestPredBitIsGreaterOrEqual(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	for _, c := range [][2]float32{{0.5, 0.5}, {0.49999997, 0.5}, {0.50000006, 0.5}, {0, 0.5}, {1, 0.5}, {negZero, 0}, {0, 0}, {1e-30, 0}, {-1e-30, 0}, {1, 1}, {0.99999994, 1}} {
		want := 0
		if c[0] >= c[1] {
			want = 1
		}
		if got := predBit(c[0], c[1]); got != want {
			t.Errorf("predBit(%v, %v) = %d, want %d", c[0], c[1], got, want)
		}
	}
}

// BenchmarkTallyScores measures the per-row bookkeeping of a fairness
// evaluation (two sensitive columns, random labels and predictions).
func BenchmarkTallyScores(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 4096
	s0, s1, labels := make([]int32, n), make([]int32, n), make([]int32, n)
	scores := make([]float32, n)
	for i := range s0 {
		s0[i], s1[i], labels[i], scores[i] = int32(rng.IntN(2)), int32(rng.IntN(4)), int32(rng.IntN(2)), rng.Float32()
	}
	g, _ := NewGrouper(2)
	var t Tally
	fav := []bool{false, true}
	sens := [][]int32{s0, s1}
	for b.Loop() {
		g.TallyScores(&t, sens, n, labels, fav, scores, 0.5)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
}
