package controllers

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/report"
	"github.com/responsible-ai/rmodel-operator/internal/testenv"
)

// TestApprovalGate: a PromotionPolicy that requires approval holds an
// allowed version (InProgress, not Failed) until a person with the approve
// verb approves its decision in their own name; admission refuses an
// approval by someone without the verb or in someone else's name.
func TestApprovalGate(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	installShippedRBACAndAdmission(t, ns)
	// bob may approve models in this namespace.
	grantOnModels(t, ns, "approve", "bob")
	startManagerWith(t, impersonating(operatorUser, "system:serviceaccounts", "system:serviceaccounts:rmodel-system"), nil)
	alice, err := client.New(impersonating("alice"), client.Options{Scheme: testenv.Scheme()})
	g.Expect(err).NotTo(HaveOccurred())
	bob, err := client.New(impersonating("bob"), client.Options{Scheme: testenv.Scheme()})
	g.Expect(err).NotTo(HaveOccurred())
	platformPolicy(t, ns, raiv1.PromotionPolicySpec{RequireApproval: true})

	m := newModel(ns, "gated")
	g.Expect(alice.Create(ctx, m)).To(Succeed())
	finishJob(t, waitForJob(t, m, "v1", report.KindFairness), corev1.PodSucceeded, fairnessReport(1, 0.9), "")
	var decision string
	g.Eventually(func(g Gomega) {
		got := getModel(g, m)
		g.Expect(got.Status.LastDecision).NotTo(BeNil())
		g.Expect(got.Status.LastDecision.Allowed).To(BeTrue())
		p := condition(g, m, raiv1.ConditionPromoted)
		g.Expect(p.Reason).To(Equal(raiv1.ReasonAwaitingApproval))
		g.Expect(p.Message).To(ContainSubstring("requires a person to approve version v1"))
		g.Expect(condition(g, m, raiv1.ConditionStalled).Status).To(Equal(metav1.ConditionFalse))
		g.Expect(kstatusOf(g, m).Status).To(Equal(kstatus.InProgressStatus), "a person decides next: not Failed")
		decision = got.Status.LastDecision.ID
	}).WithTimeout(waitFor).Should(Succeed())
	g.Expect(apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: servingName(m.Name)}, &corev1.Service{}))).To(BeTrue(), "nothing serves before the approval")

	approval := func(name, approver string) *raiv1.ModelApproval {
		return &raiv1.ModelApproval{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: raiv1.ModelApprovalSpec{
			Model: m.Name, Version: "v1", ModelSHA256: raiv1.SHA256(sha(1)), DecisionID: decision, Approver: approver, Reason: "reviewed the fairness report"}}
	}
	// alice owns the model but may not approve it; the admission policy
	// takes effect a moment after it is created.
	// Probed with dry runs, so that an attempt accepted before the policy
	// loads leaves nothing behind.
	g.Eventually(func() string {
		err := alice.Create(ctx, approval("by-alice", "alice"), client.DryRunAll)
		if err == nil {
			return "accepted"
		}
		return err.Error()
	}).WithTimeout(waitFor).Should(ContainSubstring("approving needs the approve verb"))
	err = alice.Create(ctx, approval("by-alice", "alice"))
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("approving needs the approve verb"))
	// bob may approve, but not in alice's name.
	err = bob.Create(ctx, approval("forged", "alice"))
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("spec.approver must be the requesting user"))

	g.Expect(bob.Create(ctx, approval("by-bob", "bob"))).To(Succeed())
	completeRollout(t, servingDeployment(t, m, "v1"))
	g.Eventually(func(g Gomega) {
		got := getModel(g, m)
		g.Expect(got.Status.StableVersion).To(Equal("v1"))
		g.Expect(got.Status.History).To(ContainElement(And(HaveField("Action", raiv1.HistoryPromoted), HaveField("Message", ContainSubstring("approved by bob (ModelApproval by-bob: reviewed the fairness report)")))))
		g.Expect(kstatusOf(g, m).Status).To(Equal(kstatus.CurrentStatus))
	}).WithTimeout(waitFor).Should(Succeed())
}

// TestBreakGlassOverride: a user with the override verb may promote a
// denied version, with a reason; it is never silent (a Warning event, the
// decision record, Compliant=False), needs its own verb, and cannot open a
// budget denial.
func TestBreakGlassOverride(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	installShippedRBACAndAdmission(t, ns)
	grantOnModels(t, ns, "override", "carol")
	startManagerWith(t, impersonating(operatorUser, "system:serviceaccounts", "system:serviceaccounts:rmodel-system"), nil)
	alice, err := client.New(impersonating("alice"), client.Options{Scheme: testenv.Scheme()})
	g.Expect(err).NotTo(HaveOccurred())
	carol, err := client.New(impersonating("carol"), client.Options{Scheme: testenv.Scheme()})
	g.Expect(err).NotTo(HaveOccurred())

	denied := func(m *raiv1.ResponsibleModel, report string, kind report.Kind) string {
		t.Helper()
		g.Expect(alice.Create(ctx, m)).To(Succeed())
		finishJob(t, waitForJob(t, m, "v1", kind), corev1.PodSucceeded, report, "")
		var id string
		g.Eventually(func(g Gomega) {
			got := getModel(g, m)
			g.Expect(got.Status.LastDecision).NotTo(BeNil())
			g.Expect(got.Status.LastDecision.Allowed).To(BeFalse())
			id = got.Status.LastDecision.ID
		}).WithTimeout(waitFor).Should(Succeed())
		return id
	}
	override := func(m *raiv1.ResponsibleModel, name, decision string) *raiv1.ModelApproval {
		return &raiv1.ModelApproval{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: raiv1.ModelApprovalSpec{
			Model: m.Name, Version: "v1", ModelSHA256: raiv1.SHA256(sha(1)), DecisionID: decision, Approver: "carol",
			Decision: raiv1.ApprovalOverride, Reason: "incident 4711: the old scorer is down; a reviewed exception"}}
	}

	m := newModel(ns, "glass")
	decision := denied(m, fairnessReport(1, 0.5), report.KindFairness)
	// alice may not override (and admission takes a moment to load).
	g.Eventually(func() string {
		a := override(m, "by-alice", decision)
		a.Spec.Approver = "alice"
		if err := alice.Create(ctx, a, client.DryRunAll); err != nil {
			return err.Error()
		}
		return "accepted"
	}).WithTimeout(waitFor).Should(ContainSubstring("overriding needs the override verb"))
	g.Expect(carol.Create(ctx, override(m, "by-carol", decision))).To(Succeed())
	completeRollout(t, servingDeployment(t, m, "v1"))
	g.Eventually(func(g Gomega) {
		got := getModel(g, m)
		g.Expect(got.Status.StableVersion).To(Equal("v1"))
		g.Expect(got.Status.History).To(ContainElement(And(HaveField("Reason", raiv1.ReasonOverridden), HaveField("Message", ContainSubstring("break-glass override of carol")))))
		c := condition(g, m, raiv1.ConditionCompliant)
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse), "an overridden version stays non-compliant")
		g.Expect(events(g, m, corev1.EventTypeWarning, raiv1.ReasonOverridden)).NotTo(BeEmpty())
		list := &raiv1.DecisionRecordList{}
		g.Expect(k8s.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{raiv1.LabelModel: m.Name})).To(Succeed())
		g.Expect(list.Items).To(ContainElement(HaveField("Spec.Reason", raiv1.ReasonOverridden)))
	}).WithTimeout(waitFor).Should(Succeed())

	// A budget denial stays closed.
	g.Expect(k8s.Create(ctx, newBudget(ns, "small", "0.1"))).To(Succeed())
	b := newModel(ns, "overspent", withoutFairness(), withPrivacyBudget("small"))
	decision = denied(b, privacyReport(1, 1.1, 0.01, 3000), report.KindPrivacy)
	g.Expect(carol.Create(ctx, override(b, "budget-by-carol", decision))).To(Succeed())
	g.Consistently(func(g Gomega) {
		got := getModel(g, b)
		g.Expect(got.Status.StableVersion).To(BeEmpty())
		g.Expect(condition(g, b, raiv1.ConditionPolicyAllowed).Reason).To(Equal(raiv1.ReasonBudgetExhausted))
	}).WithTimeout(3 * time.Second).Should(Succeed())
}

// TestInconclusiveVerdictFourEyes: a metric that passes while its interval
// straddles the threshold leaves the decision to a person (AwaitingApproval,
// kstatus InProgress); under four eyes the approval of whoever last changed
// the spec, as admission records it, does not count, and nobody can write
// someone else's name into that record.
func TestInconclusiveVerdictFourEyes(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	installShippedRBACAndAdmission(t, ns)
	// alice and bob may both approve models in this namespace.
	grantOnModels(t, ns, "approve", "alice", "bob")
	startManagerWith(t, impersonating(operatorUser, "system:serviceaccounts", "system:serviceaccounts:rmodel-system"), nil)
	alice, err := client.New(impersonating("alice"), client.Options{Scheme: testenv.Scheme()})
	g.Expect(err).NotTo(HaveOccurred())
	bob, err := client.New(impersonating("bob"), client.Options{Scheme: testenv.Scheme()})
	g.Expect(err).NotTo(HaveOccurred())
	platformPolicy(t, ns, raiv1.PromotionPolicySpec{RequireIndependentApprover: true, ConfidenceIntervals: raiv1.ConfidenceIntervalsInconclusive})

	// The API server records who wrote the spec (the mutating policy takes
	// a moment to load: probe with dry runs).
	m := newModel(ns, "margin")
	g.Eventually(func() string {
		probe := m.DeepCopy()
		if err := alice.Create(ctx, probe, client.DryRunAll); err != nil {
			return err.Error()
		}
		return probe.Annotations[raiv1.AnnotationSpecChangedBy]
	}).WithTimeout(waitFor).Should(Equal("alice"))
	g.Expect(alice.Create(ctx, m)).To(Succeed())
	g.Expect(m.Annotations[raiv1.AnnotationSpecChangedBy]).To(Equal("alice"))

	// 0.82 meets the four-fifths minimum; its interval [0.77, 0.85] does not.
	finishJob(t, waitForJob(t, m, "v1", report.KindFairness), corev1.PodSucceeded, fairnessReport(1, 0.82), "")
	var decision string
	g.Eventually(func(g Gomega) {
		got := getModel(g, m)
		d := got.Status.LastDecision
		g.Expect(d).NotTo(BeNil())
		g.Expect(d.Allowed).To(BeFalse())
		g.Expect(d.Violations).To(BeEmpty())
		g.Expect(d.Inconclusive).To(ConsistOf(HaveField("Code", "FairnessDemographicParity")))
		pa := condition(g, m, raiv1.ConditionPolicyAllowed)
		g.Expect(pa.Reason).To(Equal(raiv1.ReasonPolicyInconclusive))
		g.Expect(pa.Message).To(ContainSubstring("95% confidence interval [0.77, 0.85] reaches below it"))
		p := condition(g, m, raiv1.ConditionPromoted)
		g.Expect(p.Reason).To(Equal(raiv1.ReasonAwaitingApproval))
		g.Expect(p.Message).To(And(ContainSubstring("the policy found version v1 inconclusive"), ContainSubstring("other than the last editor of the spec (alice")))
		g.Expect(condition(g, m, raiv1.ConditionStalled).Status).To(Equal(metav1.ConditionFalse))
		g.Expect(kstatusOf(g, m).Status).To(Equal(kstatus.InProgressStatus), "a person decides next: not Failed")
		g.Expect(events(g, m, corev1.EventTypeWarning, raiv1.ReasonPolicyInconclusive)).NotTo(BeEmpty())
		g.Expect(got.Status.History).NotTo(ContainElement(HaveField("Action", raiv1.HistoryDenied)), "inconclusive is not a denial")
		decision = d.ID
	}).WithTimeout(waitFor).Should(Succeed())

	// alice cannot put bob's name on her change.
	g.Eventually(func() string {
		cur := &raiv1.ResponsibleModel{}
		if err := alice.Get(ctx, client.ObjectKeyFromObject(m), cur); err != nil {
			return err.Error()
		}
		cur.Annotations[raiv1.AnnotationSpecChangedBy] = "bob"
		if err := alice.Update(ctx, cur, client.DryRunAll); err != nil {
			return err.Error()
		}
		return "accepted"
	}).WithTimeout(waitFor).Should(ContainSubstring("the API server records who last changed the spec"))

	approval := func(name, approver string) *raiv1.ModelApproval {
		return &raiv1.ModelApproval{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: raiv1.ModelApprovalSpec{
			Model: m.Name, Version: "v1", ModelSHA256: raiv1.SHA256(sha(1)), DecisionID: decision, Approver: approver,
			Reason: "the lower bound misses by 0.03 on 6000 rows; acceptable for this release"}}
	}
	g.Eventually(func() error { return alice.Create(ctx, approval("by-alice", "alice")) }).WithTimeout(waitFor).Should(Succeed())
	g.Eventually(func(g Gomega) {
		p := condition(g, m, raiv1.ConditionPromoted)
		g.Expect(p.Reason).To(Equal(raiv1.ReasonAwaitingApproval))
		g.Expect(p.Message).To(ContainSubstring("ModelApproval by-alice does not count"))
	}).WithTimeout(waitFor).Should(Succeed())
	g.Expect(apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: servingName(m.Name)}, &corev1.Service{}))).To(BeTrue(), "the editor's own approval opens nothing")

	g.Expect(bob.Create(ctx, approval("by-bob", "bob"))).To(Succeed())
	completeRollout(t, servingDeployment(t, m, "v1"))
	g.Eventually(func(g Gomega) {
		got := getModel(g, m)
		g.Expect(got.Status.StableVersion).To(Equal("v1"))
		g.Expect(got.Status.History).To(ContainElement(And(HaveField("Reason", raiv1.ReasonApproved),
			HaveField("Message", ContainSubstring("found inconclusive by the policy and approved by bob (ModelApproval by-bob")))))
		c := condition(g, m, raiv1.ConditionCompliant)
		g.Expect(c.Status).To(Equal(metav1.ConditionUnknown))
		g.Expect(c.Reason).To(Equal(raiv1.ReasonPolicyInconclusive))
		list := &raiv1.DecisionRecordList{}
		g.Expect(k8s.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{raiv1.LabelModel: m.Name})).To(Succeed())
		g.Expect(list.Items).To(ContainElement(And(HaveField("Spec.Reason", raiv1.ReasonApproved), HaveField("Spec.Inconclusive", HaveLen(1)))))
	}).WithTimeout(waitFor).Should(Succeed())
}

// grantOnModels gives users, in ns, the custom verb (approve or override)
// on responsiblemodels and the right to create ModelApprovals.
func grantOnModels(t *testing.T, ns, verb string, users ...string) {
	t.Helper()
	g := NewWithT(t)
	ctx := context.Background()
	g.Expect(k8s.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: verb + "-models", Namespace: ns}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{raiv1.GroupVersion.Group}, Resources: []string{"responsiblemodels"}, Verbs: []string{"get", verb}},
		{APIGroups: []string{raiv1.GroupVersion.Group}, Resources: []string{"modelapprovals"}, Verbs: []string{"create", "get"}},
	}})).To(Succeed())
	for _, who := range users {
		g.Expect(k8s.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: who + "-" + verb, Namespace: ns},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: verb + "-models"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: who}}})).To(Succeed())
	}
}
