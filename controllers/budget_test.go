package controllers

import (
	"context"
	"strconv"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/evaluation/privacy"
	"github.com/responsible-ai/rmodel-operator/internal/report"
)

func newBudget(ns, name, epsilon string) *raiv1.PrivacyBudget {
	return &raiv1.PrivacyBudget{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       raiv1.PrivacyBudgetSpec{Epsilon: raiv1.Decimal(epsilon), Delta: "1e-5", Composition: raiv1.CompositionRDP},
	}
}

func getBudget(g Gomega, b *raiv1.PrivacyBudget) *raiv1.PrivacyBudget {
	got := &raiv1.PrivacyBudget{}
	g.Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(b), got)).To(Succeed())
	return got
}

// TestBudgetChargedOnceAcrossRestart: a promoted version's epsilon is
// charged once, before the rollout, and a restarted manager does not
// charge it again; a second model that would overspend is denied.
func TestBudgetChargedOnceAcrossRestart(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	stop := startManager(t, nil)
	ns := newNamespace(t)
	b := newBudget(ns, "lending", "8")
	g.Expect(k8s.Create(ctx, b)).To(Succeed())
	m := newModel(ns, "dp", withoutFairness(), withPrivacyBudget("lending"))
	g.Expect(k8s.Create(ctx, m)).To(Succeed())
	// sigma 1.1, q 0.01, 3000 steps: epsilon about 2.9 at delta 1e-5.
	finishJob(t, waitForJob(t, m, "v1", report.KindPrivacy), corev1.PodSucceeded, privacyReport(1, 1.1, 0.01, 3000), "")
	servingDeployment(t, m, "v1")
	var spent string
	g.Eventually(func(g Gomega) {
		got := getBudget(g, b)
		g.Expect(got.Status.Charges).To(HaveLen(1))
		g.Expect(got.Status.Charges[0].Version).To(Equal("v1"))
		g.Expect(got.Status.Charges[0].RDP).To(HaveLen(len(privacy.DefaultOrders())))
		g.Expect(got.Status.Charges[0].DecisionID).NotTo(BeEmpty())
		spent = got.Status.Spent
	}).WithTimeout(waitFor).Should(Succeed())
	want, _, err := privacy.Epsilon(1.1, 0.01, 3000, 1e-5)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(spent).To(Equal(strconv.FormatFloat(want, 'g', 6, 64)), "one charge spends the version's own epsilon")
	g.Expect(getBudget(g, b).Status.Remaining).To(Equal(strconv.FormatFloat(8-want, 'g', 6, 64)))
	g.Expect(meta.IsStatusConditionFalse(getBudget(g, b).Status.Conditions, raiv1.ConditionExhausted)).To(BeTrue())

	// A new manager sees the same promotable candidate: no second charge.
	stop()
	startManager(t, nil)
	g.Consistently(func(g Gomega) {
		g.Expect(getBudget(g, b).Status.Charges).To(HaveLen(1))
	}).WithTimeout(3 * time.Second).Should(Succeed())
	completeRollout(t, servingDeployment(t, m, "v1"))
	g.Eventually(func(g Gomega) {
		g.Expect(getModel(g, m).Status.StableVersion).To(Equal("v1"))
	}).WithTimeout(waitFor).Should(Succeed())
	g.Expect(getBudget(g, b).Status.Charges).To(HaveLen(1))

	// Another model on the same data whose epsilon does not fit.
	m2 := newModel(ns, "dp2", withoutFairness(), withPrivacyBudget("lending"))
	g.Expect(k8s.Create(ctx, m2)).To(Succeed())
	// sigma 0.6, q 0.05, 5000 steps: epsilon far above the 6 or so left.
	finishJob(t, waitForJob(t, m2, "v1", report.KindPrivacy), corev1.PodSucceeded, privacyReport(1, 0.6, 0.05, 5000), "")
	g.Eventually(func(g Gomega) {
		c := condition(g, m2, raiv1.ConditionPolicyAllowed)
		g.Expect(c.Reason).To(Equal(raiv1.ReasonBudgetExhausted))
		g.Expect(c.Message).To(ContainSubstring("BudgetExhausted"))
	}).WithTimeout(waitFor).Should(Succeed())
	g.Expect(getBudget(g, b).Status.Charges).To(HaveLen(1), "a denied version is not charged")

	// Under Warn (which the platform allows here) an overspending version
	// is still denied: the budget blocks in every mode.
	platformPolicy(t, ns, raiv1.PromotionPolicySpec{AllowedEnforcement: []raiv1.EnforcementMode{raiv1.EnforcementEnforce, raiv1.EnforcementWarn}})
	g.Eventually(func() error {
		cur := getModel(g, m2)
		cur.Spec.Policy.Enforcement = raiv1.EnforcementWarn
		return k8s.Update(ctx, cur)
	}).WithTimeout(waitFor).Should(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(getModel(g, m2).Status.LastDecision.Enforcement).To(Equal(raiv1.EnforcementWarn))
		g.Expect(condition(g, m2, raiv1.ConditionPromoted).Reason).To(Equal(raiv1.ReasonBudgetExhausted))
	}).WithTimeout(waitFor).Should(Succeed())
	g.Expect(getBudget(g, b).Status.Charges).To(HaveLen(1))

	// Deleting a model does not give its privacy back.
	g.Expect(k8s.Delete(ctx, m)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(m), &raiv1.ResponsibleModel{}))
	}).WithTimeout(waitFor).Should(BeTrue())
	g.Expect(getBudget(g, b).Status.Charges).To(HaveLen(1))

	// Lowering the total below the spend exhausts the budget; the charges
	// stay.
	g.Eventually(func() error {
		cur := getBudget(g, b)
		cur.Spec.Epsilon = "2"
		return k8s.Update(ctx, cur)
	}).WithTimeout(waitFor).Should(Succeed())
	g.Eventually(func(g Gomega) {
		got := getBudget(g, b)
		g.Expect(got.Status.Remaining).To(Equal("0"))
		g.Expect(meta.IsStatusConditionTrue(got.Status.Conditions, raiv1.ConditionExhausted)).To(BeTrue())
		g.Expect(got.Status.Charges).To(HaveLen(1))
	}).WithTimeout(waitFor).Should(Succeed())
}

// TestBudgetNotFound: a missing PrivacyBudget denies with BudgetNotFound.
func TestBudgetNotFound(t *testing.T) {
	g := NewWithT(t)
	startManager(t, nil)
	ns := newNamespace(t)
	m := newModel(ns, "nobudget", withoutFairness(), withPrivacyBudget("missing"))
	g.Expect(k8s.Create(context.Background(), m)).To(Succeed())
	finishJob(t, waitForJob(t, m, "v1", report.KindPrivacy), corev1.PodSucceeded, privacyReport(1, 1.1, 0.01, 3000), "")
	g.Eventually(func(g Gomega) {
		c := condition(g, m, raiv1.ConditionPolicyAllowed)
		g.Expect(c.Reason).To(Equal(raiv1.ReasonBudgetNotFound))
		g.Expect(c.Message).To(ContainSubstring("PrivacyBudget missing not found"))
	}).WithTimeout(waitFor).Should(Succeed())
}

// TestComposeEpsilon: RDP composition is tighter than adding epsilons, and
// falls back to adding for charges without a curve.
func TestComposeEpsilon(t *testing.T) {
	orders := privacy.DefaultOrders()
	curve := privacy.RDP(0.01, 1.1, 3000, orders)
	one, _ := privacy.EpsilonFromRDP(orders, curve, 1e-5)
	cost := privacyCost{Epsilon: one, Delta: 1e-5, RDP: curve}
	cases := []struct {
		name   string
		method raiv1.CompositionMethod
		costs  []privacyCost
		// check judges the composed epsilon.
		check func(t *testing.T, eps float64)
	}{
		{"none", raiv1.CompositionRDP, nil, func(t *testing.T, eps float64) {
			if eps != 0 {
				t.Errorf("no charges composed to %v, want 0", eps)
			}
		}},
		{"one curve is its own epsilon", raiv1.CompositionRDP, []privacyCost{cost}, func(t *testing.T, eps float64) {
			if d := eps - one; d > 1e-12 || d < -1e-12 {
				t.Errorf("one charge composed to %v, want %v", eps, one)
			}
		}},
		{"two curves are tighter than twice", raiv1.CompositionRDP, []privacyCost{cost, cost}, func(t *testing.T, eps float64) {
			if !(eps > one && eps < 2*one) {
				t.Errorf("two charges composed to %v, want in (%v, %v)", eps, one, 2*one)
			}
		}},
		{"basic adds", raiv1.CompositionBasic, []privacyCost{cost, cost}, func(t *testing.T, eps float64) {
			if eps != 2*one {
				t.Errorf("basic composition gave %v, want %v", eps, 2*one)
			}
		}},
		{"a charge without a curve is added", raiv1.CompositionRDP, []privacyCost{cost, {Epsilon: 0.5}}, func(t *testing.T, eps float64) {
			if d := eps - (one + 0.5); d > 1e-12 || d < -1e-12 {
				t.Errorf("composed to %v, want %v", eps, one+0.5)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, composeEpsilon(tc.method, 1e-5, tc.costs)) })
	}
}

// TestViewBudget: the candidate's own charge is not counted against it, and
// over-spending is a BudgetExhausted violation even if the policy missed it.
// A charge is keyed by the artifact's digest: the same artifact under
// another name is charged already; another artifact under a name and
// version charged before is not.
func TestViewBudget(t *testing.T) {
	b := newBudget("ns", "b", "3")
	b.Status.Charges = []raiv1.PrivacyCharge{
		{Model: "m", Version: "v1", Epsilon: "2", Delta: "1e-5"}, // recorded before charges named a digest
		{Model: "other", Version: "v1", Epsilon: "0.5", Delta: "1e-5", ModelSHA256: sha(7)},
	}
	cases := []struct {
		name    string
		model   string
		version string
		// digest is the candidate's model digest.
		digest    string
		candidate float64
		// wantCharged: the candidate already has a charge.
		wantCharged bool
		// wantSpent is what the others spent.
		wantSpent float64
		// wantCode is the operator's violation, if any.
		wantCode string
	}{
		{"recharged version (no digest recorded) sees only the others", "m", "v1", sha(1), 2, true, 0.5, ""},
		{"fits", "m", "v2", sha(2), 0.5, false, 2.5, ""},
		{"overspends", "m", "v2", sha(2), 0.6, false, 2.5, "BudgetExhausted"},
		{"the same artifact under another name is charged already", "renamed", "v9", sha(7), 0.5, true, 2, ""},
		{"another artifact under a charged name and version is a new charge", "other", "v1", sha(8), 0.6, false, 2.5, "BudgetExhausted"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := viewBudget(b, tc.model, tc.version, tc.digest, privacyCost{Epsilon: tc.candidate}, true)
			if err != nil {
				t.Fatal(err)
			}
			if v.Charged != tc.wantCharged || v.Spent != tc.wantSpent {
				t.Errorf("charged %v spent %v, want %v %v", v.Charged, v.Spent, tc.wantCharged, tc.wantSpent)
			}
			vs := budgetViolations(v)
			if (tc.wantCode == "") != (len(vs) == 0) || (len(vs) > 0 && vs[0].Code != tc.wantCode) {
				t.Errorf("violations %v, want code %q", vs, tc.wantCode)
			}
		})
	}
	if vs := budgetViolations(&budgetView{Name: "b", Total: 3}); len(vs) != 1 || vs[0].Code != CodeBudgetUnchargeable {
		t.Errorf("a candidate without epsilon: %v, want BudgetUnchargeable", vs)
	}
}

func TestCostOfReportRecomputesTheCurve(t *testing.T) {
	withParams := func(sigma, q, steps, eps float64) *report.Report {
		r := baseReport(report.KindPrivacy, 1)
		r.SetMetric("epsilon", eps, "")
		r.SetMetric("delta", 1e-5, "")
		r.SetMetric("noise_multiplier", sigma, "")
		r.SetMetric("sample_rate", q, "")
		r.SetMetric("steps", steps, "")
		return r
	}
	eps, _, err := privacy.Epsilon(2, 0.05, 100, 1e-5)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		rep  *report.Report
		// wantCurve: an RDP curve is recovered.
		wantCurve bool
	}{
		{"parameters reproduce epsilon", withParams(2, 0.05, 100, eps), true},
		{"parameters contradict epsilon", withParams(2, 0.05, 100, eps*2), false},
		{"no parameters", func() *report.Report {
			r := baseReport(report.KindPrivacy, 1)
			r.SetMetric("epsilon", eps, "")
			r.SetMetric("delta", 1e-5, "")
			return r
		}(), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cost, ok := costOfReport(tc.rep)
			if !ok || (len(cost.RDP) > 0) != tc.wantCurve {
				t.Errorf("costOfReport: ok %v, curve of %d orders; want a curve: %v", ok, len(cost.RDP), tc.wantCurve)
			}
		})
	}
}
