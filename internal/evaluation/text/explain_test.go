package text

import (
	"context"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestSplitWordsAndMask(t *testing.T) {
	w := SplitWords("My order #12345 hasn't arrived!")
	if want := []string{"My", "order", "12345", "hasn", "t", "arrived"}; !reflect.DeepEqual(w.List(), want) {
		t.Fatalf("words = %q, want %q", w.List(), want)
	}
	keep := []bool{true, false, true, true, false, true}
	if got := w.Mask(keep, ""); got != "My  #12345 hasn' arrived!" {
		t.Errorf("removed = %q", got)
	}
	if got := w.Mask(keep, "[MASK]"); got != "My [MASK] #12345 hasn'[MASK] arrived!" {
		t.Errorf("masked = %q", got)
	}
	if SplitWords(" ,.! ").Len() != 0 {
		t.Error("punctuation-only text has words")
	}
}

// presenceScorer is linear in word presence: bias + Σ weight[w] over the distinct words present.
func presenceScorer(bias float64, weight map[string]float64) ScorerFunc {
	return func(_ context.Context, texts []string) ([]float64, error) {
		out := make([]float64, len(texts))
		for i, s := range texts {
			out[i] = bias
			for _, w := range SplitWords(s).List() {
				out[i] += weight[w]
			}
		}
		return out, nil
	}
}

const sentence = "refund my order now please today"

var sentenceWeights = map[string]float64{"refund": 0.5, "my": -0.3, "order": 0, "now": 0.2, "please": 0.1, "today": -0.4}

func TestLIMEKernelHandValues(t *testing.T) {
	// sqrt(exp(-(100·(1 − cos))²/25²)) with cos = on/sqrt(on·d), evaluated by hand (in Python).
	for _, c := range []struct {
		on, d int
		want  float64
	}{{2, 4, 0.5034396167555493}, {5, 6, 0.9410756025388796}, {1, 6, 0.06072737549808712}, {6, 6, 1}} {
		present := make([]bool, c.d)
		for i := 0; i < c.on; i++ {
			present[i] = true
		}
		if got := limeKernel(present, 25); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("kernel(%d of %d) = %v, want %v", c.on, c.d, got, c.want)
		}
	}
}

func TestLIMERecoversLinearWeights(t *testing.T) {
	s := presenceScorer(0.1, sentenceWeights)
	words := SplitWords(sentence).List()
	for _, tc := range []struct {
		name string
		opts LIMEOptions
		tol  float64
	}{
		// Ridge with α = 1 shrinks a little against a total sample weight in the thousands.
		{"LIME defaults", LIMEOptions{Seed: 7}, 0.01},
		{"no penalty", LIMEOptions{Seed: 7, Alpha: -1, Samples: 500}, 1e-9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := LIME(context.Background(), s, sentence, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(e.Words, words) {
				t.Fatalf("words = %q", e.Words)
			}
			for i, w := range words {
				if math.Abs(e.Weights[i]-sentenceWeights[w]) > tc.tol {
					t.Errorf("weight of %q = %v, want %v", w, e.Weights[i], sentenceWeights[w])
				}
			}
			if math.Abs(e.Intercept-0.1) > 2*tc.tol || e.R2 < 0.999 {
				t.Errorf("intercept %v, R² %v", e.Intercept, e.R2)
			}
			if !near(e.Prediction, 0.1+0.5-0.3+0.2+0.1-0.4) || math.Abs(e.LocalPrediction-e.Prediction) > 6*tc.tol {
				t.Errorf("prediction %v, local %v", e.Prediction, e.LocalPrediction)
			}
		})
	}
	a, _ := LIME(context.Background(), s, sentence, LIMEOptions{Seed: 3, Samples: 200})
	b, _ := LIME(context.Background(), s, sentence, LIMEOptions{Seed: 3, Samples: 200})
	if !reflect.DeepEqual(a, b) {
		t.Error("same seed, different explanations")
	}
	if _, err := LIME(context.Background(), s, "?!", LIMEOptions{}); err == nil {
		t.Error("text without words accepted")
	}
}

func TestLIMENeverRemovesEveryWord(t *testing.T) {
	var seen []string
	s := ScorerFunc(func(_ context.Context, texts []string) ([]float64, error) {
		seen = append(seen, texts...)
		return make([]float64, len(texts)), nil
	})
	if _, err := LIME(context.Background(), s, "a b c", LIMEOptions{Samples: 300, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	if seen[0] != "a b c" {
		t.Errorf("first sample %q is not the text", seen[0])
	}
	for _, x := range seen[1:] {
		if n := SplitWords(x).Len(); n < 1 || n > 2 {
			t.Fatalf("sample %q keeps %d words, want 1 or 2", x, n)
		}
	}
}

// permutationShapley is the definition by orderings: the average over all n! orders of the
// score gained when word i joins the words before it.
func permutationShapley(t *testing.T, s Scorer, text string) []float64 {
	w := SplitWords(text)
	n := w.Len()
	phi := make([]float64, n)
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	count := 0
	var visit func(k int)
	visit = func(k int) {
		if k == n {
			present := make([]bool, n)
			prev := score(t, s, w.Mask(present, ""))
			for _, i := range perm {
				present[i] = true
				cur := score(t, s, w.Mask(present, ""))
				phi[i] += cur - prev
				prev = cur
			}
			count++
			return
		}
		for j := k; j < n; j++ {
			perm[k], perm[j] = perm[j], perm[k]
			visit(k + 1)
			perm[k], perm[j] = perm[j], perm[k]
		}
	}
	visit(0)
	for i := range phi {
		phi[i] /= float64(count)
	}
	return phi
}

func score(t *testing.T, s Scorer, text string) float64 {
	v, err := s.Score(context.Background(), []string{text})
	if err != nil {
		t.Fatal(err)
	}
	return v[0]
}

// nonlinearScorer: a logistic of a weighted sum plus an AND interaction of "refund" and "now".
// "refund" and "now" enter symmetrically (same weight, same interaction).
func nonlinearScorer() ScorerFunc {
	return func(_ context.Context, texts []string) ([]float64, error) {
		out := make([]float64, len(texts))
		for i, s := range texts {
			has := map[string]bool{}
			for _, w := range SplitWords(s).List() {
				has[w] = true
			}
			z := -0.5
			for w, c := range map[string]float64{"refund": 1.2, "now": 1.2, "order": 0.4, "today": -0.8} {
				if has[w] {
					z += c
				}
			}
			out[i] = 1 / (1 + math.Exp(-z))
			if has["refund"] && has["now"] {
				out[i] += 0.25
			}
		}
		return out, nil
	}
}

func TestExactShapley(t *testing.T) {
	ctx := context.Background()
	t.Run("linear model gives its weights", func(t *testing.T) {
		v, err := ExactShapley(ctx, presenceScorer(0.1, sentenceWeights), sentence, ShapleyOptions{BatchSize: 7})
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range v.Words {
			if !near(v.Values[i], sentenceWeights[w]) {
				t.Errorf("φ(%s) = %v, want %v", w, v.Values[i], sentenceWeights[w])
			}
		}
	})
	t.Run("AND of two words splits evenly", func(t *testing.T) {
		and := ScorerFunc(func(_ context.Context, texts []string) ([]float64, error) {
			out := make([]float64, len(texts))
			for i, s := range texts {
				if strings.Contains(s, "refund") && strings.Contains(s, "now") {
					out[i] = 1
				}
			}
			return out, nil
		})
		v, err := ExactShapley(ctx, and, "refund it now", ShapleyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if want := []float64{0.5, 0, 0.5}; !reflect.DeepEqual(v.Values, want) {
			t.Errorf("values = %v, want %v", v.Values, want)
		}
	})
	t.Run("efficiency, symmetry and the permutation definition", func(t *testing.T) {
		s := nonlinearScorer()
		text := "refund the order now today"
		v, err := ExactShapley(ctx, s, text, ShapleyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var sum float64
		for _, x := range v.Values {
			sum += x
		}
		if !near(sum, v.Full-v.Empty) || !near(v.Full, score(t, s, text)) || !near(v.Empty, score(t, s, "    ")) {
			t.Errorf("Σφ = %v, f(all) − f(none) = %v − %v", sum, v.Full, v.Empty)
		}
		if !near(v.Values[0], v.Values[3]) {
			t.Errorf("symmetric words: φ(refund) %v, φ(now) %v", v.Values[0], v.Values[3])
		}
		if !near(v.Values[1], 0) {
			t.Errorf("dummy word: φ(the) = %v", v.Values[1])
		}
		perm := permutationShapley(t, s, text)
		for i := range perm {
			if !near(v.Values[i], perm[i]) {
				t.Errorf("φ(%s) = %v, by orderings %v", v.Words[i], v.Values[i], perm[i])
			}
		}
	})
	t.Run("mask and limits", func(t *testing.T) {
		var seen []string
		rec := ScorerFunc(func(_ context.Context, texts []string) ([]float64, error) {
			seen = append(seen, texts...)
			return make([]float64, len(texts)), nil
		})
		if _, err := ExactShapley(ctx, rec, "a b", ShapleyOptions{Mask: "[MASK]"}); err != nil {
			t.Fatal(err)
		}
		if want := []string{"[MASK] [MASK]", "a [MASK]", "[MASK] b", "a b"}; !reflect.DeepEqual(seen, want) {
			t.Errorf("coalition texts = %q", seen)
		}
		if _, err := ExactShapley(ctx, rec, strings.Repeat("w ", MaxExactShapleyWords+1), ShapleyOptions{}); err == nil {
			t.Error("11 words accepted")
		}
		if _, err := ExactShapley(ctx, rec, "", ShapleyOptions{}); err == nil {
			t.Error("empty text accepted")
		}
	})
}
