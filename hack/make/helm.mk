# The Helm chart (charts/rmodel-operator) and its tests (charts/test), a Go
# module of its own that pins the Helm SDK, so that Helm's dependencies stay
# out of the operator's go.mod. The chart's files/ link to config/crd,
# config/rbac and config/admission: it installs what config/default
# installs, and the tests compare the two (with bin/k8s/kubectl's kustomize)
# and install the chart on envtest's kube-apiserver.

CHART := $(ROOT)/charts/rmodel-operator
CHART_TESTS := $(ROOT)/charts/test
HELM := $(BIN)/helm

##@ Helm chart

.PHONY: test-chart
test-chart: $(ENVTEST_BINARIES) ## Lint and render the chart with the Helm SDK, compare it with kustomize's config/default and config/network-policy, install it on envtest.
	cd $(CHART_TESTS) && go test $(GO_TEST_FLAGS) ./...

# `make test` runs the chart's tests with the others.
test-deps: test-chart

.PHONY: helm
helm: $(HELM) ## Build the helm CLI (the SDK version charts/test pins) into bin/helm.

$(HELM): $(CHART_TESTS)/go.mod $(CHART_TESTS)/go.sum
	mkdir -p $(BIN)
	cd $(CHART_TESTS) && CGO_ENABLED=0 go build -trimpath -ldflags "-X helm.sh/helm/v4/internal/version.version=$$(go list -m -f '{{.Version}}' helm.sh/helm/v4)" -o $@.tmp helm.sh/helm/v4/cmd/helm
	mv $@.tmp $@

.PHONY: chart-package
chart-package: $(HELM) ## Package the chart (the links to config/ resolved) into _output/charts.
	$(HELM) package $(CHART) -d $(ROOT)/_output/charts
