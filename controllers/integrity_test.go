package controllers

import (
	"context"
	"slices"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/report"
)

// The integrity suite: each test is an attack a namespace user (the person
// the gate judges) can make with the rights they have — editing the model's
// spec, creating pods, Jobs and ConfigMaps — and checks that it is refused.

// jobFor waits for the evaluation Job the operator creates for the spec m
// holds (its name is deterministic in the spec).
func jobFor(t *testing.T, m *raiv1.ResponsibleModel, kind report.Kind) *batchv1.Job {
	t.Helper()
	job := &batchv1.Job{}
	NewWithT(t).Eventually(func() error {
		return k8s.Get(context.Background(), client.ObjectKey{Namespace: m.Namespace, Name: evaluationJobName(m, kind)}, job)
	}).WithTimeout(waitFor).Should(Succeed())
	return job
}

// servedDigest is the model digest the serving Deployment's template runs.
func servedDigest(g Gomega, m *raiv1.ResponsibleModel) string {
	dep := &appsv1.Deployment{}
	g.Expect(k8s.Get(context.Background(), client.ObjectKey{Namespace: m.Namespace, Name: servingName(m.Name)}, dep)).To(Succeed())
	args := dep.Spec.Template.Spec.Containers[0].Args
	return args[slices.Index(args, "--sha256")+1]
}

// TestSwappedArtifactIsEvaluatedBeforeItServes: a new model digest under
// the stable version's name is a new candidate; it does not serve until it
// passes, and the stable artifact keeps serving.
func TestSwappedArtifactIsEvaluatedBeforeItServes(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	startManager(t, nil)
	ns := newNamespace(t)
	m := newModel(ns, "swap")
	g.Expect(k8s.Create(ctx, m)).To(Succeed())
	promoteVersion(t, m, "v1", 1)

	// The user swaps the artifact and keeps the version name.
	NewWithT(t).Eventually(func() error {
		cur := getModel(g, m)
		cur.Spec.Model.URI, cur.Spec.Model.SHA256 = "https://models.example/credit/biased.onnx", raiv1.SHA256(sha(5))
		return k8s.Update(ctx, cur)
	}).WithTimeout(waitFor).Should(Succeed())
	swapped := getModel(g, m)
	g.Eventually(func(g Gomega) {
		got := getModel(g, m)
		g.Expect(got.Status.CandidateVersion).To(Equal("v1"))
		g.Expect(got.Status.CandidateModelSHA256).To(Equal(sha(5)))
		g.Expect(condition(g, m, raiv1.ConditionEvaluated).Status).To(Equal(metav1.ConditionUnknown))
	}).WithTimeout(waitFor).Should(Succeed())
	job := jobFor(t, swapped, report.KindFairness)
	g.Expect(job.Spec.Template.Spec.Containers[0].Args).To(ContainElement(sha(5)))
	// Nothing was judged yet: the stable artifact serves, for a while.
	g.Consistently(func(g Gomega) {
		g.Expect(servedDigest(g, m)).To(Equal(sha(1)))
		g.Expect(getModel(g, m).Status.StableModelSHA256).To(Equal(sha(1)))
	}).WithTimeout(3 * time.Second).Should(Succeed())

	// Its evaluation fails the policy: it never serves.
	finishJob(t, job, corev1.PodSucceeded, fairnessReport(5, 0.68), "")
	g.Eventually(func(g Gomega) {
		got := getModel(g, m)
		g.Expect(got.Status.LastDecision).NotTo(BeNil())
		g.Expect(got.Status.LastDecision.ModelSHA256).To(Equal(sha(5)))
		g.Expect(got.Status.LastDecision.Allowed).To(BeFalse())
		g.Expect(condition(g, m, raiv1.ConditionPolicyAllowed).Reason).To(Equal(raiv1.ReasonPolicyDenied))
		g.Expect(condition(g, m, raiv1.ConditionPromoted).Status).To(Equal(metav1.ConditionFalse))
	}).WithTimeout(waitFor).Should(Succeed())
	g.Consistently(func(g Gomega) {
		g.Expect(servedDigest(g, m)).To(Equal(sha(1)))
		got := getModel(g, m)
		g.Expect(got.Status.StableVersion).To(Equal("v1"))
		g.Expect(got.Status.StableModelSHA256).To(Equal(sha(1)))
	}).WithTimeout(2 * time.Second).Should(Succeed())

	// A passing artifact under the same name goes through the gate and
	// then serves, named by its digest.
	NewWithT(t).Eventually(func() error {
		cur := getModel(g, m)
		cur.Spec.Model.URI, cur.Spec.Model.SHA256 = "https://models.example/credit/fair.onnx", raiv1.SHA256(sha(6))
		return k8s.Update(ctx, cur)
	}).WithTimeout(waitFor).Should(Succeed())
	finishJob(t, jobFor(t, getModel(g, m), report.KindFairness), corev1.PodSucceeded, fairnessReport(6, 0.9), "")
	g.Eventually(func(g Gomega) { g.Expect(servedDigest(g, m)).To(Equal(sha(6))) }).WithTimeout(waitFor).Should(Succeed())
	completeRollout(t, servingDeployment(t, m, "v1"))
	g.Eventually(func(g Gomega) {
		got := getModel(g, m)
		g.Expect(got.Status.StableModelSHA256).To(Equal(sha(6)))
		g.Expect(got.Status.CandidateVersion).To(BeEmpty())
		g.Expect(got.Status.History).To(ContainElement(And(HaveField("Action", raiv1.HistoryPromoted), HaveField("ModelSHA256", sha(6)))))
		g.Expect(condition(g, m, raiv1.ConditionPromoted).Message).To(ContainSubstring(sha(6)[:12]))
	}).WithTimeout(waitFor).Should(Succeed())
}

// TestForgedPodReportIsIgnored: a pod the user made, carrying the Job's
// name label and a passing report, does not speak for the Job; neither
// does one that names the Job as its controller but runs something else.
func TestForgedPodReportIsIgnored(t *testing.T) {
	for _, tc := range []struct {
		name string
		// forge edits the forged pod, which starts as a copy of the Job's.
		forge func(p *corev1.Pod)
		// wantWhy is part of the reason in the status.
		wantWhy string
	}{
		{"only the name label", func(p *corev1.Pod) { p.OwnerReferences = nil }, "no controller owner"},
		{"controlled by the Job, another image", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "forger:1" }, "runs image"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			ctx := context.Background()
			startManager(t, nil)
			ns := newNamespace(t)
			m := newModel(ns, "forged")
			g.Expect(k8s.Create(ctx, m)).To(Succeed())
			job := waitForJob(t, m, "v1", report.KindFairness)

			forged := jobPod(job, "forged-report")
			tc.forge(forged)
			g.Expect(k8s.Create(ctx, forged)).To(Succeed())
			forged.Status = corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{{Name: evaluateContainer,
				State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Message: fairnessReport(1, 0.97)}}}}}
			g.Expect(k8s.Status().Update(ctx, forged)).To(Succeed())
			// The real pod measured the bias.
			finishJob(t, job, corev1.PodSucceeded, fairnessReport(1, 0.683), "")

			g.Eventually(func(g Gomega) {
				got := getModel(g, m)
				g.Expect(got.Status.Evaluations).To(HaveLen(1))
				e := got.Status.Evaluations[0]
				g.Expect(e.State).To(Equal(raiv1.EvaluationError))
				g.Expect(e.Reason).To(Equal(raiv1.ReasonReportUntrusted))
				g.Expect(e.Message).To(And(ContainSubstring("forged-report"), ContainSubstring(tc.wantWhy)))
				g.Expect(condition(g, m, raiv1.ConditionEvaluated).Reason).To(Equal(raiv1.ReasonEvaluationFailed))
				g.Expect(condition(g, m, raiv1.ConditionPolicyAllowed).Status).To(Equal(metav1.ConditionFalse))
				g.Expect(events(g, m, corev1.EventTypeWarning, raiv1.ReasonReportUntrusted)).NotTo(BeEmpty())
			}).WithTimeout(waitFor).Should(Succeed())
			err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: servingName(m.Name)}, &appsv1.Deployment{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "nothing serves: %v", err)
		})
	}
}

// TestPreCreatedJobIsReplaced: a Job the user creates under the name the
// operator will use (owned by the model, even) is not the operator's: it is
// deleted, and the operator's own Job runs.
func TestPreCreatedJobIsReplaced(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	m := newModel(ns, "precreated")
	g.Expect(k8s.Create(ctx, m)).To(Succeed())
	m = getModel(g, m)
	decoy := buildEvaluationJob(m, report.KindFairness, EvaluationJobOptions{Image: "forger:1"})
	decoy.OwnerReferences = []metav1.OwnerReference{{APIVersion: raiv1.GroupVersion.String(), Kind: "ResponsibleModel", Name: m.Name, UID: m.UID}}
	g.Expect(k8s.Create(ctx, decoy)).To(Succeed())
	g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(decoy), decoy)).To(Succeed())

	startManager(t, nil)
	g.Eventually(func(g Gomega) {
		job := &batchv1.Job{}
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(decoy), job)).To(Succeed())
		g.Expect(job.UID).NotTo(Equal(decoy.UID))
		g.Expect(job.Spec.Template.Spec.Containers[0].Image).To(Equal(DefaultRuntimeImage))
		e := getModel(g, m).Status.Evaluations
		g.Expect(e).To(HaveLen(1))
		g.Expect(e[0].JobUID).To(Equal(string(job.UID)))
	}).WithTimeout(waitFor).Should(Succeed())
}

// TestEditedEvidenceIsAnError: stored reports are immutable copies; one
// replaced while another evaluation still runs makes its evaluation an
// Error (EvidenceTampered), and so does a promoted version's evidence that
// is deleted or replaced: never a pass, never silently compliant.
func TestEditedEvidenceIsAnError(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	startManager(t, nil)
	ns := newNamespace(t)
	g.Expect(k8s.Create(ctx, newBudget(ns, "lending", "8"))).To(Succeed())
	m := newModel(ns, "edited", withPrivacyBudget("lending"))
	g.Expect(k8s.Create(ctx, m)).To(Succeed())

	fairness := waitForJob(t, m, "v1", report.KindFairness)
	finishJob(t, fairness, corev1.PodSucceeded, fairnessReport(1, 0.683), "")
	var stored raiv1.EvaluationStatus
	g.Eventually(func(g Gomega) {
		e := findEvaluation(getModel(g, m).Status.Evaluations, "fairness")
		g.Expect(e).NotTo(BeNil())
		g.Expect(e.State).To(Equal(raiv1.EvaluationSucceeded))
		stored = *e
	}).WithTimeout(waitFor).Should(Succeed())
	cm := &corev1.ConfigMap{}
	g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: stored.ReportRef.Name}, cm)).To(Succeed())
	// An edit is refused by the API server (the ConfigMap is immutable) ...
	cm.Data["fairness.json"] = fairnessReport(1, 0.97)
	err := k8s.Update(ctx, cm)
	g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "edit of immutable evidence: %v", err)
	// ... so the user deletes it and writes their own, while privacy runs.
	g.Expect(k8s.Delete(ctx, cm)).To(Succeed())
	g.Expect(k8s.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: stored.ReportRef.Name, Namespace: ns},
		Data: map[string]string{"fairness.json": fairnessReport(1, 0.97)}})).To(Succeed())
	finishJob(t, waitForJob(t, m, "v1", report.KindPrivacy), corev1.PodSucceeded, privacyReport(1, 1.1, 0.01, 3000), "")
	g.Eventually(func(g Gomega) {
		got := getModel(g, m)
		e := findEvaluation(got.Status.Evaluations, "fairness")
		g.Expect(e.State).To(Equal(raiv1.EvaluationError))
		g.Expect(e.Reason).To(Equal(raiv1.ReasonEvidenceTampered))
		g.Expect(e.Message).To(ContainSubstring("not the " + stored.ReportSHA256))
		g.Expect(got.Status.LastDecision).NotTo(BeNil())
		g.Expect(got.Status.LastDecision.Allowed).To(BeFalse())
		g.Expect(got.Status.StableVersion).To(BeEmpty())
		g.Expect(events(g, m, corev1.EventTypeWarning, raiv1.ReasonEvidenceTampered)).NotTo(BeEmpty())
	}).WithTimeout(waitFor).Should(Succeed())
	g.Expect(getBudget(g, newBudget(ns, "lending", "8")).Status.Charges).To(BeEmpty(), "a denied version is not charged")

	// A promoted version's evidence, deleted: Compliant turns False with
	// EvidenceTampered, and the model card names it.
	p := newModel(ns, "promoted")
	g.Expect(k8s.Create(ctx, p)).To(Succeed())
	promoteVersion(t, p, "v1", 1)
	g.Eventually(func(g Gomega) {
		g.Expect(condition(g, p, raiv1.ConditionCompliant).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(getModel(g, p).Status.ModelCardRef).NotTo(BeNil())
	}).WithTimeout(waitFor).Should(Succeed())
	ev := getModel(g, p).Status.StableEvidence
	g.Expect(ev).To(HaveLen(1))
	g.Expect(k8s.Delete(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: ev[0].ReportRef.Name, Namespace: ns}})).To(Succeed())
	g.Expect(k8s.Delete(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: modelCardConfigMapName(p.Name), Namespace: ns}})).To(Succeed())
	g.Eventually(func(g Gomega) {
		c := condition(g, p, raiv1.ConditionCompliant)
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Reason).To(Equal(raiv1.ReasonEvidenceTampered))
		g.Expect(c.Message).To(ContainSubstring("is gone"))
		card := &corev1.ConfigMap{}
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: modelCardConfigMapName(p.Name)}, card)).To(Succeed())
		g.Expect(card.Data[modelCardKey]).To(ContainSubstring(raiv1.ReasonEvidenceTampered))
		g.Expect(card.Data[modelCardKey]).NotTo(ContainSubstring("demographic_parity_ratio | 0.9"))
	}).WithTimeout(waitFor).Should(Succeed())
	// Put back with other content: still not compliant.
	g.Expect(k8s.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: ev[0].ReportRef.Name, Namespace: ns},
		Data: map[string]string{"fairness.json": fairnessReport(1, 0.99)}})).To(Succeed())
	// The forged copy is not the operator's: nothing watches it, so the
	// next reconcile (any edit of the model) reads it.
	NewWithT(t).Eventually(func() error {
		cur := getModel(g, p)
		if cur.Annotations == nil {
			cur.Annotations = map[string]string{}
		}
		cur.Annotations["example.com/touched"] = "1"
		return k8s.Update(ctx, cur)
	}).WithTimeout(waitFor).Should(Succeed())
	g.Eventually(func(g Gomega) {
		c := condition(g, p, raiv1.ConditionCompliant)
		g.Expect(c.Reason).To(Equal(raiv1.ReasonEvidenceTampered))
		g.Expect(c.Message).To(ContainSubstring("not the " + ev[0].ReportSHA256))
	}).WithTimeout(waitFor).Should(Succeed())
	g.Consistently(func(g Gomega) {
		g.Expect(condition(g, p, raiv1.ConditionCompliant).Status).To(Equal(metav1.ConditionFalse))
	}).WithTimeout(2 * time.Second).Should(Succeed())
}

// TestRecreatedModelIsCharged: a charge names the artifact's digest. A
// model deleted and re-created under the same name and version with
// another DP artifact is charged again; so is an artifact swapped under the
// stable version's name.
func TestRecreatedModelIsCharged(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	startManager(t, nil)
	ns := newNamespace(t)
	b := newBudget(ns, "lending", "20")
	g.Expect(k8s.Create(ctx, b)).To(Succeed())
	m := newModel(ns, "dp", withoutFairness(), withPrivacyBudget("lending"))
	g.Expect(k8s.Create(ctx, m)).To(Succeed())
	finishJob(t, waitForJob(t, m, "v1", report.KindPrivacy), corev1.PodSucceeded, privacyReport(1, 1.1, 0.01, 3000), "")
	completeRollout(t, servingDeployment(t, m, "v1"))
	g.Eventually(func(g Gomega) {
		got := getBudget(g, b)
		g.Expect(got.Status.Charges).To(HaveLen(1))
		g.Expect(got.Status.Charges[0].ModelSHA256).To(Equal(sha(1)))
		g.Expect(getModel(g, m).Status.StableVersion).To(Equal("v1"))
	}).WithTimeout(waitFor).Should(Succeed())

	// Delete and re-create: same name and version, another artifact.
	g.Expect(k8s.Delete(ctx, m)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(m), &raiv1.ResponsibleModel{}))
	}).WithTimeout(waitFor).Should(BeTrue())
	again := newModel(ns, "dp", withoutFairness(), withPrivacyBudget("lending"), func(m *raiv1.ResponsibleModel) { m.Spec.Model.SHA256 = raiv1.SHA256(sha(2)) })
	g.Expect(k8s.Create(ctx, again)).To(Succeed())
	finishJob(t, jobFor(t, again, report.KindPrivacy), corev1.PodSucceeded, privacyReport(2, 1.0, 0.01, 3000), "")
	g.Eventually(func(g Gomega) {
		got := getBudget(g, b)
		g.Expect(got.Status.Charges).To(HaveLen(2))
		g.Expect(got.Status.Charges[1].ModelSHA256).To(Equal(sha(2)))
		g.Expect(got.Status.Charges[1].Version).To(Equal("v1"))
	}).WithTimeout(waitFor).Should(Succeed())
	g.Eventually(func(g Gomega) { g.Expect(servedDigest(g, again)).To(Equal(sha(2))) }).WithTimeout(waitFor).Should(Succeed())
	completeRollout(t, servingDeployment(t, again, "v1"))
	g.Eventually(func(g Gomega) { g.Expect(getModel(g, again).Status.StableModelSHA256).To(Equal(sha(2))) }).WithTimeout(waitFor).Should(Succeed())

	// Swap under the stable name: a third charge.
	NewWithT(t).Eventually(func() error {
		cur := getModel(g, again)
		cur.Spec.Model.SHA256 = raiv1.SHA256(sha(3))
		return k8s.Update(ctx, cur)
	}).WithTimeout(waitFor).Should(Succeed())
	finishJob(t, jobFor(t, getModel(g, again), report.KindPrivacy), corev1.PodSucceeded, privacyReport(3, 1.2, 0.01, 3000), "")
	g.Eventually(func(g Gomega) {
		got := getBudget(g, b)
		g.Expect(got.Status.Charges).To(HaveLen(3))
		g.Expect(got.Status.Charges[2].ModelSHA256).To(Equal(sha(3)))
	}).WithTimeout(waitFor).Should(Succeed())
}

// TestTerminatingNamespaceIsNotJudged: while a namespace is deleted, its
// budgets, policies and reports go in no order; no decision is made then.
func TestTerminatingNamespaceIsNotJudged(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	startManager(t, nil)
	ns := newNamespace(t)
	m := newModel(ns, "teardown")
	g.Expect(k8s.Create(ctx, m)).To(Succeed())
	job := waitForJob(t, m, "v1", report.KindFairness)
	g.Expect(k8s.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	// The Job completes without a pod left to report: judged now, it would
	// be a ReportMissing denial.
	now := metav1.Now()
	job.Status = batchv1.JobStatus{StartTime: &now, CompletionTime: &now, Succeeded: 1, Conditions: []batchv1.JobCondition{
		{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now}}}
	g.Expect(k8s.Status().Update(ctx, job)).To(Succeed())
	g.Consistently(func(g Gomega) {
		got := getModel(g, m)
		g.Expect(got.Status.LastDecision).To(BeNil())
		g.Expect(findEvaluation(got.Status.Evaluations, "fairness").State).NotTo(Equal(raiv1.EvaluationError))
	}).WithTimeout(3 * time.Second).Should(Succeed())
}
