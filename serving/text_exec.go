package serving

import (
	"runtime"
	"time"

	"github.com/responsible-ai/rmodel-operator/internal/contract"
	"github.com/responsible-ai/rmodel-operator/internal/text"
	"github.com/responsible-ai/rmodel-operator/internal/textmodel"
)

// textExecutor runs text requests' encodings through the model: a textBatcher merges concurrent
// requests into one run padded to the batch's longest sequence, a textPool runs each on its own.
// infer returns each encoding's logits: labels values (text-classification) or Len()×labels
// (token-classification, the encoding's own positions).
type textExecutor interface {
	arrive()
	leave()
	infer(encs []text.Encoding) ([][]float32, error)
	close()
}

// runChunked runs encs in runs of at most chunk encodings (each padded to its own longest), so
// that a request of many texts never pads them all to its longest one in a single tensor, and
// returns each encoding's logits; observe sees each run's size.
func runChunked(m *textmodel.Model, encs []text.Encoding, chunk int, observe func(int)) ([][]float32, error) {
	if len(encs) <= chunk {
		observe(len(encs))
		return runText(m, encs)
	}
	out := make([][]float32, 0, len(encs))
	for start := 0; start < len(encs); start += chunk {
		part := encs[start:min(start+chunk, len(encs))]
		observe(len(part))
		logits, err := runText(m, part)
		if err != nil {
			return nil, err
		}
		out = append(out, logits...)
	}
	return out, nil
}

// runText runs one batch and splits its logits by encoding.
func runText(m *textmodel.Model, encs []text.Encoding) ([][]float32, error) {
	logits, shape, err := m.Run(encs)
	if err != nil {
		return nil, err
	}
	out := make([][]float32, len(encs))
	k := int(shape[len(shape)-1])
	if m.Task() == contract.TaskTextClassification {
		for i := range encs {
			out[i] = logits[i*k : (i+1)*k : (i+1)*k]
		}
		return out, nil
	}
	seq := int(shape[1])
	for i, e := range encs {
		out[i] = logits[i*seq*k : (i*seq+e.Len())*k : (i*seq+e.Len())*k]
	}
	return out, nil
}

// textPool runs each request on its own, at most size at a time, in runs of at most
// textmodel.BatchSize texts.
type textPool struct {
	m       *textmodel.Model
	slots   chan struct{}
	observe func(rows int)
}

func newTextPool(m *textmodel.Model, size int, observe func(int)) *textPool {
	if size < 1 {
		size = runtime.GOMAXPROCS(0)
	}
	return &textPool{m: m, slots: make(chan struct{}, size), observe: observe}
}

func (p *textPool) arrive() {}
func (p *textPool) leave()  {}
func (p *textPool) close()  {}

func (p *textPool) infer(encs []text.Encoding) ([][]float32, error) {
	p.slots <- struct{}{}
	defer func() { <-p.slots }()
	return runChunked(p.m, encs, textmodel.BatchSize, p.observe)
}

// textBatcher merges concurrent text requests into one run padded to the batch's longest
// sequence (the leader/follower scheme of coalescer): a request of more texts than maxRows runs
// alone, in runs of at most maxRows.
type textBatcher struct {
	*coalescer[[]text.Encoding]
	m       *textmodel.Model
	observe func(rows int)
}

func newTextBatcher(m *textmodel.Model, maxRows int, maxDelay time.Duration, observe func(int)) *textBatcher {
	b := &textBatcher{m: m, observe: observe}
	b.coalescer = newCoalescer(maxRows, maxDelay, b.run)
	return b
}

func (b *textBatcher) infer(encs []text.Encoding) ([][]float32, error) {
	return b.submit(encs, len(encs))
}

func (b *textBatcher) run(batch []*batchJob[[]text.Encoding], rows int) {
	all := batch[0].in
	if len(batch) > 1 {
		all = make([]text.Encoding, 0, rows)
		for _, j := range batch {
			all = append(all, j.in...)
		}
	}
	outs, err := runChunked(b.m, all, b.maxRows, b.observe)
	start := 0
	for _, j := range batch {
		if err != nil {
			j.err = err
		} else {
			j.outs = outs[start : start+j.rows]
		}
		start += j.rows
	}
}

func (b *textBatcher) close() { b.shut() }
