# The operator: the ResponsibleModel reconciler (controllers/).

##@ Operator

MODELS ?= 500

.PHONY: test-controller
test-controller: kube-binaries ## Run the reconciler's envtest suite and table tests.
	go test $(GO_TEST_FLAGS) ./controllers/...

.PHONY: bench-controller
bench-controller: kube-binaries ## Decide MODELS (500) ResponsibleModels on envtest: time, reconciles and API requests per model, peak memory.
	go run ./controllers/bench --models $(MODELS)
