package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/decisionchain"
)

func newVerifyCmd(connect connectFunc, allFlag func(*cobra.Command)) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify [NAME | -A]",
		Short: "Verify DecisionRecord chains against the heads in the models' status.decisionChain",
		Long: `Reads the DecisionRecords of one model (or of every model in the namespace, or with -A in
every namespace) and checks each chain: each record's hash, the sequence without gaps, each
previousHash, and that the chain reaches the head in the model's status.decisionChain (starting
after status.decisionChain.prunedThrough when records were removed for retention). Prints one
ok line per chain, as 'rai audit verify-decisions' does, and FAIL with the first bad record;
exits 1 when a chain does not verify.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := connect(cmd)
			if err != nil {
				return err
			}
			if len(args) == 1 && s.all {
				return errors.New("give a NAME or -A, not both")
			}
			var records raiv1.DecisionRecordList
			var opts []client.ListOption
			if !s.all {
				opts = append(opts, client.InNamespace(s.namespace))
			}
			if err := s.c.List(ctx(cmd), &records, opts...); err != nil {
				return fmt.Errorf("list DecisionRecords: %w", err)
			}
			var models []raiv1.ResponsibleModel
			if len(args) == 1 {
				m, err := s.getModel(cmd, args[0])
				switch {
				case apierrors.IsNotFound(err):
					// Records outlive their model: verify them without a head.
					fmt.Fprintf(s.out, "note  %s/%s: the model is gone; its records are verified without a head to reach\n", s.namespace, args[0])
				case err != nil:
					return err
				default:
					models = []raiv1.ResponsibleModel{*m}
				}
				kept := records.Items[:0]
				for _, r := range records.Items {
					if r.Spec.Model == args[0] {
						kept = append(kept, r)
					}
				}
				records.Items = kept
			} else if models, err = s.listModels(cmd); err != nil {
				return err
			}
			return verifyChains(s, records.Items, models)
		},
	}
	allFlag(cmd)
	return cmd
}

// verifyChains prints like `rai audit verify-decisions --models`.
func verifyChains(s *session, records []raiv1.DecisionRecord, models []raiv1.ResponsibleModel) error {
	chains, problems := decisionchain.Verify(records, decisionchain.Anchors(models))
	if len(chains) == 0 && len(problems) == 0 {
		fmt.Fprintln(s.out, "no DecisionRecords to verify")
		return nil
	}
	return decisionchain.Report(s.out, chains, problems)
}
