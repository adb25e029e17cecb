// Package stats holds the small statistical tools the evaluators share:
// exact (Clopper–Pearson) binomial confidence bounds and a multinomial
// bootstrap over count tables.
package stats

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/stat/distuv"
)

// ClopperPearsonLower is the exact one-sided lower confidence bound, at
// level 1-alpha, for a binomial proportion after k successes in n trials:
// the alpha quantile of Beta(k, n-k+1), and 0 when k = 0. This is the
// bound Cohen et al.'s CERTIFY uses (statsmodels' proportion_confint with
// method "beta" and 2·alpha, lower end).
func ClopperPearsonLower(k, n int64, alpha float64) float64 {
	if n <= 0 || k <= 0 {
		return 0
	}
	if k > n {
		k = n
	}
	return distuv.Beta{Alpha: float64(k), Beta: float64(n - k + 1)}.Quantile(alpha)
}

// ClopperPearsonUpper is the exact one-sided upper confidence bound at level
// 1-alpha: the 1-alpha quantile of Beta(k+1, n-k), and 1 when k = n.
func ClopperPearsonUpper(k, n int64, alpha float64) float64 {
	if n <= 0 || k >= n {
		return 1
	}
	if k < 0 {
		k = 0
	}
	return distuv.Beta{Alpha: float64(k + 1), Beta: float64(n - k)}.Quantile(1 - alpha)
}

// ClopperPearson is the two-sided exact interval at level 1-alpha: each
// side has alpha/2.
func ClopperPearson(k, n int64, alpha float64) (lower, upper float64) {
	return ClopperPearsonLower(k, n, alpha/2), ClopperPearsonUpper(k, n, alpha/2)
}

// NormalQuantile is Φ⁻¹(p) for the standard normal.
func NormalQuantile(p float64) float64 {
	return distuv.UnitNormal.Quantile(p)
}

// Multinomial draws one resample of total size sum(counts) from the
// multinomial with cell probabilities proportional to counts, writing the
// cell counts to out (len(out) == len(counts)). A nonparametric bootstrap of
// rows whose statistic depends on the data only through a table of cell
// counts (a confusion matrix per group) has exactly this distribution, so
// resampling the table costs O(cells) per replicate instead of O(rows).
// It draws by sequential conditional binomials.
func Multinomial(rng *rand.Rand, counts []int64, out []int64) {
	var total int64
	for _, c := range counts {
		total += c
	}
	remaining := total
	mass := float64(total)
	for i, c := range counts {
		if remaining == 0 || mass <= 0 {
			out[i] = 0
			continue
		}
		if i == len(counts)-1 || float64(c) >= mass {
			out[i] = remaining
			remaining = 0
			continue
		}
		p := float64(c) / mass
		var draw int64
		if c > 0 {
			draw = int64(distuv.Binomial{N: float64(remaining), P: p, Src: rng}.Rand())
		}
		out[i] = draw
		remaining -= draw
		mass -= float64(c)
	}
}

// Percentile returns the q-quantile (0 ≤ q ≤ 1) of sorted values with linear
// interpolation between order statistics (numpy's default "linear" method).
// NaN values must have been removed by the caller.
func Percentile(sorted []float64, q float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	h := q * float64(n-1)
	lo := math.Floor(h)
	i := int(lo)
	if i >= n-1 {
		return sorted[n-1]
	}
	return sorted[i] + (h-lo)*(sorted[i+1]-sorted[i])
}
