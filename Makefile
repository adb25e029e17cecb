# The responsible model operator. `make help` lists the targets.
#
# Everything a fresh machine needs is built here from the Go module proxy and
# the npm registry, and cached under bin/ (ignored by git).

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

ROOT := $(abspath .)
BIN := $(ROOT)/bin
export PATH := $(BIN):$(BIN)/k8s:$(PATH)

IMG ?= rmodel-operator:dev
RUNTIME_IMG ?= rai-runtime:dev
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

CONTROLLER_GEN_VERSION ?= v0.23.0
CONTROLLER_GEN := $(BIN)/controller-gen-$(CONTROLLER_GEN_VERSION)

# Kubernetes binaries for envtest and the dev cluster, built from source (see
# hack/build-kube-binaries.sh).
KUBE_BIN := $(BIN)/k8s
KUBE_BINARIES := etcd kube-apiserver kube-controller-manager kube-scheduler kubectl
ENVTEST_BINARIES := $(KUBE_BIN)/etcd $(KUBE_BIN)/kube-apiserver $(KUBE_BIN)/kubectl
export KUBEBUILDER_ASSETS := $(KUBE_BIN)

GO_TEST_FLAGS ?= -count=1

.PHONY: all
all: build

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z0-9_.-]+:.*##/ { printf "  %-22s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate the CRDs and RBAC from the API types and markers.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="./api/..." paths="./controllers/..." output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate DeepCopy methods.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: fmt
fmt: ## gofmt the tree.
	gofmt -s -w $$(git ls-files '*.go')

.PHONY: vet
vet: ## go vet the tree.
	go vet ./...

.PHONY: kube-binaries kube-binaries-all
kube-binaries: $(ENVTEST_BINARIES) ## Build etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kubectl from the Go module proxy (cached in bin/k8s).
kube-binaries-all: $(addprefix $(KUBE_BIN)/,$(KUBE_BINARIES))

# One run of the script builds every missing one of them (one go build for
# the Kubernetes ones, etcd beside it), whichever is asked for.
$(addprefix $(KUBE_BIN)/,$(KUBE_BINARIES)) &:
	hack/build-kube-binaries.sh $(KUBE_BINARIES)

.PHONY: test
test: kube-binaries test-deps build-rai ## Run every test: envtest suites, policies, runtime, evaluation Jobs' arguments run by the real rai.
	RAI_SMOKE_RAI=$(BIN)/rai go test $(GO_TEST_FLAGS) ./...

.PHONY: verify
verify: manifests generate ## Fail when generated files are stale or the tree is not gofmt/vet clean.
	@test -z "$$(gofmt -s -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -s -l $$(git ls-files '*.go'); exit 1; }
	go vet ./...
	@git diff --exit-code -- api config || { echo "generated files are stale: run 'make manifests generate' and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- api config)" || { echo "untracked generated files:"; git status --porcelain -- api config; exit 1; }

##@ Build

.PHONY: build build-manager build-rai build-plugin
build: build-manager build-rai build-plugin ## Build the manager, the rai runtime and the kubectl-rmodel plugin into bin/.

# Every build of the project's binaries uses -trimpath, and every cgo-free
# one CGO_ENABLED=0, so that they share compiled packages in Go's build
# cache (with the Kubernetes binaries, too): a first run compiles each
# package once.
build-manager:
	CGO_ENABLED=0 go build -trimpath -ldflags "-X main.version=$(VERSION)" -o $(BIN)/manager ./cmd/manager

build-rai:
	go build -trimpath -ldflags "-X main.version=$(VERSION)" -o $(BIN)/rai ./cmd/rai

build-plugin:
	CGO_ENABLED=0 go build -trimpath -o $(BIN)/kubectl-rmodel ./cmd/kubectl-rmodel

.PHONY: run
run: manifests ## Run the manager against the cluster in KUBECONFIG (leader election off).
	go run ./cmd/manager --leader-elect=false

$(CONTROLLER_GEN):
	mkdir -p $(BIN)
	GOBIN=$(BIN)/.gobin go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_GEN_VERSION)
	mv $(BIN)/.gobin/controller-gen $@

# Parts of the project add their own targets (and prerequisites of test-deps)
# in hack/make/*.mk.
.PHONY: test-deps
test-deps:

include $(wildcard hack/make/*.mk)
