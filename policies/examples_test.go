package policies

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/rego"
	"sigs.k8s.io/yaml"

	"github.com/responsible-ai/rmodel-operator/internal/report"
)

// The worked example of docs/policies.md lives in examples/credit: the Rego
// module, its Rego tests, and the ConfigMap a platform team applies. These
// tests keep the three, and the docs, in step.

func readFile(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// creditConfigMapBundle reads the example ConfigMap as the operator would.
func creditConfigMapBundle(t *testing.T) (Bundle, string) {
	t.Helper()
	manifest := readFile(t, filepath.Join("examples", "credit", "configmap.yaml"))
	var cm struct {
		Kind string            `json:"kind"`
		Data map[string]string `json:"data"`
	}
	if err := yaml.Unmarshal([]byte(manifest), &cm); err != nil {
		t.Fatalf("decode the example ConfigMap: %v", err)
	}
	if cm.Kind != "ConfigMap" {
		t.Fatalf("example manifest kind %q, want ConfigMap", cm.Kind)
	}
	b, err := BundleFromConfigMap(cm.Data)
	if err != nil {
		t.Fatalf("BundleFromConfigMap(example): %v", err)
	}
	return b, manifest
}

func TestCreditExampleConfigMapMatchesRego(t *testing.T) {
	b, _ := creditConfigMapBundle(t)
	if got, want := slices.Sorted(maps.Keys(b.Modules)), []string{"credit.rego"}; !slices.Equal(got, want) {
		t.Fatalf("example ConfigMap modules %v, want %v", got, want)
	}
	if b.Modules["credit.rego"] != readFile(t, filepath.Join("examples", "credit", "credit.rego")) {
		t.Fatal("examples/credit/configmap.yaml and credit.rego differ: regenerate the ConfigMap from credit.rego")
	}
}

func TestCreditExampleRego(t *testing.T) {
	b, _ := creditConfigMapBundle(t)
	policy := mustMerge(t, Default(), b)
	modules := maps.Clone(policy.Modules)
	modules["credit_test.rego"] = readFile(t, filepath.Join("examples", "credit", "credit_test.rego"))
	if n := runRegoTests(t, modules, policy.Data); n < 8 {
		t.Errorf("ran %d Rego tests, want the credit example's and the default's", n)
	}
}

func TestCreditExampleDecision(t *testing.T) {
	b, _ := creditConfigMapBundle(t)
	policy := mustMerge(t, Default(), b)
	in := goodInput()
	in["model"].(map[string]any)["labels"] = map[string]any{"policy.example.com/domain": "credit"}
	fairness := in["evaluations"].(map[string]any)["fairness"].(report.Report)
	fairness.Details = json.RawMessage(`{"min_group_count": 120, "groups": [
		{"name": "age=<25", "values": {"age": "<25"}, "count": 120},
		{"name": "age=25+", "values": {"age": "25+"}, "count": 5880}]}`)
	in["evaluations"].(map[string]any)["fairness"] = fairness
	e := NewEngine()
	// 6000 rows, smallest group 120.
	if d := decide(t, e, policy, in); !d.Allow {
		t.Fatalf("credit model with 6000 rows: got %+v, want allow", d.Violations)
	}
	in["thresholds"] = map[string]any{"credit_evaluation_rows_min": "8000", "credit_group_rows_min": "200"}
	d := decide(t, e, policy, in)
	want := []Violation{
		{Code: "CreditEvaluationRows", Message: "credit: the fairness evaluation used 6000 rows; credit models need at least 8000 (spec.policy.thresholds.credit_evaluation_rows_min)"},
		{Code: "CreditGroupRows", Message: "credit: sensitive group age=<25 has 120 rows; every group needs at least 200 (spec.policy.thresholds.credit_group_rows_min)"},
	}
	if d.Allow || !reflect.DeepEqual(d.Violations, want) {
		t.Fatalf("got %+v, want %+v", d.Violations, want)
	}
	// The same report for a model that is not a credit model.
	in["model"].(map[string]any)["labels"] = map[string]any{}
	if d := decide(t, e, policy, in); !d.Allow {
		t.Fatalf("non-credit model: got %+v, want allow", d.Violations)
	}
}

// defaultThresholds evaluates the default policy's threshold_defaults and
// renders each value as the docs should show it.
func defaultThresholds(t *testing.T) map[string]string {
	t.Helper()
	var opts []func(*rego.Rego)
	for name, src := range Default().Modules {
		opts = append(opts, rego.Module(name, src))
	}
	opts = append(opts, rego.Query("data.rai.promotion.threshold_defaults"))
	rs, err := rego.New(opts...).Eval(context.Background())
	if err != nil || len(rs) != 1 {
		t.Fatalf("evaluate threshold_defaults: %v (%d results)", err, len(rs))
	}
	out := map[string]string{}
	for k, v := range rs[0].Expressions[0].Value.(map[string]any) {
		out[k] = fmt.Sprint(v)
	}
	if len(out) != 19 {
		t.Fatalf("threshold_defaults has %d keys, want 19: %v", len(out), out)
	}
	return out
}

func TestDocsShowTheTestedExample(t *testing.T) {
	docs := readFile(t, filepath.Join("..", "docs", "policies.md"))
	_, manifest := creditConfigMapBundle(t)
	if !strings.Contains(docs, manifest) {
		t.Error("docs/policies.md does not contain examples/credit/configmap.yaml verbatim: copy it into the docs")
	}
	// Every built-in threshold is documented with its value.
	for key, value := range defaultThresholds(t) {
		row := "| `" + key + "` | " + value + " |"
		if !strings.Contains(docs, row) {
			t.Errorf("docs/policies.md lacks the thresholds table row %q", row)
		}
	}
}
