# Policies: the OPA promotion gate (policies/). `go test ./policies/...` runs
# the Rego unit tests, the opa fmt check, the engine tests, and the opa CLI's
# `opa test` and `opa check --strict` on the shipped Rego (with bin/opa).

OPA_TOOLS := $(ROOT)/hack/tools/opa
OPA := $(BIN)/opa

##@ Policies

.PHONY: test-policies
test-policies: ## Run the Rego unit tests, the opa fmt check and the policy engine tests.
	go test $(GO_TEST_FLAGS) ./policies/...

.PHONY: test-rego
test-rego: ## Run only the Rego unit tests (default policy and examples), verbosely.
	go test $(GO_TEST_FLAGS) -v -run 'Rego$$' ./policies

.PHONY: fmt-rego
fmt-rego: ## opa fmt every .rego file under policies/.
	go run ./policies/internal/regofmt -w policies

.PHONY: verify-rego
verify-rego: ## Fail when a .rego file under policies/ is not opa fmt clean.
	go run ./policies/internal/regofmt -l policies

.PHONY: opa
opa: $(OPA) ## Build the opa CLI (pinned in hack/tools/opa/go.mod, the engine's version) into bin/opa.

test-deps: $(OPA)

# The opa CLI is rebuilt only when its pinned version changes. It is the
# version the root go.mod pins (a test in policies/ checks it), built the
# way the project's own binaries are, so that it shares their compiled
# packages in Go's build cache.
$(OPA): $(OPA_TOOLS)/go.mod $(OPA_TOOLS)/go.sum
	mkdir -p $(BIN)
	cd $(OPA_TOOLS) && CGO_ENABLED=0 go build -trimpath -o $@.tmp github.com/open-policy-agent/opa
	mv $@.tmp $@

.PHONY: opa-test
opa-test: $(OPA) ## Run the opa CLI on the shipped Rego: opa check --strict and opa test (default policy, with the credit example).
	$(OPA) check --strict policies/rego policies/examples/credit
	$(OPA) test policies/rego
	$(OPA) test policies/rego policies/examples/credit
