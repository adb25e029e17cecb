//go:build tools

// Package tools pins the opa CLI, which `make test-deps` builds from the Go
// module proxy into bin/opa. Its version is the one the root go.mod pins for
// the policy engine (policies/), so that `opa test` and `opa check` judge the
// shipped Rego exactly as the manager compiles it; a test in policies/ keeps
// the two versions equal.
package tools

import (
	_ "github.com/open-policy-agent/opa"
)
