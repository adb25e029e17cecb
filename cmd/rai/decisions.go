package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/decisionchain"
)

// newAuditVerifyDecisionsCmd checks an export of the operator's
// DecisionRecords, offline.
func newAuditVerifyDecisionsCmd() *cobra.Command {
	var models string
	cmd := &cobra.Command{
		Use:   "verify-decisions RECORDS.json [--models MODELS.json]",
		Short: "Verify the hash chains of exported DecisionRecords (kubectl get decisionrecords -o json), against the heads in the models' status",
		Long: `Reads a list of DecisionRecords (the JSON of 'kubectl get decisionrecords -A -o json', or - for
standard input) and checks every model's chain: each record's hash, the sequence from 1 without
gaps, each previousHash. With --models (the JSON of 'kubectl get rmodel -A -o json'), each
chain must also reach the head the model's status.decisionChain records, so records removed
from the end are detected. Names the first bad record of each chain; exits 1 when one is bad.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var records raiv1.DecisionRecordList
			if err := readJSON(args[0], &records); err != nil {
				return err
			}
			anchors := map[string]decisionchain.Anchor{}
			if models != "" {
				var list raiv1.ResponsibleModelList
				if err := readJSON(models, &list); err != nil {
					return err
				}
				for _, m := range list.Items {
					if h := m.Status.DecisionChain; h != nil {
						a := decisionchain.Anchor{Count: h.Count, Hash: h.Hash}
						if p := h.PrunedThrough; p != nil {
							a.PrunedSequence, a.PrunedHash = p.Sequence, p.Hash
						}
						anchors[m.Namespace+"/"+m.Name] = a
					}
				}
			}
			chains, problems := decisionchain.Verify(records.Items, anchors)
			out := cmd.OutOrStdout()
			for _, c := range chains {
				fmt.Fprintf(out, "ok    %s/%s: %d records, head %s (%d Promoted, %d Denied, %d RolledBack)\n", c.Namespace, c.Model, c.Count, c.Head,
					c.Actions[raiv1.DecisionAction(raiv1.HistoryPromoted)], c.Actions[raiv1.DecisionAction(raiv1.HistoryDenied)], c.Actions[raiv1.DecisionAction(raiv1.HistoryRolledBack)])
			}
			for _, p := range problems {
				fmt.Fprintf(out, "FAIL  %s\n", p.Error())
			}
			if len(problems) > 0 {
				return fmt.Errorf("%d decision chain(s) do not verify", len(problems))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&models, "models", "", "the models' JSON (kubectl get rmodel -A -o json): check each chain reaches the head in its status")
	return cmd
}

func readJSON(path string, v any) error {
	var r io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	if err := json.NewDecoder(r).Decode(v); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}
