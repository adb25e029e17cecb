package text

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// LabeledText is a text and its true class (true for the class the score is the probability of).
type LabeledText struct {
	Text  string
	Label bool
}

// Typo is one of DeepWordBug's character edits (Gao et al. 2018).
type Typo int

const (
	TypoSwap       Typo = iota // exchange two adjacent letters
	TypoDelete                 // drop a letter
	TypoInsert                 // add a letter
	TypoSubstitute             // replace a letter with a keyboard neighbour
)

var typoNames = [...]string{"swap", "delete", "insert", "substitute"}

func (t Typo) String() string { return typoNames[t] }

// qwertyNeighbours are the keys next to each letter on a QWERTY keyboard.
var qwertyNeighbours = map[rune]string{
	'q': "wa", 'w': "qeas", 'e': "wrsd", 'r': "etdf", 't': "ryfg", 'y': "tugh", 'u': "yihj",
	'i': "uojk", 'o': "ipkl", 'p': "ol", 'a': "qwsz", 's': "weadzx", 'd': "erfsxc",
	'f': "rtdgcv", 'g': "tyfhvb", 'h': "yugjbn", 'j': "uihknm", 'k': "iojlm", 'l': "opk",
	'z': "asx", 'x': "zsdc", 'c': "xdfv", 'v': "cfgb", 'b': "vghn", 'n': "bhjm", 'm': "njk",
}

// ApplyTypo makes one edit of kind k to word at a position chosen by rng; ok is false when the
// word is too short for it (a swap needs two letters) or has no letter to change. Case is kept.
func ApplyTypo(word string, k Typo, rng *rand.Rand) (string, bool) {
	r := []rune(word)
	var letters []int
	for i, c := range r {
		if unicode.IsLetter(c) {
			letters = append(letters, i)
		}
	}
	if len(letters) == 0 {
		return word, false
	}
	i := letters[rng.IntN(len(letters))]
	switch k {
	case TypoSwap:
		if len(r) < 2 {
			return word, false
		}
		if i == len(r)-1 {
			i--
		}
		if r[i] == r[i+1] {
			return word, false
		}
		r[i], r[i+1] = r[i+1], r[i]
	case TypoDelete:
		if len(r) < 2 {
			return word, false
		}
		r = append(r[:i], r[i+1:]...)
	case TypoInsert:
		c := rune('a' + rng.IntN(26))
		r = append(r[:i], append([]rune{c}, r[i:]...)...)
	case TypoSubstitute:
		nb, ok := qwertyNeighbours[unicode.ToLower(r[i])]
		if !ok {
			return word, false
		}
		c := rune(nb[rng.IntN(len(nb))])
		if unicode.IsUpper(r[i]) {
			c = unicode.ToUpper(c)
		}
		r[i] = c
	default:
		return word, false
	}
	return string(r), true
}

// AttackOptions configure WordBugAttack and TypoAccuracy.
type AttackOptions struct {
	// Threshold turns a score into a prediction (score ≥ Threshold is the positive class).
	Threshold float64
	// MaxEdits is the edit budget per text: character edits, at most one per word.
	MaxEdits int
	// Seed makes the edits reproducible.
	Seed      uint64
	BatchSize int
}

// AttackReport summarizes a DeepWordBug-style attack.
type AttackReport struct {
	// Texts is the number of texts; Correct those the model classified right before the
	// attack, which are the ones attacked.
	Texts   int `json:"texts"`
	Correct int `json:"correct"`
	// Succeeded is how many attacked texts changed prediction within the budget.
	Succeeded   int     `json:"succeeded"`
	SuccessRate float64 `json:"successRate"`
	// MeanEdits is the mean number of edits of the successful attacks.
	MeanEdits float64 `json:"meanEdits"`
	// Examples are the successful adversarial texts, in input order.
	Examples []AdversarialText `json:"examples,omitempty"`
}

// AdversarialText is an attacked text that changed prediction.
type AdversarialText struct {
	Original    string  `json:"original"`
	Adversarial string  `json:"adversarial"`
	Edits       int     `json:"edits"`
	Score       float64 `json:"score"`
}

// WordBugAttack is a black-box greedy attack in the manner of DeepWordBug (Gao et al. 2018):
// words are ranked by importance — how much deleting the word moves the score toward the other
// class (the "replace-1" score) — and, most important first, each word gets the one of four
// character edits (adjacent swap, deletion, insertion, keyboard-neighbour substitution; one
// random position per kind) that moves the score furthest, until the prediction flips or
// MaxEdits words are edited. Only texts the model gets right are attacked.
func WordBugAttack(ctx context.Context, s Scorer, texts []LabeledText, opts AttackOptions) (AttackReport, error) {
	if opts.MaxEdits < 0 {
		return AttackReport{}, fmt.Errorf("word bug attack: edit budget %d", opts.MaxEdits)
	}
	orig := make([]string, len(texts))
	for i, t := range texts {
		orig[i] = t.Text
	}
	scores, err := scoreAll(ctx, s, orig, opts.BatchSize)
	if err != nil {
		return AttackReport{}, fmt.Errorf("word bug attack: %w", err)
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 0xb06))
	r := AttackReport{Texts: len(texts)}
	var edits int
	for i, t := range texts {
		if (scores[i] >= opts.Threshold) != t.Label {
			continue
		}
		r.Correct++
		adv, n, score, ok, err := attackOne(ctx, s, t, opts, rng)
		if err != nil {
			return AttackReport{}, fmt.Errorf("word bug attack: text %d: %w", i, err)
		}
		if ok {
			r.Succeeded++
			edits += n
			r.Examples = append(r.Examples, AdversarialText{t.Text, adv, n, score})
		}
	}
	if r.Correct > 0 {
		r.SuccessRate = float64(r.Succeeded) / float64(r.Correct)
	}
	if r.Succeeded > 0 {
		r.MeanEdits = float64(edits) / float64(r.Succeeded)
	}
	return r, nil
}

func attackOne(ctx context.Context, s Scorer, t LabeledText, opts AttackOptions, rng *rand.Rand) (adv string, edits int, score float64, ok bool, err error) {
	// margin is how far the score is on the true side of the threshold; the attack lowers it.
	margin := func(score float64) float64 {
		if t.Label {
			return score - opts.Threshold
		}
		return opts.Threshold - score
	}
	flipped := func(score float64) bool { return (score >= opts.Threshold) != t.Label }
	text := t.Text
	words := SplitWords(text)
	n := words.Len()
	if n == 0 || opts.MaxEdits == 0 {
		return "", 0, 0, false, nil
	}
	// Replace-1 importance: the margin lost when the word is deleted.
	dropped := make([]string, n)
	present := make([]bool, n)
	for j := range dropped {
		for k := range present {
			present[k] = k != j
		}
		dropped[j] = words.Mask(present, "")
	}
	ds, err := scoreAll(ctx, s, dropped, opts.BatchSize)
	if err != nil {
		return "", 0, 0, false, err
	}
	order := make([]int, n)
	for j := range order {
		order[j] = j
	}
	sort.SliceStable(order, func(a, b int) bool { return margin(ds[order[a]]) < margin(ds[order[b]]) })

	current := words.List()
	rebuild := func() string { return replaceWords(text, words.Spans(), current) }
	for _, j := range order {
		if edits == opts.MaxEdits {
			break
		}
		var cands, candWords []string
		saved := current[j]
		for k := TypoSwap; k <= TypoSubstitute; k++ {
			if w, ok := ApplyTypo(saved, k, rng); ok {
				current[j] = w
				cands = append(cands, rebuild())
				candWords = append(candWords, w)
			}
		}
		current[j] = saved
		if len(cands) == 0 {
			continue
		}
		cs, err := scoreAll(ctx, s, cands, opts.BatchSize)
		if err != nil {
			return "", 0, 0, false, err
		}
		best := 0
		for c := range cs {
			if margin(cs[c]) < margin(cs[best]) {
				best = c
			}
		}
		current[j] = candWords[best]
		edits++
		if flipped(cs[best]) {
			return cands[best], edits, cs[best], true, nil
		}
	}
	return "", 0, 0, false, nil
}

// replaceWords rebuilds text with each word span replaced by words[i].
func replaceWords(text string, spans []Span, words []string) string {
	var b strings.Builder
	last := 0
	for i, sp := range spans {
		b.WriteString(text[last:sp.Start])
		b.WriteString(words[i])
		last = sp.End
	}
	b.WriteString(text[last:])
	return b.String()
}

// TypoReport is accuracy on clean texts and on the same texts with random typos.
type TypoReport struct {
	Texts         int     `json:"texts"`
	CleanAccuracy float64 `json:"cleanAccuracy"`
	TypoAccuracy  float64 `json:"typoAccuracy"`
}

// TypoAccuracy measures accuracy under random typos: each word with at least two letters is,
// with probability rate, given one edit of a uniformly chosen kind.
func TypoAccuracy(ctx context.Context, s Scorer, texts []LabeledText, rate float64, opts AttackOptions) (TypoReport, error) {
	if rate < 0 || rate > 1 {
		return TypoReport{}, fmt.Errorf("typo accuracy: rate %v outside [0, 1]", rate)
	}
	if len(texts) == 0 {
		return TypoReport{}, errors.New("typo accuracy: no texts")
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 0x7e0))
	batch := make([]string, 0, 2*len(texts))
	for _, t := range texts {
		batch = append(batch, t.Text)
	}
	for _, t := range texts {
		words := SplitWords(t.Text)
		list := words.List()
		for j, w := range list {
			if utf8.RuneCountInString(w) >= 2 && rng.Float64() < rate {
				list[j], _ = ApplyTypo(w, Typo(rng.IntN(4)), rng)
			}
		}
		batch = append(batch, replaceWords(t.Text, words.Spans(), list))
	}
	scores, err := scoreAll(ctx, s, batch, opts.BatchSize)
	if err != nil {
		return TypoReport{}, fmt.Errorf("typo accuracy: %w", err)
	}
	var clean, typo int
	for i, t := range texts {
		if (scores[i] >= opts.Threshold) == t.Label {
			clean++
		}
		if (scores[len(texts)+i] >= opts.Threshold) == t.Label {
			typo++
		}
	}
	n := float64(len(texts))
	return TypoReport{Texts: len(texts), CleanAccuracy: float64(clean) / n, TypoAccuracy: float64(typo) / n}, nil
}
