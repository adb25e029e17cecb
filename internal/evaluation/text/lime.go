package text

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// LIME's text explainer defaults (lime_text.LimeTextExplainer and explain_instance).
const (
	DefaultLIMESamples     = 5000
	DefaultLIMEKernelWidth = 25.0
)

// LIMEOptions configure LIME. Zero values take LIME's defaults.
type LIMEOptions struct {
	// Samples is the number of perturbed texts, the original included (LIME's num_samples).
	Samples int
	// KernelWidth is the width of the exponential kernel over cosine distance × 100.
	KernelWidth float64
	// Alpha is the ridge penalty (scikit-learn's Ridge default, which LIME uses, is 1); a
	// negative value fits ordinary weighted least squares.
	Alpha float64
	// Mask replaces a removed word; "" deletes it (LIME's default for text).
	Mask      string
	Seed      uint64
	BatchSize int
}

// LIMEExplanation is the weighted linear model fitted around one text: the score is
// approximated by Intercept + Σ Weights[i]·[word i present].
type LIMEExplanation struct {
	Words     []string  `json:"words"`
	Weights   []float64 `json:"weights"`
	Intercept float64   `json:"intercept"`
	// R2 is the fit's weighted coefficient of determination (LIME's "score").
	R2 float64 `json:"r2"`
	// Prediction is the model's score of the unperturbed text; LocalPrediction the linear
	// model's.
	Prediction      float64 `json:"prediction"`
	LocalPrediction float64 `json:"localPrediction"`
}

// LIME explains s's score of text (Ribeiro et al. 2016, as the lime package does for text):
// the first sample is the text itself, each other sample removes k words chosen uniformly
// (k uniform in 1 … d−1), samples are weighted by sqrt(exp(−D²/width²)) with D the cosine
// distance × 100 between the sample's binary word-presence vector and all-ones, and a weighted
// ridge regression on the presence vectors gives each word's weight. All words are kept
// (LIME's feature_selection "none"); words are positions, so a repeated word is two features
// (LIME's bow=False).
func LIME(ctx context.Context, s Scorer, text string, opts LIMEOptions) (LIMEExplanation, error) {
	words := SplitWords(text)
	d := words.Len()
	if d == 0 {
		return LIMEExplanation{}, errors.New("LIME: the text has no words")
	}
	n := opts.Samples
	if n == 0 {
		n = DefaultLIMESamples
	}
	width := opts.KernelWidth
	if width == 0 {
		width = DefaultLIMEKernelWidth
	}
	alpha := opts.Alpha
	switch {
	case alpha == 0:
		alpha = 1
	case alpha < 0:
		alpha = 0
	}
	if n < 2 || width < 0 {
		return LIMEExplanation{}, fmt.Errorf("LIME: %d samples, kernel width %v", n, width)
	}

	rng := rand.New(rand.NewPCG(opts.Seed, 0x11e))
	z := mat.NewDense(n, d, nil)
	texts := make([]string, n)
	weights := make([]float64, n)
	present := make([]bool, d)
	perm := make([]int, d)
	for r := 0; r < n; r++ {
		for j := range present {
			present[j] = true
		}
		if r > 0 {
			k := 1
			if d > 1 {
				k = 1 + rng.IntN(d-1)
			}
			for j := range perm {
				perm[j] = j
			}
			rng.Shuffle(d, func(a, b int) { perm[a], perm[b] = perm[b], perm[a] })
			for _, j := range perm[:k] {
				present[j] = false
			}
		}
		for j, p := range present {
			if p {
				z.Set(r, j, 1)
			}
		}
		texts[r] = words.Mask(present, opts.Mask)
		weights[r] = limeKernel(present, width)
	}
	y, err := scoreAll(ctx, s, texts, opts.BatchSize)
	if err != nil {
		return LIMEExplanation{}, fmt.Errorf("LIME: %w", err)
	}
	beta, intercept, r2, err := weightedRidge(z, y, weights, alpha)
	if err != nil {
		return LIMEExplanation{}, fmt.Errorf("LIME: %w", err)
	}
	local := intercept
	for _, b := range beta {
		local += b
	}
	return LIMEExplanation{
		Words: words.List(), Weights: beta, Intercept: intercept, R2: r2,
		Prediction: y[0], LocalPrediction: local,
	}, nil
}

// limeKernel is LIME's text kernel: sqrt(exp(−D²/width²)) with D = 100 × cosine distance
// between the presence vector and the all-ones vector of the original text.
func limeKernel(present []bool, width float64) float64 {
	on := 0
	for _, p := range present {
		if p {
			on++
		}
	}
	cos := 0.0
	if on > 0 {
		cos = float64(on) / math.Sqrt(float64(on)*float64(len(present)))
	}
	dist := (1 - cos) * 100
	return math.Sqrt(math.Exp(-dist * dist / (width * width)))
}

// weightedRidge minimizes Σ wᵢ(yᵢ − b − xᵢ·β)² + α‖β‖² (the intercept is not penalized), as
// scikit-learn's Ridge with sample weights does: center on the weighted means, then solve
// (XcᵀWXc + αI)β = XcᵀW yc. It returns β, b and the weighted R².
func weightedRidge(x *mat.Dense, y, w []float64, alpha float64) (beta []float64, intercept, r2 float64, err error) {
	n, d := x.Dims()
	var sw, ybar float64
	xbar := make([]float64, d)
	for i := 0; i < n; i++ {
		sw += w[i]
		ybar += w[i] * y[i]
		for j := 0; j < d; j++ {
			xbar[j] += w[i] * x.At(i, j)
		}
	}
	if sw <= 0 {
		return nil, 0, 0, errors.New("all sample weights are zero")
	}
	ybar /= sw
	for j := range xbar {
		xbar[j] /= sw
	}
	a := mat.NewSymDense(d, nil)
	rhs := mat.NewVecDense(d, nil)
	xc := make([]float64, d)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			xc[j] = x.At(i, j) - xbar[j]
		}
		yc := y[i] - ybar
		for j := 0; j < d; j++ {
			rhs.SetVec(j, rhs.AtVec(j)+w[i]*xc[j]*yc)
			for k := j; k < d; k++ {
				a.SetSym(j, k, a.At(j, k)+w[i]*xc[j]*xc[k])
			}
		}
	}
	for j := 0; j < d; j++ {
		a.SetSym(j, j, a.At(j, j)+alpha)
	}
	var chol mat.Cholesky
	if !chol.Factorize(a) {
		return nil, 0, 0, errors.New("the weighted design is singular (too few samples for the words; use a ridge penalty)")
	}
	var b mat.VecDense
	if err := chol.SolveVecTo(&b, rhs); err != nil {
		return nil, 0, 0, fmt.Errorf("solve ridge: %w", err)
	}
	beta = make([]float64, d)
	intercept = ybar
	for j := range beta {
		beta[j] = b.AtVec(j)
		intercept -= beta[j] * xbar[j]
	}
	var ssRes, ssTot float64
	for i := 0; i < n; i++ {
		pred := intercept
		for j := 0; j < d; j++ {
			pred += beta[j] * x.At(i, j)
		}
		ssRes += w[i] * (y[i] - pred) * (y[i] - pred)
		ssTot += w[i] * (y[i] - ybar) * (y[i] - ybar)
	}
	r2 = 1.0
	if ssTot > 0 {
		r2 = 1 - ssRes/ssTot
	}
	return beta, intercept, r2, nil
}
