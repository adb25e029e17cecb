package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
)

func newDiffCmd(connect connectFunc) *cobra.Command {
	return &cobra.Command{
		Use:   "diff NAME V1 V2",
		Short: "Show two versions' evidence side by side, from their DecisionRecords and the reports they name",
		Long: `Finds each version's newest DecisionRecord of the model and shows the two side by side: the
action, the decision, the evidence digests, and the headline metrics of the reports the
evidence names (read from the report ConfigMaps, and shown only when their bytes still have the
recorded digest).`,
		Args: cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := connect(cmd)
			if err != nil {
				return err
			}
			name := args[0]
			uid := ""
			m, err := s.getModel(cmd, name)
			switch {
			case apierrors.IsNotFound(err):
				// Records outlive their model.
			case err != nil:
				return err
			default:
				uid = string(m.UID)
			}
			var list raiv1.DecisionRecordList
			if err := s.c.List(ctx(cmd), &list, client.InNamespace(s.namespace)); err != nil {
				return fmt.Errorf("list DecisionRecords: %w", err)
			}
			sides := []*side{s.side(cmd, list.Items, name, uid, args[1]), s.side(cmd, list.Items, name, uid, args[2])}
			printDiff(s, name, sides)
			return nil
		},
	}
}

// side is one version's column.
type side struct {
	version string
	record  *raiv1.DecisionRecord
	// records counts the version's records.
	records int
	// evidence by kind.
	evidence map[string]raiv1.EvidenceRecord
	// metrics by "kind.metric", from the reports whose digest matches.
	metrics map[string]string
	notes   []string
}

func (s *session) side(cmd *cobra.Command, records []raiv1.DecisionRecord, model, uid, version string) *side {
	sd := &side{version: version, evidence: map[string]raiv1.EvidenceRecord{}, metrics: map[string]string{}}
	for i := range records {
		r := &records[i]
		if r.Spec.Model != model || r.Spec.Version != version || (uid != "" && r.Spec.ModelUID != uid) {
			continue
		}
		sd.records++
		if sd.record == nil || r.Spec.Sequence > sd.record.Spec.Sequence {
			sd.record = r
		}
	}
	if sd.record == nil {
		sd.notes = append(sd.notes, fmt.Sprintf("%s has no DecisionRecord of %s/%s: it was never promoted, denied or rolled back (or its records were removed)", version, s.namespace, model))
		return sd
	}
	for _, e := range sd.record.Spec.Evidence {
		sd.evidence[e.Kind] = e
		if e.ReportRef == nil {
			continue
		}
		metrics, err := s.readReport(cmd, e)
		if err != nil {
			sd.notes = append(sd.notes, fmt.Sprintf("%s %s: %v", version, e.Kind, err))
			continue
		}
		for k, v := range metrics {
			sd.metrics[e.Kind+"."+k] = v
		}
	}
	return sd
}

// readReport reads the report a piece of evidence names and returns its
// metrics, only when its bytes have the recorded digest.
func (s *session) readReport(cmd *cobra.Command, e raiv1.EvidenceRecord) (map[string]string, error) {
	var cm corev1.ConfigMap
	if err := s.c.Get(ctx(cmd), client.ObjectKey{Namespace: s.namespace, Name: e.ReportRef.Name}, &cm); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("report ConfigMap %s is gone (deleted with the model, or removed): metrics not shown", e.ReportRef.Name)
		}
		return nil, fmt.Errorf("read report ConfigMap %s: %w", e.ReportRef.Name, err)
	}
	key := e.Kind + ".json"
	raw, ok := cm.Data[key]
	if !ok {
		return nil, fmt.Errorf("report ConfigMap %s has no key %s", cm.Name, key)
	}
	sum := sha256.Sum256([]byte(raw))
	if got := hex.EncodeToString(sum[:]); e.ReportSHA256 != "" && got != e.ReportSHA256 {
		return nil, fmt.Errorf("report ConfigMap %s key %s has sha256 %s, not the recorded %s: altered, metrics not shown", cm.Name, key, short(got), short(e.ReportSHA256))
	}
	var rep struct {
		Metrics map[string]*float64 `json:"metrics"`
	}
	if err := json.Unmarshal([]byte(raw), &rep); err != nil {
		return nil, fmt.Errorf("report ConfigMap %s key %s: %v", cm.Name, key, err)
	}
	out := map[string]string{}
	for k, v := range rep.Metrics {
		if v == nil {
			out[k] = "null"
		} else {
			out[k] = strconv.FormatFloat(*v, 'g', 4, 64)
		}
	}
	return out, nil
}

func printDiff(s *session, model string, sides []*side) {
	out := s.out
	a, b := sides[0], sides[1]
	fmt.Fprintf(out, "Model %s/%s: %s and %s, from their DecisionRecords\n", s.namespace, model, a.version, b.version)
	for _, sd := range sides {
		for _, n := range sd.notes {
			fmt.Fprintf(out, "Note: %s\n", n)
		}
	}
	fmt.Fprintln(out)
	w := newTable(out)
	row := func(label string, f func(*side) string) {
		va, vb := f(a), f(b)
		mark := ""
		if va != vb && a.record != nil && b.record != nil {
			mark = "*"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", label, va, vb, mark)
	}
	rec := func(f func(*raiv1.DecisionRecordSpec) string) func(*side) string {
		return func(sd *side) string {
			if sd.record == nil {
				return "(no record)"
			}
			return orDash(f(&sd.record.Spec))
		}
	}
	fmt.Fprintf(w, "\t%s\t%s\t\n", a.version, b.version)
	row("record", func(sd *side) string {
		if sd.record == nil {
			return "(no record)"
		}
		r := fmt.Sprintf("%s (sequence %d)", sd.record.Name, sd.record.Spec.Sequence)
		if sd.records > 1 {
			r += fmt.Sprintf(", newest of %d", sd.records)
		}
		return r
	})
	row("time", rec(func(r *raiv1.DecisionRecordSpec) string { return formatTime(r.Time.Time) }))
	row("action", rec(func(r *raiv1.DecisionRecordSpec) string {
		if r.Reason != "" && r.Reason != string(r.Action) {
			return fmt.Sprintf("%s (%s)", r.Action, r.Reason)
		}
		return string(r.Action)
	}))
	row("allowed", rec(func(r *raiv1.DecisionRecordSpec) string { return strconv.FormatBool(r.Allowed) }))
	row("enforcement", rec(func(r *raiv1.DecisionRecordSpec) string { return string(r.Enforcement) }))
	row("violations", rec(func(r *raiv1.DecisionRecordSpec) string {
		var codes []string
		for _, v := range r.Violations {
			codes = append(codes, v.Code)
		}
		return orDash(strings.Join(codes, ","))
	}))
	row("model sha256", rec(func(r *raiv1.DecisionRecordSpec) string { return short(r.ModelSHA256) }))
	row("decision", rec(func(r *raiv1.DecisionRecordSpec) string { return r.DecisionID }))
	row("policy digest", rec(func(r *raiv1.DecisionRecordSpec) string { return short(r.PolicyDigest) }))
	row("input sha256", rec(func(r *raiv1.DecisionRecordSpec) string { return short(r.InputSHA256) }))
	kinds := map[string]bool{}
	metrics := map[string]bool{}
	for _, sd := range sides {
		for k := range sd.evidence {
			kinds[k] = true
		}
		for k := range sd.metrics {
			metrics[k] = true
		}
	}
	if len(kinds) > 0 {
		fmt.Fprintln(w, "evidence\t\t\t")
		for _, k := range slices.Sorted(maps.Keys(kinds)) {
			row("  "+k, func(sd *side) string {
				if sd.record == nil {
					return "(no record)"
				}
				e, ok := sd.evidence[k]
				if !ok {
					return "-"
				}
				if e.ReportSHA256 == "" {
					return string(e.State)
				}
				return fmt.Sprintf("%s sha256 %s", e.State, short(e.ReportSHA256))
			})
		}
	}
	if len(metrics) > 0 {
		fmt.Fprintln(w, "metrics\t\t\t")
		for _, k := range slices.Sorted(maps.Keys(metrics)) {
			row("  "+k, func(sd *side) string { return orDash(sd.metrics[k]) })
		}
	}
	w.Flush()
}
