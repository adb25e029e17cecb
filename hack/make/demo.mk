# The demo and the end-to-end test on the local dev cluster (hack/demo).

##@ Demo

.PHONY: demo
demo: build onnxruntime demo-models dev-cluster ## Run the whole demo on a local cluster: five verdicts, a rollback, a live inference.
	hack/demo/demo.sh

.PHONY: demo-down
demo-down: ## Stop the demo: the manager, the dev cluster and its local processes; remove their files.
	hack/demo/down.sh

.PHONY: e2e
e2e: build onnxruntime demo-models dev-cluster weed kueue ## Run the demo and assert every outcome, then tear it down (SeaweedFS serves one model from S3).
	hack/demo/e2e.sh
