package text

import "strings"

// Span is a half-open byte range of a text.
type Span struct{ Start, End int }

// Words are a text's word features, as LIME's text explainer splits them by default (the
// regular expression \W+): maximal runs of letters, digits and '_'. Everything between words
// (spaces, punctuation) is kept as it is when words are masked.
type Words struct {
	text  string
	spans []Span
}

// SplitWords finds the words of text.
func SplitWords(text string) Words {
	w := Words{text: text}
	start := -1
	for i, r := range text {
		switch {
		case isWordRune(r) && start < 0:
			start = i
		case !isWordRune(r) && start >= 0:
			w.spans = append(w.spans, Span{start, i})
			start = -1
		}
	}
	if start >= 0 {
		w.spans = append(w.spans, Span{start, len(text)})
	}
	return w
}

// Len is the number of words.
func (w Words) Len() int { return len(w.spans) }

// Word is the i-th word.
func (w Words) Word(i int) string { return w.text[w.spans[i].Start:w.spans[i].End] }

// Spans are the words' byte ranges in the text.
func (w Words) Spans() []Span { return append([]Span(nil), w.spans...) }

// List is every word, in order.
func (w Words) List() []string {
	out := make([]string, len(w.spans))
	for i := range w.spans {
		out[i] = w.Word(i)
	}
	return out
}

// Mask rebuilds the text with each word i for which present[i] is false replaced by mask; an
// empty mask removes the word (its surrounding separators stay), as LIME does.
func (w Words) Mask(present []bool, mask string) string {
	var b strings.Builder
	b.Grow(len(w.text))
	last := 0
	for i, sp := range w.spans {
		if present[i] {
			continue
		}
		b.WriteString(w.text[last:sp.Start])
		b.WriteString(mask)
		last = sp.End
	}
	b.WriteString(w.text[last:])
	return b.String()
}
