package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/responsible-ai/rmodel-operator/internal/artifact"
	"github.com/responsible-ai/rmodel-operator/internal/contract"
	"github.com/responsible-ai/rmodel-operator/internal/evaluation/runner"
	"github.com/responsible-ai/rmodel-operator/internal/onnx"
	"github.com/responsible-ai/rmodel-operator/internal/report"
)

// evaluateCmd groups the evaluation Jobs' commands. Each writes a JSON
// report (--report) and its compact form to --termination-log; on bad input
// it still writes an Error report when it can, and exits non-zero.
var evaluateCmd = &cobra.Command{
	Use:   contract.CommandEvaluate,
	Short: "Evaluate a model: fairness, privacy, robustness, explain; merge shard reports",
}

// commonFlags are the flags every `rai evaluate <kind>` takes.
type commonFlags struct {
	runner.Common
	report         string
	terminationLog string
	shard          string
	flags          *pflag.FlagSet
	// tmpDir holds inputs fetched from URIs; finish removes it.
	tmpDir string
	// text are the text-model flags (evaluate_text.go).
	text textFlags
	// device is --device, on the kinds that take it (registerDevice).
	device string
}

// registerDevice adds --device to a kind that runs the model over the data
// set many times (fairness, robustness): spec.evaluations.job.gpu runs it
// on a GPU.
func (c *commonFlags) registerDevice(f *pflag.FlagSet) {
	f.StringVar(&c.device, contract.FlagDevice, contract.DefaultDevice, "execution provider: cpu or cuda (cuda fails when unavailable, it never falls back to the CPU)")
}

// register registers the shared flags. The flags the operator passes are
// named, and default, as internal/contract says.
func (c *commonFlags) register(f *pflag.FlagSet, withData bool) {
	c.flags = f
	f.StringVar(&c.ModelPath, contract.FlagModel, "", "ONNX model file")
	f.StringVar(&c.ModelSHA256, contract.FlagSHA256, "", "expected sha256 of the model file; a mismatch is an error")
	f.StringVar(&c.ModelName, contract.FlagModelName, "", "model name recorded in the report")
	f.StringVar(&c.ModelVersion, contract.FlagModelVersion, "", "model version recorded in the report")
	if withData {
		f.StringVar(&c.DataPath, contract.FlagData, "", "evaluation data: CSV with a header row, or Parquet (.parquet)")
		f.StringVar(&c.DataSHA256, contract.FlagDataSHA256, "", "expected sha256 of the data file; a mismatch is an error")
		f.StringVar(&c.shard, contract.FlagShard, "", "evaluate shard i/N only (blocks of 4096 rows, block k to shard k mod N) and write a partial report for `rai evaluate merge`")
	}
	c.text.register(f)
	f.StringVar(&c.report, contract.FlagReport, "", "write the JSON report here")
	f.StringVar(&c.terminationLog, contract.FlagTerminationLog, contract.DefaultTerminationLog, "write the compact report (≤ 4 KiB) here; the default is used only when it exists")
}

// prepare parses the shared flags that need parsing and fetches the inputs
// named by URI (see fetchInputs). When an input cannot be fetched it writes
// an Error report for kind, so the operator can show why, and returns the
// error.
func (c *commonFlags) prepare(ctx context.Context, kind report.Kind, extra ...input) error {
	runner.EvaluatorVersion = version
	s, err := runner.ParseShard(c.shard)
	if err != nil {
		return err
	}
	c.Shard = s
	if c.device != "" {
		d, err := onnx.ParseDevice(c.device)
		if err != nil {
			err = fmt.Errorf("%s: %w", contract.Arg(contract.FlagDevice), err)
			return c.finish(runner.Fail(runner.NewReport(kind, c.Common, time.Now()), err), err)
		}
		c.Device = d
	}
	if err := c.text.parse(); err != nil {
		return c.finish(runner.Fail(runner.NewReport(kind, c.Common, time.Now()), err), err)
	}
	if kind == report.KindReference && c.text.isText() {
		err := fmt.Errorf("reference summaries (live monitoring) are for %s models only", contract.TaskBinaryClassification)
		return c.finish(runner.Fail(runner.NewReport(kind, c.Common, time.Now()), err), err)
	}
	inputs := append([]input{
		{contract.Arg(contract.FlagModel), contract.Arg(contract.FlagSHA256), &c.ModelPath, c.ModelSHA256},
		{contract.Arg(contract.FlagData), contract.Arg(contract.FlagDataSHA256), &c.DataPath, c.DataSHA256},
		c.text.input(),
	}, extra...)
	if err := c.fetchInputs(ctx, inputs); err != nil {
		return c.finish(runner.Fail(runner.NewReport(kind, c.Common, time.Now()), err), err)
	}
	return nil
}

func (c *commonFlags) terminationLogPath() string {
	return runner.TerminationLogPath(c.terminationLog, c.flags.Changed(contract.FlagTerminationLog))
}

// finish writes rep (a Succeeded or an Error report) and returns evalErr, or
// the write error when evaluation succeeded but the report could not be
// written. A report that does not validate is also an error.
func (c *commonFlags) finish(rep *report.Report, evalErr error) error {
	c.cleanup()
	werr := runner.Write(rep, c.report, c.terminationLogPath())
	if evalErr != nil {
		if werr != nil {
			fmt.Fprintln(os.Stderr, "rai: also failed to write the error report:", werr)
		}
		return evalErr
	}
	if werr != nil {
		return werr
	}
	if c.report == "" {
		b, err := rep.Compact()
		if err != nil {
			return err
		}
		fmt.Println(string(b))
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func newEvaluateFairnessCmd() *cobra.Command {
	var (
		c         commonFlags
		cfg       runner.FairnessConfig
		sensitive string
	)
	cmd := &cobra.Command{
		Use:   contract.KindFairness + " --model M.onnx --data D.csv --label COL --sensitive COL[,COL...] --report OUT.json",
		Short: "Group fairness: Fairlearn disparities, AIF360 signed metrics, per-group rates, bootstrap intervals",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := c.prepare(cmd.Context(), report.KindFairness); err != nil {
				return err
			}
			cfg.Common = c.Common
			cfg.Sensitive = splitList(sensitive)
			if c.text.isText() {
				return runTextFairness(cmd.Context(), &c, cfg, cmd.Flags())
			}
			rep, err := runner.EvaluateFairness(cmd.Context(), cfg)
			return c.finish(rep, err)
		},
	}
	f := cmd.Flags()
	c.register(f, true)
	c.registerDevice(f)
	f.StringVar(&cfg.Label, contract.FlagLabel, "", "label column")
	f.StringVar(&sensitive, contract.FlagSensitive, "", "sensitive column(s), comma-separated; several give intersectional groups")
	f.StringVar(&cfg.Privileged, contract.FlagPrivileged, "", "privileged group for the signed metrics, COL=VALUE[,COL=VALUE...] on sensitive columns")
	f.StringVar(&cfg.Favorable, contract.FlagFavorable, contract.DefaultFavorableLabel, "the favorable label value")
	f.Float64Var(&cfg.Threshold, contract.FlagThreshold, contract.DefaultPredictionThreshold, "a row is predicted favorable when P(favorable) ≥ threshold")
	f.StringVar(&cfg.Output, contract.FlagOutput, "", "model output holding P(favorable) (default: the first output)")
	f.StringVar(&cfg.Predictions, "predictions", "", "evaluate this column of predicted labels instead of running a model")
	f.IntVar(&cfg.Bootstrap, "bootstrap", 1000, "bootstrap replicates for the 95% intervals (0: none)")
	f.Uint64Var(&cfg.Seed, "seed", 1, "bootstrap seed")
	_ = cmd.MarkFlagRequired(contract.FlagData)
	_ = cmd.MarkFlagRequired(contract.FlagLabel)
	_ = cmd.MarkFlagRequired(contract.FlagSensitive)
	return cmd
}

func newEvaluateMergeCmd() *cobra.Command {
	var (
		out, terminationLog string
		bootstrap           int
		seed                uint64
		partDigests         []string
	)
	cmd := &cobra.Command{
		Use:   contract.CommandMerge + " --report OUT.json [--part-sha256 D]... PART.json...",
		Short: "Combine the partial reports of `--shard i/N` runs into the one-pass report",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, parts []string) error {
			runner.EvaluatorVersion = version
			c := commonFlags{report: out, terminationLog: terminationLog, flags: cmd.Flags()}
			if err := checkPartDigests(parts, partDigests); err != nil {
				rep := &report.Report{SchemaVersion: report.SchemaVersion, Kind: report.KindFairness, Evaluator: report.Evaluator{Name: runner.EvaluatorName, Version: version}, StartTime: time.Now().UTC()}
				if b, rerr := os.ReadFile(parts[0]); rerr == nil {
					if first, perr := report.Parse(b); perr == nil {
						rep.Kind, rep.Model = first.Kind, first.Model
					}
				}
				return c.finish(runner.Fail(rep, err), err)
			}
			rep, err := runner.MergeFiles(parts, runner.MergeOptions{Bootstrap: bootstrap, Seed: seed, BootstrapSet: cmd.Flags().Changed("bootstrap"), SeedSet: cmd.Flags().Changed("seed")})
			if rep == nil {
				return err
			}
			return c.finish(rep, err)
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, contract.FlagReport, "", "write the merged JSON report here")
	f.StringVar(&terminationLog, contract.FlagTerminationLog, contract.DefaultTerminationLog, "write the compact merged report here; the default is used only when it exists")
	f.IntVar(&bootstrap, "bootstrap", 0, "fairness bootstrap replicates (default: as the parts were run)")
	f.Uint64Var(&seed, "seed", 0, "fairness bootstrap seed (default: as the parts were run)")
	f.StringArrayVar(&partDigests, contract.FlagPartSHA256, nil, "the sha256 each part must have, in the order of the parts (the operator passes the digests of the reports it read from the shards' pods)")
	return cmd
}

// checkPartDigests refuses a part whose file does not have its digest.
// Without digests, every part is taken as it is.
func checkPartDigests(parts, digests []string) error {
	if len(digests) == 0 {
		return nil
	}
	if len(digests) != len(parts) {
		return fmt.Errorf("merge: %d --part-sha256 digests for %d parts", len(digests), len(parts))
	}
	for i, p := range parts {
		got, err := artifact.FileSHA256(p)
		if err != nil {
			return fmt.Errorf("merge: part %s: %w", p, err)
		}
		if got != digests[i] {
			return fmt.Errorf("merge: part %s has sha256 %s, not %s: it is not the report the operator read", p, got, digests[i])
		}
	}
	return nil
}

func newEvaluatePrivacyCmd() *cobra.Command {
	var (
		c                         commonFlags
		cfg                       runner.PrivacyConfig
		membersSHA, nonMembersSHA string
	)
	cmd := &cobra.Command{
		Use:   contract.KindPrivacy + " [--model M.onnx] [--noise-multiplier S --sample-rate Q --steps T] --delta D [--members A.csv --non-members B.csv --label COL] --report OUT.json",
		Short: "DP-SGD privacy budget (Opacus RDP accountant) and a membership-inference audit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := c.prepare(cmd.Context(), report.KindPrivacy, input{contract.Arg(contract.FlagMembers), contract.Arg(contract.FlagMembersSHA256), &cfg.Members, membersSHA},
				input{contract.Arg(contract.FlagNonMembers), contract.Arg(contract.FlagNonMembersSHA256), &cfg.NonMembers, nonMembersSHA}); err != nil {
				return err
			}
			cfg.Common = c.Common
			f := cmd.Flags()
			cfg.NoiseSet, cfg.RateSet, cfg.StepsSet, cfg.DeltaSet = f.Changed(contract.FlagNoiseMultiplier), f.Changed(contract.FlagSampleRate), f.Changed(contract.FlagSteps), f.Changed(contract.FlagDelta)
			if c.text.isText() {
				return runTextPrivacy(cmd.Context(), &c, cfg)
			}
			rep, err := runner.EvaluatePrivacy(cmd.Context(), cfg)
			return c.finish(rep, err)
		},
	}
	f := cmd.Flags()
	c.register(f, false)
	f.Float64Var(&cfg.NoiseMultiplier, contract.FlagNoiseMultiplier, 0, "DP-SGD noise multiplier σ (default: the model's rai.dp.noise_multiplier)")
	f.Float64Var(&cfg.SampleRate, contract.FlagSampleRate, 0, "Poisson sample rate q (default: the model's rai.dp.sample_rate)")
	f.IntVar(&cfg.Steps, contract.FlagSteps, 0, "optimizer steps T (default: the model's rai.dp.steps)")
	f.Float64Var(&cfg.Delta, contract.FlagDelta, 0, "target δ (default: the model's rai.dp.delta)")
	f.StringVar(&cfg.Members, contract.FlagMembers, "", "training (member) samples for the membership-inference audit, CSV or Parquet")
	f.StringVar(&cfg.NonMembers, contract.FlagNonMembers, "", "held-out (non-member) samples of the same distribution")
	f.StringVar(&membersSHA, contract.FlagMembersSHA256, "", "expected sha256 of the members file (required when --members is a URI)")
	f.StringVar(&nonMembersSHA, contract.FlagNonMembersSHA256, "", "expected sha256 of the non-members file (required when --non-members is a URI)")
	f.StringVar(&cfg.Label, contract.FlagLabel, "", "label column of the audit samples")
	f.StringVar(&cfg.Favorable, contract.FlagFavorable, contract.DefaultFavorableLabel, "the favorable label value")
	f.Uint64Var(&cfg.Seed, "seed", 1, "seed of the audit's selection/evaluation split")
	return cmd
}

func newEvaluateRobustnessCmd() *cobra.Command {
	var (
		c     commonFlags
		cfg   runner.RobustnessConfig
		radii string
		text  textRobustnessFlags
	)
	cmd := &cobra.Command{
		Use:   contract.KindRobustness + " --model M.onnx --data D.csv --label COL --sigma S --report OUT.json",
		Short: "Randomized-smoothing certification (Cohen et al. 2019) and a decision-based attack",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := c.prepare(cmd.Context(), report.KindRobustness); err != nil {
				return err
			}
			cfg.Common = c.Common
			if c.text.isText() {
				return runTextRobustness(cmd.Context(), &c, cfg, text, cmd.Flags())
			}
			if !cmd.Flags().Changed(contract.FlagSigma) {
				err := fmt.Errorf("required flag(s) %q not set", contract.FlagSigma)
				return c.finish(runner.Fail(runner.NewReport(report.KindRobustness, c.Common, time.Now()), err), err)
			}
			for _, r := range splitList(radii) {
				v, err := strconv.ParseFloat(r, 64)
				if err != nil {
					return fmt.Errorf("%s: %q is not a number", contract.Arg(contract.FlagRadii), r)
				}
				cfg.Radii = append(cfg.Radii, v)
			}
			rep, err := runner.EvaluateRobustness(cmd.Context(), cfg)
			return c.finish(rep, err)
		},
	}
	f := cmd.Flags()
	c.register(f, true)
	c.registerDevice(f)
	f.StringVar(&cfg.Label, contract.FlagLabel, "", "label column")
	f.StringVar(&cfg.Favorable, contract.FlagFavorable, contract.DefaultFavorableLabel, "the favorable label value (class 1)")
	f.Float64Var(&cfg.Threshold, contract.FlagThreshold, contract.DefaultPredictionThreshold, "the base classifier predicts class 1 when P(favorable) ≥ threshold")
	f.Float64Var(&cfg.Sigma, contract.FlagSigma, 0, "standard deviation of the smoothing noise, in feature units")
	f.IntVar(&cfg.N0, contract.FlagN0, contract.DefaultSelectionSamples, "noise samples per row to select the class")
	f.IntVar(&cfg.N, contract.FlagN, contract.DefaultCertificationSamples, "noise samples per row to bound the class probability")
	f.Float64Var(&cfg.Alpha, contract.FlagAlpha, contract.DefaultAlpha, "failure probability of each certificate")
	f.StringVar(&radii, contract.FlagRadii, contract.DefaultRadii, "L2 radii at which to report certified accuracy and attack success")
	f.Uint64Var(&cfg.Seed, "seed", 0, "seed of the noise and the attack")
	f.IntVar(&cfg.AttackRows, "attack-rows", 100, "attack the first N rows of the data (0: no attack)")
	f.IntVar(&cfg.AttackQueries, "attack-queries", 2000, "model queries per attacked row")
	text.register(f)
	_ = cmd.MarkFlagRequired(contract.FlagModel)
	_ = cmd.MarkFlagRequired(contract.FlagData)
	_ = cmd.MarkFlagRequired(contract.FlagLabel)
	// --sigma is required for tabular models only (checked in RunE).
	return cmd
}

func newEvaluateExplainCmd() *cobra.Command {
	var (
		c           commonFlags
		cfg         runner.ExplainConfig
		limeSamples int
	)
	cmd := &cobra.Command{
		Use:   contract.KindExplain + " --model M.onnx --data D.csv --label COL [--samples N] [--shapley-rows R] --report OUT.json",
		Short: "Rank features: permutation importance and sampled Shapley values",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := c.prepare(cmd.Context(), report.KindExplain); err != nil {
				return err
			}
			cfg.Common = c.Common
			if c.text.isText() {
				return runTextExplain(cmd.Context(), &c, cfg, limeSamples, cmd.Flags())
			}
			rep, err := runner.EvaluateExplain(cmd.Context(), cfg)
			return c.finish(rep, err)
		},
	}
	f := cmd.Flags()
	c.register(f, true)
	f.StringVar(&cfg.Label, contract.FlagLabel, "", "label column")
	f.StringVar(&cfg.Favorable, contract.FlagFavorable, contract.DefaultFavorableLabel, "the favorable label value")
	f.Float64Var(&cfg.Threshold, contract.FlagThreshold, contract.DefaultPredictionThreshold, "a row is predicted favorable when P(favorable) ≥ threshold")
	f.IntVar(&cfg.Samples, contract.FlagSamples, contract.DefaultExplainSamples, "rows sampled uniformly from the data (the Shapley background too)")
	f.IntVar(&cfg.Repeats, "repeats", 5, "shuffles per feature for permutation importance")
	f.IntVar(&cfg.Permutations, "permutations", 64, "feature orders sampled per row for Shapley values")
	f.IntVar(&cfg.ShapleyRows, contract.FlagShapleyRows, contract.DefaultShapleyRows, "sampled rows that get Shapley values (at most --samples)")
	f.Uint64Var(&cfg.Seed, "seed", 1, "seed of the sample, the shuffles and the orders")
	f.IntVar(&limeSamples, "lime-samples", defaultLIMESamples, "text models: LIME's perturbed texts per explained text")
	_ = cmd.MarkFlagRequired(contract.FlagModel)
	_ = cmd.MarkFlagRequired(contract.FlagData)
	_ = cmd.MarkFlagRequired(contract.FlagLabel)
	return cmd
}

func init() {
	evaluateCmd.AddCommand(newEvaluateFairnessCmd(), newEvaluatePrivacyCmd(), newEvaluateRobustnessCmd(), newEvaluateExplainCmd(), newEvaluateCounterfactualCmd(), newEvaluateMergeCmd())
	rootCmd.AddCommand(evaluateCmd)
}
