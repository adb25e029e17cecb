package controllers

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/resourceversion"
)

// ownWrites remembers, per model, the resourceVersion of the operator's
// last write of it (the finalizer patch, the status patch), so that a
// reconcile can read the model from the cache and still never act on a
// status older than its own last patch. The model's status is the
// operator's memory — its history, the failed version, the recorded
// Jobs — and a reconcile started from an older one would act a second
// time (delete the evaluation Job it had just recorded as unrecorded,
// roll out a version it had just rolled back) before its own patch failed
// on the optimistic lock; TestStaleCacheAfterOwnWrite shows it.
//
// Only the operator's own writes are tracked: any other change reaches the
// reconcile through the cache's watch, so the cache already holds it when
// the event is handled. A manager that just started (or just became the
// leader) has no record and trusts its freshly listed cache.
//
// The zero value is ready to use; it is safe for concurrent reconciles.
type ownWrites struct {
	mu sync.Mutex
	rv map[types.NamespacedName]string
}

// record notes that the operator wrote key at resourceVersion rv.
func (w *ownWrites) record(key types.NamespacedName, rv string) {
	if rv == "" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.rv == nil {
		w.rv = map[types.NamespacedName]string{}
	}
	if cur, ok := w.rv[key]; ok {
		if c, err := resourceversion.CompareResourceVersion(rv, cur); err == nil && c < 0 {
			return
		}
	}
	w.rv[key] = rv
}

// forget drops key (the model is gone).
func (w *ownWrites) forget(key types.NamespacedName) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.rv, key)
}

// behind reports whether an object of key read at resourceVersion rv is
// older than the operator's last write of it. A resourceVersion that is not
// a well-formed integer (the API server's are; the Kubernetes API has
// promised they compare since 1.35) counts as behind: the caller then asks
// the API server.
func (w *ownWrites) behind(key types.NamespacedName, rv string) bool {
	w.mu.Lock()
	written, ok := w.rv[key]
	w.mu.Unlock()
	if !ok {
		return false
	}
	c, err := resourceversion.CompareResourceVersion(rv, written)
	return err != nil || c < 0
}
