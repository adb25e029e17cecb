package privacy

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/responsible-ai/rmodel-operator/internal/evaluation/stats"
)

// Audit is the result of a loss-threshold membership-inference attack
// (Yeom et al. 2018): guess "member" when a sample's loss is at most a
// threshold.
type Audit struct {
	Members, NonMembers int
	// AUC is the attack's ROC AUC over all thresholds: the probability that
	// a random member has a smaller loss than a random non-member, ties
	// counting one half (Mann–Whitney U / (m·n)).
	AUC float64
	// Advantage is max over thresholds of TPR − FPR (Yeom et al.'s
	// membership advantage), on all samples.
	Advantage float64
	// EpsilonLowerBound is an empirical lower bound on ε that holds with
	// probability Confidence (Jagielski et al. 2020; Nasr et al. 2021): an
	// (ε, δ)-DP mechanism forces every attack to satisfy
	// FPR + e^ε·FNR ≥ 1 − δ and FNR + e^ε·FPR ≥ 1 − δ, so
	// ε ≥ max(log((1 − δ − FPR)/FNR), log((1 − δ − FNR)/FPR)).
	// The threshold is chosen on a random half of each sample (the
	// selection half) and the rates are measured on the other half, where
	// FPR and FNR are replaced by their one-sided Clopper–Pearson upper
	// bounds at (1 − Confidence)/2 each, so the bound is conservative. 0
	// when the attack does no better than chance.
	EpsilonLowerBound float64
	Confidence        float64
	// Threshold is the selected loss threshold; FPR and FNR its measured
	// rates on the evaluation half, with their upper bounds.
	Threshold          float64
	FPR, FNR           float64
	FPRUpper, FNRUpper float64
}

// MembershipAudit runs the attack on the per-sample losses of members
// (training data) and non-members (held-out data of the same distribution).
// seed fixes the selection/evaluation split.
func MembershipAudit(memberLoss, nonMemberLoss []float64, delta, confidence float64, seed uint64) (Audit, error) {
	if len(memberLoss) < 2 || len(nonMemberLoss) < 2 {
		return Audit{}, fmt.Errorf("membership audit needs at least 2 members and 2 non-members, have %d and %d", len(memberLoss), len(nonMemberLoss))
	}
	for _, l := range [][]float64{memberLoss, nonMemberLoss} {
		for i, v := range l {
			if math.IsNaN(v) {
				return Audit{}, fmt.Errorf("membership audit: loss of sample %d is NaN", i+1)
			}
		}
	}
	a := Audit{Members: len(memberLoss), NonMembers: len(nonMemberLoss), Confidence: confidence}
	a.AUC = AUC(memberLoss, nonMemberLoss)
	a.Advantage, _ = bestAdvantage(memberLoss, nonMemberLoss)

	rng := rand.New(rand.NewPCG(seed, 0x313a))
	selM, evalM := split(rng, memberLoss)
	selN, evalN := split(rng, nonMemberLoss)
	_, tau := bestAdvantage(selM, selN)
	a.Threshold = tau
	var fn, fp int64
	for _, v := range evalM {
		if v > tau {
			fn++
		}
	}
	for _, v := range evalN {
		if v <= tau {
			fp++
		}
	}
	nm, nn := int64(len(evalM)), int64(len(evalN))
	a.FNR, a.FPR = float64(fn)/float64(nm), float64(fp)/float64(nn)
	alpha := (1 - confidence) / 2
	a.FNRUpper = stats.ClopperPearsonUpper(fn, nm, alpha)
	a.FPRUpper = stats.ClopperPearsonUpper(fp, nn, alpha)
	a.EpsilonLowerBound = EpsilonLowerBound(a.FPRUpper, a.FNRUpper, delta)
	return a, nil
}

// EpsilonLowerBound is the smallest ε consistent with an attack of false
// positive rate fpr and false negative rate fnr under (ε, δ)-DP, floored
// at 0: max(log((1−δ−fpr)/fnr), log((1−δ−fnr)/fpr), 0).
func EpsilonLowerBound(fpr, fnr, delta float64) float64 {
	e := 0.0
	if fnr > 0 && 1-delta-fpr > 0 {
		e = math.Max(e, math.Log((1-delta-fpr)/fnr))
	}
	if fpr > 0 && 1-delta-fnr > 0 {
		e = math.Max(e, math.Log((1-delta-fnr)/fpr))
	}
	return e
}

func split(rng *rand.Rand, v []float64) (a, b []float64) {
	s := append([]float64(nil), v...)
	rng.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
	h := len(s) / 2
	return s[:h], s[h:]
}

// AUC is P(member loss < non-member loss) + ½·P(equal), by ranks.
func AUC(member, nonMember []float64) float64 {
	type obs struct {
		v      float64
		member bool
	}
	all := make([]obs, 0, len(member)+len(nonMember))
	for _, v := range member {
		all = append(all, obs{v, true})
	}
	for _, v := range nonMember {
		all = append(all, obs{v, false})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v < all[j].v })
	// Sum of the non-members' ranks (ascending loss), ties averaged: U
	// counts member/non-member pairs where the member's loss is smaller.
	var rankSum float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		avg := float64(i+j+1) / 2 // ranks i+1..j
		for k := i; k < j; k++ {
			if !all[k].member {
				rankSum += avg
			}
		}
		i = j
	}
	m, n := float64(len(member)), float64(len(nonMember))
	u := rankSum - n*(n+1)/2
	return u / (m * n)
}

// bestAdvantage returns max over thresholds τ of TPR(τ) − FPR(τ), where
// TPR = share of members with loss ≤ τ and FPR = share of non-members with
// loss ≤ τ, and the τ attaining it (the largest loss value at the optimum).
func bestAdvantage(member, nonMember []float64) (adv, tau float64) {
	m := append([]float64(nil), member...)
	n := append([]float64(nil), nonMember...)
	sort.Float64s(m)
	sort.Float64s(n)
	tau = math.Inf(-1)
	i, j := 0, 0
	for i < len(m) || j < len(n) {
		var t float64
		switch {
		case j >= len(n) || (i < len(m) && m[i] <= n[j]):
			t = m[i]
		default:
			t = n[j]
		}
		for i < len(m) && m[i] <= t {
			i++
		}
		for j < len(n) && n[j] <= t {
			j++
		}
		if d := float64(i)/float64(len(m)) - float64(j)/float64(len(n)); d > adv {
			adv, tau = d, t
		}
	}
	return adv, tau
}

// CrossEntropy is the loss of predicting P(favorable) = p for a sample
// whose label is favorable (or not), with p clamped to [1e-7, 1-1e-7] so a
// saturated model gives a finite loss.
func CrossEntropy(p float64, favorable bool) float64 {
	p = math.Min(math.Max(p, 1e-7), 1-1e-7)
	if favorable {
		return -math.Log(p)
	}
	return -math.Log1p(-p)
}
