package serving

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/responsible-ai/rmodel-operator/internal/onnxwriter"
	"github.com/responsible-ai/rmodel-operator/serving/audit"
)

// testModel writes an MLP to a file and returns it with its file URI and sha256.
func testModel(t testing.TB, features int) (onnxwriter.MLP, string, string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(11, 12))
	m := onnxwriter.RandomMLP(rng.Float64, features, 16, 8)
	data, err := m.Marshal(onnxwriter.ModelInfo{ModelVersion: 3, Metadata: map[string]string{"purpose": "test"}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "model.onnx")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return m, "file://" + path, hex.EncodeToString(sum[:])
}

// testServer runs a Server over a real listener until the test ends, and waits until it is ready.
type testServer struct {
	*Server
	url    string
	cancel context.CancelFunc
	done   chan error
}

func startServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{Server: srv, url: "http://" + ln.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { ts.done <- srv.Run(ctx, ln) }()
	t.Cleanup(func() { ts.stop(t) })
	deadline := time.Now().Add(30 * time.Second)
	for !srv.Ready() {
		select {
		case err := <-ts.done:
			ts.done <- err
			t.Fatalf("server stopped before ready: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("server not ready after 30s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return ts
}

func (ts *testServer) stop(t testing.TB) {
	ts.cancel()
	if err := <-ts.done; err != nil {
		t.Errorf("server stopped with %v", err)
	}
	ts.done <- nil
}

type inferResult struct {
	status int
	resp   InferResponse
	errMsg string
}

func post(t *testing.T, url, body string) inferResult {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("content type %q for %s", ct, raw)
	}
	r := inferResult{status: resp.StatusCode}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, &r.resp); err != nil {
			t.Fatalf("response %s: %v", raw, err)
		}
	} else {
		var e map[string]string
		if err := json.Unmarshal(raw, &e); err != nil || e["error"] == "" {
			t.Fatalf("error response %q is not {\"error\": ...}", raw)
		}
		r.errMsg = e["error"]
	}
	return r
}

func inferBody(id string, rows [][]float32) string {
	b, _ := json.Marshal(map[string]any{"id": id, "inputs": []any{map[string]any{
		"name": "features", "shape": []int{len(rows), len(rows[0])}, "datatype": "FP32", "data": rows,
	}}})
	return string(b)
}

func randomRows(rng *rand.Rand, n, f int) [][]float32 {
	rows := make([][]float32, n)
	for i := range rows {
		rows[i] = make([]float32, f)
		for j := range rows[i] {
			rows[i][j] = float32(rng.NormFloat64())
		}
	}
	return rows
}

// checkResponse compares the served probabilities with the Go reference.
func checkResponse(t *testing.T, m onnxwriter.MLP, rows [][]float32, r inferResult) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.errMsg)
	}
	if len(r.resp.Outputs) != 1 {
		t.Fatalf("outputs %+v", r.resp.Outputs)
	}
	o := r.resp.Outputs[0]
	if o.Name != "probability" || o.Datatype != "FP32" || len(o.Shape) != 2 || o.Shape[0] != int64(len(rows)) || o.Shape[1] != 1 || len(o.Data) != len(rows) {
		t.Fatalf("output %+v for %d rows", o, len(rows))
	}
	for i, row := range rows {
		if want := m.Predict(row); math.Abs(float64(o.Data[i])-want) > 1e-5 {
			t.Fatalf("row %d: served %v, Go reference %v", i, o.Data[i], want)
		}
	}
}

func TestServeAnswersPredictionsAndRejectsBadRequests(t *testing.T) {
	m, uri, sum := testModel(t, 3)
	for _, batch := range []int{1, 64} { // without and with dynamic batching
		t.Run(fmt.Sprintf("max-batch-size %d", batch), func(t *testing.T) {
			ts := startServer(t, Config{ModelURI: uri, SHA256: strings.ToUpper(sum), Name: "credit", MaxBatchSize: batch, MaxBatchDelay: time.Millisecond, MaxBodyBytes: 4096})
			infer := ts.url + "/v2/models/credit/infer"
			rng := rand.New(rand.NewPCG(1, 1))
			good := func() {
				rows := randomRows(rng, 5, 3)
				r := post(t, infer, inferBody("req-1", rows))
				checkResponse(t, m, rows, r)
				if r.resp.ID != "req-1" || r.resp.ModelName != "credit" || r.resp.ModelVersion != "3" {
					t.Fatalf("response header fields %+v", r.resp)
				}
			}
			good()
			for _, tc := range badRequests {
				r := post(t, infer, tc.body)
				if r.status != http.StatusBadRequest || !strings.Contains(r.errMsg, tc.want) {
					t.Errorf("%s: %d %q, want 400 containing %q", tc.name, r.status, r.errMsg, tc.want)
				}
				good() // the next good request is served
			}
			big := inferBody("big", randomRows(rng, 200, 3))
			if r := post(t, infer, big); r.status != http.StatusRequestEntityTooLarge || !strings.Contains(r.errMsg, "larger than 4096 bytes") {
				t.Errorf("oversized body: %d %q", r.status, r.errMsg)
			}
			good()
			if r := post(t, ts.url+"/v2/models/other/infer", inferBody("x", randomRows(rng, 1, 3))); r.status != http.StatusNotFound || !strings.Contains(r.errMsg, `unknown model "other"`) {
				t.Errorf("unknown model: %d %q", r.status, r.errMsg)
			}
			if r := post(t, ts.url+"/v2/models/credit/versions/9/infer", inferBody("x", randomRows(rng, 1, 3))); r.status != http.StatusNotFound || !strings.Contains(r.errMsg, `version "9"`) {
				t.Errorf("unknown version: %d %q", r.status, r.errMsg)
			}
			rows := randomRows(rng, 2, 3)
			checkResponse(t, m, rows, post(t, ts.url+"/v2/models/credit/versions/3/infer", inferBody("v", rows)))
			// A request with more rows than a batch holds is served on its own.
			rows = randomRows(rng, 70, 3)
			ts2body := inferBody("many", rows)
			if len(ts2body) < 4096 {
				checkResponse(t, m, rows, post(t, infer, ts2body))
			}
			resp, err := http.Get(infer)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
				t.Errorf("GET infer: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
			}
			// Without an id the server makes one.
			if r := post(t, infer, `{"inputs":[{"name":"features","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}`); r.status != 200 || len(r.resp.ID) != 32 {
				t.Errorf("generated id: %+v", r)
			}
		})
	}
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode
}

func TestServeMetadataHealthAndMetrics(t *testing.T) {
	_, uri, sum := testModel(t, 4)
	ts := startServer(t, Config{ModelURI: uri, SHA256: sum, Name: "credit", ModelVersion: "v7", MaxBatchSize: 8, ServerVersion: "test"})
	var live, ready map[string]any
	if getJSON(t, ts.url+"/v2/health/live", &live) != 200 || live["live"] != true {
		t.Errorf("live: %v", live)
	}
	if getJSON(t, ts.url+"/v2/health/ready", &ready) != 200 || ready["ready"] != true {
		t.Errorf("ready: %v", ready)
	}
	if getJSON(t, ts.url+"/v2/models/credit/ready", &ready) != 200 || ready["ready"] != true {
		t.Errorf("model ready: %v", ready)
	}
	var md ModelMetadata
	if getJSON(t, ts.url+"/v2/models/credit", &md) != 200 {
		t.Fatal("model metadata")
	}
	if md.Name != "credit" || len(md.Versions) != 1 || md.Versions[0] != "v7" || md.Platform != "onnxruntime_onnx" ||
		len(md.Inputs) != 1 || md.Inputs[0].Name != "features" || md.Inputs[0].Datatype != "FP32" || fmt.Sprint(md.Inputs[0].Shape) != "[-1 4]" ||
		len(md.Outputs) != 1 || md.Outputs[0].Name != "probability" || fmt.Sprint(md.Outputs[0].Shape) != "[-1 1]" {
		t.Errorf("model metadata %+v", md)
	}
	var server ServerMetadata
	if getJSON(t, ts.url+"/v2", &server) != 200 || server.Name != "rai" || server.Version != "test" {
		t.Errorf("server metadata %+v", server)
	}
	var nf map[string]string
	if getJSON(t, ts.url+"/v2/models/nope", &nf) != 404 || !strings.Contains(nf["error"], `unknown model "nope"`) {
		t.Errorf("unknown model metadata: %v", nf)
	}

	body := `{"inputs":[{"name":"features","shape":[2,4],"datatype":"FP32","data":[1,2,3,4,5,6,7,8]}]}`
	for range 3 {
		post(t, ts.url+"/v2/models/credit/infer", body)
	}
	post(t, ts.url+"/v2/models/credit/infer", `{"inputs":[`)
	resp, err := http.Get(ts.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for metric, want := range map[string]float64{
		`rai_inference_requests_total{code="200",model="credit"}`:                    3,
		`rai_inference_requests_total{code="400",model="credit"}`:                    1,
		`rai_inference_errors_total{code="400",model="credit",reason="bad_request"}`: 1,
		`rai_inference_request_duration_seconds_count{code="200",model="credit"}`:    3,
		`rai_inference_batch_rows_sum{model="credit"}`:                               7, // warm-up row + 3×2
		`rai_model_ready{model="credit"}`:                                            1,
	} {
		got, ok := metricValue(string(text), metric)
		if !ok || got != want {
			t.Errorf("%s = %v (found %v), want %v", metric, got, ok, want)
		}
	}
	if _, ok := metricValue(string(text), "process_resident_memory_bytes"); !ok {
		t.Error("no process_resident_memory_bytes")
	}
}

func metricValue(text, name string) (float64, bool) {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`)
	m := re.FindStringSubmatch(text)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	return v, err == nil
}

func TestServeRefusesAModelWithAnotherSHA256(t *testing.T) {
	_, uri, sum := testModel(t, 3)
	wrong := []byte(sum)
	wrong[0] ^= 1 // still hex
	srv, err := New(Config{ModelURI: uri, SHA256: string(wrong), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	err = srv.Run(context.Background(), ln)
	if err == nil || !strings.Contains(err.Error(), "refusing to load it") || !strings.Contains(err.Error(), sum) {
		t.Fatalf("Run with a wrong sha256: %v", err)
	}
	if srv.Ready() {
		t.Fatal("ready with a refused model")
	}
	if _, err := New(Config{ModelURI: uri, SHA256: "abc"}); err == nil || !strings.Contains(err.Error(), "64 hexadecimal digits") {
		t.Errorf("short sha256: %v", err)
	}
}

func TestServeFetchesOverHTTP(t *testing.T) {
	m, uri, sum := testModel(t, 3)
	data, err := os.ReadFile(strings.TrimPrefix(uri, "file://"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/m.onnx" {
			http.NotFound(w, r)
			return
		}
		w.Write(data)
	})}
	go hs.Serve(ln)
	defer hs.Close()
	ts := startServer(t, Config{ModelURI: "http://" + ln.Addr().String() + "/m.onnx", SHA256: sum, MaxBatchSize: 1})
	rows := [][]float32{{0.1, 0.2, 0.3}}
	checkResponse(t, m, rows, post(t, ts.url+"/v2/models/model/infer", inferBody("h", rows)))
	if _, err := FetchModel(context.Background(), "http://"+ln.Addr().String()+"/missing", sum); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("missing model over HTTP: %v", err)
	}
	if _, err := FetchModel(context.Background(), "ftp://host/m.onnx", sum); err == nil || !strings.Contains(err.Error(), `scheme "ftp" not supported`) {
		t.Errorf("ftp URI: %v", err)
	}
}

// TestDynamicBatchingMergesConcurrentRequests holds 32 requests half-sent until the server has
// seen all of them arrive, then completes them: the batcher must merge their 64 rows into one
// onnxruntime run (the batch limit) and give each request its own rows back.
func TestDynamicBatchingMergesConcurrentRequests(t *testing.T) {
	m, uri, sum := testModel(t, 3)
	ts := startServer(t, Config{ModelURI: uri, SHA256: sum, MaxBatchSize: 64, MaxBatchDelay: 10 * time.Second})
	b := ts.exec.(*batcher)
	const clients = 32
	rng := rand.New(rand.NewPCG(2, 2))
	inputs := make([][][]float32, clients)
	writers := make([]*io.PipeWriter, clients)
	bodies := make([]string, clients)
	results := make([]inferResult, clients)
	var wg sync.WaitGroup
	for i := range clients {
		inputs[i] = randomRows(rng, 2, 3)
		bodies[i] = inferBody(strconv.Itoa(i), inputs[i])
		pr, pw := io.Pipe()
		writers[i] = pw
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Post(ts.url+"/v2/models/model/infer", "application/json", pr)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			results[i].status = resp.StatusCode
			if err := json.NewDecoder(resp.Body).Decode(&results[i].resp); err != nil {
				t.Error(err)
			}
		}()
		if _, err := pw.Write([]byte(bodies[i][:10])); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for b.arriving.Load() < clients {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d requests arrived", b.arriving.Load(), clients)
		}
		time.Sleep(time.Millisecond)
	}
	for i, pw := range writers {
		pw.Write([]byte(bodies[i][10:]))
		pw.Close()
	}
	wg.Wait()
	for i := range clients {
		checkResponse(t, m, inputs[i], results[i])
		if results[i].resp.ID != strconv.Itoa(i) {
			t.Fatalf("request %d got the answer of %s", i, results[i].resp.ID)
		}
	}
	resp, err := http.Get(ts.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	runs, _ := metricValue(string(text), `rai_inference_batch_rows_count{model="model"}`)
	rowsRun, _ := metricValue(string(text), `rai_inference_batch_rows_sum{model="model"}`)
	if rowsRun != 1+2*clients || runs != 2 {
		t.Errorf("%v rows in %v runs, want %d rows in 2 (the warm-up and one batch)", rowsRun, runs, 1+2*clients)
	}
}

func TestAuditLogRecordsEveryPredictionAndVerifies(t *testing.T) {
	_, uri, sum := testModel(t, 3)
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	rows := [][]float32{{1, 2, 3}, {4, 5, 6}}
	for run := range 2 { // the second server continues the chain
		ts := startServer(t, Config{ModelURI: uri, SHA256: sum, Name: "credit", AuditLogPath: path, MaxBatchSize: 16})
		for i := range 3 {
			post(t, ts.url+"/v2/models/credit/infer", inferBody(fmt.Sprintf("r%d-%d", run, i), rows))
		}
		post(t, ts.url+"/v2/models/credit/infer", `{"inputs":[`) // rejected: not audited
		ts.stop(t)
	}
	res, err := audit.VerifyFile(path)
	if err != nil || res.Entries != 6 {
		t.Fatalf("verify: %+v, %v", res, err)
	}
	data, _ := os.ReadFile(path)
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	var e audit.Entry
	if err := json.Unmarshal(lines[4], &e); err != nil {
		t.Fatal(err)
	}
	wantDigest := audit.InputDigest("features", "FP32", []int64{2, 3}, []float32{1, 2, 3, 4, 5, 6})
	if e.RequestID != "r1-1" || e.ModelName != "credit" || e.ModelSHA256 != sum || e.InputSHA256 != wantDigest || e.Rows != 2 ||
		len(e.Outputs) != 1 || e.Outputs[0].Count != 2 || e.RawInput != nil {
		t.Errorf("entry %+v", e)
	}
	if bytes.Contains(data, []byte(`"raw_input"`)) {
		t.Error("raw inputs logged without being asked for")
	}
	// One chain across the restart: seq 1..6, each entry naming the one before.
	prev := audit.GenesisHash
	for i, line := range lines {
		var e audit.Entry
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatal(err)
		}
		if e.Seq != uint64(i+1) || e.PrevHash != prev {
			t.Errorf("line %d: seq %d prev_hash %s, want seq %d prev_hash %s", i+1, e.Seq, e.PrevHash, i+1, prev)
		}
		prev = e.Hash
	}
	// Tampering with the file is caught at the changed line.
	tampered := bytes.Replace(data, []byte(`"request_id":"r0-2"`), []byte(`"request_id":"r0-9"`), 1)
	if _, err := audit.Verify(bytes.NewReader(tampered)); err == nil || !strings.Contains(err.Error(), "line 3 (seq 3)") {
		t.Errorf("tampered log: %v", err)
	}
}

func TestAuditHeadEndpoint(t *testing.T) {
	_, uri, sum := testModel(t, 3)
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	ts := startServer(t, Config{ModelURI: uri, SHA256: sum, AuditLogPath: path})
	var h audit.Head
	if code := getJSON(t, ts.url+"/v2/audit/head", &h); code != http.StatusOK || h != (audit.Head{Hash: audit.GenesisHash}) {
		t.Fatalf("head of a new log: %d %+v", code, h)
	}
	for i := range 3 {
		post(t, ts.url+"/v2/models/model/infer", inferBody(fmt.Sprint(i), [][]float32{{1, 2, 3}}))
	}
	if code := getJSON(t, ts.url+"/v2/audit/head", &h); code != http.StatusOK || h.Count != 3 {
		t.Fatalf("head: %d %+v", code, h)
	}
	ts.stop(t)
	res, err := audit.VerifyFile(path)
	if err != nil || res.Head() != h {
		t.Fatalf("the file's head %+v (%v), served %+v", res.Head(), err, h)
	}

	off := startServer(t, Config{ModelURI: uri, SHA256: sum})
	var e map[string]string
	if code := getJSON(t, off.url+"/v2/audit/head", &e); code != http.StatusNotFound || e["error"] == "" {
		t.Fatalf("head without an audit log: %d %v", code, e)
	}
}

// TestAuditLogBoundsClientRequestIDs: a client's request ID enters the log at most 128 bytes
// long; a longer one (here 100 KB) or one with control characters is logged as its digest.
func TestAuditLogBoundsClientRequestIDs(t *testing.T) {
	_, uri, sum := testModel(t, 3)
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	ts := startServer(t, Config{ModelURI: uri, SHA256: sum, AuditLogPath: path})
	long := strings.Repeat("x", 100<<10)
	ids := []string{long, "line\nbreak", "ok-42"}
	for _, id := range ids {
		r := post(t, ts.url+"/v2/models/model/infer", inferBody(id, [][]float32{{1, 2, 3}}))
		if r.status != http.StatusOK || r.resp.ID != id {
			t.Fatalf("response for a %d-byte id: %d, id of %d bytes", len(id), r.status, len(r.resp.ID))
		}
	}
	ts.stop(t)
	data, _ := os.ReadFile(path)
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	if len(lines) != 3 {
		t.Fatalf("%d lines", len(lines))
	}
	for i, line := range lines {
		if len(line) > 1024 {
			t.Errorf("line %d is %d bytes", i+1, len(line))
		}
		var e audit.Entry
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatal(err)
		}
		want := ids[i]
		if i < 2 {
			d := sha256.Sum256([]byte(ids[i]))
			want = "sha256:" + hex.EncodeToString(d[:])
		}
		if e.RequestID != want {
			t.Errorf("line %d: request_id %q, want %q", i+1, e.RequestID, want)
		}
	}
	if _, err := audit.VerifyFile(path); err != nil {
		t.Fatal(err)
	}
}

func TestServeRefusesAnAuditLogThatDoesNotVerify(t *testing.T) {
	_, uri, sum := testModel(t, 3)
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	ts := startServer(t, Config{ModelURI: uri, SHA256: sum, AuditLogPath: path})
	for i := range 3 {
		post(t, ts.url+"/v2/models/model/infer", inferBody(fmt.Sprint(i), [][]float32{{1, 2, 3}}))
	}
	ts.stop(t)
	data, _ := os.ReadFile(path)
	broken := bytes.Replace(data, []byte(`"request_id":"1"`), []byte(`"request_id":"7"`), 1)
	os.WriteFile(path, broken, 0o600)
	srv, err := New(Config{ModelURI: uri, SHA256: sum, AuditLogPath: path, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	err = srv.Load(context.Background())
	srv.Close()
	var be *audit.BrokenLogError
	if !errors.As(err, &be) || be.Err.Line != 2 || be.Err.Seq != 2 {
		t.Fatalf("Load with a broken log: %v", err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, broken) {
		t.Fatal("the broken log was changed")
	}
}

func TestAuditRawInputsOnlyWhenAsked(t *testing.T) {
	_, uri, sum := testModel(t, 3)
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	ts := startServer(t, Config{ModelURI: uri, SHA256: sum, AuditLogPath: path, AuditRawInputs: true})
	post(t, ts.url+"/v2/models/model/infer", inferBody("a", [][]float32{{1.5, 2, 3}}))
	ts.stop(t)
	data, _ := os.ReadFile(path)
	if !bytes.Contains(data, []byte(`"raw_input":[1.5,2,3]`)) {
		t.Errorf("raw input missing: %s", data)
	}
}

func TestGracefulShutdownDrainsRequestsInFlight(t *testing.T) {
	m, uri, sum := testModel(t, 3)
	ts := startServer(t, Config{ModelURI: uri, SHA256: sum, MaxBatchSize: 8})
	rows := [][]float32{{0.5, -1, 2}}
	body := inferBody("slow", rows)
	pr, pw := io.Pipe()
	type result struct {
		r   inferResult
		err error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Post(ts.url+"/v2/models/model/infer", "application/json", pr)
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		var r inferResult
		r.status = resp.StatusCode
		err = json.NewDecoder(resp.Body).Decode(&r.resp)
		got <- result{r: r, err: err}
	}()
	// Half the body is sent: the request is in flight when shutdown starts.
	if _, err := pw.Write([]byte(body[:len(body)/2])); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	ts.cancel()
	deadline := time.Now().Add(5 * time.Second)
	for ts.Ready() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if ts.Ready() {
		t.Fatal("still ready after shutdown began")
	}
	// New connections are refused while the request in flight finishes.
	time.Sleep(50 * time.Millisecond)
	if _, err := http.Get(ts.url + "/v2/health/live"); err == nil {
		t.Error("a new connection was accepted during shutdown")
	}
	pw.Write([]byte(body[len(body)/2:]))
	pw.Close()
	res := <-got
	if res.err != nil {
		t.Fatal(res.err)
	}
	checkResponse(t, m, rows, res.r)
	if err := <-ts.done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	ts.done <- nil
}
