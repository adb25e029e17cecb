package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/responsible-ai/rmodel-operator/internal/demo/dataset"
)

// smallData is a 4,000-row slice of the demo's data set.
func smallData(t *testing.T, seed uint64) dataset.Splits {
	t.Helper()
	s, err := dataset.Generate(dataset.Config{Seed: seed, Bias: 0.9, TrainRows: 4000, EvalRows: 2000, AuditRows: 200})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func logreg() Recipe {
	return Recipe{Model: LogisticRegression, Epochs: 5, LearningRate: 0.5, SampleRate: 0.05, Seed: 1}
}

func allParams(m *Model) []float64 {
	var p []float64
	for _, l := range m.Layers {
		p = append(append(p, l.W...), l.B...)
	}
	return p
}

func bce(m *Model, x []float64, y int) float64 {
	p := m.Predict(x)
	if y == 1 {
		return -math.Log(p)
	}
	return -math.Log(1 - p)
}

// Backpropagation must agree with central finite differences, weight by weight.
func TestGradientMatchesFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, r := range []Recipe{
		{Model: LogisticRegression, Seed: 1},
		{Model: MLP, Hidden: []int{5, 3}, Seed: 2},
	} {
		params, m := newModel(r, 4)
		for k := range params {
			params[k] += 0.3 * rng.NormFloat64() // move off the zero start so every path is live
		}
		x := []float64{0.7, -1.2, 0.4, 1.9}
		for _, y := range []int{0, 1} {
			g := make([]float64, len(params))
			newWorkspace(m).gradient(m, x, y, 1.5, g)
			for k := range params {
				old := params[k]
				const eps = 1e-6
				params[k] = old + eps
				up := bce(m, x, y)
				params[k] = old - eps
				down := bce(m, x, y)
				params[k] = old
				want := 1.5 * (up - down) / (2 * eps)
				if math.Abs(g[k]-want) > 1e-6 {
					t.Fatalf("%s y=%d: dLoss/dparam[%d] = %v by backprop, %v by finite differences", r.Model, y, k, g[k], want)
				}
			}
		}
	}
}

func TestTrainingIsReproducible(t *testing.T) {
	s := smallData(t, 1)
	for name, r := range map[string]Recipe{
		"dp logistic regression": func() Recipe {
			r := logreg()
			r.DP = &DP{NoiseMultiplier: 1, ClippingNorm: 1, Delta: 1e-5}
			return r
		}(),
		"mlp": {Model: MLP, Hidden: []int{8}, Epochs: 2, LearningRate: 0.2, SampleRate: 0.05, Seed: 1},
	} {
		t.Run(name, func(t *testing.T) {
			a, _, err := Train(r, s.Train)
			if err != nil {
				t.Fatal(err)
			}
			b, _, _ := Train(r, s.Train)
			if !slices.Equal(allParams(a), allParams(b)) {
				t.Fatal("same recipe and data, different weights")
			}
			r.Seed++
			c, _, _ := Train(r, s.Train)
			if slices.Equal(allParams(a), allParams(c)) {
				t.Fatal("seeds 1 and 2 gave the same weights")
			}
		})
	}
}

func TestLearnsTheGeneratingModel(t *testing.T) {
	s := smallData(t, 2)
	for name, r := range map[string]Recipe{
		"logistic regression": logreg(),
		"mlp":                 {Model: MLP, Hidden: []int{16}, Epochs: 10, LearningRate: 0.2, SampleRate: 0.05, Seed: 1},
	} {
		m, st, err := Train(r, s.Train)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := Summarize(m, s.Eval, dataset.SexColumn)
		if err != nil {
			t.Fatal(err)
		}
		// The label's noise caps accuracy near 0.82; a model that learned nothing gets ~0.55.
		if sum.Accuracy < 0.77 {
			t.Errorf("%s: eval accuracy %.3f, want ≥ 0.77", name, sum.Accuracy)
		}
		if want := 0.05 * 4000; math.Abs(st.MeanBatch-want) > 0.05*want {
			t.Errorf("%s: mean Poisson batch %.1f, want ≈ %.0f", name, st.MeanBatch, want)
		}
	}
}

func TestDPSGDClipsAndAddsNoise(t *testing.T) {
	s := smallData(t, 3)
	plain, _, _ := Train(logreg(), s.Train)
	r := logreg()
	r.DP = &DP{NoiseMultiplier: 1, ClippingNorm: 0.5, Delta: 1e-5}
	dp, st, err := Train(r, s.Train)
	if err != nil {
		t.Fatal(err)
	}
	if st.ClippedFraction <= 0.05 {
		t.Errorf("clipped fraction %.3f at C = 0.5: want a real share clipped", st.ClippedFraction)
	}
	// Huge noise drowns the signal: accuracy falls toward chance.
	r.DP = &DP{NoiseMultiplier: 500, ClippingNorm: 0.5, Delta: 1e-5}
	noisy, _, _ := Train(r, s.Train)
	acc := func(m *Model) float64 {
		sum, _ := Summarize(m, s.Eval, dataset.SexColumn)
		return sum.Accuracy
	}
	if acc(dp) < acc(plain)-0.03 {
		t.Errorf("DP-SGD with σ = 1 lost too much: %.3f vs %.3f without DP", acc(dp), acc(plain))
	}
	if acc(noisy) > acc(plain)-0.1 {
		t.Errorf("σ = 500 still reached %.3f (plain %.3f): is the noise added?", acc(noisy), acc(plain))
	}
}

func TestReweighingWeights(t *testing.T) {
	// 6 rows: group a has labels 1,1,1,0; group b has 1,0. P(a)=4/6, P(y=1)=4/6, P(a,1)=3/6.
	tab := &dataset.Table{
		FeatureNames: []string{"x"},
		X:            [][]float64{{0}, {0}, {0}, {0}, {0}, {0}},
		Y:            []int{1, 1, 1, 0, 1, 0},
		Sensitive:    map[string][]string{"s": {"a", "a", "a", "a", "b", "b"}},
	}
	w, byCell, err := ReweighingWeights(tab, "s")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"a/1": (4.0 / 6) * (4.0 / 6) / (3.0 / 6), "a/0": (4.0 / 6) * (2.0 / 6) / (1.0 / 6), "b/1": (2.0 / 6) * (4.0 / 6) / (1.0 / 6), "b/0": (2.0 / 6) * (2.0 / 6) / (1.0 / 6)}
	for k, v := range want {
		if math.Abs(byCell[k]-v) > 1e-12 {
			t.Errorf("w(%s) = %v, want %v", k, byCell[k], v)
		}
	}
	// In the weighted data the favorable rate is the same in every group.
	rate := func(g string) float64 {
		var num, den float64
		for i, s := range tab.Sensitive["s"] {
			if s == g {
				num += w[i] * float64(tab.Y[i])
				den += w[i]
			}
		}
		return num / den
	}
	if math.Abs(rate("a")-rate("b")) > 1e-12 {
		t.Errorf("weighted favorable rates a=%v b=%v differ", rate("a"), rate("b"))
	}
	if _, _, err := ReweighingWeights(tab, "nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("missing column: err = %v", err)
	}
}

// Reweighing is what turns the biased data into a fair model: it must raise the demographic
// parity ratio, with and without DP.
func TestReweighingReducesDisparity(t *testing.T) {
	s, err := dataset.Generate(dataset.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, dp := range []*DP{nil, {NoiseMultiplier: 2, ClippingNorm: 1, Delta: 1e-5}} {
		r := logreg()
		r.DP = dp
		biased, _, _ := Train(r, s.Train)
		r.Reweighing, r.ReweighingAttribute = true, dataset.SexColumn
		fair, st, _ := Train(r, s.Train)
		b, _ := Summarize(biased, s.Eval, dataset.SexColumn)
		f, _ := Summarize(fair, s.Eval, dataset.SexColumn)
		if b.DemographicParityRatio >= 0.8 || f.DemographicParityRatio < 0.8 || f.DemographicParityRatio < b.DemographicParityRatio+0.1 {
			t.Errorf("dp=%v: demographic parity ratio %.3f without reweighing, %.3f with (weights %v)", dp != nil, b.DemographicParityRatio, f.DemographicParityRatio, st.Weights)
		}
	}
}

func TestRecipeValidate(t *testing.T) {
	cases := map[string]struct {
		edit func(*Recipe)
		want string
	}{
		"model":       {func(r *Recipe) { r.Model = "svm" }, `--model "svm"`},
		"mlp hidden":  {func(r *Recipe) { r.Model = MLP }, "--hidden"},
		"lr hidden":   {func(r *Recipe) { r.Hidden = []int{3} }, "--hidden"},
		"epochs":      {func(r *Recipe) { r.Epochs = 0 }, "--epochs"},
		"lr":          {func(r *Recipe) { r.LearningRate = math.NaN() }, "--lr"},
		"sample rate": {func(r *Recipe) { r.SampleRate = 1.5 }, "--sample-rate"},
		"reweigh":     {func(r *Recipe) { r.Reweighing = true }, "--reweigh-by"},
		"noise":       {func(r *Recipe) { r.DP = &DP{NoiseMultiplier: 0, ClippingNorm: 1, Delta: 1e-5} }, "--noise-multiplier"},
		"clip":        {func(r *Recipe) { r.DP = &DP{NoiseMultiplier: 1, ClippingNorm: -1, Delta: 1e-5} }, "--clip"},
		"delta":       {func(r *Recipe) { r.DP = &DP{NoiseMultiplier: 1, ClippingNorm: 1, Delta: 1} }, "--delta"},
		"steps":       {func(r *Recipe) { r.Epochs, r.SampleRate = 1e6, 1e-3 }, "1,000,000"},
	}
	for name, c := range cases {
		r := logreg()
		c.edit(&r)
		if err := r.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to mention %s", name, err, c.want)
		}
	}
	if err := logreg().Validate(); err != nil {
		t.Errorf("valid recipe: %v", err)
	}
}

// constantTable has n identical rows x with label y and alternating sex.
func constantTable(n int, x []float64, y int) *dataset.Table {
	t := &dataset.Table{FeatureNames: make([]string, len(x)), Sensitive: map[string][]string{"sex": make([]string, n)}}
	for i := range n {
		t.X = append(t.X, x)
		t.Y = append(t.Y, y)
		t.Sensitive["sex"][i] = []string{"female", "male"}[i%2]
	}
	for j := range x {
		t.FeatureNames[j] = fmt.Sprintf("f%d", j)
	}
	return t
}

// With all-zero features every weight's gradient is exactly zero, so after one DP-SGD step the
// weights are pure noise: −lr·N(0, σ²C²)/(q·N). Their spread must match.
func TestDPSGDNoiseScale(t *testing.T) {
	const f, n, q, sigma, c, lr = 400, 1000, 0.1, 2.0, 0.5, 1.0
	tab := constantTable(n, make([]float64, f), 1)
	r := Recipe{Model: LogisticRegression, Epochs: q, LearningRate: lr, SampleRate: q, Seed: 9,
		DP: &DP{NoiseMultiplier: sigma, ClippingNorm: c, Delta: 1e-5}}
	m, st, err := Train(r, tab)
	if err != nil {
		t.Fatal(err)
	}
	if st.Steps != 1 {
		t.Fatalf("%d steps, want 1", st.Steps)
	}
	var ss float64
	for _, w := range m.Layers[0].W {
		ss += w * w
	}
	got, want := math.Sqrt(ss/f), lr*sigma*c/(q*n)
	if math.Abs(got-want) > 0.15*want { // the sample sd of 400 normals is within 15% w.p. > 0.99
		t.Errorf("noise sd %.5f, want %.5f", got, want)
	}
}

// Identical examples whose gradient norm is far above C: after one step with negligible noise,
// the weight moved by exactly lr·batch·C/(q·N) along the gradient.
func TestDPSGDClipsEachExampleToC(t *testing.T) {
	const n, q, c, lr = 1000, 0.2, 0.5, 1.0
	tab := constantTable(n, []float64{100, 0}, 0) // gradient (0.5·100, 0) for the weights, 0.5 for the bias
	r := Recipe{Model: LogisticRegression, Epochs: q, LearningRate: lr, SampleRate: q, Seed: 3,
		DP: &DP{NoiseMultiplier: 1e-12, ClippingNorm: c, Delta: 1e-5}}
	m, st, err := Train(r, tab)
	if err != nil {
		t.Fatal(err)
	}
	if st.ClippedFraction != 1 {
		t.Errorf("clipped fraction %v, want 1", st.ClippedFraction)
	}
	// The clipped gradient is C·g/|g|, g = 0.5·(100, 0, 1) over (w1, w2, b).
	norm := 0.5 * math.Sqrt(100*100+1)
	want := -lr * st.MeanBatch * c * (0.5 * 100 / norm) / (q * n)
	if got := m.Layers[0].W[0]; math.Abs(got-want) > 1e-9 {
		t.Errorf("w1 = %v after one clipped step, want %v", got, want)
	}
}
