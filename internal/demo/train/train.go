package train

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/responsible-ai/rmodel-operator/internal/demo/dataset"
)

// Kind is the model family.
type Kind string

// Model families.
const (
	// LogisticRegression is one dense layer and a sigmoid.
	LogisticRegression Kind = "logistic_regression"
	// MLP is ReLU hidden layers of Recipe.Hidden widths, then one output unit and a sigmoid.
	MLP Kind = "mlp"
)

// DP configures DP-SGD. The (ε, δ) guarantee follows from NoiseMultiplier, the recipe's
// SampleRate and the number of steps through an RDP accountant; the trainer does not compute it.
type DP struct {
	// NoiseMultiplier σ: the Gaussian noise added to each step's clipped gradient sum has
	// standard deviation σ·ClippingNorm.
	NoiseMultiplier float64 `json:"noise_multiplier"`
	// ClippingNorm C bounds each example's (weighted) gradient in L2 norm.
	ClippingNorm float64 `json:"clipping_norm"`
	// Delta is the δ the ε is reported at; recorded, not used by training.
	Delta float64 `json:"delta"`
}

// Recipe is everything that determines a training run besides the data. It is recorded as JSON
// in the model's rai.recipe metadata, so its field names are a contract.
type Recipe struct {
	Model  Kind  `json:"model"`
	Hidden []int `json:"hidden,omitempty"` // MLP hidden widths, input side first
	// Epochs is the expected number of passes over the data: steps = round(Epochs / SampleRate).
	Epochs       float64 `json:"epochs"`
	LearningRate float64 `json:"lr"`
	// SampleRate q: each step includes every example independently with probability q (Poisson
	// sampling), so the expected batch is q·N. Gradients are summed and divided by q·N.
	SampleRate float64 `json:"sample_rate"`
	// L2 is the weight decay applied to weights (not biases) at every step.
	L2   float64 `json:"l2"`
	Seed uint64  `json:"seed"`
	// Reweighing weights each example's loss by P(s)·P(y)/P(s,y) over the training set, s being
	// the value of ReweighingAttribute (Kamiran & Calders 2012), so that in the weighted data
	// the label is independent of s.
	Reweighing          bool   `json:"reweighing"`
	ReweighingAttribute string `json:"reweighing_attribute,omitempty"`
	// DP enables DP-SGD; nil trains without a privacy guarantee.
	DP *DP `json:"dp,omitempty"`
	// Construction describes a hand-made change applied after training (the demo's brittle
	// model); empty for a model exactly as trained. Train ignores it.
	Construction string `json:"construction,omitempty"`
}

// Steps is the number of optimizer steps, whatever the data size: round(Epochs / SampleRate),
// at least 1.
func (r Recipe) Steps() int {
	return max(1, int(math.Round(r.Epochs/r.SampleRate)))
}

// Validate reports the first field outside its domain, naming it as the rai model train flag.
func (r Recipe) Validate() error {
	bad := func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
	switch {
	case r.Model != LogisticRegression && r.Model != MLP:
		return fmt.Errorf("--model %q: want %q or %q", r.Model, LogisticRegression, MLP)
	case r.Model == MLP && len(r.Hidden) == 0:
		return errors.New("--hidden: an MLP needs at least one hidden layer width")
	case r.Model == LogisticRegression && len(r.Hidden) > 0:
		return errors.New("--hidden: logistic regression has no hidden layers")
	case bad(r.Epochs) || r.Epochs <= 0:
		return fmt.Errorf("--epochs %v: want a positive number", r.Epochs)
	case bad(r.LearningRate) || r.LearningRate <= 0:
		return fmt.Errorf("--lr %v: want a positive number", r.LearningRate)
	case bad(r.SampleRate) || r.SampleRate <= 0 || r.SampleRate > 1:
		return fmt.Errorf("--sample-rate %v: want a number in (0, 1]", r.SampleRate)
	case bad(r.L2) || r.L2 < 0:
		return fmt.Errorf("--l2 %v: want a non-negative number", r.L2)
	case r.Reweighing && r.ReweighingAttribute == "":
		return errors.New("--reweigh-by: reweighing needs a sensitive attribute")
	case r.Steps() > 1_000_000:
		return fmt.Errorf("--epochs %v / --sample-rate %v is %d steps: more than 1,000,000", r.Epochs, r.SampleRate, r.Steps())
	}
	for _, h := range r.Hidden {
		if h < 1 || h > 1024 {
			return fmt.Errorf("--hidden %v: widths must be in [1, 1024]", r.Hidden)
		}
	}
	if d := r.DP; d != nil {
		switch {
		case bad(d.NoiseMultiplier) || d.NoiseMultiplier <= 0:
			return fmt.Errorf("--noise-multiplier %v: want a positive number", d.NoiseMultiplier)
		case bad(d.ClippingNorm) || d.ClippingNorm <= 0:
			return fmt.Errorf("--clip %v: want a positive number", d.ClippingNorm)
		case bad(d.Delta) || d.Delta <= 0 || d.Delta >= 1:
			return fmt.Errorf("--delta %v: want a number in (0, 1)", d.Delta)
		}
	}
	return nil
}

// Stats describe a finished training run.
type Stats struct {
	Steps int // optimizer steps taken
	// MeanBatch is the mean Poisson batch size over the steps (≈ SampleRate·N).
	MeanBatch float64
	// ClippedFraction is the share of per-example gradients DP-SGD clipped (0 without DP).
	ClippedFraction float64
	// Weights are the reweighing weights by "<attribute value>/<label>", nil without reweighing.
	Weights map[string]float64
}

// PCG streams, one per use, so that e.g. changing the noise never changes the batches.
const (
	streamInit   = 0x696e6974 // "init"
	streamSample = 0x73616d70 // "samp"
	streamNoise  = 0x6e6f6973 // "nois"
)

// Train fits a model to t with recipe r: Poisson-sampled mini-batch SGD on the (weighted) binary
// cross-entropy, each step's gradient sum divided by the expected batch size q·N. With r.DP, each
// example's gradient is clipped to L2 norm C before summing and Gaussian noise N(0, σ²C²) is added
// to every coordinate of the sum, as in Opacus. With DP and reweighing, an example's clipped
// gradient is scaled by w / max w, so its contribution stays within C; the steps are then
// smaller by a factor max w than without DP, which a larger learning rate offsets.
//
// Logistic regression starts from zero; MLP weights start He-uniform from the seed.
func Train(r Recipe, t *dataset.Table) (*Model, Stats, error) {
	if err := r.Validate(); err != nil {
		return nil, Stats{}, fmt.Errorf("train: %w", err)
	}
	if t == nil || t.Len() == 0 {
		return nil, Stats{}, errors.New("train: empty training table")
	}
	f := len(t.FeatureNames)
	for i, x := range t.X {
		if len(x) != f {
			return nil, Stats{}, fmt.Errorf("train: row %d has %d features, the table names %d", i, len(x), f)
		}
	}
	var stats Stats
	weights := make([]float64, t.Len())
	for i := range weights {
		weights[i] = 1
	}
	if r.Reweighing {
		w, byCell, err := ReweighingWeights(t, r.ReweighingAttribute)
		if err != nil {
			return nil, Stats{}, fmt.Errorf("train: %w", err)
		}
		weights, stats.Weights = w, byCell
	}

	maxWeight := slices.Max(weights)
	params, m := newModel(r, f)
	grad := make([]float64, len(params))
	exGrad := make([]float64, len(params))
	ws := newWorkspace(m)
	isWeight := weightMask(m)

	sampler := rand.New(rand.NewPCG(r.Seed, streamSample))
	noise := rand.New(rand.NewPCG(r.Seed, streamNoise))
	n := t.Len()
	poisson := newPoissonSampler(sampler, r.SampleRate)
	denom := r.SampleRate * float64(n)
	stats.Steps = r.Steps()
	var batchTotal, clipped int
	for range stats.Steps {
		clear(grad)
		for i := poisson.next(-1); i < n; i = poisson.next(i) {
			batchTotal++
			if r.DP == nil {
				ws.gradient(m, t.X[i], t.Y[i], weights[i], exGrad)
			} else {
				// Clip the unweighted gradient, then scale it by w/max w ≤ 1: the contribution
				// stays within C, the sensitivity the accountant assumes, and the ratios between
				// weights survive clipping (clipping weighted gradients would flatten them).
				ws.gradient(m, t.X[i], t.Y[i], 1, exGrad)
				norm := 0.0
				for _, g := range exGrad {
					norm += g * g
				}
				norm = math.Sqrt(norm)
				if norm > r.DP.ClippingNorm {
					clipped++
					s := r.DP.ClippingNorm / norm
					for k := range exGrad {
						exGrad[k] *= s
					}
				}
				if w := weights[i] / maxWeight; w != 1 {
					for k := range exGrad {
						exGrad[k] *= w
					}
				}
			}
			for k, g := range exGrad {
				grad[k] += g
			}
		}
		if r.DP != nil {
			sd := r.DP.NoiseMultiplier * r.DP.ClippingNorm
			for k := range grad {
				grad[k] += sd * noise.NormFloat64()
			}
		}
		for k := range params {
			g := grad[k] / denom
			if isWeight[k] {
				g += r.L2 * params[k]
			}
			params[k] -= r.LearningRate * g
		}
	}
	stats.MeanBatch = float64(batchTotal) / float64(stats.Steps)
	if r.DP != nil && batchTotal > 0 {
		stats.ClippedFraction = float64(clipped) / float64(batchTotal)
	}
	for _, v := range params {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, stats, errors.New("train: weights diverged to NaN or Inf: lower --lr")
		}
	}
	return m.clone(), stats, nil
}

// ReweighingWeights returns Kamiran & Calders' weight w(s, y) = P(s)·P(y)/P(s, y) for every
// example of t, s being its value of the sensitive column attr, and the weights by
// "<s>/<y>". With these weights the label is independent of s in the training data.
func ReweighingWeights(t *dataset.Table, attr string) ([]float64, map[string]float64, error) {
	groups, ok := t.Sensitive[attr]
	if !ok {
		return nil, nil, fmt.Errorf("reweighing: the table has no sensitive column %q", attr)
	}
	n := float64(t.Len())
	countS := map[string]float64{}
	countY := [2]float64{}
	countSY := map[string]*[2]float64{}
	for i, s := range groups {
		y := t.Y[i]
		countS[s]++
		countY[y]++
		if countSY[s] == nil {
			countSY[s] = &[2]float64{}
		}
		countSY[s][y]++
	}
	byCell := map[string]float64{}
	for s, c := range countSY {
		for y := range 2 {
			if c[y] > 0 {
				// P(s)·P(y)/P(s,y) = count(s)·count(y) / (n·count(s,y))
				byCell[fmt.Sprintf("%s/%d", s, y)] = countS[s] * countY[y] / (n * c[y])
			}
		}
	}
	w := make([]float64, len(groups))
	for i, s := range groups {
		w[i] = byCell[fmt.Sprintf("%s/%d", s, t.Y[i])]
	}
	return w, byCell, nil
}

// newModel allocates the model's parameters as one flat slice that the layers' W and B view, in
// layer order (W then B), which is also the gradient layout.
func newModel(r Recipe, features int) ([]float64, *Model) {
	widths := append(append([]int{features}, r.Hidden...), 1)
	total := 0
	for l := 0; l+1 < len(widths); l++ {
		total += widths[l]*widths[l+1] + widths[l+1]
	}
	params := make([]float64, total)
	m := &Model{}
	off := 0
	for l := 0; l+1 < len(widths); l++ {
		in, out := widths[l], widths[l+1]
		layer := Layer{In: in, Out: out, W: params[off : off+in*out : off+in*out]}
		off += in * out
		layer.B = params[off : off+out : off+out]
		off += out
		m.Layers = append(m.Layers, layer)
	}
	if r.Model == MLP {
		init := rand.New(rand.NewPCG(r.Seed, streamInit))
		for _, layer := range m.Layers {
			limit := math.Sqrt(6 / float64(layer.In)) // He-uniform
			for k := range layer.W {
				layer.W[k] = (2*init.Float64() - 1) * limit
			}
		}
	}
	return params, m
}

// weightMask marks which flat parameters are weights (decayed by L2) rather than biases.
func weightMask(m *Model) []bool {
	var mask []bool
	for _, l := range m.Layers {
		mask = append(mask, slices.Repeat([]bool{true}, len(l.W))...)
		mask = append(mask, make([]bool, len(l.B))...)
	}
	return mask
}

// workspace holds one example's activations for backpropagation.
type workspace struct {
	acts  [][]float64 // acts[l] is the input of layer l; acts[len] the output logit
	delta [][]float64 // delta[l] is dLoss/d(pre-activation of layer l)
}

func newWorkspace(m *Model) *workspace {
	ws := &workspace{}
	ws.acts = append(ws.acts, nil)
	for _, l := range m.Layers {
		ws.acts = append(ws.acts, make([]float64, l.Out))
		ws.delta = append(ws.delta, make([]float64, l.Out))
	}
	return ws
}

// gradient writes into g (flat parameter layout) the gradient of w·BCE(σ(logit(x)), y).
func (ws *workspace) gradient(m *Model, x []float64, y int, w float64, g []float64) {
	ws.acts[0] = x
	last := len(m.Layers) - 1
	for l, layer := range m.Layers {
		in, out := ws.acts[l], ws.acts[l+1]
		for j := range out {
			s := layer.B[j]
			for i := 0; i < layer.In; i++ {
				s += in[i] * layer.W[i*layer.Out+j]
			}
			if l < last {
				s = math.Max(0, s)
			}
			out[j] = s
		}
	}
	// d(BCE)/d(logit) = σ(logit) − y
	ws.delta[last][0] = w * (sigmoid(ws.acts[last+1][0]) - float64(y))
	for l := last; l > 0; l-- {
		layer := m.Layers[l]
		prev := ws.delta[l-1]
		for i := range prev {
			if ws.acts[l][i] <= 0 { // ReLU was inactive
				prev[i] = 0
				continue
			}
			s := 0.0
			for j := 0; j < layer.Out; j++ {
				s += layer.W[i*layer.Out+j] * ws.delta[l][j]
			}
			prev[i] = s
		}
	}
	off := 0
	for l, layer := range m.Layers {
		in, d := ws.acts[l], ws.delta[l]
		for i := 0; i < layer.In; i++ {
			for j := 0; j < layer.Out; j++ {
				g[off+i*layer.Out+j] = in[i] * d[j]
			}
		}
		off += layer.In * layer.Out
		copy(g[off:off+layer.Out], d)
		off += layer.Out
	}
}

// poissonSampler walks the examples of one Poisson-sampled batch: each index is included
// independently with probability q. It draws the gap to the next included index from the
// geometric distribution, P(gap = k) = (1−q)^k·q, so a step costs O(q·N) draws instead of N.
type poissonSampler struct {
	rng     *rand.Rand
	q       float64
	logSkip float64 // log(1 − q)
}

func newPoissonSampler(rng *rand.Rand, q float64) *poissonSampler {
	return &poissonSampler{rng: rng, q: q, logSkip: math.Log1p(-q)}
}

// next returns the next included index after i (pass −1 to start a batch); the batch ends when
// the result reaches the number of examples.
func (p *poissonSampler) next(i int) int {
	if p.q >= 1 {
		return i + 1
	}
	// 1 − Float64() is in (0, 1], so the log is finite.
	gap := math.Floor(math.Log(1-p.rng.Float64()) / p.logSkip)
	if gap > math.MaxInt32 {
		return math.MaxInt
	}
	return i + 1 + int(gap)
}
