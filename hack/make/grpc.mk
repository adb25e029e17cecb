# The OIP v2 gRPC code of `rai serve` (serving/inference): generated from
# serving/inference/grpc_predict_v2.proto and committed. No protoc binary:
# hack/tools/protoc compiles the .proto with bufbuild/protocompile and runs
# protoc-gen-go and protoc-gen-go-grpc, all pinned by that module's go.mod.
# `make test` does not regenerate; run `make generate-grpc` after editing the
# .proto and commit the .pb.go files.

PROTOC_TOOLS := $(ROOT)/hack/tools/protoc
PROTOC_GO := $(BIN)/protoc-go
PROTOC_GEN_GO := $(BIN)/protoc-gen-go
PROTOC_GEN_GO_GRPC := $(BIN)/protoc-gen-go-grpc
GRPC_PROTO_DIR := serving/inference
GRPC_PROTO := grpc_predict_v2.proto

##@ Runtime

.PHONY: generate-grpc
generate-grpc: $(PROTOC_GO) $(PROTOC_GEN_GO) $(PROTOC_GEN_GO_GRPC) ## Regenerate serving/inference's .pb.go files from the OIP v2 .proto.
	$(PROTOC_GO) -I $(GRPC_PROTO_DIR) -out $(GRPC_PROTO_DIR) \
		-plugin protoc-gen-go=$(PROTOC_GEN_GO) -opt protoc-gen-go=paths=source_relative \
		-plugin protoc-gen-go-grpc=$(PROTOC_GEN_GO_GRPC) -opt protoc-gen-go-grpc=paths=source_relative \
		$(GRPC_PROTO)

$(PROTOC_GO): $(PROTOC_TOOLS)/go.mod $(PROTOC_TOOLS)/go.sum $(PROTOC_TOOLS)/main.go
	mkdir -p $(BIN)
	cd $(PROTOC_TOOLS) && go build -trimpath -o $@ .

$(PROTOC_GEN_GO) $(PROTOC_GEN_GO_GRPC): $(PROTOC_TOOLS)/go.mod $(PROTOC_TOOLS)/go.sum
	mkdir -p $(BIN)
	cd $(PROTOC_TOOLS) && go build -trimpath -o $@ $(if $(findstring grpc,$(notdir $@)),google.golang.org/grpc/cmd/protoc-gen-go-grpc,google.golang.org/protobuf/cmd/protoc-gen-go)
