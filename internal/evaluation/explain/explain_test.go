package explain

import (
	"math"
	"math/rand/v2"
	"testing"
)

// affine is f(x) = w·x + b with no link function: its Shapley values
// against a background z are exactly w_j (x_j − z_j) for every order.
type affine struct {
	w []float64
	b float64
}

func (a affine) Score(x []float32, rows int, out []float32) error {
	f := len(a.w)
	for r := 0; r < rows; r++ {
		s := a.b
		for j, w := range a.w {
			s += w * float64(x[r*f+j])
		}
		out[r] = float32(s)
	}
	return nil
}

// logistic is σ(w·x + b).
type logistic struct{ affine }

func (l logistic) Score(x []float32, rows int, out []float32) error {
	if err := l.affine.Score(x, rows, out); err != nil {
		return err
	}
	for i := range out[:rows] {
		out[i] = float32(1 / (1 + math.Exp(-float64(out[i]))))
	}
	return nil
}

func randomRows(rng *rand.Rand, rows, f int) []float32 {
	x := make([]float32, rows*f)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// With a single background row z the estimate is exact: w_j (x_j − z_j).
func TestShapleyAffineClosedForm(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	m := affine{w: []float64{2, -1, 0, 0.5}, b: 0.3}
	x := randomRows(rng, 5, 4)
	z := randomRows(rng, 1, 4)
	phi, err := Shapley(m, x, 5, 4, z, 1, 7, 3, 64)
	if err != nil {
		t.Fatal(err)
	}
	for r := 0; r < 5; r++ {
		for j, w := range m.w {
			want := w * (float64(x[r*4+j]) - float64(z[j]))
			if math.Abs(phi[r*4+j]-want) > 1e-5 {
				t.Fatalf("row %d feature %d: φ %v, want %v", r, j, phi[r*4+j], want)
			}
		}
	}
}

// Efficiency for a nonlinear model: each walk's credits sum to
// f(x) − f(z), so with one background row Σ_j φ_j = f(x) − f(z); and
// symmetric features of equal weight get equal values in expectation.
func TestShapleyEfficiencyLogistic(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	m := logistic{affine{w: []float64{1.5, 1.5, -0.7}, b: 0.1}}
	x := randomRows(rng, 3, 3)
	z := randomRows(rng, 1, 3)
	phi, err := Shapley(m, x, 3, 3, z, 1, 4000, 5, 4096)
	if err != nil {
		t.Fatal(err)
	}
	fx := make([]float32, 3)
	fz := make([]float32, 1)
	_ = m.Score(x, 3, fx)
	_ = m.Score(z, 1, fz)
	for r := 0; r < 3; r++ {
		sum := phi[r*3] + phi[r*3+1] + phi[r*3+2]
		if want := float64(fx[r]) - float64(fz[0]); math.Abs(sum-want) > 1e-5 {
			t.Fatalf("row %d: Σφ %v, f(x)−f(z) %v", r, sum, want)
		}
	}
	// Same weight, same displacement → same value: construct it.
	xs := []float32{1, 1, 0}
	zs := []float32{0, 0, 0}
	phi, _ = Shapley(m, xs, 1, 3, zs, 1, 20000, 9, 4096)
	if math.Abs(phi[0]-phi[1]) > 0.01 {
		t.Fatalf("symmetric features: φ0 %v, φ1 %v", phi[0], phi[1])
	}
}

// A feature the model ignores has importance exactly 0; the model's only
// informative feature has importance near 1 − 2p(1−p) − (1 − base) where
// labels equal its sign (p = ½: 0.5).
func TestPermutationImportance(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	rows := 4000
	x := randomRows(rng, rows, 3)
	labels := make([]bool, rows)
	for i := range labels {
		labels[i] = x[i*3] > 0
	}
	m := logistic{affine{w: []float64{5, 0, 0.01}}}
	imp, base, err := PermutationImportance(m, x, rows, 3, labels, 0.5, 5, 1, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if base < 0.99 {
		t.Fatalf("baseline accuracy %v", base)
	}
	if imp[1].Mean != 0 || imp[1].Std != 0 {
		t.Fatalf("ignored feature: %+v", imp[1])
	}
	if math.Abs(imp[0].Mean-0.5) > 0.03 || imp[0].Std <= 0 || imp[0].Std > 0.03 {
		t.Fatalf("informative feature: %+v", imp[0])
	}
	if !(imp[2].Mean < imp[0].Mean) {
		t.Fatalf("ranking: %+v", imp)
	}
	if _, _, err := PermutationImportance(m, x, rows, 3, labels[:10], 0.5, 5, 1, 1024); err == nil {
		t.Fatal("label count mismatch accepted")
	}
}
