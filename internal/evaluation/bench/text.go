package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/responsible-ai/rmodel-operator/internal/demo/textdemo"
	"github.com/responsible-ai/rmodel-operator/internal/evaluation/runner"
	"github.com/responsible-ai/rmodel-operator/internal/onnxwriter"
	"github.com/responsible-ai/rmodel-operator/internal/text"
	"github.com/responsible-ai/rmodel-operator/internal/textmodel"
)

// sectionT: a text classifier of the demo's shape (the real bert-base-uncased
// vocabulary, 16-dimensional embeddings, mean pooling, two dense layers)
// over generated customer-service texts. Baseline: bare onnxruntime Runs of
// the same texts, tokenized beforehand, in batches of 64. Candidates:
// tokenization alone, and `rai evaluate fairness` on the texts in a CSV
// (read, tokenize, score, group metrics, bootstrap off).
func sectionT(scratch string, texts int) error {
	fmt.Printf("\n(t) text classifier: %d texts, tokenization and rai evaluate fairness vs bare onnxruntime on the same token batches (ratio ≥ 0.8 wanted)\n", texts)
	rng := rand.New(rand.NewPCG(5, 6))
	labels := []string{"billing", "cancel", "delivery", "refund", "technical"}
	tok, err := text.Parse(textdemo.TokenizerJSON)
	if err != nil {
		return err
	}
	clf := onnxwriter.TextClassifier{
		Encoder: onnxwriter.RandomTextEncoder(rng.Float64, tok.VocabSize(), 64, 16, 0.1),
		Hidden:  onnxwriter.RandomDense(rng.Float64, 16, 32),
		Output:  onnxwriter.RandomDense(rng.Float64, 32, len(labels)),
	}
	mb, err := clf.Marshal(onnxwriter.ModelInfo{Metadata: map[string]string{"rai.task": "text-classification", "rai.labels": `["billing","cancel","delivery","refund","technical"]`, "rai.max_length": "64"}})
	if err != nil {
		return err
	}
	modelPath, tokPath, csvPath := filepath.Join(scratch, "text.onnx"), filepath.Join(scratch, "tokenizer.json"), filepath.Join(scratch, "texts.csv")
	words := strings.Fields("i was charged twice for my order where is the parcel please cancel subscription refund the payment my router does not connect since yesterday can you help me with an invoice delivery late account password")
	var csv strings.Builder
	csv.WriteString("text,label,gender\n")
	all := make([]string, texts)
	for i := range all {
		n := 5 + rng.IntN(15)
		w := make([]string, n)
		for j := range w {
			w[j] = words[rng.IntN(len(words))]
		}
		all[i] = strings.Join(w, " ")
		fmt.Fprintf(&csv, "%s,%s,%s\n", all[i], labels[rng.IntN(len(labels))], []string{"female", "male"}[i%2])
	}
	for p, b := range map[string][]byte{modelPath: mb, tokPath: textdemo.TokenizerJSON, csvPath: []byte(csv.String())} {
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
	m, err := textmodel.Load(mb, textdemo.TokenizerJSON, textmodel.Options{Task: "text-classification", IntraOpThreads: 1})
	if err != nil {
		return err
	}
	defer m.Close()
	const batch = 64
	var encoded [][]text.Encoding
	for i := 0; i < len(all); i += batch {
		encs, err := m.Encode(all[i:min(i+batch, len(all))])
		if err != nil {
			return err
		}
		encoded = append(encoded, encs)
	}
	bare := func() (rate, error) {
		c := startClock()
		for _, encs := range encoded {
			if _, _, err := m.Run(encs); err != nil {
				return rate{}, err
			}
		}
		return c.rate(float64(len(all))), nil
	}
	tokenize := func() (rate, error) {
		c := startClock()
		for i := 0; i < len(all); i += batch {
			if _, err := m.Encode(all[i:min(i+batch, len(all))]); err != nil {
				return rate{}, err
			}
		}
		return c.rate(float64(len(all))), nil
	}
	evaluate := func() (rate, error) {
		c := startClock()
		_, err := runner.EvaluateTextFairness(context.Background(), runner.TextFairnessConfig{
			Common: runner.Common{ModelPath: modelPath, DataPath: csvPath, Workers: 1},
			Text:   runner.TextOptions{Task: "text-classification", TokenizerPath: tokPath},
			Label:  "label", Sensitive: []string{"gender"}, Favorable: "refund", Threshold: 0.5,
		})
		if err != nil {
			return rate{}, err
		}
		return c.rate(float64(len(all))), nil
	}
	fmt.Printf("%-34s %14s %14s %11s %10s\n", "", "bare texts/s", "texts/s", "wall ratio", "CPU ratio")
	for _, row := range []struct {
		name string
		f    func() (rate, error)
	}{{"tokenization only", tokenize}, {"rai evaluate fairness (tokenized)", evaluate}} {
		b, c, r, err := pair(bare, row.f)
		if err != nil {
			return err
		}
		fmt.Printf("%-34s %14.0f %14.0f %11.2f %10.2f\n", row.name, b.wall, c.wall, r.wall, r.cpu)
	}
	return nil
}
