package controllers

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
)

// CacheOptions are the manager's cache settings the reconciler relies on:
// pods are cached only when they carry the model label (the evaluation and
// serving pods the operator's Jobs and Deployments make; not every pod of
// the cluster), and no cached object keeps its managedFields, which the
// operator never reads. The manager (cmd/manager), the envtest suite and
// make bench-controller all use them.
func CacheOptions() cache.Options {
	hasModel, err := labels.NewRequirement(raiv1.LabelModel, selection.Exists, nil)
	if err != nil {
		panic(err) // a constant label key
	}
	return cache.Options{
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Pod{}: {Label: labels.NewSelector().Add(*hasModel)},
		},
		DefaultTransform: cache.TransformStripManagedFields(),
	}
}
