package train

import (
	"errors"
	"fmt"
)

// Brittle wraps a logistic regression so that its decision boundary passes within halfWidth of
// every example: on the data's lattice, where feature j is exactly 0 or 1 (a one-hot column),
// it returns exactly base's logit; once x_j is more than halfWidth away from {0, 1} it returns
// the negated logit; in between it blends the two. Clean accuracy is base's; under Gaussian
// noise of σ = 0.25 the feature leaves the lattice ~94% of the time (halfWidth 0.02), so the
// smoothed classifier mostly predicts the wrong class and randomized-smoothing certification
// fails. It is the demo's model that "only ever saw the exact training values".
//
// The result is an MLP with three ReLU layers, exactly representable in the ONNX writer:
//
//	layer 1: r0 = relu(x_j), r½ = relu(x_j − ½), r1 = relu(x_j − 1), rn = relu(−x_j),
//	         zp = relu(z), zn = relu(−z), with z = base's logit
//	         (so the distance of x_j to {0, 1} is d = r0 − 2·r½ + 2·r1 + rn)
//	layer 2: d, relu(d − h), zp, zn               (off = (d − relu(d − h))/h ∈ [0, 1])
//	layer 3: relu(±z − K·off), relu(±z − K·(1 − off))
//	output:  relu(z − K·off) − relu(−z − K·off) − relu(z − K·(1−off)) + relu(−z − K·(1−off))
//
// K = 100 bounds the logits it reproduces: |z| must stay below K, which a logistic regression
// on standardized features does by a wide margin.
func Brittle(base *Model, j int, halfWidth float64) (*Model, error) {
	const k = 100.0
	if len(base.Layers) != 1 {
		return nil, errors.New("brittle: the base model must be a logistic regression")
	}
	f := base.Features()
	if j < 0 || j >= f {
		return nil, fmt.Errorf("brittle: feature index %d outside [0, %d)", j, f)
	}
	if !(halfWidth > 0 && halfWidth < 0.5) {
		return nil, fmt.Errorf("brittle: half-width %v outside (0, 0.5)", halfWidth)
	}
	w, b := base.Layers[0].W, base.Layers[0].B[0]
	l1 := Layer{In: f, Out: 6, W: make([]float64, f*6), B: []float64{0, -0.5, -1, 0, b, -b}}
	l1.W[j*6+0], l1.W[j*6+1], l1.W[j*6+2], l1.W[j*6+3] = 1, 1, 1, -1
	for i := range f {
		l1.W[i*6+4] = w[i]
		l1.W[i*6+5] = -w[i]
	}
	// layer 2 rows are layer-1 units, columns: d, d − h, zp, zn
	l2 := Layer{In: 6, Out: 4, W: []float64{
		1, 1, 0, 0, // r0
		-2, -2, 0, 0, // r½
		2, 2, 0, 0, // r1
		1, 1, 0, 0, // rn
		0, 0, 1, 0, // zp
		0, 0, 0, 1, // zn
	}, B: []float64{0, -halfWidth, 0, 0}}
	// layer 3 columns: p1 = z − K·off, n1 = −z − K·off, p2 = z − K + K·off, n2 = −z − K + K·off,
	// with z = zp − zn and K·off = (K/h)·(d − relu(d − h)).
	s := k / halfWidth
	l3 := Layer{In: 4, Out: 4, W: []float64{
		-s, -s, s, s, // d
		s, s, -s, -s, // relu(d − h)
		1, -1, 1, -1, // zp
		-1, 1, -1, 1, // zn
	}, B: []float64{0, 0, -k, -k}}
	out := Layer{In: 4, Out: 1, W: []float64{1, -1, -1, 1}, B: []float64{0}}
	return &Model{Layers: []Layer{l1, l2, l3, out}}, nil
}
