package text

import (
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
)

var (
	bertOnce sync.Once
	bertTok  *Tokenizer
	bertErr  error
)

func bert(t *testing.T) *Tokenizer {
	t.Helper()
	bertOnce.Do(func() { bertTok, bertErr = Load("bertbase/bert-base-uncased.json") })
	if bertErr != nil {
		t.Fatalf("load bert-base-uncased: %v", bertErr)
	}
	return bertTok
}

// The expected ids were read by hand from the vocab section of bertbase/bert-base-uncased.json
// (e.g. "hello" is 7592, "##45" is 19961); the word pieces follow the greedy longest-match rule
// applied by hand ("12345": "12345" and "1234" are not in the vocabulary, "123" is, then "##45").
func TestEncodeBertBaseUncased(t *testing.T) {
	tok := bert(t)
	tests := []struct {
		name   string
		text   string
		tokens []string
		ids    []int64
		// words are what text[offset] must give for each non-special token.
		words []string
	}{{
		name:   "punctuation is split off",
		text:   "Hello, world!",
		tokens: []string{"[CLS]", "hello", ",", "world", "!", "[SEP]"},
		ids:    []int64{101, 7592, 1010, 2088, 999, 102},
		words:  []string{"Hello", ",", "world", "!"},
	}, {
		name:   "numbers split into word pieces, apostrophe isolated",
		text:   "My order #12345 hasn't arrived.",
		tokens: []string{"[CLS]", "my", "order", "#", "123", "##45", "hasn", "'", "t", "arrived", ".", "[SEP]"},
		ids:    []int64{101, 2026, 2344, 1001, 13138, 19961, 8440, 1005, 1056, 3369, 1012, 102},
		words:  []string{"My", "order", "#", "123", "45", "hasn", "'", "t", "arrived", "."},
	}, {
		name:   "accents stripped, offsets stay on the original bytes",
		text:   "José Müller called.",
		tokens: []string{"[CLS]", "jose", "muller", "called", ".", "[SEP]"},
		ids:    []int64{101, 4560, 12304, 2170, 1012, 102},
		words:  []string{"José", "Müller", "called", "."},
	}, {
		name:   "out-of-vocabulary word in ## pieces",
		text:   "unaffable tokenization",
		tokens: []string{"[CLS]", "una", "##ffa", "##ble", "token", "##ization", "[SEP]"},
		ids:    []int64{101, 14477, 20961, 3468, 19204, 3989, 102},
		words:  []string{"una", "ffa", "ble", "token", "ization"},
	}, {
		name:   "control characters dropped, odd whitespace splits",
		text:   "Zoe\u00a0Renee\u200b\tcafé\n",
		tokens: []string{"[CLS]", "zoe", "renee", "cafe", "[SEP]"},
		ids:    []int64{101, 11199, 17400, 7668, 102},
		words:  []string{"Zoe", "Renee", "café"},
	}, {
		name:   "empty text is [CLS] [SEP]",
		text:   "",
		tokens: []string{"[CLS]", "[SEP]"},
		ids:    []int64{101, 102},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := tok.Encode(tt.text, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(enc.Tokens, tt.tokens) {
				t.Errorf("tokens = %q, want %q", enc.Tokens, tt.tokens)
			}
			if !reflect.DeepEqual(enc.IDs, tt.ids) {
				t.Errorf("ids = %v, want %v", enc.IDs, tt.ids)
			}
			for i, tokStr := range tt.tokens {
				// The vocabulary itself agrees with the hand-read ids.
				if id, _ := tok.TokenID(tokStr); i < len(tt.ids) && id != tt.ids[i] {
					t.Errorf("vocab[%q] = %d, test says %d", tokStr, id, tt.ids[i])
				}
			}
			var words []string
			for i, o := range enc.Offsets {
				if enc.SpecialTokensMask[i] == 1 {
					if o != (Offset{}) || enc.WordIDs[i] != -1 {
						t.Errorf("special token %d has offset %v word %d", i, o, enc.WordIDs[i])
					}
					continue
				}
				words = append(words, tt.text[o.Start:o.End])
			}
			if !reflect.DeepEqual(words, tt.words) {
				t.Errorf("offsets slice to %q, want %q", words, tt.words)
			}
			for i := range enc.IDs {
				if enc.AttentionMask[i] != 1 || enc.TypeIDs[i] != 0 {
					t.Errorf("position %d: attention %d type %d", i, enc.AttentionMask[i], enc.TypeIDs[i])
				}
			}
		})
	}
}

func TestWordIDsGroupPieces(t *testing.T) {
	enc, err := bert(t).Encode("unaffable tokenization", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{-1, 0, 0, 0, 1, 1, -1}; !reflect.DeepEqual(enc.WordIDs, want) {
		t.Errorf("word ids = %v, want %v", enc.WordIDs, want)
	}
}

func TestRuneOffsets(t *testing.T) {
	s := "José Müller called."
	enc, err := bert(t).Encode(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Counted by hand in characters: José 0-4, Müller 5-11, called 12-18, "." 18-19.
	want := []Offset{{}, {0, 4}, {5, 11}, {12, 18}, {18, 19}, {}}
	if got := RuneOffsets(s, enc.Offsets); !reflect.DeepEqual(got, want) {
		t.Errorf("rune offsets = %v, want %v", got, want)
	}
}

func TestTruncation(t *testing.T) {
	tok := bert(t)
	long := "the customer " + strings.Repeat("order ", 20) + "arrived"
	enc, err := tok.Encode(long, Options{MaxLength: 6})
	if err != nil {
		t.Fatal(err)
	}
	// [CLS] the customer order order [SEP]: 8013 is "customer", 2344 "order".
	if want := []int64{101, 1996, 8013, 2344, 2344, 102}; !reflect.DeepEqual(enc.IDs, want) {
		t.Errorf("ids = %v, want %v", enc.IDs, want)
	}
	if !enc.Truncated {
		t.Error("Truncated = false")
	}
	short, _ := tok.Encode("Hello, world!", Options{MaxLength: 6})
	if short.Truncated || short.Len() != 6 {
		t.Errorf("exact fit: len %d truncated %v", short.Len(), short.Truncated)
	}
	// A word split into pieces is cut between pieces, as Hugging Face does.
	cut, _ := tok.Encode("unaffable", Options{MaxLength: 4})
	if want := []string{"[CLS]", "una", "##ffa", "[SEP]"}; !reflect.DeepEqual(cut.Tokens, want) {
		t.Errorf("tokens = %q, want %q", cut.Tokens, want)
	}
}

func TestPaddingAndBatchEqualsSingle(t *testing.T) {
	tok := bert(t)
	texts := []string{"Hello, world!", "My order #12345 hasn't arrived.", "", "José Müller called."}
	for _, opts := range []Options{
		{},
		{Padding: PadLongest},
		{Padding: PadLongest, MaxLength: 8},
		{Padding: PadFixed, PadLength: 10},
		{Padding: PadFixed, PadLength: 16, MaxLength: 12},
	} {
		batch, err := tok.EncodeBatch(texts, opts)
		if err != nil {
			t.Fatal(err)
		}
		longest := 0
		for i, s := range texts {
			single, err := tok.Encode(s, Options{MaxLength: opts.MaxLength, Padding: NoPadding})
			if opts.Padding == PadFixed {
				single, err = tok.Encode(s, opts)
			}
			if err != nil {
				t.Fatal(err)
			}
			n := single.Len()
			longest = max(longest, n)
			// The unpadded prefix of the batch encoding is the single encoding, field by field.
			b := batch[i]
			if !reflect.DeepEqual(b.IDs[:n], single.IDs) || !reflect.DeepEqual(b.Offsets[:n], single.Offsets) ||
				!reflect.DeepEqual(b.AttentionMask[:n], single.AttentionMask) || !reflect.DeepEqual(b.TypeIDs[:n], single.TypeIDs) ||
				!reflect.DeepEqual(b.WordIDs[:n], single.WordIDs) || b.Truncated != single.Truncated {
				t.Errorf("%+v text %d: batch differs from single", opts, i)
			}
			for j := n; j < b.Len(); j++ {
				if b.IDs[j] != 0 || b.AttentionMask[j] != 0 || b.Tokens[j] != "[PAD]" || b.Offsets[j] != (Offset{}) {
					t.Errorf("%+v text %d position %d is not padding", opts, i, j)
				}
			}
		}
		for i, b := range batch {
			want := 0
			switch opts.Padding {
			case NoPadding:
				want = b.Len()
			case PadLongest:
				want = longest
			case PadFixed:
				want = opts.PadLength
			}
			if b.Len() != want || len(b.AttentionMask) != want || len(b.TypeIDs) != want || len(b.Offsets) != want {
				t.Errorf("%+v text %d has length %d, want %d", opts, i, b.Len(), want)
			}
		}
	}
	// Fixed padding truncates to its length when no MaxLength is given.
	enc, _ := tok.Encode(strings.Repeat("order ", 30), Options{Padding: PadFixed, PadLength: 8})
	if enc.Len() != 8 || !enc.Truncated || enc.IDs[7] != 102 {
		t.Errorf("fixed padding without max length: len %d truncated %v last %d", enc.Len(), enc.Truncated, enc.IDs[7])
	}
}

func TestLongWordIsUnknown(t *testing.T) {
	enc, err := bert(t).Encode("a "+strings.Repeat("x", 101), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"[CLS]", "a", "[UNK]", "[SEP]"}; !reflect.DeepEqual(enc.Tokens, want) {
		t.Errorf("tokens = %q, want %q", enc.Tokens, want)
	}
	if enc.Offsets[2] != (Offset{2, 103}) {
		t.Errorf("unk offset = %v", enc.Offsets[2])
	}
}

func TestChineseCharactersAreWords(t *testing.T) {
	tok := bert(t)
	enc, err := tok.Encode("我爱", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(enc.Tokens) != 4 || enc.Offsets[1] != (Offset{0, 3}) || enc.Offsets[2] != (Offset{3, 6}) {
		t.Errorf("tokens %q offsets %v", enc.Tokens, enc.Offsets)
	}
}

func TestRejects(t *testing.T) {
	tok := bert(t)
	if _, err := tok.Encode("a", Options{MaxLength: 1}); err == nil {
		t.Error("max length 1 accepted")
	}
	if _, err := tok.Encode("a", Options{Padding: PadFixed}); err == nil {
		t.Error("fixed padding without a length accepted")
	}
	if _, err := tok.Encode("\xff", Options{}); err == nil {
		t.Error("invalid UTF-8 accepted")
	}
	for name, doc := range map[string]string{
		"bpe":           `{"model":{"type":"BPE","vocab":{"a":0}},"pre_tokenizer":{"type":"ByteLevel"}}`,
		"pre-tokenizer": `{"model":{"type":"WordPiece","unk_token":"[UNK]","vocab":{"[UNK]":0,"[CLS]":1,"[SEP]":2,"[PAD]":3}},"pre_tokenizer":{"type":"Metaspace"}}`,
		"no specials":   `{"model":{"type":"WordPiece","unk_token":"[UNK]","vocab":{"[UNK]":0}},"pre_tokenizer":{"type":"BertPreTokenizer"}}`,
	} {
		if _, err := Parse([]byte(doc)); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: err = %v, want ErrUnsupported", name, err)
		}
	}
}

func TestCasedNormalizer(t *testing.T) {
	doc := `{"normalizer":{"type":"BertNormalizer","lowercase":false},"pre_tokenizer":{"type":"BertPreTokenizer"},
	"model":{"type":"WordPiece","unk_token":"[UNK]","continuing_subword_prefix":"##","vocab":{"[PAD]":0,"[UNK]":1,"[CLS]":2,"[SEP]":3,"José":4,"jose":5}}}`
	tok, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := tok.Encode("José jose Jose", Options{})
	if want := []int64{2, 4, 5, 1, 3}; !reflect.DeepEqual(enc.IDs, want) {
		t.Errorf("cased ids = %v, want %v", enc.IDs, want)
	}
}

func TestEncodeWords(t *testing.T) {
	tok := bert(t)
	words := []string{"Mr.", "O'Neil", "lives", "in", "Köln", "[MASK]"}
	enc, err := tok.EncodeWords(words, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Each input word is pre-tokenized on its own; its pieces all carry its index.
	wantTokens := []string{"[CLS]", "mr", ".", "o", "'", "neil", "lives", "in", "koln", "[MASK]", "[SEP]"}
	wantWords := []int{-1, 0, 0, 1, 1, 1, 2, 3, 4, 5, -1}
	if !reflect.DeepEqual(enc.Tokens, wantTokens) || !reflect.DeepEqual(enc.WordIDs, wantWords) {
		t.Fatalf("tokens %q words %v", enc.Tokens, enc.WordIDs)
	}
	joined := strings.Join(words, " ")
	var got []string
	for _, o := range enc.Offsets[1 : enc.Len()-1] {
		got = append(got, joined[o.Start:o.End])
	}
	if want := []string{"Mr", ".", "O", "'", "Neil", "lives", "in", "Köln", "[MASK]"}; !reflect.DeepEqual(got, want) {
		t.Errorf("offsets slice to %q, want %q", got, want)
	}
	// The same words as one text give the same ids (only the word numbering differs).
	single, _ := tok.Encode(joined, Options{})
	if !reflect.DeepEqual(single.IDs, enc.IDs) {
		t.Errorf("as text: %v, as words: %v", single.IDs, enc.IDs)
	}
	batch, err := tok.EncodeWordsBatch([][]string{words, {"hi"}}, Options{Padding: PadLongest})
	if err != nil || batch[1].Len() != enc.Len() || !reflect.DeepEqual(batch[0].IDs, enc.IDs) {
		t.Errorf("batch: %v, %v", batch, err)
	}
	if _, err := tok.EncodeWords([]string{"\xff"}, Options{}); err == nil {
		t.Error("invalid UTF-8 word accepted")
	}
}

func TestDecodeTokens(t *testing.T) {
	tok := bert(t)
	if got := tok.DecodeTokens([]string{"jose", "mu", "##ller", ",", "ok", "."}); got != "jose muller, ok." {
		t.Errorf("decode = %q", got)
	}
}

func BenchmarkEncodeBatch(b *testing.B) {
	tok, err := Load("bertbase/bert-base-uncased.json")
	if err != nil {
		b.Fatal(err)
	}
	texts := []string{
		"My order #12345 hasn't arrived and I'd like a refund, please.",
		"José Müller called about the invoice from Köln; can someone call him back today?",
		"The app keeps crashing whenever I try to update my payment details!!!",
		"hello",
	}
	batch := make([]string, 64)
	var bytes int
	for i := range batch {
		batch[i] = texts[i%len(texts)]
		bytes += len(batch[i])
	}
	b.SetBytes(int64(bytes))
	b.ResetTimer()
	for b.Loop() {
		if _, err := tok.EncodeBatch(batch, Options{MaxLength: 128, Padding: PadLongest}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestFileOptions(t *testing.T) {
	if o := bert(t).FileOptions(); o != (Options{}) {
		t.Errorf("bert-base-uncased states %+v, want none", o)
	}
	base := `"pre_tokenizer":{"type":"BertPreTokenizer"},"model":{"type":"WordPiece","unk_token":"[UNK]","vocab":{"[PAD]":0,"[UNK]":1,"[CLS]":2,"[SEP]":3}}`
	for _, c := range []struct {
		sections string
		want     Options
		err      bool
	}{
		{`"truncation":{"max_length":128,"strategy":"LongestFirst","direction":"Right","stride":0},"padding":{"strategy":"BatchLongest","direction":"Right"}`, Options{MaxLength: 128, Padding: PadLongest}, false},
		{`"padding":{"strategy":{"Fixed":64},"direction":"Right","pad_token":"[PAD]"}`, Options{Padding: PadFixed, PadLength: 64}, false},
		{`"padding":{"strategy":"BatchLongest","direction":"Left"}`, Options{}, true},
		{`"truncation":{"max_length":128,"direction":"Left"}`, Options{}, true},
		{`"truncation":{"max_length":128,"stride":16}`, Options{}, true},
	} {
		tok, err := Parse([]byte("{" + c.sections + "," + base + "}"))
		if c.err {
			if !errors.Is(err, ErrUnsupported) {
				t.Errorf("%s: err %v, want ErrUnsupported", c.sections, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.sections, err)
		}
		if got := tok.FileOptions(); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.sections, got, c.want)
		}
	}
}

func TestEncodePairLimits(t *testing.T) {
	tok := bert(t)
	if _, err := tok.EncodePair("a", "b", Options{MaxLength: 2}); err == nil {
		t.Error("max length 2 accepted for a pair")
	}
	enc, err := tok.EncodePair("hello", "world", Options{MaxLength: 3, Padding: PadFixed, PadLength: 6})
	if err != nil {
		t.Fatal(err)
	}
	// Nothing of either text fits in 3: [CLS] [SEP] [SEP], then padding.
	if want := []int64{101, 102, 102, 0, 0, 0}; !reflect.DeepEqual(enc.IDs, want) || !enc.Truncated {
		t.Errorf("ids %v truncated %v", enc.IDs, enc.Truncated)
	}
	if want := []int64{0, 0, 1, 0, 0, 0}; !reflect.DeepEqual(enc.TypeIDs, want) {
		t.Errorf("type ids %v", enc.TypeIDs)
	}
}

func TestAddedTokenOutsideVocabulary(t *testing.T) {
	doc := `{"added_tokens":[{"id":4,"content":"<ORDER>","special":false}],"normalizer":{"type":"BertNormalizer"},"pre_tokenizer":{"type":"BertPreTokenizer"},
	"model":{"type":"WordPiece","unk_token":"[UNK]","vocab":{"[PAD]":0,"[UNK]":1,"[CLS]":2,"[SEP]":3,"ok":5}}}`
	tok, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := tok.Encode("ok <ORDER> ok", Options{})
	if want := []int64{2, 5, 4, 5, 3}; !reflect.DeepEqual(enc.IDs, want) {
		t.Errorf("ids = %v, want %v", enc.IDs, want)
	}
	if got := tok.Decode(enc.IDs, false); got != "[CLS] ok <ORDER> ok [SEP]" {
		t.Errorf("decode = %q", got)
	}
}
