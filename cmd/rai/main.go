// Command rai is the model runtime: it serves ONNX models over the Open
// Inference Protocol (`rai serve`), runs evaluations (`rai evaluate <kind>`),
// computes privacy budgets (`rai privacy epsilon`) and builds demo data and
// models (`rai model ...`). It is the only binary that links onnxruntime.
//
// Each subcommand lives in its own file and registers itself on rootCmd from
// an init function.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

var rootCmd = &cobra.Command{
	Use:           "rai",
	Short:         "Responsible model runtime: serve, evaluate and audit ONNX models",
	SilenceUsage:  true,
	SilenceErrors: true,
	Version:       version,
}

func main() {
	if err := rootCmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "rai:", err)
		os.Exit(1)
	}
}
