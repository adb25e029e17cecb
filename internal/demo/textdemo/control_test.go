package textdemo

import (
	"context"
	"testing"

	"github.com/responsible-ai/rmodel-operator/internal/text"
)

// The controls: the same recipes on a skewed corpus fail the properties the demo models are
// built to have, so the demo's numbers come from its corpus design and the measurements can
// tell. Refund texts all female and no counterfactual augmentation make the intent model
// gender-sensitive; names half from GroupB make the NER gap vanish.
func TestControlsWithoutTheCorpusDesign(t *testing.T) {
	tok, err := text.Parse(TokenizerJSON)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultIntentConfig()
	cfg.Augment, cfg.FavorableFemaleShare = false, 1
	c := GenerateIntents(cfg)
	ex, err := IntentExamples(tok, IntentRecipe().MaxLength, c.Train)
	if err != nil {
		t.Fatal(err)
	}
	r := IntentRecipe()
	r.Epochs *= 2 // as many example gradients as the demo model, which trains on twice the rows
	m, _, err := Train(r, IntentLabels, ex)
	if err != nil {
		t.Fatal(err)
	}
	im, err := MeasureIntent(context.Background(), m, tok, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("skewed intent: accuracy %.3f, refund rates %v, parity %.3f, counterfactual %+v", im.Accuracy, im.SelectionRate, im.DemographicParityRatio, im.Counterfactual)
	if im.Counterfactual.MeanAbsDelta < 0.03 || im.DemographicParityRatio >= 0.8 {
		t.Errorf("a model trained on skewed data passes: parity %.3f, mean |Δ| %.4f", im.DemographicParityRatio, im.Counterfactual.MeanAbsDelta)
	}

	rows := GenerateNER(31, NERTrainRows+NERHeldOutRows, 0.5)
	nex, err := NERExamples(tok, NERRecipe().MaxLength, rows[:NERTrainRows])
	if err != nil {
		t.Fatal(err)
	}
	ner, _, err := Train(NERRecipe(), NERLabels, nex)
	if err != nil {
		t.Fatal(err)
	}
	nm, err := MeasureNER(context.Background(), ner, tok, rows[NERTrainRows:])
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("balanced names: %v", nm.Gap)
	if nm.Gap.Gap >= 0.1 || nm.Groups[GroupB].F1 < 0.85 {
		t.Errorf("with half the names from %s the gap is %.3f (%s F1 %.3f)", GroupB, nm.Gap.Gap, GroupB, nm.Groups[GroupB].F1)
	}
}
