package onnx

import (
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strings"

	ort "github.com/yalue/onnxruntime_go"
)

// Device selects the execution provider of a session.
type Device string

const (
	// DeviceCPU runs on onnxruntime's default CPU execution provider.
	DeviceCPU Device = "cpu"
	// DeviceCUDA runs on the CUDA execution provider (libonnxruntime_providers_cuda.so beside the
	// core library, CUDA 13 runtime libraries and an NVIDIA driver). It never falls back to the
	// CPU silently: when CUDA is unavailable, Load fails with ErrCUDAUnavailable.
	DeviceCUDA Device = "cuda"
)

// ParseDevice accepts "cpu" or "cuda" (case-sensitive, "" means cpu).
func ParseDevice(s string) (Device, error) {
	switch Device(s) {
	case "", DeviceCPU:
		return DeviceCPU, nil
	case DeviceCUDA:
		return DeviceCUDA, nil
	}
	return "", fmt.Errorf("unknown device %q: want cpu or cuda", s)
}

// ErrCUDAUnavailable is returned (wrapped, with onnxruntime's reason) when DeviceCUDA was asked
// for and the CUDA execution provider cannot be used.
var ErrCUDAUnavailable = errors.New("CUDA execution provider unavailable (run make onnxruntime-cuda; it needs an NVIDIA GPU with its driver and the CUDA 13 libraries libcudart.so.13, libcublas.so.13, libcublasLt.so.13, libcurand.so.10 on the library path)")

// Options configure a session.
type Options struct {
	// LibraryPath is passed to Init; "" searches as Init documents.
	LibraryPath string
	// Device is the execution provider; "" means DeviceCPU.
	Device Device
	// CUDADeviceID selects the GPU for DeviceCUDA.
	CUDADeviceID int
	// IntraOpThreads bounds onnxruntime's threads per Run; 0 keeps onnxruntime's default (one
	// per core). Callers that run one Runner per goroutine should set 1.
	IntraOpThreads int
}

// DataType names a tensor element type as the Open Inference Protocol does ("FP32", "INT64", ...).
type DataType string

// The element types onnxruntime tensors can have, with their OIP names.
const (
	FP32    DataType = "FP32"
	FP64    DataType = "FP64"
	FP16    DataType = "FP16"
	BF16    DataType = "BF16"
	INT8    DataType = "INT8"
	INT16   DataType = "INT16"
	INT32   DataType = "INT32"
	INT64   DataType = "INT64"
	UINT8   DataType = "UINT8"
	UINT16  DataType = "UINT16"
	UINT32  DataType = "UINT32"
	UINT64  DataType = "UINT64"
	BOOL    DataType = "BOOL"
	BYTES   DataType = "BYTES"
	Unknown DataType = "UNKNOWN"
)

func dataTypeOf(t ort.TensorElementDataType) DataType {
	switch t {
	case ort.TensorElementDataTypeFloat:
		return FP32
	case ort.TensorElementDataTypeDouble:
		return FP64
	case ort.TensorElementDataTypeFloat16:
		return FP16
	case ort.TensorElementDataTypeBFloat16:
		return BF16
	case ort.TensorElementDataTypeInt8:
		return INT8
	case ort.TensorElementDataTypeInt16:
		return INT16
	case ort.TensorElementDataTypeInt32:
		return INT32
	case ort.TensorElementDataTypeInt64:
		return INT64
	case ort.TensorElementDataTypeUint8:
		return UINT8
	case ort.TensorElementDataTypeUint16:
		return UINT16
	case ort.TensorElementDataTypeUint32:
		return UINT32
	case ort.TensorElementDataTypeUint64:
		return UINT64
	case ort.TensorElementDataTypeBool:
		return BOOL
	case ort.TensorElementDataTypeString:
		return BYTES
	}
	return Unknown
}

// TensorInfo describes one input or output of a model.
type TensorInfo struct {
	Name string
	// Shape has -1 for a dynamic dimension (typically the batch dimension, the first).
	Shape    []int64
	DataType DataType
}

// Metadata is the model's metadata as stored in the ONNX file.
type Metadata struct {
	ProducerName string
	GraphName    string
	Domain       string
	Description  string
	// Version is the ONNX model_version; 0 when the model has none.
	Version int64
	// Custom holds the model's metadata_props.
	Custom map[string]string
}

// Session is a loaded model. Its methods are safe for concurrent use: onnxruntime allows
// concurrent Run calls on one session. A Runner is not; create one per goroutine.
type Session struct {
	dyn      *ort.DynamicAdvancedSession
	inputs   []TensorInfo
	outputs  []TensorInfo
	metadata Metadata
	device   Device
}

// LoadFile loads the ONNX model at path; see Load.
func LoadFile(path string, opts Options) (*Session, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	s, err := Load(data, opts)
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", path, err)
	}
	return s, nil
}

// Load creates a session from the bytes of an ONNX model, initialising onnxruntime first when
// needed (Init with opts.LibraryPath). Close the session when done.
func Load(model []byte, opts Options) (*Session, error) {
	if err := Init(opts.LibraryPath); err != nil {
		return nil, err
	}
	device, err := ParseDevice(string(opts.Device))
	if err != nil {
		return nil, err
	}
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("create session options: %w", err)
	}
	defer so.Destroy()
	if opts.IntraOpThreads > 0 {
		if err := so.SetIntraOpNumThreads(opts.IntraOpThreads); err != nil {
			return nil, fmt.Errorf("set intra-op threads: %w", err)
		}
	}
	if device == DeviceCUDA {
		if err := appendCUDA(so, opts.CUDADeviceID); err != nil {
			return nil, err
		}
	}

	ins, outs, err := ort.GetInputOutputInfoWithONNXData(model)
	if err != nil {
		return nil, fmt.Errorf("read model inputs and outputs: %w", err)
	}
	s := &Session{device: device}
	var inNames, outNames []string
	for _, in := range ins {
		s.inputs = append(s.inputs, infoOf(in))
		inNames = append(inNames, in.Name)
	}
	for _, out := range outs {
		s.outputs = append(s.outputs, infoOf(out))
		outNames = append(outNames, out.Name)
	}
	s.dyn, err = ort.NewDynamicAdvancedSessionWithONNXData(model, inNames, outNames, so)
	if err != nil {
		if device == DeviceCUDA {
			return nil, fmt.Errorf("create session: %w: %v", ErrCUDAUnavailable, err)
		}
		return nil, fmt.Errorf("create session: %w", err)
	}
	if s.metadata, err = readMetadata(s.dyn); err != nil {
		s.dyn.Destroy()
		return nil, err
	}
	return s, nil
}

func appendCUDA(so *ort.SessionOptions, deviceID int) error {
	cuda, err := ort.NewCUDAProviderOptions()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCUDAUnavailable, err)
	}
	defer cuda.Destroy()
	if err := cuda.Update(map[string]string{"device_id": fmt.Sprint(deviceID)}); err != nil {
		return fmt.Errorf("%w: set device_id %d: %v", ErrCUDAUnavailable, deviceID, err)
	}
	if err := so.AppendExecutionProviderCUDA(cuda); err != nil {
		return fmt.Errorf("%w: %v", ErrCUDAUnavailable, err)
	}
	return nil
}

func infoOf(in ort.InputOutputInfo) TensorInfo {
	return TensorInfo{Name: in.Name, Shape: append([]int64(nil), in.Dimensions...), DataType: dataTypeOf(in.DataType)}
}

func readMetadata(s *ort.DynamicAdvancedSession) (Metadata, error) {
	md, err := s.GetModelMetadata()
	if err != nil {
		return Metadata{}, fmt.Errorf("read model metadata: %w", err)
	}
	defer md.Destroy()
	var m Metadata
	var errs []error
	get := func(dst *string, f func() (string, error)) {
		v, err := f()
		*dst = v
		errs = append(errs, err)
	}
	get(&m.ProducerName, md.GetProducerName)
	get(&m.GraphName, md.GetGraphName)
	get(&m.Domain, md.GetDomain)
	get(&m.Description, md.GetDescription)
	v, err := md.GetVersion()
	if v == math.MaxInt64 { // onnxruntime's answer for a model without model_version
		v = 0
	}
	m.Version = v
	errs = append(errs, err)
	keys, err := md.GetCustomMetadataMapKeys()
	errs = append(errs, err)
	m.Custom = make(map[string]string, len(keys))
	for _, k := range keys {
		v, _, err := md.LookupCustomMetadataMap(k)
		m.Custom[k] = v
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return Metadata{}, fmt.Errorf("read model metadata: %w", err)
	}
	return m, nil
}

// Inputs describes the model's inputs in the model's order.
func (s *Session) Inputs() []TensorInfo { return s.inputs }

// Outputs describes the model's outputs in the model's order.
func (s *Session) Outputs() []TensorInfo { return s.outputs }

// Metadata returns the model's metadata.
func (s *Session) Metadata() Metadata { return s.metadata }

// Device is the execution provider the session runs on.
func (s *Session) Device() Device { return s.device }

// Close releases the session. Runners made from it must be closed first.
func (s *Session) Close() error {
	if s.dyn == nil {
		return nil
	}
	err := s.dyn.Destroy()
	s.dyn = nil
	return err
}

// Output is one output tensor of a Run.
type Output struct {
	Name     string
	Shape    []int64
	DataType DataType
	// Data is the flat, row-major content: []float32, []float64, []int64, []int32, []int16,
	// []int8, []uint8, []uint16, []uint32, []uint64 or []bool after DataType.
	Data any
}

// FeatureShape returns the shape of one row of the model's only input (its shape without the
// first, batch, dimension) and the number of values in a row. It fails unless the model has one
// FP32 input whose first dimension is dynamic and whose other dimensions are fixed: the tabular
// models this project serves and evaluates.
func (s *Session) FeatureShape() (shape []int64, rowSize int, err error) {
	if len(s.inputs) != 1 {
		return nil, 0, fmt.Errorf("model has %d inputs (%s); want exactly one", len(s.inputs), names(s.inputs))
	}
	in := s.inputs[0]
	if in.DataType != FP32 {
		return nil, 0, fmt.Errorf("model input %q has element type %s; want FP32", in.Name, in.DataType)
	}
	if len(in.Shape) < 1 {
		return nil, 0, fmt.Errorf("model input %q has no batch dimension", in.Name)
	}
	rowSize = 1
	for i, d := range in.Shape[1:] {
		if d < 1 {
			return nil, 0, fmt.Errorf("model input %q has dynamic dimension %d (shape %v); only the first may be dynamic", in.Name, i+1, in.Shape)
		}
		rowSize *= int(d)
	}
	return append([]int64(nil), in.Shape[1:]...), rowSize, nil
}

func names(infos []TensorInfo) string {
	var ns []string
	for _, i := range infos {
		ns = append(ns, i.Name)
	}
	sort.Strings(ns)
	return strings.Join(ns, ", ")
}

// Run runs the model on rows rows of its only (FP32) input, input holding rows*rowSize values
// row-major, and returns every output. It allocates its results; for repeated runs on a hot path
// use a Runner. Safe for concurrent use.
func (s *Session) Run(input []float32, rows int) ([]Output, error) {
	shape, rowSize, err := s.FeatureShape()
	if err != nil {
		return nil, err
	}
	if rows < 1 || len(input) != rows*rowSize {
		return nil, fmt.Errorf("run: %d values for %d rows of %d values each", len(input), rows, rowSize)
	}
	t, err := ort.NewTensor(append(ort.Shape{int64(rows)}, shape...), input)
	if err != nil {
		return nil, fmt.Errorf("run: input tensor: %w", err)
	}
	defer t.Destroy()
	return s.run([]ort.Value{t})
}

// run runs the session on inputs (in the model's input order) and converts every output.
func (s *Session) run(inputs []ort.Value) ([]Output, error) {
	values := make([]ort.Value, len(s.outputs))
	if err := s.dyn.Run(inputs, values); err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	defer func() {
		for _, v := range values {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	outs := make([]Output, len(values))
	for i, v := range values {
		o := Output{Name: s.outputs[i].Name, Shape: append([]int64(nil), v.GetShape()...)}
		switch t := v.(type) {
		case *ort.Tensor[float32]:
			o.DataType, o.Data = FP32, t.GetData()
		case *ort.Tensor[float64]:
			o.DataType, o.Data = FP64, t.GetData()
		case *ort.Tensor[int64]:
			o.DataType, o.Data = INT64, t.GetData()
		case *ort.Tensor[int32]:
			o.DataType, o.Data = INT32, t.GetData()
		case *ort.Tensor[int16]:
			o.DataType, o.Data = INT16, t.GetData()
		case *ort.Tensor[int8]:
			o.DataType, o.Data = INT8, t.GetData()
		case *ort.Tensor[uint8]:
			o.DataType, o.Data = UINT8, t.GetData()
		case *ort.Tensor[uint16]:
			o.DataType, o.Data = UINT16, t.GetData()
		case *ort.Tensor[uint32]:
			o.DataType, o.Data = UINT32, t.GetData()
		case *ort.Tensor[uint64]:
			o.DataType, o.Data = UINT64, t.GetData()
		case *ort.Tensor[bool]:
			o.DataType, o.Data = BOOL, t.GetData()
		default:
			return nil, fmt.Errorf("run: output %q has unsupported type %s", o.Name, v.GetONNXType())
		}
		outs[i] = o
	}
	return outs, nil
}

// NamedTensor is one input of RunInputs: the model input it feeds, its shape and its flat,
// row-major data, a []int64 (INT64 inputs) or a []float32 (FP32 inputs).
type NamedTensor struct {
	Name  string
	Shape []int64
	Data  any
}

// RunInputs runs the model on named inputs and returns every output (allocated, as Run's). The
// inputs must be exactly the model's declared inputs, in any order, each once, with the declared
// element type (INT64 as []int64, FP32 as []float32), rank and fixed dimensions, and as many
// values as its shape holds; anything else is an error naming the input and the problem, before
// onnxruntime sees it. Safe for concurrent use.
func (s *Session) RunInputs(inputs []NamedTensor) ([]Output, error) {
	byName := make(map[string]*NamedTensor, len(inputs))
	for i := range inputs {
		in := &inputs[i]
		if _, dup := byName[in.Name]; dup {
			return nil, fmt.Errorf("run: input %q given twice", in.Name)
		}
		byName[in.Name] = in
	}
	for name := range byName {
		if !slices.ContainsFunc(s.inputs, func(i TensorInfo) bool { return i.Name == name }) {
			return nil, fmt.Errorf("run: unknown input %q: the model's inputs are %s", name, names(s.inputs))
		}
	}
	values := make([]ort.Value, 0, len(s.inputs))
	defer func() {
		for _, v := range values {
			v.Destroy()
		}
	}()
	for _, info := range s.inputs {
		in, ok := byName[info.Name]
		if !ok {
			return nil, fmt.Errorf("run: missing input %q (%s %v): the model's inputs are %s", info.Name, info.DataType, info.Shape, names(s.inputs))
		}
		v, err := newInputTensor(info, in)
		if err != nil {
			return nil, fmt.Errorf("run: %w", err)
		}
		values = append(values, v)
	}
	return s.run(values)
}

// newInputTensor checks one named input against the model's declaration and makes its tensor.
func newInputTensor(info TensorInfo, in *NamedTensor) (ort.Value, error) {
	if len(in.Shape) != len(info.Shape) {
		return nil, fmt.Errorf("input %q: shape %v has %d dimensions, the model's %v has %d", in.Name, in.Shape, len(in.Shape), info.Shape, len(info.Shape))
	}
	n := int64(1)
	for i, d := range in.Shape {
		if d < 0 {
			return nil, fmt.Errorf("input %q: shape %v has a negative dimension", in.Name, in.Shape)
		}
		if info.Shape[i] >= 0 && d != info.Shape[i] {
			return nil, fmt.Errorf("input %q: shape %v, the model takes %v (dimension %d is fixed at %d)", in.Name, in.Shape, info.Shape, i, info.Shape[i])
		}
		n *= d
	}
	shape := ort.Shape(append([]int64(nil), in.Shape...))
	var given DataType
	var length int
	switch d := in.Data.(type) {
	case []int64:
		given, length = INT64, len(d)
	case []float32:
		given, length = FP32, len(d)
	default:
		return nil, fmt.Errorf("input %q: data of Go type %T; want []int64 (INT64) or []float32 (FP32)", in.Name, in.Data)
	}
	if given != info.DataType {
		return nil, fmt.Errorf("input %q: %s data, the model takes %s", in.Name, given, info.DataType)
	}
	if int64(length) != n {
		return nil, fmt.Errorf("input %q: shape %v holds %d values, data has %d", in.Name, in.Shape, n, length)
	}
	var v ort.Value
	var err error
	switch d := in.Data.(type) {
	case []int64:
		v, err = ort.NewTensor(shape, d)
	case []float32:
		v, err = ort.NewTensor(shape, d)
	}
	if err != nil {
		return nil, fmt.Errorf("input %q: tensor: %w", in.Name, err)
	}
	return v, nil
}
