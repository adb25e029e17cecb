package monitoring

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.6g, want %.6g (±%g)", what, got, want, tol)
	}
}

// Published values of the Kolmogorov distribution: the critical values of the one-sample KS test
// (Smirnov's table: 1.22 at 10%, 1.36 at 5%, 1.63 at 1%, 1.95 at 0.1%, to four places as
// 1.2238, 1.3581, 1.6276, 1.9495), and K(0.5) = 0.0361, K(1.0) = 0.7300.
func TestKolmogorovSurvivalMatchesPublishedValues(t *testing.T) {
	for _, c := range []struct{ x, p, tol float64 }{
		{1.36, 0.0494, 0.0001},
		{1.63, 0.0098, 0.0001},
		{1.2238, 0.1000, 0.0001},
		{1.3581, 0.0500, 0.0001},
		{1.6276, 0.0100, 0.00001},
		{1.9495, 0.0010, 0.000001},
		{0.5, 1 - 0.0361, 0.0001},
		{1.0, 1 - 0.7300, 0.0001},
	} {
		near(t, "P(K > "+ftoa(c.x)+")", KolmogorovSurvival(c.x), c.p, c.tol)
	}
	if KolmogorovSurvival(0) != 1 || KolmogorovSurvival(-1) != 1 || KolmogorovSurvival(10) > 1e-80 {
		t.Error("limits of P(K > x)")
	}
	// The two series agree where they meet, and the function decreases.
	near(t, "continuity at 1.18", KolmogorovSurvival(1.18-1e-9), KolmogorovSurvival(1.18), 1e-8)
	prev := 1.0
	for x := 0.01; x < 4; x += 0.01 {
		p := KolmogorovSurvival(x)
		if p > prev+1e-15 {
			t.Fatalf("P(K > x) increases at %v", x)
		}
		prev = p
	}
	// Two samples: n = m = 100 gives n_e = 50; D = 1.36/√50 sits at the 5% point.
	near(t, "KSPValue", KSPValue(1.36/math.Sqrt(50), 100, 100), 0.0494, 0.0001)
}

func ftoa(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// bruteKS is the exact two-sample statistic: the largest |F1 − F2| over every pooled value.
func bruteKS(a, b []float32) float64 {
	pooled := append(slices.Clone(a), b...)
	d := 0.0
	for _, x := range pooled {
		d = math.Max(d, math.Abs(exactFrac(a, x)-exactFrac(b, x)))
	}
	return d
}

func exactFrac(v []float32, x float32) float64 {
	n := 0
	for _, y := range v {
		if y <= x {
			n++
		}
	}
	return float64(n) / float64(len(v))
}

// TestKSStatisticEqualsBruteForceSupremum: with an exact live sketch and an ECDF that keeps every
// distinct value, the statistic is exactly the brute-force supremum, with ties and without.
func TestKSStatisticEqualsBruteForceSupremum(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 21))
	for trial := range 20 {
		round := trial%2 == 0 // ties
		gen := func(n int, shift float64) []float32 {
			out := make([]float32, n)
			for i := range out {
				x := rng.NormFloat64() + shift
				if round {
					x = math.Round(x * 2)
				}
				out[i] = float32(x)
			}
			return out
		}
		ref := gen(300+trial*10, 0)
		live := gen(200+trial*7, float64(trial%5)*0.15)
		b, _ := NewReferenceBuilder([]string{"x"}, ReferenceOptions{ECDFPoints: 1 << 20})
		b.AddRows(ref, len(ref))
		r, err := b.Build(Reference{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Features[0].ECDF.Resolution != 0 {
			t.Fatalf("resolution %v with every value kept", r.Features[0].ECDF.Resolution)
		}
		s := NewSketch(4096)
		for _, v := range live {
			s.Add(v)
		}
		got := ksStatistic(s.sorted(), &r.Features[0].ECDF)
		if want := bruteKS(ref, live); math.Abs(got-want) > 1e-12 {
			t.Errorf("trial %d: D = %v, brute force %v", trial, got, want)
		}
	}
}

// TestKSStatisticFromSketchWithinItsBound: with a compacting sketch (k = 200) of 200,000 live
// values and a 500-point reference ECDF, D is within the stated error bound of the exact one.
func TestKSStatisticFromSketchWithinItsBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	ref := make([]float32, 50_000)
	for i := range ref {
		ref[i] = float32(rng.NormFloat64())
	}
	b, _ := NewReferenceBuilder([]string{"x"}, ReferenceOptions{})
	b.AddRows(ref, len(ref))
	r, _ := b.Build(Reference{})
	for _, shift := range []float64{0, 0.05, 0.3} {
		live := make([]float32, 200_000)
		s := newSeededSketch(DefaultSketchK, uint64(shift*100))
		for i := range live {
			live[i] = float32(rng.NormFloat64() + shift)
			s.Add(live[i])
		}
		got := ksStatistic(s.sorted(), &r.Features[0].ECDF)
		// The exact statistic, by a merge of the two sorted samples.
		sr, sl := sortedCopy(ref), sortedCopy(live)
		exact := 0.0
		i, j := 0, 0
		for i < len(sr) || j < len(sl) {
			var x float32
			if j >= len(sl) || (i < len(sr) && sr[i] <= sl[j]) {
				x = sr[i]
			} else {
				x = sl[j]
			}
			for i < len(sr) && sr[i] <= x {
				i++
			}
			for j < len(sl) && sl[j] <= x {
				j++
			}
			exact = math.Max(exact, math.Abs(float64(i)/float64(len(sr))-float64(j)/float64(len(sl))))
		}
		bound := s.MaxRankError(0.01) + r.Features[0].ECDF.Resolution
		if math.Abs(got-exact) > bound {
			t.Errorf("shift %v: D = %.4f, exact %.4f, beyond the bound %.4f", shift, got, exact, bound)
		}
		t.Logf("shift %.2f: D from the sketch %.4f, exact %.4f, bound %.4f", shift, got, exact, bound)
	}
}

// PSI by hand: expected quartiles, actual 0.1/0.2/0.3/0.4:
// (0.1−0.25)·ln(0.4) + (0.2−0.25)·ln(0.8) + (0.3−0.25)·ln(1.2) + (0.4−0.25)·ln(1.6)
// = 0.137444 + 0.011157 + 0.009116 + 0.070501 = 0.228218; and an empty expected bin with
// ε = 1e-4: (0.4−0.5)·ln(0.8) + (0.1−0.0001)·ln(1000) = 0.022314 + 0.690085 = 0.712399.
func TestPSIMatchesAHandComputedExample(t *testing.T) {
	near(t, "PSI", PSI([]float64{0.25, 0.25, 0.25, 0.25}, []float64{0.1, 0.2, 0.3, 0.4}, 1e-4), 0.228218, 1e-6)
	near(t, "PSI with an empty bin", PSI([]float64{0.5, 0.5, 0}, []float64{0.5, 0.4, 0.1}, 1e-4), 0.712399, 1e-6)
	near(t, "PSI of equal fractions", PSI([]float64{0.3, 0.7}, []float64{0.3, 0.7}, 1e-4), 0, 0)
}

// Wilson intervals by hand, 81/263 at 95% (z = 1.959964, z² = 3.841459):
// centre (0.307985 + 3.841459/526) / (1 + 3.841459/263) = 0.315288/1.014606 = 0.310749,
// half-width 1.959964/1.014606 · sqrt(0.307985·0.692015/263 + 3.841459/(4·263²)) = 0.055460,
// so (0.2553, 0.3662); these and the others are Newcombe's (1998) worked examples.
func TestWilsonMatchesHandComputedAndPublishedIntervals(t *testing.T) {
	for _, c := range []struct {
		k, n   int64
		lo, hi float64
	}{
		{81, 263, 0.2553, 0.3662},
		{15, 148, 0.0624, 0.1605},
		{0, 20, 0, 0.1611},
		{1, 29, 0.0061, 0.1718},
	} {
		lo, hi := Wilson(c.k, c.n, 0.95)
		near(t, "Wilson lower", lo, c.lo, 0.00005)
		near(t, "Wilson upper", hi, c.hi, 0.00005)
	}
	if lo, hi := Wilson(0, 0, 0.95); lo != 0 || hi != 1 {
		t.Errorf("Wilson(0, 0) = (%v, %v)", lo, hi)
	}
}

// Newcombe's (1998) example for a difference of proportions, 56/70 − 48/80 = 0.2000, hybrid
// score interval (method 10): (0.0524, 0.3339).
func TestNewcombeMatchesThePublishedExample(t *testing.T) {
	lo, hi := Newcombe(56, 70, 48, 80, 0.95)
	near(t, "Newcombe lower", lo, 0.0524, 0.00005)
	near(t, "Newcombe upper", hi, 0.3339, 0.00005)
}

// Holm by hand: p = (0.01, 0.04, 0.03, 0.005), m = 4. Sorted: 0.005·4 = 0.02, 0.01·3 = 0.03,
// 0.03·2 = 0.06, 0.04·1 = 0.04 → running maximum 0.02, 0.03, 0.06, 0.06. Bonferroni: 4p.
func TestHolmAndBonferroniOnASmallExample(t *testing.T) {
	p := []float64{0.01, 0.04, 0.03, 0.005}
	holm := Holm(p)
	for i, want := range []float64{0.03, 0.06, 0.06, 0.02} {
		near(t, "Holm", holm[i], want, 1e-12)
	}
	for i, want := range []float64{0.04, 0.16, 0.12, 0.02} {
		near(t, "Bonferroni", Bonferroni(p)[i], want, 1e-12)
	}
	// Capped at 1, and the step-down at α = 0.05 rejects the two smallest only.
	if h := Holm([]float64{0.6, 0.9}); h[0] != 1 || h[1] != 1 {
		t.Errorf("Holm caps at 1: %v", h)
	}
	rejected := 0
	for _, h := range holm {
		if h <= 0.05 {
			rejected++
		}
	}
	if rejected != 2 {
		t.Errorf("Holm rejects %d at 0.05, want 2", rejected)
	}
}
