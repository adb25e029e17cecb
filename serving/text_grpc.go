package serving

import (
	"errors"
	"net/http"
	"unicode/utf8"

	"github.com/responsible-ai/rmodel-operator/serving/inference"
)

// inferTextGRPC serves one gRPC text infer request through the same executor, audit log and
// answers as REST's. Outputs come back in raw_output_contents (FP32 little-endian, BYTES in
// Triton's length-prefixed layout) when the request sent raw_input_contents, as typed contents
// (fp32_contents, bytes_contents) otherwise.
func (s *Server) inferTextGRPC(r *inference.ModelInferRequest) (*inference.ModelInferResponse, *failure) {
	t := s.text
	t.exec.arrive()
	req, err := t.decodeGRPC(r)
	if err != nil {
		t.exec.leave()
		re := &RequestError{Status: http.StatusBadRequest, Message: err.Error()}
		errors.As(err, &re)
		return nil, &failure{re.Status, textFailureReason(re.Status), re.Message}
	}
	id := req.ID
	if id == "" {
		id = newRequestID()
	}
	outs, f := s.inferText(req, id)
	if f != nil {
		return nil, f
	}
	resp := &inference.ModelInferResponse{ModelName: s.cfg.Name, ModelVersion: s.version, Id: id}
	raw := len(r.GetRawInputContents()) > 0
	for _, o := range outs {
		out := &inference.ModelInferResponse_InferOutputTensor{Name: o.name, Datatype: o.datatype, Shape: o.shape}
		switch {
		case raw && o.datatype == bytesDatatype:
			resp.RawOutputContents = append(resp.RawOutputContents, appendLengthPrefixed(nil, o.strs))
		case raw:
			resp.RawOutputContents = append(resp.RawOutputContents, appendFloat32sLE(make([]byte, 0, 4*len(o.floats)), o.floats))
		case o.datatype == bytesDatatype:
			elems := make([][]byte, len(o.strs))
			for i, e := range o.strs {
				elems[i] = []byte(e)
			}
			out.Contents = &inference.InferTensorContents{BytesContents: elems}
		default:
			out.Contents = &inference.InferTensorContents{Fp32Contents: o.floats}
		}
		resp.Outputs = append(resp.Outputs, out)
	}
	return resp, nil
}

// decodeGRPC decodes a gRPC text request: "text" in bytes_contents or raw_input_contents
// (Triton's 4-byte length-prefixed layout), token tensors in int64_contents or raw
// little-endian INT64; the checks are REST's.
func (t *textServing) decodeGRPC(r *inference.ModelInferRequest) (*textRequest, error) {
	raws := r.GetRawInputContents()
	if len(raws) > 0 && len(raws) != len(r.GetInputs()) {
		return nil, badRequest("raw_input_contents has %d entries for %d inputs", len(raws), len(r.GetInputs()))
	}
	ins := make([]textInput, 0, len(r.GetInputs()))
	for i, in := range r.GetInputs() {
		if err := t.checkTextHead(in.GetName(), in.GetDatatype(), in.GetShape()); err != nil {
			return nil, err
		}
		ti := textInput{name: in.GetName(), shape: in.GetShape()}
		c := in.GetContents()
		if len(raws) > 0 {
			if c != nil {
				return nil, badRequest("input %q: both contents and raw_input_contents given", ti.name)
			}
			if err := ti.decodeBinary(raws[i]); err != nil {
				return nil, err
			}
			ins = append(ins, ti)
			continue
		}
		if c == nil {
			return nil, badRequest("input %q: missing data (neither contents nor raw_input_contents)", ti.name)
		}
		if ti.name == TextInput {
			if n := len(c.BoolContents) + len(c.IntContents) + len(c.Int64Contents) + len(c.UintContents) + len(c.Uint64Contents) + len(c.Fp32Contents) + len(c.Fp64Contents); n > 0 {
				return nil, badRequest("input %q: contents of another datatype than BYTES given; the text goes in bytes_contents", ti.name)
			}
			for j, b := range c.GetBytesContents() {
				if !utf8.Valid(b) {
					return nil, badRequest("input %q: element %d is not valid UTF-8", ti.name, j)
				}
				ti.texts = append(ti.texts, string(b))
			}
		} else {
			if n := len(c.BoolContents) + len(c.IntContents) + len(c.BytesContents) + len(c.UintContents) + len(c.Uint64Contents) + len(c.Fp32Contents) + len(c.Fp64Contents); n > 0 {
				return nil, badRequest("input %q: contents of another datatype than INT64 given; the model takes int64_contents", ti.name)
			}
			ti.ints = c.GetInt64Contents()
		}
		ins = append(ins, ti)
	}
	var requested []string
	for _, o := range r.GetOutputs() {
		requested = append(requested, o.GetName())
	}
	return t.build(r.GetId(), ins, requested)
}
