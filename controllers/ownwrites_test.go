package controllers

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/report"
	"github.com/responsible-ai/rmodel-operator/policies/fake"
)

func TestOwnWrites(t *testing.T) {
	var w ownWrites
	key := types.NamespacedName{Namespace: "ns", Name: "m"}
	if w.behind(key, "5") {
		t.Error("no write recorded: the cache is trusted")
	}
	w.record(key, "10")
	for rv, want := range map[string]bool{"9": true, "10": false, "11": false, "100": false, "": true, "x": true} {
		if got := w.behind(key, rv); got != want {
			t.Errorf("behind(%q) after a write at 10 = %v, want %v", rv, got, want)
		}
	}
	// An older write recorded late (two reconciles of one key do not run
	// at once, but a late record must not move the mark back).
	w.record(key, "7")
	if !w.behind(key, "9") {
		t.Error("a late record of an older write moved the mark back")
	}
	w.forget(key)
	if w.behind(key, "1") {
		t.Error("a forgotten model is still tracked")
	}
}

// staleModels is a cache that has not caught up with the model: its Gets of
// ResponsibleModels answer the copy it holds.
type staleModels struct {
	client.Client
	held *raiv1.ResponsibleModel
}

func (c staleModels) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if m, ok := obj.(*raiv1.ResponsibleModel); ok && key == client.ObjectKeyFromObject(c.held) {
		c.held.DeepCopyInto(m)
		return nil
	}
	return c.Client.Get(ctx, key, obj, opts...)
}

// TestStaleCacheAfterOwnWrite: a reconcile whose cache still holds the
// model as it was before the operator's last status patch reads it from the
// API server. Acting on the older status would have been wrong: with no
// evaluation recorded there, the Job the first reconcile created and
// recorded looks like one someone else made under the operator's name, and
// is deleted.
func TestStaleCacheAfterOwnWrite(t *testing.T) {
	for _, tc := range []struct {
		name string
		// forget drops the operator's record of its writes, as the
		// reconciler without ownWrites would have had.
		forget  bool
		wantJob bool
	}{
		{name: "tracked", wantJob: true},
		{name: "without the record of its own write", forget: true, wantJob: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, fake.New(fake.Allow()))
			m := h.create(fakeModel("credit"))
			// The model as a lagging cache holds it: the finalizer (or the
			// finalizer patch's answer would bring the fresh object), no
			// status yet.
			before := h.model(m)
			controllerutil.AddFinalizer(before, Finalizer)
			h.reconcile(m) // creates the Job, records it in status
			job := h.job(m, report.KindFairness)
			if e := findEvaluation(h.model(m).Status.Evaluations, string(report.KindFairness)); e == nil || e.JobUID != string(job.UID) {
				t.Fatalf("the Job is not recorded: %+v", h.model(m).Status.Evaluations)
			}

			h.r.Client = staleModels{Client: h.c, held: before}
			if tc.forget {
				h.r.writes.forget(client.ObjectKeyFromObject(m))
			}
			h.reconcile(m)
			err := h.c.Get(context.Background(), client.ObjectKeyFromObject(job), job.DeepCopy())
			if tc.wantJob && err != nil {
				t.Fatalf("the recorded evaluation Job is gone after a reconcile on a stale cache: %v", err)
			}
			if !tc.wantJob && !apierrors.IsNotFound(err) {
				t.Fatalf("the test does not show the hazard: acting on the stale status kept the Job (err %v)", err)
			}
			if tc.wantJob && h.events.count(raiv1.ReasonReportUntrusted) != 0 {
				t.Errorf("the operator distrusted its own Job: %v", h.events.list)
			}
		})
	}
}

// laggingPods is a cache whose pods are still running: the Job's status
// reached it, its pods' did not.
type laggingPods struct {
	client.Client
}

func (c laggingPods) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if err := c.Client.List(ctx, list, opts...); err != nil {
		return err
	}
	if pods, ok := list.(*corev1.PodList); ok {
		for i := range pods.Items {
			pods.Items[i].Status = corev1.PodStatus{Phase: corev1.PodRunning}
		}
	}
	return nil
}

// countingReader counts the pod lists that go past the cache.
type countingReader struct {
	client.Reader
	podLists *int
}

func (c countingReader) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if _, ok := list.(*corev1.PodList); ok {
		*c.podLists++
	}
	return c.Reader.List(ctx, list, opts...)
}

// TestFinishedJobPodsPastALaggingCache: a finished Job's report is read
// from its pods in the cache, and from the API server only when the cache
// has fewer finished pods than the Job counts — it would otherwise read no
// report and fail the evaluation.
func TestFinishedJobPodsPastALaggingCache(t *testing.T) {
	for _, lag := range []bool{false, true} {
		h := newHarness(t, fake.New(fake.Allow()))
		m := h.create(fakeModel("credit"))
		h.reconcile(m)
		h.finish(h.job(m, report.KindFairness), fairnessReport(1, 0.9))
		var past int
		h.r.APIReader = countingReader{Reader: h.c, podLists: &past}
		if lag {
			h.r.Client = laggingPods{Client: h.c}
		}
		h.reconcile(m)
		e := findEvaluation(h.model(m).Status.Evaluations, string(report.KindFairness))
		if e == nil || e.State != raiv1.EvaluationSucceeded {
			t.Fatalf("lagging cache %v: the evaluation is %+v, want Succeeded", lag, e)
		}
		if want := map[bool]int{false: 0, true: 1}[lag]; past != want {
			t.Errorf("lagging cache %v: %d pod lists past the cache, want %d", lag, past, want)
		}
	}
}

// unseenConfigMaps is a cache that has not seen any ConfigMap yet.
type unseenConfigMaps struct {
	client.Client
}

func (c unseenConfigMaps) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if _, ok := obj.(*corev1.ConfigMap); ok {
		return apierrors.NewNotFound(corev1.Resource("configmaps"), key.Name)
	}
	return c.Client.Get(ctx, key, obj, opts...)
}

// countingGets counts the ConfigMap reads that go past the cache.
type countingGets struct {
	client.Reader
	gets *int
}

func (c countingGets) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if _, ok := obj.(*corev1.ConfigMap); ok {
		*c.gets++
	}
	return c.Reader.Get(ctx, key, obj, opts...)
}

// TestEvidencePastALaggingCache: a stored report the cache has not seen is
// read from the API server before it counts as gone; evidence the cache
// holds with the recorded digest is judged without a read.
func TestEvidencePastALaggingCache(t *testing.T) {
	for _, lag := range []bool{false, true} {
		h := newHarness(t, fake.New(fake.Allow()))
		m := h.create(fakeModel("credit"))
		h.reconcile(m)
		h.finish(h.job(m, report.KindFairness), fairnessReport(1, 0.9))
		h.reconcile(m) // stores the report and decides: rolling out
		var past int
		h.r.APIReader = countingGets{Reader: h.c, gets: &past}
		if lag {
			h.r.Client = unseenConfigMaps{Client: h.c}
		}
		h.completeRollout(m)
		h.reconcile(m)
		got := h.model(m)
		if got.Status.StableVersion != "v1" || h.events.count(raiv1.ReasonEvidenceTampered) != 0 {
			t.Fatalf("lagging cache %v: stable %q, events %v", lag, got.Status.StableVersion, h.events.list)
		}
		if lag && past == 0 {
			t.Errorf("lagging cache: the evidence was judged without reading it")
		}
		if !lag && past != 0 {
			t.Errorf("%d evidence reads past a cache that holds it", past)
		}
	}
}
