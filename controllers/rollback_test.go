package controllers

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/report"
)

// TestRollbackToRecordedVersion: setting the spec back to a version that
// was promoted before (what kubectl rmodel rollback does) runs no
// evaluation again: the report recorded at its promotion is verified and
// judged by the current policy, which promotes it, or, once the policy is
// stricter, denies it. The promotion's decision record names the artifact's
// URI for the plugin.
func TestRollbackToRecordedVersion(t *testing.T) {
	g := NewWithT(t)
	startManager(t, nil)
	ctx := context.Background()
	ns := newNamespace(t)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "rb-policy", Namespace: ns},
		Data: map[string]string{"thresholds.json": `{"rai": {"thresholds": {"demographic_parity_ratio_min": 0.8}}}`}}
	g.Expect(k8s.Create(ctx, cm)).To(Succeed())
	m := newModel(ns, "rb", withPolicyConfigMap("rb-policy"))
	g.Expect(k8s.Create(ctx, m)).To(Succeed())
	promoteVersion(t, m, "v1", 1)
	setVersion(t, m, "v2", 2)
	promoteVersion(t, m, "v2", 2)
	jobs := func(g Gomega) []batchv1.Job {
		list := &batchv1.JobList{}
		g.Expect(k8s.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{raiv1.LabelModel: m.Name})).To(Succeed())
		return list.Items
	}
	before := len(jobs(g))

	records := &raiv1.DecisionRecordList{}
	g.Expect(k8s.List(ctx, records, client.InNamespace(ns), client.MatchingLabels{raiv1.LabelModel: m.Name, raiv1.LabelVersion: "v1"})).To(Succeed())
	g.Expect(records.Items).To(ContainElement(And(HaveField("Spec.Action", raiv1.DecisionAction(raiv1.HistoryPromoted)),
		HaveField("Spec.ModelURI", "https://models.example/credit/v1.onnx"))))

	// Back to v1: its recorded evidence is judged again; nothing runs.
	setVersion(t, m, "v1", 1)
	g.Eventually(func(g Gomega) {
		e := findEvaluation(getModel(g, m).Status.Evaluations, string(report.KindFairness))
		g.Expect(e).NotTo(BeNil())
		g.Expect(e.Version).To(Equal("v1"))
		g.Expect(e.Reason).To(Equal(raiv1.ReasonEvidenceReused))
		g.Expect(e.Message).To(ContainSubstring("judged again by the current policy"))
	}).WithTimeout(waitFor).Should(Succeed())
	completeRollout(t, servingDeployment(t, m, "v1"))
	g.Eventually(func(g Gomega) {
		got := getModel(g, m)
		g.Expect(got.Status.StableVersion).To(Equal("v1"))
		g.Expect(got.Status.PreviousVersion).To(Equal("v2"))
	}).WithTimeout(waitFor).Should(Succeed())
	g.Expect(jobs(g)).To(HaveLen(before), "no evaluation Job ran for the rollback")

	// A stricter policy, then back to v2 (0.9 against 0.95): denied on
	// its recorded evidence; v1 keeps serving.
	g.Eventually(func() error {
		cur := &corev1.ConfigMap{}
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(cm), cur); err != nil {
			return err
		}
		cur.Data["thresholds.json"] = `{"rai": {"thresholds": {"demographic_parity_ratio_min": 0.95}}}`
		return k8s.Update(ctx, cur)
	}).WithTimeout(waitFor).Should(Succeed())
	setVersion(t, m, "v2", 2)
	g.Eventually(func(g Gomega) {
		got := getModel(g, m)
		e := findEvaluation(got.Status.Evaluations, string(report.KindFairness))
		g.Expect(e).NotTo(BeNil())
		g.Expect(e.Reason).To(Equal(raiv1.ReasonEvidenceReused))
		g.Expect(got.Status.LastDecision).NotTo(BeNil())
		g.Expect(got.Status.LastDecision.Version).To(Equal("v2"))
		g.Expect(got.Status.LastDecision.Allowed).To(BeFalse())
		g.Expect(got.Status.StableVersion).To(Equal("v1"))
		s := condition(g, m, raiv1.ConditionStalled)
		g.Expect(s.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(s.Message).To(ContainSubstring("below the minimum 0.95"))
	}).WithTimeout(waitFor).Should(Succeed())
	g.Expect(jobs(g)).To(HaveLen(before))

	// Evidence that is gone is not reused: after v3, back to v2 without
	// its report, the evaluation runs again under a Job the operator
	// records.
	setVersion(t, m, "v3", 3)
	waitForJob(t, m, "v3", report.KindFairness)
	g.Eventually(func(g Gomega) {
		e := findEvaluation(getModel(g, m).Status.Evaluations, string(report.KindFairness))
		g.Expect(e).NotTo(BeNil())
		g.Expect(e.Version).To(Equal("v3"))
	}).WithTimeout(waitFor).Should(Succeed())
	g.Expect(k8s.List(ctx, records, client.InNamespace(ns), client.MatchingLabels{raiv1.LabelModel: m.Name, raiv1.LabelVersion: "v2"})).To(Succeed())
	var ref string
	for _, r := range records.Items {
		for _, e := range r.Spec.Evidence {
			if r.Spec.Action == raiv1.DecisionAction(raiv1.HistoryPromoted) && e.ReportRef != nil {
				ref = e.ReportRef.Name
			}
		}
	}
	g.Expect(ref).NotTo(BeEmpty())
	g.Expect(k8s.Delete(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: ref, Namespace: ns}})).To(Succeed())
	setVersion(t, m, "v2", 2)
	g.Eventually(func(g Gomega) {
		e := findEvaluation(getModel(g, m).Status.Evaluations, string(report.KindFairness))
		g.Expect(e).NotTo(BeNil())
		g.Expect(e.Version).To(Equal("v2"))
		g.Expect(e.Reason).NotTo(Equal(raiv1.ReasonEvidenceReused))
		g.Expect(e.JobUID).NotTo(BeEmpty(), "%+v", *e)
	}).WithTimeout(waitFor).Should(Succeed())
}
