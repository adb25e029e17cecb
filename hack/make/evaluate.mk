# Evaluation Jobs (rai evaluate): the evaluation benchmark.

BENCH_EVALUATE_FLAGS ?=

##@ Evaluation

.PHONY: bench-evaluate
bench-evaluate: onnxruntime ## Measure rai evaluate against bare onnxruntime inference (1M rows; peak RSS at 1M vs 10M rows; a text classifier, section t). BENCH_EVALUATE_FLAGS=-rows=... to resize.
	go build -o $(BIN)/bench-evaluate ./internal/evaluation/bench
	RAI_ONNXRUNTIME_LIB=$(ORT_DIR)/libonnxruntime.so.1 $(BIN)/bench-evaluate $(BENCH_EVALUATE_FLAGS)
