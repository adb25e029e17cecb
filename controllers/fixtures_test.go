package controllers

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/decisionchain"
	"github.com/responsible-ai/rmodel-operator/internal/evaluation/privacy"
	"github.com/responsible-ai/rmodel-operator/internal/report"
)

// Fixtures: models built with functional modifiers, reports, and helpers
// that play the parts of the Job controller, the scheduler and the
// Deployment controller (envtest runs none of them).

const waitFor = 30 * time.Second

type modelOption func(*raiv1.ResponsibleModel)

// newModel returns a model at version v1 with a fairness evaluation.
func newModel(ns, name string, opts ...modelOption) *raiv1.ResponsibleModel {
	m := &raiv1.ResponsibleModel{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: raiv1.ResponsibleModelSpec{
			Version:     "v1",
			IntendedUse: "Ranks loan applications for human review.",
			Model:       raiv1.ModelArtifact{URI: "https://models.example/credit/v1.onnx", SHA256: raiv1.SHA256(sha(1))},
			Evaluations: raiv1.EvaluationsSpec{
				Dataset:  &raiv1.DatasetSpec{URI: "file:///data/eval.csv", SHA256: raiv1.SHA256(sha(100)), LabelColumn: "label", FavorableLabel: "1"},
				Fairness: &raiv1.FairnessEvaluation{SensitiveColumns: []string{"sex"}, Privileged: []raiv1.PrivilegedGroup{{Column: "sex", Value: "male"}}},
			},
		},
	}
	for _, o := range opts {
		o(m)
	}
	return m
}

func withVersion(version string, shaN int) modelOption {
	return func(m *raiv1.ResponsibleModel) {
		m.Spec.Version = version
		m.Spec.Model.SHA256 = raiv1.SHA256(sha(shaN))
		m.Spec.Model.URI = raiv1.ArtifactURI("https://models.example/credit/" + version + ".onnx")
	}
}

func withGPU(count int32, product, minMemory string) modelOption {
	return func(m *raiv1.ResponsibleModel) {
		q := resource.MustParse(minMemory)
		m.Spec.Serving.GPU = &raiv1.GPUSpec{Count: ptr.To(count), Product: product, MinMemory: &q}
	}
}

func withEnforcement(mode raiv1.EnforcementMode) modelOption {
	return func(m *raiv1.ResponsibleModel) { m.Spec.Policy.Enforcement = mode }
}

func withPolicyConfigMap(name string) modelOption {
	return func(m *raiv1.ResponsibleModel) {
		m.Spec.Policy.ConfigMapRef = &raiv1.LocalObjectReference{Name: name}
	}
}

func withPrivacyBudget(budget string) modelOption {
	return func(m *raiv1.ResponsibleModel) {
		m.Spec.Evaluations.Privacy = &raiv1.PrivacyEvaluation{Delta: "1e-5", BudgetRef: &raiv1.LocalObjectReference{Name: budget}}
	}
}

func withoutFairness() modelOption {
	return func(m *raiv1.ResponsibleModel) { m.Spec.Evaluations.Fairness = nil }
}

// fairnessReport is a compact fairness report for model digest shaN.
func fairnessReport(shaN int, dpr float64) string {
	r := baseReport(report.KindFairness, shaN)
	r.Dataset = &report.Dataset{SHA256: sha(100), Rows: 6000}
	r.SetMetric("demographic_parity_ratio", dpr, "")
	r.SetMetric("statistical_parity_difference", -0.04, "")
	r.SetMetric("disparate_impact_ratio", 0.95, "")
	r.SetMetric("equalized_odds_difference", 0.03, "")
	lo, hi := dpr-0.05, dpr+0.03
	r.Intervals = map[string]report.Interval{"demographic_parity_ratio": {Lower: &lo, Upper: &hi, Level: 0.95, Method: "bootstrap"}}
	return mustJSON(r)
}

// privacyReport is a privacy report for DP-SGD with the RDP curve.
func privacyReport(shaN int, sigma, q float64, steps int) string {
	r := baseReport(report.KindPrivacy, shaN)
	orders := privacy.DefaultOrders()
	curve := privacy.RDP(q, sigma, steps, orders)
	eps, _ := privacy.EpsilonFromRDP(orders, curve, 1e-5)
	r.SetMetric("epsilon", eps, "")
	r.SetMetric("delta", 1e-5, "")
	details, _ := json.Marshal(map[string]any{"rdp": map[string]any{"orders": orders, "rdp": curve}})
	r.Details = details
	return mustJSON(r)
}

func baseReport(kind report.Kind, shaN int) *report.Report {
	now := time.Now().UTC().Truncate(time.Second)
	return &report.Report{
		SchemaVersion: report.SchemaVersion, Kind: kind,
		Model:     report.Model{SHA256: sha(shaN)},
		Evaluator: report.Evaluator{Name: "rai", Version: "test"},
		StartTime: now.Add(-time.Minute), EndTime: now, State: report.StateSucceeded,
		Metrics: map[string]*float64{},
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// getModel reads the model.
func getModel(g Gomega, m *raiv1.ResponsibleModel) *raiv1.ResponsibleModel {
	got := &raiv1.ResponsibleModel{}
	g.Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(m), got)).To(Succeed())
	return got
}

// condition returns the model's condition of type t (never nil).
func condition(g Gomega, m *raiv1.ResponsibleModel, t string) metav1.Condition {
	got := getModel(g, m)
	c := meta.FindStatusCondition(got.Status.Conditions, t)
	g.Expect(c).NotTo(BeNil(), "condition %s", t)
	return *c
}

// waitForJob waits for the model's evaluation Job of kind for version.
func waitForJob(t *testing.T, m *raiv1.ResponsibleModel, version string, kind report.Kind) *batchv1.Job {
	t.Helper()
	var job batchv1.Job
	NewWithT(t).Eventually(func(g Gomega) {
		jobs := &batchv1.JobList{}
		g.Expect(k8s.List(context.Background(), jobs, client.InNamespace(m.Namespace),
			client.MatchingLabels{raiv1.LabelModel: m.Name, raiv1.LabelVersion: version, raiv1.LabelEvaluationKind: string(kind)})).To(Succeed())
		g.Expect(jobs.Items).To(HaveLen(1))
		job = jobs.Items[0]
	}).WithTimeout(waitFor).Should(Succeed())
	return &job
}

// finishJob plays the Job controller: a pod that ended in phase with the
// termination message, then the Job's terminal conditions.
func finishJob(t *testing.T, job *batchv1.Job, phase corev1.PodPhase, message string, failReason string) {
	t.Helper()
	ctx := context.Background()
	g := NewWithT(t)
	pod := jobPod(job, job.Name+"-"+string(job.UID)[:5]+"-"+strings.ToLower(string(phase))[:4])
	g.Expect(k8s.Create(ctx, pod)).To(Succeed())
	exit := int32(0)
	if phase == corev1.PodFailed {
		exit = 1
	}
	pod.Status = corev1.PodStatus{Phase: phase, ContainerStatuses: []corev1.ContainerStatus{{
		Name: evaluateContainer, Image: job.Spec.Template.Spec.Containers[0].Image,
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: exit, Message: message, Reason: "Completed"}},
	}}}
	g.Expect(k8s.Status().Update(ctx, pod)).To(Succeed())

	now := metav1.Now()
	job.Status.StartTime = &now
	if phase == corev1.PodSucceeded {
		job.Status.Succeeded = 1
		job.Status.CompletionTime = &now
		job.Status.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, Reason: "CompletionsReached", LastTransitionTime: now},
			{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, Reason: "CompletionsReached", LastTransitionTime: now},
		}
	} else {
		job.Status.Failed = 1
		job.Status.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: failReason, Message: "the Job failed", LastTransitionTime: now},
			{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: failReason, Message: "the Job failed", LastTransitionTime: now},
		}
	}
	g.Expect(k8s.Status().Update(ctx, job)).To(Succeed())
}

// jobPod is a pod as the Job controller makes it for job: controlled by
// the Job, labelled with its template's labels and its name and UID,
// running its template.
func jobPod(job *batchv1.Job, name string) *corev1.Pod {
	labels := maps.Clone(job.Spec.Template.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[batchv1.JobNameLabel], labels[batchv1.ControllerUidLabel] = job.Name, string(job.UID)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: job.Namespace,
			Labels: labels,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}},
		},
		Spec: *job.Spec.Template.Spec.DeepCopy(),
	}
}

// servingDeployment waits for the serving Deployment to run version.
func servingDeployment(t *testing.T, m *raiv1.ResponsibleModel, version string) *appsv1.Deployment {
	t.Helper()
	dep := &appsv1.Deployment{}
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(k8s.Get(context.Background(), client.ObjectKey{Namespace: m.Namespace, Name: servingName(m.Name)}, dep)).To(Succeed())
		g.Expect(dep.Spec.Template.Labels[raiv1.LabelVersion]).To(Equal(version))
	}).WithTimeout(waitFor).Should(Succeed())
	return dep
}

// completeRollout plays the Deployment controller: every replica updated
// and available.
func completeRollout(t *testing.T, dep *appsv1.Deployment) {
	t.Helper()
	NewWithT(t).Eventually(func() error {
		cur := &appsv1.Deployment{}
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(dep), cur); err != nil {
			return err
		}
		n := ptr.Deref(cur.Spec.Replicas, 1)
		cur.Status = appsv1.DeploymentStatus{
			ObservedGeneration: cur.Generation, Replicas: n, UpdatedReplicas: n, ReadyReplicas: n, AvailableReplicas: n,
			Conditions: []appsv1.DeploymentCondition{
				{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"},
				{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"},
			},
		}
		return k8s.Status().Update(context.Background(), cur)
	}).WithTimeout(waitFor).Should(Succeed())
}

// stallRollout plays the Deployment controller past the progress deadline.
func stallRollout(t *testing.T, dep *appsv1.Deployment) {
	t.Helper()
	NewWithT(t).Eventually(func() error {
		cur := &appsv1.Deployment{}
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(dep), cur); err != nil {
			return err
		}
		cur.Status.ObservedGeneration = cur.Generation
		cur.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse,
			Reason: "ProgressDeadlineExceeded", Message: `ReplicaSet "x" has timed out progressing.`}}
		return k8s.Status().Update(context.Background(), cur)
	}).WithTimeout(waitFor).Should(Succeed())
}

// promoteVersion walks a version through an allowed fairness evaluation
// and a completed rollout.
func promoteVersion(t *testing.T, m *raiv1.ResponsibleModel, version string, shaN int) {
	t.Helper()
	job := waitForJob(t, m, version, report.KindFairness)
	finishJob(t, job, corev1.PodSucceeded, fairnessReport(shaN, 0.9), "")
	completeRollout(t, servingDeployment(t, m, version))
	NewWithT(t).Eventually(func(g Gomega) {
		got := getModel(g, m)
		g.Expect(got.Status.StableVersion).To(Equal(version))
		g.Expect(got.Status.CandidateVersion).To(BeEmpty())
	}).WithTimeout(waitFor).Should(Succeed())
}

// setVersion moves the model's spec to a new version.
func setVersion(t *testing.T, m *raiv1.ResponsibleModel, version string, shaN int, more ...modelOption) {
	t.Helper()
	NewWithT(t).Eventually(func() error {
		cur := &raiv1.ResponsibleModel{}
		if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(m), cur); err != nil {
			return err
		}
		withVersion(version, shaN)(cur)
		for _, o := range more {
			o(cur)
		}
		return k8s.Update(context.Background(), cur)
	}).WithTimeout(waitFor).Should(Succeed())
}

// platformPolicy creates a PromotionPolicy that selects namespace ns only,
// and deletes it when the test ends (PromotionPolicies are cluster-scoped).
func platformPolicy(t *testing.T, ns string, spec raiv1.PromotionPolicySpec) *raiv1.PromotionPolicy {
	t.Helper()
	spec.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: ns}}
	p := &raiv1.PromotionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "platform-" + ns}, Spec: spec}
	NewWithT(t).Expect(k8s.Create(context.Background(), p)).To(Succeed())
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), p) })
	return p
}

// decisionChain verifies the model's chain of DecisionRecords, against the
// head in its status, and returns the actions in order.
func decisionChain(g Gomega, m *raiv1.ResponsibleModel) []raiv1.DecisionAction {
	list := &raiv1.DecisionRecordList{}
	g.Expect(k8s.List(context.Background(), list, client.InNamespace(m.Namespace), client.MatchingLabels{raiv1.LabelModel: m.Name})).To(Succeed())
	got := getModel(g, m)
	g.Expect(got.Status.DecisionChain).NotTo(BeNil())
	anchors := map[string]decisionchain.Anchor{m.Namespace + "/" + m.Name: {Count: got.Status.DecisionChain.Count, Hash: got.Status.DecisionChain.Hash}}
	chains, problems := decisionchain.Verify(list.Items, anchors)
	g.Expect(problems).To(BeEmpty())
	g.Expect(chains).To(HaveLen(1))
	slices.SortFunc(list.Items, func(a, b raiv1.DecisionRecord) int { return int(a.Spec.Sequence - b.Spec.Sequence) })
	var out []raiv1.DecisionAction
	for _, r := range list.Items {
		out = append(out, r.Spec.Action)
	}
	return out
}

// kstatusOf is what kstatus (Flux's health checks, kpt, cli-utils) computes
// for the model as the API server holds it.
func kstatusOf(g Gomega, m *raiv1.ResponsibleModel) *kstatus.Result {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(raiv1.GroupVersion.WithKind("ResponsibleModel"))
	g.Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(m), u)).To(Succeed())
	res, err := kstatus.Compute(u)
	g.Expect(err).NotTo(HaveOccurred())
	return res
}

// events returns the notes of the model's events with reason.
func events(g Gomega, m *raiv1.ResponsibleModel, eventType, reason string) []string {
	list := &eventsv1.EventList{}
	g.Expect(k8s.List(context.Background(), list, client.InNamespace(m.Namespace))).To(Succeed())
	var out []string
	for _, e := range list.Items {
		if e.Regarding.Name == m.Name && e.Type == eventType && e.Reason == reason {
			out = append(out, e.Note)
		}
	}
	return out
}
