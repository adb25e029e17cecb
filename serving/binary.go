package serving

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
)

// The REST binary tensor extension (Triton's binary_tensor_data): a request whose header says
// Inference-Header-Content-Length: N holds N bytes of JSON, then the binary data of the inputs
// whose parameters say binary_data_size (their elements, row-major, little-endian, in the order
// of the inputs); an input given so has no "data". An answer holds binary outputs when the
// request's parameters say binary_data_output: true, or a requested output's say binary_data:
// true; each such output's parameters then say binary_data_size, its data follows the JSON in the
// order of the outputs, and the answer's own Inference-Header-Content-Length gives the JSON's
// length.

// Extensions are the protocol extensions the server metadata lists (REST and gRPC): Triton's
// name for the binary tensor extension.
func Extensions() []string { return []string{"binary_tensor_data"} }

// InferenceHeaderContentLength is the header that gives the JSON's length in a request or answer
// with binary tensor data.
const InferenceHeaderContentLength = "Inference-Header-Content-Length"

// decodeHTTPInferRequest decodes a REST infer request, with or without binary tensor data, and
// checks it against spec.
func decodeHTTPInferRequest(h http.Header, body []byte, spec *InputSpec) (*InferRequest, error) {
	v := h.Get(InferenceHeaderContentLength)
	if v == "" {
		return DecodeInferRequest(body, spec)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > int64(len(body)) {
		return nil, badRequest("%s %q: want the JSON header's length in bytes, 0 to the body's %d", InferenceHeaderContentLength, v, len(body))
	}
	return decodeInferRequest(body[:n], body[n:], spec)
}

// binaryFlag reads the bool parameter name from a JSON parameters object (false when absent).
func binaryFlag(params json.RawMessage, name string) (bool, error) {
	raw, ok, err := parameter(params, name)
	if !ok || err != nil {
		return false, err
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil {
		return false, fmt.Errorf("parameter %q must be a boolean, got %s", name, raw)
	}
	return b, nil
}

// binaryDataSize reads the non-negative integer parameter name from a JSON parameters object.
func binaryDataSize(params json.RawMessage, name string) (int64, bool, error) {
	raw, ok, err := parameter(params, name)
	if !ok || err != nil {
		return 0, false, err
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || n < 0 {
		return 0, false, fmt.Errorf("parameter %q must be a non-negative integer, got %s", name, raw)
	}
	return n, true, nil
}

// parameter returns the raw value of one parameter of a JSON parameters object.
func parameter(params json.RawMessage, name string) (json.RawMessage, bool, error) {
	if len(params) == 0 || !bytes.Contains(params, []byte(name)) {
		return nil, false, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(params, &m); err != nil {
		return nil, false, fmt.Errorf("parameters must be a JSON object: %v", err)
	}
	raw, ok := m[name]
	if !ok || string(raw) == "null" {
		return nil, false, nil
	}
	return raw, true, nil
}

// binaryInput checks an input given as binary data (size bytes of binary) and decodes it.
func binaryInput(in *wireInput, size int64, binary []byte, want int) ([]float32, error) {
	switch {
	case binary == nil:
		return nil, badRequest("input %q: binary_data_size given, but the request has no %s header", in.Name, InferenceHeaderContentLength)
	case len(in.Data) > 0 && string(in.Data) != "null":
		return nil, badRequest("input %q: both data and binary_data_size given", in.Name)
	case size != int64(len(binary)):
		return nil, badRequest("input %q: binary_data_size %d, but %d bytes of binary data follow the JSON header", in.Name, size, len(binary))
	case size != int64(want)*4:
		return nil, badRequest("input %q: shape %v holds %d FP32 values (%d bytes), binary_data_size is %d", in.Name, in.Shape, want, want*4, size)
	}
	data, err := float32sLE(binary)
	if err != nil {
		return nil, badRequest("input %q: %v", in.Name, err)
	}
	return data, nil
}

// float32sLE decodes little-endian FP32 values and checks each is finite.
func float32sLE(b []byte) ([]float32, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("%d bytes are not a whole number of FP32 values", len(b))
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		f := math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return nil, fmt.Errorf("element %d (%v) is not a finite float32", i, f)
		}
		out[i] = f
	}
	return out, nil
}

// appendFloat32sLE appends v as little-endian FP32 values to dst.
func appendFloat32sLE(dst []byte, v []float32) []byte {
	for _, f := range v {
		dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(f))
	}
	return dst
}

// encodeHTTPInferResponse encodes resp as JSON. When req asked for binary outputs, those follow
// the JSON as binary data and headerLen is the JSON's length; otherwise headerLen is -1.
func encodeHTTPInferResponse(resp *InferResponse, req *InferRequest) (body []byte, headerLen int, err error) {
	if !req.binaryAll && len(req.binaryOutputs) == 0 {
		body, err = json.Marshal(resp)
		return body, -1, err
	}
	var data []byte
	for i := range resp.Outputs {
		o := &resp.Outputs[i]
		if !req.binaryAll && !req.binaryOutputs[o.Name] {
			continue
		}
		o.Parameters = map[string]any{"binary_data_size": 4 * len(o.Data)}
		data = appendFloat32sLE(data, o.Data)
		o.Data = nil
	}
	body, err = json.Marshal(resp)
	if err != nil {
		return nil, 0, err
	}
	return append(body, data...), len(body), nil
}
