package text

import (
	"context"
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// TermPair is an identity-term substitution, for example {"he", "she"} or {"gay", "straight"}.
// It is applied in both directions: A becomes B and B becomes A.
type TermPair struct {
	A string `json:"a"`
	B string `json:"b"`
}

func (p TermPair) String() string { return p.A + "/" + p.B }

// Swap exchanges every whole-word, case-insensitive occurrence of p.A with p.B and of p.B with
// p.A in one pass, keeping the case of what it replaces (an all-capital word gets an
// all-capital replacement, a capitalized one a capitalized replacement). Whole word means the
// runes on either side are not letters, digits or '_'. ok is false when neither term occurs.
// Case folding is byte-length preserving only for scripts such as Latin; terms are compared
// with strings.EqualFold over their own length.
func (p TermPair) Swap(s string) (out string, ok bool) {
	if p.A == "" || p.B == "" {
		return s, false
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); {
		from, to := "", ""
		switch {
		case matchWord(s, i, p.A) && (len(p.A) >= len(p.B) || !matchWord(s, i, p.B)):
			from, to = p.A, p.B
		case matchWord(s, i, p.B):
			from, to = p.B, p.A
		}
		if from == "" {
			_, n := utf8.DecodeRuneInString(s[i:])
			i += n
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(matchCase(s[i:i+len(from)], to))
		i += len(from)
		last = i
		ok = true
	}
	if !ok {
		return s, false
	}
	b.WriteString(s[last:])
	return b.String(), true
}

func isWordRune(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

func matchWord(s string, i int, term string) bool {
	if i+len(term) > len(s) || !strings.EqualFold(s[i:i+len(term)], term) {
		return false
	}
	if i > 0 {
		if r, _ := utf8.DecodeLastRuneInString(s[:i]); isWordRune(r) {
			return false
		}
	}
	if j := i + len(term); j < len(s) {
		if r, _ := utf8.DecodeRuneInString(s[j:]); isWordRune(r) {
			return false
		}
	}
	return true
}

func matchCase(orig, repl string) string {
	letters, upper := 0, 0
	for _, r := range orig {
		if unicode.IsLetter(r) {
			letters++
			if unicode.IsUpper(r) {
				upper++
			}
		}
	}
	switch {
	case letters > 1 && upper == letters:
		return strings.ToUpper(repl)
	case upper > 0:
		if r, _ := utf8.DecodeRuneInString(orig); unicode.IsUpper(r) {
			first, n := utf8.DecodeRuneInString(repl)
			return string(unicode.ToUpper(first)) + repl[n:]
		}
	}
	return repl
}

// CounterfactualOptions configure CounterfactualFairness.
type CounterfactualOptions struct {
	// Threshold turns a score into a decision (score ≥ Threshold); a flip is a changed decision.
	Threshold float64
	// BatchSize bounds each Scorer call; 0 means DefaultBatchSize.
	BatchSize int
}

// PairResult is one term pair's counterfactual token fairness over the texts it occurs in.
type PairResult struct {
	Pair TermPair `json:"pair"`
	// Texts is the number of texts that contain either term.
	Texts        int     `json:"texts"`
	Flips        int     `json:"flips"`
	FlipRate     float64 `json:"flipRate"`
	MeanAbsDelta float64 `json:"meanAbsDelta"`
	MaxAbsDelta  float64 `json:"maxAbsDelta"`
}

// CounterfactualReport holds every pair's result, in the order given, and the worst pair.
type CounterfactualReport struct {
	Pairs []PairResult `json:"pairs"`
	// Worst indexes Pairs: the largest mean |Δscore|, then the largest flip rate, then the
	// first; -1 when no term occurs in any text.
	Worst int `json:"worst"`
}

// WorstPair is the worst pair's result; ok is false when there is none.
func (r CounterfactualReport) WorstPair() (PairResult, bool) {
	if r.Worst < 0 || r.Worst >= len(r.Pairs) {
		return PairResult{}, false
	}
	return r.Pairs[r.Worst], true
}

// CounterfactualFairness measures counterfactual token fairness (Garg et al. 2019): for each
// pair and each text containing one of its terms, the text and its Swap are scored; the pair's
// mean |Δscore| is the counterfactual token fairness gap over those texts and its flip rate the
// share whose decision changes. Each distinct text is scored once.
func CounterfactualFairness(ctx context.Context, s Scorer, texts []string, pairs []TermPair, opts CounterfactualOptions) (CounterfactualReport, error) {
	type job struct{ pair, orig, cf int }
	index := map[string]int{}
	var batch []string
	slot := func(t string) int {
		if i, ok := index[t]; ok {
			return i
		}
		index[t] = len(batch)
		batch = append(batch, t)
		return len(batch) - 1
	}
	var jobs []job
	for p, pair := range pairs {
		if pair.A == "" || pair.B == "" || strings.EqualFold(pair.A, pair.B) {
			return CounterfactualReport{}, fmt.Errorf("counterfactual fairness: term pair %d (%q, %q) needs two different terms", p, pair.A, pair.B)
		}
		for _, t := range texts {
			if cf, ok := pair.Swap(t); ok && cf != t {
				jobs = append(jobs, job{p, slot(t), slot(cf)})
			}
		}
	}
	scores, err := scoreAll(ctx, s, batch, opts.BatchSize)
	if err != nil {
		return CounterfactualReport{}, fmt.Errorf("counterfactual fairness: %w", err)
	}
	r := CounterfactualReport{Pairs: make([]PairResult, len(pairs)), Worst: -1}
	for p, pair := range pairs {
		r.Pairs[p].Pair = pair
	}
	for _, j := range jobs {
		a, b := scores[j.orig], scores[j.cf]
		if math.IsNaN(a) || math.IsNaN(b) {
			return CounterfactualReport{}, fmt.Errorf("counterfactual fairness: NaN score for %q", batch[j.orig])
		}
		pr := &r.Pairs[j.pair]
		d := math.Abs(a - b)
		pr.Texts++
		pr.MeanAbsDelta += d
		pr.MaxAbsDelta = math.Max(pr.MaxAbsDelta, d)
		if (a >= opts.Threshold) != (b >= opts.Threshold) {
			pr.Flips++
		}
	}
	for p := range r.Pairs {
		pr := &r.Pairs[p]
		if pr.Texts == 0 {
			continue
		}
		pr.MeanAbsDelta /= float64(pr.Texts)
		pr.FlipRate = float64(pr.Flips) / float64(pr.Texts)
		if w, ok := r.WorstPair(); !ok || pr.MeanAbsDelta > w.MeanAbsDelta ||
			(pr.MeanAbsDelta == w.MeanAbsDelta && pr.FlipRate > w.FlipRate) {
			r.Worst = p
		}
	}
	return r, nil
}
