package controllers

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/responsible-ai/rmodel-operator/internal/testenv"
	"github.com/responsible-ai/rmodel-operator/policies"
)

// The envtest suite shares one API server; each test starts its own manager
// (so a test can restart it) and works in its own namespace.
var (
	restCfg *rest.Config
	k8s     client.Client
	// policyEngine is the real OPA engine with the embedded default policy;
	// it is shared so that compiled policies are cached across tests.
	policyEngine = policies.NewEngine()
)

// The API server starts on the first test that needs it (needEnvtest), so
// the pure tests run on a machine without the Kubernetes binaries:
// `go test ./controllers/ -run 'TestDecideConditions|...'`.
var (
	envOnce sync.Once
	env     *envtest.Environment
	envErr  error
)

func TestMain(m *testing.M) {
	ctrl.SetLogger(zap.New(zap.UseDevMode(true), zap.WriteTo(os.Stderr), zap.Level(zapLevel())))
	code := m.Run()
	if env != nil {
		_ = env.Stop()
	}
	os.Exit(code)
}

// needEnvtest starts the shared API server (once) or fails the test with
// what to run to get its binaries.
func needEnvtest(t *testing.T) {
	t.Helper()
	envOnce.Do(func() {
		env, envErr = testenv.New()
		if envErr != nil {
			return
		}
		if restCfg, envErr = env.Start(); envErr != nil {
			env = nil
			return
		}
		k8s, envErr = client.New(restCfg, client.Options{Scheme: testenv.Scheme()})
	})
	if envErr != nil {
		t.Fatalf("this test needs a kube-apiserver: %v", envErr)
	}
}

// startManager runs a manager with the reconciler until the test ends (or
// the returned stop function is called).
func startManager(t *testing.T, configure func(r *ResponsibleModelReconciler)) (stop func()) {
	t.Helper()
	needEnvtest(t)
	return startManagerWith(t, restCfg, configure)
}

// startManagerWith runs the manager with cfg: as another identity, say.
func startManagerWith(t *testing.T, cfg *rest.Config, configure func(r *ResponsibleModelReconciler)) (stop func()) {
	t.Helper()
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 testenv.Scheme(),
		Cache:                  CacheOptions(),
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	if err != nil {
		t.Fatal(err)
	}
	r := &ResponsibleModelReconciler{
		Client:              mgr.GetClient(),
		APIReader:           mgr.GetAPIReader(),
		Scheme:              mgr.GetScheme(),
		Recorder:            mgr.GetEventRecorder("rmodel-operator"),
		Engine:              policyEngine,
		RolloutPollInterval: 300 * time.Millisecond,
	}
	if configure != nil {
		configure(r)
	}
	if err := r.SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	if err := (&PrivacyBudgetReconciler{Client: mgr.GetClient()}).SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	if err := (&PromotionPolicyReconciler{Client: mgr.GetClient()}).SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			t.Errorf("manager: %v", err)
		}
	}()
	var once bool
	stop = func() {
		if once {
			return
		}
		once = true
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Errorf("manager did not stop within 30s")
		}
	}
	t.Cleanup(stop)
	return stop
}

func zapLevel() zapcoreLevel {
	if os.Getenv("TEST_VERBOSE") != "" {
		return -1
	}
	return 2 // errors only
}
