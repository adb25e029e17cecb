package robustness

import (
	"math"
	"sort"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// The ziggurat's output must be N(0, 1): moments, a Kolmogorov–Smirnov
// test against Φ, and the two tails beyond ±3.44 (the base layer, sampled
// by the separate tail algorithm) at their exact probability.
func TestGaussIsStandardNormal(t *testing.T) {
	var g Gauss
	g.Seed(1, 2)
	const n = 1 << 21
	v := make([]float64, n)
	var m1, m2, m4 float64
	tail := 0
	for i := range v {
		x := g.Norm()
		v[i] = x
		m1 += x
		m2 += x * x
		m4 += x * x * x * x
		if math.Abs(x) > zigR {
			tail++
		}
	}
	m1, m2, m4 = m1/n, m2/n, m4/n
	// Standard errors: mean 1/√n, variance √(2/n), fourth moment √(96/n).
	if math.Abs(m1) > 5/math.Sqrt(n) || math.Abs(m2-1) > 5*math.Sqrt(2.0/n) || math.Abs(m4-3) > 5*math.Sqrt(96.0/n) {
		t.Fatalf("moments: mean %v, variance %v, fourth %v", m1, m2, m4)
	}
	sort.Float64s(v)
	var d float64
	for i, x := range v {
		c := distuv.UnitNormal.CDF(x)
		d = math.Max(d, math.Max(math.Abs(c-float64(i)/n), math.Abs(float64(i+1)/n-c)))
	}
	// KS critical value at α = 0.001 is 1.95/√n.
	if d > 1.95/math.Sqrt(n) {
		t.Fatalf("Kolmogorov–Smirnov distance %v > %v", d, 1.95/math.Sqrt(n))
	}
	p := 2 * distuv.UnitNormal.CDF(-zigR)
	want := p * n
	if math.Abs(float64(tail)-want) > 5*math.Sqrt(want) {
		t.Fatalf("%d draws beyond ±%v, want %.0f ± %.0f", tail, zigR, want, 5*math.Sqrt(want))
	}
	// Reproducible per seed, different across seeds.
	var a, b, c Gauss
	a.Seed(7, 1)
	b.Seed(7, 1)
	c.Seed(7, 2)
	if a.Norm() != b.Norm() || a.Norm() == c.Norm() {
		t.Fatal("seeding")
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

// AddNoise's 24-bit draws are N(0, 1) too: the same moment, KS and tail
// checks on its output.
func TestAddNoiseIsStandardNormal(t *testing.T) {
	var g Gauss
	g.Seed(3, 4)
	const n = 1 << 21
	x := make([]float32, n)
	v32 := make([]float32, n)
	g.AddNoise(v32, x, 1)
	v := make([]float64, n)
	var m1, m2, m4 float64
	tail := 0
	for i, z := range v32 {
		x := float64(z)
		v[i] = x
		m1 += x
		m2 += x * x
		m4 += x * x * x * x
		if math.Abs(x) > zigR {
			tail++
		}
	}
	m1, m2, m4 = m1/n, m2/n, m4/n
	if math.Abs(m1) > 5/math.Sqrt(n) || math.Abs(m2-1) > 5*math.Sqrt(2.0/n) || math.Abs(m4-3) > 5*math.Sqrt(96.0/n) {
		t.Fatalf("moments: mean %v, variance %v, fourth %v", m1, m2, m4)
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
	want := 2 * distuv.UnitNormal.CDF(-zigR) * n
	if math.Abs(float64(tail)-want) > 5*math.Sqrt(want) {
		t.Fatalf("%d draws beyond ±%v, want %.0f", tail, zigR, want)
	}
}

func BenchmarkAddNoise16(b *testing.B) {
	var g Gauss
	x := make([]float32, 16)
	dst := make([]float32, 16)
	for b.Loop() {
		g.AddNoise(dst, x, 0.25)
	}
}

// AddNoiseRows consumes the same stream as repeated AddNoise, for odd and
// even widths.
func TestAddNoiseRowsMatchesAddNoise(t *testing.T) {
	for _, f := range []int{1, 3, 16} {
		x := make([]float32, f)
		for i := range x {
			x[i] = float32(i)
		}
		var a, b Gauss
		a.Seed(1, uint64(f))
		b.Seed(1, uint64(f))
		rows := make([]float32, 50*f)
		a.AddNoiseRows(rows, x, 50, 0.5)
		one := make([]float32, f)
		for r := 0; r < 50; r++ {
			b.AddNoise(one, x, 0.5)
			for j := range one {
				if rows[r*f+j] != one[j] {
					t.Fatalf("f=%d row %d: %v vs %v", f, r, rows[r*f:(r+1)*f], one)
				}
			}
		}
	}
}
