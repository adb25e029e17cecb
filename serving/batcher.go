package serving

import (
	"errors"
	"fmt"
	"runtime"
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
	done chan struct{}
}

// batcher merges concurrent requests into batches of at most maxRows rows, run by one worker
// goroutine owning one Runner. The worker takes the first waiting request, then adds waiting
// requests while they fit; when none is waiting but some request has arrived and is still being
// read or decoded, it waits for it, up to maxDelay after it took the first. It never waits when
// no other request is on its way, so a lone request pays no batching delay. A request with more
// rows than maxRows runs on its own.
type batcher struct {
	sess     *onnx.Session
	runner   *onnx.Runner
	maxRows  int
	maxDelay time.Duration
	queue    chan *job
	arriving atomic.Int64
	stop     chan struct{}
	stopped  chan struct{}
	observe  func(rows int)
	outSizes []int
}

func newBatcher(sess *onnx.Session, maxRows int, maxDelay time.Duration, observe func(int)) (*batcher, error) {
	r, err := sess.NewRunner(maxRows)
	if err != nil {
		return nil, err
	}
	b := &batcher{
		sess: sess, runner: r, maxRows: maxRows, maxDelay: maxDelay,
		queue: make(chan *job, 4096), stop: make(chan struct{}), stopped: make(chan struct{}),
		observe: observe, outSizes: r.OutputRowSizes(),
	}
	go b.loop()
	return b, nil
}

func (b *batcher) arrive() { b.arriving.Add(1) }
func (b *batcher) leave()  { b.arriving.Add(-1) }

func (b *batcher) infer(data []float32, rows int) ([][]float32, error) {
	j := &job{data: data, rows: rows, done: make(chan struct{})}
	// Leave before enqueueing: the worker may take the job the moment it is sent, and must not
	// count it as still on its way (it would wait for it).
	b.leave()
	select {
	case b.queue <- j:
	case <-b.stopped:
		return nil, errors.New("server is shutting down")
	}
	<-j.done
	return j.outs, j.err
}

// close stops the worker once the requests in flight are done (the HTTP server has drained).
func (b *batcher) close() {
	close(b.stop)
	<-b.stopped
	b.runner.Close()
}

func (b *batcher) loop() {
	defer close(b.stopped)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var carry *job
	batch := make([]*job, 0, 64)
	for {
		first := carry
		carry = nil
		if first == nil {
			select {
			case first = <-b.queue:
			case <-b.stop:
				return
			}
		}
		batch = append(batch[:0], first)
		rows := first.rows
		armed := false
	collect:
		for rows < b.maxRows {
			var j *job
			select {
			case j = <-b.queue:
			default:
				if b.maxDelay <= 0 || b.arriving.Load() == 0 {
					break collect
				}
				if !armed {
					timer.Reset(b.maxDelay)
					armed = true
				}
				select {
				case j = <-b.queue:
				case <-timer.C:
					armed = false
					break collect
				}
			}
			if rows+j.rows > b.maxRows {
				carry = j
				break
			}
			batch = append(batch, j)
			rows += j.rows
		}
		if armed {
			timer.Stop()
		}
		b.run(batch, rows)
		clear(batch)
	}
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
