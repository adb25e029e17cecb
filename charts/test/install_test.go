package charttest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/kube"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// TestChartInstallsOnAnAPIServer is `helm install --create-namespace` and
// `helm uninstall`, with the Helm SDK, on a real kube-apiserver (envtest,
// the binaries `make kube-binaries` builds): the API server accepts every
// object the chart renders (the NetworkPolicies too), and uninstalling
// keeps the CRDs.
func TestChartInstallsOnAnAPIServer(t *testing.T) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join("..", "..", "bin", "k8s")
	}
	for _, b := range []string{"etcd", "kube-apiserver"} {
		if _, err := os.Stat(filepath.Join(assets, b)); err != nil {
			t.Fatalf("the install test needs %s in %s: run `make kube-binaries` or set KUBEBUILDER_ASSETS", b, assets)
		}
	}
	env := &envtest.Environment{BinaryAssetsDirectory: assets}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Stop() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client := kubernetes.NewForConfigOrDie(cfg)
	for _, ns := range []string{"team-a", "team-b"} {
		if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	// Helm as a user with a kubeconfig.
	user, err := env.AddUser(envtest.User{Name: "platform-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	ns := releaseNamespace
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig, flags.Namespace = &path, &ns
	var helm action.Configuration
	if err := helm.Init(flags, releaseNamespace, "secret"); err != nil {
		t.Fatal(err)
	}

	vals := map[string]any{
		"networkPolicy": everythingOn()["networkPolicy"],
		"metrics":       map[string]any{"reader": map[string]any{"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": "prometheus", "namespace": "monitoring"}}}},
	}
	install := action.NewInstall(&helm)
	install.ReleaseName, install.Namespace, install.CreateNamespace = releaseName, releaseNamespace, true
	install.WaitStrategy = kube.HookOnlyStrategy
	if _, err := install.RunWithContext(ctx, loadChart(t), vals); err != nil {
		t.Fatalf("helm install: %v", err)
	}

	// Everything rendered is there.
	dyn := dynamic.NewForConfigOrDie(cfg)
	mapper, err := flags.ToRESTMapper()
	if err != nil {
		t.Fatal(err)
	}
	rendered := mustRender(t, vals)
	resource := func(o object) dynamic.ResourceInterface {
		t.Helper()
		u := unstructured.Unstructured{Object: o}
		gvk := u.GroupVersionKind()
		m, err := mapper.RESTMapping(schema.GroupKind{Group: gvk.Group, Kind: gvk.Kind}, gvk.Version)
		if err != nil {
			t.Fatalf("%s: %v", key(o), err)
		}
		if ns := u.GetNamespace(); ns != "" {
			return dyn.Resource(m.Resource).Namespace(ns)
		}
		return dyn.Resource(m.Resource)
	}
	for _, o := range rendered {
		u := unstructured.Unstructured{Object: o}
		if _, err := resource(o).Get(ctx, u.GetName(), metav1.GetOptions{}); err != nil {
			t.Errorf("after helm install, %s: %v", key(o), err)
		}
	}
	if len(rendered) < 30 {
		t.Errorf("only %d objects rendered", len(rendered))
	}

	uninstall := action.NewUninstall(&helm)
	uninstall.WaitStrategy = kube.HookOnlyStrategy
	if _, err := uninstall.Run(releaseName); err != nil {
		t.Fatalf("helm uninstall: %v", err)
	}
	crds := 0
	for _, o := range rendered {
		u := unstructured.Unstructured{Object: o}
		_, err := resource(o).Get(ctx, u.GetName(), metav1.GetOptions{})
		switch {
		case u.GetKind() == "CustomResourceDefinition":
			crds++
			if err != nil {
				t.Errorf("after helm uninstall, %s: %v (the CRDs are kept)", key(o), err)
			}
		case err == nil:
			// Deletion is asynchronous for some kinds; it was asked for.
		case !apierrors.IsNotFound(err):
			t.Errorf("after helm uninstall, %s: %v", key(o), err)
		}
	}
	if crds == 0 {
		t.Error("no CRDs rendered")
	}
}
