// Package text turns text into the int64 tensors a Hugging Face-exported language model takes
// (input_ids, attention_mask, token_type_ids) by reading the model's tokenizer.json.
//
// It implements the BERT family: the BertNormalizer (control-character cleaning, CJK spacing,
// accent stripping, lowercasing), the BertPreTokenizer (split on whitespace, isolate
// punctuation), the WordPiece model (greedy longest match with "##" continuations) and the
// [CLS] … [SEP] template; added tokens written in the text ("[MASK]") are matched before
// normalization, as Hugging Face does. A tokenizer.json that asks for anything else is refused
// with ErrUnsupported rather than tokenized differently from the model's training. The output,
// ids, offsets, word ids and masks, equals Hugging Face's tokenizers library on a golden set
// (testdata/hf-golden.json).
//
// github.com/sugarme/tokenizer was tried first: with this repository's bert-base-uncased
// tokenizer.json it maps accented words ("José") to [UNK] where Hugging Face yields "jose",
// so the pipeline is written here (it is small) and tested against the real vocabulary.
//
// Offsets are byte offsets into the caller's original string, so text[Start:End] is the
// token's source text; RuneOffsets converts them to the character offsets Hugging Face's
// Python API reports.
package text

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// ErrUnsupported means the tokenizer.json describes a pipeline this package does not implement.
var ErrUnsupported = errors.New("unsupported tokenizer")

// Offset is a half-open byte range [Start, End) of the original text. Special and padding
// tokens have the empty range {0, 0}, as in Hugging Face.
type Offset struct {
	Start int `json:"start"`
	End   int `json:"end"`
}

// Encoding is one tokenized text. All slices have the same length.
type Encoding struct {
	IDs           []int64
	Tokens        []string
	TypeIDs       []int64
	AttentionMask []int64
	Offsets       []Offset
	// SpecialTokensMask is 1 for [CLS], [SEP] and padding, 0 for tokens from the text.
	SpecialTokensMask []int64
	// WordIDs is the index of the pre-tokenized word each token came from, -1 for special
	// and padding tokens; Hugging Face's token-classification aggregation groups by it.
	WordIDs []int
	// Truncated is true when tokens from the text were dropped to fit MaxLength.
	Truncated bool
}

// Len is the number of positions, padding included.
func (e Encoding) Len() int { return len(e.IDs) }

// Padding says how a batch is padded: not at all, to the longest encoding in the batch, or to
// a fixed length (which is also the truncation length when MaxLength is unset).
type Padding int

const (
	NoPadding Padding = iota
	PadLongest
	PadFixed
)

// Options are the truncation and padding settings; a model's serving metadata states them.
type Options struct {
	// MaxLength caps each encoding, [CLS] and [SEP] included; 0 means no truncation.
	MaxLength int
	Padding   Padding
	// PadLength is the length for PadFixed.
	PadLength int
}

// Tokenizer is a loaded BERT WordPiece tokenizer. It is immutable and safe for concurrent use.
type Tokenizer struct {
	vocab    map[string]int64
	idToken  []string
	unk      string
	prefix   string
	maxChars int

	cleanText    bool
	chineseChars bool
	stripAccents bool
	lowercase    bool

	cls, sep, pad       string
	clsID, sepID, padID int64

	// added are tokenizer.json's added_tokens, matched in the raw text before normalization
	// (longest first at each position), as Hugging Face does: "[MASK]" in a text is id 103.
	added []addedToken
	// special are the ids of added tokens marked special, which Decode can skip.
	special map[int64]bool
	// fileOptions are the truncation and padding tokenizer.json states.
	fileOptions Options
}

type addedToken struct {
	content string
	id      int64
}

// tokenizerFile is the part of tokenizer.json this package reads.
type tokenizerFile struct {
	AddedTokens []struct {
		ID         int64  `json:"id"`
		Content    string `json:"content"`
		SingleWord bool   `json:"single_word"`
		LStrip     bool   `json:"lstrip"`
		RStrip     bool   `json:"rstrip"`
		Normalized bool   `json:"normalized"`
		Special    bool   `json:"special"`
	} `json:"added_tokens"`
	Normalizer *struct {
		Type               string `json:"type"`
		CleanText          *bool  `json:"clean_text"`
		HandleChineseChars *bool  `json:"handle_chinese_chars"`
		StripAccents       *bool  `json:"strip_accents"`
		Lowercase          *bool  `json:"lowercase"`
	} `json:"normalizer"`
	PreTokenizer *struct {
		Type string `json:"type"`
	} `json:"pre_tokenizer"`
	PostProcessor *struct {
		Type string `json:"type"`
		Sep  []any  `json:"sep"` // BertProcessing: ["[SEP]", 102]
		Cls  []any  `json:"cls"`
		// TemplateProcessing
		Single []map[string]struct{ ID string } `json:"single"`
	} `json:"post_processor"`
	Truncation *struct {
		MaxLength int    `json:"max_length"`
		Direction string `json:"direction"`
		Stride    int    `json:"stride"`
	} `json:"truncation"`
	Padding *struct {
		Strategy  json.RawMessage `json:"strategy"` // "BatchLongest" or {"Fixed": n}
		Direction string          `json:"direction"`
		PadToken  string          `json:"pad_token"`
	} `json:"padding"`
	Model struct {
		Type                    string           `json:"type"`
		UnkToken                string           `json:"unk_token"`
		ContinuingSubwordPrefix string           `json:"continuing_subword_prefix"`
		MaxInputCharsPerWord    int              `json:"max_input_chars_per_word"`
		Vocab                   map[string]int64 `json:"vocab"`
	} `json:"model"`
}

// Load reads a tokenizer.json file.
func Load(path string) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read tokenizer: %w", err)
	}
	return Parse(data)
}

// Parse reads tokenizer.json content.
func Parse(data []byte) (*Tokenizer, error) {
	var f tokenizerFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("parse tokenizer.json: %w", err)
	}
	m := f.Model
	if m.Type != "WordPiece" && !(m.Type == "" && m.ContinuingSubwordPrefix != "") {
		return nil, fmt.Errorf("%w: model type %q, want WordPiece", ErrUnsupported, m.Type)
	}
	if len(m.Vocab) == 0 {
		return nil, fmt.Errorf("%w: empty vocabulary", ErrUnsupported)
	}
	t := &Tokenizer{
		vocab: m.Vocab, unk: m.UnkToken, prefix: m.ContinuingSubwordPrefix, maxChars: m.MaxInputCharsPerWord,
		cls: "[CLS]", sep: "[SEP]", pad: "[PAD]",
	}
	if t.unk == "" {
		t.unk = "[UNK]"
	}
	if t.prefix == "" {
		t.prefix = "##"
	}
	if t.maxChars <= 0 {
		t.maxChars = 100
	}
	if _, ok := t.vocab[t.unk]; !ok {
		return nil, fmt.Errorf("%w: unknown token %q not in vocabulary", ErrUnsupported, t.unk)
	}
	t.idToken = make([]string, 0, len(m.Vocab))
	for tok, id := range m.Vocab {
		if id < 0 || id > int64(10*len(m.Vocab)) { // a sparse id space would cost memory for nothing
			return nil, fmt.Errorf("%w: token %q has id %d", ErrUnsupported, tok, id)
		}
		for int64(len(t.idToken)) <= id {
			t.idToken = append(t.idToken, "")
		}
		t.idToken[id] = tok
	}

	if n := f.Normalizer; n != nil {
		if n.Type != "BertNormalizer" {
			return nil, fmt.Errorf("%w: normalizer %q, want BertNormalizer", ErrUnsupported, n.Type)
		}
		t.cleanText, t.chineseChars, t.lowercase = orTrue(n.CleanText), orTrue(n.HandleChineseChars), orTrue(n.Lowercase)
		// Hugging Face: strip_accents unset follows lowercase.
		t.stripAccents = t.lowercase
		if n.StripAccents != nil {
			t.stripAccents = *n.StripAccents
		}
	}
	if p := f.PreTokenizer; p == nil || p.Type != "BertPreTokenizer" {
		return nil, fmt.Errorf("%w: pre_tokenizer must be BertPreTokenizer", ErrUnsupported)
	}
	if err := t.readSpecialTokens(&f); err != nil {
		return nil, err
	}
	if err := t.readFileOptions(&f); err != nil {
		return nil, err
	}
	for _, a := range f.AddedTokens {
		if a.SingleWord || a.LStrip || a.RStrip || a.Normalized {
			return nil, fmt.Errorf("%w: added token %q with single_word, lstrip, rstrip or normalized set", ErrUnsupported, a.Content)
		}
		if a.Content == "" {
			return nil, fmt.Errorf("%w: empty added token", ErrUnsupported)
		}
		if a.ID < 0 || a.ID > int64(10*len(m.Vocab)) {
			return nil, fmt.Errorf("%w: added token %q has id %d", ErrUnsupported, a.Content, a.ID)
		}
		t.added = append(t.added, addedToken{a.Content, a.ID})
		for int64(len(t.idToken)) <= a.ID {
			t.idToken = append(t.idToken, "")
		}
		if t.idToken[a.ID] == "" { // an added token outside the model's vocabulary
			t.idToken[a.ID] = a.Content
		}
		if a.Special {
			if t.special == nil {
				t.special = map[int64]bool{}
			}
			t.special[a.ID] = true
		}
	}
	sort.SliceStable(t.added, func(i, j int) bool { return len(t.added[i].content) > len(t.added[j].content) })
	return t, nil
}

// readFileOptions keeps the truncation and padding sections of tokenizer.json (both usually
// null); only right-side truncation without stride and right-side padding are supported.
func (t *Tokenizer) readFileOptions(f *tokenizerFile) error {
	if tr := f.Truncation; tr != nil {
		if (tr.Direction != "" && tr.Direction != "Right") || tr.Stride != 0 || tr.MaxLength < 2 {
			return fmt.Errorf("%w: truncation %+v (only Right, no stride, max_length ≥ 2)", ErrUnsupported, *tr)
		}
		t.fileOptions.MaxLength = tr.MaxLength
	}
	if p := f.Padding; p != nil {
		if p.Direction != "" && p.Direction != "Right" {
			return fmt.Errorf("%w: padding direction %q", ErrUnsupported, p.Direction)
		}
		var fixed struct{ Fixed int }
		switch {
		case string(p.Strategy) == `"BatchLongest"`:
			t.fileOptions.Padding = PadLongest
		case json.Unmarshal(p.Strategy, &fixed) == nil && fixed.Fixed >= 2:
			t.fileOptions.Padding, t.fileOptions.PadLength = PadFixed, fixed.Fixed
		default:
			return fmt.Errorf("%w: padding strategy %s", ErrUnsupported, p.Strategy)
		}
	}
	return nil
}

// FileOptions are the truncation and padding the tokenizer.json itself states (zero when it
// states none, as bert-base-uncased's does); a model's serving metadata may override them.
func (t *Tokenizer) FileOptions() Options { return t.fileOptions }

// matchAdded is the longest added token at s[i:], if any.
func (t *Tokenizer) matchAdded(s string, i int) (addedToken, bool) {
	for _, a := range t.added {
		if strings.HasPrefix(s[i:], a.content) {
			return a, true
		}
	}
	return addedToken{}, false
}

func orTrue(b *bool) bool { return b == nil || *b }

// readSpecialTokens takes [CLS], [SEP] and [PAD] from the post-processor and padding sections,
// falling back to the BERT names looked up in the vocabulary.
func (t *Tokenizer) readSpecialTokens(f *tokenizerFile) error {
	if pp := f.PostProcessor; pp != nil {
		switch pp.Type {
		case "TemplateProcessing":
			// single: [SpecialToken CLS, Sequence A, SpecialToken SEP] is the only shape accepted.
			if len(pp.Single) != 3 {
				return fmt.Errorf("%w: post_processor single template of %d pieces", ErrUnsupported, len(pp.Single))
			}
			first, okF := pp.Single[0]["SpecialToken"]
			_, okA := pp.Single[1]["Sequence"]
			last, okL := pp.Single[2]["SpecialToken"]
			if !okF || !okA || !okL {
				return fmt.Errorf("%w: post_processor single template is not [CLS] $A [SEP]", ErrUnsupported)
			}
			t.cls, t.sep = first.ID, last.ID
		case "BertProcessing":
			if len(pp.Cls) == 2 && len(pp.Sep) == 2 {
				t.cls, _ = pp.Cls[0].(string)
				t.sep, _ = pp.Sep[0].(string)
			}
		default:
			return fmt.Errorf("%w: post_processor %q", ErrUnsupported, pp.Type)
		}
	}
	if f.Padding != nil && f.Padding.PadToken != "" {
		t.pad = f.Padding.PadToken
	}
	for _, s := range []struct {
		name string
		id   *int64
	}{{t.cls, &t.clsID}, {t.sep, &t.sepID}, {t.pad, &t.padID}} {
		id, ok := t.vocab[s.name]
		if !ok {
			return fmt.Errorf("%w: special token %q not in vocabulary", ErrUnsupported, s.name)
		}
		*s.id = id
	}
	return nil
}

// VocabSize is the number of ids (one more than the largest id).
func (t *Tokenizer) VocabSize() int { return len(t.idToken) }

// TokenID looks a token up in the vocabulary.
func (t *Tokenizer) TokenID(token string) (int64, bool) {
	id, ok := t.vocab[token]
	return id, ok
}

// IDToken is the token with the given id, "" when there is none.
func (t *Tokenizer) IDToken(id int64) string {
	if id < 0 || id >= int64(len(t.idToken)) {
		return ""
	}
	return t.idToken[id]
}

// PadID is the id padding positions carry.
func (t *Tokenizer) PadID() int64 { return t.padID }

// Encode tokenizes one text with [CLS] and [SEP], truncated to opts.MaxLength and, for
// PadFixed, padded to opts.PadLength. PadLongest on a single text pads nothing.
func (t *Tokenizer) Encode(text string, opts Options) (Encoding, error) {
	encs, err := t.EncodeBatch([]string{text}, opts)
	if err != nil {
		return Encoding{}, err
	}
	return encs[0], nil
}

// EncodeBatch tokenizes texts independently (the result for a text never depends on the others)
// and then pads them as opts says. Padding is on the right.
func (t *Tokenizer) EncodeBatch(texts []string, opts Options) ([]Encoding, error) {
	return t.encodeBatch(len(texts), opts, func(i, maxLen int) (Encoding, error) {
		if !utf8.ValidString(texts[i]) {
			return Encoding{}, fmt.Errorf("text %d is not valid UTF-8", i)
		}
		return t.encode(t.words(texts[i], 0), maxLen), nil
	})
}

// EncodeWords tokenizes a text given as words (a dataset's tokens, as in CoNLL files), the way
// Hugging Face does with is_split_into_words: each word is normalized and pre-tokenized on its
// own, and WordIDs index words, so a label per word can be aligned with the tokens. Offsets
// are into strings.Join(words, " ").
func (t *Tokenizer) EncodeWords(words []string, opts Options) (Encoding, error) {
	encs, err := t.EncodeWordsBatch([][]string{words}, opts)
	if err != nil {
		return Encoding{}, err
	}
	return encs[0], nil
}

// EncodeWordsBatch is EncodeWords for a batch, padded as opts says.
func (t *Tokenizer) EncodeWordsBatch(batch [][]string, opts Options) ([]Encoding, error) {
	return t.encodeBatch(len(batch), opts, func(i, maxLen int) (Encoding, error) {
		var all []textWord
		base := 0
		for k, w := range batch[i] {
			if !utf8.ValidString(w) {
				return Encoding{}, fmt.Errorf("text %d word %d is not valid UTF-8", i, k)
			}
			for _, tw := range t.words(w, base) {
				tw.id = k
				all = append(all, tw)
			}
			base += len(w) + 1
		}
		return t.encode(all, maxLen), nil
	})
}

func (t *Tokenizer) encodeBatch(n int, opts Options, one func(i, maxLen int) (Encoding, error)) ([]Encoding, error) {
	if opts.MaxLength < 0 || opts.MaxLength == 1 {
		return nil, fmt.Errorf("max length %d leaves no room for [CLS] and [SEP]", opts.MaxLength)
	}
	if opts.Padding == PadFixed && opts.PadLength < 2 {
		return nil, fmt.Errorf("fixed padding needs a length of at least 2, got %d", opts.PadLength)
	}
	maxLen := opts.MaxLength
	if opts.Padding == PadFixed && (maxLen == 0 || maxLen > opts.PadLength) {
		maxLen = opts.PadLength
	}
	encs := make([]Encoding, n)
	longest := 0
	for i := range encs {
		var err error
		if encs[i], err = one(i, maxLen); err != nil {
			return nil, err
		}
		longest = max(longest, encs[i].Len())
	}
	target := 0
	switch opts.Padding {
	case PadLongest:
		target = longest
	case PadFixed:
		target = opts.PadLength
	}
	for i := range encs {
		t.padTo(&encs[i], target)
	}
	return encs, nil
}

// encode lays out [CLS], the words' pieces up to maxLen positions in all, and [SEP].
func (t *Tokenizer) encode(words []textWord, maxLen int) Encoding {
	seq := t.pieces(words)
	var e Encoding
	if maxLen > 0 && len(seq) > maxLen-2 {
		seq, e.Truncated = seq[:maxLen-2], true
	}
	e.grow(len(seq) + 2)
	t.appendSpecial(&e, t.cls, t.clsID, 0)
	e.appendPieces(seq, 0)
	t.appendSpecial(&e, t.sep, t.sepID, 0)
	return e
}

// wordPieces are a sequence's pieces with the word each came from.
type wordPiece struct {
	piece
	word int
}

func (t *Tokenizer) pieces(words []textWord) []wordPiece {
	out := make([]wordPiece, 0, len(words)+len(words)/4)
	for _, word := range words {
		pieces := word.added
		if pieces == nil {
			pieces = t.wordPiece(word.runes)
		}
		for _, p := range pieces {
			out = append(out, wordPiece{p, word.id})
		}
	}
	return out
}

func (e *Encoding) grow(n int) {
	e.IDs, e.Tokens, e.TypeIDs = make([]int64, 0, n), make([]string, 0, n), make([]int64, 0, n)
	e.AttentionMask, e.Offsets = make([]int64, 0, n), make([]Offset, 0, n)
	e.SpecialTokensMask, e.WordIDs = make([]int64, 0, n), make([]int, 0, n)
}

func (e *Encoding) appendPieces(seq []wordPiece, typeID int64) {
	for _, p := range seq {
		e.IDs = append(e.IDs, p.id)
		e.Tokens = append(e.Tokens, p.token)
		e.TypeIDs = append(e.TypeIDs, typeID)
		e.AttentionMask = append(e.AttentionMask, 1)
		e.Offsets = append(e.Offsets, p.offset)
		e.SpecialTokensMask = append(e.SpecialTokensMask, 0)
		e.WordIDs = append(e.WordIDs, p.word)
	}
}

// EncodePair tokenizes a pair of texts (question and context, premise and hypothesis) as
// [CLS] a [SEP] b [SEP], token_type_ids 0 for the first part and 1 for b and its [SEP]. Word
// ids restart at 0 in b, and b's offsets are into b. Truncation is Hugging Face's
// longest_first: the longer side loses tokens first, and when both are over half the budget
// each keeps half (b the odd one).
func (t *Tokenizer) EncodePair(a, b string, opts Options) (Encoding, error) {
	encs, err := t.EncodePairBatch([][2]string{{a, b}}, opts)
	if err != nil {
		return Encoding{}, err
	}
	return encs[0], nil
}

// EncodePairBatch is EncodePair for a batch, padded as opts says.
func (t *Tokenizer) EncodePairBatch(pairs [][2]string, opts Options) ([]Encoding, error) {
	if opts.MaxLength == 2 {
		return nil, fmt.Errorf("max length 2 leaves no room for a pair's [CLS] and two [SEP]")
	}
	return t.encodeBatch(len(pairs), opts, func(i, maxLen int) (Encoding, error) {
		if !utf8.ValidString(pairs[i][0]) || !utf8.ValidString(pairs[i][1]) {
			return Encoding{}, fmt.Errorf("pair %d is not valid UTF-8", i)
		}
		if maxLen > 0 && maxLen < 3 {
			return Encoding{}, fmt.Errorf("max length %d leaves no room for a pair's [CLS] and two [SEP]", maxLen)
		}
		sa, sb := t.pieces(t.words(pairs[i][0], 0)), t.pieces(t.words(pairs[i][1], 0))
		var e Encoding
		if maxLen > 0 {
			na, nb := longestFirst(len(sa), len(sb), maxLen-3)
			if na < len(sa) || nb < len(sb) {
				sa, sb, e.Truncated = sa[:na], sb[:nb], true
			}
		}
		e.grow(len(sa) + len(sb) + 3)
		t.appendSpecial(&e, t.cls, t.clsID, 0)
		e.appendPieces(sa, 0)
		t.appendSpecial(&e, t.sep, t.sepID, 0)
		e.appendPieces(sb, 1)
		t.appendSpecial(&e, t.sep, t.sepID, 1)
		return e, nil
	})
}

// longestFirst is how many tokens of each side Hugging Face's longest_first truncation keeps
// within total.
func longestFirst(n1, n2, total int) (int, int) {
	if n1+n2 <= total {
		return n1, n2
	}
	short, long, swapped := n1, n2, false
	if short > long {
		short, long, swapped = long, short, true
	}
	if short > total {
		long = short
	} else {
		long = min(long, max(short, total-short))
	}
	if short+long > total {
		short = total / 2
		long = short + total%2
	}
	if swapped {
		return long, short
	}
	return short, long
}

func (t *Tokenizer) appendSpecial(e *Encoding, tok string, id, typeID int64) {
	e.IDs = append(e.IDs, id)
	e.Tokens = append(e.Tokens, tok)
	e.TypeIDs = append(e.TypeIDs, typeID)
	e.AttentionMask = append(e.AttentionMask, 1)
	e.Offsets = append(e.Offsets, Offset{})
	e.SpecialTokensMask = append(e.SpecialTokensMask, 1)
	e.WordIDs = append(e.WordIDs, -1)
}

func (t *Tokenizer) padTo(e *Encoding, n int) {
	for e.Len() < n {
		e.IDs = append(e.IDs, t.padID)
		e.Tokens = append(e.Tokens, t.pad)
		e.TypeIDs = append(e.TypeIDs, 0)
		e.AttentionMask = append(e.AttentionMask, 0)
		e.Offsets = append(e.Offsets, Offset{})
		e.SpecialTokensMask = append(e.SpecialTokensMask, 1)
		e.WordIDs = append(e.WordIDs, -1)
	}
}

// normRune is one rune of the normalized text with the original byte range it came from.
type normRune struct {
	r   rune
	src Offset
}

// normalize applies the BertNormalizer in Hugging Face's order: clean text, pad CJK
// characters, strip accents (NFD, drop nonspacing marks), lowercase. Every output rune keeps
// the byte range of the input rune it derives from.
// base is s's byte position in the caller's text.
func (t *Tokenizer) normalize(s string, base int) []normRune {
	out := make([]normRune, 0, len(s))
	for i, r := range s {
		src := Offset{base + i, base + i + utf8.RuneLen(r)}
		if t.cleanText {
			if r == 0 || r == utf8.RuneError || isControl(r) {
				continue
			}
			if isBertWhitespace(r) {
				r = ' '
			}
		}
		if t.chineseChars && isChineseChar(r) {
			out = append(out, normRune{' ', src}, normRune{r, src}, normRune{' ', src})
			continue
		}
		if r < utf8.RuneSelf { // ASCII: nothing to decompose, ASCII lowercase
			if t.lowercase && 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			out = append(out, normRune{r, src})
			continue
		}
		runes := []rune{r}
		if t.stripAccents {
			var buf [utf8.UTFMax]byte
			runes = runes[:0]
			for _, d := range string(norm.NFD.Append(nil, utf8.AppendRune(buf[:0], r)...)) {
				if !unicode.Is(unicode.Mn, d) {
					runes = append(runes, d)
				}
			}
		}
		for _, d := range runes {
			if t.lowercase {
				// Rust's char::to_lowercase, used by Hugging Face, maps U+0130 to "i̇"; Go's
				// unicode.ToLower maps it to "i". Keep Hugging Face's expansion.
				if d == '\u0130' {
					out = append(out, normRune{'i', src}, normRune{'\u0307', src})
					continue
				}
				d = unicode.ToLower(d)
			}
			out = append(out, normRune{d, src})
		}
	}
	return out
}

// word is a pre-tokenized word: its normalized runes.
type word []normRune

// textWord is a word of the text or an added token found in it (added is then its one piece).
type textWord struct {
	runes word
	added []piece
	id    int // the word id the pieces get
}

// words splits s at added tokens and normalizes and pre-tokenizes the text between them,
// numbering the words from 0; base is s's byte position in the text offsets refer to.
func (t *Tokenizer) words(s string, base int) []textWord {
	var out []textWord
	segment := func(lo, hi int) {
		for _, w := range t.preTokenize(t.normalize(s[lo:hi], base+lo)) {
			out = append(out, textWord{runes: w, id: len(out)})
		}
	}
	last := 0
	for i := 0; i < len(s); {
		a, ok := t.matchAdded(s, i)
		if !ok {
			_, n := utf8.DecodeRuneInString(s[i:])
			i += n
			continue
		}
		segment(last, i)
		out = append(out, textWord{added: []piece{{a.content, a.id, Offset{base + i, base + i + len(a.content)}}}, id: len(out)})
		i += len(a.content)
		last = i
	}
	segment(last, len(s))
	return out
}

// preTokenize splits on whitespace (dropped) and makes every punctuation rune its own word.
func (t *Tokenizer) preTokenize(runes []normRune) []word {
	var words []word
	start := -1
	flush := func(end int) {
		if start >= 0 && end > start {
			words = append(words, word(runes[start:end]))
		}
		start = -1
	}
	for i, nr := range runes {
		switch {
		case unicode.IsSpace(nr.r):
			flush(i)
		case isBertPunctuation(nr.r):
			flush(i)
			words = append(words, word(runes[i:i+1]))
		default:
			if start < 0 {
				start = i
			}
		}
	}
	flush(len(runes))
	return words
}

type piece struct {
	token  string
	id     int64
	offset Offset
}

// wordPiece splits a word greedily into the longest vocabulary entries, continuations carrying
// the "##" prefix. A word with any unmatched remainder, or longer than max_input_chars_per_word
// runes, becomes one [UNK] covering the whole word.
func (t *Tokenizer) wordPiece(w word) []piece {
	whole := Offset{w[0].src.Start, w[len(w)-1].src.End}
	unk := []piece{{t.unk, t.vocab[t.unk], whole}}
	if len(w) > t.maxChars {
		return unk
	}
	// The word's normalized bytes, and where each rune starts in them (at[len(w)] is the end).
	s := make([]byte, 0, len(w)*2)
	at := make([]int, len(w)+1)
	for i, nr := range w {
		at[i] = len(s)
		s = utf8.AppendRune(s, nr.r)
	}
	at[len(w)] = len(s)
	buf := make([]byte, 0, len(t.prefix)+len(s))
	var pieces []piece
	for start := 0; start < len(w); {
		end := len(w)
		found := false
		for ; end > start; end-- {
			buf = buf[:0]
			if start > 0 {
				buf = append(buf, t.prefix...)
			}
			buf = append(buf, s[at[start]:at[end]]...)
			if id, ok := t.vocab[string(buf)]; ok { // no allocation for a map lookup
				pieces = append(pieces, piece{t.idToken[id], id, Offset{w[start].src.Start, w[end-1].src.End}})
				found = true
				break
			}
		}
		if !found {
			return unk
		}
		start = end
	}
	return pieces
}

// RuneOffsets converts byte offsets into s to rune (character) offsets, the form Hugging
// Face's Python tokenizers and pipelines report.
func RuneOffsets(s string, offsets []Offset) []Offset {
	runeAt := make([]int, len(s)+1)
	n := 0
	for i := range s {
		runeAt[i] = n
		n++
	}
	runeAt[len(s)] = n
	// Byte positions inside a rune do not occur in offsets produced by this package; an
	// offset outside s (one of a pair's other text) converts to {0, 0}.
	out := make([]Offset, len(offsets))
	for i, o := range offsets {
		if o == (Offset{}) || o.Start < 0 || o.End > len(s) || o.Start > o.End {
			continue
		}
		out[i] = Offset{runeAt[o.Start], runeAt[o.End]}
	}
	return out
}

// isControl is Hugging Face's BERT is_control: tab, newline and carriage return are
// whitespace, not control; otherwise the categories Cc, Cf, Co and unassigned.
func isControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	if r < utf8.RuneSelf {
		return r < 0x20 || r == 0x7f
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co) || !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.C)
}

// isBertWhitespace is Hugging Face's BERT is_whitespace: space, tab, newline, carriage
// return and the Zs category.
func isBertWhitespace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || unicode.Is(unicode.Zs, r)
}

// isBertPunctuation is ASCII punctuation (which includes symbols such as $, ^ and `) or any
// Unicode punctuation category.
func isBertPunctuation(r rune) bool {
	if r < 0x80 {
		return (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126)
	}
	return unicode.IsPunct(r)
}

// isChineseChar is the CJK Unified Ideographs ranges BERT pads with spaces.
func isChineseChar(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) || (r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) || (r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) || (r >= 0x2B820 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) || (r >= 0x2F800 && r <= 0x2FA1F)
}
