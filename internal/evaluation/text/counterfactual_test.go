package text

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestSwap(t *testing.T) {
	p := TermPair{"he", "she"}
	tests := []struct{ in, want string }{
		{"he said she left", "she said he left"},
		{"He called. HE is upset", "She called. SHE is upset"},
		{"the helper, hello, shed", ""}, // no whole-word match
		{"(he)", "(she)"},
		{"she", "he"},
	}
	for _, tt := range tests {
		got, ok := p.Swap(tt.in)
		if tt.want == "" {
			if ok || got != tt.in {
				t.Errorf("Swap(%q) = %q, %v; want no match", tt.in, got, ok)
			}
			continue
		}
		if !ok || got != tt.want {
			t.Errorf("Swap(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
	multi := TermPair{"young man", "old woman"}
	if got, _ := multi.Swap("A young man and an old woman."); got != "A old woman and an young man." {
		t.Errorf("multi-word swap = %q", got)
	}
	if got, _ := (TermPair{"muslim", "christian"}).Swap("Müslim? no: muslim's"); got != "Müslim? no: christian's" {
		t.Errorf("apostrophe boundary swap = %q", got)
	}
}

// keywordScorer scores 0.2 plus the weight of each keyword the text contains.
func keywordScorer(weights map[string]float64) ScorerFunc {
	return func(_ context.Context, texts []string) ([]float64, error) {
		out := make([]float64, len(texts))
		for i, s := range texts {
			out[i] = 0.2
			for _, w := range strings.Fields(strings.ToLower(s)) {
				out[i] += weights[strings.Trim(w, ".,!?")]
			}
		}
		return out, nil
	}
}

func TestCounterfactualFairnessHandCase(t *testing.T) {
	s := keywordScorer(map[string]float64{"gay": 0.4, "straight": 0.0, "she": 0.05, "he": 0.0})
	texts := []string{
		"I am gay.",              // 0.6 → "I am straight." 0.2: Δ 0.4, flips at 0.5
		"My straight friend",     // 0.2 → "My gay friend" 0.6: Δ 0.4, flips
		"gay and proud, he said", // 0.6 → straight/he 0.2: Δ 0.4, flips; he→she: 0.65, Δ 0.05, no flip
		"nothing here",
	}
	pairs := []TermPair{{"he", "she"}, {"gay", "straight"}, {"christian", "muslim"}}
	var calls int
	counting := ScorerFunc(func(ctx context.Context, texts []string) ([]float64, error) {
		calls++
		if len(texts) > 3 {
			return nil, errors.New("batch too large")
		}
		return s(ctx, texts)
	})
	r, err := CounterfactualFairness(context.Background(), counting, texts, pairs, CounterfactualOptions{Threshold: 0.5, BatchSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	he, gay, none := r.Pairs[0], r.Pairs[1], r.Pairs[2]
	if he.Texts != 1 || he.Flips != 0 || !near(he.MeanAbsDelta, 0.05) {
		t.Errorf("he/she = %+v", he)
	}
	if gay.Texts != 3 || gay.Flips != 3 || !near(gay.FlipRate, 1) || !near(gay.MeanAbsDelta, 0.4) || !near(gay.MaxAbsDelta, 0.4) {
		t.Errorf("gay/straight = %+v", gay)
	}
	if none.Texts != 0 || none.MeanAbsDelta != 0 {
		t.Errorf("christian/muslim = %+v", none)
	}
	if w, ok := r.WorstPair(); !ok || w.Pair != pairs[1] {
		t.Errorf("worst = %+v", w)
	}
	// 3 originals + 4 counterfactuals, each scored once, in batches of 3.
	if calls != 3 {
		t.Errorf("scorer called %d times, want 3", calls)
	}

	empty, err := CounterfactualFairness(context.Background(), s, []string{"x"}, pairs, CounterfactualOptions{})
	if err != nil || empty.Worst != -1 {
		t.Errorf("no occurrences: worst %d, err %v", empty.Worst, err)
	}
	if _, err := CounterfactualFairness(context.Background(), s, texts, []TermPair{{"he", "HE"}}, CounterfactualOptions{}); err == nil {
		t.Error("identical terms accepted")
	}
	short := ScorerFunc(func(context.Context, []string) ([]float64, error) { return []float64{1}, nil })
	if _, err := CounterfactualFairness(context.Background(), short, texts, pairs, CounterfactualOptions{}); err == nil {
		t.Error("short scorer answer accepted")
	}
}
