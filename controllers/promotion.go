package controllers

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

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

// reconcileServing keeps the serving Deployment and Service on the version
// that should serve, and follows a candidate's rollout.
//
// It records the rollout's phase (s.Rollout) while a promotable candidate
// rolls out, makes the candidate stable when the rollout completes
// (s.Promoted) and rolls it back when it is stuck (s.RolledBack). It
// requeues while a rollout is in progress, to look at its pods.
func (r *ResponsibleModelReconciler) reconcileServing(ctx context.Context, s *scope) (ctrl.Result, error) {
	obj := s.obj
	st := &obj.Status
	candidate := st.CandidateVersion
	// rollingOut: the candidate (its version and digest) is what should
	// serve. Whatever else holds, the stable version serves, as it was
	// promoted.
	rollingOut := candidate != "" && s.Promotable && !s.Blocked
	var target *servedModel
	switch {
	case rollingOut:
		target = &servedModel{Version: candidate, URI: string(obj.Spec.Model.URI), SHA256: st.CandidateModelSHA256}
	case st.StableVersion != "":
		target = &servedModel{Version: st.StableVersion, URI: st.StableModelURI, SHA256: st.StableModelSHA256}
	}
	if target == nil {
		if err := r.removeServing(ctx, obj); err != nil {
			return ctrl.Result{}, err
		}
		return ctrl.Result{}, nil
	}
	if err := r.applyService(ctx, obj); err != nil {
		return ctrl.Result{}, err
	}
	var dep *appsv1.Deployment
	var err error
	if !rollingOut && candidate != "" {
		// spec.serving now describes the candidate: the stable version
		// keeps the template it was promoted with until the candidate is
		// promoted (or a rollback restores it).
		dep, err = r.keepDeployment(ctx, obj, *target)
	} else {
		dep, err = r.applyDeployment(ctx, obj, *target)
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	setServingStatus(obj, dep, target.Version)

	if !rollingOut {
		return ctrl.Result{}, nil
	}

	facts := rolloutFacts{Deployment: dep}
	if phase, _ := rolloutVerdict(facts); phase != rolloutComplete {
		pods := &corev1.PodList{}
		if err := r.APIReader.List(ctx, pods, client.InNamespace(obj.Namespace),
			client.MatchingLabels{raiv1.LabelModel: obj.Name, raiv1.LabelComponent: "serving", raiv1.LabelVersion: candidate}); err != nil {
			return ctrl.Result{}, fmt.Errorf("list the serving pods of version %s: %w", candidate, err)
		}
		facts.Unschedulable = unschedulableMessage(pods.Items)
	}
	phase, msg := rolloutVerdict(facts)
	switch phase {
	case rolloutComplete:
		r.promote(ctx, s, msg)
		return ctrl.Result{}, nil
	case rolloutStuck:
		return ctrl.Result{}, r.rollBack(ctx, s, msg)
	}
	s.Rollout = &rolloutObservation{Phase: phase, Message: msg}
	return ctrl.Result{RequeueAfter: r.rolloutPoll()}, nil
}

// promote makes the candidate the stable version.
func (r *ResponsibleModelReconciler) promote(ctx context.Context, s *scope, msg string) {
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
	// The evidence the version is promoted on, with the digests read from
	// the Jobs' pods: what the compliance re-check and the model card may
	// read later.
	st.StableEvidence = nil
	for _, k := range requestedKinds(&obj.Spec) {
		if e := findEvaluation(st.Evaluations, string(k)); e != nil {
			st.StableEvidence = append(st.StableEvidence, evidenceRecords([]raiv1.EvaluationStatus{*e})...)
		}
	}
	st.CandidateVersion, st.CandidateModelSHA256, st.CandidateSince = "", "", nil
	if st.Serving != nil {
		st.Serving.Version = version
	}
	how := "allowed by the policy"
	if st.LastDecision != nil && !st.LastDecision.Allowed {
		how = fmt.Sprintf("denied by the policy but promoted under enforcement %s", st.LastDecision.Enforcement)
	}
	appendHistory(obj, raiv1.HistoryEntry{Version: version, ModelSHA256: digest, Action: raiv1.HistoryPromoted, DecisionID: decisionID,
		Reason: raiv1.ReasonPromoted, Message: truncate(fmt.Sprintf("%s; rollout: %s", how, msg), 1024), Time: now})
	s.Promoted = true
	s.PromotedMessage = fmt.Sprintf("version %s (sha256 %s) serves (%s, decision %s)", version, shortDigest(digest), how, shortID(decisionID))
	afterStatusPatch(ctx, promotionsTotal.Inc)
	logAfterStatusPatch(ctx, "promoted", "decisionID", decisionID, "version", version, "previousVersion", from)
	eventType := corev1.EventTypeNormal
	if st.LastDecision != nil && !st.LastDecision.Allowed {
		eventType = corev1.EventTypeWarning
	}
	r.eventAfterStatusPatch(ctx, obj, nil, eventType, raiv1.ReasonPromoted, "Promote", "version %s promoted (decision %s, %s); previous version %q",
		version, shortID(decisionID), how, from)
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
	appendHistory(obj, raiv1.HistoryEntry{Version: version, ModelSHA256: st.CandidateModelSHA256, Action: raiv1.HistoryRolledBack, DecisionID: decisionID,
		Reason: raiv1.ReasonRolledBack, Message: truncate(msg+"; "+back, 1024), Time: now})
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
	stable := servedModel{Version: st.StableVersion, URI: st.StableModelURI, SHA256: st.StableModelSHA256}
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

// applyDeployment creates or updates the serving Deployment for m. It
// writes only when the desired spec differs from what the API server holds.
func (r *ResponsibleModelReconciler) applyDeployment(ctx context.Context, obj *raiv1.ResponsibleModel, m servedModel) (*appsv1.Deployment, error) {
	want := buildServingDeployment(obj, m, r.EvaluationJobs.Image)
	if err := controllerutil.SetControllerReference(obj, want, r.Scheme); err != nil {
		return nil, fmt.Errorf("own serving Deployment: %w", err)
	}
	got := &appsv1.Deployment{}
	err := r.Get(ctx, client.ObjectKeyFromObject(want), got)
	if apierrors.IsNotFound(err) {
		if err := r.Create(ctx, want); err != nil {
			return nil, specRefused(err, "create serving Deployment %q for version %s", want.Name, m.Version)
		}
		return want, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get serving Deployment %q: %w", want.Name, err)
	}
	if equality.Semantic.DeepDerivative(want.Spec, got.Spec) && equality.Semantic.DeepDerivative(want.Labels, got.Labels) {
		return got, nil
	}
	got.Spec = want.Spec
	got.Labels = want.Labels
	got.OwnerReferences = want.OwnerReferences
	if err := r.Update(ctx, got); err != nil {
		return nil, specRefused(err, "update serving Deployment %q to version %s", want.Name, m.Version)
	}
	return got, nil
}

// applyService creates or updates the serving Service.
func (r *ResponsibleModelReconciler) applyService(ctx context.Context, obj *raiv1.ResponsibleModel) error {
	want := buildService(obj)
	if err := controllerutil.SetControllerReference(obj, want, r.Scheme); err != nil {
		return fmt.Errorf("own serving Service: %w", err)
	}
	got := &corev1.Service{}
	err := r.Get(ctx, client.ObjectKeyFromObject(want), got)
	if apierrors.IsNotFound(err) {
		if err := r.Create(ctx, want); err != nil {
			return specRefused(err, "create serving Service %q", want.Name)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("get serving Service %q: %w", want.Name, err)
	}
	if equality.Semantic.DeepDerivative(want.Spec, got.Spec) {
		return nil
	}
	got.Spec.Ports, got.Spec.Selector, got.Labels = want.Spec.Ports, want.Spec.Selector, want.Labels
	if err := r.Update(ctx, got); err != nil {
		return fmt.Errorf("update serving Service %q: %w", want.Name, err)
	}
	return nil
}

// removeServing deletes the serving Deployment and Service: nothing may
// serve.
func (r *ResponsibleModelReconciler) removeServing(ctx context.Context, obj *raiv1.ResponsibleModel) error {
	name := servingName(obj.Name)
	for _, o := range []client.Object{
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: obj.Namespace}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: obj.Namespace}},
	} {
		if err := r.Get(ctx, client.ObjectKeyFromObject(o), o); apierrors.IsNotFound(err) {
			continue
		} else if err != nil {
			return fmt.Errorf("get serving %T %q: %w", o, name, err)
		}
		if err := r.Delete(ctx, o); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("delete serving %T %q: %w", o, name, err)
		}
	}
	obj.Status.Serving = nil
	return nil
}

// setServingStatus summarizes the Deployment in status.serving.
func setServingStatus(obj *raiv1.ResponsibleModel, dep *appsv1.Deployment, version string) {
	obj.Status.Serving = &raiv1.ServingStatus{
		Deployment:    dep.Name,
		Service:       dep.Name,
		URL:           inferenceURL(obj),
		Replicas:      ptr.Deref(dep.Spec.Replicas, 1),
		ReadyReplicas: dep.Status.ReadyReplicas,
		Version:       version,
	}
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
