package main

import (
	"context"
	"fmt"
	"os"

	"github.com/responsible-ai/rmodel-operator/internal/artifact"
)

// input is one file an evaluation reads, by flag.
type input struct {
	flag, shaFlag string
	path          *string
	sha256        string
}

// fetchInputs replaces every input given as a URI (file://, http://,
// https://, s3://) with a local copy in a temporary directory, after checking its
// sha256 (required for a URI). Evaluation pods pass the spec's URIs as they
// are; a plain path is left for the evaluator to read (and check).
func (c *commonFlags) fetchInputs(ctx context.Context, inputs []input) error {
	for _, in := range inputs {
		if in.path == nil || !artifact.IsURI(*in.path) {
			continue
		}
		if in.sha256 == "" {
			return fmt.Errorf("%s %s: an input named by URI needs its sha256 (%s)", in.flag, *in.path, in.shaFlag)
		}
		if c.tmpDir == "" {
			dir, err := os.MkdirTemp("", "rai-inputs-")
			if err != nil {
				return fmt.Errorf("make a directory for fetched inputs: %w", err)
			}
			c.tmpDir = dir
		}
		local, err := artifact.Localize(ctx, *in.path, in.sha256, c.tmpDir)
		if err != nil {
			return fmt.Errorf("%s: %w", in.flag, err)
		}
		*in.path = local
	}
	return nil
}

// cleanup removes the fetched inputs.
func (c *commonFlags) cleanup() {
	if c.tmpDir != "" {
		os.RemoveAll(c.tmpDir)
		c.tmpDir = ""
	}
}
