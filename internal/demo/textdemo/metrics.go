package textdemo

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	evaltext "github.com/responsible-ai/rmodel-operator/internal/evaluation/text"
	"github.com/responsible-ai/rmodel-operator/internal/text"
)

// Probabilities are the model's softmax scores for each text, tokenized as the operator does
// (internal/text, truncated to the recipe's max length, padded to the batch's longest) and run
// through the Go forward pass of the exported float32 model.
func (m *Model) Probabilities(tok *text.Tokenizer, texts []string) ([][]float64, error) {
	if m.Classifier == nil {
		return nil, fmt.Errorf("model is not a text classifier")
	}
	encs, err := tok.EncodeBatch(texts, text.Options{MaxLength: m.Recipe.MaxLength, Padding: text.PadLongest})
	if err != nil {
		return nil, err
	}
	out := make([][]float64, len(encs))
	for i, e := range encs {
		logits, err := m.Classifier.Logits(e.IDs, e.AttentionMask, e.TypeIDs)
		if err != nil {
			return nil, err
		}
		out[i] = text.Softmax(logits)
	}
	return out, nil
}

// Tag labels each sentence's words: every word takes its first token's argmax label.
func (m *Model) Tag(tok *text.Tokenizer, sentences [][]string) ([][]string, error) {
	if m.Tagger == nil {
		return nil, fmt.Errorf("model is not a token classifier")
	}
	encs, err := tok.EncodeWordsBatch(sentences, text.Options{MaxLength: m.Recipe.MaxLength, Padding: text.PadLongest})
	if err != nil {
		return nil, err
	}
	out := make([][]string, len(encs))
	for i, e := range encs {
		logits, err := m.Tagger.Logits(e.IDs, e.AttentionMask, e.TypeIDs)
		if err != nil {
			return nil, err
		}
		labels := make([]string, len(logits))
		for p, row := range logits {
			labels[p] = m.Labels[argmax(row)]
		}
		if out[i], err = text.WordLabels(e, labels, len(sentences[i])); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func argmax(v []float64) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// IntentMetrics are the intent classifier's measured numbers.
type IntentMetrics struct {
	Rows     int     `json:"rows"`
	Accuracy float64 `json:"accuracy"`
	// AccuracyByGender and SelectionRate (the share predicted Favorable) by gender.
	AccuracyByGender map[string]float64 `json:"accuracyByGender"`
	Favorable        string             `json:"favorable"`
	SelectionRate    map[string]float64 `json:"selectionRate"`
	// DemographicParityRatio is the lowest selection rate over the highest.
	DemographicParityRatio float64 `json:"demographicParityRatio"`
	// Counterfactual is internal/evaluation/text's counterfactual token fairness of
	// P(Favorable) over the eval texts with the term pairs (threshold 0.5); MeanAbsDelta and
	// FlipRate pool every pair's swaps, Worst* are the worst pair's.
	Counterfactual struct {
		Swaps             int     `json:"swaps"`
		MeanAbsDelta      float64 `json:"meanAbsDelta"`
		FlipRate          float64 `json:"flipRate"`
		WorstPair         string  `json:"worstPair"`
		WorstMeanAbsDelta float64 `json:"worstMeanAbsDelta"`
		WorstMaxAbsDelta  float64 `json:"worstMaxAbsDelta"`
		WorstFlipRate     float64 `json:"worstFlipRate"`
	} `json:"counterfactual"`
	// Members and non-members: accuracy and mean cross-entropy (what a loss-threshold
	// membership attack compares).
	MembersAccuracy    float64 `json:"membersAccuracy"`
	NonMembersAccuracy float64 `json:"nonMembersAccuracy"`
	MembersLoss        float64 `json:"membersLoss"`
	NonMembersLoss     float64 `json:"nonMembersLoss"`
}

// MeasureIntent computes IntentMetrics on the corpus' eval, member and non-member rows.
func MeasureIntent(ctx context.Context, m *Model, tok *text.Tokenizer, c IntentCorpus) (IntentMetrics, error) {
	fav := slices.Index(m.Labels, Favorable)
	if fav < 0 {
		return IntentMetrics{}, fmt.Errorf("labels %v lack the favorable %q", m.Labels, Favorable)
	}
	score := func(rows []IntentRow) (acc, loss float64, probs [][]float64, err error) {
		texts := make([]string, len(rows))
		for i, r := range rows {
			texts[i] = r.Text
		}
		if probs, err = m.Probabilities(tok, texts); err != nil {
			return 0, 0, nil, err
		}
		for i, p := range probs {
			y := slices.Index(m.Labels, rows[i].Label)
			if argmax(p) == y {
				acc++
			}
			loss -= math.Log(math.Max(p[y], 1e-12))
		}
		return acc / float64(len(rows)), loss / float64(len(rows)), probs, nil
	}
	var out IntentMetrics
	var err error
	var probs [][]float64
	if out.Accuracy, _, probs, err = score(c.Eval); err != nil {
		return out, err
	}
	if out.MembersAccuracy, out.MembersLoss, _, err = score(c.Members); err != nil {
		return out, err
	}
	if out.NonMembersAccuracy, out.NonMembersLoss, _, err = score(c.NonMembers); err != nil {
		return out, err
	}
	out.Rows, out.Favorable = len(c.Eval), Favorable
	out.AccuracyByGender, out.SelectionRate = map[string]float64{}, map[string]float64{}
	count := map[string]float64{}
	for i, r := range c.Eval {
		count[r.Gender]++
		pred := argmax(probs[i])
		if m.Labels[pred] == r.Label {
			out.AccuracyByGender[r.Gender]++
		}
		if pred == fav {
			out.SelectionRate[r.Gender]++
		}
	}
	lo, hi := math.Inf(1), 0.0
	for g, n := range count {
		out.AccuracyByGender[g] /= n
		out.SelectionRate[g] /= n
		lo, hi = math.Min(lo, out.SelectionRate[g]), math.Max(hi, out.SelectionRate[g])
	}
	if hi > 0 {
		out.DemographicParityRatio = lo / hi
	}

	scorer := evaltext.ScorerFunc(func(_ context.Context, texts []string) ([]float64, error) {
		p, err := m.Probabilities(tok, texts)
		if err != nil {
			return nil, err
		}
		s := make([]float64, len(p))
		for i := range p {
			s[i] = p[i][fav]
		}
		return s, nil
	})
	texts := make([]string, len(c.Eval))
	for i, r := range c.Eval {
		texts[i] = r.Text
	}
	cf, err := evaltext.CounterfactualFairness(ctx, scorer, texts, TermPairs(), evaltext.CounterfactualOptions{Threshold: 0.5})
	if err != nil {
		return out, err
	}
	flips := 0
	for _, p := range cf.Pairs {
		out.Counterfactual.Swaps += p.Texts
		out.Counterfactual.MeanAbsDelta += p.MeanAbsDelta * float64(p.Texts)
		flips += p.Flips
	}
	if n := out.Counterfactual.Swaps; n > 0 {
		out.Counterfactual.MeanAbsDelta /= float64(n)
		out.Counterfactual.FlipRate = float64(flips) / float64(n)
	}
	if w, ok := cf.WorstPair(); ok {
		out.Counterfactual.WorstPair = w.Pair.String()
		out.Counterfactual.WorstMeanAbsDelta, out.Counterfactual.WorstMaxAbsDelta, out.Counterfactual.WorstFlipRate = w.MeanAbsDelta, w.MaxAbsDelta, w.FlipRate
	}
	return out, nil
}

// TermPairs are GenderTerms as the counterfactual evaluation's pairs.
func TermPairs() []evaltext.TermPair {
	out := make([]evaltext.TermPair, len(GenderTerms))
	for i, p := range GenderTerms {
		out[i] = evaltext.TermPair{A: p[0], B: p[1]}
	}
	return out
}

// NERMetrics are the tagger's measured numbers on the name-template evaluation.
type NERMetrics struct {
	Sentences int `json:"sentences"`
	// Groups are each name group's micro-averaged entity scores (seqeval strict).
	Groups map[string]evaltext.Scores `json:"groups"`
	Gap    evaltext.F1Gap             `json:"gap"`
	// HeldOut is the micro entity report on held-out sentences drawn like the training ones.
	HeldOut evaltext.Scores `json:"heldOut"`
	// TrainShareB is the share of training sentences with a GroupB name.
	TrainShareB float64 `json:"trainShareB"`
}

// NameEvalSentences are NERNameTemplates filled with EvalNames.
func NameEvalSentences() ([]evaltext.GroupSentence, error) {
	return evaltext.FillNameTemplates(NERNameTemplates, EvalNames(), "PER")
}

// MeasureNER runs the name-substitution test (internal/evaluation/text TaggerF1ByGroup) and
// the held-out entity F1.
func MeasureNER(ctx context.Context, m *Model, tok *text.Tokenizer, heldOut []NERRow) (NERMetrics, error) {
	sentences, err := NameEvalSentences()
	if err != nil {
		return NERMetrics{}, err
	}
	tagger := evaltext.TaggerFunc(func(_ context.Context, s [][]string) ([][]string, error) { return m.Tag(tok, s) })
	rep, err := evaltext.TaggerF1ByGroup(ctx, tagger, sentences, 0)
	if err != nil {
		return NERMetrics{}, err
	}
	out := NERMetrics{Sentences: len(sentences), Groups: map[string]evaltext.Scores{}, Gap: rep.Gap}
	for g, r := range rep.Groups {
		out.Groups[g] = r.Micro
	}
	words, truth := make([][]string, len(heldOut)), make([][]string, len(heldOut))
	for i, r := range heldOut {
		words[i], truth[i] = r.Words, r.Tags
	}
	pred, err := m.Tag(tok, words)
	if err != nil {
		return out, err
	}
	held, err := evaltext.EntityF1(truth, pred)
	if err != nil {
		return out, err
	}
	out.HeldOut = held.Micro
	return out, nil
}

// joinWords is a sentence as the NER CSV writes it.
func joinWords(w []string) string { return strings.Join(w, " ") }
