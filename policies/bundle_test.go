package policies

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func thresholdsData(kv ...string) map[string]any {
	th := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		th[kv[i]] = kv[i+1]
	}
	return map[string]any{"rai": map[string]any{"thresholds": th}}
}

func TestDefaultBundle(t *testing.T) {
	b := Default()
	for _, name := range []string{"promotion.rego", "thresholds.rego", "fairness.rego", "privacy.rego", "robustness.rego"} {
		if !strings.Contains(b.Modules[DefaultModulePrefix+name], "package rai.promotion") {
			t.Errorf("default module %s%s missing or not in package rai.promotion", DefaultModulePrefix, name)
		}
	}
	for name := range b.Modules {
		if strings.HasSuffix(name, "_test.rego") {
			t.Errorf("Default includes the test file %s", name)
		}
	}
	b.Modules["x.rego"] = "changed"
	if _, ok := Default().Modules["x.rego"]; ok {
		t.Error("Default returned shared state: a caller's change leaked into the next call")
	}
}

func TestMergePrecedence(t *testing.T) {
	cluster := Bundle{
		Modules: map[string]string{"cluster.rego": "package rai.promotion"},
		Data:    thresholdsData("demographic_parity_ratio_min", "0.7", "abstain_rate_max", "0.3"),
	}
	model := Bundle{
		Modules: map[string]string{"model.rego": "package rai.promotion"},
		Data:    thresholdsData("demographic_parity_ratio_min", "0.6"),
	}
	got := mustMerge(t, Default(), cluster, model)
	want := thresholdsData("demographic_parity_ratio_min", "0.6", "abstain_rate_max", "0.3")
	if !reflect.DeepEqual(got.Data, want) {
		t.Fatalf("merged data = %v, want %v (the model's value wins, the cluster's other keys stay)", got.Data, want)
	}
	if len(got.Modules) != len(Default().Modules)+2 {
		t.Errorf("merged %d modules, want the default's plus 2", len(got.Modules))
	}
	if cluster.Data["rai"].(map[string]any)["thresholds"].(map[string]any)["demographic_parity_ratio_min"] != "0.7" {
		t.Error("Merge modified its input")
	}

	// The same precedence, observed through decisions: parity 0.65 fails
	// the cluster's 0.7, passes the model's 0.6, and fails a spec 0.9.
	e := NewEngine()
	in := withFairness(goodInput(), "demographic_parity_ratio", 0.65)
	if d := decide(t, e, mustMerge(t, Default(), cluster), in); d.Allow {
		t.Errorf("cluster threshold 0.7: got allow, want deny")
	}
	if d := decide(t, e, got, in); !d.Allow {
		t.Errorf("model threshold 0.6 over cluster 0.7: got %+v, want allow", d.Violations)
	}
	in["thresholds"] = map[string]any{"demographic_parity_ratio_min": "0.9"}
	d := decide(t, e, got, in)
	if d.Allow || !strings.Contains(d.Violations[0].Message, "minimum 0.9 (spec.policy.thresholds.demographic_parity_ratio_min") {
		t.Errorf("spec threshold 0.9 over data 0.6: got %+v, want a denial naming the spec", d)
	}
}

func TestMergeModuleClash(t *testing.T) {
	a := Bundle{Modules: map[string]string{"policy.rego": "package rai.promotion"}}
	b := Bundle{Modules: map[string]string{"policy.rego": "package rai.promotion\n"}}
	_, err := Merge(Default(), a, b)
	if err == nil || !strings.Contains(err.Error(), `module "policy.rego" is defined in bundle 1 and again in bundle 2`) {
		t.Fatalf("err = %v, want a clash naming the module and both bundles", err)
	}
}

func TestMergeReplacesNonObjects(t *testing.T) {
	got := mustMerge(t,
		Bundle{Data: map[string]any{"a": map[string]any{"x": 1.0}, "list": []any{1.0, 2.0}}},
		Bundle{Data: map[string]any{"a": "flat", "list": []any{3.0}}},
	)
	want := map[string]any{"a": "flat", "list": []any{3.0}}
	if !reflect.DeepEqual(got.Data, want) {
		t.Fatalf("got %v, want %v: a later non-object replaces, lists are not concatenated", got.Data, want)
	}
}

func TestBundleFromConfigMap(t *testing.T) {
	b, err := BundleFromConfigMap(map[string]string{
		"credit.rego": "package rai.promotion",
		"a.json":      `{"rai": {"thresholds": {"abstain_rate_max": "0.3", "certified_radius": 0.5}}}`,
		"b.json":      `{"rai": {"thresholds": {"abstain_rate_max": "0.25"}}, "teams": ["risk"]}`,
	})
	if err != nil {
		t.Fatal(err)
	}
	if b.Modules["credit.rego"] != "package rai.promotion" || len(b.Modules) != 1 {
		t.Errorf("modules = %v", b.Modules)
	}
	want := map[string]any{
		"rai":   map[string]any{"thresholds": map[string]any{"abstain_rate_max": "0.25", "certified_radius": json.Number("0.5")}},
		"teams": []any{"risk"},
	}
	if !reflect.DeepEqual(b.Data, want) {
		t.Errorf("data = %#v, want %#v (b.json after a.json, numbers exact)", b.Data, want)
	}
}

func TestBundleFromConfigMapErrors(t *testing.T) {
	cases := map[string]struct {
		data map[string]string
		want string
	}{
		"unknown key":    {map[string]string{"policy.rgo": "package x"}, `policy ConfigMap key "policy.rgo": want a Rego module (*.rego) or a JSON data object (*.json)`},
		"bad JSON":       {map[string]string{"data.json": `{"rai": `}, `policy ConfigMap key "data.json": decode JSON object`},
		"JSON array":     {map[string]string{"data.json": `[1]`}, `policy ConfigMap key "data.json": decode JSON object`},
		"JSON null":      {map[string]string{"data.json": `null`}, `data.json": decode JSON object: got null`},
		"trailing value": {map[string]string{"data.json": `{} {}`}, `trailing data`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := BundleFromConfigMap(tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestDigest(t *testing.T) {
	a := Bundle{Modules: map[string]string{"a.rego": "A", "b.rego": "B"}, Data: map[string]any{"x": 0.8, "y": "s"}}
	b := Bundle{Modules: map[string]string{"b.rego": "B", "a.rego": "A"}, Data: map[string]any{"y": "s", "x": json.Number("0.8")}}
	da, err := a.Digest()
	if err != nil {
		t.Fatal(err)
	}
	db, _ := b.Digest()
	if da != db || !strings.HasPrefix(da, "sha256:") || len(da) != len("sha256:")+64 {
		t.Fatalf("equal bundles: %s vs %s", da, db)
	}
	for name, changed := range map[string]Bundle{
		"source":   {Modules: map[string]string{"a.rego": "A ", "b.rego": "B"}, Data: a.Data},
		"filename": {Modules: map[string]string{"c.rego": "A", "b.rego": "B"}, Data: a.Data},
		"data":     {Modules: a.Modules, Data: map[string]any{"x": 0.81, "y": "s"}},
		// Moving text between modules must not collide.
		"boundary": {Modules: map[string]string{"a.rego": "AB", "b.rego": ""}, Data: a.Data},
	} {
		if d, _ := changed.Digest(); d == da {
			t.Errorf("changing the %s kept the digest", name)
		}
	}
	if _, err := (Bundle{Data: map[string]any{"c": make(chan int)}}).Digest(); err == nil {
		t.Error("non-JSON data: want an error")
	}
}
