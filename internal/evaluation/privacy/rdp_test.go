package privacy

import (
	"errors"
	"math"
	"testing"
)

func relErr(got, want float64) float64 { return math.Abs(got-want) / math.Abs(want) }

// Opacus tests/accountants_test.py::test_rdp_accountant: σ = 1.5, q = 0.04,
// steps = int(90/0.04) = 2250, δ = 1e-5, default orders.
func TestEpsilonMatchesOpacus(t *testing.T) {
	eps, order, err := Epsilon(1.5, 0.04, 2250, 1e-5)
	if err != nil {
		t.Fatal(err)
	}
	const want = 7.32911117143
	if r := relErr(eps, want); r > 1e-9 {
		t.Fatalf("epsilon = %.12f, want %.11f (relative error %.2e > 1e-9)", eps, want, r)
	}
	// The optimum is an interior fractional order: not the first or last.
	orders := DefaultOrders()
	if order <= orders[0] || order >= orders[len(orders)-1] {
		t.Fatalf("best order %v is at the edge of the default orders", order)
	}
}

func TestDefaultOrders(t *testing.T) {
	o := DefaultOrders()
	if len(o) != 151 {
		t.Fatalf("len = %d, want 151", len(o))
	}
	if o[0] != 1.1 || o[98] != 10.9 || o[99] != 12 || o[150] != 63 {
		t.Fatalf("orders[0,98,99,150] = %v %v %v %v", o[0], o[98], o[99], o[150])
	}
	// 1 + 10/10 ... 1 + 90/10 must be exact integers so they take the integer formula.
	for x := 10; x < 100; x += 10 {
		if a := o[x-1]; a != math.Trunc(a) {
			t.Fatalf("order %d is %v, not an integer", x, a)
		}
	}
}

// With q = 1 there is no subsampling: the Gaussian mechanism's RDP is
// α/(2σ²) per step, so T steps give Tα/(2σ²) exactly.
func TestRDPFullBatchIsGaussian(t *testing.T) {
	orders := DefaultOrders()
	const sigma, steps = 1.3, 17
	rdp := RDP(1, sigma, steps, orders)
	for i, a := range orders {
		want := steps * a / (2 * sigma * sigma)
		if relErr(rdp[i], want) > 1e-15 {
			t.Fatalf("order %v: rdp = %v, want %v", a, rdp[i], want)
		}
	}
}

// Integer orders 2 and 3 have short closed forms from the binomial expansion
// A_α = Σ C(α,i) q^i (1-q)^(α-i) exp((i²-i)/(2σ²)):
// A_2 = 1 + q²(e^{1/σ²} - 1), and
// A_3 = (1-q)³ + 3q(1-q)² + 3q²(1-q)e^{1/σ²} + q³e^{3/σ²}; RDP = T·log(A_α)/(α-1).
func TestRDPIntegerOrdersClosedForm(t *testing.T) {
	for _, c := range []struct{ q, sigma float64 }{{0.01, 1}, {0.04, 1.5}, {0.3, 0.8}, {0.5, 4}} {
		q, s := c.q, c.sigma
		a2 := 1 + q*q*math.Expm1(1/(s*s))
		a3 := math.Pow(1-q, 3) + 3*q*(1-q)*(1-q) + 3*q*q*(1-q)*math.Exp(1/(s*s)) + q*q*q*math.Exp(3/(s*s))
		got := RDP(q, s, 10, []float64{2, 3})
		if want := 10 * math.Log(a2); relErr(got[0], want) > 1e-12 {
			t.Errorf("q=%v σ=%v α=2: %v, want %v", q, s, got[0], want)
		}
		if want := 10 * math.Log(a3) / 2; relErr(got[1], want) > 1e-12 {
			t.Errorf("q=%v σ=%v α=3: %v, want %v", q, s, got[1], want)
		}
	}
}

// The fractional-order series and the integer binomial expansion compute the
// same analytic function of α, so just off an integer they must agree with
// the integer value (an independent check of the series and its erfc tails).
func TestFractionalSeriesContinuousAtIntegers(t *testing.T) {
	for _, c := range []struct{ q, sigma float64 }{{0.04, 1.5}, {0.01, 0.9}, {0.2, 2}} {
		for _, a := range []int{2, 5, 12, 40} {
			exact := logAIntAlpha(c.q, c.sigma, a)
			near := logAFracAlpha(c.q, c.sigma, float64(a)+1e-7)
			if math.Abs(near-exact) > 1e-5*math.Max(1, math.Abs(exact)) {
				t.Errorf("q=%v σ=%v α=%d: series %v, expansion %v", c.q, c.sigma, a, near, exact)
			}
		}
	}
}

func TestEpsilonFromRDPConversion(t *testing.T) {
	// A constant curve (pure ε0-DP at every order) converted at one order.
	orders := []float64{2, 8}
	rdp := []float64{1.1, 1.1}
	const delta = 1e-5
	eps, order := EpsilonFromRDP(orders, rdp, delta)
	want8 := 1.1 - (math.Log(delta)+math.Log(8))/7 + math.Log(7.0/8)
	want2 := 1.1 - (math.Log(delta)+math.Log(2))/1 + math.Log(1.0/2)
	if want8 >= want2 || order != 8 || relErr(eps, want8) > 1e-15 {
		t.Fatalf("eps, order = %v, %v; want %v at 8 (vs %v at 2)", eps, order, want8, want2)
	}
	// NaN orders are skipped (order 1 divides by zero).
	eps, order = EpsilonFromRDP([]float64{1, 8}, []float64{1.1, 1.1}, delta)
	if order != 8 || relErr(eps, want8) > 1e-15 {
		t.Fatalf("with a NaN order: %v at %v", eps, order)
	}
	// All NaN: (+Inf, NaN) as Opacus.
	eps, order = EpsilonFromRDP([]float64{1}, []float64{math.NaN()}, delta)
	if !math.IsInf(eps, 1) || !math.IsNaN(order) {
		t.Fatalf("all NaN: %v at %v", eps, order)
	}
}

// Composition: two trainings' curves add, and ε of the sum exceeds each.
func TestCompositionAddsCurves(t *testing.T) {
	orders := DefaultOrders()
	a := RDP(0.01, 1.1, 1000, orders)
	b := RDP(0.01, 1.1, 2000, orders)
	both := RDP(0.01, 1.1, 3000, orders)
	sum := make([]float64, len(a))
	for i := range a {
		sum[i] = a[i] + b[i]
		if relErr(sum[i], both[i]) > 1e-12 {
			t.Fatalf("order %v: %v + %v != %v", orders[i], a[i], b[i], both[i])
		}
	}
	ea, _ := EpsilonFromRDP(orders, a, 1e-5)
	es, _ := EpsilonFromRDP(orders, sum, 1e-5)
	if es <= ea {
		t.Fatalf("composed ε %v not above single ε %v", es, ea)
	}
}

func TestEpsilonEdgeCases(t *testing.T) {
	// σ = 0: no privacy.
	eps, _, err := Epsilon(0, 0.01, 100, 1e-5)
	if !errors.Is(err, ErrNoPrivacy) || !math.IsInf(eps, 1) {
		t.Fatalf("σ=0: eps %v err %v", eps, err)
	}
	// q = 0: nothing is ever sampled, RDP is 0; ε is the conversion's floor,
	// min over α of -(log δ + log α)/(α-1) + log((α-1)/α).
	eps, order, err := Epsilon(1, 0, 100, 1e-5)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := EpsilonFromRDP(DefaultOrders(), make([]float64, 151), 1e-5)
	if eps != want || order != 63 {
		t.Fatalf("q=0: %v at %v, want %v at 63", eps, order, want)
	}
	// More noise, less ε; more steps, more ε.
	e1, _, _ := Epsilon(1.0, 0.01, 1000, 1e-5)
	e2, _, _ := Epsilon(2.0, 0.01, 1000, 1e-5)
	e3, _, _ := Epsilon(1.0, 0.01, 4000, 1e-5)
	if !(e2 < e1 && e1 < e3) {
		t.Fatalf("monotonicity: σ=1 %v, σ=2 %v, 4x steps %v", e1, e2, e3)
	}
	for _, bad := range []Params{
		{NoiseMultiplier: -1, SampleRate: 0.1, Steps: 1, Delta: 1e-5},
		{NoiseMultiplier: 1, SampleRate: 1.5, Steps: 1, Delta: 1e-5},
		{NoiseMultiplier: 1, SampleRate: 0.1, Steps: -1, Delta: 1e-5},
		{NoiseMultiplier: 1, SampleRate: 0.1, Steps: 1, Delta: 0},
		{NoiseMultiplier: 1, SampleRate: 0.1, Steps: 1, Delta: 1},
	} {
		if _, _, err := Epsilon(bad.NoiseMultiplier, bad.SampleRate, bad.Steps, bad.Delta); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

func TestLogErfcTail(t *testing.T) {
	// Where erfc still has full precision the asymptotic branch must agree.
	for _, x := range []float64{25, 26} {
		direct := math.Log(math.Erfc(x))
		t2 := 1 / (2 * x * x)
		asym := -x*x - math.Log(x) - 0.5*math.Log(math.Pi) + math.Log(1-t2+3*t2*t2-15*t2*t2*t2+105*t2*t2*t2*t2)
		if relErr(logErfc(x), direct) > 1e-13 || relErr(asym, direct) > 1e-13 {
			t.Fatalf("x=%v: logErfc %v, direct %v, asym %v", x, logErfc(x), direct, asym)
		}
	}
	if v := logErfc(40); math.IsInf(v, 0) || v > -1600 {
		t.Fatalf("logErfc(40) = %v", v)
	}
}

func BenchmarkEpsilonDefaultOrders(b *testing.B) {
	for b.Loop() {
		_, _, _ = Epsilon(1.5, 0.04, 2250, 1e-5)
	}
}

// For small σ the fractional-order series needs many thousands of terms;
// it used to recompute each binomial coefficient from scratch and took
// minutes. RDP is nondecreasing in α, so every fractional order must lie
// between its integer neighbours, which the exact binomial expansion gives
// independently.
func TestFractionalOrdersSmallSigma(t *testing.T) {
	for _, tc := range []struct{ q, sigma float64 }{{0.05, 0.8}, {0.05, 0.5}, {0.1, 1}, {0.01, 0.6}} {
		var orders []float64
		for a := 2.0; a <= 8; a++ {
			orders = append(orders, a, a+0.5)
		}
		rdp := RDP(tc.q, tc.sigma, 1, orders)
		for i := 1; i+1 < len(orders); i += 2 {
			lo, mid, hi := rdp[i-1], rdp[i], rdp[i+1]
			if math.IsNaN(mid) || mid < lo*(1-1e-9) || mid > hi*(1+1e-9) {
				t.Errorf("q=%g σ=%g: rdp(%g)=%g not within [rdp(%g)=%g, rdp(%g)=%g]", tc.q, tc.sigma, orders[i], mid, orders[i-1], lo, orders[i+1], hi)
			}
		}
		eps, _, err := Epsilon(tc.sigma, tc.q, 100, 1e-5)
		if err != nil || math.IsNaN(eps) || math.IsInf(eps, 0) || eps <= 0 {
			t.Errorf("q=%g σ=%g: Epsilon = %g, %v", tc.q, tc.sigma, eps, err)
		}
	}
}
