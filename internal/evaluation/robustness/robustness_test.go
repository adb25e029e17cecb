package robustness

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/responsible-ai/rmodel-operator/internal/evaluation/stats"
)

// linear is a Go logistic regression σ(w·x + b), the closed-form reference.
type linear struct {
	w []float32
	b float32
}

func (l linear) Score(x []float32, rows int, out []float32) error {
	f := len(l.w)
	for r := 0; r < rows; r++ {
		z := float64(l.b)
		for j, w := range l.w {
			z += float64(w) * float64(x[r*f+j])
		}
		out[r] = float32(1 / (1 + math.Exp(-z)))
	}
	return nil
}

func TestCertifyRules(t *testing.T) {
	// All n samples agree: pA = α^(1/n), radius σΦ⁻¹(α^(1/n)).
	c := Certify(100, 100, 1000, 1000, 0.001, 0.5)
	want := 0.5 * stats.NormalQuantile(math.Pow(0.001, 1.0/1000))
	if c.Class != 1 || math.Abs(c.Radius-want) > 1e-12 {
		t.Fatalf("%+v, want radius %v", c, want)
	}
	// Class 0 selected; nA counts the zeros.
	c = Certify(10, 100, 100, 1000, 0.001, 0.5)
	if c.Class != 0 || c.PLower <= 0.85 {
		t.Fatalf("class 0: %+v", c)
	}
	// 520 of 1000: the lower bound falls below ½, abstain.
	c = Certify(60, 100, 520, 1000, 0.001, 0.5)
	if c.Class != -1 || c.Radius != 0 || c.PLower >= 0.5 {
		t.Fatalf("abstain: %+v", c)
	}
}

// Linear classifier: the exact certified radius is |w·x+b|/‖w‖. CERTIFY's
// radius stays below it (but for at most an α share of rows) and
// approaches it as n grows.
func TestCertifyLinearClosedForm(t *testing.T) {
	lin := linear{w: []float32{0.8, -0.6, 0.3}, b: 0.1}
	const sigma, alpha = 0.5, 0.001
	rng := rand.New(rand.NewPCG(1, 1))
	rows := 40
	xs := make([]float32, rows*3)
	ids := make([]int64, rows)
	for i := range xs {
		xs[i] = float32(rng.NormFloat64() * 0.4)
	}
	for i := range ids {
		ids[i] = int64(i)
	}
	gap := map[int]float64{}
	for _, n := range []int{1000, 100000} {
		s := &Smoother{Scorer: lin, Features: 3, Batch: 4096, Sigma: sigma, Threshold: 0.5, Seed: 7}
		counts := make([]Counts, rows)
		if err := s.Count(xs, ids, 100, n, counts); err != nil {
			t.Fatal(err)
		}
		above, certified := 0, 0
		for r := 0; r < rows; r++ {
			exact := ExactLinearRadius(lin.w, lin.b, xs[r*3:(r+1)*3])
			c := Certify(counts[r].Ones0, 100, counts[r].OnesN, int64(n), alpha, sigma)
			if c.Class < 0 {
				continue
			}
			certified++
			if c.Radius > exact {
				above++
			}
			gap[n] += exact - c.Radius
		}
		if above > 1 { // α = 0.001 over 40 rows: more than one violation is evidence of a bug
			t.Fatalf("n=%d: %d certified radii above the exact radius", n, above)
		}
		gap[n] /= float64(certified)
		if certified < rows/2 {
			t.Fatalf("n=%d: only %d of %d rows certified", n, certified, rows)
		}
	}
	if !(gap[100000] < gap[1000]/2) {
		t.Fatalf("mean gap to the exact radius: n=1000 %v, n=100000 %v; want it to shrink", gap[1000], gap[100000])
	}
	// Counts do not depend on batch packing: batch 7 gives the same.
	s1 := &Smoother{Scorer: lin, Features: 3, Batch: 7, Sigma: sigma, Threshold: 0.5, Seed: 7}
	s2 := &Smoother{Scorer: lin, Features: 3, Batch: 4096, Sigma: sigma, Threshold: 0.5, Seed: 7}
	c1, c2 := make([]Counts, rows), make([]Counts, rows)
	_ = s1.Count(xs, ids, 10, 300, c1)
	_ = s2.Count(xs, ids, 10, 300, c2)
	for i := range c1 {
		if c1[i] != c2[i] {
			t.Fatalf("row %d: batch 7 %+v, batch 4096 %+v", i, c1[i], c2[i])
		}
	}
}

// The decision-based attack finds a perturbation no smaller than the exact
// distance (it is a real adversarial example) and, within its budget,
// close to it.
func TestAttackLinearApproachesExactDistance(t *testing.T) {
	lin := linear{w: []float32{0.8, -0.6, 0.3, 0.2, -0.1}, b: 0.1}
	rng := rand.New(rand.NewPCG(3, 3))
	a := NewAttacker(lin, 5, 0.5, 11)
	for i := 0; i < 20; i++ {
		x := make([]float32, 5)
		for j := range x {
			x[j] = float32(rng.NormFloat64())
		}
		label := 0
		if lin.w[0]*x[0]+lin.w[1]*x[1]+lin.w[2]*x[2]+lin.w[3]*x[3]+lin.w[4]*x[4]+lin.b >= 0 {
			label = 1
		}
		exact := ExactLinearRadius(lin.w, lin.b, x)
		res, err := a.Attack(x, label, 2000, 1)
		if err != nil {
			t.Fatal(err)
		}
		if res.Queries > 2000 {
			t.Fatalf("row %d: %d queries over the budget", i, res.Queries)
		}
		if res.Norm < exact*(1-1e-4)-1e-6 || res.Norm > exact*1.05+1e-3 {
			t.Fatalf("row %d: attack norm %v, exact distance %v (queries %d)", i, res.Norm, exact, res.Queries)
		}
	}
	// A misclassified input needs no perturbation.
	if res, _ := a.Attack([]float32{5, 0, 0, 0, 0}, 0, 100, 1); res.Norm != 0 {
		t.Fatalf("misclassified: %+v", res)
	}
}
