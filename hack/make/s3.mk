# Object storage: SeaweedFS, a real S3-compatible server, built from the Go
# module proxy for the artifact fetcher's tests (internal/artifact/s3_test.go
# starts `weed server -s3` on free ports). It is large: building it takes
# about 10 minutes on two cores the first time, then it is cached in bin/.

SEAWEEDFS_TOOLS := $(ROOT)/hack/tools/seaweedfs
WEED := $(BIN)/weed

.PHONY: weed
weed: $(WEED) ## Build SeaweedFS's weed (pinned in hack/tools/seaweedfs/go.mod) into bin/weed.

test-deps: $(WEED)

# Rebuilt only when the pinned version changes.
$(WEED): $(SEAWEEDFS_TOOLS)/go.mod $(SEAWEEDFS_TOOLS)/go.sum
	mkdir -p $(BIN)
	cd $(SEAWEEDFS_TOOLS) && CGO_ENABLED=0 go build -trimpath -o $@.tmp github.com/seaweedfs/seaweedfs/weed
	mv $@.tmp $@

.PHONY: test-s3
test-s3: $(WEED) onnxruntime build-rai ## Run the S3 tests: the s3:// fetcher, and the real rai in the operator's evaluation and serving containers, against SeaweedFS.
	RAI_WEED=$(WEED) go test $(GO_TEST_FLAGS) -run 'S3' -v ./internal/artifact/
	RAI_WEED=$(WEED) RAI_SMOKE_RAI=$(BIN)/rai go test $(GO_TEST_FLAGS) -run 'ReadsS3|TestStorageEnv|TestArtifactCache' -v ./controllers/
