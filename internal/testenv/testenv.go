// Package testenv starts a real kube-apiserver and etcd (controller-runtime's
// envtest) with the project's CRDs installed. The binaries are built from the
// Go module proxy by `make kube-binaries` into bin/k8s, because
// setup-envtest cannot download them here.
package testenv

import (
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
)

// RepoRoot returns the repository root, found by walking up from the working
// directory to the directory holding go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "PROJECT")); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("repository root (with go.mod and PROJECT) not found above the working directory")
		}
		dir = parent
	}
}

// Scheme returns a scheme with the Kubernetes and rai types.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := raiv1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}

// New returns an envtest environment with the CRDs from config/crd/bases,
// using the binaries in $KUBEBUILDER_ASSETS or else bin/k8s. It fails with
// what to run when the binaries are missing.
func New() (*envtest.Environment, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join(root, "bin", "k8s")
	}
	for _, b := range []string{"etcd", "kube-apiserver"} {
		if _, err := os.Stat(filepath.Join(assets, b)); err != nil {
			return nil, fmt.Errorf("envtest needs %s in %s: run `make kube-binaries` (builds it from the Go module proxy) or set KUBEBUILDER_ASSETS", b, assets)
		}
	}
	return &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{filepath.Join(root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		Scheme:                Scheme(),
	}, nil
}
