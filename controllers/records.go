package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/decisionchain"
	"github.com/responsible-ai/rmodel-operator/policies"
)

// The record of what the operator decided and did. Every promotion, denial
// and rollback is appended to the model's chain of immutable DecisionRecords
// (each names its predecessor's hash; admission lets only the operator
// create them; they are not owned by the model, so they outlive it), and
// its head is kept in status.decisionChain. `rai audit verify-decisions`
// checks an export offline. Decisions are also written as OPA decision-log
// lines to the DecisionLog sink.

// decisionRecordName names a model's record: the model's UID keeps a
// re-created model's chain apart.
func decisionRecordName(obj *raiv1.ResponsibleModel, seq int64) string {
	uid := string(obj.UID)
	if len(uid) > 8 {
		uid = uid[:8]
	}
	return boundedName(obj.Name, uid, fmt.Sprintf("%06d", seq))
}

// recordAction adds entry to the model's history and its DecisionRecord
// chain, and moves status.decisionChain to it.
func (r *ResponsibleModelReconciler) recordAction(ctx context.Context, obj *raiv1.ResponsibleModel, entry raiv1.HistoryEntry, evidence []raiv1.EvidenceRecord) error {
	appendHistory(obj, entry)
	st := &obj.Status
	head := st.DecisionChain
	if head == nil {
		head = &raiv1.DecisionChainHead{Hash: decisionchain.GenesisHash}
	}
	spec := raiv1.DecisionRecordSpec{
		Model: obj.Name, ModelUID: string(obj.UID), Sequence: head.Count + 1, PreviousHash: head.Hash,
		Time: entry.Time, Action: raiv1.DecisionAction(entry.Action), Reason: entry.Reason, Message: truncate(entry.Message, 4096),
		Version: entry.Version, ModelSHA256: entry.ModelSHA256, DecisionID: entry.DecisionID, Evidence: evidence,
	}
	if d := st.LastDecision; d != nil && d.ID == entry.DecisionID && d.Version == entry.Version {
		spec.PolicyDigest, spec.PromotionPolicies, spec.Allowed, spec.Enforcement, spec.Violations = d.PolicyDigest, d.PromotionPolicies, d.Allowed, d.Enforcement, d.Violations
		spec.InputSHA256, spec.Inconclusive = d.InputSHA256, d.Inconclusive
	}
	if entry.Version == obj.Spec.Version && entry.ModelSHA256 == string(obj.Spec.Model.SHA256) {
		spec.ModelURI = string(obj.Spec.Model.URI)
		spec.TextModel = obj.Spec.Model.TextModel()
	}
	// The API server stores times to the second: seal what it will hold.
	spec.Time = metav1.NewTime(spec.Time.UTC().Truncate(time.Second))
	if err := decisionchain.Seal(&spec); err != nil {
		return err
	}
	rec := &raiv1.DecisionRecord{
		ObjectMeta: metav1.ObjectMeta{Name: decisionRecordName(obj, spec.Sequence), Namespace: obj.Namespace, Labels: map[string]string{
			raiv1.LabelModel: obj.Name, raiv1.LabelVersion: entry.Version, raiv1.LabelComponent: "decision-record", raiv1.LabelManagedBy: managerName}},
		Spec: spec,
	}
	if err := r.Create(ctx, rec); apierrors.IsAlreadyExists(err) {
		// A reconcile whose status patch was lost wrote it already: adopt
		// it when it continues this chain with the same decision.
		got := &raiv1.DecisionRecord{}
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(rec), got); err != nil {
			return fmt.Errorf("read decision record %s: %w", rec.Name, err)
		}
		if got.Spec.PreviousHash != spec.PreviousHash || got.Spec.DecisionID != spec.DecisionID || got.Spec.Action != spec.Action || got.Spec.ModelUID != spec.ModelUID {
			return fmt.Errorf("decision record %s exists and does not continue the chain of model %s at %d", rec.Name, obj.Name, spec.Sequence)
		}
		spec = got.Spec
	} else if err != nil {
		return fmt.Errorf("create decision record %s: %w", rec.Name, err)
	}
	oldest := head.Oldest
	if oldest == nil {
		oldest = spec.Time.DeepCopy()
	}
	st.DecisionChain = &raiv1.DecisionChainHead{Count: spec.Sequence, Hash: spec.Hash, Last: rec.Name, Oldest: oldest, PrunedThrough: head.PrunedThrough}
	return nil
}

// inputDigest is the sha256 of the policy input's JSON (Go's encoding sorts
// map keys).
func inputDigest(input map[string]any) string {
	b, err := json.Marshal(input)
	if err != nil {
		return ""
	}
	return digestOf(b)
}

// reconcileDecisionRetention removes a model's DecisionRecords older than
// DecisionRetention (the newest always stays), oldest first, and records in
// status.decisionChain.prunedThrough the last one removed, so that the
// chain that remains still verifies from it. It sets no condition and does
// nothing without a retention or a chain.
func (r *ResponsibleModelReconciler) reconcileDecisionRetention(ctx context.Context, s *scope) (ctrl.Result, error) {
	head := s.obj.Status.DecisionChain
	cutoff := s.now.Add(-r.DecisionRetention)
	if r.DecisionRetention <= 0 || head == nil || head.Count < 2 || head.Oldest != nil && !head.Oldest.Time.Before(cutoff) {
		return ctrl.Result{}, nil
	}
	// Only when a record is due: read past the cache, so that the manager
	// keeps no copy of every record of every model.
	list := &raiv1.DecisionRecordList{}
	if err := r.APIReader.List(ctx, list, client.InNamespace(s.obj.Namespace), client.MatchingLabels{raiv1.LabelModel: s.obj.Name}); err != nil {
		return ctrl.Result{}, fmt.Errorf("list decision records: %w", err)
	}
	var chain []raiv1.DecisionRecord
	for _, rec := range list.Items {
		if rec.Spec.ModelUID == string(s.obj.UID) {
			chain = append(chain, rec)
		}
	}
	slices.SortFunc(chain, func(a, b raiv1.DecisionRecord) int { return int(a.Spec.Sequence - b.Spec.Sequence) })
	for _, rec := range chain {
		if rec.Spec.Sequence >= head.Count || !rec.Spec.Time.Time.Before(cutoff) {
			head.Oldest = rec.Spec.Time.DeepCopy()
			break
		}
		if err := r.Delete(ctx, &rec, client.Preconditions{UID: &rec.UID}); client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, fmt.Errorf("remove decision record %s past its retention: %w", rec.Name, err)
		}
		head.PrunedThrough = &raiv1.DecisionChainMark{Sequence: rec.Spec.Sequence, Hash: rec.Spec.Hash}
	}
	return ctrl.Result{}, nil
}

// DecisionLog receives one OPA decision-log event per decision (OPA's
// schema: decision_id, path, input, result, bundles, timestamp, labels),
// so that OPA's log tooling can ingest them.
type DecisionLog interface {
	Log(event DecisionEvent)
}

// DecisionEvent is one line of the decision log, in OPA's schema.
type DecisionEvent struct {
	DecisionID string                       `json:"decision_id"`
	Path       string                       `json:"path"`
	Input      map[string]any               `json:"input"`
	Result     any                          `json:"result"`
	Bundles    map[string]map[string]string `json:"bundles"`
	Timestamp  time.Time                    `json:"timestamp"`
	Labels     map[string]string            `json:"labels"`
}

// decisionEvent is the log line of decision d on input for obj.
func decisionEvent(obj *raiv1.ResponsibleModel, d policies.Decision, input map[string]any, version string, mode raiv1.EnforcementMode, now time.Time) DecisionEvent {
	return DecisionEvent{
		DecisionID: d.ID, Path: "rai/promotion", Input: input,
		Result:    map[string]any{"allow": d.Allow, "violations": d.Violations},
		Bundles:   map[string]map[string]string{"rai": {"revision": d.PolicyDigest}},
		Timestamp: now.UTC(),
		Labels:    map[string]string{"namespace": obj.Namespace, "model": obj.Name, "version": version, "enforcement": string(mode), "id": "rmodel-operator"},
	}
}

// WriterDecisionLog writes each event as one JSON line.
type WriterDecisionLog struct {
	mu sync.Mutex
	W  io.Writer
}

// Log writes event; an encoding or write error is logged, never fatal.
func (l *WriterDecisionLog) Log(event DecisionEvent) {
	b, err := json.Marshal(event)
	if err != nil {
		log.Log.Error(err, "encode decision log event", "decisionID", event.DecisionID)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.W.Write(append(b, '\n')); err != nil {
		log.Log.Error(err, "write decision log event", "decisionID", event.DecisionID)
	}
}
