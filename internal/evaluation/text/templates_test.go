package text

import (
	"context"
	"reflect"
	"strings"
	"testing"
)

func TestFillNameTemplates(t *testing.T) {
	got, err := FillNameTemplates(
		[]string{"please ask {name} to call .", "{name} ordered twice"},
		map[string][]string{"b": {"Mary Jane"}, "a": {"Ana"}}, "PER")
	if err != nil {
		t.Fatal(err)
	}
	want := []GroupSentence{
		{"a", split("please ask Ana to call ."), split("O O B-PER O O O")},
		{"b", split("please ask Mary Jane to call ."), split("O O B-PER I-PER O O O")},
		{"a", split("Ana ordered twice"), split("B-PER O O")},
		{"b", split("Mary Jane ordered twice"), split("B-PER I-PER O O")},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sentences = %+v", got)
	}
	if _, err := FillNameTemplates([]string{"no slot"}, map[string][]string{"a": {"Ana"}}, "PER"); err == nil {
		t.Error("template without a placeholder accepted")
	}
}

// A tagger that finds only names it knows: the group whose names it misses gets the lower F1.
func TestTaggerF1ByGroup(t *testing.T) {
	known := map[string]bool{"Emily": true, "Greg": true, "Lakisha": true}
	tagger := TaggerFunc(func(_ context.Context, sentences [][]string) ([][]string, error) {
		out := make([][]string, len(sentences))
		for i, words := range sentences {
			for _, w := range words {
				if known[w] {
					out[i] = append(out[i], "B-PER")
				} else {
					out[i] = append(out[i], "O")
				}
			}
		}
		return out, nil
	})
	sents, err := FillNameTemplates([]string{"{name} called", "I spoke with {name} today"},
		map[string][]string{"white": {"Emily", "Greg"}, "black": {"Lakisha", "Jamal"}}, "PER")
	if err != nil {
		t.Fatal(err)
	}
	r, err := TaggerF1ByGroup(context.Background(), tagger, sents, 3)
	if err != nil {
		t.Fatal(err)
	}
	// white: 4/4 found, F1 1. black: Lakisha found twice, Jamal missed twice: P 1, R 1/2, F1 2/3.
	if g := r.Gap; g.Best != "white" || g.Worst != "black" || !near(g.Gap, 1.0/3) {
		t.Errorf("gap = %+v", g)
	}
	if !strings.Contains(r.Gap.String(), `group "black" 0.667`) {
		t.Errorf("gap message %q", r.Gap.String())
	}
}
