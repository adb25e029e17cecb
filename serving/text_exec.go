package serving

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
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

// textJob is one request waiting in the textBatcher.
type textJob struct {
	encs    []text.Encoding
	outs    [][]float32
	err     error
	done    chan struct{}
	promote chan struct{}
}

// textBatcher is the batcher's leader/follower scheme (see batcher) for text: a request that
// finds no leader leads, takes the waiting requests while their texts fit in maxRows (its own
// first; a request of more texts runs alone, in runs of at most maxRows), waits up to maxDelay
// only while other requests are still being read or decoded, runs the batch in one padded run
// and passes the lead on.
type textBatcher struct {
	m        *textmodel.Model
	maxRows  int
	maxDelay time.Duration
	observe  func(rows int)
	arriving atomic.Int64
	kick     chan struct{}

	mu      sync.Mutex
	queue   []*textJob
	leading bool
	closed  bool
	timer   *time.Timer
}

func newTextBatcher(m *textmodel.Model, maxRows int, maxDelay time.Duration, observe func(int)) *textBatcher {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &textBatcher{m: m, maxRows: maxRows, maxDelay: maxDelay, observe: observe, kick: make(chan struct{}, 1), timer: t}
}

func (b *textBatcher) arrive() { b.arriving.Add(1) }
func (b *textBatcher) leave()  { b.arriving.Add(-1) }

func (b *textBatcher) infer(encs []text.Encoding) ([][]float32, error) {
	j := &textJob{encs: encs, done: make(chan struct{}), promote: make(chan struct{})}
	b.leave()
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, errors.New("server is shutting down")
	}
	b.queue = append(b.queue, j)
	if b.leading {
		b.mu.Unlock()
		select {
		case b.kick <- struct{}{}:
		default:
		}
		select {
		case <-j.done:
			return j.outs, j.err
		case <-j.promote:
		}
	} else {
		b.leading = true
		b.mu.Unlock()
	}
	b.lead()
	return j.outs, j.err
}

func (b *textBatcher) lead() {
	batch, rows := b.take(nil, 0)
	if rows < b.maxRows && b.maxDelay > 0 {
		runtime.Gosched()
		batch, rows = b.take(batch, rows)
		armed := false
		for rows < b.maxRows && b.arriving.Load() > 0 {
			if !armed {
				b.timer.Reset(b.maxDelay)
				armed = true
			}
			timedOut := false
			select {
			case <-b.kick:
			case <-b.timer.C:
				timedOut = true
			}
			batch, rows = b.take(batch, rows)
			if timedOut {
				armed = false
				break
			}
		}
		if armed {
			b.timer.Stop()
		}
	}
	b.run(batch, rows)

	b.mu.Lock()
	if len(b.queue) > 0 {
		next := b.queue[0]
		b.mu.Unlock()
		close(next.promote)
		return
	}
	b.leading = false
	b.mu.Unlock()
}

func (b *textBatcher) take(batch []*textJob, rows int) ([]*textJob, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, j := range b.queue {
		if len(batch) > 0 && rows+len(j.encs) > b.maxRows {
			break
		}
		batch = append(batch, j)
		rows += len(j.encs)
		n++
		if rows >= b.maxRows {
			break
		}
	}
	b.queue = b.queue[:copy(b.queue, b.queue[n:])]
	return batch, rows
}

func (b *textBatcher) run(batch []*textJob, rows int) {
	all := batch[0].encs
	if len(batch) > 1 {
		all = make([]text.Encoding, 0, rows)
		for _, j := range batch {
			all = append(all, j.encs...)
		}
	}
	outs, err := runChunked(b.m, all, b.maxRows, b.observe)
	start := 0
	for _, j := range batch {
		if err != nil {
			j.err = err
		} else {
			j.outs = outs[start : start+len(j.encs)]
		}
		start += len(j.encs)
		close(j.done)
	}
}

func (b *textBatcher) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
}
