package controllers

import (
	"context"
	"strings"
	"testing"

	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/testenv"
)

// TestDRAServing: a GPU spec with a device class becomes a ResourceClaimTemplate
// (the class, count, selectors and the memory minimum as a CEL selector on
// the device's capacity) that the serving pod claims, and no extended
// resource or GPU Feature Discovery node affinity.
func TestDRAServing(t *testing.T) {
	q := resource.MustParse("40Gi")
	sel := `device.attributes["gpu.nvidia.com"].productName == "NVIDIA H100 80GB HBM3"`
	m := newModel("ns", "credit", func(m *raiv1.ResponsibleModel) {
		m.Spec.Serving.GPU = &raiv1.GPUSpec{Count: ptr.To(int32(2)), DeviceClassName: "gpu.nvidia.com", Selectors: []string{sel}, MinMemory: &q}
	})
	tmpl := buildGPUClaimTemplate(m, m.Spec.Serving.GPU)
	req := tmpl.Spec.Spec.Devices.Requests
	if len(req) != 1 || req[0].Exactly == nil {
		t.Fatalf("claim requests %+v, want one exact request", req)
	}
	ex := req[0].Exactly
	if ex.DeviceClassName != "gpu.nvidia.com" || ex.Count != 2 || ex.AllocationMode != resourcev1.DeviceAllocationModeExactCount {
		t.Errorf("request %+v: want 2 devices of class gpu.nvidia.com", ex)
	}
	var exprs []string
	for _, s := range ex.Selectors {
		exprs = append(exprs, s.CEL.Expression)
	}
	wantMem := `device.capacity["gpu.nvidia.com"].memory.compareTo(quantity("40Gi")) >= 0`
	if len(exprs) != 2 || exprs[0] != sel || exprs[1] != wantMem {
		t.Errorf("selectors %q, want %q and %q", exprs, sel, wantMem)
	}

	d := buildServingDeployment(m, servedModel{Version: "v1", URI: "file:///m.onnx", SHA256: sha(1)}, "rai:1")
	pod := d.Spec.Template.Spec
	c := pod.Containers[0]
	if len(pod.ResourceClaims) != 1 || ptr.Deref(pod.ResourceClaims[0].ResourceClaimTemplateName, "") != tmpl.Name {
		t.Errorf("pod claims %+v, want one from template %s", pod.ResourceClaims, tmpl.Name)
	}
	if len(c.Resources.Claims) != 1 || c.Resources.Claims[0].Name != pod.ResourceClaims[0].Name {
		t.Errorf("container claims %+v, want the pod's claim", c.Resources.Claims)
	}
	for name := range c.Resources.Limits {
		if strings.HasPrefix(string(name), "nvidia.com/") {
			t.Errorf("a DRA pod also asks for the extended resource %s", name)
		}
	}
	if pod.Affinity != nil {
		t.Errorf("a DRA pod has node affinity %+v: the claim selects devices", pod.Affinity)
	}
	if !strings.Contains(strings.Join(c.Args, " "), "--device cuda") {
		t.Errorf("a DRA GPU pod does not run on cuda: %q", c.Args)
	}

	// Another selection names another template, so the pods of the
	// version that serves meanwhile keep theirs.
	other := m.DeepCopy()
	other.Spec.Serving.GPU.Count = ptr.To(int32(1))
	if gpuClaimTemplateName(other, other.Spec.Serving.GPU) == tmpl.Name {
		t.Errorf("a claim for 1 GPU has the same template name as one for 2")
	}
	if gpuClaimTemplateName(m.DeepCopy(), m.Spec.Serving.GPU) != tmpl.Name {
		t.Errorf("the template name is not stable")
	}
}

// TestDRAClaimTemplateOnTheAPIServer: the reconciler creates the serving
// pods' ResourceClaimTemplate (the API server accepts the claim and its CEL
// selectors) owned by the model, once; a template of that name that the
// operator did not make is refused, and so is a selector that is not CEL.
func TestDRAClaimTemplateOnTheAPIServer(t *testing.T) {
	needEnvtest(t)
	ctx := context.Background()
	ns := newNamespace(t)
	m := newModel(ns, "credit", func(m *raiv1.ResponsibleModel) {
		m.Spec.Serving.GPU = &raiv1.GPUSpec{Count: ptr.To(int32(1)), DeviceClassName: "gpu.nvidia.com",
			Selectors: []string{`device.attributes["gpu.nvidia.com"].productName == "NVIDIA A100-SXM4-40GB"`}}
	})
	if err := k8s.Create(ctx, m); err != nil {
		t.Fatal(err)
	}
	r := &ResponsibleModelReconciler{Client: k8s, APIReader: k8s, Scheme: testenv.Scheme(), EvaluationJobs: EvaluationJobOptions{Image: "rai:1"}}
	served := servedModel{Version: "v1", URI: string(m.Spec.Model.URI), SHA256: string(m.Spec.Model.SHA256)}
	dep, err := r.applyDeployment(ctx, m, served)
	if err != nil {
		t.Fatalf("apply a DRA serving Deployment: %v", err)
	}
	name := gpuClaimTemplateName(m, m.Spec.Serving.GPU)
	got := &resourcev1.ResourceClaimTemplate{}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, got); err != nil {
		t.Fatalf("the ResourceClaimTemplate was not created: %v", err)
	}
	if !metav1.IsControlledBy(got, m) {
		t.Errorf("template owners %+v: want the model as controller", got.OwnerReferences)
	}
	if claims := dep.Spec.Template.Spec.ResourceClaims; len(claims) != 1 || ptr.Deref(claims[0].ResourceClaimTemplateName, "") != name {
		t.Errorf("the Deployment's pods claim %+v, want template %s", claims, name)
	}
	if _, err := r.applyDeployment(ctx, m, served); err != nil {
		t.Errorf("applying again: %v", err)
	}

	// A template someone else made under the name the operator would use.
	forged := m.DeepCopy()
	forged.Spec.Serving.GPU.Count = ptr.To(int32(2))
	fake := buildGPUClaimTemplate(forged, forged.Spec.Serving.GPU)
	fake.Spec.Spec.Devices.Requests[0].Exactly.Selectors = nil
	if err := k8s.Create(ctx, fake); err != nil {
		t.Fatal(err)
	}
	if _, err := r.applyDeployment(ctx, forged, served); err == nil || !strings.Contains(err.Error(), "was not made by the operator") {
		t.Errorf("a forged ResourceClaimTemplate: want a refusal, got %v", err)
	}

	bad := m.DeepCopy()
	bad.Spec.Serving.GPU.Selectors = []string{`device.attributes[`}
	if _, err := r.applyDeployment(ctx, bad, served); err == nil || !strings.Contains(err.Error(), "ResourceClaimTemplate") {
		t.Errorf("a selector that does not compile: want the API server's refusal, got %v", err)
	}
}
