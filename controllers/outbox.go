package controllers

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// The outbox holds what a reconcile announces (events, metrics, decision
// log lines) until its status patch succeeds: a reconcile whose patch
// conflicts runs again, and must not announce the same decision twice.

type outbox struct{ pending []func() }

type outboxKey struct{}

// withOutbox returns a context whose announcements wait for flush.
func withOutbox(ctx context.Context) (context.Context, *outbox) {
	o := &outbox{}
	return context.WithValue(ctx, outboxKey{}, o), o
}

// flush runs the announcements in order.
func (o *outbox) flush() {
	for _, f := range o.pending {
		f()
	}
	o.pending = nil
}

// afterStatusPatch runs f once the status patch succeeded (at once when the
// context has no outbox).
func afterStatusPatch(ctx context.Context, f func()) {
	if o, ok := ctx.Value(outboxKey{}).(*outbox); ok {
		o.pending = append(o.pending, f)
		return
	}
	f()
}

// logAfterStatusPatch writes an info log line once the status patch
// succeeded.
func logAfterStatusPatch(ctx context.Context, msg string, keysAndValues ...any) {
	logger := log.FromContext(ctx)
	afterStatusPatch(ctx, func() { logger.Info(msg, keysAndValues...) })
}

// maxEventNote is the API server's limit on an Event's note: a longer one
// is refused and the Event is lost. The full text stays in the condition.
const maxEventNote = 1024

// eventAfterStatusPatch records an Event once the status patch succeeded,
// its note cut to maxEventNote.
func (r *ResponsibleModelReconciler) eventAfterStatusPatch(ctx context.Context, regarding, related runtime.Object, eventType, reason, action, note string, args ...any) {
	text := truncate(fmt.Sprintf(note, args...), maxEventNote)
	afterStatusPatch(ctx, func() { r.Recorder.Eventf(regarding, related, eventType, reason, action, "%s", text) })
}
