// Command bench measures the evaluation runtime against bare onnxruntime
// inference in the same run (`make bench-evaluate`), for logistic
// regression and a small MLP (two hidden layers of 64 units):
//
//	(a) fairness over rows held in memory vs bare batched inference over
//	    the same rows, both on every core;
//	(b) fairness end to end from CSV and from Parquet, with the share of
//	    the time spent reading (parsing without scoring);
//	(c) randomized-smoothing samples/s (noise included) vs bare inference
//	    on as many rows;
//	(d) peak RSS of `rai evaluate fairness` on 1M and on 10M CSV rows, each
//	    in a fresh child process.
//
// Every figure is printed next to its baseline as a ratio: timings depend
// on the machine and its load, ratios much less.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/responsible-ai/rmodel-operator/internal/evaluation/dataset"
	"github.com/responsible-ai/rmodel-operator/internal/evaluation/robustness"
	"github.com/responsible-ai/rmodel-operator/internal/evaluation/runner"
	"github.com/responsible-ai/rmodel-operator/internal/onnx"
	"github.com/responsible-ai/rmodel-operator/internal/onnxwriter"
)

const features = 16

var (
	rows       = flag.Int("rows", 1_000_000, "rows for (a), (b) and the small RSS run")
	bigRows    = flag.Int("big-rows", 10_000_000, "rows for the large RSS run (0 skips it)")
	smoothRows = flag.Int("smooth-rows", 100, "rows certified in (c)")
	smoothN    = flag.Int("smooth-n", 10_000, "noise samples per row in (c) (plus n0 = 100)")
	repeats    = flag.Int("repeats", 5, "timed repetitions; the median is reported")
	dir        = flag.String("dir", "", "scratch directory (default: a temporary one, removed after)")
	only       = flag.String("only", "abcdt", "sections to run")
	textRows   = flag.Int("texts", 20_000, "texts in (t)")
	deviceFlag = flag.String("device", "cpu", "execution provider of (c), the smoothing section, and its bare baseline: cpu or cuda (make bench-evaluate DEVICE=cuda)")
	device     onnx.Device
	child      = flag.String("child", "", "internal: evaluate fairness on this CSV with this model (model.onnx,data.csv) and print peak RSS")
)

func main() {
	flag.Parse()
	d, err := onnx.ParseDevice(*deviceFlag)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-evaluate: -device:", err)
		os.Exit(2)
	}
	device = d
	if err := onnx.Init(""); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if *child != "" {
		os.Exit(runChild(*child))
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type model struct {
	name string
	path string
}

func run() error {
	scratch := *dir
	if scratch == "" {
		d, err := os.MkdirTemp("", "rai-bench-evaluate-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		scratch = d
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var models []model
	for _, m := range []struct {
		name string
		mlp  onnxwriter.MLP
	}{
		{"logistic regression", onnxwriter.LogisticRegression(randomWeights(rng, features), 0.1)},
		{"MLP 16-64-64-1", onnxwriter.RandomMLP(rng.Float64, features, 64, 64)},
	} {
		b, err := m.mlp.Marshal(onnxwriter.ModelInfo{})
		if err != nil {
			return err
		}
		p := filepath.Join(scratch, strings.Fields(m.name)[0]+".onnx")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
		models = append(models, model{m.name, p})
	}
	fmt.Printf("rai evaluation benchmark: %d rows, %d features, %d workers (GOMAXPROCS), median of %d\n\n", *rows, features, runner.Workers(), *repeats)

	mem := makeMemory(rng, *rows)
	if strings.Contains(*only, "a") {
		if err := sectionA(models, mem); err != nil {
			return err
		}
	}
	csvPath := filepath.Join(scratch, "data.csv")
	if strings.Contains(*only, "b") || strings.Contains(*only, "d") {
		if err := writeCSV(csvPath, *rows, 7); err != nil {
			return err
		}
	}
	if strings.Contains(*only, "b") {
		if err := sectionB(models, mem, scratch, csvPath); err != nil {
			return err
		}
	}
	if strings.Contains(*only, "c") {
		if err := sectionC(models, mem, rng); err != nil {
			return err
		}
	}
	if strings.Contains(*only, "d") {
		if err := sectionD(models, scratch, csvPath); err != nil {
			return err
		}
	}
	if strings.Contains(*only, "t") {
		if err := sectionT(scratch, *textRows); err != nil {
			return err
		}
	}
	return nil
}

func sectionA(models []model, mem *dataset.Memory) error {
	fmt.Println("(a) fairness over rows in memory vs bare batched onnxruntime inference (ratio ≥ 0.8 wanted)")
	fmt.Printf("%-22s %14s %15s %11s %10s\n", "model", "bare rows/s", "fairness rows/s", "wall ratio", "CPU ratio")
	for _, m := range models {
		bare, fair, ratio, err := pair(
			func() (rate, error) { return bareRowsPerSec(m.path, mem.Features, *rows, onnx.DeviceCPU) },
			func() (rate, error) { return fairnessRowsPerSec(m.path, mem) })
		if err != nil {
			return err
		}
		fmt.Printf("%-22s %14.0f %15.0f %11.2f %10.2f\n", m.name, bare.wall, fair.wall, ratio.wall, ratio.cpu)
	}
	return nil
}

func sectionB(models []model, mem *dataset.Memory, scratch, csvPath string) error {
	pqPath := filepath.Join(scratch, "data.parquet")
	if err := writeParquet(pqPath, *rows, 7); err != nil {
		return err
	}
	fmt.Println("\n(b) fairness end to end from files (digests and 1000 bootstrap replicates included) vs bare inference in memory")
	fmt.Printf("%-22s %-8s %12s %11s %10s %14s\n", "model", "format", "rows/s", "wall ratio", "CPU ratio", "reading share")
	for _, m := range models {
		for _, f := range []struct{ name, path string }{{"CSV", csvPath}, {"Parquet", pqPath}} {
			_, e2e, ratio, err := pair(
				func() (rate, error) { return bareRowsPerSec(m.path, mem.Features, *rows, onnx.DeviceCPU) },
				func() (rate, error) {
					clk := startClock()
					cfg := runner.FairnessConfig{
						Common: runner.Common{ModelPath: m.path, DataPath: f.path},
						Label:  "label", Sensitive: []string{"sex", "race"}, Privileged: "sex=M", Favorable: "1",
						Threshold: 0.5, Bootstrap: 1000, Seed: 1,
					}
					if _, err := runner.EvaluateFairness(context.Background(), cfg); err != nil {
						return rate{}, err
					}
					return clk.rate(float64(*rows)), nil
				})
			if err != nil {
				return err
			}
			read, err := median(func() (rate, error) { return readRate(f.path) })
			if err != nil {
				return err
			}
			// Reading's share of the CPU time of the whole evaluation.
			share := e2e.cpu / read.cpu
			fmt.Printf("%-22s %-8s %12.0f %11.2f %10.2f %13.0f%%\n", m.name, f.name, e2e.wall, ratio.wall, ratio.cpu, 100*share)
		}
	}
	return nil
}

func sectionC(models []model, mem *dataset.Memory, rng *rand.Rand) error {
	fmt.Printf("\n(c) randomized smoothing (n0 = 100, n = %d, %d rows; noise included) vs bare inference on as many rows, both on %s with one runner per worker (ratio ≥ 0.8 wanted for the MLP); load average %s\n", *smoothN, *smoothRows, device, loadAverage())
	fmt.Printf("%-22s %14s %14s %11s %10s %14s %10s\n", "model", "bare rows/s", "samples/s", "wall ratio", "CPU ratio", "noise only/s", "ns/normal")
	samples := *smoothRows * (100 + *smoothN)
	big := mem.Features
	if samples > *rows {
		big = makeMemory(rng, samples).Features
	}
	for _, m := range models {
		bare, sm, ratio, err := pair(
			func() (rate, error) { return bareRowsPerSec(m.path, big[:samples*features], samples, device) },
			func() (rate, error) {
				return smoothingSamplesPerSec(m.path, mem.Features[:*smoothRows*features], *smoothRows, 100, *smoothN)
			})
		if err != nil {
			return err
		}
		noise := noiseSamplesPerSec(mem.Features[:features], samples)
		fmt.Printf("%-22s %14.0f %14.0f %11.2f %10.2f %14.0f %10.2f\n", m.name, bare.wall, sm.wall, ratio.wall, ratio.cpu, noise, 1e9/noise/features)
	}
	// Where the smoother's CPU time goes, on one goroutine: inference alone
	// (the bare baseline's loop), noise alone, and the smoother, in CPU ns
	// per row or sample; inference/(inference + noise) bounds the CPU ratio.
	fmt.Printf("one worker, CPU ns per row or sample (medians of %d runs)\n", max(1, *repeats))
	fmt.Printf("%-22s %14s %14s %14s %10s %10s\n", "model", "inference", "noise", "smoothing", "CPU ratio", "bound")
	for _, m := range models {
		inf, noise, smooth, err := cpuSplit(m.path, big[:samples*features], mem.Features[:*smoothRows*features], samples)
		if err != nil {
			return err
		}
		fmt.Printf("%-22s %14.1f %14.1f %14.1f %10.2f %10.2f\n", m.name, inf, noise, smooth, inf/smooth, inf/(inf+noise))
	}
	fmt.Printf("load average after (c): %s\n", loadAverage())
	return nil
}

// cpuSplit measures, on the calling goroutine alone, the CPU time per row
// of bare inference over n rows of big, per sample of noise generation
// and per sample of smoothing the rows of xs (n0 = 100 and n = -smooth-n
// samples each): medians of -repeats runs.
func cpuSplit(path string, big, xs []float32, n int) (inference, noise, smoothing float64, err error) {
	m, err := runner.LoadONNXOn(path, "", "", device)
	if err != nil {
		return 0, 0, 0, err
	}
	defer m.Close()
	sc, err := m.NewScorer(runner.BatchRows)
	if err != nil {
		return 0, 0, 0, err
	}
	if c, ok := sc.(interface{ Close() error }); ok {
		defer c.Close()
	}
	out := make([]float32, runner.BatchRows)
	sm := &robustness.Smoother{Scorer: sc, Features: features, Batch: runner.BatchRows, Sigma: 0.25, Threshold: 0.5, Seed: 1}
	rows := len(xs) / features
	ids := make([]int64, 1)
	counts := make([]robustness.Counts, 1)
	var inf, nz, smo []float64
	for range max(1, *repeats) {
		c := cpuSeconds()
		for lo := 0; lo < n; lo += runner.BatchRows {
			hi := min(n, lo+runner.BatchRows)
			if err := sc.Score(big[lo*features:hi*features], hi-lo, out[:hi-lo]); err != nil {
				return 0, 0, 0, err
			}
		}
		inf = append(inf, (cpuSeconds()-c)/float64(n)*1e9)
		c = cpuSeconds()
		sm.NoiseOnly(xs[:features], 0, n)
		nz = append(nz, (cpuSeconds()-c)/float64(n)*1e9)
		c = cpuSeconds()
		for i := range rows {
			ids[0] = int64(i)
			if err := sm.Count(xs[i*features:(i+1)*features], ids, 100, *smoothN, counts); err != nil {
				return 0, 0, 0, err
			}
		}
		smo = append(smo, (cpuSeconds()-c)/float64(rows*(100+*smoothN))*1e9)
	}
	med := func(v []float64) float64 { sort.Float64s(v); return v[len(v)/2] }
	return med(inf), med(nz), med(smo), nil
}

// loadAverage is /proc/loadavg's first three fields, or "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

func sectionD(models []model, scratch, csvPath string) error {
	fmt.Println("\n(d) peak RSS of rai evaluate fairness from CSV (logistic regression), fresh process each")
	fmt.Printf("%12s %12s %12s\n", "rows", "file MiB", "peak RSS MiB")
	var rss []float64
	for _, n := range []int{*rows, *bigRows} {
		if n == 0 {
			continue
		}
		p := csvPath
		if n != *rows {
			p = filepath.Join(scratch, "big.csv")
			if err := writeCSV(p, n, 7); err != nil {
				return err
			}
		}
		st, _ := os.Stat(p)
		kb, err := childRSS(models[0].path, p)
		if err != nil {
			return err
		}
		rss = append(rss, kb/1024)
		fmt.Printf("%12d %12.0f %12.1f\n", n, float64(st.Size())/(1<<20), kb/1024)
		if p != csvPath {
			os.Remove(p)
		}
	}
	if len(rss) == 2 {
		fmt.Printf("peak RSS ratio %d/%d rows: %.2f\n", *bigRows, *rows, rss[1]/rss[0])
	}
	return nil
}

func randomWeights(rng *rand.Rand, n int) []float32 {
	w := make([]float32, n)
	for i := range w {
		w[i] = float32(rng.NormFloat64() / 4)
	}
	return w
}

// makeMemory builds rows of features with a label and two sensitive
// columns (sex: 2 values, race: 4 values).
func makeMemory(rng *rand.Rand, n int) *dataset.Memory {
	m := &dataset.Memory{Features: make([]float32, n*features), NF: features,
		Codes: [][]int32{make([]int32, n), make([]int32, n), make([]int32, n)},
		Dicts: [][]string{{"0", "1"}, {"F", "M"}, {"a", "b", "c", "d"}}}
	for i := range m.Features {
		m.Features[i] = float32(rng.NormFloat64())
	}
	for i := 0; i < n; i++ {
		m.Codes[0][i] = int32(rng.IntN(2))
		m.Codes[1][i] = int32(rng.IntN(2))
		m.Codes[2][i] = int32(rng.IntN(4))
	}
	return m
}

// rate is a throughput measured two ways: per second of wall-clock time,
// and per second of CPU time this process used (user + system, every
// thread). On a machine shared with other work the wall-clock figure moves
// with the load; the CPU figure is the cost of the work itself.
type rate struct{ wall, cpu float64 }

type clock struct {
	start time.Time
	cpu   float64
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

func startClock() clock { return clock{time.Now(), cpuSeconds()} }

func (c clock) rate(n float64) rate {
	return rate{wall: n / time.Since(c.start).Seconds(), cpu: n / (cpuSeconds() - c.cpu)}
}

// pair measures the baseline and the candidate alternately, repeats times,
// and returns the median of each and the median of the per-pair ratios
// candidate/baseline: alternating keeps a change in machine load from
// landing on one side only.
func pair(baseline, candidate func() (rate, error)) (base, cand, ratio rate, err error) {
	var bw, bc, cw, cc, rw, rc []float64
	for range max(1, *repeats) {
		b, err := baseline()
		if err != nil {
			return base, cand, ratio, err
		}
		c, err := candidate()
		if err != nil {
			return base, cand, ratio, err
		}
		bw, bc, cw, cc = append(bw, b.wall), append(bc, b.cpu), append(cw, c.wall), append(cc, c.cpu)
		rw, rc = append(rw, c.wall/b.wall), append(rc, c.cpu/b.cpu)
	}
	med := func(v []float64) float64 { sort.Float64s(v); return v[len(v)/2] }
	return rate{med(bw), med(bc)}, rate{med(cw), med(cc)}, rate{med(rw), med(rc)}, nil
}

func median(f func() (rate, error)) (rate, error) {
	var w, c []float64
	for range max(1, *repeats) {
		x, err := f()
		if err != nil {
			return rate{}, err
		}
		w, c = append(w, x.wall), append(c, x.cpu)
	}
	sort.Float64s(w)
	sort.Float64s(c)
	return rate{w[len(w)/2], c[len(c)/2]}, nil
}

// bareRowsPerSec runs n rows through onnxruntime in batches of
// runner.BatchRows, one Runner per worker, with nothing else.
func bareRowsPerSec(path string, x []float32, n int, dev onnx.Device) (rate, error) {
	sess, err := onnx.LoadFile(path, onnx.Options{IntraOpThreads: 1, Device: dev})
	if err != nil {
		return rate{}, err
	}
	defer sess.Close()
	// Like the evaluation, the clock includes making the runners (their
	// buffers and first onnxruntime bindings): both sides pay the same setup.
	clk := startClock()
	workers := runner.Workers()
	runners := make([]*onnx.Runner, workers)
	for i := range runners {
		if runners[i], err = sess.NewRunner(runner.BatchRows); err != nil {
			return rate{}, err
		}
		defer runners[i].Close()
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for _, r := range runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				lo := int(next.Add(runner.BatchRows)) - runner.BatchRows
				if lo >= n {
					return
				}
				hi := min(n, lo+runner.BatchRows)
				if _, err := r.Run(x[lo*features:hi*features], hi-lo); err != nil {
					firstErr.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if e := firstErr.Load(); e != nil {
		return rate{}, e.(error)
	}
	return clk.rate(float64(n)), nil
}

func fairnessRowsPerSec(path string, mem *dataset.Memory) (rate, error) {
	m, err := runner.LoadONNX(path, "", "")
	if err != nil {
		return rate{}, err
	}
	defer m.Close()
	r := *mem
	clk := startClock()
	_, n, err := runner.TallyFairness(context.Background(), &r, m, runner.TallyOptions{
		Sensitive: []string{"sex", "race"}, Favorable: "1", Threshold: 0.5,
	})
	if err != nil {
		return rate{}, err
	}
	return clk.rate(float64(n)), nil
}

// readRate is rows per second of streaming the file into batches without
// scoring.
func readRate(path string) (rate, error) {
	clk := startClock()
	r, err := dataset.Open(path, dataset.Spec{Numeric: featureNames(), Categorical: []string{"label", "sex", "race"}, Labels: []string{"label"}})
	if err != nil {
		return rate{}, err
	}
	defer r.Close()
	var b dataset.Batch
	for {
		ok, err := r.Next(&b, runner.BatchRows)
		if err != nil {
			return rate{}, err
		}
		if !ok {
			break
		}
	}
	return clk.rate(float64(*rows)), nil
}

func smoothingSamplesPerSec(path string, x []float32, rows, n0, n int) (rate, error) {
	m, err := runner.LoadONNXOn(path, "", "", device)
	if err != nil {
		return rate{}, err
	}
	defer m.Close()
	// As for the bare baseline, the clock includes making the scorers: one
	// per worker, the same runners with the same 4096-row buffers.
	clk := startClock()
	workers := runner.Workers()
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	scorers := make([]runner.Scorer, workers)
	for i := range scorers {
		if scorers[i], err = m.NewScorer(runner.BatchRows); err != nil {
			return rate{}, err
		}
		if c, ok := scorers[i].(interface{ Close() error }); ok {
			defer c.Close()
		}
	}
	for _, sc := range scorers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sm := &robustness.Smoother{Scorer: sc, Features: features, Batch: runner.BatchRows, Sigma: 0.25, Threshold: 0.5, Seed: 1}
			ids := make([]int64, 1)
			out := make([]robustness.Counts, 1)
			for {
				i := int(next.Add(1)) - 1
				if i >= rows {
					return
				}
				ids[0] = int64(i)
				if err := sm.Count(x[i*features:(i+1)*features], ids, n0, n, out); err != nil {
					firstErr.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if e := firstErr.Load(); e != nil {
		return rate{}, e.(error)
	}
	return clk.rate(float64(rows * (n0 + n))), nil
}

// noiseSamplesPerSec is the sampling cost alone, on one core: the median
// of -repeats runs.
func noiseSamplesPerSec(x []float32, samples int) float64 {
	sm := &robustness.Smoother{Features: features, Batch: runner.BatchRows, Sigma: 0.25, Seed: 1}
	var r []float64
	for i := range max(1, *repeats) {
		start := time.Now()
		sm.NoiseOnly(x, int64(i), samples)
		r = append(r, float64(samples)/time.Since(start).Seconds())
	}
	sort.Float64s(r)
	return r[len(r)/2]
}

func featureNames() []string {
	n := make([]string, features)
	for i := range n {
		n[i] = "x" + strconv.Itoa(i)
	}
	return n
}

func writeCSV(path string, n int, seed uint64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString(strings.Join(featureNames(), ",") + ",label,sex,race\n")
	rng := rand.New(rand.NewPCG(seed, 1))
	var buf []byte
	for i := 0; i < n; i++ {
		buf = buf[:0]
		for j := 0; j < features; j++ {
			buf = strconv.AppendFloat(buf, rng.NormFloat64(), 'f', 4, 32)
			buf = append(buf, ',')
		}
		buf = strconv.AppendInt(buf, int64(rng.IntN(2)), 10)
		buf = append(buf, ',')
		buf = append(buf, "FM"[rng.IntN(2)])
		buf = append(buf, ',')
		buf = append(buf, "abcd"[rng.IntN(4)], '\n')
		w.Write(buf)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

func writeParquet(path string, n int, seed uint64) error {
	fields := make([]arrow.Field, 0, features+3)
	for _, name := range featureNames() {
		fields = append(fields, arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Float32})
	}
	fields = append(fields,
		arrow.Field{Name: "label", Type: arrow.PrimitiveTypes.Int64},
		arrow.Field{Name: "sex", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "race", Type: arrow.BinaryTypes.String})
	schema := arrow.NewSchema(fields, nil)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w, err := pqarrow.NewFileWriter(schema, f, parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(128*1024)), pqarrow.DefaultWriterProps())
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	const chunk = 64 * 1024
	for done := 0; done < n; done += chunk {
		k := min(chunk, n-done)
		for i := 0; i < k; i++ {
			for j := 0; j < features; j++ {
				b.Field(j).(*array.Float32Builder).Append(float32(rng.NormFloat64()))
			}
			b.Field(features).(*array.Int64Builder).Append(int64(rng.IntN(2)))
			b.Field(features + 1).(*array.StringBuilder).Append([]string{"F", "M"}[rng.IntN(2)])
			b.Field(features + 2).(*array.StringBuilder).Append([]string{"a", "b", "c", "d"}[rng.IntN(4)])
		}
		rec := b.NewRecordBatch()
		err := w.Write(rec)
		rec.Release()
		if err != nil {
			return err
		}
	}
	return w.Close()
}

// childRSS runs this program in child mode and returns its peak RSS in KiB.
func childRSS(modelPath, dataPath string) (float64, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	out, err := exec.Command(exe, "-child", modelPath+","+dataPath).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("child: %v: %s", err, out)
	}
	return strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
}

func runChild(arg string) int {
	modelPath, dataPath, _ := strings.Cut(arg, ",")
	cfg := runner.FairnessConfig{
		Common: runner.Common{ModelPath: modelPath, DataPath: dataPath},
		Label:  "label", Sensitive: []string{"sex", "race"}, Privileged: "sex=M", Favorable: "1",
		Threshold: 0.5, Bootstrap: 1000, Seed: 1,
	}
	if _, err := runner.EvaluateFairness(context.Background(), cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			fmt.Println(strings.Fields(line)[1])
			return 0
		}
	}
	fmt.Fprintln(os.Stderr, "no VmHWM in /proc/self/status")
	return 1
}
