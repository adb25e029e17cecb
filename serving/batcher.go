package serving

import (
	"fmt"
	"runtime"
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

// batcher merges concurrent requests into batches of at most maxRows rows on one Runner (the
// leader/follower scheme of coalescer).
type batcher struct {
	*coalescer[[]float32]
	sess     *onnx.Session
	runner   *onnx.Runner
	observe  func(rows int)
	outSizes []int
}

func newBatcher(sess *onnx.Session, maxRows int, maxDelay time.Duration, observe func(int)) (*batcher, error) {
	r, err := sess.NewRunner(maxRows)
	if err != nil {
		return nil, err
	}
	b := &batcher{sess: sess, runner: r, observe: observe, outSizes: r.OutputRowSizes()}
	b.coalescer = newCoalescer(maxRows, maxDelay, b.run)
	return b, nil
}

func (b *batcher) infer(data []float32, rows int) ([][]float32, error) { return b.submit(data, rows) }

// close releases the Runner; call it once no request is in flight (the HTTP server drained).
func (b *batcher) close() {
	b.shut()
	b.runner.Close()
}

// run executes one batch and hands each job its rows of every output.
func (b *batcher) run(batch []*batchJob[[]float32], rows int) {
	if rows > b.maxRows { // one oversized request
		j := batch[0]
		j.outs, j.err = runSession(b.sess, j.in, j.rows)
		b.observe(rows)
		return
	}
	in := b.runner.Input(rows)
	off := 0
	for _, j := range batch {
		off += copy(in[off:], j.in)
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
