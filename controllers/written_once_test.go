package controllers

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
)

// TestServingObjectsAreWrittenOnce: what the builders make for the serving
// Deployment and Service still reads as unchanged once the API server has
// stored and defaulted it, so that a reconcile writes them only when the
// model changes. (A zero integer the API server defaults, such as a
// probe's successThreshold, made every reconcile of a served model update
// its Deployment: 0.38 PUTs per model in make bench-controller.)
func TestServingObjectsAreWrittenOnce(t *testing.T) {
	needEnvtest(t)
	ctx := context.Background()
	ns := newNamespace(t)
	q := resource.MustParse("40Gi")
	cases := map[string]struct {
		model  *raiv1.ResponsibleModel
		served servedModel
	}{
		"cpu": {newModel(ns, "cpu"), servedModel{Version: "v1", URI: "https://m/v1.onnx", SHA256: sha(1)}},
		"device plugin GPU": {newModel(ns, "gpu", withGPU(1, "NVIDIA-H200", "80Gi")),
			servedModel{Version: "v1", URI: "https://m/v1.onnx", SHA256: sha(1)}},
		"MIG": {newModel(ns, "mig", func(m *raiv1.ResponsibleModel) { m.Spec.Serving.GPU = &raiv1.GPUSpec{MIGProfile: "1g.10gb"} }),
			servedModel{Version: "v1", URI: "https://m/v1.onnx", SHA256: sha(1)}},
		"DRA": {newModel(ns, "dra", func(m *raiv1.ResponsibleModel) {
			m.Spec.Serving.GPU = &raiv1.GPUSpec{Count: ptr.To(int32(1)), DeviceClassName: "gpu.nvidia.com", MinMemory: &q}
		}), servedModel{Version: "v1", URI: "https://m/v1.onnx", SHA256: sha(1)}},
		"text": {func() *raiv1.ResponsibleModel { m := fullyPopulatedText(); m.Namespace = ns; return m }(),
			servedModel{Version: "v1", URI: "https://m/v1.onnx", SHA256: sha(1), Text: fullyPopulatedText().Spec.Model.TextModel()}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			want := buildServingDeployment(tc.model, tc.served, "rai:1")
			if err := k8s.Create(ctx, want.DeepCopy()); err != nil {
				t.Fatal(err)
			}
			got := &appsv1.Deployment{}
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(want), got); err != nil {
				t.Fatal(err)
			}
			if !equality.Semantic.DeepDerivative(want.Spec, got.Spec) {
				t.Errorf("the stored Deployment reads as changed, so every reconcile would write it (- built, + stored):\n%s", cmp.Diff(want.Spec, got.Spec))
			}

			svc := buildService(tc.model)
			if err := k8s.Create(ctx, svc.DeepCopy()); err != nil {
				t.Fatal(err)
			}
			gotSvc := &corev1.Service{}
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(svc), gotSvc); err != nil {
				t.Fatal(err)
			}
			if !equality.Semantic.DeepDerivative(svc.Spec, gotSvc.Spec) {
				t.Errorf("the stored Service reads as changed (- built, + stored):\n%s", cmp.Diff(svc.Spec, gotSvc.Spec))
			}
		})
	}
}
