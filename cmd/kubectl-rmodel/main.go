// Command kubectl-rmodel is a kubectl plugin (krew conventions: on PATH it
// runs as `kubectl rmodel ...`) that reads ResponsibleModels, their
// decisions, history, model cards and DecisionRecords. It is read-only: it
// never writes to the cluster.
package main

import (
	"fmt"
	"os"
	"time"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	cmd := newRootCmd(&env{Out: os.Stdout, ErrOut: os.Stderr, Now: time.Now, Client: kubeClient})
	if err := cmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}
