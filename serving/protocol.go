// Package serving is the inference server behind `rai serve`: the Open Inference Protocol v2
// (KServe V2) REST API, with Triton's binary tensor extension (binary.go), and gRPC API
// (grpc.go, package serving/inference) over one ONNX model, with dynamic batching, Prometheus metrics and a
// hash-chained audit log (package serving/audit).
//
// The server serves models with one FP32 input of shape [batch, fixed dims...] and FP32 outputs
// with fixed dimensions after the batch one: the tabular classifiers this project deploys
// (internal/onnxwriter's convention). Requests are checked against the model before they reach
// onnxruntime: any malformed request gets a 4xx JSON error and the server keeps serving.
package serving

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
)

// RequestError is a client error: the HTTP status and a message naming the problem. The server
// answers it as {"error": Message}.
type RequestError struct {
	Status  int
	Message string
}

func (e *RequestError) Error() string { return e.Message }

func badRequest(format string, args ...any) *RequestError {
	return &RequestError{Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...)}
}

// InputSpec is what the server accepts, taken from the model.
type InputSpec struct {
	// Name of the model's input.
	Name string
	// Shape is the model's input shape; the first dimension is the batch and may be -1.
	Shape []int64
	// Outputs are the model's output names.
	Outputs []string
}

// rowSize is the number of values in one row: the product of the dims after the first.
func (s *InputSpec) rowSize() int {
	n := 1
	for _, d := range s.Shape[1:] {
		n *= int(d)
	}
	return n
}

// InferRequest is a decoded, checked inference request.
type InferRequest struct {
	// ID is the request's id ("" when the client sent none).
	ID string
	// Rows is the batch dimension of the request's input.
	Rows int
	// Shape is the request's input shape: [Rows, the model's other dims...].
	Shape []int64
	// Data holds Rows*rowSize finite values, row-major.
	Data []float32
	// Outputs names the outputs the client asked for, in its order; nil means all of them.
	Outputs []string
	// Parameters is the request's "parameters" object as sent (unchecked; monitoring reads the
	// sensitive group from it).
	Parameters json.RawMessage
	// binaryOutputs names the outputs to answer as binary data (the REST binary tensor
	// extension's binary_data); binaryAll answers every output so (binary_data_output).
	binaryOutputs map[string]bool
	binaryAll     bool
}

type wireInferRequest struct {
	ID         string            `json:"id"`
	Parameters json.RawMessage   `json:"parameters"`
	Inputs     []wireInput       `json:"inputs"`
	Outputs    []wireRequestedIO `json:"outputs"`
}

type wireInput struct {
	Name       string          `json:"name"`
	Shape      []int64         `json:"shape"`
	Datatype   string          `json:"datatype"`
	Parameters json.RawMessage `json:"parameters"`
	Data       json.RawMessage `json:"data"`
}

type wireRequestedIO struct {
	Name       string          `json:"name"`
	Parameters json.RawMessage `json:"parameters"`
}

// maxNesting bounds how deeply "data" may nest arrays; a tensor has far fewer dimensions.
const maxNesting = 32

// DecodeInferRequest parses an OIP v2 infer request body and checks it against spec: exactly the
// model's input, datatype FP32, a shape [rows ≥ 1, the model's other dims], as many values as the
// shape holds (flat or nested arrays, row-major), each a finite float32; requested outputs must
// exist. Every failure is a *RequestError with status 400 whose message names the problem.
func DecodeInferRequest(body []byte, spec *InputSpec) (*InferRequest, error) {
	return decodeInferRequest(body, nil, spec)
}

// decodeInferRequest is DecodeInferRequest for a request that may carry its input as binary data
// after the JSON (binary non-nil: the REST binary tensor extension), where the input's
// parameters say binary_data_size instead of giving data.
func decodeInferRequest(body, binary []byte, spec *InputSpec) (*InferRequest, error) {
	var w wireInferRequest
	if err := json.Unmarshal(body, &w); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return nil, badRequest("invalid request: field %q has the wrong JSON type (%s, want %s)", typeErr.Field, typeErr.Value, typeErr.Type)
		}
		return nil, badRequest("invalid JSON: %v", err)
	}
	if len(w.Inputs) == 0 {
		return nil, badRequest("missing input %q: the request has no inputs", spec.Name)
	}
	var in *wireInput
	for i := range w.Inputs {
		switch name := w.Inputs[i].Name; {
		case name != spec.Name:
			return nil, badRequest("unknown input %q: the model's only input is %q", name, spec.Name)
		case in != nil:
			return nil, badRequest("input %q given twice", name)
		}
		in = &w.Inputs[i]
	}
	if in.Datatype != "FP32" {
		return nil, badRequest("input %q: datatype %q, the model takes FP32", in.Name, in.Datatype)
	}
	if err := checkShape(in.Shape, spec); err != nil {
		return nil, err
	}
	rows := int(in.Shape[0])
	want := rows * spec.rowSize()
	binarySize, hasBinary, err := binaryDataSize(in.Parameters, "binary_data_size")
	if err != nil {
		return nil, badRequest("input %q: %v", in.Name, err)
	}
	var data []float32
	switch {
	case hasBinary:
		if data, err = binaryInput(in, binarySize, binary, want); err != nil {
			return nil, err
		}
	case len(binary) > 0:
		return nil, badRequest("input %q: %d bytes of binary data follow the JSON header, but the input gives no binary_data_size", in.Name, len(binary))
	case len(in.Data) == 0:
		return nil, badRequest("input %q: missing data", in.Name)
	default:
		// Each value takes at least two bytes of JSON ("1,"): size the buffer by the body, never
		// by the shape alone, which the client chooses.
		data, err = parseFloat32Data(in.Data, make([]float32, 0, min(want, len(in.Data)/2+1)), want)
		if err != nil {
			return nil, badRequest("input %q: %v", in.Name, err)
		}
		if len(data) != want {
			return nil, badRequest("input %q: shape %v holds %d values, data has %d", in.Name, in.Shape, want, len(data))
		}
	}
	req := &InferRequest{ID: w.ID, Rows: rows, Shape: in.Shape, Data: data, Parameters: w.Parameters}
	if req.binaryAll, err = binaryFlag(w.Parameters, "binary_data_output"); err != nil {
		return nil, badRequest("parameters: %v", err)
	}
	for _, o := range w.Outputs {
		if !contains(spec.Outputs, o.Name) {
			return nil, badRequest("unknown output %q: the model's outputs are %v", o.Name, spec.Outputs)
		}
		req.Outputs = append(req.Outputs, o.Name)
		b, err := binaryFlag(o.Parameters, "binary_data")
		if err != nil {
			return nil, badRequest("output %q: %v", o.Name, err)
		}
		if b {
			if req.binaryOutputs == nil {
				req.binaryOutputs = map[string]bool{}
			}
			req.binaryOutputs[o.Name] = true
		}
	}
	return req, nil
}

func checkShape(shape []int64, spec *InputSpec) error {
	if len(shape) != len(spec.Shape) {
		return badRequest("input %q: shape %v has %d dimensions, the model's input %v has %d", spec.Name, shape, len(shape), spec.Shape, len(spec.Shape))
	}
	// The cap keeps rows*rowSize from overflowing; the body size limit is far below it anyway.
	if shape[0] < 1 || shape[0] > 1<<30 {
		return badRequest("input %q: batch dimension %d out of range (1 to %d)", spec.Name, shape[0], 1<<30)
	}
	if spec.Shape[0] > 0 && shape[0] != spec.Shape[0] {
		return badRequest("input %q: batch dimension %d, the model's is fixed at %d", spec.Name, shape[0], spec.Shape[0])
	}
	for i := 1; i < len(shape); i++ {
		if shape[i] != spec.Shape[i] {
			return badRequest("input %q: shape %v, the model takes %v (dimension %d must be %d)", spec.Name, shape, spec.Shape, i, spec.Shape[i])
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// parseFloat32Data appends the numbers of a JSON array (nested arrays flattened, row-major) to
// dst. raw is valid JSON (encoding/json checked it). It stops with an error as soon as more than
// limit values have been read, so a huge body cannot make it allocate more than the shape allows.
func parseFloat32Data(raw []byte, dst []float32, limit int) ([]float32, error) {
	p := dataParser{buf: raw, out: dst, limit: limit}
	p.skipSpace()
	if p.pos >= len(p.buf) || p.buf[p.pos] != '[' {
		return nil, errors.New("data must be a JSON array of numbers")
	}
	if err := p.array(1); err != nil {
		return nil, err
	}
	return p.out, nil
}

type dataParser struct {
	buf   []byte
	pos   int
	out   []float32
	limit int
}

func (p *dataParser) skipSpace() {
	for p.pos < len(p.buf) {
		switch p.buf[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// array parses the array starting at p.pos ('[').
func (p *dataParser) array(depth int) error {
	if depth > maxNesting {
		return fmt.Errorf("data nests arrays more than %d deep", maxNesting)
	}
	p.pos++ // '['
	p.skipSpace()
	if p.pos < len(p.buf) && p.buf[p.pos] == ']' {
		p.pos++
		return nil
	}
	for {
		p.skipSpace()
		if p.pos >= len(p.buf) {
			return errors.New("data ends inside an array")
		}
		switch c := p.buf[p.pos]; {
		case c == '[':
			if err := p.array(depth + 1); err != nil {
				return err
			}
		case c == '-' || c >= '0' && c <= '9':
			if err := p.number(); err != nil {
				return err
			}
		default:
			return fmt.Errorf("data element %d is %s, want a number", len(p.out), jsonKind(c))
		}
		p.skipSpace()
		if p.pos >= len(p.buf) {
			return errors.New("data ends inside an array")
		}
		switch p.buf[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return nil
		default:
			return fmt.Errorf("data: unexpected %q after element %d", p.buf[p.pos], len(p.out)-1)
		}
	}
}

func (p *dataParser) number() error {
	start := p.pos
	for p.pos < len(p.buf) {
		c := p.buf[p.pos]
		if c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' || c >= '0' && c <= '9' {
			p.pos++
			continue
		}
		break
	}
	if len(p.out) >= p.limit {
		return fmt.Errorf("data has more values than the shape holds (%d)", p.limit)
	}
	tok := p.buf[start:p.pos]
	v, err := strconv.ParseFloat(string(tok), 32)
	f := float32(v)
	if err != nil || math.IsInf(float64(f), 0) || math.IsNaN(float64(f)) {
		if errors.Is(err, strconv.ErrRange) || err == nil {
			return fmt.Errorf("data element %d (%s) is not a finite float32", len(p.out), bytes.TrimSpace(tok))
		}
		return fmt.Errorf("data element %d (%s) is not a number", len(p.out), tok)
	}
	p.out = append(p.out, f)
	return nil
}

func jsonKind(c byte) string {
	switch c {
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case '{':
		return "an object"
	}
	return fmt.Sprintf("%q", c)
}

// InferResponse is the OIP v2 infer response.
type InferResponse struct {
	ModelName    string           `json:"model_name"`
	ModelVersion string           `json:"model_version,omitempty"`
	ID           string           `json:"id,omitempty"`
	Outputs      []ResponseOutput `json:"outputs"`
}

// ResponseOutput is one output tensor of a response; Data is flat, row-major.
type ResponseOutput struct {
	Name     string  `json:"name"`
	Shape    []int64 `json:"shape"`
	Datatype string  `json:"datatype"`
	// Parameters holds binary_data_size when the output is answered as binary data, which then
	// takes the place of Data.
	Parameters map[string]any `json:"parameters,omitempty"`
	Data       []float32      `json:"data,omitempty"`
}

// TensorMetadata describes an input or output in the model metadata response.
type TensorMetadata struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

// ModelMetadata is the OIP v2 model metadata response.
type ModelMetadata struct {
	Name     string           `json:"name"`
	Versions []string         `json:"versions"`
	Platform string           `json:"platform"`
	Inputs   []TensorMetadata `json:"inputs"`
	Outputs  []TensorMetadata `json:"outputs"`
	// Parameters states a text model's task, labels and tokenization (REST only: the gRPC
	// metadata message has no such field); absent for tabular models.
	Parameters map[string]any `json:"parameters,omitempty"`
}

// ServerMetadata is the OIP v2 server metadata response.
type ServerMetadata struct {
	Name       string   `json:"name"`
	Version    string   `json:"version"`
	Extensions []string `json:"extensions"`
}
