package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Closed forms: with k = n successes the one-sided lower bound solves
// p^n = alpha, so it is alpha^(1/n); with k = 0 the upper bound is
// 1 - alpha^(1/n). Two-sided textbook values for 5/10 at 95% are
// [0.187086, 0.812914] (R's binom.test).
func TestClopperPearson(t *testing.T) {
	for _, n := range []int64{1, 10, 1000, 100000} {
		for _, a := range []float64{0.001, 0.05} {
			if got, want := ClopperPearsonLower(n, n, a), math.Pow(a, 1/float64(n)); math.Abs(got-want) > 1e-12 {
				t.Errorf("lower(%d,%d,%v) = %v, want %v", n, n, a, got, want)
			}
			if got, want := ClopperPearsonUpper(0, n, a), 1-math.Pow(a, 1/float64(n)); math.Abs(got-want) > 1e-12 {
				t.Errorf("upper(0,%d,%v) = %v, want %v", n, a, got, want)
			}
		}
	}
	lo, hi := ClopperPearson(5, 10, 0.05)
	if math.Abs(lo-0.1870860) > 5e-7 || math.Abs(hi-0.8129140) > 5e-7 {
		t.Fatalf("5/10: [%v, %v]", lo, hi)
	}
	lo, hi = ClopperPearson(0, 10, 0.05)
	if lo != 0 || math.Abs(hi-0.3084971) > 5e-7 {
		t.Fatalf("0/10: [%v, %v]", lo, hi)
	}
	// Coverage: the lower bound's failure rate stays below alpha.
	rng := rand.New(rand.NewPCG(1, 2))
	const p, n, alpha, trials = 0.9, 200, 0.05, 4000
	fails := 0
	for range trials {
		var k int64
		for range n {
			if rng.Float64() < p {
				k++
			}
		}
		if ClopperPearsonLower(k, n, alpha) > p {
			fails++
		}
	}
	if rate := float64(fails) / trials; rate > alpha {
		t.Fatalf("lower bound above p in %.3f of trials, more than alpha %v", rate, alpha)
	}
}

func TestMultinomialPreservesTotalAndMean(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	counts := []int64{500, 0, 3000, 1500, 5000}
	out := make([]int64, len(counts))
	sums := make([]float64, len(counts))
	const reps = 2000
	for range reps {
		Multinomial(rng, counts, out)
		var tot int64
		for i, c := range out {
			tot += c
			sums[i] += float64(c)
		}
		if tot != 10000 || out[1] != 0 {
			t.Fatalf("resample %v: total %d", out, tot)
		}
	}
	for i, c := range counts {
		mean := sums[i] / reps
		// Multinomial variance n p (1-p); 5 standard errors of the mean.
		p := float64(c) / 10000
		se := math.Sqrt(10000*p*(1-p)/reps) + 1e-9
		if math.Abs(mean-float64(c)) > 5*se {
			t.Errorf("cell %d: mean %v, want %d ± %v", i, mean, c, 5*se)
		}
	}
}

func TestPercentile(t *testing.T) {
	s := []float64{1, 2, 3, 4}
	if got := Percentile(s, 0.5); got != 2.5 {
		t.Fatalf("median %v", got)
	}
	if got := Percentile(s, 0.025); math.Abs(got-1.075) > 1e-12 {
		t.Fatalf("2.5%% %v", got)
	}
	if got := Percentile(s, 1); got != 4 {
		t.Fatalf("max %v", got)
	}
}

func TestNormalQuantile(t *testing.T) {
	if got := NormalQuantile(0.975); math.Abs(got-1.959963984540054) > 1e-12 {
		t.Fatalf("Φ⁻¹(0.975) = %v", got)
	}
}
