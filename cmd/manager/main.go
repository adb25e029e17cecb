// Command manager runs the responsible model operator. It is pure Go (no
// cgo): inference and evaluation run in the rai runtime's pods.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/controllers"
	"github.com/responsible-ai/rmodel-operator/policies"
)

// stringList is a repeatable flag whose values may also be comma lists.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }

func (s *stringList) Set(v string) error {
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*s = append(*s, part)
		}
	}
	return nil
}

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	var (
		metricsAddr   string
		metricsSecure bool
		metricsCerts  string
		enableHTTP2   bool
		probeAddr     string
		leaderElect   bool
		leaderElectNS string
		runtimeImage  string
		clusterPolicy string
		evalSelector  string
		evalTolerate  stringList
		rolloutPoll   time.Duration
		decisionLog   string
		auditAnchor   time.Duration
		retention     time.Duration
		artifactCache string
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8443", "Address of the Prometheus metrics endpoint; 0 turns it off.")
	flag.BoolVar(&metricsSecure, "metrics-secure", true, "Serve metrics over HTTPS to callers the API server authenticates (TokenReview) and authorizes for GET /metrics (SubjectAccessReview); false serves plain HTTP to anyone.")
	flag.StringVar(&metricsCerts, "metrics-cert-dir", "", "Directory with tls.crt and tls.key for the HTTPS metrics endpoint, reloaded when they change (default: a self-signed certificate made at start).")
	flag.BoolVar(&enableHTTP2, "enable-http2", false, "Offer HTTP/2 on the HTTPS metrics endpoint (off: HTTP/1.1 only, against HTTP/2 stream-reset floods).")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address of the /healthz and /readyz endpoints.")
	flag.BoolVar(&leaderElect, "leader-elect", true, "Elect a leader so that only one replica reconciles at a time.")
	flag.StringVar(&leaderElectNS, "leader-election-namespace", "", "Namespace of the leader election Lease (default: the pod's namespace).")
	flag.DurationVar(&retention, "decision-record-retention", 4380*time.Hour, "how long DecisionRecords are kept (0: for ever); the newest of each model always stays. The default, six months, is the EU AI Act's minimum for logs.")
	flag.DurationVar(&auditAnchor, "audit-anchor-interval", 5*time.Minute, "how often the serving pods' inference audit heads are read into status.serving.auditHeads.")
	flag.StringVar(&decisionLog, "decision-log", "stdout", "where OPA-compatible decision-log events go: stdout, none, a file path to append to, or an http(s):// URL of a collector (POSTed as OPA's decision-log plugin does).")
	flag.StringVar(&runtimeImage, "runtime-image", controllers.DefaultRuntimeImage, "Image of the rai runtime that runs evaluation Jobs (rai evaluate) and serving pods (rai serve).")
	flag.StringVar(&clusterPolicy, "cluster-policy-configmap", "", "NAMESPACE/NAME of a ConfigMap with Rego modules and data that extend the default policy for every model (optional; when set and missing, nothing is promoted).")
	flag.StringVar(&evalSelector, "evaluation-node-selector", "", "key=value[,key=value] added to the node selector of evaluation pods.")
	flag.Var(&evalTolerate, "evaluation-toleration", "key[=value]:Effect toleration added to evaluation pods; repeatable or a comma-separated list.")
	flag.StringVar(&artifactCache, "artifact-cache-host-path", "", "Node directory where serving and evaluation pods cache downloaded artifacts by digest, one directory per namespace (empty: no cache). It must be writable by UID 65532, and a hostPath volume needs the privileged Pod Security level in the models' namespaces.")
	flag.DurationVar(&rolloutPoll, "rollout-poll-interval", 10*time.Second, "How often a rollout's pods are checked for scheduling failures.")
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

	jobOpts := controllers.EvaluationJobOptions{Image: runtimeImage, ArtifactCacheHostPath: artifactCache}
	var err error
	if jobOpts.NodeSelector, err = controllers.ParseNodeSelector(evalSelector); err != nil {
		fail(setupLog.Error, err, "parse --evaluation-node-selector")
	}
	if jobOpts.Tolerations, err = controllers.ParseTolerations(evalTolerate); err != nil {
		fail(setupLog.Error, err, "parse --evaluation-toleration")
	}
	var policyRef *types.NamespacedName
	if clusterPolicy != "" {
		ns, name, ok := strings.Cut(clusterPolicy, "/")
		if !ok || ns == "" || name == "" {
			fail(setupLog.Error, fmt.Errorf("%q is not NAMESPACE/NAME", clusterPolicy), "parse --cluster-policy-configmap")
		}
		policyRef = &types.NamespacedName{Namespace: ns, Name: name}
	}

	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                  scheme,
		Cache:                   controllers.CacheOptions(),
		Metrics:                 metricsOptions(metricsAddr, metricsSecure, metricsCerts, enableHTTP2),
		HealthProbeBindAddress:  probeAddr,
		LeaderElection:          leaderElect,
		LeaderElectionID:        "rmodel-operator.rai.responsible-ai.dev",
		LeaderElectionNamespace: leaderElectNS,
	})
	if err != nil {
		fail(setupLog.Error, err, "create manager")
	}

	ctx := ctrl.SetupSignalHandler()
	var dlog controllers.DecisionLog
	switch {
	case decisionLog == "none" || decisionLog == "":
	case decisionLog == "stdout":
		dlog = &controllers.WriterDecisionLog{W: os.Stdout}
	case strings.HasPrefix(decisionLog, "http://") || strings.HasPrefix(decisionLog, "https://"):
		dlog = controllers.NewHTTPDecisionLog(ctx, decisionLog)
	default:
		f, err := os.OpenFile(decisionLog, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			fail(setupLog.Error, err, "open the decision log "+decisionLog)
		}
		dlog = &controllers.WriterDecisionLog{W: f}
	}
	clientset, err := kubernetes.NewForConfig(mgr.GetConfig())
	if err != nil {
		fail(setupLog.Error, err, "make a client for pod logs")
	}
	if err := (&controllers.ResponsibleModelReconciler{
		PodLogs:             controllers.ClientsetPodLogs{Clientset: clientset},
		DecisionLog:         dlog,
		AuditAnchorInterval: auditAnchor,
		DecisionRetention:   retention,
		Client:              mgr.GetClient(),
		APIReader:           mgr.GetAPIReader(),
		Scheme:              mgr.GetScheme(),
		Recorder:            mgr.GetEventRecorder("rmodel-operator"),
		Engine:              policies.NewEngine(),
		ClusterPolicy:       policyRef,
		EvaluationJobs:      jobOpts,
		RolloutPollInterval: rolloutPoll,
	}).SetupWithManager(mgr); err != nil {
		fail(setupLog.Error, err, "set up the ResponsibleModel controller")
	}
	if err := (&controllers.PrivacyBudgetReconciler{Client: mgr.GetClient()}).SetupWithManager(mgr); err != nil {
		fail(setupLog.Error, err, "set up the PrivacyBudget controller")
	}
	if err := (&controllers.PromotionPolicyReconciler{Client: mgr.GetClient()}).SetupWithManager(mgr); err != nil {
		fail(setupLog.Error, err, "set up the PromotionPolicy controller")
	}

	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		fail(setupLog.Error, err, "add health check")
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		fail(setupLog.Error, err, "add ready check")
	}

	setupLog.Info("starting manager", "version", version)
	if err := mgr.Start(ctx); err != nil {
		fail(setupLog.Error, err, "run manager")
	}
}

// metricsOptions configures the metrics endpoint. Secure, it is HTTPS and
// answers only callers that the API server authenticates and authorizes for
// GET /metrics (bind them to the metrics-reader ClusterRole); the manager
// needs to create TokenReviews and SubjectAccessReviews for that
// (controllers/rbac_metrics.go).
//
// controller-runtime builds the metrics and probe servers with a 32s header
// timeout, a 90s idle timeout and a 1 MiB header limit, and offers no option
// to change them; neither reads request bodies.
func metricsOptions(addr string, secure bool, certDir string, http2 bool) metricsserver.Options {
	o := metricsserver.Options{BindAddress: addr, SecureServing: secure}
	if !secure {
		return o
	}
	o.FilterProvider = filters.WithAuthenticationAndAuthorization
	o.CertDir = certDir
	if !http2 {
		o.TLSOpts = append(o.TLSOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	return o
}

func fail(logError func(error, string, ...any), err error, what string) {
	logError(err, what)
	fmt.Fprintf(os.Stderr, "manager: %s: %v\n", what, err)
	os.Exit(1)
}
