package textdemo

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/responsible-ai/rmodel-operator/internal/demo/train"
	"github.com/responsible-ai/rmodel-operator/internal/evaluation/privacy"
)

// The backward pass equals central finite differences of the loss for every dense parameter
// and every token embedding row the example touches (a repeated token included), for both
// architectures.
func TestGradientMatchesFiniteDifferences(t *testing.T) {
	cases := map[Task]Example{
		TextClassification:  {IDs: []int{1, 7, 3, 7, 2}, Label: 2},
		TokenClassification: {IDs: []int{1, 7, 3, 7, 2}, Labels: []int{Ignore, 1, 0, 2, Ignore}},
	}
	for task, ex := range cases {
		n := newNet(task, 10, 6, 3, 5, 3, 42)
		// Biases away from zero so that ReLUs are not at their kink.
		for i := n.b1Off; i < n.w2Off; i++ {
			n.dense[i] += 0.05
		}
		ws := n.newWorkspace()
		n.gradient(ws, ex)
		analytic := append([]float64(nil), ws.dense...)
		rows := map[int][]float64{}
		for j, id := range ws.ids {
			rows[id] = append([]float64(nil), ws.rows[j]...)
		}
		if len(rows) != 4 {
			t.Fatalf("%s: %d distinct token rows, want 4", task, len(rows))
		}
		const h = 1e-6
		worst, checked := 0.0, 0
		check := func(p []float64, i int, want float64) {
			old := p[i]
			p[i] = old + h
			up := n.forward(ws, ex)
			p[i] = old - h
			down := n.forward(ws, ex)
			p[i] = old
			fd := (up - down) / (2 * h)
			worst = math.Max(worst, math.Abs(fd-want)/math.Max(1e-3, math.Abs(fd)+math.Abs(want)))
			if fd != 0 {
				checked++
			}
		}
		for i := range n.dense {
			if i >= n.posOff+len(ex.IDs)*n.dim && i < n.typOff || i >= n.typOff+n.dim && i < n.w1Off {
				continue // positions past the example and token type 1: no gradient by construction
			}
			check(n.dense, i, analytic[i])
		}
		for id := range n.vocab {
			for k := range n.dim {
				want := 0.0
				if r, ok := rows[id]; ok {
					want = r[k]
				}
				check(n.tok, id*n.dim+k, want)
			}
		}
		if worst > 1e-5 || checked < len(n.dense)/2 {
			t.Errorf("%s: worst relative error %g over %d non-zero derivatives", task, worst, checked)
		}
	}
}

// Same recipe and examples, same weights; another seed, other weights. A DP run clips and
// adds noise, so its weights differ from the run without DP.
func TestTrainIsDeterministic(t *testing.T) {
	examples := []Example{{IDs: []int{1, 2, 3}, Label: 0}, {IDs: []int{1, 4, 5, 3}, Label: 1}, {IDs: []int{1, 6, 3}, Label: 0}}
	r := Recipe{Task: TextClassification, Vocab: 8, MaxLength: 6, Dim: 4, Hidden: 4, Epochs: 20, LearningRate: 0.05, SampleRate: 0.5, Seed: 3}
	weights := func(r Recipe) []float32 {
		m, _, err := Train(r, []string{"a", "b"}, examples)
		if err != nil {
			t.Fatal(err)
		}
		return append(append([]float32(nil), m.Classifier.Encoder.Token...), m.Classifier.Output.W...)
	}
	equal := func(a, b []float32) bool {
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
		return len(a) == len(b)
	}
	a, b := weights(r), weights(r)
	if !equal(a, b) {
		t.Fatal("two runs of one recipe differ")
	}
	r2 := r
	r2.Seed = 4
	if equal(a, weights(r2)) {
		t.Fatal("another seed gave the same weights")
	}
	dp := r
	dp.DP = &train.DP{NoiseMultiplier: 1, ClippingNorm: 0.1, Delta: 1e-5}
	m, stats, err := Train(dp, []string{"a", "b"}, examples)
	if err != nil {
		t.Fatal(err)
	}
	if stats.ClippedFraction < 0.5 || equal(a, append(append([]float32(nil), m.Classifier.Encoder.Token...), m.Classifier.Output.W...)) {
		t.Fatalf("DP run: clipped %.2f of gradients, weights equal to the run without DP", stats.ClippedFraction)
	}
	// DP noise reaches every token row, untouched ones included (id 7 is in no example).
	if m.Classifier.Encoder.Token[7*4] == weights(r)[7*4] {
		t.Error("DP left an untouched token row unchanged")
	}
}

// A learnable toy task is learnt: the class is whether token 5 occurs.
func TestTrainLearns(t *testing.T) {
	var ex []Example
	for i := range 40 {
		ids := []int{1, 2 + i%3, 3 + i%2, 9}
		label := 0
		if i%2 == 0 {
			ids[2], label = 5, 1
		}
		ex = append(ex, Example{IDs: ids, Label: label})
	}
	r := Recipe{Task: TextClassification, Vocab: 10, MaxLength: 6, Dim: 4, Hidden: 8, Epochs: 30, LearningRate: 0.05, SampleRate: 0.25, Seed: 1}
	m, stats, err := Train(r, []string{"no", "yes"}, ex)
	if err != nil {
		t.Fatal(err)
	}
	if stats.FinalLoss > 0.1 {
		t.Fatalf("final loss %.3f", stats.FinalLoss)
	}
	for _, e := range ex {
		ids := make([]int64, len(e.IDs))
		mask := make([]int64, len(e.IDs))
		for i, id := range e.IDs {
			ids[i], mask[i] = int64(id), 1
		}
		logits, err := m.Classifier.Logits(ids, mask, nil)
		if err != nil {
			t.Fatal(err)
		}
		if (logits[1] > logits[0]) != (e.Label == 1) {
			t.Fatalf("example %v misclassified: %v", e.IDs, logits)
		}
	}
}

// A DP recipe's metadata carries the rai.dp.* keys, with ε from the project's accountant for
// exactly the recipe's σ, q and steps; a recipe without DP claims nothing.
func TestDPMetadata(t *testing.T) {
	r := IntentRecipe()
	r.DP = &train.DP{NoiseMultiplier: 1.1, ClippingNorm: 0.5, Delta: 1e-5}
	md, eps, err := Metadata(r, IntentLabels, "ab", nil)
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := privacy.Epsilon(1.1, r.SampleRate, r.Steps(), 1e-5)
	if err != nil {
		t.Fatal(err)
	}
	if eps != want || eps <= 0 || md[train.KeyDPEpsilon] != strconv.FormatFloat(want, 'f', -1, 64) ||
		md[train.KeyDPSteps] != strconv.Itoa(r.Steps()) || md[train.KeyDPNoiseMultiplier] != "1.1" || md[train.KeyDPSampleRate] != "0.02" ||
		md[train.KeyDPClippingNorm] != "0.5" || md[train.KeyDPDelta] != "0.00001" || md[train.KeyDPAccountant] != "rdp" {
		t.Fatalf("ε %v (accountant %v), metadata %v", eps, want, md)
	}
	md, _, err = Metadata(IntentRecipe(), IntentLabels, "ab", nil)
	if err != nil {
		t.Fatal(err)
	}
	for k := range md {
		if strings.HasPrefix(k, "rai.dp.") {
			t.Errorf("recipe without DP has %s", k)
		}
	}
	if md[KeyLabels] != `["billing","cancel","delivery","refund","technical"]` || md[KeyTask] != "text-classification" {
		t.Errorf("metadata %v", md)
	}
}
