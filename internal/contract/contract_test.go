package contract

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/responsible-ai/rmodel-operator/internal/report"
)

// crdPath is the generated ResponsibleModel CRD (make manifests).
const crdPath = "../../config/crd/bases/rai.responsible-ai.dev_responsiblemodels.yaml"

// crdDefault returns the default of the spec field at path (dot-separated,
// below spec) in the served version's schema, as YAML decoded it.
func crdDefault(t *testing.T, crd map[string]any, path string) any {
	t.Helper()
	versions, _ := crd["spec"].(map[string]any)["versions"].([]any)
	if len(versions) == 0 {
		t.Fatalf("%s has no versions", crdPath)
	}
	node, _ := versions[0].(map[string]any)["schema"].(map[string]any)["openAPIV3Schema"].(map[string]any)
	for _, name := range append([]string{"spec"}, strings.Split(path, ".")...) {
		props, _ := node["properties"].(map[string]any)
		next, ok := props[name].(map[string]any)
		if !ok {
			t.Fatalf("the CRD has no field spec.%s (at %q)", path, name)
		}
		node = next
	}
	def, ok := node["default"]
	if !ok {
		t.Fatalf("spec.%s has no default in the CRD", path)
	}
	return def
}

// TestCRDDefaultsAreTheContract reads the kubebuilder default markers as
// they reached the generated CRD: each must be the contract's constant,
// which rai also uses as its flag default.
func TestCRDDefaultsAreTheContract(t *testing.T) {
	b, err := os.ReadFile(crdPath)
	if err != nil {
		t.Fatal(err)
	}
	var crd map[string]any
	if err := yaml.Unmarshal(b, &crd); err != nil {
		t.Fatal(err)
	}
	num := func(v any) string { return fmt.Sprint(v) }
	dur := func(v any) string {
		d, err := time.ParseDuration(fmt.Sprint(v))
		if err != nil {
			return fmt.Sprintf("%v (%v)", v, err)
		}
		return d.String()
	}
	ratio := func(v any) string {
		f, err := strconv.ParseFloat(fmt.Sprint(v), 64)
		if err != nil {
			return fmt.Sprintf("%v (%v)", v, err)
		}
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	cases := []struct {
		path string
		// norm writes the CRD's default as want is written.
		norm func(any) string
		want string
	}{
		{"serving.port", num, strconv.Itoa(DefaultServingPort)},
		{"serving.maxBatchSize", num, strconv.Itoa(DefaultMaxBatchSize)},
		{"serving.maxBatchDelay", dur, DefaultMaxBatchDelay.String()},
		{"evaluations.dataset.favorableLabel", num, DefaultFavorableLabel},
		{"evaluations.robustness.dataset.favorableLabel", num, DefaultFavorableLabel},
		{"evaluations.fairness.predictionThreshold", ratio, strconv.FormatFloat(DefaultPredictionThreshold, 'g', -1, 64)},
		{"evaluations.robustness.selectionSamples", num, strconv.Itoa(DefaultSelectionSamples)},
		{"evaluations.robustness.certificationSamples", num, strconv.Itoa(DefaultCertificationSamples)},
		{"evaluations.robustness.alpha", ratio, strconv.FormatFloat(DefaultAlpha, 'g', -1, 64)},
		{"evaluations.explanations.samples", num, strconv.Itoa(DefaultShapleyRows)},
		{"storage.s3.region", num, DefaultS3Region},
		{"model.task", num, TaskBinaryClassification},
		{"evaluations.robustness.maxEdits", num, strconv.Itoa(DefaultMaxEdits)},
		{"evaluations.robustness.typoRate", ratio, strconv.FormatFloat(DefaultTypoRate, 'g', -1, 64)},
	}
	for _, tc := range cases {
		if got := tc.norm(crdDefault(t, crd, tc.path)); got != tc.want {
			t.Errorf("the CRD defaults spec.%s to %s, the contract to %s", tc.path, got, tc.want)
		}
	}
}

// TestCommandsAreWellFormed: every command line is listed once, names no
// flag twice, and each default is written as pflag prints its type.
func TestCommandsAreWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Commands() {
		path := strings.Join(c.Path, " ")
		if seen[path] {
			t.Errorf("rai %s is listed twice", path)
		}
		seen[path] = true
		names := map[string]bool{}
		for _, f := range c.Flags {
			if names[f.Name] {
				t.Errorf("rai %s lists --%s twice", path, f.Name)
			}
			names[f.Name] = true
			var err error
			switch f.Type {
			case TypeString:
			case TypeInt:
				_, err = strconv.Atoi(f.Default)
			case TypeFloat64:
				_, err = strconv.ParseFloat(f.Default, 64)
			case TypeDuration:
				_, err = time.ParseDuration(f.Default)
			case TypeBool:
				_, err = strconv.ParseBool(f.Default)
			case TypeStringArray:
				if f.Default != "[]" {
					err = fmt.Errorf("a string array's default prints as []")
				}
			default:
				err = fmt.Errorf("unknown type %q", f.Type)
			}
			if err != nil {
				t.Errorf("rai %s --%s default %q: %v", path, f.Name, f.Default, err)
			}
		}
		if _, ok := Find(c.Path...); !ok {
			t.Errorf("Find(%q) finds nothing", c.Path)
		}
	}
	for _, k := range []report.Kind{report.KindFairness, report.KindPrivacy, report.KindRobustness, report.KindExplain, report.KindReference, report.KindCounterfactual} {
		if _, ok := Find(CommandEvaluate, string(k)); !ok {
			t.Errorf("no command line for report kind %q", k)
		}
	}
	if DefaultShapleyRows > DefaultExplainSamples {
		t.Errorf("%d Shapley rows by default, but only %d rows sampled", DefaultShapleyRows, DefaultExplainSamples)
	}
}
