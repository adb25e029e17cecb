// Package controllers reconciles ResponsibleModels: evaluation Jobs, the
// policy decision, promotion to serving, rollback, the privacy budget and the
// model card. Each concern lives in its own file; this file holds the
// reconcile loop that sequences them.
package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
)

// Finalizer lets the operator record a model's end (events, metrics) before
// Kubernetes garbage-collects what the model owns.
const Finalizer = "rai.responsible-ai.dev/finalizer"

// ControllerName is the name in events and logs.
const ControllerName = "responsiblemodel-controller"

// ResponsibleModelReconciler reconciles a ResponsibleModel.
type ResponsibleModelReconciler struct {
	client.Client
	Scheme   *runtime.Scheme
	Recorder recorder.EventRecorder
	// Now returns the current time; tests replace it.
	Now func() time.Time
}

// subReconciler is one step of a reconcile. It records what it observed on
// obj.Status (conditions included) and returns a result that asks for a
// requeue, or an error. A step that returns a non-zero result or an error
// stops the steps after it.
type subReconciler func(ctx context.Context, obj *raiv1.ResponsibleModel) (ctrl.Result, error)

// errStalled marks an error the user must fix in the spec: retrying does not
// help, so the reconcile ends without requeue.
var errStalled = errors.New("stalled")

// +kubebuilder:rbac:groups=rai.responsible-ai.dev,resources=responsiblemodels,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=rai.responsible-ai.dev,resources=responsiblemodels/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=rai.responsible-ai.dev,resources=responsiblemodels/finalizers,verbs=update
// +kubebuilder:rbac:groups=rai.responsible-ai.dev,resources=privacybudgets,verbs=get;list;watch
// +kubebuilder:rbac:groups=rai.responsible-ai.dev,resources=privacybudgets/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

// Reconcile brings one ResponsibleModel closer to its spec. It patches the
// status once, at the end, whatever happened.
func (r *ResponsibleModelReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	logger := log.FromContext(ctx)

	obj := &raiv1.ResponsibleModel{}
	if err := r.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}

	if !obj.DeletionTimestamp.IsZero() {
		return r.reconcileDelete(ctx, obj)
	}

	// The finalizer is added with its own patch, before any work, so that a
	// model is never left with owned resources and no finalizer.
	if !controllerutil.ContainsFinalizer(obj, Finalizer) {
		patch := client.MergeFrom(obj.DeepCopy())
		controllerutil.AddFinalizer(obj, Finalizer)
		if err := r.Patch(ctx, obj, patch); err != nil {
			return ctrl.Result{}, fmt.Errorf("add finalizer: %w", err)
		}
	}

	statusPatch := client.MergeFromWithOptions(obj.DeepCopy(), client.MergeFromWithOptimisticLock{})
	defer func() {
		stalled := errors.Is(retErr, errStalled)
		summarizeReady(obj, r.now())
		if retErr == nil || stalled {
			obj.Status.ObservedGeneration = obj.Generation
		}
		if err := r.Status().Patch(ctx, obj, statusPatch); err != nil && !apierrors.IsNotFound(err) {
			retErr = kerrors.NewAggregate([]error{retErr, fmt.Errorf("patch status: %w", err)})
		}
		if stalled {
			logger.Info("reconcile stalled: the spec must change", "reason", retErr.Error())
			retErr = nil
		}
	}()

	initConditions(obj, r.now())

	if obj.Spec.Suspend {
		meta.SetStatusCondition(&obj.Status.Conditions, metav1.Condition{
			Type: raiv1.ConditionReady, Status: metav1.ConditionFalse, Reason: raiv1.ReasonSuspended,
			Message: "reconciliation is suspended (spec.suspend=true); what serves keeps serving", ObservedGeneration: obj.Generation,
		})
		return ctrl.Result{}, nil
	}

	for _, step := range r.steps() {
		res, err := step(ctx, obj)
		if err != nil || !res.IsZero() {
			return res, err
		}
	}
	return ctrl.Result{}, nil
}

// steps lists the sub-reconcilers in the order a version's life needs them.
func (r *ResponsibleModelReconciler) steps() []subReconciler {
	return []subReconciler{}
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
	return ctrl.Result{}, nil
}

func (r *ResponsibleModelReconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// SetupWithManager registers the reconciler and what it watches.
func (r *ResponsibleModelReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&raiv1.ResponsibleModel{}).
		Named("responsiblemodel").
		Complete(r)
}
