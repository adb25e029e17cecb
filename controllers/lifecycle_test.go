package controllers

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
)

var nsCounter int

// newNamespace creates a namespace for one test.
func newNamespace(t *testing.T) string {
	t.Helper()
	nsCounter++
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("t%d-%d", nsCounter, time.Now().UnixNano()%100000)}}
	if err := k8s.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

func TestFinalizerConditionsAndDeletion(t *testing.T) {
	g := NewWithT(t)
	startManager(t, nil)
	ctx := context.Background()
	ns := newNamespace(t)

	m := &raiv1.ResponsibleModel{
		ObjectMeta: metav1.ObjectMeta{Name: "skeleton", Namespace: ns},
		Spec: raiv1.ResponsibleModelSpec{
			Version: "v1",
			Model:   raiv1.ModelArtifact{URI: "file:///m.onnx", SHA256: raiv1.SHA256(sha(1))},
		},
	}
	g.Expect(k8s.Create(ctx, m)).To(Succeed())

	g.Eventually(func(g Gomega) {
		got := &raiv1.ResponsibleModel{}
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(m), got)).To(Succeed())
		g.Expect(controllerutil.ContainsFinalizer(got, Finalizer)).To(BeTrue(), "finalizer")
		g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		for _, typ := range ownedConditions {
			c := meta.FindStatusCondition(got.Status.Conditions, typ)
			g.Expect(c).NotTo(BeNil(), "condition %s", typ)
			g.Expect(c.Reason).NotTo(BeEmpty())
			g.Expect(c.ObservedGeneration).To(Equal(got.Generation))
		}
	}).WithTimeout(20 * time.Second).Should(Succeed())

	g.Expect(k8s.Delete(ctx, m)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(m), &raiv1.ResponsibleModel{}))
	}).WithTimeout(20*time.Second).Should(BeTrue(), "the deleted model is let go")
}

// sha returns a valid, distinct sha256 hex digest for test fixtures.
func sha(n int) string { return fmt.Sprintf("%064x", n) }
