package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/responsible-ai/rmodel-operator/serving/audit"
)

func init() {
	auditCmd := &cobra.Command{
		Use:   "audit",
		Short: "Work with the audit logs rai serve writes",
	}
	verify := &cobra.Command{
		Use:   "verify PATH",
		Short: "Check an audit log's hash chain; report the first changed, dropped or reordered entry",
		Long: `Check every entry of a hash-chained audit log: its hash recomputes, it names the previous
entry's hash, and its sequence number follows. On success it prints the number of entries and the
last hash (keep that hash elsewhere to detect entries later cut from the end). On failure it names
the line and exits with status 1.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := audit.VerifyFile(args[0])
			if err != nil {
				return fmt.Errorf("audit log %s: %w", args[0], err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ok: %d entries, last hash %s\n", res.Entries, res.LastHash)
			return nil
		},
	}
	auditCmd.AddCommand(verify)
	rootCmd.AddCommand(auditCmd)
}
