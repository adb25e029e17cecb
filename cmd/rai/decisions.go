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
			var list raiv1.ResponsibleModelList
			if models != "" {
				if err := readJSON(models, &list); err != nil {
					return err
				}
			}
			chains, problems := decisionchain.Verify(records.Items, decisionchain.Anchors(list.Items))
			return decisionchain.Report(cmd.OutOrStdout(), chains, problems)
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
