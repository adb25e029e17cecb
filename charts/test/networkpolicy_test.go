package charttest

import (
	"strings"
	"testing"
)

// TestChartNetworkPoliciesAreConfigs renders the NetworkPolicies with the
// settings config/network-policy has (its client namespace label, its
// placeholder artifact store) and compares them with that kustomization
// applied to each model namespace: the same policies, but for Helm's labels.
// controllers/networkpolicy_test.go checks that config/network-policy
// selects the pods the operator creates.
func TestChartNetworkPoliciesAreConfigs(t *testing.T) {
	objs := mustRender(t, map[string]any{"networkPolicy": map[string]any{
		"modelNamespaces": []any{"team-a", "team-b"},
		"serving":         map[string]any{"enabled": true},
		"evaluation":      map[string]any{"enabled": true, "artifactStores": []any{map[string]any{"cidr": "192.0.2.0/24", "ports": []any{443}}}},
	}})
	var got []object
	for _, o := range objs {
		if get(o, "kind") == "NetworkPolicy" {
			intentionalDifferences[0].undo(o)
			got = append(got, o)
		}
	}
	var want []object
	for _, ns := range []string{"team-a", "team-b"} {
		for _, o := range kustomize(t, "network-policy") {
			o["metadata"].(map[string]any)["namespace"] = ns
			want = append(want, o)
		}
	}
	g, w := byKey(got), byKey(want)
	if len(g) != len(w) {
		t.Fatalf("the chart renders\n  %s\nconfig/network-policy in each namespace\n  %s", strings.Join(keys(got), "\n  "), strings.Join(keys(want), "\n  "))
	}
	for k, wo := range w {
		if d := diff(wo, g[k]); len(d) > 0 {
			t.Errorf("%s differs from config/network-policy (kustomize != chart):\n  %s", k, strings.Join(d, "\n  "))
		}
	}
}

// TestChartNetworkPolicyValues: client namespaces by name, several artifact
// stores (IP blocks with exceptions, in-cluster pods), and the manager's
// namespace following the release.
func TestChartNetworkPolicyValues(t *testing.T) {
	objs := mustRender(t, everythingOn())
	var serving, evaluation object
	for _, o := range objs {
		if get(o, "kind") != "NetworkPolicy" || get(o, "metadata", "namespace") != "team-b" {
			continue
		}
		switch get(o, "metadata", "name") {
		case "rmodel-serving-ingress":
			serving = o
		case "rmodel-evaluation-egress":
			evaluation = o
		}
	}
	if serving == nil || evaluation == nil {
		t.Fatalf("no policies in team-b among %v", keys(objs))
	}
	clients := get(serving, "spec", "ingress", 0, "from")
	if toJSON(t, clients) != `[{"namespaceSelector":{"matchLabels":{"rai.responsible-ai.dev/inference-client":"true"}}},{"namespaceSelector":{"matchExpressions":[{"key":"kubernetes.io/metadata.name","operator":"In","values":["frontend"]}]}}]` {
		t.Errorf("serving clients %s", toJSON(t, clients))
	}
	if ns := get(serving, "spec", "ingress", 1, "from", 0, "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name"); ns != releaseNamespace {
		t.Errorf("the manager is let in from %v", ns)
	}
	egress := toJSON(t, get(evaluation, "spec", "egress"))
	want := `[{"ports":[{"port":443,"protocol":"TCP"},{"port":9000,"protocol":"TCP"}],"to":[{"ipBlock":{"cidr":"10.20.0.0/16","except":["10.20.9.0/24"]}}]},` +
		`{"ports":[{"port":8333,"protocol":"TCP"}],"to":[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"storage"}}}]},` +
		`{"ports":[{"port":53,"protocol":"UDP"},{"port":53,"protocol":"TCP"}],"to":[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"kube-system"}},"podSelector":{"matchLabels":{"k8s-app":"kube-dns"}}}]}]`
	if egress != want {
		t.Errorf("evaluation egress\n  %s\nwant\n  %s", egress, want)
	}
}
