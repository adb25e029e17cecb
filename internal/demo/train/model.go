// Package train trains the project's demo models in pure Go: logistic regression and small
// multi-layer perceptrons for binary classification, optionally with DP-SGD (Abadi et al. 2016,
// as Opacus implements it) and with reweighing (Kamiran & Calders 2012) as bias mitigation.
//
// Everything is float64 and seeded: the same Recipe on the same Table gives the same weights,
// bit for bit, on every run and platform (no goroutines, no map-order dependence, math/rand/v2
// PCG streams). The trained Model converts to the project's ONNX writer (onnxwriter.MLP); its
// Predict matches what onnxruntime computes from the export up to float32 rounding.
package train

import (
	"fmt"
	"math"

	"github.com/responsible-ai/rmodel-operator/internal/onnxwriter"
)

// Layer is a dense layer y = x·W + B, with W row-major: In rows of Out columns (W[i*Out+j] is
// the weight from input i to output j), the layout of onnxwriter.Dense.
type Layer struct {
	In, Out int
	W, B    []float64
}

// Model is a binary classifier: every layer but the last is followed by ReLU; the last layer has
// one output, the logit of P(label = 1). One layer is logistic regression.
type Model struct {
	Layers []Layer
}

// Features is the number of inputs.
func (m *Model) Features() int { return m.Layers[0].In }

// Logit returns the model's logit for one row of Features() values.
func (m *Model) Logit(x []float64) float64 {
	h := x
	for l, layer := range m.Layers {
		out := make([]float64, layer.Out)
		for j := range out {
			s := layer.B[j]
			for i := 0; i < layer.In; i++ {
				s += h[i] * layer.W[i*layer.Out+j]
			}
			if l < len(m.Layers)-1 {
				s = math.Max(0, s)
			}
			out[j] = s
		}
		h = out
	}
	return h[0]
}

// Predict returns P(label = 1 | x), the favorable-outcome probability.
func (m *Model) Predict(x []float64) float64 { return sigmoid(m.Logit(x)) }

// Export converts m to the ONNX writer's MLP (float32 weights). Its Predict, and onnxruntime's
// output for the written model, equal m.Predict up to float32 rounding.
func (m *Model) Export() (onnxwriter.MLP, error) {
	if len(m.Layers) == 0 {
		return onnxwriter.MLP{}, fmt.Errorf("export model: no layers")
	}
	conv := func(l Layer) onnxwriter.Dense {
		d := onnxwriter.Dense{In: l.In, Out: l.Out, W: make([]float32, len(l.W)), B: make([]float32, len(l.B))}
		for i, v := range l.W {
			d.W[i] = float32(v)
		}
		for i, v := range l.B {
			d.B[i] = float32(v)
		}
		return d
	}
	var out onnxwriter.MLP
	for _, l := range m.Layers[:len(m.Layers)-1] {
		out.Hidden = append(out.Hidden, conv(l))
	}
	out.Output = conv(m.Layers[len(m.Layers)-1])
	return out, nil
}

// numParams is the number of weights and biases.
func (m *Model) numParams() int {
	n := 0
	for _, l := range m.Layers {
		n += len(l.W) + len(l.B)
	}
	return n
}

// clone returns a deep copy of m.
func (m *Model) clone() *Model {
	c := &Model{Layers: make([]Layer, len(m.Layers))}
	for i, l := range m.Layers {
		c.Layers[i] = Layer{In: l.In, Out: l.Out, W: append([]float64(nil), l.W...), B: append([]float64(nil), l.B...)}
	}
	return c
}

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}
