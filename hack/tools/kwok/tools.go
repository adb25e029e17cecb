//go:build tools

// Package tools pins kwok and kwokctl, which the local dev cluster
// (hack/dev-cluster) builds from the Go module proxy into bin/.
package tools

import (
	_ "sigs.k8s.io/kwok/cmd/kwok"
	_ "sigs.k8s.io/kwok/cmd/kwokctl"
)
