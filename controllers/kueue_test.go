package controllers

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/report"
)

// TestQueuedEvaluationJob: with a queue the Job is created suspended with
// Kueue's queue label (its pods without it), and a suspended Job reads as
// a queued evaluation; the Evaluated condition says EvaluationsQueued.
func TestQueuedEvaluationJob(t *testing.T) {
	m := newModel("ns", "credit")
	job := buildEvaluationJob(m, report.KindFairness, EvaluationJobOptions{Image: "rai:1", QueueName: "evaluations"})
	if job.Labels[LabelKueueQueueName] != "evaluations" || !ptr.Deref(job.Spec.Suspend, false) {
		t.Fatalf("Job labels %v, suspend %v: want the queue label and suspended", job.Labels, job.Spec.Suspend)
	}
	if _, ok := job.Spec.Template.Labels[LabelKueueQueueName]; ok {
		t.Errorf("the pod template carries the queue label: Kueue would manage the pods too")
	}
	if plain := buildEvaluationJob(m, report.KindFairness, EvaluationJobOptions{Image: "rai:1"}); plain.Spec.Suspend != nil || plain.Labels[LabelKueueQueueName] != "" {
		t.Errorf("without a queue the Job is suspended (%v) or labelled (%v)", plain.Spec.Suspend, plain.Labels)
	}
	out := observeJob(job)
	if out.state != raiv1.EvaluationPending || out.reason != raiv1.ReasonQueued || !strings.Contains(out.message, "LocalQueue evaluations") {
		t.Errorf("a suspended queued Job reads %+v", out)
	}
	evals := []raiv1.EvaluationStatus{
		{Kind: "fairness", State: raiv1.EvaluationPending, Reason: out.reason, Message: out.message},
		{Kind: "privacy", State: raiv1.EvaluationSucceeded},
	}
	c := evaluatedCondition([]report.Kind{report.KindFairness, report.KindPrivacy}, evals)
	if c.Reason != raiv1.ReasonEvaluationsQueued || c.Status != metav1.ConditionUnknown || !strings.Contains(c.Message, "queued: fairness") {
		t.Errorf("Evaluated = %s %s %q, want Unknown EvaluationsQueued naming fairness", c.Status, c.Reason, c.Message)
	}
	evals[1] = raiv1.EvaluationStatus{Kind: "privacy", State: raiv1.EvaluationRunning}
	if c := evaluatedCondition([]report.Kind{report.KindFairness, report.KindPrivacy}, evals); c.Reason != raiv1.ReasonEvaluationsRunning {
		t.Errorf("with one evaluation running the reason is %s, want EvaluationsRunning", c.Reason)
	}
	// Admitted: Kueue unsuspends, the pod runs.
	job.Spec.Suspend = ptr.To(false)
	job.Status.Active = 1
	if out := observeJob(job); out.state != raiv1.EvaluationRunning {
		t.Errorf("an admitted running Job reads %+v", out)
	}
}

// TestGPUEvaluationJob: spec.evaluations.job.gpu puts fairness and
// robustness on a GPU with --device cuda; the other kinds stay on CPU.
func TestGPUEvaluationJob(t *testing.T) {
	m := newModel("ns", "credit", func(m *raiv1.ResponsibleModel) {
		m.Spec.Evaluations.Job.GPU = &raiv1.GPUSpec{Count: ptr.To(int32(1)), Product: "NVIDIA-H200"}
		m.Spec.Evaluations.Robustness = &raiv1.RobustnessEvaluation{Sigma: "0.25"}
		m.Spec.Evaluations.Explanations = &raiv1.ExplanationEvaluation{}
	})
	for _, kind := range []report.Kind{report.KindFairness, report.KindRobustness, report.KindExplain} {
		job := buildEvaluationJob(m, kind, EvaluationJobOptions{Image: "rai:1"})
		pod := job.Spec.Template.Spec
		c := pod.Containers[0]
		_, gpu := c.Resources.Limits["nvidia.com/gpu"]
		cuda := strings.Contains(strings.Join(c.Args, " "), "--device cuda")
		tolerates := slices.ContainsFunc(pod.Tolerations, func(t corev1.Toleration) bool { return t.Key == "nvidia.com/gpu" })
		want := kind != report.KindExplain
		if gpu != want || cuda != want || tolerates != want || (pod.Affinity != nil) != want {
			t.Errorf("%s: GPU limit %v, --device cuda %v, toleration %v, affinity %v; want all %v", kind, gpu, cuda, tolerates, pod.Affinity != nil, want)
		}
	}
}

// TestDRAEvaluationJob: an evaluation GPU asked for through DRA is a claim
// from the same content-named template the serving pods use, and no
// extended resource.
func TestDRAEvaluationJob(t *testing.T) {
	m := newModel("ns", "credit", func(m *raiv1.ResponsibleModel) {
		m.Spec.Evaluations.Job.GPU = &raiv1.GPUSpec{Count: ptr.To(int32(1)), DeviceClassName: "gpu.nvidia.com"}
	})
	pod := buildEvaluationJob(m, report.KindFairness, EvaluationJobOptions{Image: "rai:1"}).Spec.Template.Spec
	c := pod.Containers[0]
	if len(pod.ResourceClaims) != 1 || ptr.Deref(pod.ResourceClaims[0].ResourceClaimTemplateName, "") != gpuClaimTemplateName(m, m.Spec.Evaluations.Job.GPU) ||
		len(c.Resources.Claims) != 1 {
		t.Errorf("pod claims %+v, container claims %+v: want one claim from the GPU template", pod.ResourceClaims, c.Resources.Claims)
	}
	if _, ok := c.Resources.Limits["nvidia.com/gpu"]; ok || !strings.Contains(strings.Join(c.Args, " "), "--device cuda") {
		t.Errorf("limits %v, args %q: want no extended resource and --device cuda", c.Resources.Limits, c.Args)
	}
}

// TestEvaluationQueueFromPromotionPolicy: a model without a queue of its
// own gets its evaluation Jobs queued where the selecting PromotionPolicy
// says; its own queueName wins.
func TestEvaluationQueueFromPromotionPolicy(t *testing.T) {
	stop := startManager(t, nil)
	defer stop()
	ns := newNamespace(t)
	platformPolicy(t, ns, raiv1.PromotionPolicySpec{EvaluationQueueName: "platform-queue"})
	m := newModel(ns, "queued", withoutFairness(), func(m *raiv1.ResponsibleModel) {
		m.Spec.Evaluations.Privacy = &raiv1.PrivacyEvaluation{Delta: "1e-5"}
	})
	if err := k8s.Create(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	job := waitForJob(t, m, "v1", report.KindPrivacy)
	if job.Labels[LabelKueueQueueName] != "platform-queue" || !ptr.Deref(job.Spec.Suspend, false) {
		t.Fatalf("Job labels %v suspend %v: want queued in platform-queue", job.Labels, job.Spec.Suspend)
	}
	g := NewWithT(t)
	g.Eventually(func(g Gomega) {
		c := condition(g, m, raiv1.ConditionEvaluated)
		g.Expect(c.Reason).To(Equal(raiv1.ReasonEvaluationsQueued))
		g.Expect(c.Message).To(ContainSubstring("platform-queue"))
		g.Expect(condition(g, m, raiv1.ConditionReconciling).Reason).To(Equal(raiv1.ReasonEvaluationsQueued))
	}).WithTimeout(20 * time.Second).Should(Succeed())

	own := newModel(ns, "own-queue", withoutFairness(), func(m *raiv1.ResponsibleModel) {
		m.Spec.Evaluations.Privacy = &raiv1.PrivacyEvaluation{Delta: "1e-5"}
		m.Spec.Evaluations.Job.QueueName = "team-queue"
	})
	if err := k8s.Create(context.Background(), own); err != nil {
		t.Fatal(err)
	}
	if j := waitForJob(t, own, "v1", report.KindPrivacy); j.Labels[LabelKueueQueueName] != "team-queue" {
		t.Errorf("the spec's queue lost to the platform's: %v", j.Labels)
	}
}

// TestTextModelServesWhatWasJudged: a text model serves with the tokenizer
// it was promoted with; a candidate with another tokenizer leaves it so
// while it is judged, and the stable version's name with another tokenizer
// is a new candidate, not the stable version.
func TestTextModelServesWhatWasJudged(t *testing.T) {
	stop := startManager(t, nil)
	defer stop()
	ns := newNamespace(t)
	tokenizer := func(n int) modelOption {
		return func(m *raiv1.ResponsibleModel) {
			m.Spec.Model.Task = raiv1.TaskTextClassification
			m.Spec.Model.Tokenizer = &raiv1.ArtifactReference{URI: "file:///models/tokenizer.json", SHA256: raiv1.SHA256(sha(n))}
		}
	}
	m := newModel(ns, "intent", tokenizer(210))
	if err := k8s.Create(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	promoteVersion(t, m, "v1", 1)
	g := NewWithT(t)
	tokArg := func() string {
		dep := &appsv1.Deployment{}
		g.Expect(k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: servingName(m.Name)}, dep)).To(Succeed())
		return strings.Join(textArgsOf(dep.Spec.Template.Spec.Containers[0].Args), " ")
	}
	got := getModel(g, m)
	g.Expect(got.Status.StableTextModel).NotTo(BeNil())
	g.Expect(got.Status.StableTextModel.Tokenizer.SHA256).To(Equal(raiv1.SHA256(sha(210))))
	g.Expect(tokArg()).To(ContainSubstring("--tokenizer-sha256 " + sha(210)))

	setVersion(t, m, "v2", 2, tokenizer(211))
	waitForJob(t, m, "v2", report.KindFairness)
	g.Expect(tokArg()).To(ContainSubstring("--tokenizer-sha256 "+sha(210)), "the stable version serves with its own tokenizer while v2 is judged")

	// Back to v1's name and artifact, but with v2's tokenizer.
	setVersion(t, m, "v1", 1, tokenizer(211))
	g.Eventually(func(g Gomega) {
		got := getModel(g, m)
		g.Expect(got.Status.CandidateVersion).To(Equal("v1"))
		g.Expect(got.Status.CandidateModelSHA256).To(Equal(sha(1)))
	}).WithTimeout(waitFor).Should(Succeed())
	g.Expect(tokArg()).To(ContainSubstring("--tokenizer-sha256 "+sha(210)), "v1 with another tokenizer is judged before it serves")
}
