// Package text holds the evaluations of language models that do not depend on how the model is
// run: entity-level F1 of IOB2 taggers (seqeval's strict mode) and its gap across groups
// (Mishra et al. 2020), Borkan et al. 2019's bias AUCs, counterfactual token fairness (Garg et
// al. 2019), LIME for text (Ribeiro et al. 2016), exact Shapley values over words, and
// robustness to typos: a DeepWordBug-style attack (Gao et al. 2018) and accuracy under random
// character edits.
//
// Models enter through Scorer, a batch function from texts to one score each (for example
// P(toxic) or the probability of one intent), so these metrics need no ONNX runtime and are
// tested with closed-form scorers. Library level: no report kind or operator wiring yet.
package text

import (
	"context"
	"fmt"
)

// Scorer scores texts, one value per text, in order. Implementations may be called with
// batches of any size up to the batch size the caller of an evaluation asks for.
type Scorer interface {
	Score(ctx context.Context, texts []string) ([]float64, error)
}

// ScorerFunc adapts a function to Scorer.
type ScorerFunc func(ctx context.Context, texts []string) ([]float64, error)

// Score calls f.
func (f ScorerFunc) Score(ctx context.Context, texts []string) ([]float64, error) {
	return f(ctx, texts)
}

// DefaultBatchSize is how many texts an evaluation sends a Scorer at once when not told.
const DefaultBatchSize = 64

// scoreAll scores texts in batches of at most batch and checks the answer's length.
func scoreAll(ctx context.Context, s Scorer, texts []string, batch int) ([]float64, error) {
	if batch <= 0 {
		batch = DefaultBatchSize
	}
	out := make([]float64, 0, len(texts))
	for lo := 0; lo < len(texts); lo += batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(len(texts), lo+batch)
		scores, err := s.Score(ctx, texts[lo:hi])
		if err != nil {
			return nil, fmt.Errorf("score texts %d-%d: %w", lo, hi-1, err)
		}
		if len(scores) != hi-lo {
			return nil, fmt.Errorf("score texts %d-%d: scorer returned %d scores for %d texts", lo, hi-1, len(scores), hi-lo)
		}
		out = append(out, scores...)
	}
	return out, nil
}
