package controllers

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/report"
)

var nsCounter int

// newNamespace creates a namespace for one test.
func newNamespace(t *testing.T) string {
	t.Helper()
	needEnvtest(t)
	nsCounter++
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("t%d-%d", nsCounter, time.Now().UnixNano()%100000)}}
	if err := k8s.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

func TestFinalizerConditionsAndDeletion(t *testing.T) {
	g := NewWithT(t)
	startManager(t, nil)
	ctx := context.Background()
	ns := newNamespace(t)

	m := &raiv1.ResponsibleModel{
		ObjectMeta: metav1.ObjectMeta{Name: "skeleton", Namespace: ns},
		Spec: raiv1.ResponsibleModelSpec{
			Version: "v1",
			Model:   raiv1.ModelArtifact{URI: "file:///m.onnx", SHA256: raiv1.SHA256(sha(1))},
		},
	}
	g.Expect(k8s.Create(ctx, m)).To(Succeed())

	g.Eventually(func(g Gomega) {
		got := &raiv1.ResponsibleModel{}
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(m), got)).To(Succeed())
		g.Expect(controllerutil.ContainsFinalizer(got, Finalizer)).To(BeTrue(), "finalizer")
		g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		for _, typ := range ownedConditions {
			c := meta.FindStatusCondition(got.Status.Conditions, typ)
			g.Expect(c).NotTo(BeNil(), "condition %s", typ)
			g.Expect(c.Reason).NotTo(BeEmpty())
			g.Expect(c.ObservedGeneration).To(Equal(got.Generation))
		}
	}).WithTimeout(20 * time.Second).Should(Succeed())

	g.Expect(k8s.Delete(ctx, m)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(m), &raiv1.ResponsibleModel{}))
	}).WithTimeout(20*time.Second).Should(BeTrue(), "the deleted model is let go")
}

// sha returns a valid, distinct sha256 hex digest for test fixtures.
func sha(n int) string { return fmt.Sprintf("%064x", n) }

// TestAllowedVersionIsPromoted walks v1 and then v2 from evaluation to a
// completed rollout on GPUs, with the real OPA default policy.
func TestAllowedVersionIsPromoted(t *testing.T) {
	g := NewWithT(t)
	startManager(t, func(r *ResponsibleModelReconciler) {
		r.EvaluationJobs = EvaluationJobOptions{Image: "rai-runtime:test",
			NodeSelector: map[string]string{"rai.responsible-ai.dev/local-exec": "true"},
			Tolerations:  []corev1.Toleration{{Key: "rai.responsible-ai.dev/local-exec", Operator: corev1.TolerationOpEqual, Value: "true", Effect: corev1.TaintEffectNoSchedule}}}
	})
	ctx := context.Background()
	ns := newNamespace(t)
	promotionsBefore := promtestutil.ToFloat64(promotionsTotal)
	allowedBefore := promtestutil.ToFloat64(decisionsTotal.WithLabelValues("allowed", "Enforce"))
	fairnessBefore := promtestutil.ToFloat64(evaluationsTotal.WithLabelValues("fairness", "Succeeded"))
	decisionTimesBefore := histogramCount(t, candidateToDecisionSeconds)
	m := newModel(ns, "credit", withGPU(1, "NVIDIA-H100-80GB-HBM3", "40Gi"))
	g.Expect(k8s.Create(ctx, m)).To(Succeed())

	job := waitForJob(t, m, "v1", report.KindFairness)
	g.Expect(metav1.IsControlledBy(job, getModel(g, m))).To(BeTrue(), "the model owns its Job")
	g.Eventually(func(g Gomega) {
		g.Expect(kstatusOf(g, m).Status).To(Equal(kstatus.InProgressStatus), "evaluating")
		g.Expect(condition(g, m, raiv1.ConditionReconciling).Status).To(Equal(metav1.ConditionTrue))
	}).WithTimeout(waitFor).Should(Succeed())
	pod := job.Spec.Template.Spec
	g.Expect(pod.NodeSelector).To(HaveKeyWithValue("rai.responsible-ai.dev/local-exec", "true"))
	g.Expect(pod.Tolerations).To(HaveLen(1))
	g.Expect(pod.Containers[0].Image).To(Equal("rai-runtime:test"))
	g.Expect(pod.Containers[0].Args).To(ContainElements("fairness", "--sensitive", "sex", "--privileged", "sex=male"))
	g.Expect(*pod.Containers[0].SecurityContext.ReadOnlyRootFilesystem).To(BeTrue())

	// While evaluating, nothing serves and the candidate is v1.
	g.Eventually(func(g Gomega) {
		got := getModel(g, m)
		g.Expect(got.Status.CandidateVersion).To(Equal("v1"))
		c := meta.FindStatusCondition(got.Status.Conditions, raiv1.ConditionEvaluated)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(metav1.ConditionUnknown))
	}).WithTimeout(waitFor).Should(Succeed())

	finishJob(t, job, corev1.PodSucceeded, fairnessReport(1, 0.9), "")
	dep := servingDeployment(t, m, "v1")
	c := dep.Spec.Template.Spec.Containers[0]
	g.Expect(c.Resources.Limits).To(HaveKeyWithValue(corev1.ResourceName("nvidia.com/gpu"), resource.MustParse("1")))
	g.Expect(c.Args).To(ContainElements("--device", "cuda", "--sha256", sha(1)))
	g.Expect(c.ReadinessProbe.HTTPGet.Path).To(Equal("/v2/health/ready"))
	terms := dep.Spec.Template.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	g.Expect(terms[0].MatchExpressions).To(ContainElements(
		corev1.NodeSelectorRequirement{Key: "nvidia.com/gpu.product", Operator: corev1.NodeSelectorOpIn, Values: []string{"NVIDIA-H100-80GB-HBM3"}},
		corev1.NodeSelectorRequirement{Key: "nvidia.com/gpu.memory", Operator: corev1.NodeSelectorOpGt, Values: []string{"40959"}},
	))
	g.Expect(dep.Spec.Template.Spec.Tolerations).To(ContainElement(corev1.Toleration{Key: "nvidia.com/gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}))
	g.Expect(dep.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue()).To(Equal(0))

	// The policy allowed v1; the rollout is not complete yet.
	g.Eventually(func(g Gomega) {
		got := getModel(g, m)
		g.Expect(got.Status.LastDecision).NotTo(BeNil())
		g.Expect(got.Status.LastDecision.Allowed).To(BeTrue())
		g.Expect(got.Status.LastDecision.PolicyDigest).To(HavePrefix("sha256:"))
		g.Expect(condition(g, m, raiv1.ConditionPromoted).Reason).To(Equal(raiv1.ReasonRollingOut))
		g.Expect(got.Status.Evaluations).To(HaveLen(1))
		g.Expect(got.Status.Evaluations[0].State).To(Equal(raiv1.EvaluationSucceeded))
		g.Expect(got.Status.Evaluations[0].Metrics).To(HaveKeyWithValue("demographic_parity_ratio", "0.9"))
	}).WithTimeout(waitFor).Should(Succeed())

	completeRollout(t, dep)
	g.Eventually(func(g Gomega) {
		got := getModel(g, m)
		g.Expect(got.Status.StableVersion).To(Equal("v1"))
		g.Expect(got.Status.CandidateVersion).To(BeEmpty())
		g.Expect(condition(g, m, raiv1.ConditionPromoted).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(condition(g, m, raiv1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(condition(g, m, raiv1.ConditionCompliant).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(got.Status.ModelCardRef).NotTo(BeNil())
		g.Expect(got.Status.History).To(ContainElement(HaveField("Action", raiv1.HistoryPromoted)))
		g.Expect(events(g, m, corev1.EventTypeNormal, raiv1.ReasonPromoted)).NotTo(BeEmpty())
		g.Expect(kstatusOf(g, m).Status).To(Equal(kstatus.CurrentStatus), "serving the spec")
	}).WithTimeout(waitFor).Should(Succeed())

	g.Expect(promtestutil.ToFloat64(promotionsTotal) - promotionsBefore).To(BeNumerically(">=", 1))
	g.Expect(promtestutil.ToFloat64(decisionsTotal.WithLabelValues("allowed", "Enforce")) - allowedBefore).To(BeNumerically(">=", 1))
	g.Expect(promtestutil.ToFloat64(evaluationsTotal.WithLabelValues("fairness", "Succeeded")) - fairnessBefore).To(BeNumerically(">=", 1))
	g.Expect(histogramCount(t, candidateToDecisionSeconds) - decisionTimesBefore).To(BeNumerically(">=", 1))

	card := &corev1.ConfigMap{}
	g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: modelCardConfigMapName("credit")}, card)).To(Succeed())
	g.Expect(card.Data["model-card.md"]).To(And(ContainSubstring("Ranks loan applications"), ContainSubstring(sha(1)),
		ContainSubstring("demographic_parity_ratio | 0.9 | [0.85, 0.93] at 0.95 (bootstrap)"), ContainSubstring("Policy digest: `sha256:")))
	stable := getModel(g, m).Status
	g.Expect(stable.StableEvidence).To(HaveLen(1))
	g.Expect(stable.StableEvidence[0].ReportRef).NotTo(BeNil())
	evidence := &corev1.ConfigMap{}
	g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: stable.StableEvidence[0].ReportRef.Name}, evidence)).To(Succeed())
	g.Expect(evidence.Data).To(HaveKey("fairness.json"))
	g.Expect(evidence.Immutable).To(HaveValue(BeTrue()))
	g.Expect(digestOf([]byte(evidence.Data["fairness.json"]))).To(Equal(stable.StableEvidence[0].ReportSHA256))
	for _, o := range []client.Object{evidence, card, dep} {
		g.Expect(metav1.IsControlledBy(o, getModel(g, m))).To(BeTrue(), "owner reference on %s", o.GetName())
	}
	svc := &corev1.Service{}
	g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: servingName("credit")}, svc)).To(Succeed())
	g.Expect(metav1.IsControlledBy(svc, getModel(g, m))).To(BeTrue())

	// v2: the stable version serves until v2's rollout completes.
	setVersion(t, m, "v2", 2)
	job2 := waitForJob(t, m, "v2", report.KindFairness)
	g.Expect(servingDeployment(t, m, "v1")).NotTo(BeNil())
	finishJob(t, job2, corev1.PodSucceeded, fairnessReport(2, 0.92), "")
	completeRollout(t, servingDeployment(t, m, "v2"))
	g.Eventually(func(g Gomega) {
		got := getModel(g, m)
		g.Expect(got.Status.StableVersion).To(Equal("v2"))
		g.Expect(got.Status.PreviousVersion).To(Equal("v1"))
		g.Expect(got.Status.StableModelSHA256).To(Equal(sha(2)))
		g.Expect(decisionChain(g, m)).To(Equal([]raiv1.DecisionAction{"Promoted", "Promoted"}), "every promotion is on the record")
	}).WithTimeout(waitFor).Should(Succeed())
}

// TestDeniedVersionLeavesStableServing: a fairness report under the
// four-fifths rule is denied by the default policy; v1 keeps serving.
func TestDeniedVersionLeavesStableServing(t *testing.T) {
	g := NewWithT(t)
	startManager(t, nil)
	ns := newNamespace(t)
	m := newModel(ns, "denied")
	g.Expect(k8s.Create(context.Background(), m)).To(Succeed())
	promoteVersion(t, m, "v1", 1)

	setVersion(t, m, "v2", 2)
	finishJob(t, waitForJob(t, m, "v2", report.KindFairness), corev1.PodSucceeded, fairnessReport(2, 0.5), "")
	g.Eventually(func(g Gomega) {
		c := condition(g, m, raiv1.ConditionPolicyAllowed)
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Reason).To(Equal(raiv1.ReasonPolicyDenied))
		g.Expect(c.Message).To(ContainSubstring("FairnessDemographicParity: fairness: demographic_parity_ratio 0.5 is below the minimum 0.8"))
		p := condition(g, m, raiv1.ConditionPromoted)
		g.Expect(p.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(p.Reason).To(Equal(raiv1.ReasonPolicyDenied))
		got := getModel(g, m)
		g.Expect(got.Status.StableVersion).To(Equal("v1"))
		g.Expect(got.Status.CandidateVersion).To(Equal("v2"))
		g.Expect(got.Status.LastDecision.Violations).To(ContainElement(HaveField("Code", "FairnessDemographicParity")))
		g.Expect(got.Status.History).To(ContainElement(And(HaveField("Action", raiv1.HistoryDenied), HaveField("Version", "v2"))))
		// Ready says the spec's version does not serve; Stalled (what
		// kstatus reads as Failed) says why, and what still serves.
		r := condition(g, m, raiv1.ConditionReady)
		g.Expect(r.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(r.Reason).To(Equal(raiv1.ReasonPolicyDenied))
		g.Expect(r.Message).To(ContainSubstring("version v1 keeps serving"))
		g.Expect(condition(g, m, raiv1.ConditionStalled).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(condition(g, m, raiv1.ConditionDegraded).Status).To(Equal(metav1.ConditionFalse), "v1 still serves")
		g.Expect(decisionChain(g, m)).To(Equal([]raiv1.DecisionAction{"Promoted", "Denied"}))
		res := kstatusOf(g, m)
		g.Expect(res.Status).To(Equal(kstatus.FailedStatus), "denied")
		g.Expect(res.Message).To(And(ContainSubstring("FairnessDemographicParity"), ContainSubstring("version v1 keeps serving")))
		g.Expect(events(g, m, corev1.EventTypeWarning, raiv1.ReasonPolicyDenied)).To(ContainElement(ContainSubstring("demographic_parity_ratio 0.5")))
	}).WithTimeout(waitFor).Should(Succeed())
	g.Consistently(func(g Gomega) {
		g.Expect(servingDeployment(t, m, "v1").Spec.Template.Spec.Containers[0].Args).To(ContainElement(sha(1)))
	}).WithTimeout(2 * time.Second).Should(Succeed())
}

// TestWarnPromotesDeniedVersion: under Warn a denied version is promoted,
// with a Warning event; the condition says so.
func TestWarnPromotesDeniedVersion(t *testing.T) {
	g := NewWithT(t)
	startManager(t, nil)
	ns := newNamespace(t)
	platformPolicy(t, ns, raiv1.PromotionPolicySpec{AllowedEnforcement: []raiv1.EnforcementMode{raiv1.EnforcementWarn}})
	m := newModel(ns, "warned", withEnforcement(raiv1.EnforcementWarn))
	g.Expect(k8s.Create(context.Background(), m)).To(Succeed())
	finishJob(t, waitForJob(t, m, "v1", report.KindFairness), corev1.PodSucceeded, fairnessReport(1, 0.5), "")
	completeRollout(t, servingDeployment(t, m, "v1"))
	g.Eventually(func(g Gomega) {
		g.Expect(getModel(g, m).Status.StableVersion).To(Equal("v1"))
		c := condition(g, m, raiv1.ConditionPolicyAllowed)
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Reason).To(Equal(raiv1.ReasonPolicyWarned))
		g.Expect(events(g, m, corev1.EventTypeWarning, raiv1.ReasonPolicyWarned)).NotTo(BeEmpty())
		g.Expect(events(g, m, corev1.EventTypeWarning, raiv1.ReasonPromoted)).NotTo(BeEmpty())
		g.Expect(condition(g, m, raiv1.ConditionCompliant).Reason).To(Equal(raiv1.ReasonNonCompliant))
	}).WithTimeout(waitFor).Should(Succeed())
}

// TestEvaluationErrors: every way an evaluation can fail is an Error with
// its reason, and the policy denies the version (EvaluationFailed).
func TestEvaluationErrors(t *testing.T) {
	startManager(t, nil)
	ns := newNamespace(t)
	cases := []struct {
		name    string
		phase   corev1.PodPhase
		message string
		// failReason is the Job's Failed reason when the pod failed.
		failReason string
		// wantReason is the evaluation's Error reason.
		wantReason string
		// wantMessage is part of the evaluation's message.
		wantMessage string
	}{
		{"missing", corev1.PodSucceeded, "", "", raiv1.ReasonReportMissing, "without a report"},
		{"malformed", corev1.PodSucceeded, `{"schemaVersion":"rai.report/v1","kind":"fairness"`, "", raiv1.ReasonReportInvalid, "decode JSON"},
		{"invalid", corev1.PodSucceeded, `{"schemaVersion":"rai.report/v2","kind":"fairness","state":"Succeeded","metrics":{},"evaluator":{"name":"x","version":"1"},"model":{},"startTime":"2026-01-01T00:00:00Z","endTime":"2026-01-01T00:00:01Z"}`, "", raiv1.ReasonReportInvalid, `schemaVersion "rai.report/v2"`},
		{"mismatch", corev1.PodSucceeded, fairnessReport(7, 0.9), "", raiv1.ReasonReportMismatch, "model sha256"},
		{"failed", corev1.PodFailed, mustJSON(func() *report.Report {
			r := baseReport(report.KindFairness, 1)
			r.State, r.Message = report.StateError, "column sex not found"
			return r
		}()), "BackoffLimitExceeded", raiv1.ReasonJobFailed, "the evaluator said: column sex not found"},
		{"deadline", corev1.PodFailed, "", batchv1.JobReasonDeadlineExceeded, raiv1.ReasonDeadlineExceeded, "deadline"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			m := newModel(ns, "err-"+tc.name)
			g.Expect(k8s.Create(context.Background(), m)).To(Succeed())
			finishJob(t, waitForJob(t, m, "v1", report.KindFairness), tc.phase, tc.message, tc.failReason)
			g.Eventually(func(g Gomega) {
				got := getModel(g, m)
				g.Expect(got.Status.Evaluations).To(HaveLen(1))
				e := got.Status.Evaluations[0]
				g.Expect(e.State).To(Equal(raiv1.EvaluationError))
				g.Expect(e.Reason).To(Equal(tc.wantReason))
				g.Expect(e.Message).To(ContainSubstring(tc.wantMessage))
				g.Expect(condition(g, m, raiv1.ConditionEvaluated).Reason).To(Equal(raiv1.ReasonEvaluationFailed))
				g.Expect(got.Status.LastDecision).NotTo(BeNil())
				g.Expect(got.Status.LastDecision.Violations).To(ContainElement(HaveField("Code", "EvaluationFailed")))
				g.Expect(condition(g, m, raiv1.ConditionPromoted).Reason).To(Equal(raiv1.ReasonEvaluationFailed))
				g.Expect(condition(g, m, raiv1.ConditionStalled).Reason).To(Equal(raiv1.ReasonEvaluationFailed))
				g.Expect(kstatusOf(g, m).Status).To(Equal(kstatus.FailedStatus))
				g.Expect(condition(g, m, raiv1.ConditionReady).Status).To(Equal(metav1.ConditionFalse))
			}).WithTimeout(waitFor).Should(Succeed())
			g.Expect(apierrors.IsNotFound(k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: servingName(m.Name)}, &appsv1.Deployment{}))).To(BeTrue(), "nothing serves")
		})
	}
}

// TestDeletedJobAndRetry: a Job deleted before it reported is JobDeleted
// and is not recreated; a new value of the retry annotation runs it again.
func TestDeletedJobAndRetry(t *testing.T) {
	g := NewWithT(t)
	startManager(t, nil)
	ctx := context.Background()
	ns := newNamespace(t)
	m := newModel(ns, "retry")
	g.Expect(k8s.Create(ctx, m)).To(Succeed())
	job := waitForJob(t, m, "v1", report.KindFairness)
	g.Eventually(func(g Gomega) {
		g.Expect(getModel(g, m).Status.Evaluations).To(ContainElement(HaveField("Job", job.Name)))
	}).WithTimeout(waitFor).Should(Succeed())
	g.Expect(k8s.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground))).To(Succeed())
	g.Eventually(func(g Gomega) {
		e := getModel(g, m).Status.Evaluations
		g.Expect(e).To(HaveLen(1))
		g.Expect(e[0].Reason).To(Equal(raiv1.ReasonJobDeleted))
	}).WithTimeout(waitFor).Should(Succeed())
	g.Consistently(func() bool {
		return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(job), &batchv1.Job{}))
	}).WithTimeout(2*time.Second).Should(BeTrue(), "a deleted Job is not recreated without a retry")

	g.Eventually(func() error {
		cur := getModel(g, m)
		cur.Annotations = map[string]string{raiv1.AnnotationRetryEvaluations: "1"}
		return k8s.Update(ctx, cur)
	}).WithTimeout(waitFor).Should(Succeed())
	job = waitForJob(t, m, "v1", report.KindFairness)
	finishJob(t, job, corev1.PodSucceeded, fairnessReport(1, 0.9), "")
	g.Eventually(func(g Gomega) {
		got := getModel(g, m)
		g.Expect(got.Status.ObservedRetry).To(Equal("1"))
		g.Expect(got.Status.Evaluations[0].State).To(Equal(raiv1.EvaluationSucceeded))
		g.Expect(got.Status.LastDecision.Allowed).To(BeTrue())
	}).WithTimeout(waitFor).Should(Succeed())
}

// TestStuckRolloutRollsBack: v2 past its progress deadline is rolled back
// to v1 and not rolled out again until a retry.
func TestStuckRolloutRollsBack(t *testing.T) {
	g := NewWithT(t)
	startManager(t, nil)
	ns := newNamespace(t)
	m := newModel(ns, "stuck")
	g.Expect(k8s.Create(context.Background(), m)).To(Succeed())
	promoteVersion(t, m, "v1", 1)

	setVersion(t, m, "v2", 2)
	finishJob(t, waitForJob(t, m, "v2", report.KindFairness), corev1.PodSucceeded, fairnessReport(2, 0.9), "")
	stallRollout(t, servingDeployment(t, m, "v2"))
	dep := servingDeployment(t, m, "v1")
	g.Expect(dep.Spec.Template.Spec.Containers[0].Args).To(ContainElement(sha(1)), "the template runs v1's model again")
	g.Eventually(func(g Gomega) {
		got := getModel(g, m)
		g.Expect(got.Status.StableVersion).To(Equal("v1"))
		g.Expect(got.Status.FailedVersion).To(Equal("v2"))
		p := condition(g, m, raiv1.ConditionPromoted)
		g.Expect(p.Reason).To(Equal(raiv1.ReasonRolledBack))
		g.Expect(p.Message).To(ContainSubstring("ProgressDeadlineExceeded"))
		g.Expect(condition(g, m, raiv1.ConditionDegraded).Reason).To(Equal(raiv1.ReasonRolledBack))
		g.Expect(got.Status.History).To(ContainElement(And(HaveField("Action", raiv1.HistoryRolledBack), HaveField("Version", "v2"))))
		g.Expect(events(g, m, corev1.EventTypeWarning, raiv1.ReasonRolledBack)).NotTo(BeEmpty())
		g.Expect(decisionChain(g, m)).To(Equal([]raiv1.DecisionAction{"Promoted", "RolledBack"}))
		res := kstatusOf(g, m)
		g.Expect(res.Status).To(Equal(kstatus.FailedStatus), "rolled back")
		g.Expect(res.Message).To(ContainSubstring("ProgressDeadlineExceeded"))
	}).WithTimeout(waitFor).Should(Succeed())
	g.Consistently(func(g Gomega) {
		g.Expect(servingDeployment(t, m, "v1")).NotTo(BeNil())
		g.Expect(kstatusOf(g, m).Status).To(Equal(kstatus.FailedStatus), "still rolled back")
	}).WithTimeout(2*time.Second).Should(Succeed(), "the failed candidate is not tried again")
}

// TestGPUUnschedulable: a candidate pod the scheduler cannot place makes
// the model Degraded with the scheduler's message.
func TestGPUUnschedulable(t *testing.T) {
	g := NewWithT(t)
	startManager(t, nil)
	ctx := context.Background()
	ns := newNamespace(t)
	m := newModel(ns, "nogpu", withGPU(2, "NVIDIA-H200", "80Gi"))
	g.Expect(k8s.Create(ctx, m)).To(Succeed())
	finishJob(t, waitForJob(t, m, "v1", report.KindFairness), corev1.PodSucceeded, fairnessReport(1, 0.9), "")
	dep := servingDeployment(t, m, "v1")

	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "nogpu-serving-abc", Namespace: ns, Labels: dep.Spec.Template.Labels},
		Spec: *dep.Spec.Template.Spec.DeepCopy()}
	g.Expect(k8s.Create(ctx, pod)).To(Succeed())
	const msg = "0/4 nodes are available: 4 Insufficient nvidia.com/gpu. preemption: 0/4 nodes are available: 4 No preemption victims found for incoming pod."
	pod.Status = corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: msg}}}
	g.Expect(k8s.Status().Update(ctx, pod)).To(Succeed())
	g.Eventually(func(g Gomega) {
		p := condition(g, m, raiv1.ConditionPromoted)
		g.Expect(p.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(p.Reason).To(Equal(raiv1.ReasonGPUUnschedulable))
		g.Expect(p.Message).To(ContainSubstring("Insufficient nvidia.com/gpu"))
		d := condition(g, m, raiv1.ConditionDegraded)
		g.Expect(d.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(d.Reason).To(Equal(raiv1.ReasonGPUUnschedulable))
		g.Expect(condition(g, m, raiv1.ConditionReady).Reason).To(Equal(raiv1.ReasonGPUUnschedulable))
	}).WithTimeout(waitFor).Should(Succeed())

	// Once the pods run, the rollout completes and the model recovers.
	completeRollout(t, dep)
	g.Eventually(func(g Gomega) {
		g.Expect(getModel(g, m).Status.StableVersion).To(Equal("v1"))
		g.Expect(condition(g, m, raiv1.ConditionDegraded).Status).To(Equal(metav1.ConditionFalse))
	}).WithTimeout(waitFor).Should(Succeed())
}

// TestPolicyConfigMapChange: the model's policy ConfigMap decides; a
// missing one fails closed; a stricter one re-decides the candidate and
// makes the stable version non-compliant (it keeps serving).
func TestPolicyConfigMapChange(t *testing.T) {
	g := NewWithT(t)
	startManager(t, nil)
	ctx := context.Background()
	ns := newNamespace(t)
	m := newModel(ns, "pol", withPolicyConfigMap("pol-policy"))
	g.Expect(k8s.Create(ctx, m)).To(Succeed())
	finishJob(t, waitForJob(t, m, "v1", report.KindFairness), corev1.PodSucceeded, fairnessReport(1, 0.9), "")
	g.Eventually(func(g Gomega) {
		c := condition(g, m, raiv1.ConditionPolicyAllowed)
		g.Expect(c.Reason).To(Equal(raiv1.ReasonPolicyNotFound))
		g.Expect(c.Message).To(ContainSubstring("pol-policy not found"))
	}).WithTimeout(waitFor).Should(Succeed())

	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "pol-policy", Namespace: ns},
		Data: map[string]string{"thresholds.json": `{"rai": {"thresholds": {"demographic_parity_ratio_min": 0.85}}}`}}
	g.Expect(k8s.Create(ctx, cm)).To(Succeed())
	completeRollout(t, servingDeployment(t, m, "v1"))
	var firstDecision string
	g.Eventually(func(g Gomega) {
		got := getModel(g, m)
		g.Expect(got.Status.StableVersion).To(Equal("v1"))
		g.Expect(condition(g, m, raiv1.ConditionCompliant).Status).To(Equal(metav1.ConditionTrue))
		firstDecision = got.Status.LastDecision.ID
	}).WithTimeout(waitFor).Should(Succeed())

	// v2 at 0.91 passes 0.85 (its interval [0.86, 0.94] too) but not 0.95.
	setVersion(t, m, "v2", 2)
	job := waitForJob(t, m, "v2", report.KindFairness)
	g.Eventually(func() error {
		cur := &corev1.ConfigMap{}
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(cm), cur); err != nil {
			return err
		}
		cur.Data["thresholds.json"] = `{"rai": {"thresholds": {"demographic_parity_ratio_min": 0.95}}}`
		return k8s.Update(ctx, cur)
	}).WithTimeout(waitFor).Should(Succeed())
	g.Eventually(func(g Gomega) {
		c := condition(g, m, raiv1.ConditionCompliant)
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Reason).To(Equal(raiv1.ReasonNonCompliant))
		g.Expect(c.Message).To(ContainSubstring("demographic_parity_ratio 0.9 is below the minimum 0.95 (policy ConfigMap rai.thresholds.demographic_parity_ratio_min"))
		g.Expect(events(g, m, corev1.EventTypeWarning, raiv1.ReasonNonCompliant)).NotTo(BeEmpty())
	}).WithTimeout(waitFor).Should(Succeed())
	g.Expect(servingDeployment(t, m, "v1")).NotTo(BeNil(), "a non-compliant stable version keeps serving")

	finishJob(t, job, corev1.PodSucceeded, fairnessReport(2, 0.91), "")
	g.Eventually(func(g Gomega) {
		got := getModel(g, m)
		g.Expect(got.Status.LastDecision.Version).To(Equal("v2"))
		g.Expect(got.Status.LastDecision.Allowed).To(BeFalse())
		// The namespace's thresholds are the decision's input, not policy.
		g.Expect(got.Status.LastDecision.ID).NotTo(Equal(firstDecision))
	}).WithTimeout(waitFor).Should(Succeed())

	// Relaxing the policy re-decides the waiting candidate: it is promoted.
	g.Eventually(func() error {
		cur := &corev1.ConfigMap{}
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(cm), cur); err != nil {
			return err
		}
		cur.Data["thresholds.json"] = `{"rai": {"thresholds": {"demographic_parity_ratio_min": 0.85}}}`
		return k8s.Update(ctx, cur)
	}).WithTimeout(waitFor).Should(Succeed())
	g.Eventually(func(g Gomega) {
		got := getModel(g, m)
		g.Expect(got.Status.LastDecision.Allowed).To(BeTrue())
		g.Expect(got.Status.LastDecision.Thresholds).To(ContainElement(raiv1.AppliedThreshold{Key: "demographic_parity_ratio_min", Value: "0.85",
			Source: "policy ConfigMap rai.thresholds.demographic_parity_ratio_min"}), "the decision names the value that judged and where it came from")
	}).WithTimeout(waitFor).Should(Succeed())
	completeRollout(t, servingDeployment(t, m, "v2"))
	g.Eventually(func(g Gomega) {
		g.Expect(getModel(g, m).Status.StableVersion).To(Equal("v2"))
	}).WithTimeout(waitFor).Should(Succeed())
}

// histogramCount is the number of observations of h.
func histogramCount(t *testing.T, h prometheus.Histogram) uint64 {
	t.Helper()
	var m dto.Metric
	if err := h.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount()
}

// TestClusterPolicyConfigMap: the manager's cluster policy ConfigMap applies
// to every model; while it is missing nothing is promoted, and its creation
// re-decides every model.
func TestClusterPolicyConfigMap(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	policyNS := newNamespace(t)
	startManager(t, func(r *ResponsibleModelReconciler) {
		r.ClusterPolicy = &types.NamespacedName{Namespace: policyNS, Name: "cluster-policy"}
	})
	ns := newNamespace(t)
	m := newModel(ns, "clustered")
	g.Expect(k8s.Create(ctx, m)).To(Succeed())
	finishJob(t, waitForJob(t, m, "v1", report.KindFairness), corev1.PodSucceeded, fairnessReport(1, 0.9), "")
	g.Eventually(func(g Gomega) {
		g.Expect(condition(g, m, raiv1.ConditionPolicyAllowed).Reason).To(Equal(raiv1.ReasonPolicyNotFound))
	}).WithTimeout(waitFor).Should(Succeed())

	// A cluster rule that denies every model of this name.
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cluster-policy", Namespace: policyNS}, Data: map[string]string{
		"cluster.rego": "package rai.promotion\n\nviolations contains {\"code\": \"ClusterRule\", \"message\": \"no model named clustered\"} if input.model.name == \"clustered\"\n",
	}}
	g.Expect(k8s.Create(ctx, cm)).To(Succeed())
	g.Eventually(func(g Gomega) {
		c := condition(g, m, raiv1.ConditionPolicyAllowed)
		g.Expect(c.Reason).To(Equal(raiv1.ReasonPolicyDenied))
		g.Expect(c.Message).To(ContainSubstring("ClusterRule: no model named clustered"))
	}).WithTimeout(waitFor).Should(Succeed())
}

// TestCandidateDeniedDuringRollout: a candidate whose rollout has begun is
// taken back to the stable version when a policy change denies it.
func TestCandidateDeniedDuringRollout(t *testing.T) {
	g := NewWithT(t)
	startManager(t, nil)
	ctx := context.Background()
	ns := newNamespace(t)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "midway-policy", Namespace: ns},
		Data: map[string]string{"thresholds.json": `{"rai": {"thresholds": {"demographic_parity_ratio_min": 0.8}}}`}}
	g.Expect(k8s.Create(ctx, cm)).To(Succeed())
	m := newModel(ns, "midway", withPolicyConfigMap("midway-policy"))
	g.Expect(k8s.Create(ctx, m)).To(Succeed())
	promoteVersion(t, m, "v1", 1)

	setVersion(t, m, "v2", 2)
	finishJob(t, waitForJob(t, m, "v2", report.KindFairness), corev1.PodSucceeded, fairnessReport(2, 0.86), "")
	servingDeployment(t, m, "v2")
	g.Eventually(func() error {
		cur := &corev1.ConfigMap{}
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(cm), cur); err != nil {
			return err
		}
		cur.Data["thresholds.json"] = `{"rai": {"thresholds": {"demographic_parity_ratio_min": 0.9}}}`
		return k8s.Update(ctx, cur)
	}).WithTimeout(waitFor).Should(Succeed())
	dep := servingDeployment(t, m, "v1")
	g.Expect(dep.Spec.Template.Spec.Containers[0].Args).To(ContainElement(sha(1)))
	g.Eventually(func(g Gomega) {
		got := getModel(g, m)
		g.Expect(got.Status.StableVersion).To(Equal("v1"))
		g.Expect(condition(g, m, raiv1.ConditionPromoted).Reason).To(Equal(raiv1.ReasonPolicyDenied))
	}).WithTimeout(waitFor).Should(Succeed())
}
