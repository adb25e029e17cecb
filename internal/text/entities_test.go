package text

import (
	"math"
	"reflect"
	"testing"
)

var nerLabels = []string{"O", "B-PER", "I-PER", "B-LOC", "I-LOC"}

// onehotish is a probability row with p on label best and the rest spread evenly.
func onehotish(best int, p float64) []float64 {
	row := make([]float64, len(nerLabels))
	for i := range row {
		row[i] = (1 - p) / float64(len(row)-1)
	}
	row[best] = p
	return row
}

func TestAggregateSimple(t *testing.T) {
	tok := bert(t)
	text := "Hi, Zoë Renée from Köln unaffable"
	enc, err := tok.Encode(text, Options{Padding: PadFixed, PadLength: 16})
	if err != nil {
		t.Fatal(err)
	}
	// [CLS] hi , zoe renee from koln una ##ffa ##ble [SEP] [PAD]…
	if want := []string{"[CLS]", "hi", ",", "zoe", "renee", "from", "koln", "una", "##ffa", "##ble", "[SEP]"}; !reflect.DeepEqual(enc.Tokens[:11], want) {
		t.Fatalf("tokens = %q", enc.Tokens)
	}
	labels := []int{0, 0, 0, 1, 2, 0, 3, 1, 2, 1, 0, 2, 2, 2, 2, 2} // special and padding rows are ignored
	scores := []float64{.9, .9, .9, .8, .6, .9, .7, .5, .7, .9, .9, .9, .9, .9, .9, .9}
	probs := make([][]float64, enc.Len())
	for i := range probs {
		probs[i] = onehotish(labels[i], scores[i])
	}
	got, err := tok.AggregateSimple(text, enc, probs, nerLabels)
	if err != nil {
		t.Fatal(err)
	}
	// Hand-derived: "Zoë Renée" (B-PER I-PER) is chars 4–13, mean score (.8+.6)/2;
	// "Köln" (B-LOC) chars 19–23; "una ##ffa" (B-PER I-PER) then "##ble" (B-PER) starts anew.
	want := []EntitySpan{
		{Label: "PER", Score: 0.7, Word: "zoe renee", Start: 4, End: 13, Bytes: Offset{4, 15}},
		{Label: "LOC", Score: 0.7, Word: "koln", Start: 19, End: 23, Bytes: Offset{21, 26}},
		{Label: "PER", Score: 0.6, Word: "unaffa", Start: 24, End: 30, Bytes: Offset{27, 33}},
		{Label: "PER", Score: 0.9, Word: "##ble", Start: 30, End: 33, Bytes: Offset{33, 36}},
	}
	if len(got) != len(want) {
		t.Fatalf("entities = %+v", got)
	}
	for i := range want {
		g := got[i]
		if math.Abs(g.Score-want[i].Score) > 1e-12 {
			t.Errorf("entity %d score %v, want %v", i, g.Score, want[i].Score)
		}
		g.Score = want[i].Score
		if g != want[i] {
			t.Errorf("entity %d = %+v, want %+v", i, g, want[i])
		}
	}
	if text[got[0].Bytes.Start:got[0].Bytes.End] != "Zoë Renée" {
		t.Errorf("bytes slice to %q", text[got[0].Bytes.Start:got[0].Bytes.End])
	}
	if _, err := tok.AggregateSimple(text, enc, probs[:3], nerLabels); err == nil {
		t.Error("short probabilities accepted")
	}
}

func TestSoftmax(t *testing.T) {
	p := Softmax([]float64{1000, 1000 + math.Log(3)})
	if math.Abs(p[0]-0.25) > 1e-12 || math.Abs(p[1]-0.75) > 1e-12 {
		t.Errorf("softmax = %v", p)
	}
}

func TestWordLabelsAndAlign(t *testing.T) {
	tok := bert(t)
	words := []string{"Zoë", "unaffable", "Köln", "today"}
	enc, err := tok.EncodeWords(words, Options{MaxLength: 6})
	if err != nil {
		t.Fatal(err)
	}
	// [CLS] zoe una ##ffa ##ble [SEP]: "Köln" and "today" are cut.
	tokenLabels := []string{"O", "B-PER", "B-MISC", "I-MISC", "I-MISC", "O"}
	got, err := WordLabels(enc, tokenLabels, len(words))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"B-PER", "B-MISC", "O", "O"}; !reflect.DeepEqual(got, want) {
		t.Errorf("word labels = %q, want %q", got, want)
	}
	aligned, err := AlignLabels(enc, []int64{1, 5, 3, 0}, -100)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{-100, 1, 5, -100, -100, -100}; !reflect.DeepEqual(aligned, want) {
		t.Errorf("aligned = %v, want %v", aligned, want)
	}
	if _, err := AlignLabels(enc, []int64{1}, -100); err == nil {
		t.Error("too few word labels accepted")
	}
}
