package text

import (
	"context"
	"errors"
	"fmt"
)

// MaxExactShapleyWords bounds ExactShapley: 2¹⁰ = 1024 scored texts.
const MaxExactShapleyWords = 10

// ShapleyOptions configure ExactShapley.
type ShapleyOptions struct {
	// Mask replaces an absent word; "" deletes it.
	Mask      string
	BatchSize int
}

// ShapleyValues attribute f(all words) − f(no words) to the words.
type ShapleyValues struct {
	Words  []string  `json:"words"`
	Values []float64 `json:"values"`
	// Full is the score of the text, Empty the score with every word absent.
	Full  float64 `json:"full"`
	Empty float64 `json:"empty"`
}

// ExactShapley computes each word's Shapley value for s's score of text by enumerating every
// coalition of present words: φᵢ = Σ_{S ⊆ N∖{i}} |S|!(n−|S|−1)!/n! · (f(S∪{i}) − f(S)), where
// f(S) scores the text with the words outside S masked. Texts of more than
// MaxExactShapleyWords words are refused; sampling estimators are for those.
func ExactShapley(ctx context.Context, s Scorer, text string, opts ShapleyOptions) (ShapleyValues, error) {
	words := SplitWords(text)
	n := words.Len()
	if n == 0 {
		return ShapleyValues{}, errors.New("shapley: the text has no words")
	}
	if n > MaxExactShapleyWords {
		return ShapleyValues{}, fmt.Errorf("shapley: %d words, exact enumeration is limited to %d", n, MaxExactShapleyWords)
	}
	coalitions := 1 << n
	texts := make([]string, coalitions)
	present := make([]bool, n)
	for m := 0; m < coalitions; m++ {
		for i := range present {
			present[i] = m&(1<<i) != 0
		}
		texts[m] = words.Mask(present, opts.Mask)
	}
	f, err := scoreAll(ctx, s, texts, opts.BatchSize)
	if err != nil {
		return ShapleyValues{}, fmt.Errorf("shapley: %w", err)
	}
	// weight[k] = k!(n−k−1)!/n!, built as 1/(n·C(n−1, k)).
	weight := make([]float64, n)
	for k := 0; k < n; k++ {
		c := 1.0
		for j := 1; j <= k; j++ {
			c = c * float64(n-j) / float64(j)
		}
		weight[k] = 1 / (float64(n) * c)
	}
	values := make([]float64, n)
	for m := 0; m < coalitions; m++ {
		k := 0
		for i := 0; i < n; i++ {
			if m&(1<<i) != 0 {
				k++
			}
		}
		for i := 0; i < n; i++ {
			if m&(1<<i) == 0 {
				values[i] += weight[k] * (f[m|1<<i] - f[m])
			}
		}
	}
	return ShapleyValues{Words: words.List(), Values: values, Full: f[coalitions-1], Empty: f[0]}, nil
}
