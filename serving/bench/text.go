package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/responsible-ai/rmodel-operator/internal/contract"
	"github.com/responsible-ai/rmodel-operator/internal/onnx"
	"github.com/responsible-ai/rmodel-operator/internal/onnxwriter"
	"github.com/responsible-ai/rmodel-operator/internal/textmodel"
)

// textWords make up the benchmark's texts: short customer-support sentences.
var textWords = strings.Fields(`my card was charged twice for the same order and I would like a refund please
the delivery is late again can you tell me where my parcel is today I moved house last week
how do I change the email address on my account the app keeps logging me out`)

// benchTexts are count texts of 8 to 24 words drawn from textWords.
func benchTexts(count int) []string {
	rng := rand.New(rand.NewPCG(7, 7))
	out := make([]string, count)
	for i := range out {
		n := 8 + rng.IntN(17)
		w := make([]string, n)
		for j := range w {
			w[j] = textWords[rng.IntN(len(textWords))]
		}
		out[i] = strings.Join(w, " ")
	}
	return out
}

// textServingCost measures a text classifier served by rai serve against bare runs of the same
// token batches in this process: per-request latency at concurrency 1 (each request paired with
// a bare Run of its text's encoding), and texts/s at concurrency 1 and 64 with and without
// dynamic batching, each right after the bare Runs it stands for (one text per Run, or 64 padded
// to the longest), rounds times: ratios measured in the same run, never timed assertions.
func textServingCost(device, tokenizerPath string, duration time.Duration, n, rounds, maxBatch int, maxDelay time.Duration) error {
	tokData, err := os.ReadFile(tokenizerPath)
	if err != nil {
		return fmt.Errorf("text section: %w (-tokenizer names a BERT tokenizer.json)", err)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	const vocab, maxLen, dim, hidden = 30522, 128, 64, 128
	labels := []string{"billing", "delivery", "account"}
	clf := onnxwriter.TextClassifier{
		Encoder: onnxwriter.RandomTextEncoder(rng.Float64, vocab, maxLen, dim, 0.5),
		Hidden:  onnxwriter.RandomDense(rng.Float64, dim, hidden),
		Output:  onnxwriter.RandomDense(rng.Float64, hidden, len(labels)),
	}
	labelsJSON, _ := json.Marshal(labels)
	data, err := clf.Marshal(onnxwriter.ModelInfo{Metadata: map[string]string{
		textmodel.MetaTask: contract.TaskTextClassification, textmodel.MetaLabels: string(labelsJSON), textmodel.MetaMaxLength: fmt.Sprint(maxLen)}})
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "rai-bench-text")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	modelPath, tokPath := filepath.Join(dir, "model.onnx"), filepath.Join(dir, "tokenizer.json")
	if err := os.WriteFile(modelPath, data, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(tokPath, tokData, 0o644); err != nil {
		return err
	}
	digest := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

	m, err := textmodel.Load(data, tokData, textmodel.Options{Task: contract.TaskTextClassification, Device: onnx.Device(device), IntraOpThreads: 1})
	if err != nil {
		return err
	}
	defer m.Close()
	texts := benchTexts(256)
	encs, err := m.EncodeStrict(texts)
	if err != nil {
		return err
	}
	tokens := 0
	for _, e := range encs {
		tokens += e.Len()
	}
	bodies := make([][]byte, len(texts))
	for i, s := range texts {
		bodies[i], _ = json.Marshal(map[string]any{"inputs": []any{map[string]any{"name": "text", "datatype": "BYTES", "shape": []int{1}, "data": []string{s}}}})
	}
	var next atomic.Int64
	// Each request takes the next text; its bare Run is of that text's encoding.
	pick := func() int { return int(next.Add(1)-1) % len(texts) }
	bareOne := func(i int) (time.Duration, error) {
		t0 := time.Now()
		_, _, err := m.Run(encs[i : i+1])
		return time.Since(t0), err
	}

	fmt.Printf("\n## Text serving: a text classifier (embedding %d×%d + positions, mean pooling, %d→%d→%d; %s) with the bert-base-uncased tokenizer, device %s, %d CPUs, texts of %.1f tokens on average ([CLS] and [SEP] included), 1 text per request, load average %s\n\n",
		vocab, dim, dim, hidden, len(labels), humanBytes(len(data)), device, runtime.NumCPU(), float64(tokens)/float64(len(encs)), loadAverage())

	// Bare throughput: texts/s of Runs of one text (from 1 and from GOMAXPROCS goroutines, the
	// unbatched server's workers) and of 64 texts padded to the longest (what a full batch runs).
	bareRate := func(goroutines, batch int) (float64, error) {
		var done atomic.Int64
		var firstErr atomic.Value
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := g * batch; ; k += batch * goroutines {
					select {
					case <-stop:
						return
					default:
					}
					start := k % (len(encs) - batch + 1)
					if _, _, err := m.Run(encs[start : start+batch]); err != nil {
						firstErr.CompareAndSwap(nil, err)
						return
					}
					done.Add(int64(batch))
				}
			}()
		}
		time.Sleep(duration / 5)
		t0, n0 := time.Now(), done.Load()
		time.Sleep(duration)
		n1, el := done.Load(), time.Since(t0)
		close(stop)
		wg.Wait()
		if err, ok := firstErr.Load().(error); ok {
			return 0, err
		}
		return float64(n1-n0) / el.Seconds(), nil
	}
	procs := runtime.GOMAXPROCS(0)
	fullBatch := min(maxBatch, 64)
	// The bare Run each server measurement is compared with: concurrency 1, 1 text from 1
	// goroutine; 64 unbatched, 1 text from GOMAXPROCS goroutines (the server's workers); 64
	// batched, full batches from 1 goroutine (the batcher runs one batch at a time).
	reference := func(batched bool, c int) (float64, error) {
		switch {
		case c == 1:
			return bareRate(1, 1)
		case batched:
			return bareRate(1, fullBatch)
		}
		return bareRate(procs, 1)
	}

	type measure struct{ rate, bare, ratio float64 }
	type result struct {
		name            string
		lat, bare, over []time.Duration
		byConcurrency   map[int][]measure
	}
	modes := []struct {
		name  string
		batch int
		delay time.Duration
	}{
		{"unbatched (--max-batch-size 1)", 1, 0},
		{fmt.Sprintf("batched (--max-batch-size %d --max-batch-delay %s)", maxBatch, maxDelay), maxBatch, maxDelay},
	}
	var results []result
	for _, mode := range modes {
		srv, err := startChild(modelPath, digest(data), device, mode.batch, mode.delay, "", false,
			"-task", contract.TaskTextClassification, "-tokenizer", tokPath, "-tokenizer-sha256", digest(tokData))
		if err != nil {
			return err
		}
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxIdleConns: 256}}
		url := srv.url + "/v2/models/model/infer"
		r := result{name: mode.name, byConcurrency: map[int][]measure{}}
		for i := -200; i < n; i++ {
			k := pick()
			b, err := bareOne(k)
			if err != nil {
				srv.stop()
				return err
			}
			t0 := time.Now()
			if err := post(client, url, bodies[k]); err != nil {
				srv.stop()
				return err
			}
			if i >= 0 {
				d := time.Since(t0)
				r.lat, r.bare, r.over = append(r.lat, d), append(r.bare, b), append(r.over, d-b)
			}
		}
		// Each server measurement right after its bare reference, so that both see the same
		// machine load; rounds times, the median ratio reported.
		for range rounds {
			for _, c := range []int{1, 64} {
				ref, err := reference(mode.batch > 1, c)
				if err != nil {
					srv.stop()
					return err
				}
				rate, err := textThroughput(client, url, bodies, pick, c, duration)
				if err != nil {
					srv.stop()
					return err
				}
				r.byConcurrency[c] = append(r.byConcurrency[c], measure{rate, ref, rate / ref})
			}
		}
		srv.stop()
		results = append(results, r)
	}

	fmt.Printf("Latency at concurrency 1: each request (1 text, tokenized by the server) is paired with a bare in-process Run of the same text's encoding just before it.\n\n")
	fmt.Println("| server | bare Run p50 | HTTP p50 | HTTP p99 | overhead p50 | HTTP p50 ÷ bare Run p50 |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, r := range results {
		fmt.Printf("| %s | %s | %s | %s | %s | %.1f× |\n", r.name, us(percentile(r.bare, 50)), us(percentile(r.lat, 50)), us(percentile(r.lat, 99)),
			us(percentile(r.over, 50)), float64(percentile(r.lat, 50))/float64(percentile(r.bare, 50)))
	}
	fmt.Printf("\nThroughput in texts/s, 1 text per request, %d rounds; in each, the server's figure is measured right after that of the bare in-process Run it stands for (concurrency 1: 1 text per Run from 1 goroutine; 64 unbatched: 1 text per Run from %d goroutines, the server's workers; 64 batched: %d texts per Run, padded to the longest, from 1 goroutine). Medians, and the ratios' range over the rounds.\n\n",
		rounds, procs, fullBatch)
	fmt.Println("| server | concurrency | bare Run | server | server ÷ bare (range) |")
	fmt.Println("|---|---|---|---|---|")
	med := func(ms []measure, f func(measure) float64) float64 {
		v := make([]float64, len(ms))
		for i, m := range ms {
			v[i] = f(m)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	for _, r := range results {
		for _, c := range []int{1, 64} {
			ms := r.byConcurrency[c]
			lo, hi := ms[0].ratio, ms[0].ratio
			for _, m := range ms {
				lo, hi = min(lo, m.ratio), max(hi, m.ratio)
			}
			fmt.Printf("| %s | %d | %.0f | %.0f | %.3f (%.3f–%.3f) |\n", r.name, c, med(ms, func(m measure) float64 { return m.bare }),
				med(ms, func(m measure) float64 { return m.rate }), med(ms, func(m measure) float64 { return m.ratio }), lo, hi)
		}
	}
	rate64 := func(r result) float64 { return med(r.byConcurrency[64], func(m measure) float64 { return m.rate }) }
	fmt.Printf("\nText batching at concurrency 64: %.2f× the unbatched throughput (medians; load average after: %s)\n", rate64(results[1])/rate64(results[0]), loadAverage())
	return nil
}

// textThroughput is throughput with a different text per request.
func textThroughput(client *http.Client, url string, bodies [][]byte, pick func() int, concurrency int, d time.Duration) (float64, error) {
	var done atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := post(client, url, bodies[pick()]); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				done.Add(1)
			}
		}()
	}
	time.Sleep(d / 5)
	start, n0 := time.Now(), done.Load()
	time.Sleep(d)
	n1, elapsed := done.Load(), time.Since(start)
	close(stop)
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return 0, err
	}
	return float64(n1-n0) / elapsed.Seconds(), nil
}
