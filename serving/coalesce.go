package serving

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// batchJob is one request waiting in a coalescer: its input and how many rows (or texts) it
// holds.
type batchJob[In any] struct {
	in   In
	rows int
	outs [][]float32
	err  error
	// done is closed when outs or err is set; promote when the job's goroutine becomes the leader.
	done    chan struct{}
	promote chan struct{}
}

// coalescer merges concurrent requests into batches of at most maxRows rows, with no goroutine
// of its own: the request goroutines take turns as the leader (leader/follower). A request that
// finds no leader leads: it takes the waiting requests while they fit, its own first; when none
// is waiting but another request has arrived and is still being read or decoded, it waits for
// it, up to maxDelay; then it runs the batch (run sets each job's outs or err), wakes every
// request of it, and passes the lead to the first request still waiting (or drops it when none
// is). A lone request thus runs in its own goroutine with no hand-off and no delay, and under
// load each batch costs one wake-up. A request with more rows than maxRows is a batch of its own
// (run is told its rows exceed maxRows). The tabular batcher and the text batcher share it.
type coalescer[In any] struct {
	maxRows  int
	maxDelay time.Duration
	run      func(batch []*batchJob[In], rows int)
	arriving atomic.Int64
	// kick (capacity 1) tells a waiting leader that the queue grew.
	kick chan struct{}

	mu      sync.Mutex
	queue   []*batchJob[In] // waiting requests, oldest first
	leading bool            // some request is the leader
	closed  bool
	batch   []*batchJob[In] // the leader's scratch
	timer   *time.Timer
}

func newCoalescer[In any](maxRows int, maxDelay time.Duration, run func([]*batchJob[In], int)) *coalescer[In] {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &coalescer[In]{maxRows: maxRows, maxDelay: maxDelay, run: run, kick: make(chan struct{}, 1), timer: t}
}

// arrive is called when a request starts being read, so the leader knows more rows are on their
// way; leave undoes it for a request that will not be submitted.
func (c *coalescer[In]) arrive() { c.arriving.Add(1) }
func (c *coalescer[In]) leave()  { c.arriving.Add(-1) }

// submit runs a request of rows rows (after arrive) in some batch and returns its outputs.
func (c *coalescer[In]) submit(in In, rows int) ([][]float32, error) {
	j := &batchJob[In]{in: in, rows: rows, done: make(chan struct{}), promote: make(chan struct{})}
	// Leave before queueing: a leader must not count this request as still on its way.
	c.leave()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, errors.New("server is shutting down")
	}
	c.queue = append(c.queue, j)
	if c.leading {
		c.mu.Unlock()
		select {
		case c.kick <- struct{}{}:
		default:
		}
		select {
		case <-j.done:
			return j.outs, j.err
		case <-j.promote:
		}
	} else {
		c.leading = true
		c.mu.Unlock()
	}
	c.lead()
	return j.outs, j.err
}

// lead runs one batch, which holds the leader's own request (first in the queue), then passes the
// lead on.
func (c *coalescer[In]) lead() {
	batch, rows := c.take(c.batch[:0], 0)
	if rows < c.maxRows && c.maxDelay > 0 {
		// Let runnable request goroutines (those the last batch woke, say) reach the queue
		// before deciding whether anybody else is coming.
		runtime.Gosched()
		batch, rows = c.take(batch, rows)
		armed := false
		for rows < c.maxRows && c.arriving.Load() > 0 {
			if !armed {
				c.timer.Reset(c.maxDelay)
				armed = true
			}
			timedOut := false
			select {
			case <-c.kick:
			case <-c.timer.C:
				timedOut = true
			}
			batch, rows = c.take(batch, rows)
			if timedOut {
				armed = false
				break
			}
		}
		if armed {
			c.timer.Stop()
		}
	}
	c.run(batch, rows)
	for _, j := range batch {
		close(j.done)
	}
	clear(batch)
	c.batch = batch[:0]

	c.mu.Lock()
	if len(c.queue) > 0 {
		next := c.queue[0]
		c.mu.Unlock()
		close(next.promote)
		return
	}
	c.leading = false
	c.mu.Unlock()
}

// take moves waiting requests to batch while they fit in maxRows (the first one always: an
// oversized request runs alone) and returns the batch and its rows.
func (c *coalescer[In]) take(batch []*batchJob[In], rows int) ([]*batchJob[In], int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, j := range c.queue {
		if len(batch) > 0 && rows+j.rows > c.maxRows {
			break
		}
		batch = append(batch, j)
		rows += j.rows
		n++
		if rows >= c.maxRows {
			break
		}
	}
	c.queue = c.queue[:copy(c.queue, c.queue[n:])]
	return batch, rows
}

// shut refuses requests from now on; call it once none is in flight (the server drained).
func (c *coalescer[In]) shut() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
}
