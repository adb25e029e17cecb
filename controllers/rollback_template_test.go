package controllers

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/report"
)

func gpuLimit(dep *appsv1.Deployment) string {
	q := dep.Spec.Template.Spec.Containers[0].Resources.Limits[corev1.ResourceName("nvidia.com/gpu")]
	return q.String()
}

// TestCandidateServingSpecWaitsForPromotion: spec.serving changes with the
// version describe the candidate. The stable version keeps its template
// (1 GPU) while the candidate (16 GPUs) is evaluated, and a rollback
// restores the template the stable version ran with, from its ReplicaSet.
func TestCandidateServingSpecWaitsForPromotion(t *testing.T) {
	g := NewWithT(t)
	startManager(t, nil)
	ctx := context.Background()
	ns := newNamespace(t)
	m := newModel(ns, "gpus", withGPU(1, "NVIDIA-H100-80GB-HBM3", "40Gi"))
	g.Expect(k8s.Create(ctx, m)).To(Succeed())
	promoteVersion(t, m, "v1", 1)
	dep := servingDeployment(t, m, "v1")
	g.Expect(gpuLimit(dep)).To(Equal("1"))

	// Play the Deployment controller: v1's ReplicaSet, whose template is
	// marked so that a restore from it can be told from a rebuild.
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: dep.Name + "-v1abc", Namespace: ns, Labels: dep.Spec.Template.Labels,
			Annotations: map[string]string{"deployment.kubernetes.io/revision": "1"}},
		Spec: appsv1.ReplicaSetSpec{Selector: dep.Spec.Selector, Template: *dep.Spec.Template.DeepCopy()},
	}
	rs.Spec.Template.Labels = map[string]string{appsv1.DefaultDeploymentUniqueLabelKey: "v1abc"}
	for k, v := range dep.Spec.Template.Labels {
		rs.Spec.Template.Labels[k] = v
	}
	rs.Spec.Template.Annotations = map[string]string{"test/restored-from": "replicaset"}
	g.Expect(ctrlRef(dep, rs)).To(Succeed())
	g.Expect(k8s.Create(ctx, rs)).To(Succeed())

	setVersion(t, m, "v2", 2, withGPU(16, "NVIDIA-H100-80GB-HBM3", "40Gi"))
	g.Consistently(func(g Gomega) {
		cur := &appsv1.Deployment{}
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(dep), cur)).To(Succeed())
		g.Expect(cur.Spec.Template.Labels[raiv1.LabelVersion]).To(Equal("v1"))
		g.Expect(gpuLimit(cur)).To(Equal("1"), "the stable version's template changed before the candidate was judged")
	}).WithTimeout(3 * time.Second).Should(Succeed())

	finishJob(t, waitForJob(t, m, "v2", report.KindFairness), corev1.PodSucceeded, fairnessReport(2, 0.9), "")
	g.Expect(gpuLimit(servingDeployment(t, m, "v2"))).To(Equal("16"))
	g.Eventually(func(g Gomega) {
		// The Deployment controller would report the stall again after
		// any spec write; so does this loop.
		if getModel(g, m).Status.FailedVersion == "" {
			stallRollout(t, dep)
		}
		cur := &appsv1.Deployment{}
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(dep), cur)).To(Succeed())
		g.Expect(cur.Spec.Template.Labels[raiv1.LabelVersion]).To(Equal("v1"))
		g.Expect(gpuLimit(cur)).To(Equal("1"))
		g.Expect(cur.Spec.Template.Annotations).To(HaveKeyWithValue("test/restored-from", "replicaset"))
		g.Expect(cur.Spec.Template.Labels).NotTo(HaveKey(appsv1.DefaultDeploymentUniqueLabelKey))
		g.Expect(getModel(g, m).Status.FailedVersion).To(Equal("v2"))
	}).WithTimeout(waitFor).Should(Succeed())
}

func ctrlRef(owner *appsv1.Deployment, rs *appsv1.ReplicaSet) error {
	rs.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(owner, appsv1.SchemeGroupVersion.WithKind("Deployment"))}
	return nil
}

func TestStableTemplatePicksNewestOwnedReplicaSet(t *testing.T) {
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "d", UID: "dep-uid"}}
	other := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "o", UID: "other-uid"}}
	stable := servedModel{Version: "v1", URI: "file:///v1.onnx", SHA256: sha(1)}
	mkOf := func(owner *appsv1.Deployment, rev, marker string, served servedModel) appsv1.ReplicaSet {
		rs := appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{"deployment.kubernetes.io/revision": rev},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(owner, appsv1.SchemeGroupVersion.WithKind("Deployment"))}}}
		rs.Spec.Template = buildServingDeployment(newModel("ns", "m"), served, "rai:1").Spec.Template
		rs.Spec.Template.Labels["m"] = marker
		rs.Spec.Template.Labels[appsv1.DefaultDeploymentUniqueLabelKey] = "h" + rev
		return rs
	}
	mk := func(owner *appsv1.Deployment, rev, marker string) appsv1.ReplicaSet {
		return mkOf(owner, rev, marker, stable)
	}
	swapped := stable
	swapped.SHA256 = sha(2)
	cases := []struct {
		name string
		sets []appsv1.ReplicaSet
		// want is the marker label of the chosen template; "" means none.
		want string
	}{
		{"none", nil, ""},
		{"only another Deployment's", []appsv1.ReplicaSet{mk(other, "9", "x")}, ""},
		{"newest revision wins", []appsv1.ReplicaSet{mk(dep, "2", "old"), mk(dep, "10", "new"), mk(other, "11", "x")}, "new"},
		{"another artifact under the stable version's name is not the stable one", []appsv1.ReplicaSet{mk(dep, "2", "stable"), mkOf(dep, "3", "swapped", swapped)}, "stable"},
	}
	for _, tc := range cases {
		got := stableTemplate(dep, tc.sets, stable)
		switch {
		case tc.want == "" && got != nil:
			t.Errorf("%s: got a template, want none", tc.name)
		case tc.want != "" && (got == nil || got.Labels["m"] != tc.want):
			t.Errorf("%s: got %v, want the template marked %q", tc.name, got, tc.want)
		case got != nil && got.Labels[appsv1.DefaultDeploymentUniqueLabelKey] != "":
			t.Errorf("%s: the pod-template-hash label was kept", tc.name)
		}
	}
}
