package runner

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

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
	// Groups, Labels and Preds are filled by Prepare (as the evaluation
	// needs); Scores by the pipeline when a model is given.
	Groups []int32
	Labels []bool
	Preds  []bool
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
		w.Preds = make([]bool, n)
		w.Scores = make([]float32, n)
	}
	w.Groups, w.Labels, w.Preds, w.Scores = w.Groups[:n], w.Labels[:n], w.Preds[:n], w.Scores[:n]
}

// Stream reads r in blocks of BatchRows rows, keeps the blocks of shard,
// runs prepare on each (sequentially, in the reading goroutine: the place
// for dictionaries and group maps) and then, on one of workers goroutines,
// scores it with that goroutine's own Scorer (when m is not nil) and runs
// process(worker, w). It returns the number of rows processed. The first
// error stops the pipeline and is returned.
func Stream(ctx context.Context, r dataset.Reader, m Model, workers int, shard Shard,
	prepare func(w *Work) error, process func(worker int, w *Work) error) (int64, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	workers = max(1, workers)
	free := make(chan *Work, 2*workers+1)
	for range cap(free) {
		free <- &Work{}
	}
	todo := make(chan *Work, workers)
	fail := func(err error) { cancel(err) }

	var wg sync.WaitGroup
	for id := range workers {
		var sc Scorer
		if m != nil {
			var err error
			if sc, err = m.NewScorer(BatchRows); err != nil {
				cancel(err)
				break
			}
			if c, ok := sc.(interface{ Close() error }); ok {
				defer c.Close()
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for w := range todo {
				if ctx.Err() == nil {
					if sc != nil {
						if err := sc.Score(w.Features, w.Rows, w.Scores); err != nil {
							fail(fmt.Errorf("score rows %d to %d: %w", w.FirstRow, w.FirstRow+int64(w.Rows)-1, err))
						}
					}
					if ctx.Err() == nil {
						if err := process(id, w); err != nil {
							fail(err)
						}
					}
				}
				free <- w
			}
		}()
	}

	var rows int64
	for block := int64(0); ctx.Err() == nil; block++ {
		var w *Work
		select {
		case w = <-free:
		case <-ctx.Done():
		}
		if w == nil {
			break
		}
		ok, err := r.Next(&w.Batch, BatchRows)
		if err != nil {
			fail(err)
			free <- w
			break
		}
		if !ok {
			free <- w
			break
		}
		if !shard.owns(block) {
			free <- w
			continue
		}
		w.Block = block
		w.size(w.Rows)
		if err := prepare(w); err != nil {
			fail(err)
			free <- w
			break
		}
		rows += int64(w.Rows)
		todo <- w
	}
	close(todo)
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return rows, err
	}
	if err := ctx.Err(); err != nil && context.Cause(ctx) == ctx.Err() {
		// Cancelled from outside.
		return rows, err
	}
	return rows, nil
}
