package serving

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"runtime/debug"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	"github.com/responsible-ai/rmodel-operator/serving/inference"
)

// The Open Inference Protocol v2 over gRPC (inference.GRPCInferenceService, package
// serving/inference), beside REST on its own port. Both protocols share the model, the executor
// (REST and gRPC requests are batched together), the metrics, the audit log and monitoring; only
// decoding and encoding differ. Requests are checked exactly as REST ones are, and every
// failure is answered with the gRPC code of the HTTP status REST would answer (grpcCode).
//
// Outputs come back as raw_output_contents (little-endian FP32) when the request sent
// raw_input_contents, as typed fp32_contents otherwise.

// grpcService implements inference.GRPCInferenceServiceServer on a Server.
type grpcService struct {
	inference.UnimplementedGRPCInferenceServiceServer
	s *Server
}

// newGRPCServer returns the gRPC server of s, with the message size bound by MaxBodyBytes and
// idle connections closed after Limits.IdleTimeout.
func (s *Server) newGRPCServer() *grpc.Server {
	l := s.cfg.Limits.withDefaults()
	g := grpc.NewServer(
		grpc.MaxRecvMsgSize(int(s.cfg.MaxBodyBytes)),
		grpc.MaxSendMsgSize(math.MaxInt32),
		grpc.ConnectionTimeout(l.ReadHeaderTimeout),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: l.IdleTimeout}),
		grpc.UnaryInterceptor(s.recoverGRPC),
	)
	inference.RegisterGRPCInferenceServiceServer(g, &grpcService{s: s})
	healthpb.RegisterHealthServer(g, grpcHealth{s: s})
	return g
}

// grpcHealth is the standard gRPC health service (grpc.health.v1.Health), which Kubernetes' gRPC
// probes ask: SERVING when the model is ready (the REST readiness endpoint's answer), for the
// server ("") and for inference.GRPCInferenceService; NotFound for any other service.
type grpcHealth struct {
	healthpb.UnimplementedHealthServer
	s *Server
}

func (h grpcHealth) Check(_ context.Context, r *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	if svc := r.GetService(); svc != "" && svc != inference.GRPCInferenceService_ServiceDesc.ServiceName {
		return nil, status.Errorf(codes.NotFound, "unknown service %q", svc)
	}
	if !h.s.ready.Load() {
		return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_NOT_SERVING}, nil
	}
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

// recoverGRPC answers a handler's panic with Internal and logs it, as net/http does for REST:
// grpc-go itself does not recover, and a panic would stop the whole server.
func (s *Server) recoverGRPC(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("gRPC handler panicked", "method", info.FullMethod, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			resp, err = nil, status.Error(codes.Internal, "internal error")
		}
	}()
	return handler(ctx, req)
}

// grpcCode is the gRPC status code for an HTTP status the REST API answers.
func grpcCode(httpStatus int) codes.Code {
	switch httpStatus {
	case http.StatusBadRequest:
		return codes.InvalidArgument
	case http.StatusNotFound:
		return codes.NotFound
	case http.StatusRequestEntityTooLarge:
		return codes.ResourceExhausted
	case http.StatusServiceUnavailable:
		return codes.Unavailable
	default:
		return codes.Internal
	}
}

func (f *failure) grpc() error { return status.Error(grpcCode(f.status), f.msg) }

func (g *grpcService) ServerLive(context.Context, *inference.ServerLiveRequest) (*inference.ServerLiveResponse, error) {
	return &inference.ServerLiveResponse{Live: true}, nil
}

func (g *grpcService) ServerReady(context.Context, *inference.ServerReadyRequest) (*inference.ServerReadyResponse, error) {
	return &inference.ServerReadyResponse{Ready: g.s.ready.Load()}, nil
}

func (g *grpcService) ServerMetadata(context.Context, *inference.ServerMetadataRequest) (*inference.ServerMetadataResponse, error) {
	return &inference.ServerMetadataResponse{Name: "rai", Version: g.s.cfg.ServerVersion, Extensions: Extensions()}, nil
}

// ModelReady answers NotFound for another model or version, and ready false until the model is
// loaded and warmed up.
func (g *grpcService) ModelReady(_ context.Context, r *inference.ModelReadyRequest) (*inference.ModelReadyResponse, error) {
	f := g.s.modelFailure(r.GetName(), r.GetVersion())
	if f != nil && f.status != http.StatusServiceUnavailable {
		return nil, f.grpc()
	}
	return &inference.ModelReadyResponse{Ready: f == nil && g.s.ready.Load()}, nil
}

func (g *grpcService) ModelMetadata(_ context.Context, r *inference.ModelMetadataRequest) (*inference.ModelMetadataResponse, error) {
	if f := g.s.modelFailure(r.GetName(), r.GetVersion()); f != nil {
		return nil, f.grpc()
	}
	m := g.s.meta
	resp := &inference.ModelMetadataResponse{Name: m.Name, Versions: m.Versions, Platform: m.Platform}
	for _, t := range m.Inputs {
		resp.Inputs = append(resp.Inputs, &inference.ModelMetadataResponse_TensorMetadata{Name: t.Name, Datatype: t.Datatype, Shape: t.Shape})
	}
	for _, t := range m.Outputs {
		resp.Outputs = append(resp.Outputs, &inference.ModelMetadataResponse_TensorMetadata{Name: t.Name, Datatype: t.Datatype, Shape: t.Shape})
	}
	return resp, nil
}

// ModelInfer serves one inference request through the same executor, audit log, monitoring and
// metrics as REST's infer.
func (g *grpcService) ModelInfer(_ context.Context, r *inference.ModelInferRequest) (*inference.ModelInferResponse, error) {
	start := time.Now()
	resp, f := g.s.inferGRPC(r)
	if f != nil {
		g.s.observeRequest(start, f.status, f.reason)
		return nil, f.grpc()
	}
	g.s.observeRequest(start, http.StatusOK, "")
	return resp, nil
}

func (s *Server) inferGRPC(r *inference.ModelInferRequest) (*inference.ModelInferResponse, *failure) {
	if f := s.modelFailure(r.GetModelName(), r.GetModelVersion()); f != nil {
		return nil, f
	}
	if s.text != nil {
		return s.inferTextGRPC(r)
	}
	s.exec.arrive()
	req, err := decodeGRPCInferRequest(r, &s.spec, s.monitor != nil)
	if err != nil {
		s.exec.leave()
		var re *RequestError
		if errors.As(err, &re) {
			return nil, &failure{re.Status, "bad_request", re.Message}
		}
		return nil, &failure{http.StatusBadRequest, "bad_request", err.Error()}
	}
	outs, f := s.run(req)
	if f != nil {
		return nil, f
	}
	resp := &inference.ModelInferResponse{ModelName: s.cfg.Name, ModelVersion: s.version, Id: req.ID}
	if resp.Id == "" {
		resp.Id = newRequestID()
	}
	raw := len(r.GetRawInputContents()) > 0
	for i, name := range s.spec.Outputs {
		if req.Outputs != nil && !contains(req.Outputs, name) {
			continue
		}
		o := &inference.ModelInferResponse_InferOutputTensor{
			Name: name, Datatype: "FP32", Shape: append([]int64{int64(req.Rows)}, s.outShapes[i]...),
		}
		if raw {
			resp.RawOutputContents = append(resp.RawOutputContents, appendFloat32sLE(make([]byte, 0, 4*len(outs[i])), outs[i]))
		} else {
			o.Contents = &inference.InferTensorContents{Fp32Contents: outs[i]}
		}
		resp.Outputs = append(resp.Outputs, o)
	}
	if f := s.commit(req, resp.Id, outs); f != nil {
		return nil, f
	}
	return resp, nil
}

// decodeGRPCInferRequest checks a gRPC infer request against spec as DecodeInferRequest checks a
// REST one: exactly the model's input, FP32, shape [rows ≥ 1, the model's other dims], as many
// finite values as the shape holds, in fp32_contents or (little-endian) in raw_input_contents but
// not both; requested outputs must exist. withParams turns the request's parameters into the
// JSON object monitoring reads. Every failure is a *RequestError with status 400.
func decodeGRPCInferRequest(r *inference.ModelInferRequest, spec *InputSpec, withParams bool) (*InferRequest, error) {
	ins := r.GetInputs()
	if len(ins) == 0 {
		return nil, badRequest("missing input %q: the request has no inputs", spec.Name)
	}
	var in *inference.ModelInferRequest_InferInputTensor
	for _, t := range ins {
		switch {
		case t.GetName() != spec.Name:
			return nil, badRequest("unknown input %q: the model's only input is %q", t.GetName(), spec.Name)
		case in != nil:
			return nil, badRequest("input %q given twice", t.GetName())
		}
		in = t
	}
	if in.GetDatatype() != "FP32" {
		return nil, badRequest("input %q: datatype %q, the model takes FP32", in.GetName(), in.GetDatatype())
	}
	if err := checkShape(in.GetShape(), spec); err != nil {
		return nil, err
	}
	rows := int(in.GetShape()[0])
	want := rows * spec.rowSize()
	var data []float32
	if raws := r.GetRawInputContents(); len(raws) > 0 {
		switch {
		case len(raws) != len(ins):
			return nil, badRequest("raw_input_contents has %d entries for %d inputs", len(raws), len(ins))
		case in.GetContents() != nil:
			return nil, badRequest("input %q: both contents and raw_input_contents given", in.GetName())
		case len(raws[0]) != 4*want:
			return nil, badRequest("input %q: shape %v holds %d FP32 values (%d bytes), raw_input_contents has %d bytes", in.GetName(), in.GetShape(), want, 4*want, len(raws[0]))
		}
		var err error
		if data, err = float32sLE(raws[0]); err != nil {
			return nil, badRequest("input %q: %v", in.GetName(), err)
		}
	} else {
		c := in.GetContents()
		if c == nil {
			return nil, badRequest("input %q: missing data (neither contents nor raw_input_contents)", in.GetName())
		}
		if n := len(c.BoolContents) + len(c.IntContents) + len(c.Int64Contents) + len(c.UintContents) + len(c.Uint64Contents) + len(c.Fp64Contents) + len(c.BytesContents); n > 0 {
			return nil, badRequest("input %q: contents of another datatype than FP32 given; the model takes fp32_contents", in.GetName())
		}
		data = c.GetFp32Contents()
		if len(data) != want {
			return nil, badRequest("input %q: shape %v holds %d values, fp32_contents has %d", in.GetName(), in.GetShape(), want, len(data))
		}
		for i, f := range data {
			if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
				return nil, badRequest("input %q: element %d (%v) is not a finite float32", in.GetName(), i, f)
			}
		}
	}
	req := &InferRequest{ID: r.GetId(), Rows: rows, Shape: in.GetShape(), Data: data}
	for _, o := range r.GetOutputs() {
		if !contains(spec.Outputs, o.GetName()) {
			return nil, badRequest("unknown output %q: the model's outputs are %v", o.GetName(), spec.Outputs)
		}
		req.Outputs = append(req.Outputs, o.GetName())
	}
	if withParams && len(r.GetParameters()) > 0 {
		params := make(map[string]any, len(r.GetParameters()))
		for k, p := range r.GetParameters() {
			switch v := p.GetParameterChoice().(type) {
			case *inference.InferParameter_BoolParam:
				params[k] = v.BoolParam
			case *inference.InferParameter_Int64Param:
				params[k] = v.Int64Param
			case *inference.InferParameter_StringParam:
				params[k] = v.StringParam
			}
		}
		b, err := json.Marshal(params)
		if err != nil {
			return nil, badRequest("parameters: %v", err)
		}
		req.Parameters = b
	}
	return req, nil
}
