package text

import (
	"fmt"
	"math"
	"strings"
)

// EntitySpan is one entity a token-classification model found, in the form Hugging Face's
// pipeline answers with aggregation_strategy="simple".
type EntitySpan struct {
	// Label is the entity type without its B-/I- prefix ("PER").
	Label string `json:"label"`
	// Score is the mean, over the entity's tokens, of each token's top probability.
	Score float64 `json:"score"`
	// Word is the entity's tokens decoded (lowercased for an uncased model).
	Word string `json:"word"`
	// Start and End are character (code point) offsets into the text, Hugging Face's unit.
	Start int `json:"start"`
	End   int `json:"end"`
	// Bytes is the same span in bytes: text[Bytes.Start:Bytes.End] is the entity as written.
	Bytes Offset `json:"-"`
}

// Softmax is the probability distribution of one position's logits, computed stably (the
// maximum is subtracted first) as Hugging Face's pipelines do.
func Softmax(logits []float64) []float64 {
	out := make([]float64, len(logits))
	m := math.Inf(-1)
	for _, v := range logits {
		m = math.Max(m, v)
	}
	var sum float64
	for i, v := range logits {
		out[i] = math.Exp(v - m)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

// AggregateSimple groups token predictions into entities as Hugging Face's
// TokenClassificationPipeline does with aggregation_strategy="simple": every position that is
// not a special or padding token takes its most probable label (the first on a tie); runs of
// consecutive positions with the same entity type are merged unless a position's label starts
// with "B-"; groups of type "O" are dropped. A label without a B-/I- prefix is its own type.
// probs has one row per position of enc, each a distribution over labels.
func (t *Tokenizer) AggregateSimple(text string, enc Encoding, probs [][]float64, labels []string) ([]EntitySpan, error) {
	if len(probs) != enc.Len() {
		return nil, fmt.Errorf("aggregate entities: %d rows of probabilities for %d positions", len(probs), enc.Len())
	}
	type tokenPred struct {
		label  string
		score  float64
		token  string
		offset Offset
	}
	var group []tokenPred
	var out []EntitySpan
	flush := func() {
		if len(group) == 0 {
			return
		}
		_, typ := splitIOB(group[0].label)
		if typ != "O" {
			tokens := make([]string, len(group))
			var sum float64
			for i, g := range group {
				tokens[i] = g.token
				sum += g.score
			}
			b := Offset{group[0].offset.Start, group[len(group)-1].offset.End}
			chars := RuneOffsets(text, []Offset{b})[0]
			out = append(out, EntitySpan{
				Label: typ, Score: sum / float64(len(group)), Word: t.DecodeTokens(tokens),
				Start: chars.Start, End: chars.End, Bytes: b,
			})
		}
		group = group[:0]
	}
	for i, row := range probs {
		if enc.SpecialTokensMask[i] == 1 {
			continue
		}
		if len(row) != len(labels) {
			return nil, fmt.Errorf("aggregate entities: position %d has %d probabilities for %d labels", i, len(row), len(labels))
		}
		best := 0
		for j, p := range row {
			if p > row[best] {
				best = j
			}
		}
		if o := enc.Offsets[i]; o.End > len(text) {
			return nil, fmt.Errorf("aggregate entities: offset %v is outside the text", o)
		}
		p := tokenPred{labels[best], row[best], enc.Tokens[i], enc.Offsets[i]}
		if len(group) > 0 {
			bi, typ := splitIOB(p.label)
			_, lastTyp := splitIOB(group[len(group)-1].label)
			if typ != lastTyp || bi == "B" {
				flush()
			}
		}
		group = append(group, p)
	}
	flush()
	return out, nil
}

// splitIOB is Hugging Face's get_tag: "B-X" is (B, X), "I-X" is (I, X), anything else is
// (I, label).
func splitIOB(label string) (bi, typ string) {
	switch {
	case strings.HasPrefix(label, "B-"):
		return "B", label[2:]
	case strings.HasPrefix(label, "I-"):
		return "I", label[2:]
	}
	return "I", label
}

// WordLabels reads one label per word from token labels (one per position of enc): each word
// takes the label of its first token, the convention Hugging Face's NER training and
// evaluation scripts use. Words with no token (cut by truncation) get "O". words is the number
// of words in the text (len(words) for EncodeWords).
func WordLabels(enc Encoding, tokenLabels []string, words int) ([]string, error) {
	if len(tokenLabels) != enc.Len() {
		return nil, fmt.Errorf("word labels: %d token labels for %d positions", len(tokenLabels), enc.Len())
	}
	out := make([]string, words)
	for i := range out {
		out[i] = "O"
	}
	prev := -1
	for i, w := range enc.WordIDs {
		if w < 0 || w == prev {
			continue
		}
		if w >= words {
			return nil, fmt.Errorf("word labels: token %d belongs to word %d of %d", i, w, words)
		}
		out[w] = tokenLabels[i]
		prev = w
	}
	return out, nil
}

// AlignLabels spreads word label ids over enc's positions for training: the first token of
// each word gets its word's label, every other position (later pieces, special tokens,
// padding) gets ignore (-100 in Hugging Face's scripts, which the loss skips).
func AlignLabels(enc Encoding, wordLabels []int64, ignore int64) ([]int64, error) {
	out := make([]int64, enc.Len())
	prev := -1
	for i, w := range enc.WordIDs {
		out[i] = ignore
		if w < 0 || w == prev {
			continue
		}
		if w >= len(wordLabels) {
			return nil, fmt.Errorf("align labels: token %d belongs to word %d, %d labels given", i, w, len(wordLabels))
		}
		out[i] = wordLabels[w]
		prev = w
	}
	return out, nil
}
