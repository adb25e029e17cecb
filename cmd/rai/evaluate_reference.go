package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/responsible-ai/rmodel-operator/internal/contract"
	"github.com/responsible-ai/rmodel-operator/internal/evaluation/runner"
	"github.com/responsible-ai/rmodel-operator/internal/monitoring"
	"github.com/responsible-ai/rmodel-operator/internal/report"
)

// newEvaluateReferenceCmd is `rai evaluate reference`: the evaluation Job
// form of `rai monitor reference`. The reference summary is too large for a
// termination message, so it is written to standard output as one line (the
// pod's log), and the report — kind reference, its details the summary's
// sha256 and size (monitoring.ReferenceDigest) — goes to --report and the
// termination log as every evaluation's does. The operator stores the log
// line whose sha256 the trusted report names.
func newEvaluateReferenceCmd() *cobra.Command {
	var (
		c         commonFlags
		f         referenceFlags
		sensitive string
	)
	cmd := &cobra.Command{
		Use:   contract.KindReference + " --model M.onnx --data D.csv --label COL [--sensitive COL[,COL]] --report OUT.json",
		Short: "Summarize the evaluation data for live monitoring (the summary on standard output, its digest in the report)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			start := time.Now()
			if err := c.prepare(cmd.Context(), report.KindReference); err != nil {
				return err
			}
			rep := runner.NewReport(report.KindReference, c.Common, start)
			f.model, f.modelSHA, f.modelName, f.modelVersion = c.ModelPath, c.ModelSHA256, c.ModelName, c.ModelVersion
			f.data, f.dataSHA = c.DataPath, c.DataSHA256
			f.sensitive = sensitive
			ref, out, err := buildReference(cmd.Context(), f)
			if err != nil {
				return c.finish(runner.Fail(rep, err), err)
			}
			digest := monitoring.DigestOf(ref, out)
			rep.Model.SHA256 = ref.Model.SHA256
			rep.Dataset = &report.Dataset{SHA256: ref.Dataset.SHA256, Rows: ref.Dataset.Rows}
			rep.SetMetric("features", float64(len(ref.Features)), "")
			rep.SetMetric("groups", float64(len(ref.Groups)), "")
			rep.SetMetric("reference_bytes", float64(len(out)), "")
			rep.Parameters["label"], rep.Parameters["favorable"] = f.label, f.favorable
			rep.Parameters["sensitive"], rep.Parameters["threshold"] = sensitive, fmt.Sprint(f.threshold)
			if rep.Details, err = json.Marshal(digest); err != nil {
				return c.finish(runner.Fail(rep, err), err)
			}
			rep.EndTime = time.Now().UTC()
			// The summary first: a report in the termination log promises
			// a log line that is there.
			if _, err := cmd.OutOrStdout().Write(out); err != nil {
				return c.finish(runner.Fail(rep, err), err)
			}
			return c.finish(rep, nil)
		},
	}
	fl := cmd.Flags()
	c.register(fl, true)
	fl.StringVar(&f.label, contract.FlagLabel, "", "label column")
	fl.StringVar(&sensitive, contract.FlagSensitive, "", "sensitive column(s), comma-separated: the groups")
	fl.StringVar(&f.favorable, contract.FlagFavorable, contract.DefaultFavorableLabel, "the favorable label value")
	fl.Float64Var(&f.threshold, contract.FlagThreshold, contract.DefaultPredictionThreshold, "a row is predicted favorable when P(favorable) ≥ threshold")
	fl.StringVar(&f.output, contract.FlagOutput, "", "model output holding P(favorable) (default: the first output)")
	fl.IntVar(&f.opts.ECDFPoints, flagECDFPoints, monitoring.DefaultECDFPoints, "ECDF points kept per feature (rank resolution 1/points)")
	fl.IntVar(&f.opts.PSIBins, flagPSIBins, monitoring.DefaultPSIBins, "quantile bins per feature for PSI (equal edges merge)")
	_ = cmd.MarkFlagRequired(contract.FlagModel)
	_ = cmd.MarkFlagRequired(contract.FlagData)
	_ = cmd.MarkFlagRequired(contract.FlagLabel)
	return cmd
}

func init() {
	evaluateCmd.AddCommand(newEvaluateReferenceCmd())
}
