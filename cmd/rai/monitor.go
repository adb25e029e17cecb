package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/responsible-ai/rmodel-operator/internal/artifact"
	"github.com/responsible-ai/rmodel-operator/internal/contract"
	"github.com/responsible-ai/rmodel-operator/internal/evaluation/dataset"
	"github.com/responsible-ai/rmodel-operator/internal/evaluation/runner"
	"github.com/responsible-ai/rmodel-operator/internal/monitoring"
)

// Subcommands and flags of `rai monitor` beyond the evaluations' (internal/contract).
const (
	commandMonitor   = "monitor"
	commandReference = "reference"
	flagOut          = "out"
	flagECDFPoints   = "ecdf-points"
	flagPSIBins      = "psi-bins"
)

var monitorCmd = &cobra.Command{
	Use:   commandMonitor,
	Short: "Live monitoring: the evaluation data's reference summary that live traffic is compared with",
}

// referenceFlags are the inputs of `rai monitor reference`.
type referenceFlags struct {
	model, modelSHA, modelName, modelVersion string
	data, dataSHA                            string
	label, sensitive, favorable, output      string
	threshold                                float64
	out, terminationLog                      string
	opts                                     monitoring.ReferenceOptions
}

func newMonitorReferenceCmd() *cobra.Command {
	var f referenceFlags
	cmd := &cobra.Command{
		Use:   commandReference + " --model M.onnx --data D.csv --label COL [--sensitive COL[,COL...]] --out reference.json",
		Short: "Summarize the evaluation data for live monitoring: per-feature ECDF points and PSI bins, per-group rates",
		Long: `Summarize the evaluation data a model version is judged on, for live monitoring
(internal/monitoring.Compare measures live traffic against it): for each of the model's input
columns (as the evaluations choose them: the model's rai.features, else every column but the
label and the sensitive ones) the exact count, min, max and mean, points of the exact ECDF
(--ecdf-points, rank resolution 1/points) and the PSI bins (--psi-bins quantiles, deciles by
default); for each group of the sensitive columns (values joined by ",") the rows, the model's
positive predictions (P(favorable) ≥ --threshold), the favorable labels and the confusion counts.
No rows are written. --model and --data may be URIs (file://, http://, https://) with their
sha256. --termination-log gets the compact form (≤ 4 KiB: the full JSON's sha256 and size, the
model and data digests), against which the full reference is checked wherever it is carried
(internal/monitoring.ParseReference).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.terminationLog = runner.TerminationLogPath(f.terminationLog, cmd.Flags().Changed(contract.FlagTerminationLog))
			return runReference(cmd, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.model, contract.FlagModel, "", "ONNX model file")
	fl.StringVar(&f.modelSHA, contract.FlagSHA256, "", "expected sha256 of the model file; a mismatch is an error")
	fl.StringVar(&f.modelName, contract.FlagModelName, "", "model name recorded in the reference")
	fl.StringVar(&f.modelVersion, contract.FlagModelVersion, "", "model version recorded in the reference")
	fl.StringVar(&f.data, contract.FlagData, "", "evaluation data: CSV with a header row, or Parquet (.parquet)")
	fl.StringVar(&f.dataSHA, contract.FlagDataSHA256, "", "expected sha256 of the data file; a mismatch is an error")
	fl.StringVar(&f.label, contract.FlagLabel, "", "label column")
	fl.StringVar(&f.sensitive, contract.FlagSensitive, "", "sensitive column(s), comma-separated: the groups")
	fl.StringVar(&f.favorable, contract.FlagFavorable, contract.DefaultFavorableLabel, "the favorable label value")
	fl.Float64Var(&f.threshold, contract.FlagThreshold, contract.DefaultPredictionThreshold, "a row is predicted favorable when P(favorable) ≥ threshold")
	fl.StringVar(&f.output, contract.FlagOutput, "", "model output holding P(favorable) (default: the first output)")
	fl.IntVar(&f.opts.ECDFPoints, flagECDFPoints, monitoring.DefaultECDFPoints, "ECDF points kept per feature (rank resolution 1/points)")
	fl.IntVar(&f.opts.PSIBins, flagPSIBins, monitoring.DefaultPSIBins, "quantile bins per feature for PSI (equal edges merge)")
	fl.StringVar(&f.out, flagOut, "-", "write the reference JSON here (- for standard output)")
	fl.StringVar(&f.terminationLog, contract.FlagTerminationLog, contract.DefaultTerminationLog, "write the compact form (the reference's sha256) here; the default is used only when it exists")
	_ = cmd.MarkFlagRequired(contract.FlagModel)
	_ = cmd.MarkFlagRequired(contract.FlagData)
	_ = cmd.MarkFlagRequired(contract.FlagLabel)
	return cmd
}

func runReference(cmd *cobra.Command, f referenceFlags) error {
	var c commonFlags
	defer c.cleanup()
	if err := c.fetchInputs(cmd.Context(), []input{
		{contract.Arg(contract.FlagModel), contract.Arg(contract.FlagSHA256), &f.model, f.modelSHA},
		{contract.Arg(contract.FlagData), contract.Arg(contract.FlagDataSHA256), &f.data, f.dataSHA},
	}); err != nil {
		return err
	}
	ref, out, err := buildReference(cmd.Context(), f)
	if err != nil {
		return err
	}
	rows := ref.Dataset.Rows
	if f.terminationLog != "" {
		compact, err := json.Marshal(monitoring.DigestOf(ref, out))
		if err != nil {
			return err
		}
		if err := os.WriteFile(f.terminationLog, compact, 0o644); err != nil {
			return fmt.Errorf("write the termination log: %w", err)
		}
	}
	if f.out == "-" || f.out == "" {
		_, err := cmd.OutOrStdout().Write(out)
		return err
	}
	if err := os.WriteFile(f.out, out, 0o644); err != nil {
		return fmt.Errorf("write the reference: %w", err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "reference: %d rows, %d features, %d groups, %d bytes → %s\n", rows, len(ref.Features), len(ref.Groups), len(out), f.out)
	return nil
}

func init() {
	monitorCmd.AddCommand(newMonitorReferenceCmd())
	rootCmd.AddCommand(monitorCmd)
}

// buildReference summarizes f.data (already fetched to a local file) with
// f.model and returns the reference and its JSON encoding, one line.
func buildReference(ctx context.Context, f referenceFlags) (*monitoring.Reference, []byte, error) {
	dataDigest, err := artifact.FileSHA256(f.data)
	if err != nil {
		return nil, nil, err
	}
	if err := runner.CheckDigest("data", f.data, f.dataSHA, dataDigest); err != nil {
		return nil, nil, err
	}
	m, err := runner.LoadONNX(f.model, f.modelSHA, f.output)
	if err != nil {
		return nil, nil, err
	}
	defer m.Close()
	sensitive := splitList(f.sensitive)
	columns, err := dataset.Columns(f.data)
	if err != nil {
		return nil, nil, err
	}
	features, err := runner.FeatureColumns(m, columns, append([]string{f.label}, sensitive...)...)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", f.data, err)
	}
	r, err := dataset.Open(f.data, dataset.Spec{Numeric: features, Categorical: append([]string{f.label}, sensitive...), Labels: []string{f.label}})
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	b, err := monitoring.NewReferenceBuilder(features, f.opts)
	if err != nil {
		return nil, nil, err
	}

	// The reading goroutine (prepare, under the reader's lock) turns codes into group indices and
	// favorable flags; workers score and add under mu, which also guards the group names.
	var (
		mu         sync.Mutex
		favorable  []bool
		groupNames []string
		groupOf    = map[string]int32{}
	)
	prepare := func(w *runner.Work) error {
		labels := r.Dict(0)
		for len(favorable) < len(labels) {
			favorable = append(favorable, runner.IsFavorable(labels[len(favorable)], f.favorable))
		}
		mu.Lock()
		defer mu.Unlock()
		parts := make([]string, len(sensitive))
		for i := range w.Rows {
			w.Labels[i] = favorable[w.Codes[0][i]]
			for s := range sensitive {
				parts[s] = monitoring.GroupKey(r.Dict(1 + s)[w.Codes[1+s][i]])
			}
			key := strings.Join(parts, ",")
			g, ok := groupOf[key]
			if !ok {
				g = int32(len(groupNames))
				groupOf[key] = g
				groupNames = append(groupNames, key)
			}
			w.Groups[i] = g
		}
		return nil
	}
	process := func(_ int, w *runner.Work) error {
		mu.Lock()
		defer mu.Unlock()
		if err := b.AddRows(w.Features, w.Rows); err != nil {
			return fmt.Errorf("%s: rows %d to %d: %w", f.data, w.FirstRow, w.FirstRow+int64(w.Rows)-1, err)
		}
		if len(sensitive) == 0 {
			return nil
		}
		for i := range w.Rows {
			b.Observe(groupNames[w.Groups[i]], float64(w.Scores[i]) >= f.threshold, w.Labels[i])
		}
		return nil
	}
	rows, err := runner.Stream(ctx, r, m, runner.Workers(), runner.Shard{}, prepare, process)
	if err != nil {
		return nil, nil, err
	}
	if rows == 0 {
		return nil, nil, fmt.Errorf("%s: no data rows", f.data)
	}
	ref, err := b.Build(monitoring.Reference{
		CreatedAt: time.Now().UTC(),
		Model:     monitoring.ModelRef{Name: f.modelName, Version: f.modelVersion, SHA256: m.SHA256},
		Dataset:   monitoring.DataRef{SHA256: dataDigest, Rows: rows},
		Label:     f.label, Favorable: f.favorable, Threshold: f.threshold, Sensitive: sensitive,
	})
	if err != nil {
		return nil, nil, err
	}
	out, err := json.Marshal(ref)
	if err != nil {
		return nil, nil, err
	}
	out = append(out, '\n')
	return ref, out, nil
}
