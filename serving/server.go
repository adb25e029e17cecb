package serving

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"

	"github.com/responsible-ai/rmodel-operator/internal/contract"
	"github.com/responsible-ai/rmodel-operator/internal/onnx"
	"github.com/responsible-ai/rmodel-operator/serving/audit"
)

// Config configures a Server. ModelURI and SHA256 are required.
type Config struct {
	// ModelURI is file:///path, http://... or https://...; SHA256 its expected hex digest.
	ModelURI string
	SHA256   string
	// Name is the model name in the API paths; "" means "model".
	Name string
	// ModelVersion is the version reported; "" takes the ONNX model_version when set, else "1".
	ModelVersion string
	// Device and LibraryPath select the execution provider and the onnxruntime library.
	Device      onnx.Device
	LibraryPath string
	// IntraOpThreads per onnxruntime run; 0 means 1, right for small tabular models (more threads
	// cost more in synchronisation than they save, and compete with the HTTP goroutines).
	IntraOpThreads int
	// MaxBatchSize is the most rows one dynamic batch holds; ≤ 1 turns dynamic batching off and
	// runs each request on its own (Workers of them at a time).
	MaxBatchSize int
	// MaxBatchDelay is how long a batch may wait for requests already on their way.
	MaxBatchDelay time.Duration
	// Workers is the number of concurrent runs without batching; 0 means GOMAXPROCS.
	Workers int
	// MaxBodyBytes bounds a request body; 0 means 16 MiB.
	MaxBodyBytes int64
	// Limits bound each connection's header, request and idle time and the header's size.
	Limits Limits
	// AuditLogPath, when set, is the hash-chained audit log; AuditRawInputs adds raw inputs to it.
	// An existing log is verified and continued; one that does not verify stops Load, unless
	// AuditLogRotateBroken, which moves it aside and starts a new chain (audit.Open).
	AuditLogPath         string
	AuditRawInputs       bool
	AuditLogRotateBroken bool
	// Monitoring configures the live monitoring aggregates and endpoints (off unless Enabled).
	Monitoring MonitoringConfig
	// Task is the model's task: "" or contract.TaskBinaryClassification for the tabular models
	// above, contract.TaskTextClassification or TaskTokenClassification for a text model
	// (text.go), which needs TokenizerURI and TokenizerSHA256 (its tokenizer.json, fetched and
	// digest-checked as the model is); Labels and MaxLength override the model's metadata
	// (textmodel.Options), MaxTextBytes bounds one text (0: 64 KiB). Monitoring and
	// AuditRawInputs are refused for a text model.
	Task            string
	TokenizerURI    string
	TokenizerSHA256 string
	Labels          []string
	MaxLength       int
	MaxTextBytes    int
	// DrainTimeout bounds the graceful shutdown; 0 means 30s.
	DrainTimeout time.Duration
	// ServerVersion is reported at /v2.
	ServerVersion string
	Logger        *slog.Logger
}

// Server is an OIP v2 server for one model. Create it with New, serve Handler (or call Run), and
// Load the model; it reports ready only after the model loaded and answered a warm-up inference.
type Server struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	mux     *http.ServeMux
	ready   atomic.Bool
	loaded  atomic.Bool

	// Set by Load, read-only afterwards.
	sess      *onnx.Session
	spec      InputSpec
	outShapes [][]int64 // output dims after the batch one
	exec      executor
	audit     *audit.Log
	monitor   *monitor     // nil when monitoring is off
	text      *textServing // nil for a tabular model
	modelSHA  string
	version   string
	meta      ModelMetadata
}

// New checks cfg and builds a Server with no model loaded yet.
func New(cfg Config) (*Server, error) {
	if cfg.ModelURI == "" {
		return nil, errors.New("a model URI is required")
	}
	if b, err := hex.DecodeString(cfg.SHA256); err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("the model's sha256 is required as 64 hexadecimal digits, got %q", cfg.SHA256)
	}
	if cfg.Name == "" {
		cfg.Name = "model"
	}
	if err := cfg.checkTask(); err != nil {
		return nil, err
	}
	dev, err := onnx.ParseDevice(string(cfg.Device))
	if err != nil {
		return nil, err
	}
	cfg.Device = dev
	if cfg.IntraOpThreads == 0 {
		cfg.IntraOpThreads = 1
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 16 << 20
	}
	if cfg.DrainTimeout == 0 {
		cfg.DrainTimeout = 30 * time.Second
	}
	if cfg.MaxBatchDelay < 0 {
		return nil, fmt.Errorf("max batch delay %v is negative", cfg.MaxBatchDelay)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, log: cfg.Logger, metrics: newMetrics(cfg.Name), mux: http.NewServeMux()}
	s.monitor = newMonitor(cfg.Monitoring, s.metrics)
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /v2", s.handleServerMetadata)
	s.mux.HandleFunc("GET /v2/health/live", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]bool{"live": true})
	})
	s.mux.HandleFunc("GET /v2/health/ready", s.handleReady)
	s.mux.HandleFunc("GET "+contract.AuditHeadPath, s.handleAuditHead)
	s.mux.HandleFunc("GET /v2/models/{name}", s.handleModelMetadata)
	s.mux.HandleFunc("GET /v2/models/{name}/versions/{version}", s.handleModelMetadata)
	s.mux.HandleFunc("GET /v2/models/{name}/ready", s.handleModelReady)
	s.mux.HandleFunc("GET /v2/models/{name}/versions/{version}/ready", s.handleModelReady)
	s.mux.HandleFunc("POST /v2/models/{name}/infer", s.handleInfer)
	s.mux.HandleFunc("POST /v2/models/{name}/versions/{version}/infer", s.handleInfer)
	for _, path := range []string{"/v2/models/{name}/infer", "/v2/models/{name}/versions/{version}/infer"} {
		s.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed: infer takes POST", r.Method))
		})
	}
	s.routeMonitoring()
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{}))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path))
	})
}

// Handler is the server's HTTP handler; it answers before Load (live, not ready).
func (s *Server) Handler() http.Handler { return s.mux }

// Ready reports whether the model is loaded, warmed up and not shutting down.
func (s *Server) Ready() bool { return s.ready.Load() }

// Load opens (verifies and continues) the audit log, fetches the model, refuses it unless its
// sha256 matches, creates the session and the executor, runs a warm-up inference and then marks
// the server ready.
func (s *Server) Load(ctx context.Context) error {
	if s.cfg.AuditLogPath != "" {
		if err := s.openAudit(); err != nil {
			return err
		}
	}
	data, err := FetchModel(ctx, s.cfg.ModelURI, s.cfg.SHA256)
	if err != nil {
		return err
	}
	s.modelSHA = hexSHA(s.cfg.SHA256)
	if isTextTask(s.cfg.Task) {
		return s.loadText(ctx, data)
	}
	sess, err := onnx.Load(data, onnx.Options{LibraryPath: s.cfg.LibraryPath, Device: s.cfg.Device, IntraOpThreads: s.cfg.IntraOpThreads})
	if err != nil {
		return fmt.Errorf("load model %q: %w", s.cfg.ModelURI, err)
	}
	s.sess = sess
	if err := s.describe(); err != nil {
		return fmt.Errorf("model %q: %w", s.cfg.ModelURI, err)
	}
	if s.monitor != nil {
		if err := s.monitor.start(s.cfg.Name, s.version, s.modelSHA, s.spec, s.outShapes, sess.Metadata().Custom); err != nil {
			return fmt.Errorf("monitoring: %w", err)
		}
	}
	observe := func(rows int) { s.metrics.batch.Observe(float64(rows)) }
	if s.cfg.MaxBatchSize > 1 {
		s.exec, err = newBatcher(sess, s.cfg.MaxBatchSize, s.cfg.MaxBatchDelay, observe)
	} else {
		s.exec, err = newPool(sess, s.cfg.Workers, 1024, observe)
	}
	if err != nil {
		return fmt.Errorf("model %q: %w", s.cfg.ModelURI, err)
	}
	s.loaded.Store(true)
	// Warm-up: one row of zeros through the same path requests take (not audited).
	s.exec.arrive()
	if _, err := s.exec.infer(make([]float32, s.spec.rowSize()), 1); err != nil {
		return fmt.Errorf("warm-up inference: %w", err)
	}
	s.ready.Store(true)
	s.metrics.ready.Set(1)
	s.log.Info("model ready", "model", s.cfg.Name, "version", s.version, "sha256", s.modelSHA,
		"device", sess.Device(), "input", s.spec.Name, "shape", s.spec.Shape, "max_batch_size", s.cfg.MaxBatchSize,
		"max_batch_delay", s.cfg.MaxBatchDelay.String(), "onnxruntime", onnx.LibraryPath())
	return nil
}

// openAudit opens the audit log and says in the server's log what it found.
func (s *Server) openAudit() error {
	path := s.cfg.AuditLogPath
	l, op, err := audit.Open(path, audit.Options{RotateBroken: s.cfg.AuditLogRotateBroken})
	if err != nil {
		return err
	}
	s.audit = l
	if op.Rotated != nil {
		s.log.Warn("audit log did not verify: moved it aside and started a new chain", "path", path,
			"moved_to", op.Rotated.PreviousLog, "reason", op.Rotated.Reason,
			"verified_entries", op.Rotated.PreviousEntries, "last_good_hash", op.Rotated.PreviousHash)
	}
	if op.Torn != nil {
		s.log.Warn("audit log: the last line was incomplete (a write cut short by a crash): truncated it, continuing from the last complete entry",
			"path", path, "line", op.Torn.Line, "bytes_cut", op.Torn.Bytes, "entries", op.Entries)
	}
	h := l.Head()
	s.log.Info("audit log open", "path", path, "continued_entries", op.Entries, "count", h.Count, "hash", h.Hash, "genesis", h.Genesis)
	return nil
}

func hexSHA(s string) string {
	b, _ := hex.DecodeString(s)
	return hex.EncodeToString(b)
}

// describe checks the model is one the server can serve and prepares the metadata answer.
func (s *Server) describe() error {
	if _, _, err := s.sess.FeatureShape(); err != nil {
		return err
	}
	in := s.sess.Inputs()[0]
	s.spec = InputSpec{Name: in.Name, Shape: in.Shape}
	s.version = s.cfg.ModelVersion
	if s.version == "" {
		s.version = "1"
		if v := s.sess.Metadata().Version; v > 0 {
			s.version = strconv.FormatInt(v, 10)
		}
	}
	s.meta = ModelMetadata{
		Name: s.cfg.Name, Versions: []string{s.version}, Platform: "onnxruntime_onnx",
		Inputs: []TensorMetadata{{Name: in.Name, Datatype: string(in.DataType), Shape: in.Shape}},
	}
	for _, o := range s.sess.Outputs() {
		if o.DataType != onnx.FP32 {
			return fmt.Errorf("output %q has element type %s; the server serves FP32 outputs", o.Name, o.DataType)
		}
		s.spec.Outputs = append(s.spec.Outputs, o.Name)
		s.outShapes = append(s.outShapes, o.Shape[1:])
		s.meta.Outputs = append(s.meta.Outputs, TensorMetadata{Name: o.Name, Datatype: string(o.DataType), Shape: o.Shape})
	}
	return nil
}

// Close releases the executor, audit log and session. Call it after the HTTP server drained.
func (s *Server) Close() error {
	s.ready.Store(false)
	s.metrics.ready.Set(0)
	var errs []error
	if s.exec != nil {
		s.exec.close()
		s.exec = nil
	}
	if s.text != nil && s.text.exec != nil {
		s.text.exec.close()
	}
	if s.audit != nil {
		errs = append(errs, s.audit.Close())
	}
	if s.sess != nil {
		errs = append(errs, s.sess.Close())
	}
	return errors.Join(errs...)
}

// Run serves REST on ln until ctx is done; it is Serve without gRPC.
func (s *Server) Run(ctx context.Context, ln net.Listener) error { return s.Serve(ctx, ln, nil) }

// Serve serves REST on ln and, when grpcLn is not nil, the OIP v2 gRPC API on grpcLn, until ctx is
// done, then shuts down gracefully: it reports not ready, stops accepting connections, lets the
// requests in flight finish (up to DrainTimeout) and closes. The listeners are up before the
// model loads (live, not ready); a load failure stops the server and is returned.
func (s *Server) Serve(ctx context.Context, ln, grpcLn net.Listener) error {
	hs := s.cfg.Limits.httpServer(s.mux)
	serveErr := make(chan error, 2)
	go func() { serveErr <- hs.Serve(ln) }()
	servers := 1
	var gs *grpc.Server
	if grpcLn != nil {
		gs = s.newGRPCServer()
		servers++
		go func() { serveErr <- gs.Serve(grpcLn) }()
	}
	stopAll := func() {
		hs.Close()
		if gs != nil {
			gs.Stop()
		}
		for range servers {
			<-serveErr
		}
	}
	if err := s.Load(ctx); err != nil {
		stopAll()
		s.Close()
		return err
	}
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		servers--
		stopAll()
		s.Close()
		return fmt.Errorf("serve: %w", err)
	}
	s.ready.Store(false)
	s.log.Info("shutting down: draining requests in flight", "timeout", s.cfg.DrainTimeout)
	drainCtx, cancel := context.WithTimeout(context.Background(), s.cfg.DrainTimeout)
	defer cancel()
	// gRPC drains beside HTTP; Serve returns as soon as GracefulStop starts, so the executor
	// closes only once grpcDrained says the RPCs in flight finished.
	grpcDrained := make(chan struct{})
	go func() {
		defer close(grpcDrained)
		if gs == nil {
			return
		}
		stopped := make(chan struct{})
		go func() { gs.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-drainCtx.Done():
			gs.Stop()
			<-stopped
		}
	}()
	err := hs.Shutdown(drainCtx)
	<-grpcDrained
	for range servers {
		<-serveErr
	}
	return errors.Join(err, s.Close())
}

func (s *Server) handleServerMetadata(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, ServerMetadata{Name: "rai", Version: s.cfg.ServerVersion, Extensions: Extensions()})
}

// handleAuditHead answers the audit log's head: {"count":N,"hash":"…","genesis":"…"}.
func (s *Server) handleAuditHead(w http.ResponseWriter, _ *http.Request) {
	switch {
	case s.cfg.AuditLogPath == "":
		writeError(w, http.StatusNotFound, "this server keeps no audit log")
	case !s.loaded.Load():
		writeError(w, http.StatusServiceUnavailable, "the audit log is not open yet")
	default:
		writeJSON(w, http.StatusOK, s.audit.Head())
	}
}

func (s *Server) handleReady(w http.ResponseWriter, _ *http.Request) {
	if !s.ready.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ready": true})
}

// checkModel answers 404 for another model or version and 503 before the model is loaded.
func (s *Server) checkModel(w http.ResponseWriter, r *http.Request) bool {
	if f := s.modelFailure(r.PathValue("name"), r.PathValue("version")); f != nil {
		writeError(w, f.status, f.msg)
		return false
	}
	return true
}

// failure is a request the server could not answer: the HTTP status (gRPC maps it to a code), a
// short reason for the errors metric, and the message the client reads.
type failure struct {
	status      int
	reason, msg string
}

// modelFailure says why a request for model name (version "" for any) cannot be served: another
// model or version (404) or a model not loaded yet (503); nil when it can.
func (s *Server) modelFailure(name, version string) *failure {
	if name != s.cfg.Name {
		return &failure{http.StatusNotFound, "unknown_model", fmt.Sprintf("unknown model %q: this server serves %q", name, s.cfg.Name)}
	}
	if !s.loaded.Load() {
		return &failure{http.StatusServiceUnavailable, "not_ready", fmt.Sprintf("model %q is not loaded yet", s.cfg.Name)}
	}
	if version != "" && version != s.version {
		return &failure{http.StatusNotFound, "unknown_model", fmt.Sprintf("unknown version %q of model %q: this server serves version %q", version, s.cfg.Name, s.version)}
	}
	return nil
}

func (s *Server) handleModelMetadata(w http.ResponseWriter, r *http.Request) {
	if s.checkModel(w, r) {
		writeJSON(w, http.StatusOK, s.meta)
	}
}

func (s *Server) handleModelReady(w http.ResponseWriter, r *http.Request) {
	if !s.checkModel(w, r) {
		return
	}
	status := http.StatusOK
	if !s.ready.Load() {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, map[string]any{"name": s.cfg.Name, "ready": status == http.StatusOK})
}

func (s *Server) handleInfer(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	status, reason := s.infer(w, r)
	s.observeRequest(start, status, reason)
}

// observeRequest counts one answered infer request, REST or gRPC (whose code is mapped to the
// HTTP status it stands for), in the requests, latency and errors metrics.
func (s *Server) observeRequest(start time.Time, status int, reason string) {
	code := strconv.Itoa(status)
	s.metrics.requests.WithLabelValues(code).Inc()
	s.metrics.latency.WithLabelValues(code).Observe(time.Since(start).Seconds())
	if status >= 400 {
		s.metrics.errors.WithLabelValues(code, reason).Inc()
	}
}

// infer serves one infer request and returns the status it answered and, for an error, a short
// reason for the errors metric.
func (s *Server) infer(w http.ResponseWriter, r *http.Request) (int, string) {
	fail := func(f *failure) (int, string) {
		writeError(w, f.status, f.msg)
		return f.status, f.reason
	}
	if f := s.modelFailure(r.PathValue("name"), r.PathValue("version")); f != nil {
		return fail(f)
	}
	var leave func()
	if s.text != nil {
		s.text.exec.arrive()
		leave = s.text.exec.leave
	} else {
		s.exec.arrive()
		leave = s.exec.leave
	}
	submitted := false
	defer func() {
		if !submitted {
			leave()
		}
	}()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", s.cfg.MaxBodyBytes))
			return http.StatusRequestEntityTooLarge, "body_too_large"
		}
		writeError(w, http.StatusBadRequest, fmt.Sprintf("read request body: %v", err))
		return http.StatusBadRequest, "read_body"
	}
	if s.text != nil {
		submitted = true // inferTextHTTP leaves when it does not submit
		return s.inferTextHTTP(w, body, r.Header)
	}
	req, err := decodeHTTPInferRequest(r.Header, body, &s.spec)
	if err != nil {
		var re *RequestError
		if errors.As(err, &re) {
			writeError(w, re.Status, re.Message)
			return re.Status, "bad_request"
		}
		writeError(w, http.StatusBadRequest, err.Error())
		return http.StatusBadRequest, "bad_request"
	}
	submitted = true
	outs, f := s.run(req)
	if f != nil {
		return fail(f)
	}
	resp := InferResponse{ModelName: s.cfg.Name, ModelVersion: s.version, ID: req.ID}
	if resp.ID == "" {
		resp.ID = newRequestID()
	}
	for i, name := range s.spec.Outputs {
		if req.Outputs != nil && !contains(req.Outputs, name) {
			continue
		}
		resp.Outputs = append(resp.Outputs, ResponseOutput{
			Name: name, Shape: append([]int64{int64(req.Rows)}, s.outShapes[i]...), Datatype: "FP32", Data: outs[i],
		})
	}
	body, headerLen, err := encodeHTTPInferResponse(&resp, req)
	if err != nil {
		writeError(w, http.StatusInternalServerError, fmt.Sprintf("encode response: %v", err))
		return http.StatusInternalServerError, "encode"
	}
	if f := s.commit(req, resp.ID, outs); f != nil {
		return fail(f)
	}
	if headerLen >= 0 {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set(InferenceHeaderContentLength, strconv.Itoa(headerLen))
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(http.StatusOK)
	w.Write(body)
	return http.StatusOK, ""
}

// run submits a decoded, checked request (after exec.arrive) to the executor: REST and gRPC
// share it, so both are batched together.
func (s *Server) run(req *InferRequest) ([][]float32, *failure) {
	outs, err := s.exec.infer(req.Data, req.Rows)
	if err != nil {
		s.log.Error("inference failed", "request_id", audit.LoggedRequestID(req.ID), "error", err)
		return nil, &failure{http.StatusInternalServerError, "inference", fmt.Sprintf("inference failed: %v", err)}
	}
	return outs, nil
}

// commit records an answer that is about to be returned, in the audit log and the monitoring
// aggregates. Fail closed: a prediction that cannot be audited is not returned.
func (s *Server) commit(req *InferRequest, id string, outs [][]float32) *failure {
	if s.audit != nil {
		if err := s.record(req, id, outs); err != nil {
			s.log.Error("audit log write failed", "request_id", audit.LoggedRequestID(id), "error", err)
			return &failure{http.StatusInternalServerError, "audit", "audit log write failed"}
		}
	}
	s.monitor.observe(req, id, outs)
	return nil
}

func (s *Server) record(req *InferRequest, id string, outs [][]float32) error {
	e := audit.Entry{
		RequestID: audit.LoggedRequestID(id), ModelName: s.cfg.Name, ModelVersion: s.version, ModelSHA256: s.modelSHA,
		InputSHA256: audit.InputDigest(s.spec.Name, "FP32", req.Shape, req.Data), Rows: req.Rows,
	}
	for i, name := range s.spec.Outputs {
		e.Outputs = append(e.Outputs, audit.Summarize(name, outs[i]))
	}
	if s.cfg.AuditRawInputs {
		e.RawInput = req.Data
	}
	_, err := s.audit.Append(e)
	return err
}

func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
