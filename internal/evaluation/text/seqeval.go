package text

import (
	"fmt"
	"sort"
)

// Entity is a typed span of token positions [Start, End) in one sentence.
type Entity struct {
	Type       string `json:"type"`
	Start, End int
}

// Entities reads the entities of an IOB2 tag sequence as seqeval does with mode="strict" and
// scheme=IOB2: an entity is a B-X followed by any number of I-X of the same type. An I-X that
// does not continue a B-X or I-X of type X starts nothing and belongs to no entity (seqeval's
// default, conlleval-style mode would start an entity there). Tags other than "O", "B-X" and
// "I-X" are an error, as seqeval's strict mode raises on them.
func Entities(tags []string) ([]Entity, error) {
	var out []Entity
	open := -1 // index in out of the entity the previous tag belongs to, or -1
	for i, tag := range tags {
		prefix, typ, err := parseIOB2(tag)
		if err != nil {
			return nil, fmt.Errorf("tag %d: %w", i, err)
		}
		switch prefix {
		case 'B':
			out = append(out, Entity{Type: typ, Start: i, End: i + 1})
			open = len(out) - 1
		case 'I':
			if open >= 0 && out[open].Type == typ {
				out[open].End = i + 1
			} else {
				open = -1
			}
		default:
			open = -1
		}
	}
	return out, nil
}

func parseIOB2(tag string) (prefix byte, typ string, err error) {
	if tag == "O" {
		return 'O', "", nil
	}
	if len(tag) > 2 && (tag[0] == 'B' || tag[0] == 'I') && tag[1] == '-' {
		return tag[0], tag[2:], nil
	}
	return 0, "", fmt.Errorf("%q is not an IOB2 tag (O, B-TYPE or I-TYPE)", tag)
}

// Scores are entity-level counts and the precision, recall and F1 they give. A ratio with a
// zero denominator is 0, as seqeval reports with zero_division="warn".
type Scores struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	// TruePositives are predicted entities equal in span and type to a true one.
	TruePositives int `json:"truePositives"`
	Predicted     int `json:"predicted"`
	// Support is the number of true entities.
	Support int `json:"support"`
}

func newScores(tp, pred, support int) Scores {
	s := Scores{TruePositives: tp, Predicted: pred, Support: support}
	if pred > 0 {
		s.Precision = float64(tp) / float64(pred)
	}
	if support > 0 {
		s.Recall = float64(tp) / float64(support)
	}
	if s.Precision+s.Recall > 0 {
		s.F1 = 2 * s.Precision * s.Recall / (s.Precision + s.Recall)
	}
	return s
}

// EntityReport is seqeval's classification_report: micro-averaged scores over all entities,
// the unweighted mean of the per-type scores, and each type's scores (every type that occurs
// in the true or the predicted tags).
type EntityReport struct {
	Micro   Scores            `json:"micro"`
	MacroF1 float64           `json:"macroF1"`
	ByType  map[string]Scores `json:"byType"`
}

// EntityF1 scores predicted tag sequences against true ones, sentence by sentence: a predicted
// entity counts only when a true entity in the same sentence has the same start, end and type.
func EntityF1(trueTags, predTags [][]string) (EntityReport, error) {
	if len(trueTags) != len(predTags) {
		return EntityReport{}, fmt.Errorf("entity F1: %d true sentences, %d predicted", len(trueTags), len(predTags))
	}
	type counts struct{ tp, pred, support int }
	byType := map[string]*counts{}
	get := func(t string) *counts {
		if byType[t] == nil {
			byType[t] = &counts{}
		}
		return byType[t]
	}
	for s := range trueTags {
		if len(trueTags[s]) != len(predTags[s]) {
			return EntityReport{}, fmt.Errorf("entity F1: sentence %d has %d true tags, %d predicted", s, len(trueTags[s]), len(predTags[s]))
		}
		truth, err := Entities(trueTags[s])
		if err != nil {
			return EntityReport{}, fmt.Errorf("entity F1: true sentence %d: %w", s, err)
		}
		pred, err := Entities(predTags[s])
		if err != nil {
			return EntityReport{}, fmt.Errorf("entity F1: predicted sentence %d: %w", s, err)
		}
		want := make(map[Entity]bool, len(truth))
		for _, e := range truth {
			want[e] = true
			get(e.Type).support++
		}
		for _, e := range pred {
			c := get(e.Type)
			c.pred++
			if want[e] {
				c.tp++
			}
		}
	}
	r := EntityReport{ByType: make(map[string]Scores, len(byType))}
	var tp, pred, support int
	for t, c := range byType {
		r.ByType[t] = newScores(c.tp, c.pred, c.support)
		r.MacroF1 += r.ByType[t].F1
		tp, pred, support = tp+c.tp, pred+c.pred, support+c.support
	}
	if len(byType) > 0 {
		r.MacroF1 /= float64(len(byType))
	}
	r.Micro = newScores(tp, pred, support)
	return r, nil
}

// TaggedSentence is one sentence's true and predicted IOB2 tags and the group it belongs to,
// for example the demographic group of the name substituted into a template.
type TaggedSentence struct {
	Group string
	True  []string
	Pred  []string
}

// GroupEntityReport is the entity report of each group and the largest F1 gap between them.
type GroupEntityReport struct {
	Groups map[string]EntityReport `json:"groups"`
	Gap    F1Gap                   `json:"gap"`
}

// F1Gap names the groups with the highest and lowest micro F1 (Mishra et al. 2020 compare NER
// performance on names from different demographic groups this way). Groups without true
// entities are left out: their F1 says nothing about recall. Ties are broken by group name.
type F1Gap struct {
	Best    string  `json:"best"`
	BestF1  float64 `json:"bestF1"`
	Worst   string  `json:"worst"`
	WorstF1 float64 `json:"worstF1"`
	Gap     float64 `json:"gap"`
}

// EntityF1ByGroup computes EntityF1 within each group and the gap.
func EntityF1ByGroup(sentences []TaggedSentence) (GroupEntityReport, error) {
	trueBy, predBy := map[string][][]string{}, map[string][][]string{}
	for _, s := range sentences {
		trueBy[s.Group] = append(trueBy[s.Group], s.True)
		predBy[s.Group] = append(predBy[s.Group], s.Pred)
	}
	names := make([]string, 0, len(trueBy))
	for g := range trueBy {
		names = append(names, g)
	}
	sort.Strings(names)
	r := GroupEntityReport{Groups: make(map[string]EntityReport, len(names))}
	first := true
	for _, g := range names {
		rep, err := EntityF1(trueBy[g], predBy[g])
		if err != nil {
			return GroupEntityReport{}, fmt.Errorf("group %q: %w", g, err)
		}
		r.Groups[g] = rep
		if rep.Micro.Support == 0 {
			continue
		}
		f1 := rep.Micro.F1
		if first || f1 > r.Gap.BestF1 {
			r.Gap.Best, r.Gap.BestF1 = g, f1
		}
		if first || f1 < r.Gap.WorstF1 {
			r.Gap.Worst, r.Gap.WorstF1 = g, f1
		}
		first = false
	}
	r.Gap.Gap = r.Gap.BestF1 - r.Gap.WorstF1
	return r, nil
}

// String renders the gap for a message, for example
// `F1 gap 0.333: group "b" 0.667 vs "a" 1.000`.
func (g F1Gap) String() string {
	return fmt.Sprintf("F1 gap %.3f: group %q %.3f vs %q %.3f", g.Gap, g.Worst, g.WorstF1, g.Best, g.BestF1)
}
