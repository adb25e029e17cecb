// Package explain ranks a model's input features: permutation importance
// (Breiman 2001; scikit-learn's permutation_importance with accuracy as the
// score) and sampled Shapley values (permutation sampling, Castro, Gómez &
// Tejada 2009; Štrumbelj & Kononenko 2014) of the model's P(favorable).
package explain

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Scorer returns P(favorable) for each of rows rows of features.
type Scorer interface {
	Score(features []float32, rows int, out []float32) error
}

// scoreAll scores rows rows of x in batches of at most batch rows.
func scoreAll(s Scorer, x []float32, rows, f, batch int, out []float32) error {
	for lo := 0; lo < rows; lo += batch {
		hi := min(rows, lo+batch)
		if err := s.Score(x[lo*f:hi*f], hi-lo, out[lo:hi]); err != nil {
			return err
		}
	}
	return nil
}

// Importance is one feature's permutation importance over repeats.
type Importance struct {
	Mean, Std float64 // std with ddof 0, as scikit-learn reports it
}

// PermutationImportance is the drop in accuracy (prediction = score ≥
// threshold) when one feature's column is shuffled among the rows, for
// each feature, repeated `repeats` times with a seeded shuffle. It returns
// the unshuffled accuracy too.
func PermutationImportance(s Scorer, x []float32, rows, f int, labels []bool, threshold float32, repeats int, seed uint64, batch int) ([]Importance, float64, error) {
	if rows < 2 || repeats < 1 || len(x) != rows*f || len(labels) != rows {
		return nil, 0, fmt.Errorf("permutation importance: %d rows of %d features (%d values, %d labels), %d repeats", rows, f, len(x), len(labels), repeats)
	}
	scores := make([]float32, rows)
	accuracy := func(data []float32) (float64, error) {
		if err := scoreAll(s, data, rows, f, batch, scores); err != nil {
			return 0, err
		}
		correct := 0
		for i, p := range scores {
			if (p >= threshold) == labels[i] {
				correct++
			}
		}
		return float64(correct) / float64(rows), nil
	}
	base, err := accuracy(x)
	if err != nil {
		return nil, 0, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x9e7))
	work := make([]float32, len(x))
	perm := make([]int, rows)
	out := make([]Importance, f)
	drops := make([]float64, repeats)
	for j := 0; j < f; j++ {
		for r := 0; r < repeats; r++ {
			copy(work, x)
			for i := range perm {
				perm[i] = i
			}
			rng.Shuffle(rows, func(a, b int) { perm[a], perm[b] = perm[b], perm[a] })
			for i := 0; i < rows; i++ {
				work[i*f+j] = x[perm[i]*f+j]
			}
			acc, err := accuracy(work)
			if err != nil {
				return nil, 0, err
			}
			drops[r] = base - acc
		}
		var mean float64
		for _, d := range drops {
			mean += d
		}
		mean /= float64(repeats)
		var v float64
		for _, d := range drops {
			v += (d - mean) * (d - mean)
		}
		out[j] = Importance{Mean: mean, Std: math.Sqrt(v / float64(repeats))}
	}
	return out, base, nil
}

// Shapley estimates each row's Shapley values of P(favorable) by
// permutation sampling against a background sample: for each of
// `permutations` draws of an order π and a background row z, it walks from
// z to x switching one feature at a time in π's order, and credits each
// feature with the change in the model's output when it switched. Each walk
// is F+1 model calls in one batch and gives every feature one unbiased
// sample; a walk's credits sum to f(x) − f(z) exactly (efficiency). It
// returns phi (rows × F, row-major).
func Shapley(s Scorer, x []float32, rows, f int, background []float32, bgRows, permutations int, seed uint64, batch int) ([]float64, error) {
	if bgRows < 1 || permutations < 1 || len(background) != bgRows*f || len(x) != rows*f {
		return nil, fmt.Errorf("shapley: %d rows, %d background rows of %d features, %d permutations", rows, bgRows, f, permutations)
	}
	rng := rand.New(rand.NewPCG(seed, 0x5a4))
	walk := f + 1
	perWalkBatch := max(1, batch/walk)
	in := make([]float32, perWalkBatch*walk*f)
	out := make([]float32, perWalkBatch*walk)
	orders := make([][]int, perWalkBatch)
	for k := range orders {
		orders[k] = make([]int, f)
	}
	phi := make([]float64, rows*f)
	for r := 0; r < rows; r++ {
		xr := x[r*f : (r+1)*f]
		for done := 0; done < permutations; {
			n := min(perWalkBatch, permutations-done)
			for k := 0; k < n; k++ {
				ord := orders[k]
				for i := range ord {
					ord[i] = i
				}
				rng.Shuffle(f, func(a, b int) { ord[a], ord[b] = ord[b], ord[a] })
				z := background[rng.IntN(bgRows)*f:]
				// Step 0 is z; step t has the first t features of ord from x.
				cur := in[(k*walk)*f : (k*walk+1)*f]
				copy(cur, z[:f])
				for t := 1; t <= f; t++ {
					next := in[(k*walk+t)*f : (k*walk+t+1)*f]
					copy(next, cur)
					j := ord[t-1]
					next[j] = xr[j]
					cur = next
				}
			}
			if err := s.Score(in[:n*walk*f], n*walk, out[:n*walk]); err != nil {
				return nil, err
			}
			for k := 0; k < n; k++ {
				ord := orders[k]
				for t := 1; t <= f; t++ {
					j := ord[t-1]
					phi[r*f+j] += float64(out[k*walk+t]) - float64(out[k*walk+t-1])
				}
			}
			done += n
		}
		for j := 0; j < f; j++ {
			phi[r*f+j] /= float64(permutations)
		}
	}
	return phi, nil
}
