// Package bertbase holds the real Hugging Face tokenizer.json of Google's
// bert-base-uncased (Apache License 2.0; origin and licences in
// ../testdata/NOTICE.md): the vocabulary the demo's text models are trained
// with, which `rai model demo` writes beside them, and the tokenizer the
// text packages' tests run.
package bertbase

import _ "embed"

// File is the file's name in this directory.
const File = "bert-base-uncased.json"

// TokenizerJSON is the file's content.
//
//go:embed bert-base-uncased.json
var TokenizerJSON []byte
