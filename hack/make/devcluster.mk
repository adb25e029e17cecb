# The local dev cluster: kwok with locally built control-plane binaries,
# fake GPU/MIG/CPU nodes, and the local execution node (cmd/localnode).
# See docs/dev-cluster.md.

KWOK_TOOLS := $(ROOT)/hack/tools/kwok
DEV_CLUSTER_BINARIES := $(KUBE_BIN)/etcd $(KUBE_BIN)/kube-apiserver $(KUBE_BIN)/kube-controller-manager \
	$(KUBE_BIN)/kube-scheduler $(KUBE_BIN)/kubectl $(BIN)/kwok $(BIN)/kwokctl $(BIN)/localnode

##@ Dev cluster

.PHONY: dev-cluster
dev-cluster: $(DEV_CLUSTER_BINARIES) ## Start the dev cluster (kwok, fake GPU nodes, local execution node); kubeconfig in _output/dev-cluster/kubeconfig.
	hack/dev-cluster/up.sh

.PHONY: dev-cluster-down
dev-cluster-down: ## Stop the dev cluster and the local node agent, and remove _output/dev-cluster.
	hack/dev-cluster/down.sh

.PHONY: dev-cluster-check
dev-cluster-check: ## Check a running dev cluster: GPU scheduling, kwok's fake pods, a pod really run on the local node.
	hack/dev-cluster/check.sh

.PHONY: kwok
kwok: $(BIN)/kwok $(BIN)/kwokctl ## Build kwok and kwokctl (pinned in hack/tools/kwok/go.mod) into bin/.

# kwok and kwokctl are rebuilt only when their pinned version changes, both
# by one go build.
$(BIN)/kwok $(BIN)/kwokctl &: $(KWOK_TOOLS)/go.mod
	rm -rf $(BIN)/.kwok.tmp && mkdir -p $(BIN)/.kwok.tmp
	cd $(KWOK_TOOLS) && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o $(BIN)/.kwok.tmp/ sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl
	mv $(BIN)/.kwok.tmp/kwok $(BIN)/.kwok.tmp/kwokctl $(BIN)/ && rmdir $(BIN)/.kwok.tmp

.PHONY: localnode
localnode: $(BIN)/localnode ## Build the local execution node agent.

# Always handed to go build, whose cache makes an unchanged build instant.
$(BIN)/localnode: FORCE
	CGO_ENABLED=0 go build -trimpath -o $@ ./cmd/localnode

.PHONY: FORCE
FORCE:
