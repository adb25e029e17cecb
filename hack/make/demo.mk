# The demo and the end-to-end test on the local dev cluster (hack/demo).

##@ Demo

# What the demo needs: the Kubernetes binaries first, on their own (one go
# build, etcd beside it: they take most of a first run and use both cores),
# then the rest two at a time (make -j2), which finds most of its packages
# (client-go, the API types, gRPC, OpenTelemetry...) already compiled: the
# tool modules under hack/tools require the versions this module does
# (hack/tools/kube/tools.go). Started together, they would compile the same
# packages twice at once. (The dev cluster's binaries are named here, not
# through DEV_CLUSTER_BINARIES: devcluster.mk, which sets it, is included
# after this file, and a rule's prerequisites are expanded as it is read.)
DEMO_PREREQUISITES := onnxruntime build demo-models $(BIN)/kwok $(BIN)/kwokctl $(BIN)/localnode
E2E_PREREQUISITES := $(DEMO_PREREQUISITES) weed kueue

.PHONY: demo-prerequisites e2e-prerequisites
demo-prerequisites: $(DEMO_PREREQUISITES)
e2e-prerequisites: $(E2E_PREREQUISITES)

.PHONY: demo
demo: ## Run the whole demo on a local cluster: five verdicts, a rollback, a live inference.
	@start=$$(date +%s); $(MAKE) --no-print-directory kube-binaries-all && $(MAKE) --no-print-directory -j2 demo-prerequisites && \
	  echo ">> built what the demo needs in $$(( $$(date +%s) - start )) s"
	$(MAKE) --no-print-directory dev-cluster
	hack/demo/demo.sh

.PHONY: demo-down
demo-down: ## Stop the demo: the manager, the dev cluster and its local processes; remove their files.
	hack/demo/down.sh

.PHONY: e2e
e2e: ## Run the demo and assert every outcome, then tear it down (SeaweedFS serves one model from S3).
	@start=$$(date +%s); $(MAKE) --no-print-directory kube-binaries-all && $(MAKE) --no-print-directory -j2 e2e-prerequisites && \
	  echo ">> built what the end-to-end test needs in $$(( $$(date +%s) - start )) s"
	$(MAKE) --no-print-directory dev-cluster
	hack/demo/e2e.sh
