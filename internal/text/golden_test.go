package text

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

// goldenEncoding is one encoding by Hugging Face's tokenizers library (testdata/hf-golden.js).
type goldenEncoding struct {
	Text              string   `json:"text"`
	Pair              string   `json:"pair"` // the second text of a pair
	IDs               []int64  `json:"ids"`
	Tokens            []string `json:"tokens"`
	Offsets           [][2]int `json:"offsets"`
	WordIDs           []int    `json:"wordIds"`
	SpecialTokensMask []int64  `json:"specialTokensMask"`
	AttentionMask     []int64  `json:"attentionMask"`
	TypeIDs           []int64  `json:"typeIds"`
	Decoded           string   `json:"decoded"`
	// DecodedWithSpecial keeps the special tokens.
	DecodedWithSpecial string `json:"decodedWithSpecial"`
}

// TestMatchesHuggingFace compares every field with what the Rust tokenizers library produced
// for the same tokenizer.json, on text chosen to exercise the normalizer: accents and combining
// marks, CJK, scripts without case, emoji, control and format characters, special tokens
// written in the text, and words past max_input_chars_per_word; untruncated and at
// max_length 8; decoding the ids back, with and without special tokens; and pairs of texts,
// untruncated and with longest_first truncation at 8 and 13.
func TestMatchesHuggingFace(t *testing.T) {
	data, err := os.ReadFile("testdata/hf-golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var golden struct {
		Full             []goldenEncoding `json:"full"`
		MaxLength8       []goldenEncoding `json:"maxLength8"`
		Pairs            []goldenEncoding `json:"pairs"`
		PairsMaxLength8  []goldenEncoding `json:"pairsMaxLength8"`
		PairsMaxLength13 []goldenEncoding `json:"pairsMaxLength13"`
	}
	if err := json.Unmarshal(data, &golden); err != nil {
		t.Fatal(err)
	}
	tok := bert(t)
	for _, set := range []struct {
		name  string
		opts  Options
		encs  []goldenEncoding
		pairs bool
	}{
		{"full", Options{}, golden.Full, false},
		{"max length 8", Options{MaxLength: 8}, golden.MaxLength8, false},
		{"pairs", Options{}, golden.Pairs, true},
		{"pairs at max length 8", Options{MaxLength: 8}, golden.PairsMaxLength8, true},
		{"pairs at max length 13", Options{MaxLength: 13}, golden.PairsMaxLength13, true},
	} {
		if min := map[bool]int{false: 30, true: 7}[set.pairs]; len(set.encs) < min {
			t.Fatalf("%s: %d golden encodings", set.name, len(set.encs))
		}
		for _, g := range set.encs {
			enc, err := tok.Encode(g.Text, set.opts)
			if set.pairs {
				enc, err = tok.EncodePair(g.Text, g.Pair, set.opts)
			}
			if err != nil {
				t.Fatalf("%q: %v", g.Text, err)
			}
			// b's offsets are into b: convert each part's offsets against its own text.
			part := func(typeID int64, text string) []Offset {
				own := make([]Offset, len(enc.Offsets))
				for i, o := range enc.Offsets {
					if enc.TypeIDs[i] == typeID {
						own[i] = o
					}
				}
				return RuneOffsets(text, own)
			}
			offsets, inB := part(0, g.Text), part(1, g.Pair)
			for i := range offsets {
				if enc.TypeIDs[i] == 1 {
					offsets[i] = inB[i]
				}
			}
			gotOffsets := make([][2]int, len(offsets))
			for i, o := range offsets {
				gotOffsets[i] = [2]int{o.Start, o.End}
			}
			for _, f := range []struct {
				field     string
				got, want any
			}{
				{"ids", enc.IDs, g.IDs},
				{"tokens", enc.Tokens, g.Tokens},
				{"offsets", gotOffsets, g.Offsets},
				{"word ids", enc.WordIDs, g.WordIDs},
				{"special tokens mask", enc.SpecialTokensMask, g.SpecialTokensMask},
				{"attention mask", enc.AttentionMask, g.AttentionMask},
				{"type ids", enc.TypeIDs, g.TypeIDs},
				{"decoded", tok.Decode(enc.IDs, true), g.Decoded},
				{"decoded with special tokens", tok.Decode(enc.IDs, false), g.DecodedWithSpecial},
			} {
				if set.pairs && strings.HasPrefix(f.field, "decoded") {
					continue
				}
				if !reflect.DeepEqual(f.got, f.want) {
					t.Errorf("%s %q: %s = %v, Hugging Face %v", set.name, g.Text, f.field, f.got, f.want)
				}
			}
		}
	}
}
