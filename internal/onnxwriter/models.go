package onnxwriter

import (
	"fmt"
	"math"
)

// The binary-classifier convention every model in this project follows, so that evaluators and
// the server can read any of them the same way:
//
//   - one input, InputName, float32 of shape [N, F] (N dynamic, named "N");
//   - one output, OutputName, float32 of shape [N, 1]: column 0 is P(y = 1), the probability of
//     the favorable (positive) class.
const (
	InputName  = "features"
	OutputName = "probability"
)

// Dense is a fully connected layer: y = x·W + B, with W stored row-major as In rows of Out
// columns (W[i*Out+j] is the weight from input i to output j).
type Dense struct {
	In, Out int
	W       []float32
	B       []float32
}

func (d Dense) check(name string) error {
	if d.In < 1 || d.Out < 1 || len(d.W) != d.In*d.Out || len(d.B) != d.Out {
		return fmt.Errorf("layer %s: In=%d Out=%d wants %d weights and %d biases, have %d and %d",
			name, d.In, d.Out, d.In*d.Out, d.Out, len(d.W), len(d.B))
	}
	return nil
}

// apply computes x·W + B for one row in float64.
func (d Dense) apply(x []float64) []float64 {
	y := make([]float64, d.Out)
	for j := range y {
		s := float64(d.B[j])
		for i := 0; i < d.In; i++ {
			s += x[i] * float64(d.W[i*d.Out+j])
		}
		y[j] = s
	}
	return y
}

// MLP is a binary classifier: Hidden layers with ReLU, then an output layer with one unit and a
// sigmoid. With no hidden layers it is logistic regression.
type MLP struct {
	Hidden []Dense
	Output Dense // Out must be 1
}

// LogisticRegression returns the MLP without hidden layers: P(y=1|x) = σ(x·w + b).
func LogisticRegression(w []float32, b float32) MLP {
	return MLP{Output: Dense{In: len(w), Out: 1, W: append([]float32(nil), w...), B: []float32{b}}}
}

// Features is the number of input features.
func (m MLP) Features() int {
	if len(m.Hidden) > 0 {
		return m.Hidden[0].In
	}
	return m.Output.In
}

func (m MLP) check() error {
	prev := m.Features()
	for i, h := range m.Hidden {
		if err := h.check(fmt.Sprintf("hidden[%d]", i)); err != nil {
			return err
		}
		if h.In != prev {
			return fmt.Errorf("layer hidden[%d]: In=%d, previous layer gives %d", i, h.In, prev)
		}
		prev = h.Out
	}
	if err := m.Output.check("output"); err != nil {
		return err
	}
	if m.Output.In != prev {
		return fmt.Errorf("output layer: In=%d, previous layer gives %d", m.Output.In, prev)
	}
	if m.Output.Out != 1 {
		return fmt.Errorf("output layer: Out=%d, a binary classifier has 1", m.Output.Out)
	}
	return nil
}

// Predict is the Go reference: P(y=1|x) for one row of Features() values, computed in float64.
func (m MLP) Predict(x []float32) float64 {
	h := make([]float64, len(x))
	for i, v := range x {
		h[i] = float64(v)
	}
	for _, layer := range m.Hidden {
		h = layer.apply(h)
		for i := range h {
			h[i] = math.Max(0, h[i])
		}
	}
	z := m.Output.apply(h)[0]
	return 1 / (1 + math.Exp(-z))
}

// ModelInfo is what a written model says about itself.
type ModelInfo struct {
	GraphName       string
	ProducerName    string // defaults to "rai"
	ProducerVersion string
	ModelVersion    int64
	DocString       string
	// Metadata becomes the model's metadata_props (for example the feature names, the favorable
	// label, the training data digest).
	Metadata map[string]string
}

// Model builds the ONNX model of m: Gemm (+ Relu) per hidden layer, Gemm + Sigmoid at the end,
// following the InputName/OutputName convention.
func (m MLP) Model(info ModelInfo) (*Model, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	g := Graph{
		Name:    info.GraphName,
		Inputs:  []ValueInfo{{Name: InputName, ElemType: Float, Shape: []Dim{{Param: "N"}, {Value: int64(m.Features())}}}},
		Outputs: []ValueInfo{{Name: OutputName, ElemType: Float, Shape: []Dim{{Param: "N"}, {Value: 1}}}},
	}
	if g.Name == "" {
		g.Name = "binary_classifier"
	}
	x := InputName
	gemm := func(name string, d Dense, out string) {
		w, b := name+".weight", name+".bias"
		g.Initializers = append(g.Initializers,
			Tensor{Name: w, Dims: []int64{int64(d.In), int64(d.Out)}, Float: d.W},
			Tensor{Name: b, Dims: []int64{int64(d.Out)}, Float: d.B})
		g.Nodes = append(g.Nodes, Node{OpType: "Gemm", Name: name, Inputs: []string{x, w, b}, Outputs: []string{out}})
		x = out
	}
	for i, h := range m.Hidden {
		name := fmt.Sprintf("hidden%d", i)
		gemm(name, h, name+".linear")
		g.Nodes = append(g.Nodes, Node{OpType: "Relu", Name: name + ".relu", Inputs: []string{x}, Outputs: []string{name + ".out"}})
		x = name + ".out"
	}
	gemm("output", m.Output, "logit")
	g.Nodes = append(g.Nodes, Node{OpType: "Sigmoid", Name: "sigmoid", Inputs: []string{x}, Outputs: []string{OutputName}})
	producer := info.ProducerName
	if producer == "" {
		producer = "rai"
	}
	return &Model{
		ProducerName:    producer,
		ProducerVersion: info.ProducerVersion,
		ModelVersion:    info.ModelVersion,
		DocString:       info.DocString,
		Metadata:        info.Metadata,
		Graph:           g,
	}, nil
}

// Marshal is Model followed by Model.Marshal: the ONNX bytes of m.
func (m MLP) Marshal(info ModelInfo) ([]byte, error) {
	model, err := m.Model(info)
	if err != nil {
		return nil, err
	}
	return model.Marshal()
}

// RandomMLP returns an MLP with the given layer widths (features, hidden..., and a final output
// of 1 added), its weights drawn from next (for example a seeded rand.Float64) scaled by
// 1/sqrt(fan-in) so that outputs stay away from saturation. For tests, demos and benchmarks.
func RandomMLP(next func() float64, features int, hidden ...int) MLP {
	layer := func(in, out int) Dense {
		d := Dense{In: in, Out: out, W: make([]float32, in*out), B: make([]float32, out)}
		s := 1 / math.Sqrt(float64(in))
		for i := range d.W {
			d.W[i] = float32((2*next() - 1) * s)
		}
		for i := range d.B {
			d.B[i] = float32((2*next() - 1) * 0.1)
		}
		return d
	}
	var m MLP
	prev := features
	for _, h := range hidden {
		m.Hidden = append(m.Hidden, layer(prev, h))
		prev = h
	}
	m.Output = layer(prev, 1)
	return m
}
