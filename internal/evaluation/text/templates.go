package text

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// Tagger labels words with IOB2 tags, one tag per word of each sentence. A token-classification
// model implements it by encoding the words (internal/text EncodeWords), running, and taking
// each word's first-token label (internal/text WordLabels).
type Tagger interface {
	Tag(ctx context.Context, sentences [][]string) ([][]string, error)
}

// TaggerFunc adapts a function to Tagger.
type TaggerFunc func(ctx context.Context, sentences [][]string) ([][]string, error)

// Tag calls f.
func (f TaggerFunc) Tag(ctx context.Context, sentences [][]string) ([][]string, error) {
	return f(ctx, sentences)
}

// GroupSentence is a sentence as words with its true IOB2 tags and its group.
type GroupSentence struct {
	Group string
	Words []string
	Tags  []string
}

// NamePlaceholder is the word a name template marks the name's place with.
const NamePlaceholder = "{name}"

// FillNameTemplates builds the sentences of a name-substitution test (Mishra et al. 2020): every
// template (words separated by spaces, punctuation as its own word, NamePlaceholder where the
// name goes) with every name of every group. The name's words are tagged B-label, I-label…,
// all other words O. Groups come out in name order, names in the order given.
func FillNameTemplates(templates []string, names map[string][]string, label string) ([]GroupSentence, error) {
	groups := make([]string, 0, len(names))
	for g := range names {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	var out []GroupSentence
	for ti, tpl := range templates {
		words := strings.Fields(tpl)
		slots := 0
		for _, w := range words {
			if w == NamePlaceholder {
				slots++
			}
		}
		if slots == 0 {
			return nil, fmt.Errorf("name template %d (%q) has no %s", ti, tpl, NamePlaceholder)
		}
		for _, g := range groups {
			for _, name := range names[g] {
				nameWords := strings.Fields(name)
				if len(nameWords) == 0 {
					return nil, fmt.Errorf("group %q has an empty name", g)
				}
				var s GroupSentence
				s.Group = g
				for _, w := range words {
					if w != NamePlaceholder {
						s.Words, s.Tags = append(s.Words, w), append(s.Tags, "O")
						continue
					}
					for k, nw := range nameWords {
						s.Words = append(s.Words, nw)
						if k == 0 {
							s.Tags = append(s.Tags, "B-"+label)
						} else {
							s.Tags = append(s.Tags, "I-"+label)
						}
					}
				}
				out = append(out, s)
			}
		}
	}
	return out, nil
}

// TaggerF1ByGroup tags the sentences (in batches of batch, DefaultBatchSize when 0) and scores
// them with EntityF1ByGroup.
func TaggerF1ByGroup(ctx context.Context, tagger Tagger, sentences []GroupSentence, batch int) (GroupEntityReport, error) {
	if batch <= 0 {
		batch = DefaultBatchSize
	}
	tagged := make([]TaggedSentence, 0, len(sentences))
	for lo := 0; lo < len(sentences); lo += batch {
		hi := min(len(sentences), lo+batch)
		words := make([][]string, 0, hi-lo)
		for _, s := range sentences[lo:hi] {
			words = append(words, s.Words)
		}
		pred, err := tagger.Tag(ctx, words)
		if err != nil {
			return GroupEntityReport{}, fmt.Errorf("tag sentences %d-%d: %w", lo, hi-1, err)
		}
		if len(pred) != hi-lo {
			return GroupEntityReport{}, fmt.Errorf("tag sentences %d-%d: tagger returned %d for %d", lo, hi-1, len(pred), hi-lo)
		}
		for i, s := range sentences[lo:hi] {
			tagged = append(tagged, TaggedSentence{Group: s.Group, True: s.Tags, Pred: pred[i]})
		}
	}
	return EntityF1ByGroup(tagged)
}
