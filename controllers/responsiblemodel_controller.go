// Package controllers reconciles ResponsibleModels: evaluation Jobs, the
// policy decision, promotion to serving, rollback, the privacy budget and the
// model card. Each concern lives in its own file; this file holds the
// reconcile loop that sequences them.
package controllers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/report"
	"github.com/responsible-ai/rmodel-operator/policies"
)

// Finalizer lets the operator record a model's end (events, metrics) before
// Kubernetes garbage-collects what the model owns.
const Finalizer = "rai.responsible-ai.dev/finalizer"

// ResponsibleModelReconciler reconciles a ResponsibleModel.
type ResponsibleModelReconciler struct {
	client.Client
	// APIReader reads from the API server, past the cache, where the cache
	// can be wrong: to confirm that a Job is gone, to read a finished Job's
	// pods the cache has not caught up with, the model when the cache has
	// not seen the operator's own last write of it, and to charge a budget.
	APIReader client.Reader
	Scheme    *runtime.Scheme
	Recorder  recorder.EventRecorder
	// Engine decides promotions.
	Engine policies.Engine
	// ClusterPolicy names the cluster-wide policy ConfigMap, if any.
	ClusterPolicy *types.NamespacedName
	// EvaluationJobs configures evaluation pods; its Image also runs
	// `rai serve`.
	EvaluationJobs EvaluationJobOptions
	// MaxConcurrentReconciles bounds parallel reconciles (default 4).
	MaxConcurrentReconciles int
	// RolloutPollInterval is how often a rollout's pods are looked at
	// (default 10s).
	RolloutPollInterval time.Duration
	// AuditAnchorInterval is how often the serving pods' audit heads are
	// read into status (default 5m); HTTPClient reads them.
	AuditAnchorInterval time.Duration
	HTTPClient          *http.Client
	// DecisionRetention is how long DecisionRecords are kept (0: for
	// ever); the newest record of a model always stays.
	DecisionRetention time.Duration
	// DecisionLog receives an OPA decision-log event per decision; nil
	// writes none.
	DecisionLog DecisionLog
	// PodLogs reads the reference evaluation's summary from its pod's log.
	PodLogs PodLogs
	// Now returns the current time; tests replace it.
	Now func() time.Time

	// writes are the resourceVersions of the operator's own last writes of
	// each model.
	writes ownWrites
}

// scope is what one reconcile learned, shared by its steps (Cluster API's
// scope): steps record facts here and on obj.Status; pure functions decide
// conditions from them.
type scope struct {
	obj *raiv1.ResponsibleModel
	now time.Time
	// verdictFacts are what the steps observed and did; decideConditions
	// turns them (and the status) into every condition at the end.
	verdictFacts
	// candidateReports are the reports the decision judges, read through
	// verifiedEvidence once evaluationsDone; a failed evaluation is a
	// synthesized Error report.
	candidateReports map[string]*report.Report
	// budget is the candidate's PrivacyBudget view, nil without one.
	budget *budgetView
	// ApprovedBy is the approval the candidate rolls out on, when a
	// PromotionPolicy requires one.
	ApprovedBy *raiv1.ModelApproval
	// OverriddenBy is the break-glass override the denied candidate rolls
	// out on.
	OverriddenBy *raiv1.ModelApproval
}

// subReconciler is one step of a reconcile. It acts, and records what it
// observed and did on the scope and in obj.Status (never a condition: those
// are decided at the end, from the facts, by decideConditions). It returns a
// result that asks for a requeue, or an error. An error stops the steps
// after it; a requeue does not (the shortest requeue wins).
type subReconciler func(ctx context.Context, s *scope) (ctrl.Result, error)

// stalledError is an error the user must fix in the spec (the API server
// refused what it describes): retrying does not help, so the reconcile ends
// without requeue, with Stalled=True and this reason and message.
type stalledError struct {
	Reason, Message string
}

func (e *stalledError) Error() string { return e.Reason + ": " + e.Message }

// specRefused turns the API server's refusal of an object the spec
// describes into a stalledError; other errors pass through.
func specRefused(err error, format string, args ...any) error {
	if apierrors.IsInvalid(err) {
		return &stalledError{Reason: raiv1.ReasonInvalidSpec, Message: fmt.Sprintf(format, args...) + ": " + err.Error()}
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

// +kubebuilder:rbac:groups=rai.responsible-ai.dev,resources=responsiblemodels,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=rai.responsible-ai.dev,resources=responsiblemodels/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=rai.responsible-ai.dev,resources=responsiblemodels/finalizers,verbs=update
// +kubebuilder:rbac:groups=rai.responsible-ai.dev,resources=privacybudgets,verbs=get;list;watch
// +kubebuilder:rbac:groups=rai.responsible-ai.dev,resources=promotionpolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups=rai.responsible-ai.dev,resources=modelapprovals,verbs=get;list;watch
// +kubebuilder:rbac:groups=rai.responsible-ai.dev,resources=decisionrecords,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups=rai.responsible-ai.dev,resources=privacybudgets/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=pods/log,verbs=get
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;update;delete
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;update;delete
// +kubebuilder:rbac:groups=apps,resources=replicasets,verbs=get;list
// +kubebuilder:rbac:groups=resource.k8s.io,resources=resourceclaimtemplates,verbs=get;create
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

// Reconcile brings one ResponsibleModel closer to its spec. It patches the
// status once, at the end, whatever happened.
func (r *ResponsibleModelReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	logger := log.FromContext(ctx)

	// The model is read from the cache unless the cache has not yet seen
	// the operator's own last write of it: then from the API server (see
	// ownWrites for why a status older than the last patch must not be
	// acted on).
	obj := &raiv1.ResponsibleModel{}
	if err := r.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			r.writes.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if r.writes.behind(req.NamespacedName, obj.ResourceVersion) {
		logger.V(1).Info("the cache has not seen the operator's last write of the model; reading it from the API server", "resourceVersion", obj.ResourceVersion)
		if err := r.APIReader.Get(ctx, req.NamespacedName, obj); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
	}

	if !obj.DeletionTimestamp.IsZero() {
		return r.reconcileDelete(ctx, obj)
	}
	// A namespace being deleted takes its budgets, policies and evidence
	// with it in no particular order: judging models meanwhile would only
	// record spurious denials (BudgetNotFound, EvaluationMissing).
	if ns := (&corev1.Namespace{}); r.Get(ctx, client.ObjectKey{Name: obj.Namespace}, ns) == nil && ns.Status.Phase == corev1.NamespaceTerminating {
		logger.V(1).Info("namespace is terminating; the model is not judged")
		return ctrl.Result{}, nil
	}

	// The finalizer is added with its own patch, before any work, so that a
	// model is never left with owned resources and no finalizer.
	if !controllerutil.ContainsFinalizer(obj, Finalizer) {
		patch := client.MergeFrom(obj.DeepCopy())
		controllerutil.AddFinalizer(obj, Finalizer)
		if err := r.Patch(ctx, obj, patch); err != nil {
			return ctrl.Result{}, fmt.Errorf("add finalizer: %w", err)
		}
		r.writes.record(req.NamespacedName, obj.ResourceVersion)
	}

	ctx, announcements := withOutbox(withWrittenEvidence(ctx))
	orig := obj.DeepCopy()
	statusPatch := client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})
	s := &scope{obj: obj, now: r.now()}
	s.Kinds = requestedKinds(&obj.Spec)
	defer func() {
		var stalled *stalledError
		if errors.As(retErr, &stalled) {
			s.InvalidSpec = stalled
		}
		// Conditions are decided only from a complete set of facts: after
		// a generic error they stay as they were, and it is retried.
		if retErr == nil || stalled != nil {
			decideConditions(obj, s.verdictFacts, s.now)
			obj.Status.ObservedGeneration = obj.Generation
		}
		switch err := r.patchStatus(ctx, orig, obj, statusPatch); {
		case err == nil:
			announcements.flush()
		case apierrors.IsConflict(err):
			// The model changed while this run worked (its spec or
			// annotations were edited). This run's status is not recorded
			// and its announcements are dropped; its watch event, or this
			// requeue, runs it again on the fresh object.
			logger.V(1).Info("status patch conflict; reconciling again")
			if retErr == nil {
				result = ctrl.Result{RequeueAfter: time.Second}
			}
		case !apierrors.IsNotFound(err):
			retErr = kerrors.NewAggregate([]error{retErr, fmt.Errorf("patch status: %w", err)})
		}
		if stalled != nil {
			logger.Info("reconcile stalled: the spec must change", "reason", stalled.Reason, "message", stalled.Message)
			retErr = nil
		}
	}()

	initConditions(obj, r.now())

	if obj.Spec.Suspend {
		s.Suspended = true
		return ctrl.Result{}, nil
	}

	for _, step := range r.steps() {
		res, err := step(ctx, s)
		if err != nil {
			return ctrl.Result{}, err
		}
		result = shortest(result, res)
	}
	return result, nil
}

// steps lists the sub-reconcilers in the order a version's life needs them.
func (r *ResponsibleModelReconciler) steps() []subReconciler {
	return []subReconciler{
		r.reconcileCandidate,
		r.reconcileEvaluationsStep,
		r.reconcileDecision,
		r.reconcileBudget,
		r.reconcileServing,
		r.reconcileAuditAnchors,
		r.reconcileMonitoring,
		r.reconcileCompliance,
		r.reconcileModelCard,
		r.reconcileDecisionRetention,
	}
}

// shortest keeps the earliest requeue of two results.
func shortest(a, b ctrl.Result) ctrl.Result {
	switch {
	case a.IsZero():
		return b
	case b.IsZero():
		return a
	case b.RequeueAfter > 0 && b.RequeueAfter < a.RequeueAfter:
		return b
	}
	return a
}

// reconcileCandidate decides what the candidate is: spec.version with the
// spec's model digest, unless that pair is what serves. A version is its
// artifact: the same version name with another digest is a new candidate
// that goes through the whole gate.
//
// It resets the candidate's evaluations when the candidate changes, and
// sets s.Blocked when the candidate is a version that was rolled back. It
// never stops the steps.
func (r *ResponsibleModelReconciler) reconcileCandidate(ctx context.Context, s *scope) (ctrl.Result, error) {
	obj := s.obj
	st := &obj.Status
	candidate, digest := obj.Spec.Version, string(obj.Spec.Model.SHA256)
	// A text model's tokenizer, labels and length are part of what is
	// judged: the stable version with others is a new candidate (admission
	// lets them change only with spec.version, so this is a return to the
	// stable version's name with another configuration).
	if candidate == st.StableVersion && digest == st.StableModelSHA256 && sameTextModel(obj.Spec.Model.TextModel(), st.StableTextModel) {
		candidate, digest = "", ""
	}
	if candidate != st.CandidateVersion || digest != st.CandidateModelSHA256 {
		st.CandidateVersion, st.CandidateModelSHA256 = candidate, digest
		st.CandidateSince = nil
		if candidate != "" {
			now := metav1.NewTime(s.now)
			st.CandidateSince = &now
			st.Evaluations = nil
		}
	}
	if candidate != "" && st.FailedVersion == candidate && st.FailedModelSHA256 == digest &&
		obj.Annotations[raiv1.AnnotationRetryEvaluations] == st.ObservedRetry {
		s.Blocked = true
	}
	return ctrl.Result{}, nil
}

// sameTextModel reports whether two text-model configurations answer
// alike: the same task, tokenizer content, labels and length. Like the
// model's, the tokenizer's URI is where it is read from, not what it is.
func sameTextModel(a, b *raiv1.TextModelConfig) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Task == b.Task && a.Tokenizer.SHA256 == b.Tokenizer.SHA256 && slices.Equal(a.Labels, b.Labels) &&
		ptr.Deref(a.MaxLength, 0) == ptr.Deref(b.MaxLength, 0)
}

// reconcileEvaluationsStep runs the candidate's evaluations (evaluations.go)
// and, once every one is done, reads their stored reports through
// verifiedEvidence into s.candidateReports: a report whose stored copy is
// missing or altered turns its evaluation into an Error (EvidenceTampered).
func (r *ResponsibleModelReconciler) reconcileEvaluationsStep(ctx context.Context, s *scope) (ctrl.Result, error) {
	obj := s.obj
	if obj.Status.CandidateVersion == "" || s.Blocked {
		return ctrl.Result{}, nil
	}
	if err := r.reconcileEvaluations(ctx, obj); err != nil {
		return ctrl.Result{}, err
	}
	kinds := s.Kinds
	s.EvaluationsDone = evaluationsDone(kinds, obj.Status.Evaluations)
	if !s.EvaluationsDone {
		for _, e := range obj.Status.Evaluations {
			if e.JobUID == "" {
				// A Job is being replaced: one the operator does not own
				// sends no event when it is gone, so look again.
				return ctrl.Result{RequeueAfter: time.Second}, nil
			}
		}
		return ctrl.Result{}, nil
	}
	reports, tampered, err := r.verifiedEvidence(ctx, obj.Namespace, evidenceRecords(obj.Status.Evaluations))
	if err != nil {
		return ctrl.Result{}, err
	}
	for _, t := range tampered {
		e := findEvaluation(obj.Status.Evaluations, t.Kind)
		e.State, e.Reason, e.Message, e.Metrics = raiv1.EvaluationError, raiv1.ReasonEvidenceTampered, tamperedMessage(t), nil
		r.eventAfterStatusPatch(ctx, obj, nil, corev1.EventTypeWarning, raiv1.ReasonEvidenceTampered, "Evaluate", "version %s: %s", obj.Status.CandidateVersion, t.Message)
		done := *e
		afterStatusPatch(ctx, func() { recordEvaluationTransition(done) })
	}
	for _, k := range kinds {
		if e := findEvaluation(obj.Status.Evaluations, string(k)); e.State != raiv1.EvaluationSucceeded {
			reports[string(k)] = failedReport(*e)
		}
	}
	s.candidateReports = reports
	return ctrl.Result{}, nil
}

// reconcileDelete lets a deleted model go. Owner references garbage-collect
// its Jobs, Deployment, Service and ConfigMaps; privacy budget charges stay
// (the privacy was spent).
func (r *ResponsibleModelReconciler) reconcileDelete(ctx context.Context, obj *raiv1.ResponsibleModel) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(obj, Finalizer) {
		return ctrl.Result{}, nil
	}
	r.Recorder.Eventf(obj, nil, "Normal", "Deleted", "Delete", "model %s deleted; its Jobs, Deployment, Service and ConfigMaps are garbage-collected", obj.Name)
	patch := client.MergeFrom(obj.DeepCopy())
	controllerutil.RemoveFinalizer(obj, Finalizer)
	if err := r.Patch(ctx, obj, patch); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(fmt.Errorf("remove finalizer: %w", err))
	}
	r.writes.forget(client.ObjectKeyFromObject(obj))
	return ctrl.Result{}, nil
}

// patchStatus writes obj's status, unless it is what the reconcile started
// from: then nothing is sent. (An announcement goes with a status change, so
// a skipped patch drops none.)
func (r *ResponsibleModelReconciler) patchStatus(ctx context.Context, orig, obj *raiv1.ResponsibleModel, patch client.Patch) error {
	if equality.Semantic.DeepEqual(orig.Status, obj.Status) {
		return nil
	}
	if err := r.Status().Patch(ctx, obj, patch); err != nil {
		return err
	}
	r.writes.record(client.ObjectKeyFromObject(obj), obj.ResourceVersion)
	return nil
}

func (r *ResponsibleModelReconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// SetupWithManager registers the reconciler and what it watches: the
// model, the Jobs, Deployments, Services and ConfigMaps it owns, the policy
// ConfigMaps models reference (the cluster one maps to every model), and
// the PrivacyBudgets models reference. Pods do not bring a model back (the
// Jobs and Deployments that own them do); the ones with the model label are
// cached (CacheOptions) and read when a Job finishes and while a rollout
// runs.
func (r *ResponsibleModelReconciler) SetupWithManager(mgr ctrl.Manager) error {
	ctx := context.Background()
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &raiv1.ResponsibleModel{}, policyConfigMapIndex, func(o client.Object) []string {
		if ref := o.(*raiv1.ResponsibleModel).Spec.Policy.ConfigMapRef; ref != nil {
			return []string{ref.Name}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("index models by policy ConfigMap: %w", err)
	}
	if err := idx.IndexField(ctx, &raiv1.ResponsibleModel{}, budgetIndex, func(o client.Object) []string {
		if p := o.(*raiv1.ResponsibleModel).Spec.Evaluations.Privacy; p != nil && p.BudgetRef != nil {
			return []string{p.BudgetRef.Name}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("index models by PrivacyBudget: %w", err)
	}
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	if r.EvaluationJobs.Image == "" {
		r.EvaluationJobs.Image = DefaultRuntimeImage
	}
	return ctrl.NewControllerManagedBy(mgr).
		// The operator's own status patches do not bring a model back: only
		// a spec change (generation, which deletion bumps too), an
		// annotation (retry) or a label (policy selection) does.
		For(&raiv1.ResponsibleModel{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}, predicate.LabelChangedPredicate{}))).
		Owns(&batchv1.Job{}).
		Owns(&appsv1.Deployment{}).
		Owns(&corev1.Service{}).
		Owns(&corev1.ConfigMap{}).
		Watches(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(r.modelsForPolicyConfigMap)).
		Watches(&raiv1.PrivacyBudget{}, handler.EnqueueRequestsFromMapFunc(r.modelsForBudget)).
		Watches(&raiv1.PromotionPolicy{}, handler.EnqueueRequestsFromMapFunc(r.allModels)).
		Watches(&raiv1.ModelApproval{}, handler.EnqueueRequestsFromMapFunc(r.modelsForApproval)).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.modelsInNamespace), builder.WithPredicates(predicate.LabelChangedPredicate{})).
		Named("responsiblemodel").
		WithOptions(controller.Options{MaxConcurrentReconciles: r.maxConcurrentReconciles()}).
		Complete(r)
}

// allModels maps a PromotionPolicy change to every model: its selectors may
// have changed what it selects.
func (r *ResponsibleModelReconciler) allModels(ctx context.Context, _ client.Object) []ctrl.Request {
	list := &raiv1.ResponsibleModelList{}
	if err := r.List(ctx, list); err != nil {
		log.FromContext(ctx).Error(err, "list models for a PromotionPolicy change")
		return nil
	}
	return requestsFor(list)
}

// modelsInNamespace maps a namespace's label change to its models: the
// PromotionPolicies that select them may change.
func (r *ResponsibleModelReconciler) modelsInNamespace(ctx context.Context, o client.Object) []ctrl.Request {
	list := &raiv1.ResponsibleModelList{}
	if err := r.List(ctx, list, client.InNamespace(o.GetName())); err != nil {
		log.FromContext(ctx).Error(err, "list models of a namespace", "namespace", o.GetName())
		return nil
	}
	return requestsFor(list)
}

// maxConcurrentReconciles is the setting, 4 when unset.
func (r *ResponsibleModelReconciler) maxConcurrentReconciles() int {
	if r.MaxConcurrentReconciles > 0 {
		return r.MaxConcurrentReconciles
	}
	return 4
}

// DefaultRuntimeImage runs `rai evaluate` and `rai serve`.
const DefaultRuntimeImage = "rai-runtime:dev"
