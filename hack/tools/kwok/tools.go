//go:build tools

// Package tools pins kwok and kwokctl, which the local dev cluster
// (hack/dev-cluster) builds from the Go module proxy into bin/.
//
// Every module this one shares with hack/tools/kube is required at the
// version the Kubernetes binaries are built with (k8s.io/* at v0.37.2, and
// the rest as hack/tools/kube's go list -m all has them; see its tools.go),
// so that the packages kwok compiles with them are the ones already in Go's
// build cache: a first build compiles kwok's own packages only instead of a
// second copy of client-go and its dependencies.
package tools

import (
	_ "sigs.k8s.io/kwok/cmd/kwok"
	_ "sigs.k8s.io/kwok/cmd/kwokctl"
)
