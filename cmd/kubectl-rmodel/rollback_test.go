package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
)

// TestRollback: rollback sets the spec back to the version, URI and digest
// of an earlier version's recorded promotion (the previous version by
// default), and refuses a version that was never promoted or whose record
// does not name its artifact.
func TestRollback(t *testing.T) {
	objs := fixtures(t)
	recs := records(t, "risk", "credit-rb", "uid-rb", []raiv1.DecisionRecordSpec{
		{Time: at(500), Action: "Promoted", Version: "v1", ModelSHA256: shaV1, ModelURI: "https://models.example/credit/v1.onnx", DecisionID: "d-rb1", PolicyDigest: policy, Allowed: true},
		{Time: at(400), Action: "Denied", Version: "v2", ModelSHA256: shaV2, DecisionID: "d-rb2", PolicyDigest: policy},
		{Time: at(300), Action: "Promoted", Version: "v3", ModelSHA256: shaV2, ModelURI: "https://models.example/credit/v3.onnx", DecisionID: "d-rb3", PolicyDigest: policy, Allowed: true},
		{Time: at(200), Action: "Promoted", Version: "v4", ModelSHA256: shaV1, DecisionID: "d-rb4", PolicyDigest: policy, Allowed: true},
	})
	for i := range recs {
		objs = append(objs, &recs[i])
	}
	objs = append(objs, &raiv1.ResponsibleModel{
		ObjectMeta: metav1.ObjectMeta{Namespace: "risk", Name: "credit-rb", UID: "uid-rb"},
		Spec:       raiv1.ResponsibleModelSpec{Version: "v3", Model: raiv1.ModelArtifact{URI: "https://models.example/credit/v3.onnx", SHA256: raiv1.SHA256(shaV2)}},
		Status:     raiv1.ResponsibleModelStatus{StableVersion: "v3", PreviousVersion: "v1"},
	})
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build()
	exec := func(args ...string) (string, error) {
		var out bytes.Buffer
		cmd := newRootCmd(&env{Out: &out, ErrOut: &out, Now: func() time.Time { return now },
			Client: func(*kubeFlags) (client.Client, string, error) { return c, "risk", nil }})
		cmd.SetArgs(args)
		err := cmd.Execute()
		return out.String(), err
	}
	spec := func() raiv1.ResponsibleModelSpec {
		m := &raiv1.ResponsibleModel{}
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: "risk", Name: "credit-rb"}, m); err != nil {
			t.Fatal(err)
		}
		return m.Spec
	}
	for _, tc := range []struct{ args, err string }{
		{"--to-version v2", "version v2 of risk/credit-rb has no recorded promotion"},
		{"--to-version v9", "version v9 of risk/credit-rb has no recorded promotion"},
		{"--to-version v4", "does not name the artifact's URI"},
		{"--to-version v3", "already specifies version v3"},
	} {
		if _, err := exec(append([]string{"rollback", "credit-rb"}, strings.Fields(tc.args)...)...); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("rollback %s: error %v, want %q", tc.args, err, tc.err)
		}
	}
	if s := spec(); s.Version != "v3" {
		t.Fatalf("a refused rollback changed the spec to %s", s.Version)
	}
	out, err := exec("rollback", "credit-rb")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "risk/credit-rb: spec set from version v3 back to v1") || !strings.Contains(out, "re-checks its recorded evidence against the current policy") {
		t.Errorf("output %q", out)
	}
	if s := spec(); s.Version != "v1" || s.Model.URI != "https://models.example/credit/v1.onnx" || string(s.Model.SHA256) != shaV1 {
		t.Errorf("spec after rollback: %+v", s)
	}
	if _, err := exec("rollback", "credit-fair"); err == nil || !strings.Contains(err.Error(), "no previous version") {
		t.Errorf("rollback without a previous version: %v", err)
	}
}
