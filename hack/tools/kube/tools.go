//go:build tools

// Package tools pins the Kubernetes control-plane binaries that the envtest
// suites and the local dev cluster build from the Go module proxy.
//
// Every module this one shares with the project's own go.mod is required
// at the project's version (the higher of the two: x/net, gRPC, protobuf,
// OpenTelemetry, go-openapi... raised here; k8s.io/kubelet raised there),
// and hack/tools/kwok follows this one. A package compiles to the same
// cache entry only when its whole dependency closure has the same versions,
// so aligned, the manager and rai find about 1,100 of their 1,700 packages
// (client-go, the API types, gRPC...) compiled by the Kubernetes build, and
// kwok nearly all of its. Check with `go list -m all` in both modules.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
