package serving

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/responsible-ai/rmodel-operator/serving/audit"
	"github.com/responsible-ai/rmodel-operator/serving/inference"
)

// startGRPCServer runs a Server with REST and gRPC listeners until the test ends, waits until it
// is ready, and returns it with a gRPC client.
// grpcTestServer is a testServer with a gRPC health client.
type grpcTestServer struct {
	*testServer
	health healthpb.HealthClient
}

func startGRPCServer(t testing.TB, cfg Config) (*grpcTestServer, inference.GRPCInferenceServiceClient) {
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
	gln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{Server: srv, url: "http://" + ln.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { ts.done <- srv.Serve(ctx, ln, gln) }()
	conn, err := grpc.NewClient(gln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(); ts.stop(t) })
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
	return &grpcTestServer{ts, healthpb.NewHealthClient(conn)}, inference.NewGRPCInferenceServiceClient(conn)
}

func flat(rows [][]float32) []float32 {
	var out []float32
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}

func leBytes(v []float32) []byte {
	var b []byte
	for _, f := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
	}
	return b
}

func fromLE(t *testing.T, b []byte) []float32 {
	t.Helper()
	if len(b)%4 != 0 {
		t.Fatalf("%d bytes of FP32", len(b))
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func typedRequest(id string, rows [][]float32) *inference.ModelInferRequest {
	return &inference.ModelInferRequest{ModelName: "credit", Id: id, Inputs: []*inference.ModelInferRequest_InferInputTensor{{
		Name: "features", Datatype: "FP32", Shape: []int64{int64(len(rows)), int64(len(rows[0]))},
		Contents: &inference.InferTensorContents{Fp32Contents: flat(rows)},
	}}}
}

func rawRequest(id string, rows [][]float32) *inference.ModelInferRequest {
	r := typedRequest(id, rows)
	r.Inputs[0].Contents = nil
	r.RawInputContents = [][]byte{leBytes(flat(rows))}
	return r
}

// grpcOutputs returns the response's probability output values, typed or raw.
func grpcOutputs(t *testing.T, resp *inference.ModelInferResponse, rows int, raw bool) []float32 {
	t.Helper()
	if len(resp.Outputs) != 1 {
		t.Fatalf("outputs %v", resp.Outputs)
	}
	o := resp.Outputs[0]
	if o.Name != "probability" || o.Datatype != "FP32" || len(o.Shape) != 2 || o.Shape[0] != int64(rows) || o.Shape[1] != 1 {
		t.Fatalf("output %v for %d rows", o, rows)
	}
	if raw {
		if o.Contents != nil || len(resp.RawOutputContents) != 1 {
			t.Fatalf("raw answer: contents %v, %d raw outputs", o.Contents, len(resp.RawOutputContents))
		}
		return fromLE(t, resp.RawOutputContents[0])
	}
	if len(resp.RawOutputContents) != 0 {
		t.Fatalf("typed answer with raw outputs")
	}
	return o.GetContents().GetFp32Contents()
}

func TestGRPCServesTheSameModelAsREST(t *testing.T) {
	m, uri, sum := testModel(t, 3)
	for _, batch := range []int{1, 64} { // without and with dynamic batching
		t.Run(fmt.Sprintf("max-batch-size %d", batch), func(t *testing.T) {
			ts, c := startGRPCServer(t, Config{ModelURI: uri, SHA256: sum, Name: "credit", MaxBatchSize: batch, MaxBatchDelay: time.Millisecond, MaxBodyBytes: 4096})
			ctx := context.Background()
			if r, err := c.ServerLive(ctx, &inference.ServerLiveRequest{}); err != nil || !r.Live {
				t.Errorf("ServerLive: %v, %v", r, err)
			}
			if r, err := c.ServerReady(ctx, &inference.ServerReadyRequest{}); err != nil || !r.Ready {
				t.Errorf("ServerReady: %v, %v", r, err)
			}
			if r, err := c.ModelReady(ctx, &inference.ModelReadyRequest{Name: "credit"}); err != nil || !r.Ready {
				t.Errorf("ModelReady: %v, %v", r, err)
			}
			if r, err := c.ModelReady(ctx, &inference.ModelReadyRequest{Name: "credit", Version: "3"}); err != nil || !r.Ready {
				t.Errorf("ModelReady version 3: %v, %v", r, err)
			}
			for _, q := range []*inference.ModelReadyRequest{{Name: "other"}, {Name: "credit", Version: "9"}} {
				if _, err := c.ModelReady(ctx, q); status.Code(err) != codes.NotFound {
					t.Errorf("ModelReady %v: %v, want NotFound", q, err)
				}
			}
			md, err := c.ModelMetadata(ctx, &inference.ModelMetadataRequest{Name: "credit"})
			if err != nil || md.Name != "credit" || md.Platform != "onnxruntime_onnx" || len(md.Versions) != 1 || md.Versions[0] != "3" ||
				len(md.Inputs) != 1 || md.Inputs[0].Name != "features" || md.Inputs[0].Datatype != "FP32" || fmt.Sprint(md.Inputs[0].Shape) != "[-1 3]" ||
				len(md.Outputs) != 1 || md.Outputs[0].Name != "probability" {
				t.Errorf("ModelMetadata: %v, %v", md, err)
			}
			if _, err := c.ModelMetadata(ctx, &inference.ModelMetadataRequest{Name: "other"}); status.Code(err) != codes.NotFound {
				t.Errorf("ModelMetadata other: %v", err)
			}
			if sm, err := c.ServerMetadata(ctx, &inference.ServerMetadataRequest{}); err != nil || sm.Name != "rai" || fmt.Sprint(sm.Extensions) != "[binary_tensor_data]" {
				t.Errorf("ServerMetadata: %v, %v", sm, err)
			}
			// Kubernetes' gRPC probes ask the standard health service.
			for _, svc := range []string{"", "inference.GRPCInferenceService"} {
				if h, err := ts.health.Check(ctx, &healthpb.HealthCheckRequest{Service: svc}); err != nil || h.Status != healthpb.HealthCheckResponse_SERVING {
					t.Errorf("health %q: %v, %v", svc, h, err)
				}
			}
			if _, err := ts.health.Check(ctx, &healthpb.HealthCheckRequest{Service: "other"}); status.Code(err) != codes.NotFound {
				t.Errorf("health of another service: %v", err)
			}

			rng := rand.New(rand.NewPCG(2, 2))
			good := func() {
				t.Helper()
				rows := randomRows(rng, 5, 3)
				rest := post(t, ts.url+"/v2/models/credit/infer", inferBody("rest", rows))
				checkResponse(t, m, rows, rest)
				for _, raw := range []bool{false, true} {
					req := typedRequest("req-1", rows)
					if raw {
						req = rawRequest("req-1", rows)
					}
					resp, err := c.ModelInfer(ctx, req)
					if err != nil {
						t.Fatalf("ModelInfer (raw %v): %v", raw, err)
					}
					if resp.Id != "req-1" || resp.ModelName != "credit" || resp.ModelVersion != "3" {
						t.Fatalf("response fields %v", resp)
					}
					got := grpcOutputs(t, resp, len(rows), raw)
					for i := range rows {
						if got[i] != rest.resp.Outputs[0].Data[i] {
							t.Fatalf("raw %v, row %d: gRPC %v, REST %v", raw, i, got[i], rest.resp.Outputs[0].Data[i])
						}
					}
				}
			}
			good()

			bad := []struct {
				name string
				req  func() *inference.ModelInferRequest
				code codes.Code
				want string
			}{
				{"wrong shape", func() *inference.ModelInferRequest {
					r := typedRequest("x", randomRows(rng, 2, 3))
					r.Inputs[0].Shape = []int64{2, 4}
					return r
				}, codes.InvalidArgument, "dimension 1 must be 3"},
				{"wrong datatype", func() *inference.ModelInferRequest {
					r := typedRequest("x", randomRows(rng, 2, 3))
					r.Inputs[0].Datatype = "INT64"
					return r
				}, codes.InvalidArgument, `datatype "INT64"`},
				{"typed size mismatch", func() *inference.ModelInferRequest {
					r := typedRequest("x", randomRows(rng, 2, 3))
					r.Inputs[0].Shape = []int64{3, 3}
					return r
				}, codes.InvalidArgument, "holds 9 values, fp32_contents has 6"},
				{"raw size mismatch", func() *inference.ModelInferRequest {
					r := rawRequest("x", randomRows(rng, 2, 3))
					r.RawInputContents[0] = r.RawInputContents[0][:23]
					return r
				}, codes.InvalidArgument, "raw_input_contents has 23 bytes"},
				{"raw and typed", func() *inference.ModelInferRequest {
					r := rawRequest("x", randomRows(rng, 2, 3))
					r.Inputs[0].Contents = &inference.InferTensorContents{Fp32Contents: make([]float32, 6)}
					return r
				}, codes.InvalidArgument, "both contents and raw_input_contents"},
				{"NaN", func() *inference.ModelInferRequest {
					r := typedRequest("x", [][]float32{{1, float32(math.NaN()), 3}})
					return r
				}, codes.InvalidArgument, "not a finite float32"},
				{"no data", func() *inference.ModelInferRequest {
					r := typedRequest("x", randomRows(rng, 1, 3))
					r.Inputs[0].Contents = nil
					return r
				}, codes.InvalidArgument, "missing data"},
				{"wrong contents field", func() *inference.ModelInferRequest {
					r := typedRequest("x", randomRows(rng, 1, 3))
					r.Inputs[0].Contents = &inference.InferTensorContents{Int64Contents: []int64{1, 2, 3}}
					return r
				}, codes.InvalidArgument, "another datatype"},
				{"unknown input", func() *inference.ModelInferRequest {
					r := typedRequest("x", randomRows(rng, 1, 3))
					r.Inputs[0].Name = "pixels"
					return r
				}, codes.InvalidArgument, `unknown input "pixels"`},
				{"unknown output", func() *inference.ModelInferRequest {
					r := typedRequest("x", randomRows(rng, 1, 3))
					r.Outputs = []*inference.ModelInferRequest_InferRequestedOutputTensor{{Name: "logits"}}
					return r
				}, codes.InvalidArgument, `unknown output "logits"`},
				{"unknown model", func() *inference.ModelInferRequest {
					r := typedRequest("x", randomRows(rng, 1, 3))
					r.ModelName = "other"
					return r
				}, codes.NotFound, `unknown model "other"`},
				{"unknown version", func() *inference.ModelInferRequest {
					r := typedRequest("x", randomRows(rng, 1, 3))
					r.ModelVersion = "9"
					return r
				}, codes.NotFound, `version "9"`},
				{"too large", func() *inference.ModelInferRequest {
					return rawRequest("x", randomRows(rng, 400, 3))
				}, codes.ResourceExhausted, ""},
			}
			for _, tc := range bad {
				_, err := c.ModelInfer(ctx, tc.req())
				if status.Code(err) != tc.code || !strings.Contains(status.Convert(err).Message(), tc.want) {
					t.Errorf("%s: %v, want %s containing %q", tc.name, err, tc.code, tc.want)
				}
				good() // the server keeps serving
			}
			// More rows than a batch holds: served on its own.
			rows := randomRows(rng, 70, 3)
			resp, err := c.ModelInfer(ctx, rawRequest("many", rows))
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range grpcOutputs(t, resp, 70, true) {
				if want := m.Predict(rows[i]); math.Abs(float64(v)-want) > 1e-5 {
					t.Fatalf("row %d: %v, want %v", i, v, want)
				}
			}
			// Without an id the server makes one.
			if resp, err := c.ModelInfer(ctx, typedRequest("", rows[:1])); err != nil || len(resp.Id) != 32 {
				t.Errorf("generated id: %v, %v", resp, err)
			}
			// gRPC requests are counted with REST's, by the HTTP status they stand for.
			text := metricsText(t, ts.url)
			if v, _ := metricValue(text, `rai_inference_errors_total{code="400",model="credit",reason="bad_request"}`); v < 10 {
				t.Errorf("bad requests counted %v", v)
			}
		})
	}
}

func metricsText(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestGRPCPredictionsAreAuditedAsRESTOnes(t *testing.T) {
	_, uri, sum := testModel(t, 3)
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	ts, c := startGRPCServer(t, Config{ModelURI: uri, SHA256: sum, Name: "credit", AuditLogPath: path, MaxBatchSize: 16})
	rows := [][]float32{{1, 2, 3}, {4, 5, 6}}
	post(t, ts.url+"/v2/models/credit/infer", inferBody("rest", rows))
	if _, err := c.ModelInfer(context.Background(), typedRequest("typed", rows)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ModelInfer(context.Background(), rawRequest("raw", rows)); err != nil {
		t.Fatal(err)
	}
	bad := typedRequest("bad", rows)
	bad.Inputs[0].Shape = []int64{1, 3}
	if _, err := c.ModelInfer(context.Background(), bad); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("bad request: %v", err)
	}
	ts.stop(t)
	res, err := audit.VerifyFile(path)
	if err != nil || res.Entries != 3 {
		t.Fatalf("verify: %+v, %v", res, err)
	}
	data, _ := os.ReadFile(path)
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	var entries [3]audit.Entry
	for i := range entries {
		if err := json.Unmarshal(lines[i], &entries[i]); err != nil {
			t.Fatal(err)
		}
	}
	for i, id := range []string{"rest", "typed", "raw"} {
		e := entries[i]
		if e.RequestID != id || e.InputSHA256 != entries[0].InputSHA256 || e.Rows != 2 || fmt.Sprint(e.Outputs) != fmt.Sprint(entries[0].Outputs) {
			t.Errorf("entry %d %+v, want %q like the REST entry %+v", i, e, id, entries[0])
		}
	}
}

// binaryPost posts a REST request with binary tensor data: header JSON, then data.
func binaryPost(t *testing.T, url string, header []byte, data []byte, headerLen string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(append(append([]byte(nil), header...), data...)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set(InferenceHeaderContentLength, headerLen)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

func TestRESTBinaryTensorExtension(t *testing.T) {
	m, uri, sum := testModel(t, 3)
	ts := startServer(t, Config{ModelURI: uri, SHA256: sum, Name: "credit", MaxBatchSize: 16})
	infer := ts.url + "/v2/models/credit/infer"
	rows := randomRows(rand.New(rand.NewPCG(3, 3)), 4, 3)
	data := leBytes(flat(rows))
	header := func(size int, params string) []byte {
		return []byte(fmt.Sprintf(`{"id":"bin","parameters":{%s},"inputs":[{"name":"features","shape":[4,3],"datatype":"FP32","parameters":{"binary_data_size":%d}}]}`, params, size))
	}

	// Binary in, binary out.
	h := header(len(data), `"binary_data_output":true`)
	resp, body := binaryPost(t, infer, h, data, strconv.Itoa(len(h)))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("binary request: %d %s", resp.StatusCode, body)
	}
	n, err := strconv.Atoi(resp.Header.Get(InferenceHeaderContentLength))
	if err != nil || n > len(body) {
		t.Fatalf("answer's %s %q for %d bytes", InferenceHeaderContentLength, resp.Header.Get(InferenceHeaderContentLength), len(body))
	}
	var ir InferResponse
	if err := json.Unmarshal(body[:n], &ir); err != nil {
		t.Fatalf("answer's JSON %s: %v", body[:n], err)
	}
	if len(ir.Outputs) != 1 || ir.Outputs[0].Data != nil || fmt.Sprint(ir.Outputs[0].Parameters["binary_data_size"]) != "16" || len(body)-n != 16 {
		t.Fatalf("answer %s + %d bytes", body[:n], len(body)-n)
	}
	got := fromLE(t, body[n:])
	for i, row := range rows {
		if want := m.Predict(row); math.Abs(float64(got[i])-want) > 1e-5 {
			t.Fatalf("row %d: %v, want %v", i, got[i], want)
		}
	}

	// Binary in, JSON out: the same answer as a JSON request's.
	h = header(len(data), "")
	resp, body = binaryPost(t, infer, h, data, strconv.Itoa(len(h)))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("binary request, JSON answer: %d %s", resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, &ir); err != nil {
		t.Fatal(err)
	}
	checkResponse(t, m, rows, inferResult{status: 200, resp: ir})

	// JSON in, one output asked as binary.
	jsonReq := fmt.Sprintf(`{"inputs":[{"name":"features","shape":[4,3],"datatype":"FP32","data":%s}],"outputs":[{"name":"probability","parameters":{"binary_data":true}}]}`, mustJSON(flat(rows)))
	req, _ := http.NewRequest(http.MethodPost, infer, strings.NewReader(jsonReq))
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(r2.Body)
	r2.Body.Close()
	if n, err := strconv.Atoi(r2.Header.Get(InferenceHeaderContentLength)); r2.StatusCode != 200 || err != nil || len(body)-n != 16 {
		t.Fatalf("binary output of a JSON request: %d, header %q, %d bytes", r2.StatusCode, r2.Header.Get(InferenceHeaderContentLength), len(body))
	}

	// Malformed requests get 400 and the server keeps serving.
	h = header(len(data), "")
	for _, tc := range []struct {
		name, headerLen string
		header, data    []byte
		want            string
	}{
		{"header length not a number", "abc", h, data, InferenceHeaderContentLength},
		{"header length negative", "-1", h, data, InferenceHeaderContentLength},
		{"header length past the body", strconv.Itoa(len(h) + len(data) + 1), h, data, InferenceHeaderContentLength},
		{"header length cuts the JSON", strconv.Itoa(len(h) - 3), h, data, "invalid JSON"},
		{"binary size mismatch", strconv.Itoa(len(h)), h, data[:20], "binary_data_size 48, but 20 bytes"},
		{"binary size not the shape's", "", header(20, ""), data[:20], "holds 12 FP32 values (48 bytes)"},
		{"bad binary_data_size", "", []byte(`{"inputs":[{"name":"features","shape":[4,3],"datatype":"FP32","parameters":{"binary_data_size":"x"}}]}`), data, "non-negative integer"},
	} {
		hl := tc.headerLen
		if hl == "" {
			hl = strconv.Itoa(len(tc.header))
		}
		resp, body := binaryPost(t, infer, tc.header, tc.data, hl)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), tc.want) {
			t.Errorf("%s: %d %s, want 400 containing %q", tc.name, resp.StatusCode, body, tc.want)
		}
		checkResponse(t, m, rows, post(t, infer, inferBody("after", rows)))
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestShutdownWithGRPCDrainsRESTAndStopsGRPC(t *testing.T) {
	m, uri, sum := testModel(t, 3)
	ts, c := startGRPCServer(t, Config{ModelURI: uri, SHA256: sum, Name: "credit", MaxBatchSize: 8})
	rows := [][]float32{{0.5, -1, 2}}
	if _, err := c.ModelInfer(context.Background(), typedRequest("before", rows)); err != nil {
		t.Fatal(err)
	}
	body := inferBody("slow", rows)
	pr, pw := io.Pipe()
	got := make(chan inferResult, 1)
	go func() {
		resp, err := http.Post(ts.url+"/v2/models/credit/infer", "application/json", pr)
		if err != nil {
			got <- inferResult{errMsg: err.Error()}
			return
		}
		defer resp.Body.Close()
		r := inferResult{status: resp.StatusCode}
		json.NewDecoder(resp.Body).Decode(&r.resp)
		got <- r
	}()
	if _, err := pw.Write([]byte(body[:len(body)/2])); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	ts.cancel()
	deadline := time.Now().Add(5 * time.Second)
	for ts.Ready() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	// Shutting down: gRPC health is not SERVING (or the connection is already going away).
	if h, err := ts.health.Check(context.Background(), &healthpb.HealthCheckRequest{}); err == nil && h.Status == healthpb.HealthCheckResponse_SERVING {
		t.Error("gRPC health SERVING during shutdown")
	}
	pw.Write([]byte(body[len(body)/2:]))
	pw.Close()
	checkResponse(t, m, rows, <-got)
	if err := <-ts.done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	ts.done <- nil
	if _, err := c.ModelInfer(context.Background(), typedRequest("after", rows)); status.Code(err) != codes.Unavailable {
		t.Errorf("gRPC after shutdown: %v, want Unavailable", err)
	}
}

func TestGRPCRequestsAreMonitoredAsRESTOnes(t *testing.T) {
	_, uri, sum := monitoredModel(t, "income", "debt", "region_score")
	clock := &fakeClock{t: time.Date(2026, 12, 1, 10, 0, 30, 0, time.UTC)}
	ts, c := startGRPCServer(t, Config{ModelURI: uri, SHA256: sum, Name: "credit", MaxBatchSize: 1,
		Monitoring: MonitoringConfig{Enabled: true, Now: clock.Now}})
	rows := [][]float32{{1, 2, 3}, {-1, 0, 1}}
	for i, g := range []string{"female", "female", "male"} {
		req := rawRequest(fmt.Sprint("g", i), rows)
		req.Parameters = map[string]*inference.InferParameter{"group": {ParameterChoice: &inference.InferParameter_StringParam{StringParam: g}}}
		if _, err := c.ModelInfer(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	post(t, ts.url+"/v2/models/credit/infer", `{"parameters":{"group":"male"},"inputs":[{"name":"features","shape":[2,3],"datatype":"FP32","data":[1,2,3,-1,0,1]}]}`)
	s := snapshotOf(t, ts.testServer, "")
	got := map[string]int64{}
	for _, g := range s.Windows[0].Groups {
		got[g.Name] = g.Predictions
	}
	if got["female"] != 4 || got["male"] != 4 {
		t.Errorf("predictions by group %v, want female 4 and male 4 (gRPC and REST alike)", got)
	}
}
