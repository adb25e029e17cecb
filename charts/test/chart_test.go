// Package charttest checks the Helm chart charts/rmodel-operator with the
// Helm SDK: it lints, it renders, and what it renders is what
// `kubectl kustomize config/default` renders for the same settings, but for
// the differences listed in intentionalDifferences.
//
// It is a module of its own so that Helm's dependencies stay out of the
// operator's go.mod; `make test` runs it (hack/make/helm.mk).
package charttest

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
)

// sameAsConfigDefault are the values under which the chart renders what
// config/default does: its image tags, and its Namespace object.
func sameAsConfigDefault() map[string]any {
	return map[string]any{
		"image":        map[string]any{"tag": "dev"},
		"runtimeImage": map[string]any{"tag": "dev"},
		"namespace":    map[string]any{"create": true},
	}
}

// everythingOn turns on every optional part of the chart.
func everythingOn() map[string]any {
	return map[string]any{
		"metrics": map[string]any{
			"certSecretName": "rmodel-metrics-tls",
			"http2":          true,
			"reader":         map[string]any{"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": "prometheus-k8s", "namespace": "monitoring"}}},
			"serviceMonitor": map[string]any{"enabled": true, "labels": map[string]any{"release": "prometheus"}, "scrapeTimeout": "10s"},
		},
		"serviceAccount": map[string]any{"annotations": map[string]any{"example.com/role": "rmodel"}},
		"manager": map[string]any{
			"leaderElectionNamespace": "rmodel-system",
			"clusterPolicyConfigMap":  "rmodel-system/cluster-policy",
			"evaluation": map[string]any{
				"nodeSelector": map[string]any{"pool": "eval", "zone": "a"},
				"tolerations":  []any{"dedicated=eval:NoSchedule", "gpu:NoSchedule"},
			},
			"rolloutPollInterval":     "5s",
			"auditAnchorInterval":     "1m",
			"decisionRecordRetention": "8760h",
			"decisionLog":             "none",
			"logLevel":                "debug",
		},
		"namespace":         map[string]any{"create": true},
		"imagePullSecrets":  []any{map[string]any{"name": "pull"}},
		"priorityClassName": "system-cluster-critical",
		"networkPolicy": map[string]any{
			"modelNamespaces": []any{"team-a", "team-b"},
			"serving":         map[string]any{"enabled": true, "clientNamespaces": []any{"frontend"}},
			"evaluation": map[string]any{
				"enabled": true,
				"artifactStores": []any{
					map[string]any{"cidr": "10.20.0.0/16", "except": []any{"10.20.9.0/24"}, "ports": []any{443, 9000}},
					map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "storage"}}, "ports": []any{8333}},
				},
			},
		},
	}
}

func TestChartLints(t *testing.T) {
	for name, vals := range map[string]map[string]any{
		"default values":         nil,
		"every optional part on": everythingOn(),
	} {
		t.Run(name, func(t *testing.T) {
			lint := action.NewLint()
			lint.Strict = true
			lint.Namespace = releaseNamespace
			res := lint.Run([]string{chartDir}, vals)
			for _, m := range res.Messages {
				t.Logf("lint: %s", m)
			}
			for _, err := range res.Errors {
				t.Errorf("lint: %v", err)
			}
			if action.HasWarningsOrErrors(res) {
				t.Errorf("lint found warnings or errors")
			}
		})
	}
}

// helmLabels are the labels the chart adds to the objects of config/.
var helmLabels = []string{"helm.sh/chart", "app.kubernetes.io/instance", "app.kubernetes.io/version", "app.kubernetes.io/managed-by"}

// intentionalDifferences are where the chart's objects differ from
// config/default's, each with its reason; undo takes the difference out of a
// rendered object before the two are compared.
var intentionalDifferences = []struct {
	what, why string
	undo      func(o object)
}{
	{
		what: "Helm's labels (" + strings.Join(helmLabels, ", ") + ") on every object but the manager's pod template",
		why:  "they say which release installed an object; the pod template and the selector keep config/'s labels, so that the Deployment's immutable selector is the same",
		undo: func(o object) {
			meta := o["metadata"].(map[string]any)
			labels, _ := meta["labels"].(map[string]any)
			for _, l := range helmLabels {
				delete(labels, l)
			}
			if labels != nil && len(labels) == 0 {
				delete(meta, "labels")
			}
		},
	},
	{
		what: "helm.sh/resource-policy: keep on the CRDs (crds.keep)",
		why:  "helm uninstall must not delete the CRDs, and with them every model, budget, approval and decision record",
		undo: func(o object) {
			if get(o, "kind") == "CustomResourceDefinition" {
				delete(get(o, "metadata", "annotations").(map[string]any), "helm.sh/resource-policy")
			}
		},
	},
	{
		what: "white space in strings (diff compares strings with runs of white space as one space)",
		why: "a folded YAML scalar (>-) with more-indented lines, as config/admission writes CEL expressions, reads with one line break more " +
			"in kustomize's YAML library than in Helm's; the CEL expressions and messages are the same",
		undo: func(object) {},
	},
}

// Also intentional, and not in the comparison because values turn them off:
// the Namespace is rendered only with namespace.create (by default
// `helm install --create-namespace` makes it, which a Namespace in the chart
// would conflict with); sameAsConfigDefault turns it on.

// TestChartRendersConfigDefault renders the chart as release rmodel in
// rmodel-system, kustomizes config/default, and compares: the same objects
// (kind, namespace, name), each the same but for intentionalDifferences. The
// CRDs, the ClusterRoles' rules, the admission policies and the manager's
// Deployment (image, args, ports, probes, security) are therefore identical.
func TestChartRendersConfigDefault(t *testing.T) {
	for _, d := range intentionalDifferences {
		t.Logf("intentional difference: %s: %s", d.what, d.why)
	}
	chartObjs := mustRender(t, sameAsConfigDefault())
	for _, o := range chartObjs {
		for _, d := range intentionalDifferences {
			d.undo(o)
		}
	}
	want := byKey(kustomize(t, "default"))
	got := byKey(chartObjs)
	for _, k := range slices.Sorted(maps.Keys(want)) {
		g, ok := got[k]
		if !ok {
			t.Errorf("the chart renders no %s", k)
			continue
		}
		if d := diff(want[k], g); len(d) > 0 {
			t.Errorf("%s differs from config/default (kustomize != chart):\n  %s", k, strings.Join(d, "\n  "))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			t.Errorf("the chart renders %s, which config/default does not", k)
		}
	}
	// The kinds the issue names are among them.
	for _, k := range []string{
		"CustomResourceDefinition /responsiblemodels.rai.responsible-ai.dev",
		"ClusterRole /rmodel-manager-role", "ClusterRole /rmodel-metrics-reader", "ClusterRole /rmodel-rai-platform-admin",
		"ValidatingAdmissionPolicy /rmodel-operator-owned-status",
		"Deployment rmodel-system/rmodel-controller-manager", "Service rmodel-system/rmodel-controller-manager-metrics",
		"PodDisruptionBudget rmodel-system/rmodel-controller-manager",
	} {
		if _, ok := got[k]; !ok {
			t.Errorf("no %s", k)
		}
	}
}

// TestChartDefaultsAreTheChartsVersion: without values, the images are the
// chart's appVersion, and nothing optional is rendered.
func TestChartDefaults(t *testing.T) {
	objs := mustRender(t, nil)
	c := get(find(t, objs, "Deployment", "rmodel-controller-manager"), "spec", "template", "spec", "containers", 0)
	if img := get(c, "image"); img != "rmodel-operator:0.1.0" {
		t.Errorf("manager image %v, want rmodel-operator:0.1.0 (appVersion)", img)
	}
	if args := get(c, "args").([]any); !slices.Contains(args, any("--runtime-image=rai-runtime:0.1.0")) {
		t.Errorf("manager args %v lack --runtime-image=rai-runtime:0.1.0", args)
	}
	for _, o := range objs {
		switch get(o, "kind") {
		case "Namespace", "NetworkPolicy", "ServiceMonitor", "ClusterRoleBinding":
			if get(o, "kind") == "ClusterRoleBinding" && get(o, "metadata", "name") != "rmodel-metrics-reader" {
				continue
			}
			t.Errorf("%s is rendered by default", key(o))
		}
	}
}

// managerFlags are the flags cmd/manager registers, read from its source.
func managerFlags(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "..", "cmd", "manager", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	var flags []string
	for _, m := range regexp.MustCompile(`flag\.(?:String|Bool|Duration|Int)?Var\(&\w+, "([a-z0-9-]+)"`).FindAllSubmatch(src, -1) {
		flags = append(flags, string(m[1]))
	}
	if len(flags) < 10 {
		t.Fatalf("found only %v in cmd/manager/main.go", flags)
	}
	// zap.Options.BindFlags.
	return append(flags, "zap-log-level", "zap-devel", "zap-encoder", "zap-stacktrace-level", "zap-time-encoding")
}

// TestChartManagerArgs: each manager value becomes its flag, and every flag
// the chart passes is one the manager has.
func TestChartManagerArgs(t *testing.T) {
	objs := mustRender(t, everythingOn())
	d := find(t, objs, "Deployment", "rmodel-controller-manager")
	c := get(d, "spec", "template", "spec", "containers", 0)
	var args []string
	for _, a := range get(c, "args").([]any) {
		args = append(args, a.(string))
	}
	want := []string{
		"--leader-elect",
		"--leader-election-namespace=rmodel-system",
		"--metrics-bind-address=:8443",
		"--metrics-secure=true",
		"--enable-http2",
		"--metrics-cert-dir=/etc/metrics-certs",
		"--health-probe-bind-address=:8081",
		"--runtime-image=rai-runtime:0.1.0",
		"--cluster-policy-configmap=rmodel-system/cluster-policy",
		"--evaluation-node-selector=pool=eval,zone=a",
		"--evaluation-toleration=dedicated=eval:NoSchedule",
		"--evaluation-toleration=gpu:NoSchedule",
		"--rollout-poll-interval=5s",
		"--audit-anchor-interval=1m",
		"--decision-record-retention=8760h",
		"--decision-log=none",
		"--zap-log-level=debug",
	}
	if !slices.Equal(args, want) {
		t.Errorf("args\n  %s\nwant\n  %s", strings.Join(args, "\n  "), strings.Join(want, "\n  "))
	}
	flags := managerFlags(t)
	for _, a := range args {
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !slices.Contains(flags, name) {
			t.Errorf("the chart passes %s, which cmd/manager does not register", a)
		}
	}
	if m := get(c, "volumeMounts", 0, "mountPath"); m != "/etc/metrics-certs" {
		t.Errorf("the metrics certificate is mounted at %v", m)
	}
	if s := get(d, "spec", "template", "spec", "volumes", 0, "secret", "secretName"); s != "rmodel-metrics-tls" {
		t.Errorf("the metrics certificate comes from %v", s)
	}

	// Off, and plain.
	objs = mustRender(t, map[string]any{"manager": map[string]any{"leaderElect": false}, "metrics": map[string]any{"secure": false}})
	c = get(find(t, objs, "Deployment", "rmodel-controller-manager"), "spec", "template", "spec", "containers", 0)
	args = nil
	for _, a := range get(c, "args").([]any) {
		args = append(args, a.(string))
	}
	if !slices.Contains(args, "--leader-elect=false") || !slices.Contains(args, "--metrics-secure=false") {
		t.Errorf("args %v", args)
	}
	if p := get(find(t, objs, "Service", "rmodel-controller-manager-metrics"), "spec", "ports", 0, "name"); p != "http" {
		t.Errorf("plain metrics Service port %v, want http", p)
	}
	objs = mustRender(t, map[string]any{"metrics": map[string]any{"enabled": false}})
	c = get(find(t, objs, "Deployment", "rmodel-controller-manager"), "spec", "template", "spec", "containers", 0)
	if a := get(c, "args", 1); a != "--metrics-bind-address=0" {
		t.Errorf("metrics off: second arg %v", a)
	}
	for _, o := range objs {
		if get(o, "kind") == "Service" {
			t.Errorf("metrics off, yet %s", key(o))
		}
	}
}

// TestChartMetricsScraping: the ServiceMonitor scrapes the metrics Service's
// HTTPS port with the scraper's token, and the named scraper is bound to
// metrics-reader.
func TestChartMetricsScraping(t *testing.T) {
	objs := mustRender(t, everythingOn())
	sm := find(t, objs, "ServiceMonitor", "rmodel-controller-manager-metrics")
	svc := find(t, objs, "Service", "rmodel-controller-manager-metrics")
	if get(sm, "apiVersion") != "monitoring.coreos.com/v1" || get(sm, "metadata", "labels", "release") != "prometheus" {
		t.Errorf("ServiceMonitor %v", sm)
	}
	ep := get(sm, "spec", "endpoints", 0)
	if get(ep, "port") != get(svc, "spec", "ports", 0, "name") || get(ep, "scheme") != "https" ||
		get(ep, "bearerTokenFile") != "/var/run/secrets/kubernetes.io/serviceaccount/token" || get(ep, "scrapeTimeout") != "10s" {
		t.Errorf("ServiceMonitor endpoint %v for Service ports %v", ep, get(svc, "spec", "ports"))
	}
	for k, v := range get(sm, "spec", "selector", "matchLabels").(map[string]any) {
		if get(svc, "metadata", "labels", k) != v {
			t.Errorf("the ServiceMonitor selects %s=%v, which the Service lacks", k, v)
		}
	}
	crb := find(t, objs, "ClusterRoleBinding", "rmodel-metrics-reader")
	if get(crb, "roleRef", "name") != "rmodel-metrics-reader" || get(crb, "subjects", 0, "name") != "prometheus-k8s" {
		t.Errorf("metrics-reader binding %v", crb)
	}
	if a := get(find(t, objs, "ServiceAccount", "rmodel-controller-manager"), "metadata", "annotations", "example.com/role"); a != "rmodel" {
		t.Errorf("service account annotation %v", a)
	}
}

// TestChartNames: another release name, or namePrefix, renames every object
// and every reference to one, the operator's user name in the admission
// policies included.
func TestChartNames(t *testing.T) {
	objs := mustRender(t, map[string]any{"namePrefix": "rai"})
	for _, o := range objs {
		if n := get(o, "metadata", "name").(string); get(o, "kind") != "CustomResourceDefinition" && !strings.HasPrefix(n, "rai-") {
			t.Errorf("%s has no rai- prefix", key(o))
		}
	}
	crb := find(t, objs, "ClusterRoleBinding", "rai-manager-rolebinding")
	if get(crb, "roleRef", "name") != "rai-manager-role" || get(crb, "subjects", 0, "name") != "rai-controller-manager" || get(crb, "subjects", 0, "namespace") != releaseNamespace {
		t.Errorf("manager binding %v", crb)
	}
	vap := find(t, objs, "ValidatingAdmissionPolicy", "rai-operator-owned-status")
	if !strings.Contains(toJSON(t, vap), "'system:serviceaccount:rmodel-system:rai-controller-manager'") {
		t.Errorf("the status policy does not name the operator as rai-controller-manager: %s", toJSON(t, vap))
	}
	if strings.Contains(toJSON(t, objs), "rmodel-controller-manager") {
		t.Errorf("rmodel-controller-manager is still named somewhere")
	}
	if get(find(t, objs, "ValidatingAdmissionPolicyBinding", "rai-operator-owned-status"), "spec", "policyName") != "rai-operator-owned-status" {
		t.Errorf("the binding does not name the renamed policy")
	}
	if sa := get(find(t, objs, "Deployment", "rai-controller-manager"), "spec", "template", "spec", "serviceAccountName"); sa != "rai-controller-manager" {
		t.Errorf("the manager runs as %v", sa)
	}
}

// TestChartRefusesIncompleteNetworkPolicies: turned on without the
// namespaces, or without the artifact stores, the render fails and says what
// is missing.
func TestChartRefusesIncompleteNetworkPolicies(t *testing.T) {
	for _, tc := range []struct {
		np   map[string]any
		want string
	}{
		{map[string]any{"serving": map[string]any{"enabled": true}}, "networkPolicy.modelNamespaces"},
		{map[string]any{"modelNamespaces": []any{"a"}, "evaluation": map[string]any{"enabled": true}}, "networkPolicy.evaluation.artifactStores"},
		{map[string]any{"modelNamespaces": []any{"a"}, "evaluation": map[string]any{"enabled": true, "artifactStores": []any{map[string]any{"cidr": "10.0.0.0/8"}}}}, "needs its ports"},
	} {
		_, err := render(t, map[string]any{"networkPolicy": tc.np})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("networkPolicy %v: %v, want an error naming %s", tc.np, err, tc.want)
		}
	}
}

func toJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestChartSchemaRefusesMistakes: values.schema.json refuses a misspelt key
// and a value of the wrong form before anything is rendered.
func TestChartSchemaRefusesMistakes(t *testing.T) {
	for _, tc := range []struct {
		vals map[string]any
		want string
	}{
		{map[string]any{"metrics": map[string]any{"secured": true}}, "secured"},
		{map[string]any{"replicas": "two"}, "/replicas"},
		{map[string]any{"manager": map[string]any{"rolloutPollInterval": "5 seconds"}}, "/manager/rolloutPollInterval"},
		{map[string]any{"manager": map[string]any{"evaluation": map[string]any{"tolerations": []any{"gpu"}}}}, "/manager/evaluation/tolerations/0"},
	} {
		_, err := render(t, tc.vals)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("values %v: %v, want an error naming %s", tc.vals, err, tc.want)
		}
	}
}

// TestChartPackageIsSelfContained: files/ links to config/; `helm package`
// copies what the links point at, and the packaged chart renders the same.
func TestChartPackageIsSelfContained(t *testing.T) {
	path, err := chartutil.Save(loadChart(t), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	packaged, err := loader.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	fromDir, fromPackage := mustRender(t, everythingOn()), mustRenderChart(t, packaged, everythingOn())
	if d := diff(fromDir, fromPackage); len(d) > 0 {
		t.Errorf("the packaged chart renders otherwise:\n  %s", strings.Join(d, "\n  "))
	}
	if len(fromPackage) < 30 {
		t.Errorf("the packaged chart renders only %v", keys(fromPackage))
	}
}
