package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/responsible-ai/rmodel-operator/internal/artifact"
	"github.com/responsible-ai/rmodel-operator/internal/demo"
	"github.com/responsible-ai/rmodel-operator/internal/demo/dataset"
	"github.com/responsible-ai/rmodel-operator/internal/demo/train"
)

// modelCmd groups the demo data and model tools. The operator never trains models in
// production; these make honest, reproducible models to demonstrate and test every verdict.
var modelCmd = &cobra.Command{
	Use:   "model",
	Short: "Build the synthetic lending data set and train demo models (DP-SGD, reweighing) as ONNX",
}

// newModelDatasetCmd builds `rai model dataset`: the four CSV splits of the synthetic lending
// data set, each with a sha256sum-format checksum file, and prints their digests as JSON.
func newModelDatasetCmd() *cobra.Command {
	cfg := dataset.DefaultConfig()
	var out string
	cmd := &cobra.Command{
		Use:   "dataset --out DIR",
		Short: "Write the synthetic credit-lending data set (train, eval, members, nonmembers CSV)",
		Long: `Write the synthetic credit-lending data set into DIR: train.csv, eval.csv, members.csv
(the first --audit-rows training rows) and nonmembers.csv (rows no model saw), each with a
<file>.sha256 in sha256sum format. Same flags, same bytes. --bias in [0, 1] sets how strongly the
label and the proxy feature region_score depend on sex.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			splits, err := dataset.Generate(cfg)
			if err != nil {
				return err
			}
			sums, err := dataset.WriteDir(out, splits)
			if err != nil {
				return err
			}
			return modelPrintJSON(cmd, map[string]any{"dir": out, "config": cfg, "sha256": sums})
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, "out", "", "output directory (created if missing)")
	f.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed")
	f.Float64Var(&cfg.Bias, "bias", cfg.Bias, "bias knob in [0, 1]: dependence of the label and region_score on sex")
	f.IntVar(&cfg.TrainRows, "train-rows", cfg.TrainRows, "rows in train.csv")
	f.IntVar(&cfg.EvalRows, "eval-rows", cfg.EvalRows, "rows in eval.csv")
	f.IntVar(&cfg.AuditRows, "audit-rows", cfg.AuditRows, "rows in members.csv and in nonmembers.csv")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

// newModelTrainCmd builds `rai model train`: train a logistic regression or MLP on a CSV,
// optionally with DP-SGD and reweighing, and write it as ONNX with its recipe in metadata_props.
func newModelTrainCmd() *cobra.Command {
	r := train.Recipe{Model: train.LogisticRegression, Epochs: 5, LearningRate: 0.5, SampleRate: 0.01, Seed: 1}
	dp := train.DP{NoiseMultiplier: 1, ClippingNorm: 1, Delta: 1e-5}
	var (
		data, out, evalPath, label, encoding, name, model, reweighBy string
		features, sensitive                                          []string
		useDP                                                        bool
	)
	cmd := &cobra.Command{
		Use:   "train --data train.csv --out model.onnx",
		Short: "Train a binary classifier (optionally DP-SGD, reweighing) and export it as ONNX",
		Long: `Train a logistic regression or a small MLP on a CSV with a header, numeric feature columns
and a 0/1 label, and write it as ONNX (input "features" float32 [N, F], output "probability"
float32 [N, 1] = P(label = 1)) with a <file>.sha256 beside it. metadata_props record the feature
order, the label, the data's sha256, the encoding and the recipe; with --dp also the DP-SGD
parameters and the ε the project's RDP accountant gives. Prints a JSON summary.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r.Model = train.Kind(model)
			if reweighBy != "" {
				r.Reweighing, r.ReweighingAttribute = true, reweighBy
			}
			if useDP {
				r.DP = &dp
			}
			if err := r.Validate(); err != nil {
				return err
			}
			opts := dataset.ReadOptions{Features: features, Label: label, Sensitive: sensitive}
			tab, err := dataset.ReadFile(data, opts)
			if err != nil {
				return err
			}
			if encoding == "" {
				if !slices.Equal(tab.FeatureNames, dataset.FeatureNames) {
					return fmt.Errorf("--encoding: the features are not the demo data set's, so say how they were encoded")
				}
				encoding = dataset.Encoding
			}
			sum, err := artifact.FileSHA256(data)
			if err != nil {
				return err
			}
			m, stats, err := train.Train(r, tab)
			if err != nil {
				return err
			}
			if name == "" {
				name = strings.TrimSuffix(filepath.Base(out), filepath.Ext(out))
			}
			exp, err := train.ExportONNX(m, r, train.Provenance{
				Name: name, Features: tab.FeatureNames, Label: modelLabelOr(label), Sensitive: modelSensitiveNames(tab),
				DatasetSHA256: sum, Encoding: encoding, Version: version,
			})
			if err != nil {
				return err
			}
			modelSum, err := dataset.WriteWithChecksum(out, exp.ONNX)
			if err != nil {
				return err
			}
			report := map[string]any{"model": out, "sha256": modelSum, "steps": stats.Steps, "meanBatch": stats.MeanBatch, "metadata": exp.Metadata}
			if r.DP != nil {
				report["epsilon"] = exp.Epsilon
				report["clippedFraction"] = stats.ClippedFraction
			}
			if stats.Weights != nil {
				report["reweighing"] = stats.Weights
			}
			if evalPath != "" {
				ev, err := dataset.ReadFile(evalPath, dataset.ReadOptions{Features: tab.FeatureNames, Label: label, Sensitive: sensitive})
				if err != nil {
					return err
				}
				by := dataset.SexColumn
				if reweighBy != "" {
					by = reweighBy
				}
				s, err := train.Summarize(m, ev, by)
				if err != nil {
					return err
				}
				report["eval"] = s
			}
			return modelPrintJSON(cmd, report)
		},
	}
	f := cmd.Flags()
	f.StringVar(&data, "data", "", "training CSV")
	f.StringVar(&out, "out", "", "ONNX file to write")
	f.StringVar(&evalPath, "eval", "", "optional evaluation CSV: print accuracy and fairness by --reweigh-by (or sex)")
	f.StringVar(&model, "model", string(train.LogisticRegression), "model family: logistic_regression or mlp")
	f.IntSliceVar(&r.Hidden, "hidden", nil, "MLP hidden layer widths, e.g. 16,8")
	f.Float64Var(&r.Epochs, "epochs", r.Epochs, "expected passes over the data (steps = epochs / sample rate)")
	f.Float64Var(&r.LearningRate, "lr", r.LearningRate, "SGD learning rate")
	f.Float64Var(&r.SampleRate, "sample-rate", r.SampleRate, "Poisson sample rate q (expected batch = q·N)")
	f.Float64Var(&r.L2, "l2", r.L2, "weight decay")
	f.Uint64Var(&r.Seed, "seed", r.Seed, "random seed (initialisation, batches, noise)")
	f.StringVar(&reweighBy, "reweigh-by", "", "reweigh (Kamiran & Calders) by this sensitive column; empty: no reweighing")
	f.BoolVar(&useDP, "dp", false, "train with DP-SGD")
	f.Float64Var(&dp.NoiseMultiplier, "noise-multiplier", dp.NoiseMultiplier, "DP-SGD noise multiplier σ")
	f.Float64Var(&dp.ClippingNorm, "clip", dp.ClippingNorm, "DP-SGD per-example clipping norm C")
	f.Float64Var(&dp.Delta, "delta", dp.Delta, "δ at which ε is reported")
	f.StringSliceVar(&features, "features", nil, "feature columns in model input order (default: every column but the label and the sensitive ones)")
	f.StringVar(&label, "label", dataset.LabelColumn, "label column (0/1, 1 favorable)")
	f.StringSliceVar(&sensitive, "sensitive", dataset.SensitiveColumns, "sensitive columns (never features)")
	f.StringVar(&encoding, "encoding", "", "value of rai.encoding (default: the demo data set's encoding)")
	f.StringVar(&name, "name", "", "ONNX graph name (default: the output file's base name)")
	_ = cmd.MarkFlagRequired("data")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

// newModelDemoCmd builds `rai model demo`: every demo artifact and the models.json manifest.
func newModelDemoCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "demo --out DIR",
		Short: "Build the demo data set, one model per verdict, and models.json",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := demo.Build(out, version, func(format string, args ...any) {
				fmt.Fprintf(cmd.ErrOrStderr(), format+"\n", args...)
			})
			return err
		},
	}
	cmd.Flags().StringVar(&out, "out", "_output/demo", "output directory")
	return cmd
}

func modelLabelOr(label string) string {
	if label == "" {
		return dataset.LabelColumn
	}
	return label
}

// modelSensitiveNames lists t's sensitive columns: the demo's known ones first, then the rest
// sorted, so the rai.sensitive metadata does not depend on map order.
func modelSensitiveNames(t *dataset.Table) []string {
	var known, rest []string
	for c := range t.Sensitive {
		if slices.Contains(dataset.SensitiveColumns, c) {
			continue
		}
		rest = append(rest, c)
	}
	for _, c := range dataset.SensitiveColumns {
		if _, ok := t.Sensitive[c]; ok {
			known = append(known, c)
		}
	}
	slices.Sort(rest)
	return append(known, rest...)
}

func modelPrintJSON(cmd *cobra.Command, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	_, err = fmt.Fprintln(cmd.OutOrStdout(), string(data))
	return err
}

func init() {
	modelCmd.AddCommand(newModelDatasetCmd(), newModelTrainCmd(), newModelDemoCmd())
	rootCmd.AddCommand(modelCmd)
}
