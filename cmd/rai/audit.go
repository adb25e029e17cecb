package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/responsible-ai/rmodel-operator/serving/audit"
)

func init() {
	auditCmd := &cobra.Command{
		Use:   "audit",
		Short: "Work with the audit logs rai serve writes",
	}
	var anchorCount uint64
	var anchorHash string
	verify := &cobra.Command{
		Use:   "verify PATH [--anchor-count N --anchor-hash H]",
		Short: "Check an audit log's hash chain; report the first changed, dropped or reordered entry",
		Long: `Check every entry of a hash-chained audit log: its hash recomputes, it names the previous
entry's hash, and its sequence number follows. On success it prints the number of entries and the
last hash. On failure it names the first bad record (line and seq) and exits with status 1.

Entries cut from the end leave a valid, shorter chain. To detect that, record the log's head
('rai audit head', or GET /v2/audit/head of the server) somewhere the log's writer cannot reach,
and pass it back: with --anchor-count N --anchor-hash H the log must still hold entry N with hash H,
so a log cut back below the anchor, or rewritten up to it, fails.

An incomplete last line (no newline, not JSON: a write cut short by a crash) is reported and not
counted; 'rai serve' cuts it off when it reopens the log.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var anchors []audit.Anchor
			switch {
			case cmd.Flags().Changed("anchor-count") != cmd.Flags().Changed("anchor-hash"):
				return errors.New("--anchor-count and --anchor-hash go together")
			case cmd.Flags().Changed("anchor-count"):
				if anchorCount == 0 {
					return errors.New("--anchor-count counts entries from 1")
				}
				anchors = append(anchors, audit.Anchor{Count: anchorCount, Hash: strings.ToLower(anchorHash)})
			}
			res, err := audit.VerifyFile(args[0], anchors...)
			if err != nil {
				return fmt.Errorf("audit log %s: %w", args[0], err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "ok: %d entries, last hash %s\n", res.Entries, res.LastHash)
			if len(anchors) > 0 {
				fmt.Fprintf(out, "anchor: entry %d has hash %s\n", anchorCount, anchors[0].Hash)
			}
			if cs := res.ChainStart; cs != nil {
				fmt.Fprintf(out, "chain started by moving aside %s (its first %d entries verified, the last of them with hash %s): %s\n",
					cs.PreviousLog, cs.PreviousEntries, cs.PreviousHash, cs.Reason)
			}
			printTorn(out, res)
			return nil
		},
	}
	verify.Flags().Uint64Var(&anchorCount, "anchor-count", 0, "count of an anchored head: the log must still hold entry N with --anchor-hash")
	verify.Flags().StringVar(&anchorHash, "anchor-hash", "", "hash of an anchored head: entry --anchor-count's hash")
	head := &cobra.Command{
		Use:   "head PATH",
		Short: "Verify an audit log and print its head as JSON: {\"count\":N,\"hash\":\"…\",\"genesis\":\"…\"}",
		Long: `Verify an audit log (as 'rai audit verify' does) and print its head as one line of JSON, the
same as the server's GET /v2/audit/head: count is the number of entries (the last seq), hash the
last entry's hash (64 zeros for an empty log) and genesis the first entry's hash ("" for an empty
log), which tells one log from another. Anchor it outside the log's reach; pass count and hash to
'rai audit verify --anchor-count --anchor-hash' later.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := audit.VerifyFile(args[0])
			if err != nil {
				return fmt.Errorf("audit log %s: %w", args[0], err)
			}
			b, err := json.Marshal(res.Head())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\n", b)
			printTorn(cmd.ErrOrStderr(), res)
			return nil
		},
	}
	auditCmd.AddCommand(verify, head, newAuditVerifyDecisionsCmd())
	rootCmd.AddCommand(auditCmd)
}

func printTorn(w io.Writer, res audit.Result) {
	if t := res.Torn; t != nil {
		fmt.Fprintf(w, "note: line %d is incomplete (%d bytes without a newline: a write cut short by a crash); not counted\n", t.Line, t.Bytes)
	}
}
