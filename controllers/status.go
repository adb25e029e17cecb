package controllers

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
)

// Pure status functions: they decide conditions from what the steps
// recorded, need no client, and are table-tested.

// ownedConditions are the conditions a reconcile always reports, so a
// kubectl user never has to guess whether one is missing or false.
var ownedConditions = []string{
	raiv1.ConditionReady,
	raiv1.ConditionEvaluated,
	raiv1.ConditionPolicyAllowed,
	raiv1.ConditionPromoted,
}

// initConditions sets every owned condition that is absent to Unknown with
// reason Reconciling. Conditions already present keep their status until a
// step decides them again.
func initConditions(obj *raiv1.ResponsibleModel, now time.Time) {
	for _, t := range ownedConditions {
		if meta.FindStatusCondition(obj.Status.Conditions, t) != nil {
			continue
		}
		meta.SetStatusCondition(&obj.Status.Conditions, metav1.Condition{
			Type:               t,
			Status:             metav1.ConditionUnknown,
			Reason:             raiv1.ReasonReconciling,
			Message:            "the operator has not decided this yet",
			ObservedGeneration: obj.Generation,
			LastTransitionTime: metav1.NewTime(now),
		})
	}
}

// summarizeReady derives Ready from the other conditions unless a step set
// it explicitly for this generation: a stable version must serve, and a
// failed rollout or a degraded deployment makes the model not ready.
func summarizeReady(obj *raiv1.ResponsibleModel, now time.Time) {
	ready := meta.FindStatusCondition(obj.Status.Conditions, raiv1.ConditionReady)
	if ready != nil && ready.ObservedGeneration == obj.Generation && ready.Reason != raiv1.ReasonReconciling {
		return
	}
	cond := metav1.Condition{Type: raiv1.ConditionReady, ObservedGeneration: obj.Generation, LastTransitionTime: metav1.NewTime(now)}
	switch degraded := meta.FindStatusCondition(obj.Status.Conditions, raiv1.ConditionDegraded); {
	case degraded != nil && degraded.Status == metav1.ConditionTrue:
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, degraded.Reason, degraded.Message
	case obj.Status.StableVersion != "":
		cond.Status, cond.Reason = metav1.ConditionTrue, raiv1.ReasonServing
		cond.Message = "version " + obj.Status.StableVersion + " is serving"
	default:
		cond.Status, cond.Reason = metav1.ConditionUnknown, raiv1.ReasonReconciling
		cond.Message = "no version has been promoted yet"
	}
	meta.SetStatusCondition(&obj.Status.Conditions, cond)
}
