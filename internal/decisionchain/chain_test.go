package decisionchain

import (
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
)

// chain builds n sealed records of one model.
func chain(t *testing.T, n int) []raiv1.DecisionRecord {
	t.Helper()
	prev := GenesisHash
	var out []raiv1.DecisionRecord
	actions := []raiv1.DecisionAction{"Denied", "Promoted", "RolledBack"}
	for i := 1; i <= n; i++ {
		spec := raiv1.DecisionRecordSpec{Model: "credit", ModelUID: "u1", Sequence: int64(i), PreviousHash: prev,
			Time: metav1.Unix(int64(1000+i), 0), Action: actions[(i-1)%3], Version: fmt.Sprintf("v%d", i), ModelSHA256: strings.Repeat("a", 64), DecisionID: fmt.Sprintf("d%d", i)}
		if err := Seal(&spec); err != nil {
			t.Fatal(err)
		}
		prev = spec.Hash
		out = append(out, raiv1.DecisionRecord{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("credit-%06d", i), Namespace: "ns"}, Spec: spec})
	}
	return out
}

func TestVerify(t *testing.T) {
	good := chain(t, 4)
	head := good[3].Spec
	anchors := map[string]Anchor{"ns/credit": {Count: 3, Hash: good[2].Spec.Hash}}
	chains, problems := Verify(good, anchors)
	if len(problems) != 0 || len(chains) != 1 || chains[0].Count != 4 || chains[0].Head != head.Hash || chains[0].Actions["RolledBack"] != 1 {
		t.Fatalf("a good chain: %+v %v", chains, problems)
	}
	cases := []struct {
		name string
		edit func([]raiv1.DecisionRecord) []raiv1.DecisionRecord
		// anchored verifies against an anchor at the last record.
		anchored bool
		// wantRecord and wantWhy name the first bad record.
		wantRecord string
		wantWhy    string
	}{
		{"an edited record", func(rs []raiv1.DecisionRecord) []raiv1.DecisionRecord {
			rs[1].Spec.Action = "Promoted"
			rs[1].Spec.Allowed = true
			return rs
		}, false, "credit-000002", "altered"},
		{"a deleted record", func(rs []raiv1.DecisionRecord) []raiv1.DecisionRecord { return append(rs[:1], rs[2:]...) }, false, "credit-000003", "missing or repeated"},
		{"a record re-sealed after an edit", func(rs []raiv1.DecisionRecord) []raiv1.DecisionRecord {
			rs[1].Spec.Message = "rewritten"
			_ = Seal(&rs[1].Spec)
			return rs
		}, false, "credit-000003", "is not the hash"},
		{"a truncated chain, without an anchor, verifies", func(rs []raiv1.DecisionRecord) []raiv1.DecisionRecord { return rs[:2] }, false, "", ""},
		{"a truncated chain, against its anchor", func(rs []raiv1.DecisionRecord) []raiv1.DecisionRecord { return rs[:2] }, true, "", "does not reach its anchor"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rs := tc.edit(chain(t, 4))
			var a map[string]Anchor
			if tc.anchored {
				a = map[string]Anchor{"ns/credit": {Count: 4, Hash: head.Hash}}
			}
			_, problems := Verify(rs, a)
			if tc.wantWhy == "" {
				if len(problems) != 0 {
					t.Fatalf("problems %v", problems)
				}
				return
			}
			if len(problems) != 1 || problems[0].Record != tc.wantRecord || !strings.Contains(problems[0].Why, tc.wantWhy) {
				t.Fatalf("problems %v, want %s: %s", problems, tc.wantRecord, tc.wantWhy)
			}
		})
	}
}

// TestVerifyAfterRetention: a chain whose oldest records were removed for
// retention verifies from the pruned mark, and only from it.
func TestVerifyAfterRetention(t *testing.T) {
	rs := chain(t, 5)
	kept := rs[2:]
	anchor := Anchor{Count: 5, Hash: rs[4].Spec.Hash, PrunedSequence: 2, PrunedHash: rs[1].Spec.Hash}
	if chains, problems := Verify(kept, map[string]Anchor{"ns/credit": anchor}); len(problems) != 0 || len(chains) != 1 || chains[0].Count != 5 {
		t.Fatalf("a pruned chain: %+v %v", chains, problems)
	}
	if _, problems := Verify(kept, map[string]Anchor{"ns/credit": {Count: 5, Hash: rs[4].Spec.Hash}}); len(problems) != 1 {
		t.Errorf("without the pruned mark a chain missing its start must fail: %v", problems)
	}
	lying := anchor
	lying.PrunedHash = rs[0].Spec.Hash
	if _, problems := Verify(kept, map[string]Anchor{"ns/credit": lying}); len(problems) != 1 || !strings.Contains(problems[0].Why, "is not the hash") {
		t.Errorf("a wrong pruned mark: %v", problems)
	}
}
