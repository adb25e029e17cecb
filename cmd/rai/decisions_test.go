package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/decisionchain"
)

// TestAuditVerifyDecisions: an export of DecisionRecords verifies, against
// the heads in the models' status; an edited record or a chain cut below
// its head is named.
func TestAuditVerifyDecisions(t *testing.T) {
	dir := t.TempDir()
	prev := decisionchain.GenesisHash
	var records raiv1.DecisionRecordList
	for i, action := range []raiv1.DecisionAction{"Promoted", "Denied", "RolledBack"} {
		spec := raiv1.DecisionRecordSpec{Model: "credit", ModelUID: "u", Sequence: int64(i + 1), PreviousHash: prev, Time: metav1.Unix(int64(i), 0),
			Action: action, Version: fmt.Sprintf("v%d", i+1), ModelSHA256: strings.Repeat("a", 64)}
		if err := decisionchain.Seal(&spec); err != nil {
			t.Fatal(err)
		}
		prev = spec.Hash
		records.Items = append(records.Items, raiv1.DecisionRecord{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("credit-u-%06d", i+1), Namespace: "ns"}, Spec: spec})
	}
	models := raiv1.ResponsibleModelList{Items: []raiv1.ResponsibleModel{{ObjectMeta: metav1.ObjectMeta{Name: "credit", Namespace: "ns"},
		Status: raiv1.ResponsibleModelStatus{DecisionChain: &raiv1.DecisionChainHead{Count: 3, Hash: prev}}}}}
	write := func(name string, v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	modelsFile := write("models.json", models)
	out, err := runRai(context.Background(), "audit", "verify-decisions", write("ok.json", records), "--models", modelsFile)
	if err != nil || !strings.Contains(out, "ok    ns/credit: 3 records") || !strings.Contains(out, "1 RolledBack") {
		t.Fatalf("a good export: %v\n%s", err, out)
	}
	edited := records.DeepCopy()
	edited.Items[1].Spec.Action = "Promoted"
	out, err = runRai(context.Background(), "audit", "verify-decisions", write("edited.json", edited), "--models", modelsFile)
	if err == nil || !strings.Contains(out, "FAIL  ns/credit: record credit-u-000002 (sequence 2)") || !strings.Contains(out, "altered") {
		t.Errorf("an edited record: %v\n%s", err, out)
	}
	cut := records.DeepCopy()
	cut.Items = cut.Items[:2]
	out, err = runRai(context.Background(), "audit", "verify-decisions", write("cut.json", cut), "--models", modelsFile)
	if err == nil || !strings.Contains(out, "does not reach its anchor") {
		t.Errorf("a chain cut below its head: %v\n%s", err, out)
	}
}
