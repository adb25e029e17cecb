package onnx

import (
	"fmt"
	"unsafe"

	ort "github.com/yalue/onnxruntime_go"
)

// Runner runs batches of up to MaxRows rows through a session, reusing its input and output
// buffers and onnxruntime tensors: after the first Run with a given row count, a Run is one cgo
// call through an onnxruntime I/O binding and allocates nothing on the Go side. It needs a model with one FP32 input [batch, fixed dims...] and FP32
// outputs whose dimensions after the first are fixed (the project's binary classifiers qualify).
//
// A Runner is not safe for concurrent use; create one per goroutine (they may share a Session).
// Close it before its Session.
type Runner struct {
	s          *Session
	maxRows    int
	rowSize    int
	inShape    []int64 // dims after the batch dimension
	in         []float32
	outs       [][]float32
	outRowSize []int
	outShapes  [][]int64
	bound      map[int]*boundTensors
	views      [][]float32
}

// boundTensors are onnxruntime tensors over the prefixes of a Runner's buffers for one row count,
// bound to the session's inputs and outputs: running through the binding is a single cgo call
// that allocates nothing in Go.
type boundTensors struct {
	values  []ort.Value
	binding *ort.IoBinding
}

// NewRunner makes a Runner for batches of 1 to maxRows rows.
func (s *Session) NewRunner(maxRows int) (*Runner, error) {
	if maxRows < 1 {
		return nil, fmt.Errorf("new runner: maxRows %d < 1", maxRows)
	}
	inShape, rowSize, err := s.FeatureShape()
	if err != nil {
		return nil, fmt.Errorf("new runner: %w", err)
	}
	r := &Runner{
		s: s, maxRows: maxRows, rowSize: rowSize, inShape: inShape,
		in:    make([]float32, maxRows*rowSize),
		bound: make(map[int]*boundTensors),
		views: make([][]float32, len(s.outputs)),
	}
	for _, o := range s.outputs {
		if o.DataType != FP32 {
			return nil, fmt.Errorf("new runner: output %q has element type %s; a Runner needs FP32 outputs (use Session.Run)", o.Name, o.DataType)
		}
		if len(o.Shape) < 1 {
			return nil, fmt.Errorf("new runner: output %q is a scalar; a Runner needs a batch dimension", o.Name)
		}
		n := 1
		for i, d := range o.Shape[1:] {
			if d < 1 {
				return nil, fmt.Errorf("new runner: output %q has dynamic dimension %d (shape %v); use Session.Run", o.Name, i+1, o.Shape)
			}
			n *= int(d)
		}
		r.outRowSize = append(r.outRowSize, n)
		r.outShapes = append(r.outShapes, append([]int64(nil), o.Shape[1:]...))
		r.outs = append(r.outs, make([]float32, maxRows*n))
	}
	return r, nil
}

// MaxRows is the largest batch the Runner takes.
func (r *Runner) MaxRows() int { return r.maxRows }

// RowSize is the number of float32 values in one input row.
func (r *Runner) RowSize() int { return r.rowSize }

// OutputRowSizes gives, per output, the number of values one row produces.
func (r *Runner) OutputRowSizes() []int { return r.outRowSize }

// Input returns the Runner's input buffer for rows rows (rows*RowSize() values). Filling it and
// passing it to Run saves the copy Run otherwise makes. It is overwritten by the next Run.
func (r *Runner) Input(rows int) []float32 {
	return r.in[:rows*r.rowSize]
}

// Run runs rows rows (1 ≤ rows ≤ MaxRows) held row-major in input (rows*RowSize() values) and
// returns, per model output, its rows*OutputRowSizes()[i] values. The returned slices are the
// Runner's buffers: valid until the next Run or Close, to be copied if kept.
func (r *Runner) Run(input []float32, rows int) ([][]float32, error) {
	if rows < 1 || rows > r.maxRows {
		return nil, fmt.Errorf("run: %d rows, want 1 to %d", rows, r.maxRows)
	}
	n := rows * r.rowSize
	if len(input) != n {
		return nil, fmt.Errorf("run: %d values for %d rows of %d values each", len(input), rows, r.rowSize)
	}
	if unsafe.SliceData(input) != unsafe.SliceData(r.in) {
		copy(r.in, input)
	}
	b, err := r.tensors(rows)
	if err != nil {
		return nil, err
	}
	if err := r.s.dyn.RunWithBinding(b.binding); err != nil {
		return nil, fmt.Errorf("run %d rows: %w", rows, err)
	}
	for i, o := range r.outs {
		r.views[i] = o[:rows*r.outRowSize[i]]
	}
	return r.views, nil
}

func (r *Runner) tensors(rows int) (*boundTensors, error) {
	if b, ok := r.bound[rows]; ok {
		return b, nil
	}
	b := &boundTensors{}
	binding, err := r.s.dyn.CreateIoBinding()
	if err != nil {
		return nil, fmt.Errorf("bind tensors for %d rows: %w", rows, err)
	}
	b.binding = binding
	in, err := ort.NewTensor(append(ort.Shape{int64(rows)}, r.inShape...), r.in[:rows*r.rowSize])
	if err != nil {
		b.destroy()
		return nil, fmt.Errorf("input tensor for %d rows: %w", rows, err)
	}
	b.values = append(b.values, in)
	if err := binding.BindInput(r.s.inputs[0].Name, in); err != nil {
		b.destroy()
		return nil, fmt.Errorf("bind input %q: %w", r.s.inputs[0].Name, err)
	}
	for i, o := range r.outs {
		name := r.s.outputs[i].Name
		t, err := ort.NewTensor(append(ort.Shape{int64(rows)}, r.outShapes[i]...), o[:rows*r.outRowSize[i]])
		if err != nil {
			b.destroy()
			return nil, fmt.Errorf("output tensor %q for %d rows: %w", name, rows, err)
		}
		b.values = append(b.values, t)
		if err := binding.BindOutput(name, t); err != nil {
			b.destroy()
			return nil, fmt.Errorf("bind output %q: %w", name, err)
		}
	}
	r.bound[rows] = b
	return b, nil
}

func (b *boundTensors) destroy() {
	if b.binding != nil {
		b.binding.Destroy()
	}
	for _, v := range b.values {
		v.Destroy()
	}
}

// Close releases the Runner's onnxruntime tensors.
func (r *Runner) Close() error {
	for rows, b := range r.bound {
		b.destroy()
		delete(r.bound, rows)
	}
	return nil
}
