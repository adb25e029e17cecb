// Command bench measures the ResponsibleModel reconciler on envtest: it
// creates N models, plays the Job controller (each evaluation pod ends with
// a valid report in its termination message), and waits until every model
// has a policy decision. It prints the time to decide them all, reconciles
// per model, API requests per model (the manager's only, counted by a
// RoundTripper on its rest.Config) and the process's peak memory.
//
// Run it with `make bench-controller` (MODELS=500 by default).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap/zapcore"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/controllers"
	"github.com/responsible-ai/rmodel-operator/internal/report"
	"github.com/responsible-ai/rmodel-operator/internal/testenv"
	"github.com/responsible-ai/rmodel-operator/policies"
)

// countingTransport counts the requests of the manager's clients, in all
// and by verb and resource.
type countingTransport struct {
	next  http.RoundTripper
	count *atomic.Int64
	by    *sync.Map // "VERB resource[/subresource]" -> *atomic.Int64
}

func (c countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c.count.Add(1)
	key := req.Method + " " + resourceOf(req.URL.Path)
	if req.URL.Query().Get("watch") == "true" {
		key = "WATCH " + resourceOf(req.URL.Path)
	}
	v, _ := c.by.LoadOrStore(key, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
	return c.next.RoundTrip(req)
}

// resourceOf reduces an API path to its resource (and subresource):
// /apis/G/V/namespaces/NS/R/NAME/SUB -> R/SUB.
func resourceOf(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) > 0 && parts[0] == "apis" && len(parts) > 3 {
		parts = parts[3:]
	} else if len(parts) > 2 && parts[0] == "api" {
		parts = parts[2:]
	}
	if len(parts) > 2 && parts[0] == "namespaces" {
		parts = parts[2:]
	}
	switch len(parts) {
	case 0:
		return path
	case 3:
		return parts[0] + "/" + parts[2]
	}
	return parts[0]
}

func main() {
	models := flag.Int("models", 500, "ResponsibleModels to create")
	timeout := flag.Duration("timeout", 15*time.Minute, "give up after this long")
	workers := flag.Int("workers", 8, "concurrent reconciles of the manager")
	verbose := flag.Bool("v", false, "log the manager's errors (reconciles cut short at the end log some)")
	flag.Parse()
	level := zapcore.DPanicLevel
	if *verbose {
		level = zapcore.ErrorLevel
	}
	ctrl.SetLogger(zap.New(zap.Level(level)))
	if err := run(*models, *workers, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "bench-controller:", err)
		os.Exit(1)
	}
}

func run(n, workers int, timeout time.Duration) error {
	env, err := testenv.New()
	if err != nil {
		return err
	}
	// Every model gets a serving Service: envtest's default range (a /24)
	// runs out of ClusterIPs at 254 models, and the Creates past it fail.
	env.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", "10.96.0.0/16")
	cfg, err := env.Start()
	if err != nil {
		return fmt.Errorf("start envtest: %w", err)
	}
	defer func() { _ = env.Stop() }()
	cfg.QPS, cfg.Burst = 1000, 2000

	var requests atomic.Int64
	var byKind sync.Map
	mgrCfg := rest.CopyConfig(cfg)
	mgrCfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return countingTransport{next: rt, count: &requests, by: &byKind}
	}
	mgr, err := ctrl.NewManager(mgrCfg, ctrl.Options{Scheme: testenv.Scheme(), Cache: controllers.CacheOptions(), Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0"})
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}
	r := &controllers.ResponsibleModelReconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Scheme: mgr.GetScheme(),
		Recorder: mgr.GetEventRecorder("rmodel-operator"), Engine: policies.NewEngine(),
		MaxConcurrentReconciles: workers,
	}
	if err := r.SetupWithManager(mgr); err != nil {
		return err
	}
	driver, err := client.New(cfg, client.Options{Scheme: testenv.Scheme()})
	if err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var peakHeap atomic.Uint64
	go samplePeakHeap(ctx, &peakHeap)
	mgrDone := make(chan error, 1)
	go func() { mgrDone <- mgr.Start(ctx) }()

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bench"}}
	if err := driver.Create(ctx, ns); err != nil {
		return err
	}
	start := time.Now()
	if err := createModels(ctx, driver, n); err != nil {
		return err
	}
	created := time.Since(start)
	decided, err := driveUntilDecided(ctx, driver, n)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	reqs := requests.Load()
	reconciles := reconcileCount()
	cancel()
	<-mgrDone

	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	fmt.Printf("models                       %d (one fairness evaluation each, real OPA default policy)\n", n)
	fmt.Printf("created in                   %s\n", created.Round(time.Millisecond))
	fmt.Printf("all decided after            %s (%d allowed)\n", elapsed.Round(time.Millisecond), decided)
	fmt.Printf("reconciles per model         %.1f\n", float64(reconciles)/float64(n))
	fmt.Printf("API requests per model       %.2f (manager only, watches included)\n", float64(reqs)/float64(n))
	fmt.Printf("peak Go heap in use          %.0f MiB (manager and driver in one process)\n", float64(peakHeap.Load())/(1<<20))
	fmt.Printf("peak RSS (getrusage)         %.0f MiB (manager and driver in one process)\n", float64(ru.Maxrss)/1024)
	var keys []string
	byKind.Range(func(k, _ any) bool { keys = append(keys, k.(string)); return true })
	sort.Slice(keys, func(i, j int) bool { return byKindCount(&byKind, keys[i]) > byKindCount(&byKind, keys[j]) })
	fmt.Println("API requests per model, by verb and resource:")
	for _, k := range keys {
		fmt.Printf("  %-40s %.2f\n", k, float64(byKindCount(&byKind, k))/float64(n))
	}
	return nil
}

func createModels(ctx context.Context, c client.Client, n int) error {
	sem := make(chan struct{}, 16)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			m := &raiv1.ResponsibleModel{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("model-%04d", i), Namespace: "bench"},
				Spec: raiv1.ResponsibleModelSpec{
					Version: "v1",
					Model:   raiv1.ModelArtifact{URI: "file:///models/m.onnx", SHA256: raiv1.SHA256(fmt.Sprintf("%064x", i+1))},
					Evaluations: raiv1.EvaluationsSpec{
						Dataset:  &raiv1.DatasetSpec{URI: "file:///data/eval.csv", SHA256: raiv1.SHA256(fmt.Sprintf("%064x", 0xda7a)), LabelColumn: "label"},
						Fairness: &raiv1.FairnessEvaluation{SensitiveColumns: []string{"sex"}},
					},
				},
			}
			if err := c.Create(ctx, m); err != nil {
				errs <- fmt.Errorf("create model %s: %w", m.Name, err)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// driveUntilDecided completes every evaluation Job that appears and returns
// when every model has a decision.
func driveUntilDecided(ctx context.Context, c client.Client, n int) (int, error) {
	done := map[string]bool{}
	for {
		jobs := &batchv1.JobList{}
		if err := c.List(ctx, jobs, client.InNamespace("bench")); err != nil {
			return 0, err
		}
		var todo []batchv1.Job
		for _, j := range jobs.Items {
			if !done[j.Name] {
				todo = append(todo, j)
			}
		}
		if err := completeJobs(ctx, c, todo); err != nil {
			return 0, err
		}
		for _, j := range todo {
			done[j.Name] = true
		}
		list := &raiv1.ResponsibleModelList{}
		if err := c.List(ctx, list, client.InNamespace("bench")); err != nil {
			return 0, err
		}
		decided, allowed := 0, 0
		for _, m := range list.Items {
			if d := m.Status.LastDecision; d != nil && d.Version == "v1" {
				decided++
				if d.Allowed {
					allowed++
				}
			}
		}
		if decided == n {
			return allowed, nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("%d of %d models decided when the time ran out", decided, n)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func completeJobs(ctx context.Context, c client.Client, jobs []batchv1.Job) error {
	sem := make(chan struct{}, 16)
	errs := make(chan error, len(jobs))
	var wg sync.WaitGroup
	for i := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func(job *batchv1.Job) {
			defer wg.Done()
			defer func() { <-sem }()
			if err := completeJob(ctx, c, job); err != nil {
				errs <- err
			}
		}(&jobs[i])
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// completeJob plays the Job controller and the kubelet for one Job.
func completeJob(ctx context.Context, c client.Client, job *batchv1.Job) error {
	msg, err := fairnessReport(job.Spec.Template.Spec.Containers[0].Args)
	if err != nil {
		return err
	}
	// As the Job controller labels them: the template's labels (the model's
	// among them, which the operator's pod cache selects) and the Job's.
	labels := maps.Clone(job.Spec.Template.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[batchv1.JobNameLabel], labels[batchv1.ControllerUidLabel] = job.Name, string(job.UID)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: job.Name + "-pod", Namespace: job.Namespace,
			Labels:          labels,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID, Controller: ptr.To(true)}}},
		Spec: *job.Spec.Template.Spec.DeepCopy(),
	}
	if err := c.Create(ctx, pod); err != nil {
		return fmt.Errorf("create pod of Job %s: %w", job.Name, err)
	}
	pod.Status = corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{{
		Name: "evaluate", Image: pod.Spec.Containers[0].Image,
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Message: msg, Reason: "Completed"}},
	}}}
	if err := c.Status().Update(ctx, pod); err != nil {
		return fmt.Errorf("finish pod of Job %s: %w", job.Name, err)
	}
	now := metav1.Now()
	job.Status = batchv1.JobStatus{StartTime: &now, CompletionTime: &now, Succeeded: 1, Conditions: []batchv1.JobCondition{
		{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, Reason: "CompletionsReached", LastTransitionTime: now},
		{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, Reason: "CompletionsReached", LastTransitionTime: now},
	}}
	if err := c.Status().Update(ctx, job); err != nil {
		return fmt.Errorf("complete Job %s: %w", job.Name, err)
	}
	return nil
}

// fairnessReport is a passing report for the model digest in args.
func fairnessReport(args []string) (string, error) {
	digest, data := "", ""
	for i, a := range args {
		if i+1 < len(args) {
			switch a {
			case "--sha256":
				digest = args[i+1]
			case "--data-sha256":
				data = args[i+1]
			}
		}
	}
	now := time.Now().UTC()
	r := &report.Report{SchemaVersion: report.SchemaVersion, Kind: report.KindFairness, Model: report.Model{SHA256: digest}, Dataset: &report.Dataset{SHA256: data, Rows: 1000},
		Evaluator: report.Evaluator{Name: "bench", Version: "1"}, StartTime: now.Add(-time.Second), EndTime: now, State: report.StateSucceeded}
	for name, v := range map[string]float64{"demographic_parity_ratio": 0.9, "statistical_parity_difference": -0.02, "disparate_impact_ratio": 0.97, "equalized_odds_difference": 0.03} {
		r.SetMetric(name, v, "")
	}
	b, err := json.Marshal(r)
	return string(b), err
}

// reconcileCount reads controller-runtime's reconcile counter for the
// ResponsibleModel controller.
func reconcileCount() float64 {
	families, err := metrics.Registry.Gather()
	if err != nil {
		return 0
	}
	var total float64
	for _, f := range families {
		if f.GetName() != "controller_runtime_reconcile_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "controller" && l.GetValue() == "responsiblemodel" {
					total += m.GetCounter().GetValue()
				}
			}
		}
	}
	return total
}

func samplePeakHeap(ctx context.Context, peak *atomic.Uint64) {
	var ms runtime.MemStats
	for {
		runtime.ReadMemStats(&ms)
		if ms.HeapInuse > peak.Load() {
			peak.Store(ms.HeapInuse)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func byKindCount(m *sync.Map, k string) int64 {
	v, _ := m.Load(k)
	return v.(*atomic.Int64).Load()
}
