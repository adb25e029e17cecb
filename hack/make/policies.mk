# Policies: the OPA promotion gate (policies/). `go test ./policies/...` runs
# the Rego unit tests, the opa fmt check and the engine tests.

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
