package text

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// levenshteinDamerau is the optimal string alignment distance (adjacent swaps cost 1).
func levenshteinDamerau(a, b string) int {
	x, y := []rune(a), []rune(b)
	d := make([][]int, len(x)+1)
	for i := range d {
		d[i] = make([]int, len(y)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(x); i++ {
		for j := 1; j <= len(y); j++ {
			c := 1
			if x[i-1] == y[j-1] {
				c = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+c)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(x)][len(y)]
}

func TestApplyTypoIsOneEdit(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, w := range []string{"refund", "Order", "ab", "café", "x"} {
		for k := TypoSwap; k <= TypoSubstitute; k++ {
			for trial := 0; trial < 20; trial++ {
				got, ok := ApplyTypo(w, k, rng)
				if !ok {
					if utf8.RuneCountInString(w) > 1 && k != TypoSubstitute {
						t.Errorf("%s of %q refused", k, w)
					}
					continue
				}
				if levenshteinDamerau(w, got) != 1 {
					t.Errorf("%s of %q = %q is not one edit", k, w, got)
				}
				if k == TypoSubstitute {
					for i, r := range []rune(got) {
						if o := []rune(w)[i]; o != r && !strings.ContainsRune(qwertyNeighbours[[]rune(strings.ToLower(string(o)))[0]], []rune(strings.ToLower(string(r)))[0]) {
							t.Errorf("%q → %q: %q is not next to %q", w, got, r, o)
						}
					}
				}
			}
		}
	}
	if _, ok := ApplyTypo("42", TypoInsert, rng); ok {
		t.Error("edit of a word without letters")
	}
}

// refundScorer is 0.9 when the exact word "refund" is present, else 0.2 — a brittle keyword
// model: one edit to "refund" flips it, and no edit elsewhere matters.
var refundScorer = ScorerFunc(func(_ context.Context, texts []string) ([]float64, error) {
	out := make([]float64, len(texts))
	for i, s := range texts {
		out[i] = 0.2
		for _, w := range SplitWords(s).List() {
			if w == "refund" {
				out[i] = 0.9
			}
		}
	}
	return out, nil
})

func TestWordBugAttack(t *testing.T) {
	ctx := context.Background()
	texts := []LabeledText{
		{"i want a refund now", true},     // attacked: "refund" ranks first, one edit flips it
		{"please refund my order", true},  // attacked, flips
		{"where is my order", false},      // attacked, nothing moves the score: fails
		{"refund please", false},          // misclassified: not attacked
		{"totally unrelated text", false}, // attacked, fails
	}
	r, err := WordBugAttack(ctx, refundScorer, texts, AttackOptions{Threshold: 0.5, MaxEdits: 2, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	if r.Texts != 5 || r.Correct != 4 || r.Succeeded != 2 || !near(r.SuccessRate, 0.5) || !near(r.MeanEdits, 1) {
		t.Errorf("report = %+v", r)
	}
	for _, ex := range r.Examples {
		if strings.Contains(ex.Adversarial, "refund") || ex.Edits != 1 || ex.Score != 0.2 ||
			levenshteinDamerau(ex.Original, ex.Adversarial) != 1 {
			t.Errorf("example %+v", ex)
		}
	}
	none, _ := WordBugAttack(ctx, refundScorer, texts, AttackOptions{Threshold: 0.5, MaxEdits: 0})
	if none.Succeeded != 0 || none.Correct != 4 {
		t.Errorf("zero budget: %+v", none)
	}
	again, _ := WordBugAttack(ctx, refundScorer, texts, AttackOptions{Threshold: 0.5, MaxEdits: 2, Seed: 9})
	if again.Examples[0] != r.Examples[0] {
		t.Error("same seed, different attack")
	}
}

func TestTypoAccuracy(t *testing.T) {
	ctx := context.Background()
	texts := []LabeledText{{"refund now", true}, {"a refund", true}, {"my order", false}, {"hello there", false}}
	clean, err := TypoAccuracy(ctx, refundScorer, texts, 0, AttackOptions{Threshold: 0.5})
	if err != nil || clean.CleanAccuracy != 1 || clean.TypoAccuracy != 1 {
		t.Errorf("rate 0: %+v, %v", clean, err)
	}
	// Every word of two or more letters gets an edit, so "refund" never survives: the two
	// positives become negatives, the negatives stay right. Accuracy 2/4.
	all, err := TypoAccuracy(ctx, refundScorer, texts, 1, AttackOptions{Threshold: 0.5, Seed: 4})
	if err != nil || all.CleanAccuracy != 1 || !near(all.TypoAccuracy, 0.5) {
		t.Errorf("rate 1: %+v, %v", all, err)
	}
	if _, err := TypoAccuracy(ctx, refundScorer, texts, 1.5, AttackOptions{}); err == nil {
		t.Error("rate 1.5 accepted")
	}
}
