// Command manager runs the responsible model operator. It is pure Go (no
// cgo): inference and evaluation run in the rai runtime's pods.
package main

import (
	"flag"
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/controllers"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	var (
		metricsAddr   string
		probeAddr     string
		leaderElect   bool
		leaderElectNS string
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8080", "Address of the Prometheus metrics endpoint; 0 turns it off.")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address of the /healthz and /readyz endpoints.")
	flag.BoolVar(&leaderElect, "leader-elect", true, "Elect a leader so that only one replica reconciles at a time.")
	flag.StringVar(&leaderElectNS, "leader-election-namespace", "", "Namespace of the leader election Lease (default: the pod's namespace).")
	opts := zap.Options{}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	setupLog := ctrl.Log.WithName("setup")

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		fail(setupLog.Error, err, "register Kubernetes types")
	}
	if err := raiv1.AddToScheme(scheme); err != nil {
		fail(setupLog.Error, err, "register rai types")
	}

	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsserver.Options{BindAddress: metricsAddr},
		HealthProbeBindAddress:  probeAddr,
		LeaderElection:          leaderElect,
		LeaderElectionID:        "rmodel-operator.rai.responsible-ai.dev",
		LeaderElectionNamespace: leaderElectNS,
	})
	if err != nil {
		fail(setupLog.Error, err, "create manager")
	}

	if err := (&controllers.ResponsibleModelReconciler{
		Client:   mgr.GetClient(),
		Scheme:   mgr.GetScheme(),
		Recorder: mgr.GetEventRecorder("rmodel-operator"),
	}).SetupWithManager(mgr); err != nil {
		fail(setupLog.Error, err, "set up the ResponsibleModel controller")
	}

	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		fail(setupLog.Error, err, "add health check")
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		fail(setupLog.Error, err, "add ready check")
	}

	setupLog.Info("starting manager", "version", version)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		fail(setupLog.Error, err, "run manager")
	}
}

func fail(logError func(error, string, ...any), err error, what string) {
	logError(err, what)
	fmt.Fprintf(os.Stderr, "manager: %s: %v\n", what, err)
	os.Exit(1)
}
