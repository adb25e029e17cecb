# The model runtime: onnxruntime libraries, the rai serving benchmark.

ORT_DIR := $(BIN)/onnxruntime

##@ Model runtime

.PHONY: onnxruntime
onnxruntime: ## Fetch onnxruntime 1.29.0 (CPU) into bin/onnxruntime with npm pack, sha256 pinned (cached).
	hack/fetch-onnxruntime.sh core $(ORT_DIR)

.PHONY: onnxruntime-cuda
onnxruntime-cuda: ## Add the CUDA 13 execution provider libraries (230 MB) beside the core library.
	hack/fetch-onnxruntime.sh cuda $(ORT_DIR)

test-deps: onnxruntime

DEVICE ?= cpu
# BENCH_SERVING_FLAGS passes flags to serving/bench, e.g. -sections monitoring -hidden 64,64
# (sections: throughput, audit, monitoring, grpc, text; all by default).
BENCH_SERVING_FLAGS ?=

.PHONY: bench-serving
bench-serving: $(if $(filter cuda,$(DEVICE)),onnxruntime-cuda,onnxruntime) ## Measure rai serve: overhead over a bare Run, throughput with and without batching, REST and gRPC against a no-op floor, the audit log's and monitoring's cost and memory, a text classifier against bare runs of its token batches (DEVICE=cpu|cuda).
	RAI_ONNXRUNTIME_LIB=$(ORT_DIR)/libonnxruntime.so.1 go run ./serving/bench --device $(DEVICE) $(BENCH_SERVING_FLAGS)
