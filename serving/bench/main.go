// Command bench measures `rai serve` (make bench-serving): the per-request overhead of serving
// over a bare in-process Runner.Run of the same input, and throughput at several concurrencies
// with and without dynamic batching and with the audit log on, for a small tabular model (an MLP
// written by onnxwriter). The audit log's cost is also measured head to head: two servers, one
// writing the log to a temporary file, requests alternating between them in the same run.
//
// The server runs as a child process (this binary re-executed) so that its peak resident memory
// is its own; the load generator runs here, over loopback HTTP with keep-alive connections, and
// shares the machine's cores with the server: figures are for the whole machine.
//
// Monitoring's cost (rai serve --monitoring) is measured the same way, head to head, and the
// memory its aggregates take in a server run in this process on a simulated clock (monitoring.go).
//
// The text section (text.go) serves a small text classifier with the bert-base-uncased tokenizer
// and compares it with bare in-process runs of the same token batches.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/responsible-ai/rmodel-operator/internal/onnx"
	"github.com/responsible-ai/rmodel-operator/internal/onnxwriter"
	"github.com/responsible-ai/rmodel-operator/serving"
	"github.com/responsible-ai/rmodel-operator/serving/audit"
)

func main() {
	if os.Getenv("RAI_BENCH_SERVER") == "1" {
		if err := serveChild(); err != nil {
			fmt.Fprintln(os.Stderr, "bench server:", err)
			os.Exit(1)
		}
		return
	}
	device := flag.String("device", "cpu", "cpu or cuda")
	features := flag.Int("features", 20, "input features")
	hidden := flag.String("hidden", "64,64 2048,2048", "hidden layer widths per model, models separated by spaces")
	duration := flag.Duration("duration", 3*time.Second, "length of each throughput measurement")
	latencyN := flag.Int("latency-requests", 3000, "requests for the overhead measurement")
	batch := flag.Int("max-batch-size", 64, "max batch size of the batched server")
	delay := flag.Duration("max-batch-delay", 2*time.Millisecond, "max batch delay of the batched server")
	sectionList := flag.String("sections", "throughput,audit,monitoring,grpc,text", "what to measure: throughput (the main tables), audit, monitoring, grpc (gRPC and REST against the no-op floor), text (a text classifier, text.go)")
	tokenizer := flag.String("tokenizer", "internal/text/bertbase/bert-base-uncased.json", "the BERT tokenizer.json of the text section")
	textRounds := flag.Int("text-rounds", 3, "rounds of the text section's throughput measurements (the median ratio is reported)")
	flag.Parse()
	sections := map[string]bool{}
	for _, name := range strings.Split(*sectionList, ",") {
		sections[strings.TrimSpace(name)] = true
	}
	tabular := len(sections) > 1 || !sections["text"]
	for i, h := range strings.Fields(*hidden) {
		if !tabular {
			break
		}
		if i > 0 {
			fmt.Println()
		}
		if err := run(*device, *features, h, *duration, *latencyN, *batch, *delay, sections); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
	if sections["text"] {
		if err := textServingCost(*device, *tokenizer, *duration, *latencyN, *textRounds, *batch, *delay); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
}

func run(device string, features int, hiddenSpec string, duration time.Duration, latencyN, maxBatch int, maxDelay time.Duration, sections map[string]bool) error {
	var hidden []int
	for _, h := range strings.Split(hiddenSpec, ",") {
		n, err := strconv.Atoi(h)
		if err != nil {
			return fmt.Errorf("--hidden %q: %w", hiddenSpec, err)
		}
		hidden = append(hidden, n)
	}
	rng := rand.New(rand.NewPCG(42, 42))
	mlp := onnxwriter.RandomMLP(rng.Float64, features, hidden...)
	data, err := mlp.Marshal(onnxwriter.ModelInfo{})
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "rai-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	modelPath := filepath.Join(dir, "model.onnx")
	if err := os.WriteFile(modelPath, data, 0o644); err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	digest := hex.EncodeToString(sum[:])

	row := make([]float32, features)
	for i := range row {
		row[i] = float32(rng.NormFloat64())
	}
	body, _ := json.Marshal(map[string]any{"id": "bench", "inputs": []any{map[string]any{
		"name": onnxwriter.InputName, "shape": []int{1, features}, "datatype": "FP32", "data": row}}})

	// The baseline: a bare in-process Run of the same row on the same device and thread count.
	sess, err := onnx.Load(data, onnx.Options{Device: onnx.Device(device), IntraOpThreads: 1})
	if err != nil {
		return err
	}
	runner, err := sess.NewRunner(1)
	if err != nil {
		return err
	}
	defer sess.Close()
	defer runner.Close()
	bareRun := func() (time.Duration, error) {
		t0 := time.Now()
		_, err := runner.Run(row, 1)
		return time.Since(t0), err
	}

	fmt.Printf("## rai serve benchmark: MLP %d→%s→1 (%s), device %s, %d CPUs (load generator on the same machine), %s each throughput run, load average %s\n\n",
		features, hiddenSpec, humanBytes(len(data)), device, runtime.NumCPU(), duration, loadAverage())
	if !sections["throughput"] {
		return runCostSections(modelPath, digest, device, dir, body, features, latencyN, bareRun, sections, row, duration, maxBatch, maxDelay)
	}

	type modeResult struct {
		name       string
		latency    []time.Duration // HTTP request latency
		bare       []time.Duration // bare Run latency, measured just before each request
		overhead   []time.Duration // latency[i] - bare[i]
		throughput map[int]float64
		peakRSS    int64
	}
	modes := []struct {
		name  string
		batch int
		delay time.Duration
		audit bool
	}{
		{"unbatched (--max-batch-size 1)", 1, 0, false},
		{fmt.Sprintf("batched (--max-batch-size %d --max-batch-delay %s)", maxBatch, maxDelay), maxBatch, maxDelay, false},
		{"unbatched, --audit-log", 1, 0, true},
	}
	concurrencies := []int{1, 8, 64}
	var results []modeResult
	for i, m := range modes {
		auditLog := ""
		if m.audit {
			auditLog = filepath.Join(dir, fmt.Sprintf("audit-%d.jsonl", i))
		}
		srv, err := startChild(modelPath, digest, device, m.batch, m.delay, auditLog, false)
		if err != nil {
			return err
		}
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxIdleConns: 256}}
		url := srv.url + "/v2/models/model/infer"
		res := modeResult{name: m.name, throughput: map[int]float64{}}
		if res.latency, res.bare, res.overhead, err = latencies(client, url, body, latencyN, bareRun); err != nil {
			srv.stop()
			return err
		}
		for _, c := range concurrencies {
			if res.throughput[c], err = throughput(client, url, body, c, duration); err != nil {
				srv.stop()
				return err
			}
		}
		res.peakRSS = srv.peakRSS()
		srv.stop()
		results = append(results, res)
	}

	fmt.Printf("Per-request latency at concurrency 1 (1 row). Each HTTP request is paired with a bare in-process Runner.Run of the same row just before it; overhead is the per-pair difference.\n\n")
	fmt.Println("| server | bare Run p50 | bare Run p99 | HTTP p50 | HTTP p99 | overhead p50 | overhead p99 |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, r := range results {
		fmt.Printf("| %s | %s | %s | %s | %s | %s | %s |\n", r.name, us(percentile(r.bare, 50)), us(percentile(r.bare, 99)),
			us(percentile(r.latency, 50)), us(percentile(r.latency, 99)), us(percentile(r.overhead, 50)), us(percentile(r.overhead, 99)))
	}
	fmt.Printf("\nThroughput (requests/s, 1 row each)\n\n")
	fmt.Print("| server |")
	for _, c := range concurrencies {
		fmt.Printf(" concurrency %d |", c)
	}
	fmt.Println(" peak RSS |")
	fmt.Println("|---|---|---|---|---|")
	for _, r := range results {
		fmt.Printf("| %s |", r.name)
		for _, c := range concurrencies {
			fmt.Printf(" %.0f |", r.throughput[c])
		}
		fmt.Printf(" %s |\n", humanBytes(int(r.peakRSS)))
	}
	last := concurrencies[len(concurrencies)-1]
	fmt.Printf("\nBatching at concurrency %d: %.2f× the unbatched throughput; the audit log: %.2f× (load average after: %s)\n", last,
		results[1].throughput[last]/results[0].throughput[last], results[2].throughput[last]/results[0].throughput[last], loadAverage())
	return runCostSections(modelPath, digest, device, dir, body, features, latencyN, bareRun, sections, row, duration, maxBatch, maxDelay)
}

// runCostSections runs the head-to-head measurements that sections names.
func runCostSections(modelPath, digest, device, dir string, body []byte, features, n int, bareRun func() (time.Duration, error), sections map[string]bool,
	row []float32, duration time.Duration, maxBatch int, maxDelay time.Duration) error {
	if sections["grpc"] {
		if err := grpcFloor(modelPath, digest, device, body, row, duration, n, maxBatch, maxDelay, bareRun); err != nil {
			return err
		}
	}
	if sections["audit"] {
		if err := auditCost(modelPath, digest, device, dir, body, n, bareRun); err != nil {
			return err
		}
	}
	if sections["monitoring"] {
		if err := monitoringCost(modelPath, digest, device, features, n, bareRun); err != nil {
			return err
		}
		return monitoringMemory(modelPath, digest, features)
	}
	return nil
}

// auditCost measures the audit log's cost head to head: two unbatched servers, one writing the
// log to a file in dir, both up at once; request i goes to one and then the other (the order
// alternating), each paired with a bare Run, so that both see the same machine load.
func auditCost(modelPath, digest, device, dir string, body []byte, n int, bareRun func() (time.Duration, error)) error {
	logPath := filepath.Join(dir, "audit-ab.jsonl")
	plain, err := startChild(modelPath, digest, device, 1, 0, "", false)
	if err != nil {
		return err
	}
	defer plain.stop()
	audited, err := startChild(modelPath, digest, device, 1, 0, logPath, false)
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	urls := []string{plain.url + "/v2/models/model/infer", audited.url + "/v2/models/model/infer"}
	var lat, over [2][]time.Duration
	for i := -200; i < n; i++ { // 200 warm-up rounds
		for k := range 2 {
			j := (i + k) & 1 // even rounds: plain first; odd: audited first
			if i < 0 {
				j = k
			}
			b, err := bareRun()
			if err != nil {
				audited.stop()
				return err
			}
			t0 := time.Now()
			if err := post(client, urls[j], body); err != nil {
				audited.stop()
				return err
			}
			if i >= 0 {
				d := time.Since(t0)
				lat[j], over[j] = append(lat[j], d), append(over[j], d-b)
			}
		}
	}
	audited.stop()
	fi, err := os.Stat(logPath)
	if err != nil {
		return err
	}
	t0 := time.Now()
	res, err := audit.VerifyFile(logPath)
	if err != nil {
		return fmt.Errorf("the benchmark's audit log: %w", err)
	}
	verifyTime := time.Since(t0)

	fmt.Printf("\nAudit log cost, head to head: two unbatched servers up at once, one with --audit-log (a file in %s); %d requests to each, alternating, each paired with a bare Run.\n\n", dir, n)
	fmt.Println("| server | HTTP p50 | HTTP p99 | overhead p50 | overhead p99 |")
	fmt.Println("|---|---|---|---|---|")
	for j, name := range []string{"without audit log", "with --audit-log"} {
		fmt.Printf("| %s | %s | %s | %s | %s |\n", name, us(percentile(lat[j], 50)), us(percentile(lat[j], 99)), us(percentile(over[j], 50)), us(percentile(over[j], 99)))
	}
	fmt.Printf("\nAudit log: overhead p50 %.2f× without it (%+.0f µs per request), HTTP p50 %.2f×; its %d entries (%s, %.0f B each) verify in %s (%.0f MB/s, the cost of reopening it at start)\n",
		float64(percentile(over[1], 50))/float64(percentile(over[0], 50)),
		float64(percentile(over[1], 50)-percentile(over[0], 50))/float64(time.Microsecond),
		float64(percentile(lat[1], 50))/float64(percentile(lat[0], 50)),
		res.Entries, humanBytes(int(fi.Size())), float64(fi.Size())/float64(max(res.Entries, 1)), verifyTime.Round(time.Millisecond),
		float64(fi.Size())/1e6/verifyTime.Seconds())
	return nil
}

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond)) }

func humanBytes(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func percentile(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[(len(s)-1)*p/100]
}

func post(client *http.Client, url string, body []byte) error {
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("infer: HTTP %d", resp.StatusCode)
	}
	return nil
}

func latencies(client *http.Client, url string, body []byte, n int, bareRun func() (time.Duration, error)) (lat, bare, overhead []time.Duration, err error) {
	lat, bare, overhead = make([]time.Duration, n), make([]time.Duration, n), make([]time.Duration, n)
	for i := -200; i < n; i++ { // 200 warm-up pairs
		b, err := bareRun()
		if err != nil {
			return nil, nil, nil, err
		}
		t0 := time.Now()
		if err := post(client, url, body); err != nil {
			return nil, nil, nil, err
		}
		if i >= 0 {
			lat[i], bare[i] = time.Since(t0), b
			overhead[i] = lat[i] - b
		}
	}
	return lat, bare, overhead, nil
}

func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(data))[:3], " ")
}

func throughput(client *http.Client, url string, body []byte, concurrency int, d time.Duration) (float64, error) {
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
				if err := post(client, url, body); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				done.Add(1)
			}
		}()
	}
	time.Sleep(d / 5) // ramp-up, not counted
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

// child is the server process.
type child struct {
	cmd      *exec.Cmd
	url      string
	grpcAddr string // with -grpc
}

// startChild starts a server; auditLog "" leaves the audit log off; monitor turns --monitoring on.
func startChild(modelPath, digest, device string, batch int, delay time.Duration, auditLog string, monitor bool, extra ...string) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, append([]string{"-model", modelPath, "-sha256", digest, "-device", device,
		"-max-batch-size", strconv.Itoa(batch), "-max-batch-delay", delay.String(), "-audit-log", auditLog,
		"-monitoring=" + strconv.FormatBool(monitor)}, extra...)...)
	cmd.Env = append(os.Environ(), "RAI_BENCH_SERVER=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("bench server did not start: %w", err)
	}
	addrs := strings.Fields(line)
	c := &child{cmd: cmd, url: "http://" + addrs[0]}
	if len(addrs) > 1 {
		c.grpcAddr = addrs[1]
	}
	return c, nil
}

// peakRSS is the child's VmHWM (peak resident set size) in bytes.
func (c *child) peakRSS() int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			f := strings.Fields(l)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func (c *child) stop() {
	c.cmd.Process.Signal(syscall.SIGTERM)
	c.cmd.Wait()
}

// fileURI is path's file:// URI ("" for "").
func fileURI(path string) string {
	if path == "" {
		return ""
	}
	return "file://" + path
}

// serveChild runs the server and prints its address once ready.
func serveChild() error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	model := fs.String("model", "", "")
	digest := fs.String("sha256", "", "")
	device := fs.String("device", "cpu", "")
	batch := fs.Int("max-batch-size", 1, "")
	delay := fs.Duration("max-batch-delay", 0, "")
	auditLog := fs.String("audit-log", "", "")
	monitor := fs.Bool("monitoring", false, "")
	withGRPC := fs.Bool("grpc", false, "")
	noop := fs.Bool("noop", false, "")
	task := fs.String("task", "", "")
	tokenizer := fs.String("tokenizer", "", "")
	tokenizerSHA := fs.String("tokenizer-sha256", "", "")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	if *noop {
		return serveNoop()
	}
	srv, err := serving.New(serving.Config{
		ModelURI: "file://" + *model, SHA256: *digest, Device: onnx.Device(*device),
		MaxBatchSize: *batch, MaxBatchDelay: *delay, AuditLogPath: *auditLog,
		Monitoring: serving.MonitoringConfig{Enabled: *monitor},
		Task:       *task, TokenizerURI: fileURI(*tokenizer), TokenizerSHA256: *tokenizerSHA,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	// RAI_BENCH_CPUPROFILE=FILE profiles the server process while it runs (go tool pprof FILE).
	if path := os.Getenv("RAI_BENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	var gln net.Listener
	addrs := ln.Addr().String()
	if *withGRPC {
		if gln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return err
		}
		addrs += " " + gln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ctx, ln, gln) }()
	for !srv.Ready() {
		select {
		case err := <-errc:
			return err
		case <-time.After(2 * time.Millisecond):
		}
	}
	fmt.Println(addrs)
	return <-errc
}
