# Kueue (sigs.k8s.io/kueue, pinned in hack/tools/kueue/go.mod) for the dev
# cluster: its controller manager runs out of cluster against the kwok
# apiserver (hack/dev-cluster/kueue). See docs/dev-cluster.md.

KUEUE_TOOLS := $(ROOT)/hack/tools/kueue

##@ Dev cluster

.PHONY: kueue
kueue: $(BIN)/kueue ## Build the Kueue controller manager into bin/kueue and copy its CRDs to bin/kueue-crds.

# Rebuilt only when the pinned version changes (a cold build takes minutes).
# Kueue's CRDs come from the same module, so they match the binary.
$(BIN)/kueue: $(KUEUE_TOOLS)/go.mod
	cd $(KUEUE_TOOLS) && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o $@.tmp sigs.k8s.io/kueue/cmd/kueue
	rm -rf $(BIN)/kueue-crds && mkdir -p $(BIN)/kueue-crds
	cp "$$(cd $(KUEUE_TOOLS) && go list -m -f '{{.Dir}}' sigs.k8s.io/kueue)"/config/components/crd/bases/*.yaml $(BIN)/kueue-crds/
	chmod u+w $(BIN)/kueue-crds/*.yaml
	mv $@.tmp $@

.PHONY: dev-cluster-kueue
dev-cluster-kueue: $(DEV_CLUSTER_BINARIES) $(BIN)/kueue ## Start the dev cluster with Kueue: its CRDs, its controller manager (out of cluster), a ClusterQueue with a small quota.
	DEV_CLUSTER_KUEUE=1 hack/dev-cluster/up.sh

.PHONY: dev-cluster-check-kueue
dev-cluster-check-kueue: ## Check Kueue on a running dev cluster (make dev-cluster-kueue): one Job admitted, the next waits for quota, then is admitted.
	hack/dev-cluster/kueue/check.sh
