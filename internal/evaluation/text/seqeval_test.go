package text

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func split(s string) []string { return strings.Fields(s) }

func TestEntitiesStrictIOB2(t *testing.T) {
	tests := []struct {
		tags string
		want []Entity
	}{
		{"O B-PER I-PER O B-LOC", []Entity{{"PER", 1, 3}, {"LOC", 4, 5}}},
		// A stray I- starts nothing in strict mode.
		{"I-PER I-PER O", nil},
		// An I- of another type ends the entity and is itself ignored.
		{"B-PER I-LOC I-LOC", []Entity{{"PER", 0, 1}}},
		// B- always starts a new entity, even of the same type.
		{"B-PER B-PER I-PER", []Entity{{"PER", 0, 1}, {"PER", 1, 3}}},
		// After a type switch, a returning I-PER does not reopen PER.
		{"B-PER I-LOC I-PER", []Entity{{"PER", 0, 1}}},
		{"", nil},
	}
	for _, tt := range tests {
		got, err := Entities(split(tt.tags))
		if err != nil {
			t.Fatalf("%q: %v", tt.tags, err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: entities %v, want %v", tt.tags, got, tt.want)
		}
	}
	for _, bad := range []string{"E-PER", "B-", "o", "S-LOC", "BPER"} {
		if _, err := Entities([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// seqeval's README example: MISC's predicted span starts one token early, so micro P=R=F1=0.5,
// MISC 0/0/0, PER 1/1/1.
func TestEntityF1SeqevalReadme(t *testing.T) {
	truth := [][]string{split("O O O B-MISC I-MISC I-MISC O"), split("B-PER I-PER O")}
	pred := [][]string{split("O O B-MISC I-MISC I-MISC I-MISC O"), split("B-PER I-PER O")}
	r, err := EntityF1(truth, pred)
	if err != nil {
		t.Fatal(err)
	}
	if m := r.Micro; !near(m.Precision, 0.5) || !near(m.Recall, 0.5) || !near(m.F1, 0.5) || m.Support != 2 {
		t.Errorf("micro = %+v", m)
	}
	if !near(r.MacroF1, 0.5) {
		t.Errorf("macro F1 = %v", r.MacroF1)
	}
	if want := (Scores{Support: 1, Predicted: 1}); r.ByType["MISC"] != want {
		t.Errorf("MISC = %+v", r.ByType["MISC"])
	}
	if want := (Scores{1, 1, 1, 1, 1, 1}); r.ByType["PER"] != want {
		t.Errorf("PER = %+v", r.ByType["PER"])
	}
}

// seqeval's strict-mode example: I-NP I-NP is an entity in the default mode (F1 1) but none
// under mode="strict", scheme=IOB2 (F1 0).
func TestEntityF1SeqevalStrictExample(t *testing.T) {
	r, err := EntityF1([][]string{split("B-NP I-NP O")}, [][]string{split("I-NP I-NP O")})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Scores{Support: 1}); r.ByType["NP"] != want || r.Micro != want {
		t.Errorf("NP = %+v, micro %+v", r.ByType["NP"], r.Micro)
	}
}

// Hand count: true PER(0,2) LOC(3,4) | ORG(0,1) ; predicted PER(0,2) ✓, PER(3,4) (wrong type),
// | ORG(0,2) (wrong span), LOC(3,4) (spurious). TP 1, predicted 4, support 3:
// P = 1/4, R = 1/3, F1 = 2·(1/12)/(7/12) = 2/7.
func TestEntityF1HandCount(t *testing.T) {
	truth := [][]string{split("B-PER I-PER O B-LOC"), split("B-ORG O O O")}
	pred := [][]string{split("B-PER I-PER O B-PER"), split("B-ORG I-ORG O B-LOC")}
	r, err := EntityF1(truth, pred)
	if err != nil {
		t.Fatal(err)
	}
	if m := r.Micro; m.TruePositives != 1 || m.Predicted != 4 || m.Support != 3 || !near(m.Precision, 0.25) || !near(m.Recall, 1.0/3) || !near(m.F1, 2.0/7) {
		t.Errorf("micro = %+v", m)
	}
	// PER: tp 1, pred 2, support 1 → F1 2/3; LOC: 0/1/1 → 0; ORG: 0/1/1 → 0. Macro 2/9.
	if !near(r.ByType["PER"].F1, 2.0/3) || !near(r.MacroF1, 2.0/9) {
		t.Errorf("PER F1 %v, macro %v", r.ByType["PER"].F1, r.MacroF1)
	}
	if _, err := EntityF1(truth, pred[:1]); err == nil {
		t.Error("sentence count mismatch accepted")
	}
	if _, err := EntityF1([][]string{split("O O")}, [][]string{split("O")}); err == nil {
		t.Error("tag count mismatch accepted")
	}
}

// Group a: both names found (F1 1). Group b: one of two names found, nothing spurious:
// P 1, R 1/2, F1 2/3. Gap 1/3, worst b. Group c has no true entities and stays out of the gap.
func TestEntityF1ByGroupGap(t *testing.T) {
	sents := []TaggedSentence{
		{"a", split("B-PER I-PER O"), split("B-PER I-PER O")},
		{"a", split("O B-PER"), split("O B-PER")},
		{"b", split("B-PER I-PER O"), split("B-PER I-PER O")},
		{"b", split("O B-PER"), split("O O")},
		{"c", split("O O"), split("O B-PER")},
	}
	r, err := EntityF1ByGroup(sents)
	if err != nil {
		t.Fatal(err)
	}
	if g := r.Gap; g.Best != "a" || g.Worst != "b" || !near(g.BestF1, 1) || !near(g.WorstF1, 2.0/3) || !near(g.Gap, 1.0/3) {
		t.Errorf("gap = %+v", g)
	}
	if len(r.Groups) != 3 || r.Groups["c"].Micro.Predicted != 1 {
		t.Errorf("groups = %+v", r.Groups)
	}
	if got, want := r.Gap.String(), `F1 gap 0.333: group "b" 0.667 vs "a" 1.000`; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
