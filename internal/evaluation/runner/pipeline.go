package runner

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/responsible-ai/rmodel-operator/internal/evaluation/dataset"
)

// BatchRows is the pipeline's batch size. It is also the shard block size:
// with --shard i/N, block k (rows k·BatchRows+1 to (k+1)·BatchRows) belongs
// to shard k mod N, so every shard reads the file but scores only its
// blocks, and the shards partition the rows exactly.
const BatchRows = 4096

// Shard selects a slice of the data; the zero value (Count 0) is all of it.
type Shard struct{ Index, Count int }

// ParseShard parses "i/N" with 0 ≤ i < N; "" is no sharding.
func ParseShard(s string) (Shard, error) {
	if s == "" {
		return Shard{}, nil
	}
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("--shard %q: want i/N with 0 ≤ i < N", s)
	}
	return Shard{Index: i, Count: n}, nil
}

func (s Shard) owns(block int64) bool { return s.Count <= 1 || int(block%int64(s.Count)) == s.Index }

// Work is one batch on its way through the pipeline. The reading goroutine
// fills Batch and runs Prepare; a worker runs Process. Buffers are reused.
type Work struct {
	dataset.Batch
	// Block is the batch number from 0.
	Block int64
	// Groups and Labels are scratch for the evaluation's callbacks; Scores
	// are filled by the pipeline when a model is given.
	Groups []int32
	Labels []bool
	Scores []float32
	// LabelFavorable and PredFavorable snapshot, at Prepare time, whether
	// each dictionary code of the label (and predictions) column is the
	// favorable value, so workers can decode without touching the reader.
	LabelFavorable, PredFavorable []bool
}

func (w *Work) size(n int) {
	if cap(w.Groups) < n {
		w.Groups = make([]int32, n)
		w.Labels = make([]bool, n)
		w.Scores = make([]float32, n)
	}
	w.Groups, w.Labels, w.Scores = w.Groups[:n], w.Labels[:n], w.Scores[:n]
}

// Stream reads r in blocks of BatchRows rows, keeps the blocks of shard,
// and processes them on workers goroutines. Each worker owns one Work and
// (when m is not nil) one Scorer, and loops: under the reader's lock, read
// the next block and run prepare on it (prepare therefore runs one block at
// a time, in file order: the place for dictionaries; it must not read
// Features, which may still be text); then, outside the lock, parse the
// block's numbers (readers that support DeferParse leave them as text, so
// every worker parses in parallel), score it and run process(worker, w). Reading is thus
// overlapped with the other workers' inference without a separate reading
// goroutine and without any hand-off between goroutines per block, which
// matters when inference is as cheap as a logistic regression. It returns
// the number of rows processed; the first error stops every worker and is
// returned.
func Stream(ctx context.Context, r dataset.Reader, m Model, workers int, shard Shard,
	prepare func(w *Work) error, process func(worker int, w *Work) error) (int64, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	workers = max(1, workers)
	scorers := make([]Scorer, workers)
	for i := range scorers {
		if m == nil {
			break
		}
		sc, err := m.NewScorer(BatchRows)
		if err != nil {
			return 0, err
		}
		scorers[i] = sc
		if c, ok := sc.(interface{ Close() error }); ok {
			defer c.Close()
		}
	}
	if d, ok := r.(dataset.DeferParse); ok && workers > 1 {
		d.DeferParse(true)
		defer d.DeferParse(false)
	}
	var (
		mu    sync.Mutex
		block int64
		eof   bool
		rows  atomic.Int64
		wg    sync.WaitGroup
	)
	// next fills w with this shard's next block; false at the end.
	next := func(w *Work) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		for !eof && ctx.Err() == nil {
			ok, err := r.Next(&w.Batch, BatchRows)
			if err != nil {
				return false, err
			}
			if !ok {
				eof = true
				break
			}
			b := block
			block++
			if !shard.owns(b) {
				continue
			}
			w.Block = b
			w.size(w.Rows)
			if err := prepare(w); err != nil {
				return false, err
			}
			return true, nil
		}
		return false, nil
	}
	for id := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &Work{}
			sc := scorers[id]
			for ctx.Err() == nil {
				ok, err := next(w)
				if err != nil {
					cancel(err)
					return
				}
				if !ok {
					return
				}
				if err := w.Parse(); err != nil {
					cancel(err)
					return
				}
				if sc != nil {
					if err := sc.Score(w.Features, w.Rows, w.Scores); err != nil {
						cancel(fmt.Errorf("score rows %d to %d: %w", w.FirstRow, w.FirstRow+int64(w.Rows)-1, err))
						return
					}
				}
				if err := process(id, w); err != nil {
					cancel(err)
					return
				}
				rows.Add(int64(w.Rows))
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return rows.Load(), err
	}
	return rows.Load(), nil
}
