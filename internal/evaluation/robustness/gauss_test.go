package robustness

import (
	"math"
	"sort"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// checkStandardNormal fails unless v looks like len(v) independent N(0, 1)
// draws: mean, variance, skewness and excess kurtosis each within 5
// standard errors of 0, 1, 0, 0 (1/√n, √(2/n), √(6/n), √(24/n)); the
// Kolmogorov–Smirnov distance to Φ below its α = 0.001 critical value
// 1.95/√n; and the counts beyond ±r for both ziggurats' tail starts
// (beyond them only the separate tail algorithm answers) within 5 standard
// deviations of n·2(1 − Φ(r)). v is sorted.
func checkStandardNormal(t *testing.T, v []float64) {
	t.Helper()
	n := float64(len(v))
	var m1 float64
	for _, x := range v {
		m1 += x
	}
	m1 /= n
	var m2, m3, m4 float64
	for _, x := range v {
		d := x - m1
		m2 += d * d
		m3 += d * d * d
		m4 += d * d * d * d
	}
	m2, m3, m4 = m2/n, m3/n, m4/n
	skew, kurt := m3/math.Pow(m2, 1.5), m4/(m2*m2)-3
	if math.Abs(m1) > 5/math.Sqrt(n) || math.Abs(m2-1) > 5*math.Sqrt(2/n) ||
		math.Abs(skew) > 5*math.Sqrt(6/n) || math.Abs(kurt) > 5*math.Sqrt(24/n) {
		t.Fatalf("moments of %v draws: mean %v, variance %v, skewness %v, excess kurtosis %v", n, m1, m2, skew, kurt)
	}
	sort.Float64s(v)
	var d float64
	for i, x := range v {
		c := distuv.UnitNormal.CDF(x)
		d = math.Max(d, math.Max(math.Abs(c-float64(i)/n), math.Abs(float64(i+1)/n-c)))
	}
	if d > 1.95/math.Sqrt(n) {
		t.Fatalf("Kolmogorov–Smirnov distance %v > %v", d, 1.95/math.Sqrt(n))
	}
	for _, r := range []float64{zig32.r, zig24.r} {
		tail := 0
		for _, x := range v {
			if math.Abs(x) > r {
				tail++
			}
		}
		want := 2 * distuv.UnitNormal.CDF(-r) * n
		if math.Abs(float64(tail)-want) > 5*math.Sqrt(want) {
			t.Fatalf("%d draws beyond ±%v, want %.0f ± %.0f", tail, r, want, 5*math.Sqrt(want))
		}
	}
}

// Norm (the 128-layer ziggurat, 32-bit draws) is N(0, 1), and Seed makes
// it reproducible.
func TestGaussIsStandardNormal(t *testing.T) {
	var g Gauss
	g.Seed(1, 2)
	v := make([]float64, 1<<21)
	for i := range v {
		v[i] = g.Norm()
	}
	checkStandardNormal(t, v)
	// Reproducible per seed, different across seeds.
	var a, b, c Gauss
	a.Seed(7, 1)
	b.Seed(7, 1)
	c.Seed(7, 2)
	if a.Norm() != b.Norm() || a.Norm() == c.Norm() {
		t.Fatal("seeding")
	}
}

// AddNoiseRows's 24-bit draws (256 layers, the redone draws from the aux
// stream) are N(0, 1) too, for even and odd widths and σ ≠ 1: the same
// checks on (dst − x)/σ.
func TestAddNoiseIsStandardNormal(t *testing.T) {
	for _, f := range []int{16, 3} {
		var g Gauss
		g.Seed(3, uint64(f))
		rows := (1 << 21) / f
		x := make([]float32, f)
		for j := range x {
			x[j] = float32(j) - 1
		}
		const sigma = 0.25
		dst := make([]float32, rows*f)
		g.AddNoiseRows(dst, x, rows, sigma)
		v := make([]float64, len(dst))
		for i, y := range dst {
			v[i] = (float64(y) - float64(x[i%f])) / sigma
		}
		checkStandardNormal(t, v)
	}
	// The slow path runs as often as the tables say: the share of draws
	// outside their rectangle is 1 − mean(k[i])/2^23 (about 1.5%).
	var g Gauss
	g.Seed(5, 6)
	var out, inRect float64
	const words = 1 << 20
	for range words {
		u := g.Uint64()
		for _, h := range []uint32{uint32(u), uint32(u >> 32)} {
			if !inside24(h) {
				out++
			}
		}
	}
	for _, k := range zig24.k {
		inRect += float64(k) / (1 << 23) / 256
	}
	want := (1 - inRect) * 2 * words
	if math.Abs(out-want) > 5*math.Sqrt(want) || out/(2*words) > 0.016 {
		t.Fatalf("%v of %v draws outside their rectangle, want %.0f", out, 2*words, want)
	}
}

// AddNoiseRows consumes the same stream whether rows come in one call or
// one at a time (for odd and even widths, and widths longer than a block),
// so a Smoother's counts do not depend on how it packs its batches.
func TestAddNoiseRowsMatchesAddNoise(t *testing.T) {
	for _, f := range []int{1, 3, 16, 1101, 4099} {
		x := make([]float32, f)
		for i := range x {
			x[i] = float32(i)
		}
		var a, b Gauss
		a.Seed(1, uint64(f))
		b.Seed(1, uint64(f))
		const rows = 300
		all := make([]float32, rows*f)
		a.AddNoiseRows(all, x, rows, 0.5)
		one := make([]float32, f)
		for r := range rows {
			b.AddNoise(one, x, 0.5)
			for j := range one {
				if all[r*f+j] != one[j] {
					t.Fatalf("f=%d row %d value %d: %v vs %v", f, r, j, all[r*f+j], one[j])
				}
			}
		}
	}
}

func BenchmarkGaussNorm(b *testing.B) {
	var g Gauss
	var s float64
	for b.Loop() {
		s += g.Norm()
	}
	_ = s
}

func BenchmarkAddNoise16(b *testing.B) {
	var g Gauss
	x := make([]float32, 16)
	dst := make([]float32, 16)
	for b.Loop() {
		g.AddNoise(dst, x, 0.25)
	}
}

// BenchmarkAddNoiseRows fills a Smoother's batch (4096 rows of 16
// features); ns/normal is the figure docs/benchmarks.md quotes.
func BenchmarkAddNoiseRows(b *testing.B) {
	var g Gauss
	x := make([]float32, 16)
	dst := make([]float32, 16*4096)
	for b.Loop() {
		g.AddNoiseRows(dst, x, 4096, 0.25)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(dst)), "ns/normal")
}

// The wedge's squeeze decides every point as y < exp(−x²/2) itself would,
// in every layer of both ziggurats, and leaves few points to the
// exponential.
func TestUnderCurveMatchesExp(t *testing.T) {
	var w wyrand = 9
	for _, z := range []*ziggurat{zig32, zig24} {
		m1 := float64(int64(1) << 31)
		if z == zig24 {
			m1 = 1 << 23
		}
		undecided, total := 0, 0
		for i := 1; i < len(z.k); i++ {
			for range 2000 {
				// An abscissa outside the rectangle, a height in the layer.
				j := float64(z.k[i]) + w.uniform()*(m1-float64(z.k[i]))
				x := j * z.w[i]
				y := z.f[i] + w.uniform()*(z.f[i-1]-z.f[i])
				if got, want := z.underCurve(i, x, y), y < math.Exp(-0.5*x*x); got != want {
					t.Fatalf("layer %d of %d, x %v, y %v: underCurve %v, exp says %v", i, len(z.k), x, y, got, want)
				}
				dt := 0.5*x*x - z.ta[i]
				if !(y < z.f[i-1]*(1-dt)) && !(dt >= 0 && y > z.f[i-1]+dt*z.slope[i]) {
					undecided++
				}
				total++
			}
		}
		if frac := float64(undecided) / float64(total); frac > 0.1 {
			t.Errorf("%d layers: %.1f%% of wedge points need the exponential", len(z.k), 100*frac)
		} else {
			t.Logf("%d layers: %.2f%% of wedge points need the exponential", len(z.k), 100*frac)
		}
	}
}
