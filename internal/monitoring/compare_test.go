package monitoring

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// windowOf summarizes columns of live values as a server window would, with sketches of size k.
func windowOf(start time.Time, k int, cols ...[]float32) Window {
	w := Window{Start: start, End: start.Add(time.Minute)}
	for _, col := range cols {
		f := FeatureSummary{Sketch: newSeededSketch(k, uint64(len(col))), Min: math.Inf(1), Max: math.Inf(-1)}
		sum := 0.0
		for _, v := range col {
			f.Sketch.Add(v)
			f.Min, f.Max = math.Min(f.Min, float64(v)), math.Max(f.Max, float64(v))
			sum += float64(v)
		}
		f.Count = int64(len(col))
		f.Mean = sum / float64(len(col))
		w.Features = append(w.Features, f)
		w.Rows = int64(len(col))
		w.Requests = w.Rows
	}
	return w
}

func snapshotOf(features []string, windows ...Window) *Snapshot {
	return &Snapshot{SchemaVersion: SnapshotSchemaVersion, Model: "credit", Version: "v1", SHA256: "abc", WindowSeconds: 60,
		Threshold: 0.5, PredictionOutput: "probability", GroupSource: "parameter:group", Features: features, InputFeatures: len(features),
		Replicas: 1, Windows: windows}
}

func referenceOf(t *testing.T, names []string, cols ...[]float32) *Reference {
	t.Helper()
	return referenceWith(t, ReferenceOptions{}, names, cols...)
}

func referenceWith(t *testing.T, opts ReferenceOptions, names []string, cols ...[]float32) *Reference {
	t.Helper()
	b, err := NewReferenceBuilder(names, opts)
	if err != nil {
		t.Fatal(err)
	}
	n := len(cols[0])
	rows := make([]float32, 0, n*len(cols))
	for i := range n {
		for _, c := range cols {
			rows = append(rows, c[i])
		}
	}
	if err := b.AddRows(rows, n); err != nil {
		t.Fatal(err)
	}
	ref, err := b.Build(Reference{Model: ModelRef{SHA256: "abc"}})
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func normals(rng *rand.Rand, n int, shift float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(rng.NormFloat64() + shift)
	}
	return out
}

// The reference is 1…1000 (deciles 100…900, a tenth in each bin; every value an ECDF point);
// live is 1…500 twice (exact: k = 4096). Live fractions: 0.2 in each of the five bins up to 500, 0 above (ε = 1e-4):
// PSI = 5·(0.2−0.1)·ln 2 + 5·(0.0001−0.1)·ln(0.0001/0.1) = 0.346574 + 3.450424 = 3.796998, and
// D = F_live(500) − F_ref(500) = 1 − 0.5.
func TestComparePSIAndKSByHand(t *testing.T) {
	var ref, live []float32
	for i := 1; i <= 1000; i++ {
		ref = append(ref, float32(i))
		live = append(live, float32((i-1)%500+1))
	}
	rep, err := Compare(referenceWith(t, ReferenceOptions{ECDFPoints: 4000}, []string{"x"}, ref), snapshotOf([]string{"x"}, windowOf(t0, 4096, live)), CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f := rep.Drift.Features[0]
	if f.Status != StatusOK {
		t.Fatalf("status %s: %s", f.Status, f.Reason)
	}
	near(t, "PSI", *f.PSI, 3.796998, 1e-6)
	near(t, "KS D", f.KS.Statistic, 0.5, 1e-12)
	if f.KS.ErrorBound != 0 {
		t.Errorf("error bound %v for an exact sketch and an exact reference ECDF", f.KS.ErrorBound)
	}
	near(t, "effective n", f.KS.EffectiveN, 500, 1e-9)
	near(t, "p", f.KS.PValue/KolmogorovSurvival(math.Sqrt(500)*0.5), 1, 1e-12)
	near(t, "PSI expected without drift", *f.PSIExpectedNoDrift, 9*(1.0/1000+1.0/1000), 1e-12)
}

func TestCompareSameDistributionShowsNoDrift(t *testing.T) {
	rng := rand.New(rand.NewPCG(30, 30))
	names := []string{"a", "b", "c"}
	ref := referenceOf(t, names, normals(rng, 20_000, 0), normals(rng, 20_000, 5), normals(rng, 20_000, -1))
	// Three windows from two replicas, merged as the operator does.
	var snaps []*Snapshot
	for r := range 2 {
		var ws []Window
		for i := range 3 {
			ws = append(ws, windowOf(t0.Add(time.Duration(i)*time.Minute), DefaultSketchK, normals(rng, 1500, 0), normals(rng, 1500, 5), normals(rng, 1500, -1)))
		}
		_ = r
		snaps = append(snaps, snapshotOf(names, ws...))
	}
	live, err := Merge(snaps...)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Compare(ref, live, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Live.Rows != 9000 || rep.Live.Windows != 3 || rep.Live.Replicas != 2 || !rep.Live.End.Equal(t0.Add(3*time.Minute)) {
		t.Errorf("live %+v", rep.Live)
	}
	for _, f := range rep.Drift.Features {
		if f.LiveCount != 9000 || f.KS.PValueHolm < 0.05 || *f.PSI > 0.02 {
			t.Errorf("%s: n %d, PSI %.4f, D %.4f, Holm p %.3f: drift where there is none", f.Name, f.LiveCount, *f.PSI, f.KS.Statistic, f.KS.PValueHolm)
		}
	}
}

func TestCompareNamesTheWorstFeature(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 31))
	names := []string{"income", "region_score", "age"}
	ref := referenceOf(t, names, normals(rng, 10_000, 0), normals(rng, 10_000, 0), normals(rng, 10_000, 0))
	live := snapshotOf(names, windowOf(t0, DefaultSketchK, normals(rng, 3000, 0.05), normals(rng, 3000, 1.0), normals(rng, 3000, 0)))
	rep, err := Compare(ref, live, CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d := rep.Drift
	if d.Tested != 3 || d.WorstPSI.Feature != "region_score" || d.WorstKS.Feature != "region_score" || d.WorstKS.Statistic != StatisticKS {
		t.Fatalf("worst %+v %+v of %d tested", d.WorstPSI, d.WorstKS, d.Tested)
	}
	rs := d.Features[1]
	if *rs.PSI < 0.25 || rs.KS.PValueHolm > 1e-6 || rs.KS.PValueHolm < rs.KS.PValue || rs.KS.PValueBonferroni < rs.KS.PValueHolm {
		t.Errorf("region_score: PSI %v, p %v, Holm %v, Bonferroni %v", *rs.PSI, rs.KS.PValue, rs.KS.PValueHolm, rs.KS.PValueBonferroni)
	}
	if rs.KS.PValueAtStatistic > rs.KS.PValue {
		t.Error("the conservative p-value is below the one at the statistic")
	}
	h := rep.Headline()
	if !strings.Contains(h, "feature region_score: PSI") || !strings.Contains(h, "feature region_score: KS D=") {
		t.Errorf("headline %q", h)
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Fatal(err)
	}
}

func TestCompareSaysInsufficientData(t *testing.T) {
	rng := rand.New(rand.NewPCG(32, 32))
	ref := referenceOf(t, []string{"a", "b"}, normals(rng, 1000, 0), normals(rng, 1000, 0))
	rep, err := Compare(ref, snapshotOf([]string{"a", "b"}, windowOf(t0, DefaultSketchK, normals(rng, 499, 3), normals(rng, 499, 3))), CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Drift.Features {
		if f.Status != StatusInsufficientData || f.PSI != nil || f.KS != nil || !strings.Contains(f.Reason, "499 live values, fewer than the 500") {
			t.Errorf("%+v", f)
		}
	}
	if rep.Drift.Tested != 0 || rep.Drift.WorstPSI != nil || !strings.HasPrefix(rep.Headline(), "drift: insufficient data") {
		t.Errorf("tested %d, worst %v, headline %q", rep.Drift.Tested, rep.Drift.WorstPSI, rep.Headline())
	}
	// The server withheld every window's features; and one monitoring only the first column.
	withheld := snapshotOf([]string{"a", "b"}, Window{Start: t0, End: t0.Add(time.Minute), Rows: 3, Requests: 3, WithheldRows: 3})
	rep, _ = Compare(ref, withheld, CompareOptions{})
	if f := rep.Drift.Features[0]; f.Status != StatusInsufficientData || !strings.Contains(f.Reason, "min rows") {
		t.Errorf("withheld: %+v", f)
	}
	one := snapshotOf([]string{"a"}, windowOf(t0, DefaultSketchK, normals(rng, 600, 0)))
	rep, _ = Compare(ref, one, CompareOptions{})
	if f := rep.Drift.Features[1]; f.Status != StatusNotMonitored || rep.Drift.Features[0].Status != StatusOK {
		t.Errorf("not monitored: %+v", rep.Drift.Features)
	}
}

func TestCompareLiveFairness(t *testing.T) {
	ref := referenceOf(t, []string{"x"}, []float32{1, 2, 3})
	ref.Groups = []GroupReference{{Name: "female", Count: 10, PositiveRate: ptr(0.4)}}
	w := Window{Start: t0, End: t0.Add(time.Minute), Rows: 450, Requests: 450, Groups: []GroupCounts{
		{Name: "female", Predictions: 200, Positives: 60, Confusion: Confusion{TP: 20, FN: 20, FP: 3, TN: 7}},
		{Name: "male", Predictions: 200, Positives: 100, Confusion: Confusion{TP: 40, FN: 10}},
		{Name: "other", Predictions: 50, Positives: 40},
	}}
	rep, err := Compare(ref, snapshotOf([]string{"x"}, w), CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f := rep.Fairness
	dp := f.DemographicParityDifference
	if dp.Status != StatusOK || dp.MaxGroup != "male" || dp.MinGroup != "female" || dp.GroupsCompared != 2 || dp.Method != "newcombe" {
		t.Fatalf("demographic parity difference %+v", dp)
	}
	near(t, "DP difference", *dp.Value, 0.5-0.3, 1e-12)
	lo, hi := Newcombe(100, 200, 60, 200, 0.95)
	near(t, "DP CI lower", dp.CI[0], lo, 0)
	near(t, "DP CI upper", dp.CI[1], hi, 0)
	if dp.CI[0] <= 0 || dp.CI[1] >= 0.4 {
		t.Errorf("CI %v", dp.CI)
	}
	near(t, "DP ratio", *f.DemographicParityRatio.Value, 0.6, 1e-12)
	if r := f.DemographicParityRatio.CI; !(r[0] < 0.6 && r[1] > 0.6 && r[1] <= 1) {
		t.Errorf("ratio CI %v", r)
	}
	// "other" has 50 predictions, under the floor of 100: not compared, still reported.
	if g := f.Groups[2]; g.Name != "other" || g.InDemographicParity || g.PositiveRate == nil {
		t.Errorf("other: %+v", g)
	}
	if g := f.Groups[0]; g.ReferencePositiveRate == nil || *g.ReferencePositiveRate != 0.4 || g.ReferenceTPR != nil {
		t.Errorf("female's reference rates %+v", g)
	}
	eo := f.EqualOpportunityDifference
	if eo.Status != StatusOK || eo.MaxGroup != "male" || eo.MinGroup != "female" {
		t.Fatalf("equal opportunity %+v", eo)
	}
	near(t, "TPR gap", *eo.Value, 0.8-0.5, 1e-12)
	// With a floor of 45 labelled positives, female (40) drops out: insufficient data.
	rep, _ = Compare(ref, snapshotOf([]string{"x"}, w), CompareOptions{MinGroupPositives: 45})
	eo = rep.Fairness.EqualOpportunityDifference
	if eo.Status != StatusInsufficientData || eo.Value != nil || !strings.Contains(eo.Reason, "1 group(s) with at least 45 labelled positives") {
		t.Errorf("equal opportunity with a higher floor: %+v", eo)
	}
	if !strings.Contains(rep.Headline(), "demographic parity difference 0.200") {
		t.Errorf("headline %q", rep.Headline())
	}
	// No prediction output: not monitored.
	s := snapshotOf([]string{"x"}, w)
	s.PredictionOutput = ""
	rep, _ = Compare(ref, s, CompareOptions{})
	if rep.Fairness.DemographicParityDifference.Status != StatusNotMonitored {
		t.Errorf("without predictions: %+v", rep.Fairness.DemographicParityDifference)
	}
}

func TestCompareRefusesAnotherModel(t *testing.T) {
	ref := referenceOf(t, []string{"x"}, []float32{1, 2, 3})
	s := snapshotOf([]string{"x"})
	s.SHA256 = "def"
	if _, err := Compare(ref, s, CompareOptions{}); !errors.Is(err, ErrModelMismatch) {
		t.Errorf("err %v", err)
	}
}
