package controllers

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
)

// Promotion: roll the serving Deployment to a promotable candidate, follow
// the rollout, and either make the candidate stable or roll back.

// rolloutPhase is where a candidate's rollout stands.
type rolloutPhase string

const (
	rolloutProgressing   rolloutPhase = "Progressing"
	rolloutComplete      rolloutPhase = "Complete"
	rolloutUnschedulable rolloutPhase = "Unschedulable"
	rolloutStuck         rolloutPhase = "Stuck"
)

// rolloutFacts are what the operator observed of a rollout.
type rolloutFacts struct {
	// Deployment is the serving Deployment, already running the
	// candidate's template.
	Deployment *appsv1.Deployment
	// Unschedulable is the scheduler's message for a candidate pod that
	// cannot be placed; empty when none.
	Unschedulable string
}

// rolloutVerdict decides where a rollout stands. Pure.
func rolloutVerdict(f rolloutFacts) (rolloutPhase, string) {
	d := f.Deployment
	current := d.Status.ObservedGeneration >= d.Generation
	for _, c := range d.Status.Conditions {
		if current && c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == "ProgressDeadlineExceeded" {
			msg := fmt.Sprintf("Deployment %s: ProgressDeadlineExceeded, no progress within %ds: %s", d.Name, ptr.Deref(d.Spec.ProgressDeadlineSeconds, 600), c.Message)
			if f.Unschedulable != "" {
				// Why it made no progress matters more than that it did not.
				msg = fmt.Sprintf("%s (%s); %s", raiv1.ReasonGPUUnschedulable, f.Unschedulable, msg)
			}
			return rolloutStuck, msg
		}
	}
	want := ptr.Deref(d.Spec.Replicas, 1)
	if current && d.Status.UpdatedReplicas >= want && d.Status.Replicas <= d.Status.UpdatedReplicas && d.Status.AvailableReplicas >= d.Status.UpdatedReplicas {
		return rolloutComplete, fmt.Sprintf("%d of %d pods updated and available", d.Status.AvailableReplicas, want)
	}
	if f.Unschedulable != "" {
		return rolloutUnschedulable, f.Unschedulable
	}
	return rolloutProgressing, fmt.Sprintf("%d of %d pods updated, %d available", d.Status.UpdatedReplicas, want, d.Status.AvailableReplicas)
}

// unschedulableMessage returns the scheduler's message for the first pod
// that is Pending because it cannot be scheduled.
func unschedulableMessage(pods []corev1.Pod) string {
	for _, p := range pods {
		if p.Status.Phase != corev1.PodPending {
			continue
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
				return fmt.Sprintf("pod %s cannot be scheduled: %s", p.Name, c.Message)
			}
		}
	}
	return ""
}

// promote makes the candidate the stable version.
func (r *ResponsibleModelReconciler) promote(ctx context.Context, s *scope, msg string) error {
	obj := s.obj
	st := &obj.Status
	version := st.CandidateVersion
	now := metav1.NewTime(r.now())
	digest := st.CandidateModelSHA256
	decisionID := ""
	if st.LastDecision != nil && st.LastDecision.Version == version && st.LastDecision.ModelSHA256 == digest {
		decisionID = st.LastDecision.ID
	}
	from := st.StableVersion
	st.PreviousVersion = st.StableVersion
	st.StableVersion, st.StableModelURI, st.StableModelSHA256 = version, string(obj.Spec.Model.URI), digest
	st.StableTextModel = obj.Spec.Model.TextModel()
	// The evidence the version is promoted on, with the digests read from
	// the Jobs' pods: what the compliance re-check and the model card may
	// read later.
	var judged []raiv1.EvaluationStatus
	for _, k := range requestedKinds(&obj.Spec) {
		if e := findEvaluation(st.Evaluations, string(k)); e != nil {
			judged = append(judged, *e)
		}
	}
	st.StableEvidence = evidenceRecords(judged)
	st.CandidateVersion, st.CandidateModelSHA256, st.CandidateSince = "", "", nil
	if st.Serving != nil {
		st.Serving.Version = version
	}
	how := "allowed by the policy"
	if a := s.ApprovedBy; a != nil {
		how = fmt.Sprintf("allowed by the policy and approved by %s (ModelApproval %s: %s)", a.Spec.Approver, a.Name, a.Spec.Reason)
	}
	reason := raiv1.ReasonPromoted
	if s.ApprovedBy != nil {
		reason = raiv1.ReasonApproved
	}
	switch d := st.LastDecision; {
	case d == nil || d.Allowed:
	case inconclusive(d) && s.ApprovedBy != nil:
		a := s.ApprovedBy
		how = fmt.Sprintf("found inconclusive by the policy and approved by %s (ModelApproval %s: %s)", a.Spec.Approver, a.Name, a.Spec.Reason)
	default:
		how = fmt.Sprintf("denied by the policy but promoted under enforcement %s", d.Enforcement)
	}
	if a := s.OverriddenBy; a != nil {
		reason = raiv1.ReasonOverridden
		how = fmt.Sprintf("denied by the policy and promoted past it by a break-glass override of %s (ModelApproval %s: %s)", a.Spec.Approver, a.Name, a.Spec.Reason)
		r.eventAfterStatusPatch(ctx, obj, a, corev1.EventTypeWarning, raiv1.ReasonOverridden, "Override",
			"version %s was denied by the policy and is promoted by a break-glass override of %s: %s; it stays non-compliant until a passing version replaces it", version, a.Spec.Approver, a.Spec.Reason)
	}
	if err := r.recordAction(ctx, obj, raiv1.HistoryEntry{Version: version, ModelSHA256: digest, Action: raiv1.HistoryPromoted, DecisionID: decisionID,
		Reason: reason, Message: truncate(fmt.Sprintf("%s; rollout: %s", how, msg), 1024), Time: now}, st.StableEvidence); err != nil {
		return err
	}
	s.Promoted = true
	s.PromotedMessage = fmt.Sprintf("version %s (sha256 %s) serves (%s, decision %s)", version, shortDigest(digest), how, shortID(decisionID))
	afterStatusPatch(ctx, promotionsTotal.Inc)
	logAfterStatusPatch(ctx, "promoted", "decisionID", decisionID, "version", version, "previousVersion", from)
	eventType := corev1.EventTypeNormal
	if st.LastDecision != nil && !st.LastDecision.Allowed && s.ApprovedBy == nil {
		eventType = corev1.EventTypeWarning
	}
	r.eventAfterStatusPatch(ctx, obj, nil, eventType, raiv1.ReasonPromoted, "Promote", "version %s promoted (decision %s, %s); previous version %q",
		version, shortID(decisionID), how, from)
	return nil
}

// rollBack returns the Deployment to the stable version (or removes it when
// there is none) and marks the candidate failed until the spec or the retry
// annotation changes.
func (r *ResponsibleModelReconciler) rollBack(ctx context.Context, s *scope, msg string) error {
	obj := s.obj
	st := &obj.Status
	version := st.CandidateVersion
	st.FailedVersion, st.FailedModelSHA256 = version, st.CandidateModelSHA256
	s.Blocked = true
	now := metav1.NewTime(r.now())
	decisionID := ""
	if st.LastDecision != nil {
		decisionID = st.LastDecision.ID
	}
	if st.StableVersion != "" {
		if err := r.restoreStable(ctx, obj); err != nil {
			return fmt.Errorf("roll back to version %s: %w", st.StableVersion, err)
		}
	} else if err := r.removeServing(ctx, obj); err != nil {
		return fmt.Errorf("roll back version %s: %w", version, err)
	}
	back := keepsServing(st)
	if err := r.recordAction(ctx, obj, raiv1.HistoryEntry{Version: version, ModelSHA256: st.CandidateModelSHA256, Action: raiv1.HistoryRolledBack, DecisionID: decisionID,
		Reason: raiv1.ReasonRolledBack, Message: truncate(msg+"; "+back, 1024), Time: now}, evidenceRecords(st.Evaluations)); err != nil {
		return err
	}
	message := fmt.Sprintf("version %s was rolled back: %s; %s. Set the %s annotation to a new value, or change the version, to try again",
		version, msg, back, raiv1.AnnotationRetryEvaluations)
	s.RolledBack = message
	if st.Serving != nil {
		st.Serving.Version = st.StableVersion
	}
	afterStatusPatch(ctx, rollbacksTotal.Inc)
	logAfterStatusPatch(ctx, "rolled back", "decisionID", decisionID, "version", version, "to", st.StableVersion, "reason", msg)
	r.eventAfterStatusPatch(ctx, obj, nil, corev1.EventTypeWarning, raiv1.ReasonRolledBack, "RollBack", "%s", message)
	return nil
}

// keepDeployment returns the serving Deployment as it is, creating it for m
// from the spec only when it is missing. A Deployment whose template runs
// another version (a candidate that is no longer promotable: denied by a
// changed policy, or replaced by a newer candidate) goes back to the stable
// version's template.
func (r *ResponsibleModelReconciler) keepDeployment(ctx context.Context, obj *raiv1.ResponsibleModel, m servedModel) (*appsv1.Deployment, error) {
	key := client.ObjectKey{Namespace: obj.Namespace, Name: servingName(obj.Name)}
	got := &appsv1.Deployment{}
	err := r.Get(ctx, key, got)
	if apierrors.IsNotFound(err) {
		return r.applyDeployment(ctx, obj, m)
	}
	if err != nil {
		return nil, fmt.Errorf("get serving Deployment: %w", err)
	}
	if servesModel(&got.Spec.Template, m) {
		return got, nil
	}
	if err := r.restoreStable(ctx, obj); err != nil {
		return nil, fmt.Errorf("return the serving Deployment to version %s: %w", m.Version, err)
	}
	if err := r.APIReader.Get(ctx, key, got); err != nil {
		return nil, fmt.Errorf("get serving Deployment: %w", err)
	}
	return got, nil
}

// restoreStable rolls the serving Deployment back to the pod template the
// stable version last ran with, as `kubectl rollout undo` does: from the
// newest ReplicaSet of the Deployment whose pods carry the stable version.
// The spec cannot say what that was: it now describes the candidate (its
// GPUs, say). Without such a ReplicaSet it builds the stable version from
// the spec.
func (r *ResponsibleModelReconciler) restoreStable(ctx context.Context, obj *raiv1.ResponsibleModel) error {
	st := &obj.Status
	stable := *stableServed(st)
	dep := &appsv1.Deployment{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: obj.Namespace, Name: servingName(obj.Name)}, dep); err != nil {
		if apierrors.IsNotFound(err) {
			_, err = r.applyDeployment(ctx, obj, stable)
			return err
		}
		return fmt.Errorf("get serving Deployment: %w", err)
	}
	sets := &appsv1.ReplicaSetList{}
	if err := r.APIReader.List(ctx, sets, client.InNamespace(obj.Namespace),
		client.MatchingLabels{raiv1.LabelModel: obj.Name, raiv1.LabelComponent: "serving", raiv1.LabelVersion: st.StableVersion, LabelModelDigest: digestLabel(st.StableModelSHA256)}); err != nil {
		return fmt.Errorf("list the ReplicaSets of version %s: %w", st.StableVersion, err)
	}
	template := stableTemplate(dep, sets.Items, stable)
	if template == nil {
		_, err := r.applyDeployment(ctx, obj, stable)
		return err
	}
	dep.Spec.Template = *template
	if err := r.Update(ctx, dep); err != nil {
		return fmt.Errorf("restore the pod template of version %s: %w", st.StableVersion, err)
	}
	return nil
}

// stableTemplate returns the pod template of the newest (highest revision)
// ReplicaSet owned by dep among sets that serves the stable model, without the pod-template-hash label
// the Deployment controller adds; nil when there is none. Pure.
func stableTemplate(dep *appsv1.Deployment, sets []appsv1.ReplicaSet, stable servedModel) *corev1.PodTemplateSpec {
	var best *appsv1.ReplicaSet
	bestRev := -1
	for i := range sets {
		rs := &sets[i]
		if !metav1.IsControlledBy(rs, dep) || !servesModel(&rs.Spec.Template, stable) {
			continue
		}
		rev, err := strconv.Atoi(rs.Annotations["deployment.kubernetes.io/revision"])
		if err != nil {
			rev = 0
		}
		if rev > bestRev {
			best, bestRev = rs, rev
		}
	}
	if best == nil {
		return nil
	}
	t := best.Spec.Template.DeepCopy()
	delete(t.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	return t
}

// appendHistory adds an entry, keeping the newest raiv1.MaxHistory.
func appendHistory(obj *raiv1.ResponsibleModel, e raiv1.HistoryEntry) {
	h := append(obj.Status.History, e)
	if len(h) > raiv1.MaxHistory {
		h = h[len(h)-raiv1.MaxHistory:]
	}
	obj.Status.History = h
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n-3], "") + "..."
}

func (r *ResponsibleModelReconciler) rolloutPoll() time.Duration {
	if r.RolloutPollInterval > 0 {
		return r.RolloutPollInterval
	}
	return 10 * time.Second
}
