package v1alpha1_test

import (
	"context"
	"encoding/json"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
)

func TestStatusSubresourceAndPrinterColumns(t *testing.T) {
	ctx := context.Background()
	u := parse(t, validModel)
	u.SetName("status-columns")
	if err := k8s.Create(ctx, u); err != nil {
		t.Fatal(err)
	}
	m := &raiv1.ResponsibleModel{}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(u), m); err != nil {
		t.Fatal(err)
	}

	// A write to the main resource does not change status.
	m.Status.StableVersion = "ignored"
	if err := k8s.Update(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(m), m); err != nil {
		t.Fatal(err)
	}
	if m.Status.StableVersion != "" {
		t.Fatalf("status changed through the main resource: stableVersion=%q", m.Status.StableVersion)
	}

	// A write to the status subresource does, and leaves spec alone.
	m.Status.StableVersion = "v1"
	m.Status.CandidateVersion = "v2"
	meta.SetStatusCondition(&m.Status.Conditions, metav1.Condition{Type: raiv1.ConditionReady, Status: metav1.ConditionTrue, Reason: raiv1.ReasonServing, Message: "v1 serves"})
	meta.SetStatusCondition(&m.Status.Conditions, metav1.Condition{Type: raiv1.ConditionPolicyAllowed, Status: metav1.ConditionFalse, Reason: raiv1.ReasonPolicyDenied, Message: "denied"})
	m.Spec.Version = "v-ignored"
	if err := k8s.Status().Update(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(m), m); err != nil {
		t.Fatal(err)
	}
	if m.Status.StableVersion != "v1" || m.Spec.Version != "v1" {
		t.Fatalf("status update: stable=%q spec.version=%q, want v1 and v1", m.Status.StableVersion, m.Spec.Version)
	}

	// kubectl get asks for a Table; the columns give the verdict at a glance.
	cs := kubernetes.NewForConfigOrDie(restCfg)
	raw, err := cs.RESTClient().Get().
		AbsPath("/apis/rai.responsible-ai.dev/v1alpha1/namespaces/default/responsiblemodels/status-columns").
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").
		DoRaw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var table metav1.Table
	if err := json.Unmarshal(raw, &table); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"Stable": "v1", "Candidate": "v2", "Ready": "True", "Policy": "False", "Reason": raiv1.ReasonServing}
	if len(table.Rows) != 1 {
		t.Fatalf("table has %d rows, want 1", len(table.Rows))
	}
	for i, col := range table.ColumnDefinitions {
		if w, ok := want[col.Name]; ok {
			if got := table.Rows[0].Cells[i]; got != w {
				t.Errorf("column %s = %v, want %v", col.Name, got, w)
			}
			delete(want, col.Name)
		}
	}
	for name := range want {
		t.Errorf("column %s missing from kubectl get", name)
	}
}
