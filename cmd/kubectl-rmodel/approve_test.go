package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
)

// TestApproveAndReject: approve and reject create a ModelApproval of the
// candidate's current decision in the caller's name (admission, not the
// plugin, decides whether the caller may: that is tested in envtest).
func TestApproveAndReject(t *testing.T) {
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(fixtures(t)...).Build()
	exec := func(args ...string) (string, error) {
		var out bytes.Buffer
		cmd := newRootCmd(&env{Out: &out, ErrOut: &out, Now: func() time.Time { return now },
			Client: func(f *kubeFlags) (client.Client, string, error) {
				if f.namespace != "" {
					return c, f.namespace, nil
				}
				return c, "risk", nil
			}})
		cmd.SetArgs(args)
		err := cmd.Execute()
		return out.String(), err
	}
	m := &raiv1.ResponsibleModel{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: "risk", Name: "credit-biased"}, m); err != nil {
		t.Fatal(err)
	}
	if _, err := exec("approve", "credit-biased"); err == nil || !strings.Contains(err.Error(), "--reason is required") {
		t.Errorf("approve without a reason: %v", err)
	}
	if _, err := exec("approve", "credit-biased", "--reason", "x", "--version", "v9", "--approver", "bob"); err == nil || !strings.Contains(err.Error(), "not v9") {
		t.Errorf("approve of another version: %v", err)
	}
	out, err := exec("approve", "credit-biased", "--reason", "reviewed the report", "--approver", "bob")
	if err != nil || !strings.Contains(out, "bob approved version v1 of risk/credit-biased") {
		t.Fatalf("approve: %v\n%s", err, out)
	}
	if _, err := exec("reject", "credit-biased", "--reason", "not yet", "--approver", "carol"); err != nil {
		t.Fatal(err)
	}
	list := &raiv1.ModelApprovalList{}
	if err := c.List(context.Background(), list, client.InNamespace("risk")); err != nil {
		t.Fatal(err)
	}
	if _, err := exec("override", "credit-biased", "--reason", "incident", "--approver", "dave"); err != nil {
		t.Fatal(err)
	}
	if err := c.List(context.Background(), list, client.InNamespace("risk")); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 3 {
		t.Fatalf("approvals %+v", list.Items)
	}
	for _, a := range list.Items {
		want := map[string]raiv1.ApprovalDecision{"bob": raiv1.ApprovalApprove, "carol": raiv1.ApprovalReject, "dave": raiv1.ApprovalOverride}[a.Spec.Approver]
		if a.Spec.Model != "credit-biased" || a.Spec.Version != "v1" || a.Spec.DecisionID != m.Status.LastDecision.ID || string(a.Spec.ModelSHA256) != m.Status.CandidateModelSHA256 || a.Spec.Decision != want {
			t.Errorf("approval %+v", a.Spec)
		}
	}
	if _, err := exec("approve", "credit-local", "-n", "dev", "--reason", "x", "--approver", "bob"); err == nil || !strings.Contains(err.Error(), "no decision yet") {
		t.Errorf("approve of a candidate without a decision: %v", err)
	}
	// retry sets the retry annotation to a new value each time.
	for range 2 {
		before := &raiv1.ResponsibleModel{}
		_ = c.Get(context.Background(), client.ObjectKey{Namespace: "risk", Name: "credit-biased"}, before)
		if out, err := exec("retry", "credit-biased"); err != nil || !strings.Contains(out, raiv1.AnnotationRetryEvaluations) {
			t.Fatalf("retry: %v %s", err, out)
		}
		after := &raiv1.ResponsibleModel{}
		_ = c.Get(context.Background(), client.ObjectKey{Namespace: "risk", Name: "credit-biased"}, after)
		if v := after.Annotations[raiv1.AnnotationRetryEvaluations]; v == "" || v == before.Annotations[raiv1.AnnotationRetryEvaluations] {
			t.Errorf("retry left the annotation at %q (was %q)", v, before.Annotations[raiv1.AnnotationRetryEvaluations])
		}
	}
}
