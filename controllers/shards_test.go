package controllers

import (
	"context"
	"fmt"
	"slices"
	"testing"

	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/report"
)

// jobOfComponent waits for the model's Job of kind with the component label.
func jobOfComponent(t *testing.T, m *raiv1.ResponsibleModel, kind report.Kind, component string) *batchv1.Job {
	t.Helper()
	var job batchv1.Job
	NewWithT(t).Eventually(func(g Gomega) {
		jobs := &batchv1.JobList{}
		g.Expect(k8s.List(context.Background(), jobs, client.InNamespace(m.Namespace), client.MatchingLabels{
			raiv1.LabelModel: m.Name, raiv1.LabelEvaluationKind: string(kind), raiv1.LabelComponent: component})).To(Succeed())
		g.Expect(jobs.Items).To(HaveLen(1))
		job = jobs.Items[0]
	}).WithTimeout(waitFor).Should(Succeed())
	return &job
}

// TestShardedEvaluation: shards run as an Indexed Job; the partial reports
// are kept and merged by a second Job whose report is judged.
func TestShardedEvaluation(t *testing.T) {
	g := NewWithT(t)
	startManager(t, nil)
	ctx := context.Background()
	ns := newNamespace(t)
	m := newModel(ns, "sharded", func(m *raiv1.ResponsibleModel) { m.Spec.Evaluations.Job.Shards = ptr.To(int32(3)) })
	g.Expect(k8s.Create(ctx, m)).To(Succeed())

	job := jobOfComponent(t, m, report.KindFairness, "evaluation")
	g.Expect(*job.Spec.CompletionMode).To(Equal(batchv1.IndexedCompletion))
	g.Expect(*job.Spec.Completions).To(Equal(int32(3)))
	args := job.Spec.Template.Spec.Containers[0].Args
	g.Expect(args[slices.Index(args, "--shard")+1]).To(Equal("$(JOB_COMPLETION_INDEX)/3"))

	for i := range 3 {
		r := baseReport(report.KindFairness, 1)
		r.Dataset = &report.Dataset{SHA256: sha(100), Rows: 2000}
		r.Shard = &report.Shard{Index: i, Count: 3}
		pod := jobPod(job, fmt.Sprintf("%s-%d", job.Name, i))
		pod.Annotations = map[string]string{batchv1.JobCompletionIndexAnnotation: fmt.Sprint(i)}
		g.Expect(k8s.Create(ctx, pod)).To(Succeed())
		pod.Status = corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{{Name: evaluateContainer, Image: "x",
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Message: mustJSON(r)}}}}}
		g.Expect(k8s.Status().Update(ctx, pod)).To(Succeed())
	}
	now := metav1.Now()
	job.Status = batchv1.JobStatus{StartTime: &now, CompletionTime: &now, Succeeded: 3, CompletedIndexes: "0-2", Conditions: []batchv1.JobCondition{
		{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, Reason: "CompletionsReached", LastTransitionTime: now},
		{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, Reason: "CompletionsReached", LastTransitionTime: now},
	}}
	g.Expect(k8s.Status().Update(ctx, job)).To(Succeed())

	merge := jobOfComponent(t, m, report.KindFairness, "evaluation-merge")
	g.Expect(merge.Spec.Template.Spec.Containers[0].Args).To(ContainElements("merge", "/parts/part-0.json", "/parts/part-2.json"))
	g.Expect(merge.Spec.Template.Spec.Volumes).To(ContainElement(HaveField("VolumeSource.ConfigMap.LocalObjectReference.Name", partsConfigMapName(job.Name))))
	parts := &corev1.ConfigMap{}
	g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: partsConfigMapName(job.Name)}, parts)).To(Succeed())
	g.Expect(parts.Data).To(HaveKey("fairness.shard-0.json"))
	g.Expect(parts.Data).To(HaveKey("fairness.shard-2.json"))
	g.Expect(parts.Immutable).To(HaveValue(BeTrue()))
	// The merge refuses a part whose digest is not the one read from the
	// shard's pod.
	margs := merge.Spec.Template.Spec.Containers[0].Args
	g.Expect(margs[slices.Index(margs, "--part-sha256")+1]).To(Equal(digestOf([]byte(parts.Data["fairness.shard-0.json"]))))
	g.Eventually(func(g Gomega) {
		e := getModel(g, m).Status.Evaluations
		g.Expect(e).To(HaveLen(1))
		g.Expect(e[0].Job).To(Equal(merge.Name))
		g.Expect(e[0].State).To(Equal(raiv1.EvaluationRunning))
	}).WithTimeout(waitFor).Should(Succeed())

	finishJob(t, merge, corev1.PodSucceeded, fairnessReport(1, 0.9), "")
	g.Eventually(func(g Gomega) {
		got := getModel(g, m)
		g.Expect(got.Status.Evaluations[0].State).To(Equal(raiv1.EvaluationSucceeded))
		g.Expect(got.Status.LastDecision).NotTo(BeNil())
		g.Expect(got.Status.LastDecision.Allowed).To(BeTrue())
	}).WithTimeout(waitFor).Should(Succeed())
}
