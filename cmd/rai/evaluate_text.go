package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/responsible-ai/rmodel-operator/internal/contract"
	"github.com/responsible-ai/rmodel-operator/internal/evaluation/runner"
	"github.com/responsible-ai/rmodel-operator/internal/report"
)

// textFlags are the text-model flags every `rai evaluate <kind>` takes (docs/models.md,
// "Text models"; docs/evaluations.md, "Text models").
type textFlags struct {
	runner.TextOptions
	labels string
}

func (t *textFlags) register(f *pflag.FlagSet) {
	f.StringVar(&t.Task, contract.FlagTask, contract.TaskBinaryClassification, "what the model answers: "+contract.TaskBinaryClassification+" (tabular), "+contract.TaskTextClassification+" or "+contract.TaskTokenClassification)
	f.StringVar(&t.TokenizerPath, contract.FlagTokenizer, "", "the text model's Hugging Face tokenizer.json (a path or URI, fetched and checked as the model is)")
	f.StringVar(&t.TokenizerSHA256, contract.FlagTokenizerSHA256, "", "expected sha256 of the tokenizer file; a mismatch is an error")
	f.StringVar(&t.labels, contract.FlagLabels, "", "the text model's label names in logit order, comma-separated (default: the model's metadata)")
	f.IntVar(&t.MaxLength, contract.FlagMaxLength, 0, "longest encoding in tokens, [CLS] and [SEP] included (0: the model's metadata, the tokenizer file, else 128)")
	f.StringVar(&t.TextColumn, contract.FlagTextColumn, contract.DefaultTextColumn, "data column holding the text (token-classification: words separated by single spaces, the label column one IOB2 tag per word)")
}

// isText reports whether the command evaluates a text model.
func (t *textFlags) isText() bool { return runner.IsTextTask(t.Task) }

// parse checks the task and splits --labels.
func (t *textFlags) parse() error {
	t.Labels = splitList(t.labels)
	return t.CheckTask()
}

// input is the tokenizer, fetched like the model when named by URI.
func (t *textFlags) input() input {
	return input{contract.Arg(contract.FlagTokenizer), contract.Arg(contract.FlagTokenizerSHA256), &t.TokenizerPath, t.TokenizerSHA256}
}

// refuseTabularOnly refuses, for a text model, flags that mean something for tabular models
// only.
func refuseTabularOnly(f *pflag.FlagSet, names ...string) error {
	for _, n := range names {
		if f.Changed(n) {
			return fmt.Errorf("--%s does not apply to text models", n)
		}
	}
	return nil
}

// failText writes an Error report of kind for a text evaluation that could not start.
func (c *commonFlags) failText(kind report.Kind, err error) error {
	return c.finish(runner.Fail(runner.NewReport(kind, c.Common, time.Now()), err), err)
}

func runTextFairness(ctx context.Context, c *commonFlags, cfg runner.FairnessConfig, f *pflag.FlagSet) error {
	if err := refuseTabularOnly(f, "predictions"); err != nil {
		return c.failText(report.KindFairness, err)
	}
	c.text.Output = cfg.Output
	rep, err := runner.EvaluateTextFairness(ctx, runner.TextFairnessConfig{
		Common: c.Common, Text: c.text.TextOptions, Label: cfg.Label, Sensitive: cfg.Sensitive, Privileged: cfg.Privileged,
		Favorable: cfg.Favorable, Threshold: cfg.Threshold, Bootstrap: cfg.Bootstrap, Seed: cfg.Seed,
	})
	return c.finish(rep, err)
}

func runTextRobustness(ctx context.Context, c *commonFlags, cfg runner.RobustnessConfig, t textRobustnessFlags, f *pflag.FlagSet) error {
	if err := refuseTabularOnly(f, contract.FlagSigma, contract.FlagN0, contract.FlagN, contract.FlagAlpha, contract.FlagRadii, "attack-queries"); err != nil {
		return c.failText(report.KindRobustness, err)
	}
	rep, err := runner.EvaluateTextRobustness(ctx, runner.TextRobustnessConfig{
		Common: c.Common, Text: c.text.TextOptions, Label: cfg.Label, Favorable: cfg.Favorable, Threshold: cfg.Threshold,
		MaxEdits: t.maxEdits, TypoRate: t.typoRate, AttackRows: cfg.AttackRows, Seed: cfg.Seed,
	})
	return c.finish(rep, err)
}

// textRobustnessFlags are robustness's text-only flags.
type textRobustnessFlags struct {
	maxEdits int
	typoRate float64
}

func (t *textRobustnessFlags) register(f *pflag.FlagSet) {
	f.IntVar(&t.maxEdits, contract.FlagMaxEdits, contract.DefaultMaxEdits, "text models: the attack's budget of edited words per text (one character edit each)")
	f.Float64Var(&t.typoRate, contract.FlagTypoRate, contract.DefaultTypoRate, "text models: probability that a word of two or more letters gets one random typo, for typo_accuracy")
}

func runTextExplain(ctx context.Context, c *commonFlags, cfg runner.ExplainConfig, limeSamples int, f *pflag.FlagSet) error {
	if err := refuseTabularOnly(f, "repeats", "permutations", contract.FlagShapleyRows); err != nil {
		return c.failText(report.KindExplain, err)
	}
	// Every sampled text is explained; without --samples, explanations.samples' default.
	samples := cfg.Samples
	if !f.Changed(contract.FlagSamples) {
		samples = contract.DefaultShapleyRows
	}
	rep, err := runner.EvaluateTextExplain(ctx, runner.TextExplainConfig{
		Common: c.Common, Text: c.text.TextOptions, Label: cfg.Label, Favorable: cfg.Favorable, Threshold: cfg.Threshold,
		Samples: samples, LIMESamples: limeSamples, Seed: cfg.Seed,
	})
	return c.finish(rep, err)
}

func runTextPrivacy(ctx context.Context, c *commonFlags, cfg runner.PrivacyConfig) error {
	rep, err := runner.EvaluateTextPrivacy(ctx, cfg, c.text.TextOptions)
	return c.finish(rep, err)
}

// defaultLIMESamples is `--lime-samples`' default: LIME's 5000 perturbations cost 5000 model
// runs per explained text; 1000 keeps 200 texts of a BERT-base model within a Job's minutes.
const defaultLIMESamples = 1000

func newEvaluateCounterfactualCmd() *cobra.Command {
	var (
		c        commonFlags
		cfg      runner.CounterfactualConfig
		label    string
		pairsSHA string
	)
	cmd := &cobra.Command{
		Use:   string(report.KindCounterfactual) + " --task text-classification --model M.onnx --tokenizer T.json --data D.csv --term-pairs P.csv --report OUT.json",
		Short: "Counterfactual token fairness of a text classifier (Garg et al. 2019): identity terms swapped",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.TermPairsSHA256 = pairsSHA
			if err := c.prepare(cmd.Context(), report.KindCounterfactual,
				input{contract.Arg(contract.FlagTermPairs), contract.Arg(contract.FlagTermPairsSHA256), &cfg.TermPairs, pairsSHA}); err != nil {
				return err
			}
			cfg.Common, cfg.Text = c.Common, c.text.TextOptions
			rep, err := runner.EvaluateCounterfactual(cmd.Context(), cfg)
			return c.finish(rep, err)
		},
	}
	f := cmd.Flags()
	c.register(f, true)
	f.StringVar(&cfg.TermPairs, contract.FlagTermPairs, "", "identity-term pairs: CSV with the header a,b, one pair a line (each swapped both ways)")
	f.StringVar(&pairsSHA, contract.FlagTermPairsSHA256, "", "expected sha256 of the term-pairs file; a mismatch is an error")
	f.StringVar(&cfg.Favorable, contract.FlagFavorable, contract.DefaultFavorableLabel, "the label whose probability is the score")
	f.Float64Var(&cfg.Threshold, contract.FlagThreshold, contract.DefaultPredictionThreshold, "two-label models: the decision is P(favorable) ≥ threshold (more labels: the argmax)")
	f.StringVar(&label, contract.FlagLabel, "", "accepted for the operator's common data flags; counterfactual reads no labels")
	_ = cmd.MarkFlagRequired(contract.FlagModel)
	_ = cmd.MarkFlagRequired(contract.FlagData)
	_ = cmd.MarkFlagRequired(contract.FlagTermPairs)
	return cmd
}
