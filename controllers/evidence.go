package controllers

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/decisionchain"
	"github.com/responsible-ai/rmodel-operator/internal/report"
)

// The evidence store. A report the operator read from an evaluation Job's
// own pod is kept in an immutable ConfigMap named after that Job, and its
// sha256 is recorded in status at that moment. The ConfigMap is a copy, not
// the source of truth: decisions, compliance re-checks and the model card
// read a stored report only through verifiedEvidence, which refuses one
// that is missing or differs from the recorded digest (EvidenceTampered).

// reportKey is the ConfigMap key of a kind's report.
func reportKey(kind string) string { return kind + ".json" }

// reportConfigMapName holds the report of the evaluation that Job ran.
func reportConfigMapName(job string) string { return boundedName(job, "report") }

// partsConfigMapName holds the partial reports of a sharded evaluation,
// which its merge Job mounts.
func partsConfigMapName(job string) string { return boundedName(job, "parts") }

// digestOf is the lowercase hex sha256 of b.
func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// storeEvidence writes data to the immutable ConfigMap name, owned by the
// model. A ConfigMap of that name that already holds exactly data (written
// by an earlier reconcile whose status patch was lost) is kept; one that
// holds anything else was not written by the operator and is replaced.
func (r *ResponsibleModelReconciler) storeEvidence(ctx context.Context, obj *raiv1.ResponsibleModel, name string, kind report.Kind, data map[string]string) error {
	want := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: obj.Namespace, Labels: map[string]string{
			raiv1.LabelModel: obj.Name, raiv1.LabelVersion: obj.Spec.Version, raiv1.LabelEvaluationKind: string(kind),
			raiv1.LabelComponent: "evidence", raiv1.LabelManagedBy: managerName,
		}},
		Immutable: ptr.To(true),
		Data:      data,
	}
	if err := controllerutil.SetControllerReference(obj, want, r.Scheme); err != nil {
		return fmt.Errorf("own evidence ConfigMap %q: %w", name, err)
	}
	for attempt := 0; ; attempt++ {
		err := r.Create(ctx, want.DeepCopy())
		if err == nil {
			rememberEvidence(ctx, want)
			return nil
		}
		if !apierrors.IsAlreadyExists(err) || attempt > 0 {
			return fmt.Errorf("create evidence ConfigMap %q: %w", name, err)
		}
		got := &corev1.ConfigMap{}
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(want), got); err != nil {
			return fmt.Errorf("read evidence ConfigMap %q: %w", name, err)
		}
		if maps.Equal(got.Data, data) && len(got.BinaryData) == 0 && metav1.IsControlledBy(got, obj) {
			rememberEvidence(ctx, got)
			return nil
		}
		if err := r.Delete(ctx, got, client.Preconditions{UID: &got.UID}); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("replace evidence ConfigMap %q, which the operator did not write: %w", name, err)
		}
	}
}

// A reconcile remembers the evidence ConfigMaps it wrote (or found as it
// would have written them), so that the decision in the same reconcile
// judges them without waiting for the cache to see them or asking the API
// server for what it was just told.
type writtenEvidenceKey struct{}

// withWrittenEvidence returns a context that remembers the evidence written
// under it.
func withWrittenEvidence(ctx context.Context) context.Context {
	return context.WithValue(ctx, writtenEvidenceKey{}, map[client.ObjectKey]*corev1.ConfigMap{})
}

func rememberEvidence(ctx context.Context, cm *corev1.ConfigMap) {
	if m, ok := ctx.Value(writtenEvidenceKey{}).(map[client.ObjectKey]*corev1.ConfigMap); ok {
		m[client.ObjectKeyFromObject(cm)] = cm.DeepCopy()
	}
}

func writtenEvidence(ctx context.Context, key client.ObjectKey) (*corev1.ConfigMap, bool) {
	m, _ := ctx.Value(writtenEvidenceKey{}).(map[client.ObjectKey]*corev1.ConfigMap)
	cm, ok := m[key]
	return cm, ok
}

// tamperedEvidence is a stored report that may not be judged.
type tamperedEvidence struct {
	Kind, Message string
}

// verifiedEvidence reads the reports that records name and returns those
// whose stored bytes still have the recorded digest, by kind, and the
// kinds whose evidence is missing or altered. Records of evaluations in
// state Error have no report and are skipped. Only API errors are returned.
func (r *ResponsibleModelReconciler) verifiedEvidence(ctx context.Context, namespace string, records []raiv1.EvidenceRecord) (map[string]*report.Report, []tamperedEvidence, error) {
	reports := map[string]*report.Report{}
	var tampered []tamperedEvidence
	for _, rec := range records {
		if rec.State != raiv1.EvaluationSucceeded {
			continue
		}
		bad := func(format string, args ...any) {
			tampered = append(tampered, tamperedEvidence{Kind: rec.Kind, Message: fmt.Sprintf(format, args...)})
		}
		if rec.ReportRef == nil || rec.ReportSHA256 == "" {
			bad("no digest was recorded for the %s report", rec.Kind)
			continue
		}
		// The cache's copy is judged when it has the recorded digest (a
		// report ConfigMap is immutable, and those bytes are what the
		// operator read from the Job's pod). Anything else is confirmed
		// with the API server first: the cache may not have seen a report
		// the evaluations step wrote moments ago.
		key := client.ObjectKey{Namespace: namespace, Name: rec.ReportRef.Name}
		cached, ok := writtenEvidence(ctx, key)
		var err error
		if !ok {
			cached = &corev1.ConfigMap{}
			err = r.Get(ctx, key, cached)
		}
		rep, why := evidenceIn(err, cached, rec)
		if why != "" {
			cm := &corev1.ConfigMap{}
			err := r.APIReader.Get(ctx, key, cm)
			if err != nil && !apierrors.IsNotFound(err) {
				return nil, nil, fmt.Errorf("read the %s report ConfigMap %q: %w", rec.Kind, rec.ReportRef.Name, err)
			}
			rep, why = evidenceIn(err, cm, rec)
		}
		if why != "" {
			bad("%s", why)
			continue
		}
		reports[rec.Kind] = rep
	}
	return reports, tampered, nil
}

// evidenceIn checks the report ConfigMap read (with err) for rec: the
// report, or why it may not be judged.
func evidenceIn(err error, cm *corev1.ConfigMap, rec raiv1.EvidenceRecord) (*report.Report, string) {
	if apierrors.IsNotFound(err) {
		return nil, fmt.Sprintf("the %s report's ConfigMap %s is gone", rec.Kind, rec.ReportRef.Name)
	}
	if err != nil {
		return nil, fmt.Sprintf("the %s report's ConfigMap %s could not be read: %v", rec.Kind, rec.ReportRef.Name, err)
	}
	raw, ok := cm.Data[reportKey(rec.Kind)]
	if !ok {
		return nil, fmt.Sprintf("ConfigMap %s has no key %s", cm.Name, reportKey(rec.Kind))
	}
	if got := digestOf([]byte(raw)); got != rec.ReportSHA256 {
		return nil, fmt.Sprintf("ConfigMap %s key %s has sha256 %s, not the %s the operator recorded when it read the report from the Job's pod", cm.Name, reportKey(rec.Kind), got, rec.ReportSHA256)
	}
	rep, err := report.Parse([]byte(raw))
	if err != nil {
		return nil, fmt.Sprintf("ConfigMap %s key %s: %v", cm.Name, reportKey(rec.Kind), err)
	}
	return rep, ""
}

// evidenceRecords are the records of the evaluations of kinds.
func evidenceRecords(evals []raiv1.EvaluationStatus) []raiv1.EvidenceRecord {
	out := make([]raiv1.EvidenceRecord, 0, len(evals))
	for _, e := range evals {
		out = append(out, raiv1.EvidenceRecord{Kind: e.Kind, State: e.State, ReportRef: e.ReportRef.DeepCopy(), ReportSHA256: e.ReportSHA256})
	}
	return out
}

// tamperedMessage explains tampered evidence.
func tamperedMessage(t tamperedEvidence) string {
	return fmt.Sprintf("stored evidence does not match what the operator read: %s; set the %s annotation to a new value to evaluate again",
		t.Message, raiv1.AnnotationRetryEvaluations)
}

// recordedEvidence finds, for a candidate that was promoted before (a
// rollback to an earlier version), the report of kind recorded when it was
// promoted, when that evaluation had exactly the inputs it has now (the Job
// name is a digest of them) and the stored report still has the recorded
// digest. The evaluation then reads that evidence instead of running again,
// and the decision re-checks it against the current policy. It looks only
// when status.history names a promotion of the candidate's version and
// artifact, and reads the model's DecisionRecords of that version past the
// cache (the manager keeps no informer of them); a record that does not
// verify its own hash is not trusted.
func (r *ResponsibleModelReconciler) recordedEvidence(ctx context.Context, obj *raiv1.ResponsibleModel, kind report.Kind, job string) (raiv1.EvaluationStatus, bool, error) {
	version, digest := obj.Spec.Version, string(obj.Spec.Model.SHA256)
	if !slices.ContainsFunc(obj.Status.History, func(h raiv1.HistoryEntry) bool {
		return h.Action == raiv1.HistoryPromoted && h.Version == version && h.ModelSHA256 == digest
	}) {
		return raiv1.EvaluationStatus{}, false, nil
	}
	list := &raiv1.DecisionRecordList{}
	if err := r.APIReader.List(ctx, list, client.InNamespace(obj.Namespace), client.MatchingLabels{raiv1.LabelModel: obj.Name, raiv1.LabelVersion: version}); err != nil {
		return raiv1.EvaluationStatus{}, false, fmt.Errorf("list the decision records of version %s: %w", version, err)
	}
	// The newest promotion first.
	slices.SortFunc(list.Items, func(a, b raiv1.DecisionRecord) int { return cmp.Compare(b.Spec.Sequence, a.Spec.Sequence) })
	want := reportConfigMapName(job)
	for _, rec := range list.Items {
		s := rec.Spec
		if s.Action != raiv1.DecisionAction(raiv1.HistoryPromoted) || s.ModelUID != string(obj.UID) || s.Version != version || s.ModelSHA256 != digest {
			continue
		}
		if h, err := decisionchain.Hash(s); err != nil || h != s.Hash {
			continue
		}
		i := slices.IndexFunc(s.Evidence, func(e raiv1.EvidenceRecord) bool {
			return e.Kind == string(kind) && e.State == raiv1.EvaluationSucceeded && e.ReportRef != nil && e.ReportRef.Name == want
		})
		if i < 0 {
			continue
		}
		ev := s.Evidence[i]
		reports, tampered, err := r.verifiedEvidence(ctx, obj.Namespace, []raiv1.EvidenceRecord{ev})
		if err != nil {
			return raiv1.EvaluationStatus{}, false, err
		}
		if len(tampered) > 0 || reports[string(kind)] == nil {
			continue
		}
		return raiv1.EvaluationStatus{
			Kind: string(kind), Version: version, ModelSHA256: digest, Job: job, State: raiv1.EvaluationSucceeded,
			Reason: raiv1.ReasonEvidenceReused, ReportRef: ev.ReportRef.DeepCopy(), ReportSHA256: ev.ReportSHA256,
			Metrics: headlineMetrics(reports[string(kind)]),
			Message: fmt.Sprintf("version %s was promoted before with the same %s inputs: the report recorded then (DecisionRecord %s, ConfigMap %s) is judged again by the current policy instead of running Job %s",
				version, kind, rec.Name, ev.ReportRef.Name, job),
		}, true, nil
	}
	return raiv1.EvaluationStatus{}, false, nil
}
