package controllers

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/monitoring"
	"github.com/responsible-ai/rmodel-operator/internal/report"
)

var monitoredFeatures = []string{"income", "region_score"}

// monitoringData draws n rows of the two features; shift moves region_score.
func monitoringData(rng *rand.Rand, n int, shift float64) []float32 {
	out := make([]float32, 0, 2*n)
	for range n {
		out = append(out, float32(rng.NormFloat64()), float32(0.5*rng.NormFloat64()+shift))
	}
	return out
}

// referenceFixture is a reference summary of 4000 rows for model sha(shaN)
// and its reference report.
func referenceFixture(t *testing.T, shaN int) (line, rep string) {
	t.Helper()
	b, err := monitoring.NewReferenceBuilder(monitoredFeatures, monitoring.ReferenceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	if err := b.AddRows(monitoringData(rng, 4000, 0), 4000); err != nil {
		t.Fatal(err)
	}
	for i := range 4000 {
		b.Observe([]string{"female", "male"}[i%2], i%3 != 0, i%2 == 0)
	}
	ref, err := b.Build(monitoring.Reference{Model: monitoring.ModelRef{SHA256: sha(shaN)}, Dataset: monitoring.DataRef{SHA256: sha(100), Rows: 4000},
		Label: "label", Favorable: "1", Threshold: 0.5, Sensitive: []string{"sex"}})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(ref)
	raw = append(raw, '\n')
	r := baseReport(report.KindReference, shaN)
	r.Dataset = &report.Dataset{SHA256: sha(100), Rows: 4000}
	r.SetMetric("features", 2, "")
	r.Details, _ = json.Marshal(monitoring.DigestOf(ref, raw))
	return string(raw), mustJSON(r)
}

// liveSnapshot is one replica's answer: a closed window of n rows.
func liveSnapshotOf(shaN, n int, shift float64, seed uint64) *monitoring.Snapshot {
	rng := rand.New(rand.NewPCG(seed, 3))
	rows := monitoringData(rng, n, shift)
	end := time.Now().UTC().Truncate(time.Minute)
	w := monitoring.Window{Start: end.Add(-time.Minute), End: end, Requests: int64(n), Rows: int64(n)}
	for j := range monitoredFeatures {
		s := monitoring.NewSketch(200)
		summary := monitoring.FeatureSummary{Min: 1e9, Max: -1e9, Sketch: s}
		for i := range n {
			x := rows[2*i+j]
			s.Add(x)
			summary.Count++
			summary.Mean += float64(x) / float64(n)
			summary.Min, summary.Max = min(summary.Min, float64(x)), max(summary.Max, float64(x))
		}
		w.Features = append(w.Features, summary)
	}
	w.Groups = []monitoring.GroupCounts{{Name: "female", Predictions: int64(n / 2), Positives: int64(n / 3)}, {Name: "male", Predictions: int64(n - n/2), Positives: int64(n / 3)}}
	return &monitoring.Snapshot{SchemaVersion: monitoring.SnapshotSchemaVersion, Model: "watched", Version: "v1", SHA256: sha(shaN), WindowSeconds: 60,
		Threshold: 0.5, PredictionOutput: "probability", GroupSource: "parameter:group", Features: monitoredFeatures, InputFeatures: 2,
		MinRows: 20, Replicas: 1, GeneratedAt: time.Now().UTC(), Windows: []monitoring.Window{w}}
}

// staticLogs answers every pod's log with one text.
type staticLogs string

func (l staticLogs) Logs(context.Context, string, string, string) ([]byte, error) {
	return []byte(l), nil
}

// TestLiveMonitoring: a model with spec.monitoring gets a reference
// evaluation whose summary, read from its pod's log, is kept with the
// evidence; once promoted, the operator reads its serving replicas'
// monitoring windows (here a fake server), stays Compliant on traffic like
// the evaluation data, and on shifted traffic names the feature and the
// statistic in Compliant=False, a Warning event and a Flagged record.
func TestLiveMonitoring(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	line, refReport := referenceFixture(t, 1)
	var live atomic.Pointer[monitoring.Snapshot]
	live.Store(liveSnapshotOf(1, 3000, 0, 9))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != monitoring.SnapshotPath("watched") {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(live.Load())
	}))
	defer srv.Close()
	_, portText, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ := strconv.Atoi(portText)
	startManager(t, func(r *ResponsibleModelReconciler) { r.PodLogs = staticLogs("warming up\n" + line) })
	ns := newNamespace(t)
	m := newModel(ns, "watched", func(m *raiv1.ResponsibleModel) {
		m.Spec.Monitoring = &raiv1.MonitoringSpec{Interval: &metav1.Duration{Duration: time.Second}, Windows: 3}
		m.Spec.Serving.Port = int32(port)
	})
	g.Expect(k8s.Create(ctx, m)).To(Succeed())
	refJob := waitForJob(t, m, "v1", report.KindReference)
	g.Expect(refJob.Spec.Template.Spec.Containers[0].Args[:2]).To(Equal([]string{"evaluate", "reference"}))
	finishJob(t, refJob, corev1.PodSucceeded, refReport, "")
	finishJob(t, waitForJob(t, m, "v1", report.KindFairness), corev1.PodSucceeded, fairnessReport(1, 0.9), "")
	g.Eventually(func(g Gomega) {
		got := getModel(g, m)
		for _, e := range got.Status.Evaluations {
			g.Expect(e.State).To(Equal(raiv1.EvaluationSucceeded), "%s: %s %s", e.Kind, e.Reason, e.Message)
		}
		g.Expect(got.Status.LastDecision).NotTo(BeNil())
		g.Expect(got.Status.LastDecision.Allowed).To(BeTrue(), "%v", got.Status.LastDecision.Violations)
	}).WithTimeout(waitFor).Should(Succeed())
	dep := servingDeployment(t, m, "v1")
	g.Expect(dep.Spec.Template.Spec.Containers[0].Args).To(ContainElements("--monitoring=true", "--monitoring-window", "1m0s"))
	completeRollout(t, dep)
	g.Eventually(func(g Gomega) {
		got := getModel(g, m)
		g.Expect(got.Status.StableVersion).To(Equal("v1"))
		g.Expect(got.Status.StableEvidence).To(ContainElement(HaveField("Kind", "reference")))
	}).WithTimeout(waitFor).Should(Succeed())
	cm := &corev1.ConfigMap{}
	g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: reportConfigMapName(refJob.Name)}, cm)).To(Succeed())
	g.Expect(cm.Data[referenceKey]).To(Equal(line), "the log line the report vouches for, not the rest of the log")

	// One ready replica, at the fake server's address, and a pod that only
	// carries the serving labels (a namespace editor's, running another
	// program): it is not read.
	readyServingPod(t, ns, "watched-serving-1", m.Name, sha(1), dep.Spec.Template.Spec)
	readyServingPod(t, ns, "watched-forged", m.Name, sha(1), corev1.PodSpec{Containers: []corev1.Container{{Name: serveContainer, Image: "rai"}}})

	g.Eventually(func(g Gomega) {
		got := getModel(g, m)
		g.Expect(got.Status.Monitoring).NotTo(BeNil())
		g.Expect(got.Status.Monitoring.Message).To(BeEmpty())
		g.Expect(got.Status.Monitoring.Rows).To(Equal(int64(3000)))
		g.Expect(got.Status.Monitoring.Replicas).To(Equal(int32(1)))
		g.Expect(got.Status.Monitoring.Violations).To(BeEmpty())
		g.Expect(condition(g, m, raiv1.ConditionCompliant).Status).To(Equal(metav1.ConditionTrue))
	}).WithTimeout(waitFor).Should(Succeed())

	// region_score shifts by two reference deviations.
	live.Store(liveSnapshotOf(1, 3000, 1.0, 10))
	g.Eventually(func(g Gomega) {
		got := getModel(g, m)
		c := condition(g, m, raiv1.ConditionCompliant)
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Reason).To(Equal(raiv1.ReasonDriftDetected))
		g.Expect(c.Message).To(And(ContainSubstring("DriftPSI: monitoring: feature region_score drifted"), ContainSubstring("DriftKS")))
		g.Expect(c.Message).NotTo(ContainSubstring("feature income drifted"))
		g.Expect(got.Status.StableVersion).To(Equal("v1"), "Record keeps serving")
		g.Expect(got.Status.History).To(ContainElement(And(HaveField("Action", raiv1.HistoryFlagged), HaveField("Reason", raiv1.ReasonDriftDetected))))
		g.Expect(events(g, m, corev1.EventTypeWarning, raiv1.ReasonDriftDetected)).NotTo(BeEmpty())
		list := &raiv1.DecisionRecordList{}
		g.Expect(k8s.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{raiv1.LabelModel: m.Name})).To(Succeed())
		g.Expect(list.Items).To(ContainElement(And(HaveField("Spec.Action", raiv1.DecisionAction(raiv1.HistoryFlagged)), HaveField("Spec.Message", ContainSubstring("region_score")))))
	}).WithTimeout(waitFor).Should(Succeed())

	// Traffic like the evaluation data again: Compliant again.
	live.Store(liveSnapshotOf(1, 3000, 0, 11))
	g.Eventually(func(g Gomega) {
		g.Expect(condition(g, m, raiv1.ConditionCompliant).Status).To(Equal(metav1.ConditionTrue))
	}).WithTimeout(waitFor).Should(Succeed())
}

// TestMonitoringRollback: under action Rollback and Enforce, drift of the
// stable version rolls back to the newest earlier version the policy
// allowed, on the record, and the drifted version stays rolled back.
func TestMonitoringRollback(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	var live atomic.Pointer[monitoring.Snapshot]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(live.Load())
	}))
	defer srv.Close()
	_, portText, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ := strconv.Atoi(portText)
	lines := map[int]string{}
	reports := map[int]string{}
	for _, n := range []int{1, 2} {
		lines[n], reports[n] = referenceFixture(t, n)
	}
	var logs atomic.Value
	logs.Store(lines[1])
	startManager(t, func(r *ResponsibleModelReconciler) {
		r.PodLogs = podLogsFunc(func() string { return logs.Load().(string) })
	})
	ns := newNamespace(t)
	m := newModel(ns, "watched", func(m *raiv1.ResponsibleModel) {
		m.Spec.Monitoring = &raiv1.MonitoringSpec{Interval: &metav1.Duration{Duration: time.Second}, Action: raiv1.MonitoringRollback}
		m.Spec.Serving.Port = int32(port)
	})
	g.Expect(k8s.Create(ctx, m)).To(Succeed())
	promote := func(version string, n int) {
		t.Helper()
		logs.Store(lines[n])
		finishJob(t, waitForJob(t, m, version, report.KindReference), corev1.PodSucceeded, reports[n], "")
		promoteVersion(t, m, version, n)
	}
	promote("v1", 1)
	setVersion(t, m, "v2", 2)
	promote("v2", 2)
	readyServingPod(t, ns, "watched-serving-2", m.Name, sha(2), servingDeployment(t, m, "v2").Spec.Template.Spec)
	drifted := liveSnapshotOf(2, 3000, 1.0, 12)
	drifted.Version = "v2"
	live.Store(drifted)

	g.Eventually(func(g Gomega) {
		got := getModel(g, m)
		g.Expect(got.Status.StableVersion).To(Equal("v1"))
		g.Expect(got.Status.StableModelSHA256).To(Equal(sha(1)))
		g.Expect(got.Status.FailedVersion).To(Equal("v2"))
		s := condition(g, m, raiv1.ConditionStalled)
		g.Expect(s.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(s.Reason).To(Equal(raiv1.ReasonRolledBack))
		g.Expect(s.Message).To(ContainSubstring("region_score"))
		g.Expect(got.Status.History).To(ContainElement(And(HaveField("Action", raiv1.HistoryRolledBack), HaveField("Version", "v2"),
			HaveField("Reason", raiv1.ReasonDriftDetected), HaveField("Message", ContainSubstring("rolled back to version v1")))))
	}).WithTimeout(waitFor).Should(Succeed())
	servingDeployment(t, m, "v1")
	g.Consistently(func(g Gomega) {
		g.Expect(getModel(g, m).Status.StableVersion).To(Equal("v1"), "the drifted version does not come back")
	}).WithTimeout(3 * time.Second).Should(Succeed())
}

// podLogsFunc answers every pod's log with what text returns.
type podLogsFunc func() string

func (f podLogsFunc) Logs(context.Context, string, string, string) ([]byte, error) {
	return []byte(f()), nil
}

// readyServingPod plays the Deployment and kubelet: a ready pod of the
// model's serving labels for the artifact sha, running spec, at 127.0.0.1.
func readyServingPod(t *testing.T, ns, name, model, sha string, spec corev1.PodSpec) {
	t.Helper()
	g := NewWithT(t)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{
		raiv1.LabelModel: model, raiv1.LabelComponent: "serving", LabelModelDigest: digestLabel(sha)}}, Spec: spec}
	g.Expect(k8s.Create(context.Background(), pod)).To(Succeed())
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "127.0.0.1", PodIPs: []corev1.PodIP{{IP: "127.0.0.1"}},
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
	g.Expect(k8s.Status().Update(context.Background(), pod)).To(Succeed())
}
