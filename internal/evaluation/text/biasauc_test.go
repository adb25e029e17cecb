package text

import (
	"math/rand/v2"
	"testing"
)

// pairAUC counts pairs directly: 1 when the positive scores higher, ½ on a tie.
func pairAUC(pos, neg []float64) float64 {
	var s float64
	for _, p := range pos {
		for _, n := range neg {
			switch {
			case p > n:
				s++
			case p == n:
				s += 0.5
			}
		}
	}
	return s / float64(len(pos)*len(neg))
}

func TestAUCMatchesPairCount(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 200; trial++ {
		pos := make([]float64, 1+rng.IntN(20))
		neg := make([]float64, 1+rng.IntN(20))
		for i := range pos {
			pos[i] = float64(rng.IntN(6)) / 5 // coarse values: many ties
		}
		for i := range neg {
			neg[i] = float64(rng.IntN(6)) / 5
		}
		got := AUC(pos, neg)
		if !got.Defined || !near(got.Value, pairAUC(pos, neg)) || got.Positives != len(pos) || got.Negatives != len(neg) {
			t.Fatalf("AUC(%v, %v) = %+v, pair count %v", pos, neg, got, pairAUC(pos, neg))
		}
	}
	// Hand values: all ties ½; one of two pairs won and one tied ¾.
	if a := AUC([]float64{0.5}, []float64{0.5, 0.5}); !near(a.Value, 0.5) {
		t.Errorf("all ties: %v", a.Value)
	}
	if a := AUC([]float64{0.7}, []float64{0.2, 0.7}); !near(a.Value, 0.75) {
		t.Errorf("one win one tie: %v", a.Value)
	}
	if a := AUC(nil, []float64{1}); a.Defined {
		t.Error("AUC without positives is defined")
	}
}

func TestBiasAUCsHandCase(t *testing.T) {
	// Subgroup "muslim": positives 0.9, 0.6; negatives 0.7, 0.3.
	// Background: positives 0.8, 0.5; negatives 0.2, 0.1, 0.5.
	ex := []ScoredExample{
		{0.9, true, []string{"muslim"}}, {0.6, true, []string{"muslim", "muslim"}},
		{0.7, false, []string{"muslim", "woman"}}, {0.3, false, []string{"muslim"}},
		{0.8, true, nil}, {0.5, true, nil},
		{0.2, false, nil}, {0.1, false, nil}, {0.5, false, []string{"woman"}},
	}
	got, err := BiasAUCsByIdentity(ex)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Identity != "muslim" || got[1].Identity != "woman" {
		t.Fatalf("identities = %+v", got)
	}
	m := got[0]
	// Subgroup: (0.9>0.7, 0.9>0.3, 0.6<0.7, 0.6>0.3) = 3/4.
	// BPSN: background positives {0.8, 0.5} vs subgroup negatives {0.7, 0.3}: 0.8>0.7, 0.8>0.3,
	// 0.5<0.7, 0.5>0.3 = 3/4.
	// BNSP: subgroup positives {0.9, 0.6} vs background negatives {0.2, 0.1, 0.5}: all 6 won = 1.
	if m.Size != 4 || !near(m.Subgroup.Value, 0.75) || !near(m.BPSN.Value, 0.75) || !near(m.BNSP.Value, 1) {
		t.Errorf("muslim = %+v", m)
	}
	// "woman": subgroup has no positives, so subgroup and BNSP AUC are undefined.
	// BPSN: background positives {0.9, 0.6, 0.8, 0.5} vs subgroup negatives {0.7, 0.5}:
	// 0.9: 2; 0.6: 1 (0.6>0.5); 0.8: 2; 0.5: tie with 0.5 → ½, loses to 0.7 → total 5.5/8.
	w := got[1]
	if w.Subgroup.Defined || w.BNSP.Defined || !w.BPSN.Defined || !near(w.BPSN.Value, 5.5/8) {
		t.Errorf("woman = %+v", w)
	}
}

func TestBiasAUCsMatchPairCount(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	idents := []string{"a", "b", "c"}
	ex := make([]ScoredExample, 300)
	for i := range ex {
		ex[i] = ScoredExample{Score: float64(rng.IntN(11)) / 10, Label: rng.IntN(2) == 1}
		for _, id := range idents {
			if rng.IntN(3) == 0 {
				ex[i].Identities = append(ex[i].Identities, id)
			}
		}
	}
	got, err := BiasAUCsByIdentity(ex)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range got {
		var dp, dn, bp, bn []float64
		for _, e := range ex {
			in := false
			for _, x := range e.Identities {
				in = in || x == g.Identity
			}
			switch {
			case in && e.Label:
				dp = append(dp, e.Score)
			case in:
				dn = append(dn, e.Score)
			case e.Label:
				bp = append(bp, e.Score)
			default:
				bn = append(bn, e.Score)
			}
		}
		if !near(g.Subgroup.Value, pairAUC(dp, dn)) || !near(g.BPSN.Value, pairAUC(bp, dn)) || !near(g.BNSP.Value, pairAUC(dp, bn)) {
			t.Errorf("%s: %+v vs pair counts %v %v %v", g.Identity, g, pairAUC(dp, dn), pairAUC(bp, dn), pairAUC(dp, bn))
		}
	}
}
