package serving

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/responsible-ai/rmodel-operator/internal/onnx"
)

// executor runs requests' rows through the model. Two implementations: a batcher that merges
// concurrent requests into one onnxruntime run, and a pool that runs each request on its own.
type executor interface {
	// arrive is called when a request starts being read, so the batcher knows more rows are on
	// their way; leave undoes it for a request that will not be submitted.
	arrive()
	leave()
	// infer runs rows rows of data (after arrive) and returns each output's values for them.
	infer(data []float32, rows int) ([][]float32, error)
	close()
}

// job is one request waiting in the batcher.
type job struct {
	data []float32
	rows int
	outs [][]float32
	err  error
	// done is closed when outs or err is set; promote when the job's goroutine becomes the leader.
	done    chan struct{}
	promote chan struct{}
}

// batcher merges concurrent requests into batches of at most maxRows rows on one Runner, with no
// goroutine of its own: the request goroutines take turns as the leader (leader/follower). A
// request that finds no leader leads: it takes the waiting requests while they fit, its own first;
// when none is waiting but another request has arrived and is still being read or decoded, it
// waits for it, up to maxDelay; then it runs the batch, hands every request its rows, and passes
// the lead to the first request still waiting (or drops it when none is). A lone request thus runs
// in its own goroutine with no hand-off and no delay, and under load each batch costs one wake-up.
// A request with more rows than maxRows runs on its own.
type batcher struct {
	sess     *onnx.Session
	runner   *onnx.Runner
	maxRows  int
	maxDelay time.Duration
	observe  func(rows int)
	outSizes []int
	arriving atomic.Int64
	// kick (capacity 1) tells a waiting leader that the queue grew.
	kick chan struct{}

	mu      sync.Mutex
	queue   []*job // waiting requests, oldest first
	leading bool   // some request is the leader
	closed  bool
	batch   []*job // the leader's scratch
	timer   *time.Timer
}

func newBatcher(sess *onnx.Session, maxRows int, maxDelay time.Duration, observe func(int)) (*batcher, error) {
	r, err := sess.NewRunner(maxRows)
	if err != nil {
		return nil, err
	}
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &batcher{
		sess: sess, runner: r, maxRows: maxRows, maxDelay: maxDelay, observe: observe,
		outSizes: r.OutputRowSizes(), kick: make(chan struct{}, 1), timer: t,
	}, nil
}

func (b *batcher) arrive() { b.arriving.Add(1) }
func (b *batcher) leave()  { b.arriving.Add(-1) }

func (b *batcher) infer(data []float32, rows int) ([][]float32, error) {
	j := &job{data: data, rows: rows, done: make(chan struct{}), promote: make(chan struct{})}
	// Leave before queueing: a leader must not count this request as still on its way.
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

// lead runs one batch, which holds the leader's own request (first in the queue), then passes the
// lead on.
func (b *batcher) lead() {
	batch, rows := b.take(b.batch[:0], 0)
	if rows < b.maxRows && b.maxDelay > 0 {
		// Let runnable request goroutines (those the last batch woke, say) reach the queue
		// before deciding whether anybody else is coming.
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
	clear(batch)
	b.batch = batch[:0]

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

// take moves waiting requests to batch while they fit in maxRows (the first one always: an
// oversized request runs alone) and returns the batch and its rows.
func (b *batcher) take(batch []*job, rows int) ([]*job, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, j := range b.queue {
		if len(batch) > 0 && rows+j.rows > b.maxRows {
			break
		}
		batch = append(batch, j)
		rows += j.rows
		n++
		if rows >= b.maxRows {
			break
		}
	}
	b.queue = b.queue[:copy(b.queue, b.queue[n:])]
	return batch, rows
}

// close releases the Runner; call it once no request is in flight (the HTTP server drained).
func (b *batcher) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.runner.Close()
}

// run executes one batch and hands each job its rows of every output.
func (b *batcher) run(batch []*job, rows int) {
	if rows > b.maxRows { // one oversized request
		j := batch[0]
		j.outs, j.err = runSession(b.sess, j.data, j.rows)
		b.observe(rows)
		close(j.done)
		return
	}
	in := b.runner.Input(rows)
	off := 0
	for _, j := range batch {
		off += copy(in[off:], j.data)
	}
	outs, err := b.runner.Run(in, rows)
	b.observe(rows)
	start := 0
	for _, j := range batch {
		if err != nil {
			j.err = err
		} else {
			j.outs = make([][]float32, len(outs))
			for i, o := range outs {
				n := b.outSizes[i]
				j.outs[i] = append([]float32(nil), o[start*n:(start+j.rows)*n]...)
			}
		}
		start += j.rows
		close(j.done)
	}
}

// runSession runs a request through Session.Run and keeps the FP32 outputs.
func runSession(s *onnx.Session, data []float32, rows int) ([][]float32, error) {
	outs, err := s.Run(data, rows)
	if err != nil {
		return nil, err
	}
	res := make([][]float32, len(outs))
	for i, o := range outs {
		v, ok := o.Data.([]float32)
		if !ok {
			return nil, fmt.Errorf("output %q is %s, want FP32", o.Name, o.DataType)
		}
		res[i] = v
	}
	return res, nil
}

// pool runs each request on its own, on one of a fixed set of Runners (one per CPU by default),
// in the request's goroutine: the server without dynamic batching.
type pool struct {
	sess    *onnx.Session
	runners chan *onnx.Runner
	maxRows int
	observe func(rows int)
}

func newPool(sess *onnx.Session, size, maxRows int, observe func(int)) (*pool, error) {
	if size < 1 {
		size = runtime.GOMAXPROCS(0)
	}
	p := &pool{sess: sess, runners: make(chan *onnx.Runner, size), maxRows: maxRows, observe: observe}
	for range size {
		r, err := sess.NewRunner(maxRows)
		if err != nil {
			p.close()
			return nil, err
		}
		p.runners <- r
	}
	return p, nil
}

func (p *pool) arrive() {}
func (p *pool) leave()  {}

func (p *pool) infer(data []float32, rows int) ([][]float32, error) {
	p.observe(rows)
	if rows > p.maxRows {
		return runSession(p.sess, data, rows)
	}
	r := <-p.runners
	defer func() { p.runners <- r }()
	outs, err := r.Run(data, rows)
	if err != nil {
		return nil, err
	}
	res := make([][]float32, len(outs))
	for i, o := range outs {
		res[i] = append([]float32(nil), o...)
	}
	return res, nil
}

func (p *pool) close() {
	for {
		select {
		case r := <-p.runners:
			r.Close()
		default:
			return
		}
	}
}
