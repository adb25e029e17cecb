package text

import "strings"

// Decode turns ids back into text as Hugging Face's WordPiece decoder does (with its default
// cleanup): pieces with the "##" prefix join the previous token, other tokens are separated by
// a space, and a space before . ? ! , is dropped. skipSpecial leaves out the added tokens
// marked special ([CLS], [SEP], [PAD], [UNK], [MASK] for BERT). Unknown ids are skipped.
func (t *Tokenizer) Decode(ids []int64, skipSpecial bool) string {
	tokens := make([]string, 0, len(ids))
	for _, id := range ids {
		if skipSpecial && t.special[id] {
			continue
		}
		if tok := t.IDToken(id); tok != "" {
			tokens = append(tokens, tok)
		}
	}
	return t.DecodeTokens(tokens)
}

// DecodeTokens is Decode for tokens; Hugging Face's token-classification pipeline forms an
// entity's "word" this way from its tokens.
func (t *Tokenizer) DecodeTokens(tokens []string) string {
	var b strings.Builder
	for i, tok := range tokens {
		if i > 0 {
			if rest, ok := strings.CutPrefix(tok, t.prefix); ok {
				tok = rest
			} else {
				tok = " " + tok
			}
		}
		b.WriteString(cleanupToken(tok))
	}
	return b.String()
}

// cleanupReplacer is the WordPiece decoder's cleanup, applied to each token (with its leading
// space) in Hugging Face's order.
var cleanupReplacer = []struct{ from, to string }{
	{" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
	{" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
}

func cleanupToken(s string) string {
	for _, r := range cleanupReplacer {
		s = strings.ReplaceAll(s, r.from, r.to)
	}
	return s
}
