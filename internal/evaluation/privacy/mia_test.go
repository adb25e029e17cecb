package privacy

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Brute-force references: AUC over all pairs, advantage over all thresholds.
func pairAUC(m, n []float64) float64 {
	var s float64
	for _, a := range m {
		for _, b := range n {
			switch {
			case a < b:
				s++
			case a == b:
				s += 0.5
			}
		}
	}
	return s / float64(len(m)*len(n))
}

func bruteAdvantage(m, n []float64) float64 {
	best := 0.0
	for _, t := range append(append([]float64(nil), m...), n...) {
		var tp, fp float64
		for _, a := range m {
			if a <= t {
				tp++
			}
		}
		for _, b := range n {
			if b <= t {
				fp++
			}
		}
		best = math.Max(best, tp/float64(len(m))-fp/float64(len(n)))
	}
	return best
}

func TestAUCAndAdvantageMatchBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 20 {
		m := make([]float64, 30+rng.IntN(50))
		n := make([]float64, 30+rng.IntN(50))
		for i := range m {
			m[i] = math.Round(rng.ExpFloat64()*4) / 4 // ties on purpose
		}
		for i := range n {
			n[i] = math.Round((rng.ExpFloat64()+0.3)*4) / 4
		}
		if got, want := AUC(m, n), pairAUC(m, n); math.Abs(got-want) > 1e-12 {
			t.Fatalf("trial %d: AUC %v, pairs %v", trial, got, want)
		}
		if got, _ := bestAdvantage(m, n); math.Abs(got-bruteAdvantage(m, n)) > 1e-12 {
			t.Fatalf("trial %d: advantage %v, brute force %v", trial, got, bruteAdvantage(m, n))
		}
	}
}

// Perfect separation: the evaluation half (500 of each) has FPR = FNR = 0,
// whose 97.5% Clopper–Pearson upper bounds are 1 − 0.025^(1/500), so
// ε ≥ log((1 − δ − u)/u) with u that bound.
func TestAuditPerfectSeparationClosedForm(t *testing.T) {
	m := make([]float64, 1000)
	n := make([]float64, 1000)
	for i := range m {
		m[i] = 0.01 * float64(i) / 1000
		n[i] = 5 + float64(i)
	}
	const delta = 1e-5
	a, err := MembershipAudit(m, n, delta, 0.95, 7)
	if err != nil {
		t.Fatal(err)
	}
	u := 1 - math.Pow(0.025, 1.0/500)
	want := math.Log((1 - delta - u) / u)
	if a.AUC != 1 || a.Advantage != 1 || a.FPR != 0 || a.FNR != 0 {
		t.Fatalf("audit %+v", a)
	}
	if math.Abs(a.EpsilonLowerBound-want) > 1e-9 {
		t.Fatalf("ε lower bound %v, want %v", a.EpsilonLowerBound, want)
	}
}

// Members and non-members from the same distribution: no evidence of
// leakage, so the bound stays (almost always) at 0 and AUC near ½.
func TestAuditNoLeakage(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	m := make([]float64, 2000)
	n := make([]float64, 2000)
	for i := range m {
		m[i], n[i] = rng.ExpFloat64(), rng.ExpFloat64()
	}
	a, err := MembershipAudit(m, n, 1e-5, 0.95, 1)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(a.AUC-0.5) > 0.05 || a.EpsilonLowerBound > 0.2 {
		t.Fatalf("audit on identical distributions: %+v", a)
	}
	if _, err := MembershipAudit(m[:1], n, 1e-5, 0.95, 1); err == nil {
		t.Fatal("one member accepted")
	}
}

func TestEpsilonLowerBoundAndCrossEntropy(t *testing.T) {
	// FPR 0.1, FNR 0.2, δ 0: max(log(0.9/0.2), log(0.8/0.1)) = log 8.
	if got := EpsilonLowerBound(0.1, 0.2, 0); math.Abs(got-math.Log(8)) > 1e-12 {
		t.Fatalf("bound %v", got)
	}
	if got := EpsilonLowerBound(0.5, 0.5, 0); got != 0 {
		t.Fatalf("chance attack bound %v", got)
	}
	if got := CrossEntropy(0.8, true); math.Abs(got+math.Log(0.8)) > 1e-15 {
		t.Fatal(got)
	}
	if got := CrossEntropy(1, false); math.IsInf(got, 0) || math.Abs(got+math.Log(1e-7)) > 1e-6 {
		t.Fatal(got)
	}
}
