package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/responsible-ai/rmodel-operator/internal/contract"
	"github.com/responsible-ai/rmodel-operator/internal/evaluation/runner"
)

// TestEveryContractFlagIsRegistered walks the command lines the operator
// builds (internal/contract.Commands) through rai's cobra tree: each
// subcommand exists and registers each flag with the contract's type and
// default. controllers' TestContractBuilderArgsParse checks the other half:
// every argument list the operator builds parses against the contract.
func TestEveryContractFlagIsRegistered(t *testing.T) {
	for _, c := range contract.Commands() {
		path := strings.Join(c.Path, " ")
		cmd, rest, err := rootCmd.Find(c.Path)
		if err != nil || len(rest) > 0 || !slices.Equal(strings.Fields(cmd.CommandPath()), append([]string{"rai"}, c.Path...)) {
			t.Errorf("rai %s: no such subcommand (found %q, %v)", path, cmd.CommandPath(), err)
			continue
		}
		for _, want := range c.Flags {
			f := cmd.Flags().Lookup(want.Name)
			if f == nil {
				t.Errorf("rai %s has no --%s", path, want.Name)
				continue
			}
			if f.Value.Type() != want.Type || f.DefValue != want.Default {
				t.Errorf("rai %s --%s is %s defaulting to %q; the contract says %s defaulting to %q",
					path, want.Name, f.Value.Type(), f.DefValue, want.Type, want.Default)
			}
		}
	}
	if runner.DefaultTerminationLog != contract.DefaultTerminationLog {
		t.Errorf("the runner's termination log %q is not the contract's %q", runner.DefaultTerminationLog, contract.DefaultTerminationLog)
	}
}
