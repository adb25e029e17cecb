# The demo and the end-to-end test on the local dev cluster (hack/demo).

##@ Demo

# What the demo needs is built two at a time (make -j2): on two cores the
# Kubernetes binaries' compile takes most of a first run, and the rest (the
# project's binaries, kwok, the onnxruntime download, the demo models'
# training) fills the time their module downloads, package loading and
# single-threaded links leave idle. They come first in the list, so they
# start first. (docs/dev-cluster.md has the measured times.)
DEMO_PREREQUISITES := $(addprefix $(KUBE_BIN)/,$(KUBE_BINARIES)) onnxruntime build demo-models $(DEV_CLUSTER_BINARIES)
E2E_PREREQUISITES := $(DEMO_PREREQUISITES) weed kueue

.PHONY: demo-prerequisites e2e-prerequisites
demo-prerequisites: $(DEMO_PREREQUISITES)
e2e-prerequisites: $(E2E_PREREQUISITES)

.PHONY: demo
demo: ## Run the whole demo on a local cluster: five verdicts, a rollback, a live inference.
	@start=$$(date +%s); $(MAKE) --no-print-directory -j2 demo-prerequisites; \
	  echo ">> built what the demo needs in $$(( $$(date +%s) - start )) s"
	$(MAKE) --no-print-directory dev-cluster
	hack/demo/demo.sh

.PHONY: demo-down
demo-down: ## Stop the demo: the manager, the dev cluster and its local processes; remove their files.
	hack/demo/down.sh

.PHONY: e2e
e2e: ## Run the demo and assert every outcome, then tear it down (SeaweedFS serves one model from S3).
	@start=$$(date +%s); $(MAKE) --no-print-directory -j2 e2e-prerequisites; \
	  echo ">> built what the end-to-end test needs in $$(( $$(date +%s) - start )) s"
	$(MAKE) --no-print-directory dev-cluster
	hack/demo/e2e.sh
