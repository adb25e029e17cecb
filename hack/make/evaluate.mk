# Evaluation Jobs (rai evaluate): the evaluation benchmark.

BENCH_EVALUATE_FLAGS ?=

##@ Evaluation

.PHONY: bench-evaluate
bench-evaluate: onnxruntime ## Measure rai evaluate against bare onnxruntime inference (1M rows; peak RSS at 1M vs 10M rows; a text classifier, section t). BENCH_EVALUATE_FLAGS=-rows=... to resize; DEVICE=cuda runs the smoothing section and its baseline on a GPU (make onnxruntime-cuda first).
	go build -o $(BIN)/bench-evaluate ./internal/evaluation/bench
	RAI_ONNXRUNTIME_LIB=$(ORT_DIR)/libonnxruntime.so.1 $(BIN)/bench-evaluate -device $(or $(DEVICE),cpu) $(BENCH_EVALUATE_FLAGS)
