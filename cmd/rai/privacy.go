package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/responsible-ai/rmodel-operator/internal/evaluation/privacy"
)

// privacyCmd groups privacy-budget tools that need no model or data.
var privacyCmd = &cobra.Command{
	Use:   "privacy",
	Short: "Differential-privacy budget tools",
}

// newPrivacyEpsilonCmd builds `rai privacy epsilon`: the (ε, δ) guarantee of
// DP-SGD computed exactly as Opacus' RDP accountant does, printed as
// {"epsilon": ..., "order": ...}. A noise multiplier of zero has no finite ε;
// that is an error (exit 1), never an invented number.
func newPrivacyEpsilonCmd() *cobra.Command {
	var p privacy.Params
	cmd := &cobra.Command{
		Use:   "epsilon --noise-multiplier S --sample-rate Q --steps T --delta D",
		Short: "Print the DP-SGD epsilon (Opacus RDP accountant, default orders)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			eps, order, err := privacy.Epsilon(p.NoiseMultiplier, p.SampleRate, p.Steps, p.Delta)
			if err != nil {
				return err
			}
			out, err := json.Marshal(struct {
				Epsilon float64 `json:"epsilon"`
				Order   float64 `json:"order"`
			}{eps, order})
			if err != nil {
				return fmt.Errorf("encode epsilon: %w", err)
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), string(out))
			return err
		},
	}
	f := cmd.Flags()
	f.Float64Var(&p.NoiseMultiplier, "noise-multiplier", 0, "DP-SGD noise multiplier σ (noise std / clipping norm)")
	f.Float64Var(&p.SampleRate, "sample-rate", 0, "Poisson sample rate q (expected batch size / dataset size)")
	f.IntVar(&p.Steps, "steps", 0, "number of optimizer steps T")
	f.Float64Var(&p.Delta, "delta", 0, "target δ, in (0, 1)")
	for _, name := range []string{"noise-multiplier", "sample-rate", "steps", "delta"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

func init() {
	privacyCmd.AddCommand(newPrivacyEpsilonCmd())
	rootCmd.AddCommand(privacyCmd)
}
