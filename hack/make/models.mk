# Demo data and models: the synthetic lending data set and one ONNX model per verdict
# (internal/demo, docs/models.md).

DEMO_DIR ?= $(ROOT)/_output/demo

##@ Demo models

.PHONY: demo-models
demo-models: build-rai onnxruntime ## Build the demo data set, one ONNX model per verdict and models.json into _output/demo (seeded: same bytes every run).
	$(BIN)/rai model demo --out $(DEMO_DIR)

.PHONY: test-demo-models
test-demo-models: onnxruntime ## Test the data set generator, the trainer and the demo models' verdicts.
	go test $(GO_TEST_FLAGS) ./internal/demo/...
