package v1alpha1_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/responsible-ai/rmodel-operator/internal/testenv"
)

// One API server for the whole package: starting one costs seconds.
var (
	k8s     client.Client
	restCfg *rest.Config
)

func TestMain(m *testing.M) {
	env, err := testenv.New()
	if err != nil {
		panic(err)
	}
	cfg, err := env.Start()
	if err != nil {
		panic(err)
	}
	restCfg = cfg
	k8s, err = client.New(cfg, client.Options{Scheme: testenv.Scheme()})
	if err != nil {
		panic(err)
	}
	code := m.Run()
	_ = env.Stop()
	os.Exit(code)
}

// readObjects decodes every YAML document in a file.
func readObjects(t *testing.T, path string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("%s: %v", path, err)
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
	return objs
}

func TestSamplesAreAccepted(t *testing.T) {
	ctx := context.Background()
	files, err := filepath.Glob("../../config/samples/rai_*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples found: %v", err)
	}
	for _, f := range files {
		for _, u := range readObjects(t, f) {
			if u.GetKind() != "PromotionPolicy" { // cluster-scoped
				u.SetNamespace("default")
			}
			if err := k8s.Create(ctx, u); err != nil {
				t.Errorf("%s: %s %q refused: %v", filepath.Base(f), u.GetKind(), u.GetName(), err)
				continue
			}
			// The defaults the API server applies are part of the contract.
			got := &unstructured.Unstructured{}
			got.SetGroupVersionKind(u.GroupVersionKind())
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(u), got); err != nil {
				t.Fatal(err)
			}
			if u.GetKind() == "ResponsibleModel" {
				if v, _, _ := unstructured.NestedString(got.Object, "spec", "policy", "enforcement"); v == "" {
					t.Errorf("%s: spec.policy.enforcement was not defaulted", u.GetName())
				}
				if v, _, _ := unstructured.NestedString(got.Object, "spec", "model", "format"); v != "onnx" {
					t.Errorf("%s: spec.model.format defaulted to %q, want onnx", u.GetName(), v)
				}
			}
		}
	}
}

const validModel = `
apiVersion: rai.responsible-ai.dev/v1alpha1
kind: ResponsibleModel
metadata:
  name: NAME
  namespace: default
spec:
  version: v1
  model:
    uri: file:///models/m.onnx
    sha256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
  evaluations:
    dataset:
      uri: file:///data/eval.csv
      sha256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
      labelColumn: label
    fairness:
      sensitiveColumns: [sex]
      privileged: [{column: sex, value: male}]
      predictionThreshold: "0.5"
    privacy:
      delta: "1e-5"
      maxEpsilon: "3"
    robustness:
      sigma: "0.25"
      selectionSamples: 100
      certificationSamples: 1000
  policy:
    enforcement: Enforce
    thresholds:
      demographic_parity_ratio_min: "0.8"
  serving:
    replicas: 1
    gpu:
      count: 1
`

func parse(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

// set replaces the value at a dotted path (numeric path elements are not
// needed by these cases); a nil value removes the field.
func set(u *unstructured.Unstructured, path string, value any) {
	fields := strings.Split(path, ".")
	if value == nil {
		unstructured.RemoveNestedField(u.Object, fields...)
		return
	}
	if err := unstructured.SetNestedField(u.Object, value, fields...); err != nil {
		panic(err)
	}
}

func TestInvalidManifestsAreRefused(t *testing.T) {
	cases := []struct {
		name string
		// kind selects the base object: a valid ResponsibleModel or PrivacyBudget.
		kind string
		// edits are applied to the base, path -> value (nil removes).
		edits map[string]any
		// want are substrings the API server's message must contain: the
		// field path and what is wrong with it.
		want []string
	}{
		{name: "missing model sha256", edits: map[string]any{"spec.model.sha256": nil},
			want: []string{"spec.model.sha256", "Required value"}},
		{name: "malformed model digest", edits: map[string]any{"spec.model.sha256": "sha256:abc"},
			want: []string{"spec.model.sha256", "should match"}},
		{name: "uppercase dataset digest", edits: map[string]any{"spec.evaluations.dataset.sha256": strings.Repeat("AB", 32)},
			want: []string{"spec.evaluations.dataset.sha256", "should match"}},
		{name: "unsupported URI scheme", edits: map[string]any{"spec.model.uri": "ftp://host/m.onnx"},
			want: []string{"spec.model.uri", "must be a file://, http://, https:// or s3:// URI"}},
		{name: "s3 URI without a key", edits: map[string]any{"spec.model.uri": "s3://models/"},
			want: []string{"spec.model.uri", "an s3:// URI is s3://bucket/key"}},
		{name: "s3 URI with an uppercase bucket", edits: map[string]any{"spec.evaluations.dataset.uri": "s3://Models/eval.csv"},
			want: []string{"spec.evaluations.dataset.uri", "an s3:// URI is s3://bucket/key"}},
		{name: "s3 endpoint without a scheme", edits: map[string]any{"spec.storage.s3.endpoint": "minio:9000"},
			want: []string{"spec.storage.s3.endpoint", "should match"}},
		{name: "s3 endpoint with a path", edits: map[string]any{"spec.storage.s3.endpoint": "https://minio:9000/models"},
			want: []string{"spec.storage.s3.endpoint", "should match"}},
		{name: "s3 credentials Secret without a name", edits: map[string]any{"spec.storage.s3.credentialsSecretRef": map[string]any{}},
			want: []string{"spec.storage.s3.credentialsSecretRef.name", "Required value"}},
		{name: "s3 CA bundle key with a slash", edits: map[string]any{"spec.storage.s3.caBundle": map[string]any{"name": "ca", "key": "../ca.crt"}},
			want: []string{"spec.storage.s3.caBundle.key", "should match"}},
		{name: "GPU count and MIG profile both set", edits: map[string]any{"spec.serving.gpu.migProfile": "1g.10gb"},
			want: []string{"spec.serving.gpu", "set either count or migProfile, not both"}},
		{name: "GPU with neither count nor MIG", edits: map[string]any{"spec.serving.gpu.count": nil, "spec.serving.gpu.product": "NVIDIA-H100-80GB-HBM3"},
			want: []string{"spec.serving.gpu", "set count or migProfile"}},
		{name: "malformed MIG profile", edits: map[string]any{"spec.serving.gpu.count": nil, "spec.serving.gpu.migProfile": "big"},
			want: []string{"spec.serving.gpu.migProfile", "should match"}},
		{name: "too many GPUs", edits: map[string]any{"spec.serving.gpu.count": int64(64)},
			want: []string{"spec.serving.gpu.count", "less than or equal to 16"}},
		{name: "prediction threshold above 1", edits: map[string]any{"spec.evaluations.fairness.predictionThreshold": "1.5"},
			want: []string{"spec.evaluations.fairness.predictionThreshold", "must be a number between 0 and 1"}},
		{name: "prediction threshold not a number", edits: map[string]any{"spec.evaluations.fairness.predictionThreshold": "half"},
			want: []string{"spec.evaluations.fairness.predictionThreshold", "should match"}},
		{name: "delta of 1", edits: map[string]any{"spec.evaluations.privacy.delta": "1"},
			want: []string{"spec.evaluations.privacy.delta", "strictly between 0 and 1"}},
		{name: "negative max epsilon", edits: map[string]any{"spec.evaluations.privacy.maxEpsilon": "-1"},
			want: []string{"spec.evaluations.privacy.maxEpsilon", "should match"}},
		{name: "negative replicas", edits: map[string]any{"spec.serving.replicas": int64(-1)},
			want: []string{"spec.serving.replicas", "greater than or equal to 1"}},
		{name: "zero replicas (nothing would load the model before it is promoted and charged)", edits: map[string]any{"spec.serving.replicas": int64(0)},
			want: []string{"spec.serving.replicas", "greater than or equal to 1"}},
		{name: "unknown enforcement mode", edits: map[string]any{"spec.policy.enforcement": "Audit"},
			want: []string{"spec.policy.enforcement", "Unsupported value", "Enforce", "Warn", "DryRun"}},
		{name: "non-numeric threshold", edits: map[string]any{"spec.policy.thresholds": map[string]any{"demographic_parity_ratio_min": "high"}},
			want: []string{"spec.policy.thresholds.demographic_parity_ratio_min", "should match"}},
		{name: "threshold name not snake_case", edits: map[string]any{"spec.policy.thresholds": map[string]any{"DemographicParity": "0.8"}},
			want: []string{"spec.policy.thresholds", "lowercase snake_case"}},
		{name: "fairness without dataset", edits: map[string]any{"spec.evaluations.dataset": nil},
			want: []string{"spec", "evaluations.dataset is required"}},
		{name: "privileged column not sensitive", edits: map[string]any{"spec.evaluations.fairness.privileged": []any{map[string]any{"column": "race", "value": "x"}}},
			want: []string{"spec.evaluations.fairness", "every privileged column must be listed in sensitiveColumns"}},
		{name: "no sensitive columns", edits: map[string]any{"spec.evaluations.fairness.sensitiveColumns": []any{}, "spec.evaluations.fairness.privileged": nil},
			want: []string{"spec.evaluations.fairness.sensitiveColumns", "should have at least 1 items"}},
		{name: "selection samples above certification samples", edits: map[string]any{"spec.evaluations.robustness.selectionSamples": int64(5000)},
			want: []string{"spec.evaluations.robustness", "selectionSamples must not exceed certificationSamples"}},
		{name: "DP parameters from spec but missing", edits: map[string]any{"spec.evaluations.privacy.parametersFrom": "Spec"},
			want: []string{"spec.evaluations.privacy", "dpSGD is required when parametersFrom is Spec"}},
		{name: "bad version name", edits: map[string]any{"spec.version": "v1/../../etc"},
			want: []string{"spec.version", "should match"}},
		{name: "MIG profile through DRA", edits: map[string]any{"spec.serving.gpu.count": nil, "spec.serving.gpu.migProfile": "1g.10gb", "spec.serving.gpu.deviceClassName": "gpu.nvidia.com"},
			want: []string{"spec.serving.gpu", "with deviceClassName, select MIG devices with a selector"}},
		{name: "selectors without a device class", edits: map[string]any{"spec.serving.gpu.selectors": []any{"device.driver == 'gpu.nvidia.com'"}},
			want: []string{"spec.serving.gpu", "selectors apply only with deviceClassName"}},
		{name: "unknown model task", edits: map[string]any{"spec.model.task": "regression"},
			want: []string{"spec.model.task", "Unsupported value"}},
		{name: "text model without tokenizer", edits: map[string]any{"spec.model.task": "text-classification", "spec.evaluations.robustness": nil},
			want: []string{"spec.model", "tokenizer is required"}},
		{name: "labels on a binary classifier", edits: map[string]any{"spec.model.labels": []any{"no", "yes"}},
			want: []string{"spec.model", "apply to text-classification and token-classification models only"}},
		{name: "tokenizer digest malformed", edits: map[string]any{"spec.model.task": "text-classification", "spec.evaluations.robustness": nil,
			"spec.model.tokenizer": map[string]any{"uri": "file:///models/tokenizer.json", "sha256": "abc"}},
			want: []string{"spec.model.tokenizer.sha256"}},
		{name: "max length of 1", edits: map[string]any{"spec.model.task": "text-classification", "spec.evaluations.robustness": nil,
			"spec.model.tokenizer": map[string]any{"uri": "file:///models/tokenizer.json", "sha256": strings.Repeat("ab", 32)}, "spec.model.maxLength": int64(1)},
			want: []string{"spec.model.maxLength", "greater than or equal to 2"}},
		{name: "robustness without sigma on a binary classifier", edits: map[string]any{"spec.evaluations.robustness.sigma": nil},
			want: []string{"sigma is required for binary-classification models"}},
		{name: "counterfactual on a binary classifier", edits: map[string]any{"spec.evaluations.counterfactual": map[string]any{
			"termPairs": map[string]any{"uri": "file:///data/pairs.csv", "sha256": strings.Repeat("ab", 32)}}},
			want: []string{"evaluations.counterfactual needs model.task text-classification"}},
		{name: "robustness of a token classifier", edits: map[string]any{"spec.model.task": "token-classification",
			"spec.model.tokenizer": map[string]any{"uri": "file:///models/tokenizer.json", "sha256": strings.Repeat("ab", 32)}},
			want: []string{"evaluations.robustness is not supported for token-classification models"}},
		{name: "monitoring a text classifier", edits: map[string]any{"spec.model.task": "text-classification", "spec.evaluations.robustness": nil,
			"spec.model.tokenizer": map[string]any{"uri": "file:///models/tokenizer.json", "sha256": strings.Repeat("ab", 32)}, "spec.monitoring": map[string]any{}},
			want: []string{"monitoring is supported for binary-classification models only"}},
		{name: "budget epsilon negative", kind: "PrivacyBudget", edits: map[string]any{"spec.epsilon": "-2"},
			want: []string{"spec.epsilon", "should match"}},
		{name: "budget epsilon zero", kind: "PrivacyBudget", edits: map[string]any{"spec.epsilon": "0"},
			want: []string{"spec.epsilon", "must be greater than 0"}},
		{name: "budget unknown composition", kind: "PrivacyBudget", edits: map[string]any{"spec.composition": "Advanced"},
			want: []string{"spec.composition", "Unsupported value"}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var u *unstructured.Unstructured
			if tc.kind == "PrivacyBudget" {
				u = parse(t, `{apiVersion: rai.responsible-ai.dev/v1alpha1, kind: PrivacyBudget, metadata: {name: NAME, namespace: default}, spec: {epsilon: "8", delta: "1e-5"}}`)
			} else {
				u = parse(t, validModel)
			}
			u.SetName("invalid-" + strings.ToLower(strings.ReplaceAll(tc.name, " ", "-")))
			if len(u.GetName()) > 60 {
				u.SetName(u.GetName()[:50] + string(rune('a'+i%26)))
			}
			for p, v := range tc.edits {
				set(u, p, v)
			}
			err := k8s.Create(context.Background(), u)
			if err == nil {
				t.Fatalf("the API server accepted the invalid manifest")
			}
			if !apierrors.IsInvalid(err) {
				t.Fatalf("want an Invalid error, got %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message does not mention %q:\n%v", w, err)
				}
			}
		})
	}

	// The base manifests themselves are valid, so each refusal above is due
	// to its edit alone.
	for _, doc := range []string{validModel, `{apiVersion: rai.responsible-ai.dev/v1alpha1, kind: PrivacyBudget, metadata: {name: NAME, namespace: default}, spec: {epsilon: "8", delta: "1e-5"}}`} {
		u := parse(t, doc)
		u.SetName("valid-base-" + strings.ToLower(u.GetKind()))
		if err := k8s.Create(context.Background(), u); err != nil {
			t.Errorf("valid base %s refused: %v", u.GetKind(), err)
		}
	}
}

func TestS3StorageIsAccepted(t *testing.T) {
	u := parse(t, validModel)
	u.SetName("s3-storage")
	set(u, "spec.model.uri", "s3://models/credit/v1/model.onnx")
	set(u, "spec.evaluations.dataset.uri", "s3://datasets.team-a/eval/credit.parquet")
	set(u, "spec.storage.s3.endpoint", "http://seaweedfs.storage.svc:8333")
	set(u, "spec.storage.s3.pathStyle", true)
	set(u, "spec.storage.s3.credentialsSecretRef.name", "model-store")
	set(u, "spec.storage.s3.caBundle.name", "store-ca")
	if err := k8s.Create(context.Background(), u); err != nil {
		t.Fatalf("the API server refused a model in S3: %v", err)
	}
	got := &unstructured.Unstructured{}
	got.SetGroupVersionKind(u.GroupVersionKind())
	if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(u), got); err != nil {
		t.Fatal(err)
	}
	if v, _, _ := unstructured.NestedString(got.Object, "spec", "storage", "s3", "region"); v != "us-east-1" {
		t.Errorf("spec.storage.s3.region defaulted to %q, want us-east-1", v)
	}
	if v, _, _ := unstructured.NestedString(got.Object, "spec", "storage", "s3", "caBundle", "key"); v != "ca.crt" {
		t.Errorf("spec.storage.s3.caBundle.key defaulted to %q, want ca.crt", v)
	}
}

// TestTextModelConfigurationBelongsToAVersion: a text model's tokenizer,
// labels and length are judged with its version, so an update may change
// them only together with spec.version, while a binary classifier's model
// digest may still change under the same version name.
func TestTextModelConfigurationBelongsToAVersion(t *testing.T) {
	ctx := context.Background()
	u := parse(t, validModel)
	u.SetName("text-config-per-version")
	set(u, "spec.evaluations.robustness", nil)
	set(u, "spec.model.task", "text-classification")
	set(u, "spec.model.tokenizer", map[string]any{"uri": "file:///models/tokenizer.json", "sha256": strings.Repeat("ab", 32)})
	set(u, "spec.model.labels", []any{"billing", "refund"})
	if err := k8s.Create(ctx, u); err != nil {
		t.Fatalf("create a text model: %v", err)
	}
	update := func(edits map[string]any) error {
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(u.GroupVersionKind())
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(u), got); err != nil {
			t.Fatal(err)
		}
		for p, v := range edits {
			set(got, p, v)
		}
		return k8s.Update(ctx, got)
	}
	const msg = "model.task, tokenizer, labels and maxLength belong to a version"
	for name, edits := range map[string]map[string]any{
		"tokenizer":  {"spec.model.tokenizer.sha256": strings.Repeat("cd", 32)},
		"labels":     {"spec.model.labels": []any{"refund", "billing"}},
		"max length": {"spec.model.maxLength": int64(64)},
	} {
		err := update(edits)
		if err == nil || !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), msg) {
			t.Errorf("changing the %s under the same version: want Invalid %q, got %v", name, msg, err)
		}
	}
	if err := update(map[string]any{"spec.version": "v2", "spec.model.tokenizer.sha256": strings.Repeat("cd", 32), "spec.model.maxLength": int64(64)}); err != nil {
		t.Errorf("a new version with a new tokenizer and length was refused: %v", err)
	}
	if err := update(map[string]any{"spec.model.sha256": strings.Repeat("ef", 32)}); err != nil {
		t.Errorf("a new model digest under the same version was refused: %v", err)
	}
}
