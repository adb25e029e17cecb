package monitoring

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// KolmogorovSurvival is P(K > x) for the Kolmogorov distribution, the limit of √n·D_n under
// the null hypothesis:
//
//	P(K > x) = 2 Σ_{j≥1} (−1)^{j−1} exp(−2 j² x²)
//
// and, for x < 1.18 where that alternating series converges slowly, 1 − P(K ≤ x) with
//
//	P(K ≤ x) = (√(2π) / x) Σ_{j≥1} exp(−(2j−1)² π² / (8 x²)).
//
// Both series are summed until their terms fall below 1e-17.
func KolmogorovSurvival(x float64) float64 {
	switch {
	case math.IsNaN(x):
		return math.NaN()
	case x <= 0:
		return 1
	case x < 1.18:
		s := 0.0
		for j := 1; j < 100; j++ {
			k := float64(2*j - 1)
			t := math.Exp(-k * k * math.Pi * math.Pi / (8 * x * x))
			s += t
			if t < 1e-17 {
				break
			}
		}
		return clamp01(1 - math.Sqrt(2*math.Pi)/x*s)
	default:
		s := 0.0
		sign := 1.0
		for j := 1; j < 100; j++ {
			fj := float64(j)
			t := math.Exp(-2 * fj * fj * x * x)
			s += sign * t
			sign = -sign
			if t < 1e-17 {
				break
			}
		}
		return clamp01(2 * s)
	}
}

func clamp01(x float64) float64 { return math.Max(0, math.Min(1, x)) }

// KSPValue is the asymptotic two-sample Kolmogorov–Smirnov p-value of statistic d for samples of
// sizes n and m: P(K > √(n·m/(n+m)) · d).
func KSPValue(d float64, n, m int64) float64 {
	return KolmogorovSurvival(math.Sqrt(EffectiveN(n, m)) * d)
}

// EffectiveN is n·m/(n+m), the sample size of the two-sample KS asymptotics.
func EffectiveN(n, m int64) float64 {
	if n <= 0 || m <= 0 {
		return 0
	}
	return float64(n) * float64(m) / float64(n+m)
}

// ksStatistic is sup over x of |live(x) − ref(x)| between the sketch's CDF estimate and the
// reference's ECDF points. Both are right-continuous step functions that jump only at the
// sketch's items and the reference's points, so the supremum is the largest difference at one of
// them; the walk visits each once.
func ksStatistic(live weighted, ref *ECDF) float64 {
	d := 0.0
	i, j := 0, 0
	var liveCum int64
	refF := 0.0
	for i < len(live.values) || j < len(ref.X) {
		// The next jump point.
		var t float64
		switch {
		case j >= len(ref.X):
			t = float64(live.values[i])
		case i >= len(live.values):
			t = ref.X[j]
		default:
			t = math.Min(float64(live.values[i]), ref.X[j])
		}
		for i < len(live.values) && float64(live.values[i]) <= t {
			liveCum = live.cum[i]
			i++
		}
		for j < len(ref.X) && ref.X[j] <= t {
			refF = ref.F[j]
			j++
		}
		d = math.Max(d, math.Abs(float64(liveCum)/float64(live.n)-refF))
	}
	return d
}

// PSI is the population stability index Σ (a_i − e_i) · ln(a_i / e_i) of actual fractions a over
// expected fractions e (same bins), with every fraction below epsilon raised to epsilon so that an
// empty bin contributes a finite amount (the fractions are not renormalized).
func PSI(expected, actual []float64, epsilon float64) float64 {
	s := 0.0
	for i := range expected {
		e, a := math.Max(expected[i], epsilon), math.Max(actual[i], epsilon)
		s += (a - e) * math.Log(a/e)
	}
	return s
}

// binFractions are the fractions of a CDF estimate in the bins (−∞, e_0], (e_0, e_1], …,
// (e_last, ∞).
func binFractions(rank func(float64) float64, edges []float64) []float64 {
	out := make([]float64, len(edges)+1)
	prev := 0.0
	for i, e := range edges {
		r := rank(e)
		out[i] = math.Max(0, r-prev)
		prev = math.Max(prev, r)
	}
	out[len(edges)] = math.Max(0, 1-prev)
	return out
}

// Wilson is the Wilson score interval for a binomial proportion after k successes in n trials,
// at two-sided level confidence (0.95 for 95%):
//
//	(p̂ + z²/2n ± z·sqrt(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n),  z = Φ⁻¹(1 − (1−confidence)/2).
//
// (0, 1) for n = 0.
func Wilson(k, n int64, confidence float64) (lower, upper float64) {
	if n <= 0 {
		return 0, 1
	}
	z := distuv.UnitNormal.Quantile(1 - (1-confidence)/2)
	nf := float64(n)
	p := float64(k) / nf
	z2 := z * z
	center := (p + z2/(2*nf)) / (1 + z2/nf)
	half := z / (1 + z2/nf) * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	return clamp01(center - half), clamp01(center + half)
}

// Newcombe is the hybrid score interval for the difference p1 − p2 of two independent
// proportions (Newcombe 1998, method 10), from each proportion's Wilson interval (l, u):
//
//	(p1 − p2 − sqrt((p1−l1)² + (u2−p2)²),  p1 − p2 + sqrt((u1−p1)² + (p2−l2)²)).
func Newcombe(k1, n1, k2, n2 int64, confidence float64) (lower, upper float64) {
	l1, u1 := Wilson(k1, n1, confidence)
	l2, u2 := Wilson(k2, n2, confidence)
	p1, p2 := float64(k1)/float64(n1), float64(k2)/float64(n2)
	d := p1 - p2
	return d - math.Sqrt((p1-l1)*(p1-l1)+(u2-p2)*(u2-p2)), d + math.Sqrt((u1-p1)*(u1-p1)+(p2-l2)*(p2-l2))
}

// Bonferroni returns min(1, m·p) for each of the m p-values.
func Bonferroni(p []float64) []float64 {
	out := make([]float64, len(p))
	for i, v := range p {
		out[i] = math.Min(1, float64(len(p))*v)
	}
	return out
}

// Holm returns Holm–Bonferroni adjusted p-values, in the input's order: with the p-values sorted
// ascending, p_(i) becomes max over j ≤ i of min(1, (m − j + 1)·p_(j)). Rejecting where the
// adjusted p-value is ≤ α is Holm's step-down procedure at family-wise error rate α.
func Holm(p []float64) []float64 {
	m := len(p)
	idx := make([]int, m)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return p[idx[a]] < p[idx[b]] })
	out := make([]float64, m)
	running := 0.0
	for rank, i := range idx {
		running = math.Max(running, math.Min(1, float64(m-rank)*p[i]))
		out[i] = running
	}
	return out
}
