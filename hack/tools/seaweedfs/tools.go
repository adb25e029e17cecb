//go:build tools

// Package tools pins SeaweedFS, whose `weed` binary `make test-deps` builds
// from the Go module proxy into bin/weed. The artifact fetcher's S3 tests
// (internal/artifact/s3_test.go) start it as a real S3-compatible server:
// signatures, access keys and error codes are SeaweedFS's own, not a fake's.
package tools

import (
	_ "github.com/seaweedfs/seaweedfs/weed"
)
