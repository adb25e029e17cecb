// Package textdemo builds the demo's text models (docs/models.md "Demo text models"): a
// customer-service intent classifier that is accurate and fair between genders, and an NER
// tagger whose training data under-represents one group of names, so that it is clearly worse
// on them. Both are small BERT-shaped models (onnxwriter.TextClassifier and TokenClassifier)
// over the real bert-base-uncased vocabulary, trained here in Go (manual backpropagation,
// Adam, optional DP-SGD), exported with the Hugging Face ONNX interface, and measured with
// internal/text tokenization and internal/evaluation/text, as the operator's evaluations see
// them. Everything is seeded: Build writes the same bytes on every run (on one architecture).
package textdemo
