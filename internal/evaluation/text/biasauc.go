package text

import (
	"fmt"
	"sort"
)

// ScoredExample is one labelled text's score and the identities it mentions (zero or more).
type ScoredExample struct {
	Score float64
	// Label is the true class: true for the positive class (for example toxic).
	Label      bool
	Identities []string
}

// AUCValue is an AUC with the counts it rests on. Defined is false when either side is empty;
// Value is then 0 and must not be read as a score.
type AUCValue struct {
	Value     float64 `json:"value"`
	Defined   bool    `json:"defined"`
	Positives int     `json:"positives"`
	Negatives int     `json:"negatives"`
}

// AUC is the probability that a random positive scores above a random negative, ties counted
// ½ (the Mann–Whitney U statistic over positives × negatives), computed from average ranks.
func AUC(positives, negatives []float64) AUCValue {
	a := AUCValue{Positives: len(positives), Negatives: len(negatives)}
	if len(positives) == 0 || len(negatives) == 0 {
		return a
	}
	type obs struct {
		v   float64
		pos bool
	}
	all := make([]obs, 0, len(positives)+len(negatives))
	for _, v := range positives {
		all = append(all, obs{v, true})
	}
	for _, v := range negatives {
		all = append(all, obs{v, false})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v < all[j].v })
	var rankSum float64 // of the positives, ascending, ties averaged
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		avg := float64(i+j+1) / 2 // ranks i+1 … j
		for k := i; k < j; k++ {
			if all[k].pos {
				rankSum += avg
			}
		}
		i = j
	}
	p, n := float64(len(positives)), float64(len(negatives))
	a.Value = (rankSum - p*(p+1)/2) / (p * n)
	a.Defined = true
	return a
}

// BiasAUCs are Borkan et al. 2019's three AUCs for one identity. With D⁺/D⁻ the positive and
// negative examples mentioning the identity and B⁺/B⁻ the rest (the background):
//   - Subgroup AUC: D⁺ against D⁻; low means the model separates poorly within the subgroup.
//   - BPSN (background positive, subgroup negative) AUC: B⁺ against D⁻; low means negative
//     texts mentioning the identity score like positive ones (false positives).
//   - BNSP (background negative, subgroup positive) AUC: D⁺ against B⁻; low means positive
//     texts mentioning the identity score like negative ones (false negatives).
type BiasAUCs struct {
	Identity string   `json:"identity"`
	Size     int      `json:"size"`
	Subgroup AUCValue `json:"subgroupAUC"`
	BPSN     AUCValue `json:"bpsnAUC"`
	BNSP     AUCValue `json:"bnspAUC"`
}

// BiasAUCsByIdentity computes BiasAUCs for every identity that occurs in examples, sorted by
// identity. An example naming an identity twice counts once.
func BiasAUCsByIdentity(examples []ScoredExample) ([]BiasAUCs, error) {
	ids := map[string]bool{}
	for i, e := range examples {
		if e.Score != e.Score {
			return nil, fmt.Errorf("bias AUCs: example %d has a NaN score", i)
		}
		for _, id := range e.Identities {
			ids[id] = true
		}
	}
	names := make([]string, 0, len(ids))
	for id := range ids {
		names = append(names, id)
	}
	sort.Strings(names)
	out := make([]BiasAUCs, 0, len(names))
	for _, id := range names {
		var dPos, dNeg, bPos, bNeg []float64
		for _, e := range examples {
			in := false
			for _, x := range e.Identities {
				in = in || x == id
			}
			switch {
			case in && e.Label:
				dPos = append(dPos, e.Score)
			case in:
				dNeg = append(dNeg, e.Score)
			case e.Label:
				bPos = append(bPos, e.Score)
			default:
				bNeg = append(bNeg, e.Score)
			}
		}
		out = append(out, BiasAUCs{
			Identity: id,
			Size:     len(dPos) + len(dNeg),
			Subgroup: AUC(dPos, dNeg),
			BPSN:     AUC(bPos, dNeg),
			BNSP:     AUC(dPos, bNeg),
		})
	}
	return out, nil
}
