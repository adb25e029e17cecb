package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/contract"
	"github.com/responsible-ai/rmodel-operator/internal/decisionchain"
	"github.com/responsible-ai/rmodel-operator/internal/monitoring"
	"github.com/responsible-ai/rmodel-operator/internal/report"
)

// Live monitoring defaults of spec.monitoring.
const (
	defaultMonitoringInterval = time.Minute
	defaultMonitoringWindow   = time.Minute
	defaultMonitoringWindows  = 5
)

// monitoringArgs are the rai serve flags that turn monitoring on for a
// model whose spec asks for it.
func monitoringArgs(obj *raiv1.ResponsibleModel) []string {
	m := obj.Spec.Monitoring
	if m == nil {
		return nil
	}
	window := defaultMonitoringWindow
	if m.Window != nil && m.Window.Duration > 0 {
		window = m.Window.Duration
	}
	// The server keeps twice the windows a read judges (up to its
	// default), so that a read that comes late still finds them.
	keep := min(2*monitoringWindows(m), contract.DefaultMonitoringWindows)
	args := []string{contract.Arg(contract.FlagMonitoring) + "=true", contract.Arg(contract.FlagMonitoringWindow), window.String(),
		contract.Arg(contract.FlagMonitoringWindows), strconv.Itoa(keep)}
	if m.GroupFeature != "" {
		args = append(args, contract.Arg(contract.FlagMonitoringGroupFeature), m.GroupFeature)
	}
	return args
}

// monitoringWindows is how many recent windows one read judges.
func monitoringWindows(m *raiv1.MonitoringSpec) int {
	if m.Windows > 0 {
		return int(m.Windows)
	}
	return defaultMonitoringWindows
}

// referenceKey is the evidence ConfigMap key of the reference summary, next
// to its report.
const referenceKey = "summary.json"

// maxReferenceBytes bounds a reference summary: it must fit a ConfigMap.
const maxReferenceBytes = 900 << 10

// PodLogs reads a container's log: the reference evaluation writes its
// summary there (too large for a termination message).
type PodLogs interface {
	Logs(ctx context.Context, namespace, pod, container string) ([]byte, error)
}

// ClientsetPodLogs reads logs through the API server (pods/log).
type ClientsetPodLogs struct{ Clientset kubernetes.Interface }

// Logs implements PodLogs.
func (c ClientsetPodLogs) Logs(ctx context.Context, namespace, pod, container string) ([]byte, error) {
	limit := int64(maxReferenceBytes + 64<<10)
	return c.Clientset.CoreV1().Pods(namespace).GetLogs(pod, &corev1.PodLogOptions{Container: container, LimitBytes: &limit}).DoRaw(ctx)
}

// referenceLine finds, in the log of the reference evaluation's pod, the
// line whose sha256 the trusted report names: the reference summary. The
// report (from the termination message of a pod the Job controls) vouches
// for the line; nothing else in the log counts.
func (r *ResponsibleModelReconciler) referenceLine(ctx context.Context, pods []corev1.Pod, rep *report.Report) (string, error) {
	var digest monitoring.ReferenceDigest
	if err := json.Unmarshal(rep.Details, &digest); err != nil || len(digest.SHA256) != 64 {
		return "", fmt.Errorf("the reference report does not name its summary's sha256 in its details")
	}
	if digest.Bytes > maxReferenceBytes {
		return "", fmt.Errorf("the reference summary has %d bytes, more than the %d a ConfigMap keeps: monitor fewer features or pass fewer ECDF points", digest.Bytes, maxReferenceBytes)
	}
	pod := newestPod(pods, corev1.PodSucceeded)
	if pod == nil {
		return "", fmt.Errorf("no succeeded pod")
	}
	if r.PodLogs == nil {
		return "", fmt.Errorf("the operator has no pod log reader")
	}
	raw, err := r.PodLogs.Logs(ctx, pod.Namespace, pod.Name, evaluateContainer)
	if err != nil {
		return "", fmt.Errorf("read the log of pod %s: %w", pod.Name, err)
	}
	for _, line := range strings.SplitAfter(string(raw), "\n") {
		if len(line) == digest.Bytes && digestOf([]byte(line)) == strings.ToLower(digest.SHA256) {
			return line, nil
		}
	}
	return "", fmt.Errorf("the log of pod %s has no line with the sha256 %s the report names", pod.Name, digest.SHA256)
}

// newestPod is the newest pod in phase.
func newestPod(pods []corev1.Pod, phase corev1.PodPhase) *corev1.Pod {
	var best *corev1.Pod
	for i := range pods {
		if p := &pods[i]; p.Status.Phase == phase && (best == nil || best.CreationTimestamp.Before(&p.CreationTimestamp)) {
			best = p
		}
	}
	return best
}

// stableReference reads the stable version's reference summary from its
// evidence: the report's stored bytes must have the digest recorded at
// promotion, and the summary the sha256 that report names.
func (r *ResponsibleModelReconciler) stableReference(ctx context.Context, obj *raiv1.ResponsibleModel) (*monitoring.Reference, error) {
	i := slices.IndexFunc(obj.Status.StableEvidence, func(e raiv1.EvidenceRecord) bool { return e.Kind == string(report.KindReference) })
	if i < 0 {
		return nil, fmt.Errorf("stable version %s was promoted without a reference evaluation (spec.monitoring applies from the next version)", obj.Status.StableVersion)
	}
	rec := obj.Status.StableEvidence[i]
	reports, tampered, err := r.verifiedEvidence(ctx, obj.Namespace, []raiv1.EvidenceRecord{rec})
	if err != nil {
		return nil, err
	}
	if len(tampered) > 0 {
		return nil, fmt.Errorf("%s", tampered[0].Message)
	}
	rep := reports[rec.Kind]
	if rep == nil {
		return nil, fmt.Errorf("the reference evaluation did not succeed")
	}
	var digest monitoring.ReferenceDigest
	if err := json.Unmarshal(rep.Details, &digest); err != nil {
		return nil, fmt.Errorf("the reference report's details: %w", err)
	}
	cm := &corev1.ConfigMap{}
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: obj.Namespace, Name: rec.ReportRef.Name}, cm); err != nil {
		return nil, fmt.Errorf("read the reference ConfigMap %s: %w", rec.ReportRef.Name, err)
	}
	return monitoring.ParseReference([]byte(cm.Data[referenceKey]), digest.SHA256)
}

// reconcileMonitoring reads the stable version's live traffic every
// spec.monitoring.interval: each ready serving pod's last windows, merged,
// compared with the reference (monitoring.Compare), judged by the policy's
// monitoring rules. A new set of violations is recorded (a Flagged
// DecisionRecord and a Warning event) and, with action Rollback under
// Enforce, rolls back to the newest earlier version the policy allowed.
// Compliant says so (decideConditions). It needs no candidate and does
// nothing without spec.monitoring or a stable version.
func (r *ResponsibleModelReconciler) reconcileMonitoring(ctx context.Context, s *scope) (ctrl.Result, error) {
	obj := s.obj
	m, st := obj.Spec.Monitoring, &obj.Status
	if m == nil || st.StableVersion == "" || st.Serving == nil {
		return ctrl.Result{}, nil
	}
	every := defaultMonitoringInterval
	if m.Interval != nil && m.Interval.Duration > 0 {
		every = m.Interval.Duration
	}
	if last := st.Monitoring; last != nil && last.Version == st.StableVersion && last.ModelSHA256 == st.StableModelSHA256 && s.now.Sub(last.Time.Time) < every {
		return ctrl.Result{RequeueAfter: every - s.now.Sub(last.Time.Time)}, nil
	}
	read := &raiv1.MonitoringStatus{Version: st.StableVersion, ModelSHA256: st.StableModelSHA256, Time: metav1.NewTime(s.now)}
	if last := st.Monitoring; last != nil && last.Version == read.Version && last.ModelSHA256 == read.ModelSHA256 {
		read.DecisionID, read.Violations = last.DecisionID, last.Violations
	}
	st.Monitoring = read
	done := ctrl.Result{RequeueAfter: every}
	ref, err := r.stableReference(ctx, obj)
	if err != nil {
		read.Message = "no reference to compare with: " + err.Error()
		return done, nil
	}
	live, replicas, err := r.liveSnapshot(ctx, obj, monitoringWindows(m))
	if err != nil {
		read.Message = err.Error()
		return done, nil
	}
	rep, err := monitoring.Compare(ref, live, monitoring.CompareOptions{})
	if err != nil {
		read.Message = "compare live traffic with the reference: " + err.Error()
		return done, nil
	}
	read.Replicas, read.Rows, read.Summary = int32(replicas), rep.Live.Rows, truncate(rep.Headline(), 1024)
	if !rep.Live.Start.IsZero() {
		start, end := metav1.NewTime(rep.Live.Start), metav1.NewTime(rep.Live.End)
		read.Start, read.End = &start, &end
	}
	doc, err := toDocument(rep)
	if err != nil {
		return ctrl.Result{}, err
	}
	platform, err := r.platformFor(ctx, obj)
	if err != nil {
		return ctrl.Result{}, err
	}
	d, _, err := r.decide(ctx, obj, policyInput{Version: st.StableVersion, Platform: platform, Monitoring: doc}, nil)
	if err != nil {
		return ctrl.Result{}, err
	}
	before := read.Violations
	read.DecisionID, read.Violations = d.ID, toViolations(d.Violations)
	if sameCodes(before, read.Violations) {
		return done, nil
	}
	if len(read.Violations) == 0 {
		r.eventAfterStatusPatch(ctx, obj, nil, corev1.EventTypeNormal, raiv1.ReasonCompliant, "Monitor",
			"live traffic of version %s passes the monitoring rules again: %s", st.StableVersion, read.Summary)
		return done, nil
	}
	reason := monitoringReason(read.Violations)
	msg := violationsMessage(read.Violations)
	r.eventAfterStatusPatch(ctx, obj, nil, corev1.EventTypeWarning, reason, "Monitor", "version %s: %s", st.StableVersion, truncate(msg, maxEventNote))
	entry := raiv1.HistoryEntry{Version: st.StableVersion, ModelSHA256: st.StableModelSHA256, Action: raiv1.HistoryFlagged, DecisionID: d.ID,
		Reason: reason, Message: truncate(msg, 1024), Time: metav1.NewTime(s.now)}
	if m.Action == raiv1.MonitoringRollback && effectiveEnforcement(obj, platform) == raiv1.EnforcementEnforce {
		return done, r.monitoringRollback(ctx, s, entry)
	}
	return done, r.recordAction(ctx, obj, entry, st.StableEvidence)
}

// liveSnapshot fetches and merges the last windows of every ready replica of
// the stable artifact. A replica is a pod that runs the serving
// Deployment's own containers (sameContainers, as the evaluations' trust
// checks compare a pod with its Job): a pod that only carries the serving
// labels — any namespace editor can create one, running any server — is
// not read, so it can neither hide drift nor invent it.
func (r *ResponsibleModelReconciler) liveSnapshot(ctx context.Context, obj *raiv1.ResponsibleModel, windows int) (*monitoring.Snapshot, int, error) {
	dep := &appsv1.Deployment{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: obj.Namespace, Name: servingName(obj.Name)}, dep); err != nil {
		return nil, 0, fmt.Errorf("get the serving Deployment: %w", err)
	}
	pods := &corev1.PodList{}
	if err := r.List(ctx, pods, client.InNamespace(obj.Namespace),
		client.MatchingLabels{raiv1.LabelModel: obj.Name, raiv1.LabelComponent: "serving", LabelModelDigest: digestLabel(obj.Status.StableModelSHA256)}); err != nil {
		return nil, 0, fmt.Errorf("list the serving pods: %w", err)
	}
	var ignored []string
	pods.Items = slices.DeleteFunc(pods.Items, func(p corev1.Pod) bool {
		if sameContainers("container", dep.Spec.Template.Spec.Containers, p.Spec.Containers) != "" {
			ignored = append(ignored, p.Name)
			return true
		}
		return false
	})
	if len(ignored) > 0 {
		log.FromContext(ctx).Info("pods that carry the serving labels but do not run the serving template are not read", "pods", ignored)
	}
	c := r.HTTPClient
	if c == nil {
		c = &http.Client{Timeout: 5 * time.Second}
	}
	port := strconv.Itoa(int(servingPort(obj)))
	var snaps []*monitoring.Snapshot
	var failures []string
	for _, p := range pods.Items {
		if p.Status.PodIP == "" || !podReady(&p) || !p.DeletionTimestamp.IsZero() {
			continue
		}
		fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		snap, err := monitoring.FetchWindow(fctx, c, "http://"+net.JoinHostPort(p.Status.PodIP, port), obj.Name, windows)
		cancel()
		if err != nil {
			failures = append(failures, fmt.Sprintf("%s: %v", p.Name, err))
			continue
		}
		snaps = append(snaps, snap)
	}
	if len(snaps) == 0 {
		if len(failures) > 0 {
			return nil, 0, fmt.Errorf("no serving replica answered its monitoring window: %s", strings.Join(failures, "; "))
		}
		return nil, 0, fmt.Errorf("no ready serving replica of sha256 %s", shortDigest(obj.Status.StableModelSHA256))
	}
	live, err := monitoring.Merge(snaps...)
	if err != nil {
		return nil, 0, fmt.Errorf("merge the replicas' windows: %w", err)
	}
	return live, len(snaps), nil
}

// toDocument turns v into the JSON document the policy reads.
func toDocument(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode the monitoring report: %w", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("decode the monitoring report: %w", err)
	}
	return doc, nil
}

// sameCodes: two violation lists name the same codes, in order.
func sameCodes(a, b []raiv1.Violation) bool {
	return slices.EqualFunc(a, b, func(x, y raiv1.Violation) bool { return x.Code == y.Code })
}

// monitoringReason names a monitoring violation set: drift first.
func monitoringReason(vs []raiv1.Violation) string {
	switch {
	case slices.ContainsFunc(vs, func(v raiv1.Violation) bool { return strings.HasPrefix(v.Code, "Drift") }):
		return raiv1.ReasonDriftDetected
	case slices.ContainsFunc(vs, func(v raiv1.Violation) bool { return strings.HasPrefix(v.Code, "Live") }):
		return raiv1.ReasonLiveFairnessViolated
	}
	return raiv1.ReasonMonitoringViolated
}

// monitoringRollback rolls the drifted stable version back to the newest
// earlier version the policy allowed (promoted, or approved; never a denied
// or overridden one) whose promotion is still recorded with its artifact,
// and blocks the drifted version until the spec or the retry annotation
// changes. Without such a version the violation is only recorded.
func (r *ResponsibleModelReconciler) monitoringRollback(ctx context.Context, s *scope, flagged raiv1.HistoryEntry) error {
	obj := s.obj
	st := &obj.Status
	target, err := r.lastPassingVersion(ctx, obj)
	if err != nil {
		return err
	}
	if target == nil {
		flagged.Message = truncate(flagged.Message+"; no earlier version that the policy allowed is recorded to roll back to: it keeps serving", 1024)
		return r.recordAction(ctx, obj, flagged, st.StableEvidence)
	}
	drifted, driftedSHA := st.StableVersion, st.StableModelSHA256
	st.PreviousVersion = drifted
	st.StableVersion, st.StableModelURI, st.StableModelSHA256 = target.Version, target.ModelURI, target.ModelSHA256
	st.StableEvidence = target.Evidence
	st.FailedVersion, st.FailedModelSHA256 = drifted, driftedSHA
	s.Blocked = obj.Spec.Version == drifted && string(obj.Spec.Model.SHA256) == driftedSHA
	if err := r.restoreStable(ctx, obj); err != nil {
		return fmt.Errorf("roll back to version %s: %w", target.Version, err)
	}
	if st.Serving != nil {
		st.Serving.Version = target.Version
	}
	msg := fmt.Sprintf("live monitoring: %s; rolled back to version %s (sha256 %s, promoted in DecisionRecord %s)",
		flagged.Message, target.Version, shortDigest(target.ModelSHA256), target.record)
	if err := r.recordAction(ctx, obj, raiv1.HistoryEntry{Version: drifted, ModelSHA256: driftedSHA, Action: raiv1.HistoryRolledBack, DecisionID: flagged.DecisionID,
		Reason: flagged.Reason, Message: truncate(msg, 1024), Time: flagged.Time}, nil); err != nil {
		return err
	}
	s.RolledBack = fmt.Sprintf("version %s was rolled back: %s. Set the %s annotation to a new value, or change the version, to try again",
		drifted, msg, raiv1.AnnotationRetryEvaluations)
	afterStatusPatch(ctx, rollbacksTotal.Inc)
	r.eventAfterStatusPatch(ctx, obj, nil, corev1.EventTypeWarning, raiv1.ReasonRolledBack, "RollBack", "%s", truncate(s.RolledBack, maxEventNote))
	return nil
}

// passingVersion is an earlier version to roll back to.
type passingVersion struct {
	Version, ModelURI, ModelSHA256 string
	Evidence                       []raiv1.EvidenceRecord
	record                         string
}

// lastPassingVersion finds the newest promotion in the model's history of
// another artifact than the stable one that the policy allowed, with its
// DecisionRecord (own hash verified) naming the artifact's URI.
func (r *ResponsibleModelReconciler) lastPassingVersion(ctx context.Context, obj *raiv1.ResponsibleModel) (*passingVersion, error) {
	st := &obj.Status
	var list *raiv1.DecisionRecordList
	for i := len(st.History) - 1; i >= 0; i-- {
		h := st.History[i]
		if h.Action != raiv1.HistoryPromoted || h.ModelSHA256 == st.StableModelSHA256 || h.Reason == raiv1.ReasonOverridden {
			continue
		}
		if list == nil {
			list = &raiv1.DecisionRecordList{}
			if err := r.APIReader.List(ctx, list, client.InNamespace(obj.Namespace), client.MatchingLabels{raiv1.LabelModel: obj.Name}); err != nil {
				return nil, fmt.Errorf("list the decision records: %w", err)
			}
		}
		for _, rec := range list.Items {
			sp := rec.Spec
			if sp.ModelUID != string(obj.UID) || sp.Action != raiv1.DecisionAction(raiv1.HistoryPromoted) || sp.Version != h.Version ||
				sp.ModelSHA256 != h.ModelSHA256 || sp.DecisionID != h.DecisionID || !sp.Allowed || sp.ModelURI == "" {
				continue
			}
			if hash, err := decisionchain.Hash(sp); err != nil || hash != sp.Hash {
				continue
			}
			return &passingVersion{Version: sp.Version, ModelURI: sp.ModelURI, ModelSHA256: sp.ModelSHA256, Evidence: sp.Evidence, record: rec.Name}, nil
		}
	}
	return nil, nil
}

// monitoringCompliance is the Compliant condition when the stable version
// passes the policy's re-check but its live traffic does not; nil when
// monitoring found nothing.
func monitoringCompliance(st *raiv1.ResponsibleModelStatus) *metav1.Condition {
	m := st.Monitoring
	if m == nil || len(m.Violations) == 0 || m.Version != st.StableVersion || m.ModelSHA256 != st.StableModelSHA256 {
		return nil
	}
	return &metav1.Condition{Type: raiv1.ConditionCompliant, Status: metav1.ConditionFalse, Reason: monitoringReason(m.Violations),
		Message: fmt.Sprintf("live traffic of stable version %s fails the monitoring rules (decision %s; %s); it keeps serving: %s",
			st.StableVersion, shortID(m.DecisionID), m.Summary, violationsMessage(m.Violations))}
}
