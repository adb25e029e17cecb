package runner

import (
	"context"
	"fmt"

	"github.com/responsible-ai/rmodel-operator/internal/textmodel"
)

func init() {
	LoadTextModel = func(model, tokenizer []byte, opts TextModelOptions) (TextModel, error) {
		m, err := textmodel.Load(model, tokenizer, textmodel.Options{Task: opts.Task, Labels: opts.Labels, MaxLength: opts.MaxLength, Output: opts.Output, Device: opts.Device})
		if err != nil {
			return nil, err
		}
		return &onnxTextModel{m}, nil
	}
}

// onnxTextModel is internal/textmodel's model as a TextModel.
type onnxTextModel struct{ m *textmodel.Model }

func (o *onnxTextModel) Labels() []string { return o.m.Labels() }

func (o *onnxTextModel) Metadata() map[string]string { return o.m.Session().Metadata().Custom }

func (o *onnxTextModel) Close() error { return o.m.Close() }

func (o *onnxTextModel) Classify(ctx context.Context, texts []string) ([][]float64, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return o.m.Classify(texts)
}

// TagWords encodes the words (truncated at the model's maximum length) and reads each word's
// probabilities at its first token; a word without a token is nil.
func (o *onnxTextModel) TagWords(ctx context.Context, sentences [][]string) ([][][]float64, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	encs, err := o.m.EncodeWords(sentences)
	if err != nil {
		return nil, err
	}
	probs, err := o.m.Tag(encs)
	if err != nil {
		return nil, err
	}
	out := make([][][]float64, len(sentences))
	for i, e := range encs {
		out[i] = make([][]float64, len(sentences[i]))
		prev := -1
		for t, w := range e.WordIDs {
			if w < 0 || w == prev {
				continue
			}
			if w >= len(sentences[i]) {
				return nil, fmt.Errorf("sentence %d: token %d belongs to word %d of %d", i, t, w, len(sentences[i]))
			}
			out[i][w] = probs[i][t]
			prev = w
		}
	}
	return out, nil
}
