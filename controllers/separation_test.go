package controllers

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/report"
	"github.com/responsible-ai/rmodel-operator/internal/testenv"
)

// The separation-of-duties suite: a namespace editor — the person the gate
// judges — tries every way around it with the rights the shipped roles give
// (impersonated through RBAC, not as admin), against the shipped admission
// policies and the operator running as its own service account.

const operatorUser = "system:serviceaccount:rmodel-system:rmodel-controller-manager"

// renderedConfig is `kubectl kustomize config/default`: what ships.
func renderedConfig(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	kubectl := filepath.Join(root, "bin", "k8s", "kubectl")
	if a := os.Getenv("KUBEBUILDER_ASSETS"); a != "" {
		if _, err := os.Stat(filepath.Join(a, "kubectl")); err == nil {
			kubectl = filepath.Join(a, "kubectl")
		}
	}
	var out, errOut bytes.Buffer
	cmd := exec.Command(kubectl, "kustomize", filepath.Join(root, "config", "default"))
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl kustomize config/default: %v: %s", err, errOut.String())
	}
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(&out, 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			break
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
	return objs
}

// impersonating is the envtest config acting as user in groups.
func impersonating(user string, groups ...string) *rest.Config {
	cfg := rest.CopyConfig(restCfg)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: append(groups, "system:authenticated")}
	return cfg
}

// installShippedRBACAndAdmission creates the shipped ClusterRoles and
// admission policies; the policies' bindings are narrowed to namespace ns
// so that the rest of the suite (which plays attackers as admin) runs
// without them. Everything is removed when the test ends.
func installShippedRBACAndAdmission(t *testing.T, ns string) {
	t.Helper()
	ctx := context.Background()
	g := NewWithT(t)
	for _, u := range renderedConfig(t) {
		switch u.GetKind() {
		case "ClusterRole", "ValidatingAdmissionPolicy", "MutatingAdmissionPolicy":
		case "ValidatingAdmissionPolicyBinding", "MutatingAdmissionPolicyBinding":
			g.Expect(unstructured.SetNestedField(u.Object, map[string]any{"matchLabels": map[string]any{corev1.LabelMetadataName: ns}},
				"spec", "matchResources", "namespaceSelector")).To(Succeed())
		default:
			continue
		}
		err := k8s.Create(ctx, u)
		if apierrors.IsAlreadyExists(err) {
			cur := &unstructured.Unstructured{}
			cur.SetGroupVersionKind(u.GroupVersionKind())
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(u), cur)).To(Succeed())
			u.SetResourceVersion(cur.GetResourceVersion())
			err = k8s.Update(ctx, u)
		}
		g.Expect(err).NotTo(HaveOccurred(), "install %s %s", u.GetKind(), u.GetName())
		if u.GetKind() != "ClusterRole" {
			t.Cleanup(func() { _ = k8s.Delete(context.Background(), u) })
		}
	}
	// The operator's identity holds the shipped manager role.
	crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "rmodel-manager-" + ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "rmodel-manager-role"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: operatorUser}}}
	g.Expect(k8s.Create(ctx, crb)).To(Succeed())
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), crb) })
	// alice edits models (the shipped editor role) and, as the built-in
	// edit role lets her, ConfigMaps, pods and Jobs of her namespace (envtest
	// runs no controller that aggregates the roles).
	g.Expect(k8s.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "edit-like", Namespace: ns}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"configmaps", "pods"}, Verbs: []string{"*"}},
		{APIGroups: []string{"batch"}, Resources: []string{"jobs"}, Verbs: []string{"*"}},
	}})).To(Succeed())
	for _, role := range []rbacv1.RoleRef{
		{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "rmodel-rai-model-editor"},
		{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "edit-like"},
	} {
		g.Expect(k8s.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "alice-" + strings.ToLower(role.Name), Namespace: ns}, RoleRef: role,
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "alice"}}})).To(Succeed())
	}
	// The mutating policy answers 503 ("Resource kind ... not found")
	// until the API server has resolved the CRD's schema for it: wait
	// until a model can be created (dry run) before a test relies on it.
	g.Eventually(func() error {
		return k8s.Create(ctx, newModel(ns, "admission-probe"), client.DryRunAll)
	}).WithTimeout(waitFor).Should(Succeed())
}

// TestNamespaceEditorCannotOpenTheGate: every bypass a namespace editor
// can try, and what refuses it.
func TestNamespaceEditorCannotOpenTheGate(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	installShippedRBACAndAdmission(t, ns)
	startManagerWith(t, impersonating(operatorUser, "system:serviceaccounts", "system:serviceaccounts:rmodel-system"), nil)
	alice, err := client.New(impersonating("alice"), client.Options{Scheme: testenv.Scheme()})
	g.Expect(err).NotTo(HaveOccurred())

	// The platform: fairness and privacy required, bound to the budget of
	// the training data; only Enforce.
	platformPolicy(t, ns, raiv1.PromotionPolicySpec{
		RequiredEvaluations: []raiv1.EvaluationKind{"fairness", "privacy"},
		Thresholds:          map[string]raiv1.Threshold{"demographic_parity_ratio_min": "0.8"},
		Privacy:             &raiv1.PromotionPrivacy{RequireBudget: true, MatchDatasetDigest: true},
	})
	budget := newBudget(ns, "lending", "8")
	budget.Spec.DatasetSHA256 = raiv1.SHA256(sha(60))
	g.Expect(k8s.Create(ctx, budget)).To(Succeed())
	other := newBudget(ns, "other-data", "100")
	other.Spec.DatasetSHA256 = raiv1.SHA256(sha(61))
	g.Expect(k8s.Create(ctx, other)).To(Succeed())

	// alice asks for DryRun and a relaxed threshold.
	m := newModel(ns, "gate", withPrivacyBudget("lending"), withEnforcement(raiv1.EnforcementDryRun), func(m *raiv1.ResponsibleModel) {
		m.Spec.Policy.Thresholds = map[string]raiv1.Threshold{"demographic_parity_ratio_min": "0.5"}
	})
	g.Expect(alice.Create(ctx, m)).To(Succeed(), "an editor creates models")
	privacy := privacyReportTrainedOn(1, sha(60))
	finishJob(t, waitForJob(t, m, "v1", report.KindFairness), corev1.PodSucceeded, fairnessReport(1, 0.68), "")
	finishJob(t, waitForJob(t, m, "v1", report.KindPrivacy), corev1.PodSucceeded, privacy, "")
	denied := func(g Gomega, codes ...string) *raiv1.ResponsibleModel {
		got := getModel(g, m)
		g.Expect(got.Status.LastDecision).NotTo(BeNil())
		g.Expect(got.Status.LastDecision.Allowed).To(BeFalse())
		for _, c := range codes {
			g.Expect(got.Status.LastDecision.Violations).To(ContainElement(HaveField("Code", c)))
		}
		g.Expect(got.Status.StableVersion).To(BeEmpty(), "nothing was promoted")
		return got
	}
	g.Eventually(func(g Gomega) {
		got := denied(g, "FairnessDemographicParity")
		// DryRun is not allowed: Enforce applies, and the status says so.
		g.Expect(got.Status.LastDecision.Enforcement).To(Equal(raiv1.EnforcementEnforce))
		g.Expect(got.Status.LastDecision.RequestedEnforcement).To(Equal(raiv1.EnforcementDryRun))
		g.Expect(got.Status.LastDecision.PromotionPolicies).To(ConsistOf("platform-" + ns))
		g.Expect(condition(g, m, raiv1.ConditionPolicyAllowed).Message).To(ContainSubstring("spec.policy.enforcement DryRun is not allowed"))
		g.Expect(condition(g, m, raiv1.ConditionStalled).Status).To(Equal(metav1.ConditionTrue))
	}).WithTimeout(waitFor).Should(Succeed())

	edit := func(f func(m *raiv1.ResponsibleModel)) {
		t.Helper()
		NewWithT(t).Eventually(func() error {
			cur := &raiv1.ResponsibleModel{}
			if err := alice.Get(ctx, client.ObjectKeyFromObject(m), cur); err != nil {
				return err
			}
			f(cur)
			return alice.Update(ctx, cur)
		}).WithTimeout(waitFor).Should(Succeed())
	}
	// Warn: not allowed either.
	edit(func(m *raiv1.ResponsibleModel) { m.Spec.Policy.Enforcement = raiv1.EnforcementWarn })
	g.Eventually(func(g Gomega) {
		got := denied(g, "FairnessDemographicParity")
		g.Expect(got.Status.LastDecision.RequestedEnforcement).To(Equal(raiv1.EnforcementWarn))
	}).WithTimeout(waitFor).Should(Succeed())

	// A budget of other data, then a missing one.
	edit(func(m *raiv1.ResponsibleModel) { m.Spec.Evaluations.Privacy.BudgetRef.Name = "other-data" })
	g.Eventually(func(g Gomega) { denied(g, CodeBudgetMismatch) }).WithTimeout(waitFor).Should(Succeed())
	edit(func(m *raiv1.ResponsibleModel) { m.Spec.Evaluations.Privacy.BudgetRef.Name = "nowhere" })
	g.Eventually(func(g Gomega) { denied(g, CodeBudgetNotFound) }).WithTimeout(waitFor).Should(Succeed())
	// alice cannot make a budget of her own.
	err = alice.Create(ctx, newBudget(ns, "nowhere", "1000"))
	g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "an editor creates a PrivacyBudget: %v", err)

	// Omitting the required privacy evaluation.
	edit(func(m *raiv1.ResponsibleModel) { m.Spec.Evaluations.Privacy = nil })
	g.Eventually(func(g Gomega) {
		got := denied(g, CodeEvaluationRequired, CodeBudgetRequired)
		g.Expect(violationsMessage(got.Status.LastDecision.Violations)).To(ContainSubstring("requires a privacy evaluation"))
	}).WithTimeout(waitFor).Should(Succeed())

	// A tenant policy with Rego that would run past any bound.
	g.Expect(alice.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "my-policy", Namespace: ns}, Data: map[string]string{
		"open.rego": "package rai.promotion\n\nallow := count(numbers.range(1, 5000000)) > 0\n"}})).To(Succeed())
	edit(func(m *raiv1.ResponsibleModel) {
		m.Spec.Policy.ConfigMapRef = &raiv1.LocalObjectReference{Name: "my-policy"}
	})
	g.Eventually(func(g Gomega) {
		got := denied(g, CodePolicyRefused)
		g.Expect(violationsMessage(got.Status.LastDecision.Violations)).To(ContainSubstring("Rego comes from the platform's PromotionPolicies"))
	}).WithTimeout(waitFor).Should(Succeed())

	// The stored evidence: edit, replace, delete.
	e := findEvaluation(getModel(g, m).Status.Evaluations, "fairness")
	g.Expect(e).NotTo(BeNil())
	cm := &corev1.ConfigMap{}
	// The admission policies take effect a moment after they are created.
	g.Eventually(func() string {
		if err := alice.Get(ctx, client.ObjectKey{Namespace: ns, Name: e.ReportRef.Name}, cm); err != nil {
			return err.Error()
		}
		cm.Labels["example.com/x"] = "y"
		if err := alice.Update(ctx, cm); err != nil {
			return err.Error()
		}
		return "accepted"
	}).WithTimeout(waitFor).Should(ContainSubstring("evidence"), "the refusal names what was refused")
	err = alice.Delete(ctx, cm)
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("evidence"))

	// The status: RBAC refuses her a status patch.
	cur := getModel(g, m)
	patch := client.MergeFrom(cur.DeepCopy())
	cur.Status.StableVersion, cur.Status.StableModelSHA256 = "v1", sha(1)
	err = alice.Status().Patch(ctx, cur, patch)
	g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "an editor patches status: %v", err)

	// Back to a spec the platform accepts: the manager still judges (the
	// tenant Rego did not take it down), and the biased model is still
	// denied on the platform's floor, not alice's relaxed one.
	oldPrivacy := waitForJob(t, m, "v1", report.KindPrivacy)
	edit(func(m *raiv1.ResponsibleModel) {
		m.Spec.Policy.ConfigMapRef = nil
		m.Spec.Evaluations.Privacy = &raiv1.PrivacyEvaluation{Delta: "1e-5", BudgetRef: &raiv1.LocalObjectReference{Name: "lending"}}
	})
	// The privacy evaluation was dropped from the record with the spec: it
	// runs again, in a Job of its own.
	var rerun *batchv1.Job
	g.Eventually(func(g Gomega) {
		rerun = waitForJob(t, m, "v1", report.KindPrivacy)
		g.Expect(rerun.UID).NotTo(Equal(oldPrivacy.UID))
	}).WithTimeout(waitFor).Should(Succeed())
	finishJob(t, rerun, corev1.PodSucceeded, privacy, "")
	g.Eventually(func(g Gomega) {
		got := denied(g, "FairnessDemographicParity")
		g.Expect(got.Status.LastDecision.Violations).To(HaveLen(1))
	}).WithTimeout(waitFor).Should(Succeed())

	// v2, whose fairness report alice forges with a pod of her own that
	// carries its Job's labels, as the Job controller's pods do (the
	// kubelet writes what her container printed). (A pod without the
	// model label is not even read: the operator caches only pods that
	// carry it.)
	edit(func(m *raiv1.ResponsibleModel) { withVersion("v2", 2)(m) })
	job := waitForJob(t, m, "v2", report.KindFairness)
	forgedLabels := maps.Clone(job.Spec.Template.Labels)
	forgedLabels[batchv1.JobNameLabel] = job.Name
	forged := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "forged", Namespace: ns, Labels: forgedLabels},
		Spec: *job.Spec.Template.Spec.DeepCopy()}
	g.Expect(alice.Create(ctx, forged)).To(Succeed(), "an editor creates pods")
	forged.Status = corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{{Name: evaluateContainer,
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Message: fairnessReport(2, 0.97)}}}}}
	err = alice.Status().Update(ctx, forged)
	g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "an editor writes a pod's status herself: %v", err)
	g.Expect(k8s.Status().Update(ctx, forged)).To(Succeed(), "the kubelet does")
	finishJob(t, job, corev1.PodSucceeded, fairnessReport(2, 0.68), "")
	finishJob(t, waitForJob(t, m, "v2", report.KindPrivacy), corev1.PodSucceeded, privacyReportTrainedOn(2, sha(60)), "")
	g.Eventually(func(g Gomega) {
		got := denied(g, "EvaluationFailed")
		e := findEvaluation(got.Status.Evaluations, "fairness")
		g.Expect(e.Reason).To(Equal(raiv1.ReasonReportUntrusted))
		g.Expect(e.Message).To(ContainSubstring("pod forged"))
	}).WithTimeout(waitFor).Should(Succeed())
	g.Consistently(func(g Gomega) {
		g.Expect(getModel(g, m).Status.StableVersion).To(BeEmpty())
		g.Expect(getBudget(g, budget).Status.Charges).To(BeEmpty())
	}).WithTimeout(2 * time.Second).Should(Succeed())
}

// privacyReportTrainedOn is a privacy report whose model names its
// training data's digest.
func privacyReportTrainedOn(shaN int, training string) string {
	r := &report.Report{}
	if err := json.Unmarshal([]byte(privacyReport(shaN, 1.1, 0.01, 3000)), r); err != nil {
		panic(err)
	}
	r.Parameters = map[string]string{paramTrainingDatasetSHA256: training}
	return mustJSON(r)
}
