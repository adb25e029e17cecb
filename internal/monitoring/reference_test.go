package monitoring

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
)

// TestReferenceECDFIsExactAtItsPointsAndWithinResolution: every kept point's F is the exact
// fraction ≤ x, between points the estimate is below the exact fraction by at most Resolution
// ≤ 1/points, atoms are kept whole, and there are about points+1 points.
func TestReferenceECDFIsExactAtItsPointsAndWithinResolution(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	const n = 20_000
	data := make([]float32, 2*n)
	for i := range n {
		data[2*i] = float32(rng.NormFloat64())
		// A feature with a large atom at 0 and a few other values.
		data[2*i+1] = float32(max(0, int(rng.NormFloat64()*3)))
	}
	b, err := NewReferenceBuilder([]string{"normal", "atom"}, ReferenceOptions{ECDFPoints: 200})
	if err != nil {
		t.Fatal(err)
	}
	b.AddRows(data[:n], n/2)
	b.AddRows(data[n:], n/2)
	ref, err := b.Build(Reference{Model: ModelRef{SHA256: "abc"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := ref.Validate(); err != nil {
		t.Fatal(err)
	}
	for j, f := range ref.Features {
		col := make([]float32, n)
		for i := range n {
			col[i] = data[2*i+j]
		}
		sorted := sortedCopy(col)
		if f.Count != n || f.Min != float64(sorted[0]) || f.Max != float64(sorted[n-1]) {
			t.Errorf("%s: count %d min %v max %v", f.Name, f.Count, f.Min, f.Max)
		}
		e := f.ECDF
		if e.Resolution > 1.0/200 || len(e.X) > 202 {
			t.Errorf("%s: resolution %v with %d points", f.Name, e.Resolution, len(e.X))
		}
		for i, x := range e.X {
			if got := exactRank(sorted, x); got != e.F[i] {
				t.Fatalf("%s: F(%v) = %v, exact %v", f.Name, x, e.F[i], got)
			}
		}
		worst := 0.0
		for _, x := range sorted {
			for _, q := range []float64{float64(x), math.Nextafter(float64(x), math.Inf(-1))} {
				d := exactRank(sorted, q) - e.Rank(q)
				if d < -1e-15 {
					t.Fatalf("%s: the estimate at %v is above the exact fraction", f.Name, q)
				}
				worst = math.Max(worst, d)
			}
		}
		if worst > e.Resolution+1e-15 {
			t.Errorf("%s: the estimate is %v below the exact ECDF, resolution %v", f.Name, worst, e.Resolution)
		}
	}
	atom := ref.Features[1]
	if atom.ECDF.X[0] != 0 || atom.ECDF.F[0] < 0.5 {
		t.Errorf("the atom at 0 is not the first point: %v %v", atom.ECDF.X[:2], atom.ECDF.F[:2])
	}
}

// PSI bins by hand: the values 1…1000 have deciles 100, 200, …, 900 (order statistic ⌈q·n⌉) and
// a tenth of the values in each bin; a feature of only 0s and 1s (70% zeros) has the single
// distinct edge set {0, 1}: bins (−∞,0], (0,1], (1,∞) with 0.7, 0.3, 0.
func TestReferencePSIBinsByHand(t *testing.T) {
	b, _ := NewReferenceBuilder([]string{"x", "binary"}, ReferenceOptions{})
	rows := make([]float32, 0, 2000)
	for i := 1; i <= 1000; i++ {
		bin := float32(0)
		if i > 700 {
			bin = 1
		}
		rows = append(rows, float32(i), bin)
	}
	b.AddRows(rows, 1000)
	ref, _ := b.Build(Reference{})
	x := ref.Features[0].Bins
	for i, e := range x.Edges {
		if e != float64(100*(i+1)) {
			t.Errorf("edge %d = %v, want %d", i, e, 100*(i+1))
		}
	}
	for i, f := range x.Fractions {
		near(t, "decile fraction "+ftoa(float64(i)), f, 0.1, 1e-12)
	}
	bin := ref.Features[1].Bins
	if len(bin.Edges) != 2 || bin.Edges[0] != 0 || bin.Edges[1] != 1 {
		t.Fatalf("binary edges %v", bin.Edges)
	}
	for i, want := range []float64{0.7, 0.3, 0} {
		near(t, "binary fraction", bin.Fractions[i], want, 1e-12)
	}
}

func TestReferenceGroupsAndJSON(t *testing.T) {
	b, _ := NewReferenceBuilder([]string{"x"}, ReferenceOptions{})
	b.AddRows([]float32{1, 2, 3, 4, 5}, 5)
	// "1.0" and " 1" are the group "1" (GroupKey).
	b.Observe("1.0", true, true)
	b.Observe(" 1", false, true)
	b.Observe("1", true, false)
	b.Observe("female", false, false)
	b.Observe("female", true, true)
	ref, _ := b.Build(Reference{Threshold: 0.5, Label: "label", Favorable: "1", Sensitive: []string{"g"}})
	if len(ref.Groups) != 2 || ref.Groups[0].Name != "1" || ref.Groups[1].Name != "female" {
		t.Fatalf("groups %+v", ref.Groups)
	}
	g := ref.Groups[0]
	if g.Count != 3 || g.Positives != 2 || g.LabelPositives != 2 || g.TP != 1 || g.FN != 1 || g.FP != 1 || g.TN != 0 {
		t.Errorf("group 1: %+v", g)
	}
	near(t, "positive rate", *g.PositiveRate, 2.0/3, 1e-12)
	near(t, "TPR", *g.TPR, 0.5, 1e-12)
	if ref.Dataset.Rows != 5 || ref.SchemaVersion != ReferenceSchemaVersion {
		t.Errorf("rows %d schema %q", ref.Dataset.Rows, ref.SchemaVersion)
	}
	raw, err := json.Marshal(ref)
	if err != nil {
		t.Fatal(err)
	}
	var back Reference
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if err := back.Validate(); err != nil {
		t.Fatal(err)
	}
	back.Features[0].ECDF.F[0] = 2
	if back.Validate() == nil {
		t.Error("a broken ECDF validates")
	}
	if _, err := NewReferenceBuilder([]string{"x"}, ReferenceOptions{}); err != nil {
		t.Fatal(err)
	}
	nb, _ := NewReferenceBuilder([]string{"x"}, ReferenceOptions{})
	if err := nb.AddRows([]float32{float32(math.NaN())}, 1); err == nil {
		t.Error("NaN accepted")
	}
}
