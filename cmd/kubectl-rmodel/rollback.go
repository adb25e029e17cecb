package main

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
)

// newRollbackCmd sets the spec back to an earlier version that was promoted
// and is still recorded: its version, artifact URI and digest, from the
// newest DecisionRecord of its promotion. The operator then judges the
// evidence recorded at that promotion against the current policy (the
// evaluations do not run again when their inputs are the same) before the
// version serves. Under GitOps, commit the same change instead: the tool
// that syncs the spec would undo this one.
func newRollbackCmd(connect connectFunc) *cobra.Command {
	var to string
	cmd := &cobra.Command{
		Use:   "rollback NAME [--to-version V]",
		Short: "Set the spec back to an earlier promoted version (default: the one before the stable version); the current policy re-checks it before it serves",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := connect(cmd)
			if err != nil {
				return err
			}
			m, err := s.getModel(cmd, args[0])
			if err != nil {
				return err
			}
			target := to
			if target == "" {
				target = m.Status.PreviousVersion
				if target == "" {
					return fmt.Errorf("%s/%s has no previous version to roll back to; name one with --to-version", m.Namespace, m.Name)
				}
			}
			var list raiv1.DecisionRecordList
			if err := s.c.List(ctx(cmd), &list, client.InNamespace(m.Namespace), client.MatchingLabels{raiv1.LabelModel: m.Name}); err != nil {
				return fmt.Errorf("list the DecisionRecords of version %s: %w", target, err)
			}
			slices.SortFunc(list.Items, func(a, b raiv1.DecisionRecord) int { return cmp.Compare(b.Spec.Sequence, a.Spec.Sequence) })
			i := slices.IndexFunc(list.Items, func(r raiv1.DecisionRecord) bool {
				return r.Spec.ModelUID == string(m.UID) && r.Spec.Version == target && r.Spec.Action == raiv1.DecisionAction(raiv1.HistoryPromoted)
			})
			if i < 0 {
				return fmt.Errorf("version %s of %s/%s has no recorded promotion (DecisionRecords may have been removed for retention): only a version that was promoted and is still recorded can be rolled back to", target, m.Namespace, m.Name)
			}
			rec := list.Items[i]
			if rec.Spec.ModelURI == "" {
				return fmt.Errorf("DecisionRecord %s of version %s does not name the artifact's URI (it predates the field): set spec.version and spec.model yourself", rec.Name, target)
			}
			if m.Spec.Version == target && string(m.Spec.Model.SHA256) == rec.Spec.ModelSHA256 {
				return fmt.Errorf("%s/%s already specifies version %s (sha256 %s)", m.Namespace, m.Name, target, short(rec.Spec.ModelSHA256))
			}
			patch := client.MergeFrom(m.DeepCopy())
			from := m.Spec.Version
			m.Spec.Version = target
			m.Spec.Model.URI = raiv1.ArtifactURI(rec.Spec.ModelURI)
			m.Spec.Model.SHA256 = raiv1.SHA256(rec.Spec.ModelSHA256)
			if t := rec.Spec.TextModel; t != nil {
				// A text model serves with the tokenizer, labels and length
				// it was judged with.
				tok := t.Tokenizer
				m.Spec.Model.Task, m.Spec.Model.Tokenizer, m.Spec.Model.Labels, m.Spec.Model.MaxLength = t.Task, &tok, t.Labels, t.MaxLength
			}
			if err := s.w.Patch(ctx(cmd), m, patch); err != nil {
				return fmt.Errorf("set %s/%s back to version %s: %w", m.Namespace, m.Name, target, err)
			}
			_, err = fmt.Fprintf(s.out, "%s/%s: spec set from version %s back to %s (sha256 %s, %s, promoted in DecisionRecord %s); the operator re-checks its recorded evidence against the current policy before it serves\n",
				m.Namespace, m.Name, from, target, short(rec.Spec.ModelSHA256), rec.Spec.ModelURI, rec.Name)
			return err
		},
	}
	cmd.Flags().StringVar(&to, "to-version", "", "the version to roll back to (default: status.previousVersion)")
	return cmd
}
