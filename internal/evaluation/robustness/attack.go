package robustness

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Attacker searches for the smallest L2 perturbation that changes a
// classifier's decision, seeing only its decisions (a decision-based attack
// after HopSkipJump, Chen, Jordan & Wainwright 2020): it finds any
// adversarial point with random directions of growing size, moves it onto
// the decision boundary by binary search, then repeatedly estimates the
// boundary's normal from the signs of a batch of random probes, steps along
// it and projects back to the boundary toward the input. Every model call
// counts against the query budget (a batch of k rows is k queries).
// Not safe for concurrent use.
type Attacker struct {
	Scorer    Scorer
	Features  int
	Threshold float32
	// Probes per gradient estimate (one batch).
	Probes int
	rng    *rand.Rand
	in     []float32
	out    []float32
	dirs   []float64
}

// NewAttacker makes an attacker with its own seeded random stream.
func NewAttacker(s Scorer, features int, threshold float32, seed uint64) *Attacker {
	a := &Attacker{Scorer: s, Features: features, Threshold: threshold, Probes: 64,
		rng: rand.New(rand.NewPCG(seed, 0xa77ac4))}
	a.in = make([]float32, a.Probes*features)
	a.out = make([]float32, a.Probes)
	a.dirs = make([]float64, a.Probes*features)
	return a
}

// Result is one attack's outcome.
type Result struct {
	// Norm is the L2 size of the best adversarial perturbation found;
	// +Inf when none was found within the budget, 0 when the input is
	// already misclassified.
	Norm    float64
	Queries int
}

// classify runs rows rows from a.in and returns how many queries it used.
func (a *Attacker) classify(rows int) error {
	return a.Scorer.Score(a.in[:rows*a.Features], rows, a.out[:rows])
}

func (a *Attacker) decide(x []float64) (int, error) {
	for j, v := range x {
		a.in[j] = float32(v)
	}
	if err := a.classify(1); err != nil {
		return 0, err
	}
	if a.out[0] >= a.Threshold {
		return 1, nil
	}
	return 0, nil
}

// Attack looks for a perturbation of x that changes the decision away from
// label, within budget queries. scale is the typical size of a feature (used
// to size the first random search).
func (a *Attacker) Attack(x []float32, label int, budget int, scale float64) (Result, error) {
	f := a.Features
	if len(x) != f {
		return Result{}, fmt.Errorf("attack: %d values, want %d", len(x), f)
	}
	res := Result{Norm: math.Inf(1)}
	x0 := make([]float64, f)
	for j, v := range x {
		x0[j] = float64(v)
	}
	c, err := a.decide(x0)
	res.Queries++
	if err != nil {
		return res, err
	}
	if c != label {
		res.Norm = 0
		return res, nil
	}
	adv := func(k int) bool { return (a.out[k] >= a.Threshold) != (label == 1) }

	// 1. Any adversarial point: batches of random directions, doubling size.
	var start []float64
	for s := scale / 4; start == nil && res.Queries+a.Probes <= budget && s < scale*1e4; s *= 2 {
		a.randomDirs(a.Probes)
		for k := 0; k < a.Probes; k++ {
			for j := 0; j < f; j++ {
				a.in[k*f+j] = float32(x0[j] + s*a.dirs[k*f+j])
			}
		}
		if err := a.classify(a.Probes); err != nil {
			return res, err
		}
		res.Queries += a.Probes
		for k := 0; k < a.Probes; k++ {
			if adv(k) {
				start = make([]float64, f)
				for j := range start {
					start[j] = x0[j] + s*a.dirs[k*f+j]
				}
				break
			}
		}
	}
	if start == nil {
		return res, nil
	}
	// 2. Onto the boundary.
	boundary, q, err := a.binarySearch(x0, start, label, budget-res.Queries)
	res.Queries += q
	if err != nil {
		return res, err
	}
	res.Norm = dist(x0, boundary)
	// 3. Gradient-direction steps along the boundary.
	cand := make([]float64, f)
	grad := make([]float64, f)
	for t := 1; res.Queries+a.Probes+20 <= budget && res.Norm > 0; t++ {
		d := res.Norm
		delta := math.Max(1e-3*d, 1e-6)
		a.randomDirs(a.Probes)
		for k := 0; k < a.Probes; k++ {
			for j := 0; j < f; j++ {
				a.in[k*f+j] = float32(boundary[j] + delta*a.dirs[k*f+j])
			}
		}
		if err := a.classify(a.Probes); err != nil {
			return res, err
		}
		res.Queries += a.Probes
		// Sign-based estimate with the mean sign as baseline (HSJA eq. 16).
		var mean float64
		signs := make([]float64, a.Probes)
		for k := range signs {
			signs[k] = -1
			if adv(k) {
				signs[k] = 1
			}
			mean += signs[k]
		}
		mean /= float64(a.Probes)
		for j := range grad {
			grad[j] = 0
		}
		for k := 0; k < a.Probes; k++ {
			w := signs[k] - mean
			if math.Abs(mean) == 1 {
				w = signs[k]
			}
			for j := 0; j < f; j++ {
				grad[j] += w * a.dirs[k*f+j]
			}
		}
		gn := norm(grad)
		if gn == 0 {
			continue
		}
		// Geometric step size, halved until the step stays adversarial.
		xi := d / math.Sqrt(float64(t))
		found := false
		for res.Queries < budget {
			for j := range cand {
				cand[j] = boundary[j] + xi*grad[j]/gn
			}
			c, err := a.decide(cand)
			res.Queries++
			if err != nil {
				return res, err
			}
			if c != label {
				found = true
				break
			}
			xi /= 2
			if xi < 1e-9*d {
				break
			}
		}
		if !found {
			break
		}
		nb, q, err := a.binarySearch(x0, cand, label, budget-res.Queries)
		res.Queries += q
		if err != nil {
			return res, err
		}
		if nd := dist(x0, nb); nd < res.Norm {
			res.Norm = nd
			boundary = nb
		}
	}
	return res, nil
}

// binarySearch narrows the segment from x0 (class label) to adv (not) to a
// point on the adversarial side within 1e-4 of the segment length, using at
// most budget queries.
func (a *Attacker) binarySearch(x0, adv []float64, label, budget int) ([]float64, int, error) {
	lo, hi := 0.0, 1.0 // fractions toward adv; hi is adversarial
	p := make([]float64, len(x0))
	q := 0
	for hi-lo > 1e-4 && q < budget {
		mid := (lo + hi) / 2
		for j := range p {
			p[j] = x0[j] + mid*(adv[j]-x0[j])
		}
		c, err := a.decide(p)
		q++
		if err != nil {
			return nil, q, err
		}
		if c != label {
			hi = mid
		} else {
			lo = mid
		}
	}
	for j := range p {
		p[j] = x0[j] + hi*(adv[j]-x0[j])
	}
	return p, q, nil
}

// randomDirs fills the first k rows of a.dirs with uniform random unit
// vectors.
func (a *Attacker) randomDirs(k int) {
	f := a.Features
	for i := 0; i < k; i++ {
		row := a.dirs[i*f : (i+1)*f]
		var s float64
		for j := range row {
			row[j] = a.rng.NormFloat64()
			s += row[j] * row[j]
		}
		s = math.Sqrt(s)
		for j := range row {
			row[j] /= s
		}
	}
}

func dist(a, b []float64) float64 {
	var s float64
	for i := range a {
		d := a[i] - b[i]
		s += d * d
	}
	return math.Sqrt(s)
}

func norm(a []float64) float64 {
	var s float64
	for _, v := range a {
		s += v * v
	}
	return math.Sqrt(s)
}
