// Package decisionchain hashes and verifies the per-model chains of
// DecisionRecords the operator writes. It is pure Go, shared by the manager
// (which appends) and `rai audit verify-decisions` (which checks an export,
// offline).
package decisionchain

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
)

// GenesisHash is the PreviousHash of a model's first record: 64 zeros.
var GenesisHash = strings.Repeat("0", 64)

// Hash is the hex sha256 of the spec's JSON encoding with Hash empty (the
// encoding of the API type: fixed field order, map keys sorted).
func Hash(spec raiv1.DecisionRecordSpec) (string, error) {
	spec.Hash = ""
	b, err := json.Marshal(spec)
	if err != nil {
		return "", fmt.Errorf("encode decision record: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// Seal fills in spec.Hash.
func Seal(spec *raiv1.DecisionRecordSpec) error {
	h, err := Hash(*spec)
	spec.Hash = h
	return err
}

// Chain is one model's verified chain.
type Chain struct {
	Namespace, Model, ModelUID string
	// Count is the number of records; Head the last one's hash.
	Count int64
	Head  string
	// Actions counts the records by action.
	Actions map[raiv1.DecisionAction]int
}

// Problem is the first bad record of a chain.
type Problem struct {
	Namespace, Model, Record string
	Sequence                 int64
	Why                      string
}

func (p Problem) Error() string {
	return fmt.Sprintf("%s/%s: record %s (sequence %d): %s", p.Namespace, p.Model, p.Record, p.Sequence, p.Why)
}

// Anchor is a chain head recorded elsewhere (the model's
// status.decisionChain): a chain cut back below it, or rewritten, fails.
// PrunedSequence and PrunedHash mark the last record removed for retention:
// the chain then starts at the record after it.
type Anchor struct {
	Count          int64
	Hash           string
	PrunedSequence int64
	PrunedHash     string
}

// Verify checks every model's chain in records: each record's hash, the
// sequence from 1 without gaps or repeats, and each PreviousHash. anchors,
// keyed by "namespace/model", are heads recorded elsewhere; a chain must
// reach each. It returns the chains and the first problem of each bad one.
func Verify(records []raiv1.DecisionRecord, anchors map[string]Anchor) ([]Chain, []Problem) {
	byChain := map[string][]raiv1.DecisionRecord{}
	for _, r := range records {
		key := r.Namespace + "/" + r.Spec.Model + "/" + r.Spec.ModelUID
		byChain[key] = append(byChain[key], r)
	}
	var chains []Chain
	var problems []Problem
	reached := map[string]bool{}
	for _, key := range slices.Sorted(maps.Keys(byChain)) {
		rs := byChain[key]
		slices.SortFunc(rs, func(a, b raiv1.DecisionRecord) int { return int(a.Spec.Sequence - b.Spec.Sequence) })
		c := Chain{Namespace: rs[0].Namespace, Model: rs[0].Spec.Model, ModelUID: rs[0].Spec.ModelUID, Actions: map[raiv1.DecisionAction]int{}}
		prev, first := GenesisHash, int64(1)
		if a, found := anchors[rs[0].Namespace+"/"+rs[0].Spec.Model]; found && a.PrunedSequence > 0 {
			prev, first = a.PrunedHash, a.PrunedSequence+1
		}
		bad := func(r raiv1.DecisionRecord, why string, args ...any) {
			problems = append(problems, Problem{Namespace: r.Namespace, Model: r.Spec.Model, Record: r.Name, Sequence: r.Spec.Sequence, Why: fmt.Sprintf(why, args...)})
		}
		ok := true
		for i, r := range rs {
			want := first + int64(i)
			h, err := Hash(r.Spec)
			switch {
			case err != nil:
				bad(r, "%v", err)
			case r.Spec.Sequence != want:
				bad(r, "sequence %d where %d was expected: a record is missing or repeated", r.Spec.Sequence, want)
			case h != r.Spec.Hash:
				bad(r, "its content hashes to %s, not the recorded %s: it was altered", h, r.Spec.Hash)
			case r.Spec.PreviousHash != prev:
				bad(r, "previousHash %s is not the hash %s of the record before", r.Spec.PreviousHash, prev)
			default:
				prev = r.Spec.Hash
				c.Count = r.Spec.Sequence
				c.Head = r.Spec.Hash
				c.Actions[r.Spec.Action]++
				if a, found := anchors[c.Namespace+"/"+c.Model]; found && a.Count == r.Spec.Sequence && a.Hash == r.Spec.Hash {
					reached[c.Namespace+"/"+c.Model] = true
				}
				continue
			}
			ok = false
			break
		}
		if ok {
			chains = append(chains, c)
		}
	}
	for key, a := range anchors {
		if reached[key] {
			continue
		}
		ns, model, _ := strings.Cut(key, "/")
		if slices.ContainsFunc(problems, func(p Problem) bool { return p.Namespace == ns && p.Model == model }) {
			continue
		}
		problems = append(problems, Problem{Namespace: ns, Model: model, Sequence: a.Count,
			Why: fmt.Sprintf("the chain does not reach its anchor (record %d with hash %s): records were removed from its end", a.Count, a.Hash)})
	}
	slices.SortFunc(problems, func(a, b Problem) int { return strings.Compare(a.Namespace+"/"+a.Model, b.Namespace+"/"+b.Model) })
	return chains, problems
}

// Anchors are the heads the models' status.decisionChain records, keyed as
// Verify expects.
func Anchors(models []raiv1.ResponsibleModel) map[string]Anchor {
	out := map[string]Anchor{}
	for _, m := range models {
		h := m.Status.DecisionChain
		if h == nil {
			continue
		}
		a := Anchor{Count: h.Count, Hash: h.Hash}
		if p := h.PrunedThrough; p != nil {
			a.PrunedSequence, a.PrunedHash = p.Sequence, p.Hash
		}
		out[m.Namespace+"/"+m.Name] = a
	}
	return out
}

// Report writes one "ok" line per verified chain and one "FAIL" line per
// problem, and returns an error when there is a problem.
func Report(w io.Writer, chains []Chain, problems []Problem) error {
	for _, c := range chains {
		fmt.Fprintf(w, "ok    %s/%s: %d records, head %s (%d Promoted, %d Denied, %d RolledBack)\n", c.Namespace, c.Model, c.Count, c.Head,
			c.Actions["Promoted"], c.Actions["Denied"], c.Actions["RolledBack"])
	}
	for _, p := range problems {
		fmt.Fprintf(w, "FAIL  %s\n", p.Error())
	}
	if len(problems) > 0 {
		return fmt.Errorf("%d decision chain(s) do not verify", len(problems))
	}
	return nil
}
