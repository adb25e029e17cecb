package textdemo

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/responsible-ai/rmodel-operator/internal/demo/train"
	"github.com/responsible-ai/rmodel-operator/internal/onnxwriter"
)

// Recipe is everything that determines a training run besides the data; it is recorded as JSON
// in the model's rai.recipe metadata.
type Recipe struct {
	Model     string `json:"model"` // "bert_mini_mean_pool" or "bert_mini_window"
	Task      Task   `json:"task"`
	Vocab     int    `json:"vocab"`
	MaxLength int    `json:"max_length"`
	Dim       int    `json:"embedding_dim"`
	Hidden    int    `json:"hidden"`
	// Epochs is the expected number of passes: steps = round(Epochs / SampleRate).
	Epochs       float64 `json:"epochs"`
	LearningRate float64 `json:"lr"` // Adam's step size
	// SampleRate q: Poisson sampling, each example in a step with probability q; the step's
	// gradient sum is divided by q·N.
	SampleRate float64 `json:"sample_rate"`
	Seed       uint64  `json:"seed"`
	// DP enables DP-SGD (per-example clipping to C, Gaussian noise σ·C on every coordinate of
	// the sum, the token embedding table included) before Adam.
	DP *train.DP `json:"dp,omitempty"`
	// Corpus describes the data's construction (counterfactual augmentation, group shares).
	Corpus string `json:"corpus,omitempty"`
}

// Steps is round(Epochs / SampleRate), at least 1.
func (r Recipe) Steps() int { return max(1, int(math.Round(r.Epochs/r.SampleRate))) }

// Validate reports the first field outside its domain.
func (r Recipe) Validate() error {
	bad := func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
	switch {
	case r.Task != TextClassification && r.Task != TokenClassification:
		return fmt.Errorf("task %q: want %q or %q", r.Task, TextClassification, TokenClassification)
	case r.Vocab < 1 || r.MaxLength < 2 || r.Dim < 1 || r.Hidden < 1:
		return fmt.Errorf("vocab %d, max length %d, dim %d, hidden %d: want positive sizes", r.Vocab, r.MaxLength, r.Dim, r.Hidden)
	case bad(r.Epochs) || r.Epochs <= 0:
		return fmt.Errorf("epochs %v: want a positive number", r.Epochs)
	case bad(r.LearningRate) || r.LearningRate <= 0:
		return fmt.Errorf("lr %v: want a positive number", r.LearningRate)
	case bad(r.SampleRate) || r.SampleRate <= 0 || r.SampleRate > 1:
		return fmt.Errorf("sample rate %v: want a number in (0, 1]", r.SampleRate)
	case r.Steps() > 100_000:
		return fmt.Errorf("%d steps: more than 100,000", r.Steps())
	}
	if d := r.DP; d != nil && (bad(d.NoiseMultiplier) || d.NoiseMultiplier <= 0 || bad(d.ClippingNorm) || d.ClippingNorm <= 0 || bad(d.Delta) || d.Delta <= 0 || d.Delta >= 1) {
		return fmt.Errorf("dp %+v: want σ > 0, C > 0, δ in (0, 1)", *d)
	}
	return nil
}

// Stats describe a finished run.
type Stats struct {
	Steps     int     `json:"steps"`
	MeanBatch float64 `json:"meanBatch"`
	// ClippedFraction is the share of per-example gradients DP-SGD clipped (0 without DP).
	ClippedFraction float64 `json:"clippedFraction"`
	// FinalLoss is the mean training loss over the last 10% of steps' batches.
	FinalLoss float64 `json:"finalLoss"`
}

// Model is a trained model: one of Classifier and Tagger is set, after the recipe's task.
type Model struct {
	Recipe     Recipe
	Labels     []string
	Classifier *onnxwriter.TextClassifier
	Tagger     *onnxwriter.TokenClassifier
}

// PCG streams, one per use.
const (
	streamInit   = 0x696e6974 // "init"
	streamSample = 0x73616d70 // "samp"
	streamNoise  = 0x6e6f6973 // "nois"
)

const (
	adamBeta1 = 0.9
	adamBeta2 = 0.999
	adamEps   = 1e-8
)

// Train fits the recipe's model to the examples with Adam on Poisson-sampled batches, from
// weights drawn from the seed: same recipe and examples, same weights (on one architecture).
// Without DP, token embedding rows that a step's batch does not touch are left alone (lazy
// Adam: their gradient is zero); with DP every row receives noise and is updated.
func Train(r Recipe, labels []string, examples []Example) (*Model, Stats, error) {
	if err := r.Validate(); err != nil {
		return nil, Stats{}, fmt.Errorf("train: %w", err)
	}
	if len(examples) == 0 || len(labels) < 2 {
		return nil, Stats{}, errors.New("train: no examples, or fewer than two labels")
	}
	n := newNet(r.Task, r.Vocab, r.MaxLength, r.Dim, r.Hidden, len(labels), r.Seed)
	for i, ex := range examples {
		if err := n.checkExample(i, ex); err != nil {
			return nil, Stats{}, fmt.Errorf("train: %w", err)
		}
	}
	stats, err := n.fit(r, examples)
	if err != nil {
		return nil, stats, err
	}
	enc, hidden, out := n.export()
	m := &Model{Recipe: r, Labels: append([]string(nil), labels...)}
	if r.Task == TextClassification {
		m.Classifier = &onnxwriter.TextClassifier{Encoder: enc, Hidden: hidden, Output: out}
	} else {
		m.Tagger = &onnxwriter.TokenClassifier{Encoder: enc, Hidden: hidden, Output: out}
	}
	return m, stats, nil
}

func (n *net) fit(r Recipe, examples []Example) (Stats, error) {
	d := n.dim
	gDense := make([]float64, len(n.dense))
	mDense, vDense := make([]float64, len(n.dense)), make([]float64, len(n.dense))
	gTok := make([]float64, len(n.tok))
	mTok, vTok := make([]float64, len(n.tok)), make([]float64, len(n.tok))
	touched := make([]bool, n.vocab)
	var rows []int
	ws := n.newWorkspace()
	sampler := rand.New(rand.NewPCG(r.Seed, streamSample))
	noise := rand.New(rand.NewPCG(r.Seed, streamNoise))
	N := len(examples)
	denom := r.SampleRate * float64(N)
	stats := Stats{Steps: r.Steps()}
	var batchTotal, clipped, tailCount int
	tailLoss := 0.0
	tailFrom := stats.Steps - max(1, stats.Steps/10)
	for step := range stats.Steps {
		clear(gDense)
		for _, id := range rows {
			clear(gTok[id*d : (id+1)*d])
			touched[id] = false
		}
		rows = rows[:0]
		for i := range N {
			if r.SampleRate < 1 && sampler.Float64() >= r.SampleRate {
				continue
			}
			batchTotal++
			loss := n.gradient(ws, examples[i])
			if step >= tailFrom {
				tailLoss += loss
				tailCount++
			}
			scale := 1.0
			if r.DP != nil {
				norm := 0.0
				for _, g := range ws.dense {
					norm += g * g
				}
				for _, row := range ws.rows {
					for _, g := range row {
						norm += g * g
					}
				}
				if norm = math.Sqrt(norm); norm > r.DP.ClippingNorm {
					clipped++
					scale = r.DP.ClippingNorm / norm
				}
			}
			for k, g := range ws.dense {
				gDense[k] += scale * g
			}
			for j, id := range ws.ids {
				if !touched[id] {
					touched[id] = true
					rows = append(rows, id)
				}
				dst := gTok[id*d : (id+1)*d]
				for k, g := range ws.rows[j] {
					dst[k] += scale * g
				}
			}
		}
		t := float64(step + 1)
		lr := r.LearningRate * math.Sqrt(1-math.Pow(adamBeta2, t)) / (1 - math.Pow(adamBeta1, t))
		adam := func(p, g, m, v []float64) {
			for k := range p {
				gk := g[k] / denom
				m[k] = adamBeta1*m[k] + (1-adamBeta1)*gk
				v[k] = adamBeta2*v[k] + (1-adamBeta2)*gk*gk
				p[k] -= lr * m[k] / (math.Sqrt(v[k]) + adamEps)
			}
		}
		if r.DP != nil {
			sd := r.DP.NoiseMultiplier * r.DP.ClippingNorm
			for k := range gDense {
				gDense[k] += sd * noise.NormFloat64()
			}
			for k := range gTok {
				gTok[k] += sd * noise.NormFloat64()
			}
			adam(n.tok, gTok, mTok, vTok)
			clear(gTok)
			rows = rows[:0]
			clear(touched)
		} else {
			// Lazy Adam: rows in the order first touched, so the arithmetic is deterministic.
			for _, id := range rows {
				s := id * d
				adam(n.tok[s:s+d], gTok[s:s+d], mTok[s:s+d], vTok[s:s+d])
			}
		}
		adam(n.dense, gDense, mDense, vDense)
	}
	stats.MeanBatch = float64(batchTotal) / float64(stats.Steps)
	if r.DP != nil && batchTotal > 0 {
		stats.ClippedFraction = float64(clipped) / float64(batchTotal)
	}
	if tailCount > 0 {
		stats.FinalLoss = tailLoss / float64(tailCount)
	}
	for _, v := range n.dense {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return stats, errors.New("train: weights diverged to NaN or Inf: lower the learning rate")
		}
	}
	return stats, nil
}
