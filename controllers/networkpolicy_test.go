package controllers

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/responsible-ai/rmodel-operator/internal/testenv"
)

// readConfigObjects decodes every document of a file under config/ into a
// fresh T, keeping those of kind.
func readConfigObjects[T any](t *testing.T, rel, kind string) []*T {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "config", rel))
	if err != nil {
		t.Fatal(err)
	}
	var out []*T
	for _, doc := range regexp.MustCompile(`(?m)^---[ \t]*$`).Split(string(data), -1) {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			t.Fatalf("config/%s: %v", rel, err)
		}
		if tm.Kind != kind {
			continue
		}
		o := new(T)
		if err := yaml.UnmarshalStrict([]byte(doc), o); err != nil {
			t.Fatalf("config/%s: %v", rel, err)
		}
		out = append(out, o)
	}
	if len(out) == 0 {
		t.Fatalf("config/%s holds no %s", rel, kind)
	}
	return out
}

func selectorMatches(t *testing.T, sel *metav1.LabelSelector, podLabels map[string]string) bool {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatal(err)
	}
	return s.Matches(labels.Set(podLabels))
}

// TestNetworkPoliciesSelectTheOperatorsPods: config/network-policy (which
// the Helm chart renders too, checked in charts/test) selects the pods the
// operator builds: its serving policy the serving pods, letting in the
// serving port by the container port's name and the manager's pods as
// config/manager labels them; its evaluation policy every evaluation and
// merge Job's pods. Neither selects the other's pods.
func TestNetworkPoliciesSelectTheOperatorsPods(t *testing.T) {
	serving := readConfigObjects[networkingv1.NetworkPolicy](t, "network-policy/serving_ingress.yaml", "NetworkPolicy")[0]
	evaluation := readConfigObjects[networkingv1.NetworkPolicy](t, "network-policy/evaluation_egress.yaml", "NetworkPolicy")[0]

	obj := fullyPopulated()
	d := buildServingDeployment(obj, servedModel{Version: "v2", URI: "https://m/v2.onnx", SHA256: sha(2)}, "rai:1")
	servingPod := d.Spec.Template
	var evaluationPods []corev1.PodTemplateSpec
	opts := EvaluationJobOptions{Image: "rai:1"}
	for _, kind := range requestedKinds(&obj.Spec) {
		evaluationPods = append(evaluationPods, buildEvaluationJob(obj, kind, opts).Spec.Template,
			buildMergeJob(obj, kind, opts, []string{sha(7), sha(8)}).Spec.Template)
	}

	if !selectorMatches(t, &serving.Spec.PodSelector, servingPod.Labels) {
		t.Errorf("the serving policy's selector %v misses the serving pods %v", serving.Spec.PodSelector, servingPod.Labels)
	}
	if selectorMatches(t, &evaluation.Spec.PodSelector, servingPod.Labels) {
		t.Errorf("the evaluation policy selects the serving pods %v", servingPod.Labels)
	}
	for _, p := range evaluationPods {
		if !selectorMatches(t, &evaluation.Spec.PodSelector, p.Labels) {
			t.Errorf("the evaluation policy's selector %v misses the evaluation pods %v", evaluation.Spec.PodSelector, p.Labels)
		}
		if selectorMatches(t, &serving.Spec.PodSelector, p.Labels) {
			t.Errorf("the serving policy selects the evaluation pods %v", p.Labels)
		}
	}

	// Every ingress rule admits only the serving container's ports, by
	// name: clients both protocols (REST http, gRPC grpc), the manager
	// REST (audit heads, monitoring windows).
	servingPorts := servingPod.Spec.Containers[0].Ports
	var names []string
	for _, p := range servingPorts {
		names = append(names, p.Name)
	}
	if !slices.Equal(names, []string{"http", "grpc"}) {
		t.Fatalf("the serving container has ports %v, want http and grpc", servingPorts)
	}
	want := [][]string{{"http", "grpc"}, {"http"}}
	if len(serving.Spec.Ingress) != len(want) {
		t.Fatalf("%d ingress rules, want %d", len(serving.Spec.Ingress), len(want))
	}
	for i, rule := range serving.Spec.Ingress {
		var got []string
		for _, p := range rule.Ports {
			if p.Port != nil {
				got = append(got, p.Port.String())
			}
		}
		if !slices.Equal(got, want[i]) {
			t.Errorf("ingress rule %d admits %v, want the serving ports %v", i, got, want[i])
		}
	}

	// The manager's pods, as config/manager labels them, are let in from
	// config/default's namespace.
	manager := readConfigObjects[appsv1.Deployment](t, "manager/manager.yaml", "Deployment")[0]
	admitted := false
	for _, rule := range serving.Spec.Ingress {
		for _, peer := range rule.From {
			if peer.PodSelector != nil && peer.NamespaceSelector != nil &&
				selectorMatches(t, peer.PodSelector, manager.Spec.Template.Labels) &&
				selectorMatches(t, peer.NamespaceSelector, map[string]string{corev1.LabelMetadataName: "rmodel-system"}) {
				admitted = true
			}
		}
	}
	if !admitted {
		t.Errorf("the serving policy does not let in the manager's pods %v from rmodel-system (it reads their audit heads)", manager.Spec.Template.Labels)
	}
}
