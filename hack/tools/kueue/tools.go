//go:build tools

// Package tools pins the Kueue controller manager (sigs.k8s.io/kueue/cmd/kueue)
// that the dev cluster can run out of cluster (hack/make/kueue.mk builds it
// into bin/kueue; see docs/dev-cluster.md).
package tools

import _ "sigs.k8s.io/kueue/cmd/kueue"
