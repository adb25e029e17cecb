package controllers

import (
	"context"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
)

// Dynamic Resource Allocation: a serving pod whose spec.serving.gpu names a
// deviceClassName claims its GPUs from a ResourceClaimTemplate the operator
// creates, instead of asking for the device plugin's nvidia.com/gpu.

const (
	// gpuClaimName is the pod's and the container's name of the GPU claim.
	gpuClaimName = "gpu"
	// draGPUAttributeDomain qualifies the NVIDIA DRA driver's device
	// attributes and capacities.
	draGPUAttributeDomain = "gpu.nvidia.com"
)

// usesDRA reports whether g asks for GPUs through DRA.
func usesDRA(g *raiv1.GPUSpec) bool { return g != nil && g.DeviceClassName != "" }

// gpuClaimSpec is the claim every serving pod makes: count devices of the
// class that satisfy the spec's selectors and memory minimum.
func gpuClaimSpec(g *raiv1.GPUSpec) resourcev1.ResourceClaimSpec {
	var selectors []resourcev1.DeviceSelector
	for _, s := range g.Selectors {
		selectors = append(selectors, resourcev1.DeviceSelector{CEL: &resourcev1.CELDeviceSelector{Expression: s}})
	}
	if g.MinMemory != nil && !g.MinMemory.IsZero() {
		selectors = append(selectors, resourcev1.DeviceSelector{CEL: &resourcev1.CELDeviceSelector{Expression: fmt.Sprintf(
			`device.capacity[%q].memory.compareTo(quantity(%q)) >= 0`, draGPUAttributeDomain, g.MinMemory.String())}})
	}
	return resourcev1.ResourceClaimSpec{Devices: resourcev1.DeviceClaim{Requests: []resourcev1.DeviceRequest{{
		Name: gpuClaimName,
		Exactly: &resourcev1.ExactDeviceRequest{
			DeviceClassName: g.DeviceClassName,
			Selectors:       selectors,
			AllocationMode:  resourcev1.DeviceAllocationModeExactCount,
			Count:           int64(ptr.Deref(g.Count, 1)),
		},
	}}}}
}

// gpuClaimTemplateName names the template by its content: a version that
// asks for other devices gets another template, and the pods of the version
// that serves meanwhile keep claiming theirs.
func gpuClaimTemplateName(obj *raiv1.ResponsibleModel, g *raiv1.GPUSpec) string {
	spec := gpuClaimSpec(g)
	key := g.DeviceClassName + "\x00" + strconv.FormatInt(spec.Devices.Requests[0].Exactly.Count, 10)
	for _, s := range spec.Devices.Requests[0].Exactly.Selectors {
		key += "\x00" + s.CEL.Expression
	}
	return boundedName(obj.Name, "gpu", shortHash(key))
}

// addGPU gives a pod and its container the GPUs g asks for: through DRA, a
// claim from the template (no extended resource, no node labels: the
// scheduler allocates devices); else the device plugin's extended resource
// (nvidia.com/gpu or a MIG slice) and node affinity on the GPU Feature
// Discovery labels. Either way the GPU taint is tolerated.
func addGPU(pod *corev1.PodSpec, c *corev1.Container, obj *raiv1.ResponsibleModel, g *raiv1.GPUSpec) {
	if g == nil {
		return
	}
	pod.Tolerations = append(pod.Tolerations, corev1.Toleration{Key: string(gpuResource), Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule})
	if usesDRA(g) {
		addGPUClaim(pod, c, gpuClaimTemplateName(obj, g))
		return
	}
	name, count := gpuResource, int64(ptr.Deref(g.Count, 1))
	if g.MIGProfile != "" {
		name, count = corev1.ResourceName("nvidia.com/mig-"+g.MIGProfile), 1
	}
	if c.Resources.Limits == nil {
		c.Resources.Limits = corev1.ResourceList{}
	}
	c.Resources.Limits[name] = *resource.NewQuantity(count, resource.DecimalSI)
	pod.Affinity = gpuAffinity(g)
}

// addGPUClaim makes the pod claim its GPUs from the template and the serve
// container use them.
func addGPUClaim(pod *corev1.PodSpec, container *corev1.Container, templateName string) {
	pod.ResourceClaims = append(pod.ResourceClaims, corev1.PodResourceClaim{Name: gpuClaimName, ResourceClaimTemplateName: ptr.To(templateName)})
	container.Resources.Claims = append(container.Resources.Claims, corev1.ResourceClaim{Name: gpuClaimName})
}

// buildGPUClaimTemplate returns the ResourceClaimTemplate the serving pods
// of obj claim from. It sets no owner reference.
func buildGPUClaimTemplate(obj *raiv1.ResponsibleModel, g *raiv1.GPUSpec) *resourcev1.ResourceClaimTemplate {
	labels := servingSelector(obj)
	labels[raiv1.LabelManagedBy] = managerName
	return &resourcev1.ResourceClaimTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: gpuClaimTemplateName(obj, g), Namespace: obj.Namespace, Labels: labels},
		Spec:       resourcev1.ResourceClaimTemplateSpec{Spec: gpuClaimSpec(g)},
	}
}

// ensureGPUClaimTemplate creates the template a serving pod template names,
// when its GPUs come through DRA. Its name is its content, so one that
// exists is left as it is, unless another object made it: a template that
// the model does not control, or whose claim differs, is refused.
func (r *ResponsibleModelReconciler) ensureGPUClaimTemplate(ctx context.Context, obj *raiv1.ResponsibleModel, g *raiv1.GPUSpec) error {
	if !usesDRA(g) {
		return nil
	}
	want := buildGPUClaimTemplate(obj, g)
	if err := controllerutil.SetControllerReference(obj, want, r.Scheme); err != nil {
		return fmt.Errorf("own ResourceClaimTemplate: %w", err)
	}
	err := r.Create(ctx, want)
	if err == nil || !apierrors.IsAlreadyExists(err) {
		if err != nil {
			return specRefused(err, "create ResourceClaimTemplate %q", want.Name)
		}
		return nil
	}
	got := &resourcev1.ResourceClaimTemplate{}
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(want), got); err != nil {
		return fmt.Errorf("get ResourceClaimTemplate %q: %w", want.Name, err)
	}
	if !metav1.IsControlledBy(got, obj) || !equality.Semantic.DeepDerivative(want.Spec, got.Spec) {
		return fmt.Errorf("ResourceClaimTemplate %s/%s exists but was not made by the operator for %s: delete it, the operator creates the serving pods' GPU claim", got.Namespace, got.Name, obj.Name)
	}
	return nil
}
