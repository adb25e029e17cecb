package controllers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/validation/field"
	kevents "k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/decisionchain"
	"github.com/responsible-ai/rmodel-operator/internal/report"
	"github.com/responsible-ai/rmodel-operator/internal/testenv"
	"github.com/responsible-ai/rmodel-operator/policies"
	"github.com/responsible-ai/rmodel-operator/policies/fake"
)

// The middle test layer: each step, and the reconcile around them, on
// controller-runtime's fake client (with the status subresource) and the
// scripted policy engine. No API server, no Rego.

// recordedEvents is an EventRecorder that keeps what it is told.
type recordedEvents struct {
	mu   sync.Mutex
	list []string // "Type Reason note"
}

func (e *recordedEvents) Eventf(_ runtime.Object, _ runtime.Object, eventtype, reason, _ string, note string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, eventtype+" "+reason+" "+fmt.Sprintf(note, args...))
}

func (e *recordedEvents) AnnotatedEventf(regarding, related runtime.Object, _ map[string]string, eventtype, reason, action, note string, args ...any) {
	e.Eventf(regarding, related, eventtype, reason, action, note, args...)
}

func (e *recordedEvents) WithLogger(klog.Logger) kevents.EventRecorderLogger { return nil }

// count is how many recorded events have the reason.
func (e *recordedEvents) count(reason string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, s := range e.list {
		if strings.Fields(s)[1] == reason {
			n++
		}
	}
	return n
}

// harness is a reconciler on the fake client.
type harness struct {
	t      *testing.T
	c      client.WithWatch
	r      *ResponsibleModelReconciler
	engine *fake.Engine
	events *recordedEvents
	// log is the decision log.
	log *bytes.Buffer
	// conflictStatusPatches makes that many model status patches fail
	// with a conflict.
	conflictStatusPatches atomic.Int32
	// refuseJobs makes Job creation fail as the API server refuses an
	// invalid object.
	refuseJobs atomic.Bool
}

func newHarness(t *testing.T, engine *fake.Engine, objs ...client.Object) *harness {
	h := &harness{t: t, engine: engine, events: &recordedEvents{}}
	base := fakeclient.NewClientBuilder().WithScheme(testenv.Scheme()).
		WithStatusSubresource(&raiv1.ResponsibleModel{}, &raiv1.PrivacyBudget{}, &batchv1.Job{}, &appsv1.Deployment{}, &corev1.Pod{}).
		WithObjects(objs...).Build()
	h.c = interceptor.NewClient(base, interceptor.Funcs{
		// The fake client gives objects no UID: the API server does.
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			if _, ok := obj.(*batchv1.Job); ok && h.refuseJobs.Load() {
				return apierrors.NewInvalid(schema.GroupKind{Group: "batch", Kind: "Job"}, obj.GetName(),
					field.ErrorList{field.Invalid(field.NewPath("spec", "template", "spec", "containers").Index(0).Child("resources", "requests"), "2", "must be less than or equal to cpu limit of 1")})
			}
			if obj.GetUID() == "" {
				obj.SetUID(uuid.NewUUID())
			}
			obj.SetCreationTimestamp(metav1.Now())
			return c.Create(ctx, obj, opts...)
		},
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			if _, ok := obj.(*raiv1.ResponsibleModel); ok && sub == "status" && h.conflictStatusPatches.Load() > 0 {
				h.conflictStatusPatches.Add(-1)
				return apierrors.NewConflict(schema.GroupResource{Group: raiv1.GroupVersion.Group, Resource: "responsiblemodels"}, obj.GetName(), fmt.Errorf("the object has been modified"))
			}
			return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
		},
	})
	h.log = &bytes.Buffer{}
	h.r = &ResponsibleModelReconciler{Client: h.c, APIReader: h.c, Scheme: testenv.Scheme(), Recorder: h.events, Engine: engine, DecisionLog: &WriterDecisionLog{W: h.log},
		EvaluationJobs: EvaluationJobOptions{Image: DefaultRuntimeImage}, RolloutPollInterval: time.Second}
	return h
}

// create adds a model (with a UID, as the API server gives it).
func (h *harness) create(m *raiv1.ResponsibleModel) *raiv1.ResponsibleModel {
	h.t.Helper()
	m.Generation = 1
	if err := h.c.Create(context.Background(), m); err != nil {
		h.t.Fatal(err)
	}
	return h.model(m)
}

func (h *harness) model(m *raiv1.ResponsibleModel) *raiv1.ResponsibleModel {
	h.t.Helper()
	got := &raiv1.ResponsibleModel{}
	if err := h.c.Get(context.Background(), client.ObjectKeyFromObject(m), got); err != nil {
		h.t.Fatal(err)
	}
	return got
}

func (h *harness) reconcile(m *raiv1.ResponsibleModel) ctrl.Result {
	h.t.Helper()
	res, err := h.r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(m)})
	if err != nil {
		h.t.Fatalf("reconcile: %v", err)
	}
	return res
}

func (h *harness) condition(m *raiv1.ResponsibleModel, t string) metav1.Condition {
	h.t.Helper()
	c := meta.FindStatusCondition(h.model(m).Status.Conditions, t)
	if c == nil {
		h.t.Fatalf("no condition %s", t)
	}
	return *c
}

// job returns the evaluation Job of kind for the model's spec.
func (h *harness) job(m *raiv1.ResponsibleModel, kind report.Kind) *batchv1.Job {
	h.t.Helper()
	job := &batchv1.Job{}
	if err := h.c.Get(context.Background(), client.ObjectKey{Namespace: m.Namespace, Name: evaluationJobName(h.model(m), kind)}, job); err != nil {
		h.t.Fatalf("evaluation Job of %s: %v", kind, err)
	}
	return job
}

// finish plays the Job controller on the fake client.
func (h *harness) finish(job *batchv1.Job, message string) {
	h.t.Helper()
	ctx := context.Background()
	pod := jobPod(job, job.Name+"-pod")
	if err := h.c.Create(ctx, pod); err != nil {
		h.t.Fatal(err)
	}
	pod.Status = corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{{Name: evaluateContainer,
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Message: message}}}}}
	if err := h.c.Status().Update(ctx, pod); err != nil {
		h.t.Fatal(err)
	}
	now := metav1.Now()
	job.Status = batchv1.JobStatus{StartTime: &now, CompletionTime: &now, Succeeded: 1, Conditions: []batchv1.JobCondition{
		{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue}, {Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}}
	if err := h.c.Status().Update(ctx, job); err != nil {
		h.t.Fatal(err)
	}
}

// completeRollout plays the Deployment controller.
func (h *harness) completeRollout(m *raiv1.ResponsibleModel) {
	h.t.Helper()
	dep := &appsv1.Deployment{}
	if err := h.c.Get(context.Background(), client.ObjectKey{Namespace: m.Namespace, Name: servingName(m.Name)}, dep); err != nil {
		h.t.Fatal(err)
	}
	n := ptr.Deref(dep.Spec.Replicas, 1)
	dep.Status = appsv1.DeploymentStatus{ObservedGeneration: dep.Generation, Replicas: n, UpdatedReplicas: n, ReadyReplicas: n, AvailableReplicas: n}
	if err := h.c.Status().Update(context.Background(), dep); err != nil {
		h.t.Fatal(err)
	}
}

// fakeModel is a model with a UID, for the fake client.
func fakeModel(name string, opts ...modelOption) *raiv1.ResponsibleModel {
	m := newModel("ns", name, opts...)
	m.UID = types.UID("uid-" + name)
	return m
}

// metricSnapshot reads the counters a reconcile may move.
type metricSnapshot struct {
	promotions, allowed, denied, fairnessSucceeded float64
}

func snapshot() metricSnapshot {
	return metricSnapshot{
		promotions:        promtestutil.ToFloat64(promotionsTotal),
		allowed:           promtestutil.ToFloat64(decisionsTotal.WithLabelValues("allowed", "Enforce")),
		denied:            promtestutil.ToFloat64(decisionsTotal.WithLabelValues("denied", "Enforce")),
		fairnessSucceeded: promtestutil.ToFloat64(evaluationsTotal.WithLabelValues("fairness", "Succeeded")),
	}
}

func (a metricSnapshot) minus(b metricSnapshot) metricSnapshot {
	return metricSnapshot{a.promotions - b.promotions, a.allowed - b.allowed, a.denied - b.denied, a.fairnessSucceeded - b.fairnessSucceeded}
}

// TestReconcileOnFakeClient walks a version from its evaluation to its
// promotion, one reconcile at a time, and counts every announcement: each
// happens exactly once, however often the model is reconciled.
func TestReconcileOnFakeClient(t *testing.T) {
	h := newHarness(t, fake.New(fake.Allow()))
	m := h.create(fakeModel("walk"))
	before := snapshot()

	h.reconcile(m)
	job := h.job(m, report.KindFairness)
	got := h.model(m)
	if e := findEvaluation(got.Status.Evaluations, "fairness"); e == nil || e.JobUID != string(job.UID) || e.JobUID == "" {
		t.Fatalf("the Job's UID is recorded: %+v (Job UID %s)", e, job.UID)
	}
	if c := h.condition(m, raiv1.ConditionReconciling); c.Status != metav1.ConditionTrue {
		t.Errorf("Reconciling while evaluating: %+v", c)
	}
	if got.Status.ObservedGeneration != 1 {
		t.Errorf("observedGeneration %d", got.Status.ObservedGeneration)
	}

	h.finish(job, fairnessReport(1, 0.9))
	if res := h.reconcile(m); res.RequeueAfter != time.Second {
		t.Errorf("a rollout in progress requeues after the poll interval: %+v", res)
	}
	if c := h.condition(m, raiv1.ConditionPromoted); c.Reason != raiv1.ReasonRollingOut {
		t.Errorf("Promoted while rolling out: %+v", c)
	}
	if n := len(h.engine.Calls()); n != 1 {
		t.Errorf("the policy was asked %d times, want 1", n)
	}
	h.completeRollout(m)
	h.reconcile(m)
	h.reconcile(m)
	h.reconcile(m)

	got = h.model(m)
	if got.Status.StableVersion != "v1" || got.Status.StableModelSHA256 != sha(1) || len(got.Status.StableEvidence) != 1 {
		t.Fatalf("stable %s %s evidence %+v", got.Status.StableVersion, got.Status.StableModelSHA256, got.Status.StableEvidence)
	}
	for _, typ := range []string{raiv1.ConditionReady, raiv1.ConditionPromoted, raiv1.ConditionCompliant} {
		if c := h.condition(m, typ); c.Status != metav1.ConditionTrue {
			t.Errorf("%s = %+v", typ, c)
		}
	}
	if d := snapshot().minus(before); d != (metricSnapshot{promotions: 1, allowed: 1, fairnessSucceeded: 1}) {
		t.Errorf("metrics moved by %+v, want one promotion, one allowed decision, one fairness evaluation", d)
	}
	if n := h.events.count(raiv1.ReasonPromoted); n != 1 {
		t.Errorf("%d Promoted events, want 1: %v", n, h.events.list)
	}
	if n := h.events.count(raiv1.ReasonPolicyAllowed); n != 1 {
		t.Errorf("%d PolicyAllowed events, want 1: %v", n, h.events.list)
	}
	// One OPA decision-log line, in OPA's schema.
	lines := strings.Split(strings.TrimSpace(h.log.String()), "\n")
	var event map[string]any
	if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &event) != nil {
		t.Fatalf("decision log: %q", h.log.String())
	}
	for _, k := range []string{"decision_id", "path", "input", "result", "bundles", "timestamp", "labels"} {
		if _, ok := event[k]; !ok {
			t.Errorf("decision-log event has no %q: %v", k, event)
		}
	}
	if event["decision_id"] != got.Status.LastDecision.ID || event["result"].(map[string]any)["allow"] != true {
		t.Errorf("decision-log event %v", event)
	}
	if got.Status.DecisionChain == nil || got.Status.DecisionChain.Count != 1 {
		t.Errorf("decision chain %+v: one promotion", got.Status.DecisionChain)
	}
}

// TestStatusConflictDropsAnnouncements: a reconcile whose status patch
// conflicts records nothing and announces nothing; the one after it
// announces once.
func TestStatusConflictDropsAnnouncements(t *testing.T) {
	h := newHarness(t, fake.New(fake.Deny(policies.Violation{Code: "FairnessDemographicParity", Message: "0.5 < 0.8"})))
	m := h.create(fakeModel("conflict"))
	h.reconcile(m)
	h.finish(h.job(m, report.KindFairness), fairnessReport(1, 0.5))
	before := snapshot()

	h.conflictStatusPatches.Store(1)
	if res := h.reconcile(m); res.RequeueAfter != time.Second {
		t.Errorf("a conflicting status patch requeues at once: %+v", res)
	}
	if d := snapshot().minus(before); d != (metricSnapshot{}) || h.events.count(raiv1.ReasonPolicyDenied) != 0 {
		t.Errorf("a conflicted reconcile announced: metrics %+v, events %v", d, h.events.list)
	}
	if h.model(m).Status.LastDecision != nil {
		t.Errorf("a conflicted reconcile recorded its decision")
	}

	h.reconcile(m)
	h.reconcile(m)
	// The conflicted reconcile had written the denial's record: the next
	// one adopts it, and the chain holds it once.
	records := &raiv1.DecisionRecordList{}
	if err := h.c.List(context.Background(), records); err != nil {
		t.Fatal(err)
	}
	if head := h.model(m).Status.DecisionChain; len(records.Items) != 1 || head == nil || head.Count != 1 || head.Hash != records.Items[0].Spec.Hash {
		t.Errorf("records %d, head %+v", len(records.Items), head)
	}
	if n := strings.Count(h.log.String(), `"decision_id"`); n != 1 {
		t.Errorf("%d decision-log lines, want 1:\n%s", n, h.log.String())
	}
	if d := snapshot().minus(before); d != (metricSnapshot{denied: 1, fairnessSucceeded: 1}) {
		t.Errorf("metrics moved by %+v, want one denial and one fairness evaluation", d)
	}
	if n := h.events.count(raiv1.ReasonPolicyDenied); n != 1 {
		t.Errorf("%d PolicyDenied events, want 1: %v", n, h.events.list)
	}
	if c := h.condition(m, raiv1.ConditionStalled); c.Status != metav1.ConditionTrue || c.Reason != raiv1.ReasonPolicyDenied {
		t.Errorf("Stalled = %+v", c)
	}
}

// TestSuspendOnFakeClient: a suspended model creates nothing and says so.
func TestSuspendOnFakeClient(t *testing.T) {
	h := newHarness(t, fake.New(fake.Allow()))
	m := h.create(fakeModel("suspended", func(m *raiv1.ResponsibleModel) { m.Spec.Suspend = true }))
	h.reconcile(m)
	jobs := &batchv1.JobList{}
	if err := h.c.List(context.Background(), jobs); err != nil || len(jobs.Items) != 0 {
		t.Errorf("a suspended model created Jobs: %v %v", jobs.Items, err)
	}
	if c := h.condition(m, raiv1.ConditionReady); c.Reason != raiv1.ReasonSuspended || c.Status != metav1.ConditionFalse {
		t.Errorf("Ready = %+v", c)
	}
	if len(h.engine.Calls()) != 0 {
		t.Error("a suspended model was judged")
	}
}

// TestInvalidSpecStalls: what the API server refuses as invalid is a spec
// error: Stalled=True with its message, no error returned (no retries),
// observedGeneration written.
func TestInvalidSpecStalls(t *testing.T) {
	h := newHarness(t, fake.New(fake.Allow()))
	h.refuseJobs.Store(true)
	m := h.create(fakeModel("invalid"))
	res, err := h.r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(m)})
	if err != nil || !res.IsZero() {
		t.Fatalf("a spec error is not retried: %+v %v", res, err)
	}
	c := h.condition(m, raiv1.ConditionStalled)
	if c.Status != metav1.ConditionTrue || c.Reason != raiv1.ReasonInvalidSpec || !strings.Contains(c.Message, "must be less than or equal to cpu limit") {
		t.Errorf("Stalled = %+v", c)
	}
	if got := h.model(m); got.Status.ObservedGeneration != 1 {
		t.Errorf("observedGeneration %d", got.Status.ObservedGeneration)
	}
}

// TestStepCandidate: the candidate is spec.version with the spec's digest
// unless that pair serves; a rolled-back pair stays blocked.
func TestStepCandidate(t *testing.T) {
	cases := []struct {
		name   string
		status raiv1.ResponsibleModelStatus
		// wantCandidate and wantBlocked are the step's facts.
		wantCandidate string
		wantBlocked   bool
	}{
		{"first version", raiv1.ResponsibleModelStatus{}, "v1", false},
		{"serving", raiv1.ResponsibleModelStatus{StableVersion: "v1", StableModelSHA256: sha(1)}, "", false},
		{"another artifact under the stable name", raiv1.ResponsibleModelStatus{StableVersion: "v1", StableModelSHA256: sha(9)}, "v1", false},
		{"rolled back", raiv1.ResponsibleModelStatus{StableVersion: "v0", FailedVersion: "v1", FailedModelSHA256: sha(1)}, "v1", true},
		{"another artifact than the rolled-back one", raiv1.ResponsibleModelStatus{StableVersion: "v0", FailedVersion: "v1", FailedModelSHA256: sha(9)}, "v1", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := fakeModel("c")
			m.Status = tc.status
			s := &scope{obj: m, now: testNow}
			if _, err := (&ResponsibleModelReconciler{}).reconcileCandidate(context.Background(), s); err != nil {
				t.Fatal(err)
			}
			if m.Status.CandidateVersion != tc.wantCandidate || s.Blocked != tc.wantBlocked {
				t.Errorf("candidate %q blocked %v, want %q %v", m.Status.CandidateVersion, s.Blocked, tc.wantCandidate, tc.wantBlocked)
			}
			if tc.wantCandidate != "" && m.Status.CandidateModelSHA256 != sha(1) {
				t.Errorf("candidate digest %q", m.Status.CandidateModelSHA256)
			}
		})
	}
}

// TestStepBudget: the charge is made once, keyed by digest, and a budget
// that no longer fits stops the promotion.
func TestStepBudget(t *testing.T) {
	b := newBudget("ns", "lending", "3")
	h := newHarness(t, fake.New(fake.Allow()), b)
	m := fakeModel("dp", withPrivacyBudget("lending"))
	m.Status.CandidateVersion, m.Status.CandidateModelSHA256 = "v1", sha(1)
	s := &scope{obj: m, now: testNow, budget: &budgetView{Name: "lending", Total: 3, Candidate: privacyCost{Epsilon: 1.2, Delta: 1e-5}, Chargeable: true}}
	s.Promotable = true
	for range 2 {
		if _, err := h.r.reconcileBudget(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
	got := &raiv1.PrivacyBudget{}
	if err := h.c.Get(context.Background(), client.ObjectKeyFromObject(b), got); err != nil {
		t.Fatal(err)
	}
	if len(got.Status.Charges) != 1 || got.Status.Charges[0].ModelSHA256 != sha(1) {
		t.Fatalf("charges %+v, want one for sha(1)", got.Status.Charges)
	}
	// Another model spent the rest meanwhile: the candidate may not roll out.
	got.Status.Charges = append(got.Status.Charges, raiv1.PrivacyCharge{Model: "other", Version: "v1", ModelSHA256: sha(5), Epsilon: "2.5", Delta: "1e-5"})
	if err := h.c.Status().Update(context.Background(), got); err != nil {
		t.Fatal(err)
	}
	m2 := fakeModel("dp2", withPrivacyBudget("lending"))
	m2.Status.CandidateVersion, m2.Status.CandidateModelSHA256 = "v1", sha(2)
	s2 := &scope{obj: m2, now: testNow, budget: &budgetView{Name: "lending", Total: 3, Candidate: privacyCost{Epsilon: 1.0, Delta: 1e-5}, Chargeable: true}}
	s2.Promotable = true
	if _, err := h.r.reconcileBudget(context.Background(), s2); err == nil || s2.Promotable {
		t.Errorf("an overspending charge: err %v, promotable %v", err, s2.Promotable)
	}
}

// TestStepCompliance: the stable version is re-checked on its recorded
// evidence; altered evidence is EvidenceTampered, never compliant.
func TestStepCompliance(t *testing.T) {
	raw := fairnessReport(1, 0.9)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "ns"}, Data: map[string]string{"fairness.json": raw}}
	h := newHarness(t, fake.New(fake.Allow()), cm)
	m := fakeModel("stable")
	m.Status.StableVersion, m.Status.StableModelSHA256 = "v1", sha(1)
	m.Status.StableEvidence = []raiv1.EvidenceRecord{{Kind: "fairness", State: raiv1.EvaluationSucceeded, ReportRef: &raiv1.LocalObjectReference{Name: "r"}, ReportSHA256: digestOf([]byte(raw))}}
	s := &scope{obj: m, now: testNow}
	if _, err := h.r.reconcileCompliance(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if s.Compliance == nil || !s.Compliance.Decision.Allow || len(s.Compliance.Tampered) != 0 {
		t.Fatalf("compliance of intact evidence: %+v", s.Compliance)
	}
	if in := h.engine.Calls()[0].Input["evaluations"].(map[string]any); in["fairness"] == nil {
		t.Errorf("the policy did not see the stored report: %v", in)
	}
	m.Status.StableEvidence[0].ReportSHA256 = sha(3)
	s = &scope{obj: m, now: testNow}
	if _, err := h.r.reconcileCompliance(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	c := complianceCondition("v1", s.Compliance.Decision, s.Compliance.Tampered)
	if len(s.Compliance.Tampered) != 1 || c.Reason != raiv1.ReasonEvidenceTampered {
		t.Errorf("altered evidence: %+v, condition %+v", s.Compliance, c)
	}
}

// TestStepModelCard: the card is written once per stable artifact, from
// verified evidence.
func TestStepModelCard(t *testing.T) {
	raw := fairnessReport(1, 0.9)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "ns"}, Data: map[string]string{"fairness.json": raw}}
	h := newHarness(t, fake.New(fake.Allow()), cm)
	m := h.create(fakeModel("card"))
	m.Status.StableVersion, m.Status.StableModelSHA256, m.Status.StableModelURI = "v1", sha(1), "https://models.example/v1.onnx"
	m.Status.StableEvidence = []raiv1.EvidenceRecord{{Kind: "fairness", State: raiv1.EvaluationSucceeded, ReportRef: &raiv1.LocalObjectReference{Name: "r"}, ReportSHA256: digestOf([]byte(raw))}}
	s := &scope{obj: m, now: testNow}
	if _, err := h.r.reconcileModelCard(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	card := &corev1.ConfigMap{}
	if err := h.c.Get(context.Background(), client.ObjectKey{Namespace: "ns", Name: modelCardConfigMapName("card")}, card); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(card.Data[modelCardKey], "demographic_parity_ratio | 0.9") || card.Annotations[annotationModelSHA256] != sha(1) {
		t.Errorf("card %v", card)
	}
	// Another artifact under the same version name gets its own card.
	m.Status.StableModelSHA256 = sha(2)
	m.Status.StableEvidence[0].ReportSHA256 = sha(4)
	if _, err := h.r.reconcileModelCard(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if err := h.c.Get(context.Background(), client.ObjectKeyFromObject(card), card); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(card.Data[modelCardKey], sha(2)) || !strings.Contains(card.Data[modelCardKey], raiv1.ReasonEvidenceTampered) {
		t.Errorf("the card of another artifact with unverified evidence:\n%s", card.Data[modelCardKey])
	}
}

// TestMaxConcurrentReconciles: the setting is used as given; 0 means 4.
func TestMaxConcurrentReconciles(t *testing.T) {
	for set, want := range map[int]int{0: 4, 1: 1, 2: 2, 8: 8} {
		if got := (&ResponsibleModelReconciler{MaxConcurrentReconciles: set}).maxConcurrentReconciles(); got != want {
			t.Errorf("MaxConcurrentReconciles %d: %d workers, want %d", set, got, want)
		}
	}
}

// TestStepAuditAnchors: the serving pods' audit heads are read into status
// when due; a pod that does not answer keeps its last anchor.
func TestStepAuditAnchors(t *testing.T) {
	count := int64(7)
	up := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v2/audit/head" || !up {
			http.Error(w, "no", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, `{"count":%d,"hash":"%s","genesis":"%s"}`, count, sha(int(count)), sha(1))
	}))
	defer srv.Close()
	_, portStr, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	port, _ := strconv.Atoi(portStr)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "serving-1", Namespace: "ns", Labels: map[string]string{raiv1.LabelModel: "anchored", raiv1.LabelComponent: "serving"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: serveContainer, Image: "rai"}}}}
	h := newHarness(t, fake.New(fake.Allow()), pod)
	pod.Status = corev1.PodStatus{PodIP: "127.0.0.1", Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
	if err := h.c.Status().Update(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	h.r.AuditAnchorInterval = time.Minute
	m := fakeModel("anchored", func(m *raiv1.ResponsibleModel) { m.Spec.Serving.Port = int32(port) })
	m.Status.StableVersion, m.Status.Serving = "v1", &raiv1.ServingStatus{Deployment: "d"}
	now := time.Now()
	s := &scope{obj: m, now: now}
	res, err := h.r.reconcileAuditAnchors(context.Background(), s)
	if err != nil || res.RequeueAfter != time.Minute {
		t.Fatalf("%+v %v", res, err)
	}
	heads := m.Status.Serving.AuditHeads
	if len(heads) != 1 || heads[0].Pod != "serving-1" || heads[0].Count != 7 || heads[0].Hash != sha(7) || heads[0].Genesis != sha(1) {
		t.Fatalf("heads %+v", heads)
	}
	// Not due yet: nothing is read.
	count = 9
	s.now = now.Add(10 * time.Second)
	if res, _ := h.r.reconcileAuditAnchors(context.Background(), s); res.RequeueAfter != 50*time.Second || m.Status.Serving.AuditHeads[0].Count != 7 {
		t.Errorf("not due: %+v, heads %+v", res, m.Status.Serving.AuditHeads)
	}
	// Due, and the pod does not answer: its anchor stays.
	up = false
	s.now = now.Add(2 * time.Minute)
	if _, err := h.r.reconcileAuditAnchors(context.Background(), s); err != nil || m.Status.Serving.AuditHeads[0].Count != 7 {
		t.Errorf("a silent pod: %v, heads %+v", err, m.Status.Serving.AuditHeads)
	}
	up = true
	s.now = now.Add(4 * time.Minute)
	if _, err := h.r.reconcileAuditAnchors(context.Background(), s); err != nil || m.Status.Serving.AuditHeads[0].Count != 9 {
		t.Errorf("due again: %v, heads %+v", err, m.Status.Serving.AuditHeads)
	}
	// The pod is gone after a rollout: its final head stays anchored.
	if err := h.c.Delete(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	s.now = now.Add(6 * time.Minute)
	if _, err := h.r.reconcileAuditAnchors(context.Background(), s); err != nil || len(m.Status.Serving.AuditHeads) != 1 || m.Status.Serving.AuditHeads[0].Count != 9 {
		t.Errorf("a pod gone: %v, heads %+v", err, m.Status.Serving.AuditHeads)
	}
}

// TestStepDecisionRetention: records past the retention go, oldest first,
// the newest stays, and what remains verifies from the pruned mark.
func TestStepDecisionRetention(t *testing.T) {
	h := newHarness(t, fake.New(fake.Allow()))
	m := h.create(fakeModel("kept"))
	old := time.Now().Add(-200 * 24 * time.Hour)
	for i, when := range []time.Time{old, old.Add(time.Hour), time.Now().Add(-time.Hour)} {
		entry := raiv1.HistoryEntry{Version: fmt.Sprintf("v%d", i+1), ModelSHA256: sha(1), Action: raiv1.HistoryDenied, DecisionID: fmt.Sprintf("d%d", i), Time: metav1.NewTime(when)}
		if err := h.r.recordAction(context.Background(), m, entry, nil); err != nil {
			t.Fatal(err)
		}
	}
	if o := m.Status.DecisionChain.Oldest; o == nil || !o.Time.Equal(old.UTC().Truncate(time.Second)) {
		t.Fatalf("the head names the oldest record's time: %v", o)
	}
	h.r.DecisionRetention = 180 * 24 * time.Hour
	s := &scope{obj: m, now: time.Now()}
	if _, err := h.r.reconcileDecisionRetention(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	list := &raiv1.DecisionRecordList{}
	if err := h.c.List(context.Background(), list); err != nil {
		t.Fatal(err)
	}
	head := m.Status.DecisionChain
	if len(list.Items) != 1 || list.Items[0].Spec.Sequence != 3 || head.PrunedThrough == nil || head.PrunedThrough.Sequence != 2 {
		t.Fatalf("records %d, head %+v", len(list.Items), head)
	}
	if head.Oldest == nil || !head.Oldest.Time.Equal(list.Items[0].Spec.Time.Time) {
		t.Errorf("after pruning the head names the oldest kept record's time: %v", head.Oldest)
	}
	anchor := decisionchain.Anchor{Count: head.Count, Hash: head.Hash, PrunedSequence: head.PrunedThrough.Sequence, PrunedHash: head.PrunedThrough.Hash}
	if _, problems := decisionchain.Verify(list.Items, map[string]decisionchain.Anchor{"ns/kept": anchor}); len(problems) != 0 {
		t.Errorf("the kept chain does not verify: %v", problems)
	}
	// A new record continues the chain and keeps the mark.
	if err := h.r.recordAction(context.Background(), m, raiv1.HistoryEntry{Version: "v4", ModelSHA256: sha(1), Action: raiv1.HistoryDenied, DecisionID: "d4", Time: metav1.Now()}, nil); err != nil {
		t.Fatal(err)
	}
	if m.Status.DecisionChain.Count != 4 || m.Status.DecisionChain.PrunedThrough == nil {
		t.Errorf("head %+v", m.Status.DecisionChain)
	}
}
