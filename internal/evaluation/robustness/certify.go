// Package robustness measures a binary classifier's robustness to L2
// perturbations of its input: randomized-smoothing certification (Cohen,
// Rosenfeld & Kolter 2019), a lower bound on the radius within which the
// smoothed classifier's prediction cannot change, and a decision-based
// attack that finds actual adversarial examples using only predictions, an
// empirical upper bound.
package robustness

import (
	"fmt"
	"math"

	"github.com/responsible-ai/rmodel-operator/internal/evaluation/stats"
)

// Scorer returns P(class 1) for each of rows rows of features.
type Scorer interface {
	Score(features []float32, rows int, out []float32) error
}

// Certificate is CERTIFY's answer for one input.
type Certificate struct {
	// Class is the smoothed classifier's prediction (0 or 1); -1 abstains.
	Class int
	// PLower is the one-sided Clopper–Pearson lower bound on the top
	// class's probability under noise.
	PLower float64
	// Radius is σ·Φ⁻¹(PLower) when not abstaining, else 0.
	Radius float64
}

// Certify applies Cohen et al.'s CERTIFY to a binary classifier's counts:
// ones0 of n0 selection samples fell in class 1, which picks the class ĉA
// (ties to class 1); onesN of n estimation samples fell in class 1, so ĉA
// got nA of them. pA = the α lower Clopper–Pearson bound on nA/n; abstain
// when pA < ½, else certify radius σ·Φ⁻¹(pA). The guarantee: with
// probability at least 1 − α the smoothed classifier's prediction is ĉA on
// the whole L2 ball of that radius.
func Certify(ones0, n0, onesN, n int64, alpha, sigma float64) Certificate {
	cA := 0
	if 2*ones0 >= n0 {
		cA = 1
	}
	nA := onesN
	if cA == 0 {
		nA = n - onesN
	}
	p := stats.ClopperPearsonLower(nA, n, alpha)
	if p < 0.5 {
		return Certificate{Class: -1, PLower: p}
	}
	return Certificate{Class: cA, PLower: p, Radius: sigma * stats.NormalQuantile(p)}
}

// Counts are the noisy-sample tallies of one row.
type Counts struct {
	Ones0, OnesN int64 // class-1 predictions among the n0 and the n samples
}

// Smoother draws Gaussian-noise copies of rows and counts the classifier's
// predictions, packing the samples of consecutive rows into full batches so
// that small n still runs at full batch size. Noise for row id comes from a
// Gauss seeded with (Seed, id): the counts of a row do not depend on which
// goroutine handles it or what else shares its batches. Not safe for
// concurrent use; make one per worker.
type Smoother struct {
	Scorer    Scorer
	Features  int
	Batch     int
	Sigma     float32
	Threshold float32
	Seed      uint64

	in    []float32
	out   []float32
	segs  []segment // the batch's runs of samples of one row and phase
	tally []int64
	gauss Gauss
}

// segment is a run of consecutive batch slots, [start, end), holding
// samples of one row and phase: tally index 2·(row in the call) + phase
// (0 selection, 1 estimation).
type segment struct {
	start, end int
	tally      int
}

// InputBuffer is implemented by scorers that let the caller fill their
// input buffer directly (saving a copy per batch), such as the onnxruntime
// scorer.
type InputBuffer interface {
	InputBuffer(rows int) []float32
}

func (s *Smoother) init() {
	if s.in == nil {
		if ib, ok := s.Scorer.(InputBuffer); ok {
			s.in = ib.InputBuffer(s.Batch)
		} else {
			s.in = make([]float32, s.Batch*s.Features)
		}
		s.out = make([]float32, s.Batch)
	}
}

// Count draws n0 + n noisy samples of each row of xs (row-major, Features
// values per row), whose stable ids are ids, and writes the tallies to out.
func (s *Smoother) Count(xs []float32, ids []int64, n0, n int, out []Counts) error {
	s.init()
	f := s.Features
	if len(xs) != len(ids)*f || len(out) < len(ids) {
		return fmt.Errorf("smoother: %d values for %d rows of %d features", len(xs), len(ids), f)
	}
	// tally[2·row + phase] counts class-1 predictions, added branch-free
	// (the class of a noisy sample near the boundary is a coin flip) into
	// a register per segment.
	if cap(s.tally) < 2*len(ids) {
		s.tally = make([]int64, 2*len(ids))
	}
	tally := s.tally[:2*len(ids)]
	clear(tally)
	fill := 0
	flush := func() error {
		if fill == 0 {
			return nil
		}
		if err := s.Scorer.Score(s.in[:fill*f], fill, s.out[:fill]); err != nil {
			return err
		}
		for _, sg := range s.segs {
			var ones int64
			for _, p := range s.out[sg.start:sg.end] {
				d := p - s.Threshold
				d += 0 // −0 → +0, so equality counts as class 1
				ones += int64(1 - math.Float32bits(d)>>31)
			}
			tally[sg.tally] += ones
		}
		fill, s.segs = 0, s.segs[:0]
		return nil
	}
	total := n0 + n
	for r, id := range ids {
		s.gauss.Seed(s.Seed, uint64(id))
		x := xs[r*f : (r+1)*f]
		for k := 0; k < total; {
			chunk := min(total-k, s.Batch-fill)
			s.gauss.AddNoiseRows(s.in[fill*f:(fill+chunk)*f], x, chunk, s.Sigma)
			// The chunk's selection samples (k < n0), then its estimation
			// samples.
			sel := max(0, min(chunk, n0-k))
			if sel > 0 {
				s.segs = append(s.segs, segment{fill, fill + sel, 2 * r})
			}
			if sel < chunk {
				s.segs = append(s.segs, segment{fill + sel, fill + chunk, 2*r + 1})
			}
			fill += chunk
			k += chunk
			if fill == s.Batch {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	for i := range ids {
		out[i] = Counts{Ones0: tally[2*i], OnesN: tally[2*i+1]}
	}
	return nil
}

// NoiseOnly fills buf with Gaussian noise the way Count does, without
// inference: the benchmark's measure of the sampling cost alone.
func (s *Smoother) NoiseOnly(x []float32, id int64, samples int) {
	s.init()
	s.gauss.Seed(s.Seed, uint64(id))
	for k := 0; k < samples; k += s.Batch {
		s.gauss.AddNoiseRows(s.in, x, min(s.Batch, samples-k), s.Sigma)
	}
}

// ExactLinearRadius is the distance from x to the hyperplane w·x + b = 0:
// |w·x + b| / ‖w‖. For a linear classifier under Gaussian noise the smoothed
// classifier equals the base classifier and this is its exact certified
// radius: σ·Φ⁻¹(Φ(|w·x+b|/(σ‖w‖))).
func ExactLinearRadius(w []float32, b float32, x []float32) float64 {
	var dot, norm float64
	for i := range w {
		dot += float64(w[i]) * float64(x[i])
		norm += float64(w[i]) * float64(w[i])
	}
	return math.Abs(dot+float64(b)) / math.Sqrt(norm)
}
