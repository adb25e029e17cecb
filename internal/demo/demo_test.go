package demo_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/responsible-ai/rmodel-operator/internal/demo"
	"github.com/responsible-ai/rmodel-operator/internal/demo/dataset"
	"github.com/responsible-ai/rmodel-operator/internal/evaluation/runner"
	"github.com/responsible-ai/rmodel-operator/internal/onnx"
	"github.com/responsible-ai/rmodel-operator/internal/report"
	"github.com/responsible-ai/rmodel-operator/policies"
)

// TestMain loads onnxruntime (make onnxruntime, or $RAI_ONNXRUNTIME_LIB): the verdict test runs
// the project's evaluators on the ONNX artifacts.
func TestMain(m *testing.M) {
	if err := onnx.Init(""); err != nil {
		println("demo tests need onnxruntime:", err.Error())
		os.Exit(1)
	}
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// built is one Build shared by the tests (about a second).
var built struct {
	once sync.Once
	dir  string
	man  *demo.Manifest
	err  error
}

func build(t *testing.T) (string, *demo.Manifest) {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "rai-demo-"); built.err == nil {
			built.man, built.err = demo.Build(built.dir, "test", nil)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.dir, built.man
}

func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		files[rel], err = os.ReadFile(path)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// Same seed, same bytes: a second build writes exactly the same files.
func TestBuildIsReproducible(t *testing.T) {
	dir, _ := build(t)
	again := t.TempDir()
	if _, err := demo.Build(again, "test", nil); err != nil {
		t.Fatal(err)
	}
	a, b := readTree(t, dir), readTree(t, again)
	if len(a) != len(b) || len(a) < 20 {
		t.Fatalf("builds wrote %d and %d files", len(a), len(b))
	}
	for name, data := range a {
		if !bytes.Equal(data, b[name]) {
			t.Errorf("%s differs between two builds", name)
		}
	}
}

// Every artifact in models.json exists, its sha256 is right, and a sha256sum-format file sits
// beside it.
func TestManifestDigests(t *testing.T) {
	dir, man := build(t)
	check := func(file, want string) {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		got := hex.EncodeToString(sum[:])
		line, _ := os.ReadFile(filepath.Join(dir, file+".sha256"))
		if got != want || string(line) != got+"  "+filepath.Base(file)+"\n" {
			t.Errorf("%s: sha256 %s, manifest %s, checksum file %q", file, got, want, line)
		}
	}
	var names []string
	for _, d := range man.DataSets {
		check(d.File, d.SHA256)
		names = append(names, d.Name)
	}
	for _, m := range man.Models {
		check(m.File, m.SHA256)
		names = append(names, m.Name)
		if m.Metadata["rai.dataset.sha256"] != man.DataSets[0].SHA256 {
			t.Errorf("%s: rai.dataset.sha256 %s is not train.csv's %s", m.Name, m.Metadata["rai.dataset.sha256"], man.DataSets[0].SHA256)
		}
	}
	want := []string{"train", "eval", "members", "nonmembers", "robustness", "fair-dp", "fair-dp-v2", "biased", "no-dp", "dp-over-budget", "brittle"}
	if !slices.Equal(names, want) {
		t.Errorf("artifacts %v, want %v", names, want)
	}
}

// evaluate runs the project's three evaluators on one demo model, as the operator's Jobs would
// with the demo's settings (hack/demo/render): fairness on eval.csv by sex × age_group
// (intersectional) with men privileged, or by sex alone when bySexOnly; privacy from the model's
// rai.dp.* metadata plus the membership audit; robustness on robustness.csv at σ = 0.25 with
// n0 = 100, n = 1,000, α = 0.001 and radii 0.1, 0.25, 0.5.
func evaluate(t *testing.T, dir string, m demo.ModelEntry, bySexOnly bool) map[string]any {
	t.Helper()
	ctx := context.Background()
	data := func(name string) string { return filepath.Join(dir, demo.DataDir, name) }
	common := func(dataFile string) runner.Common {
		return runner.Common{ModelPath: filepath.Join(dir, m.File), ModelSHA256: m.SHA256, ModelName: m.Name, DataPath: dataFile, Workers: 1}
	}
	sensitive := []string{"sex", "age_group"}
	if bySexOnly {
		sensitive = sensitive[:1]
	}
	fair, err := runner.EvaluateFairness(ctx, runner.FairnessConfig{Common: common(data(dataset.EvalFile)), Label: "label",
		Sensitive: sensitive, Privileged: "sex=male", Favorable: "1", Threshold: 0.5})
	if err != nil {
		t.Fatalf("%s: fairness: %v", m.Name, err)
	}
	priv, err := runner.EvaluatePrivacy(ctx, runner.PrivacyConfig{Common: common(""), Members: data(dataset.MembersFile),
		NonMembers: data(dataset.NonMembersFile), Label: "label", Favorable: "1", Seed: 1})
	if err != nil {
		t.Fatalf("%s: privacy: %v", m.Name, err)
	}
	rob, err := runner.EvaluateRobustness(ctx, runner.RobustnessConfig{Common: common(data(demo.RobustnessFile)), Label: "label",
		Favorable: "1", Threshold: 0.5, Sigma: demo.SmoothingSigma, N0: 100, N: 1000, Alpha: 0.001, Radii: []float64{0.1, demo.CertifiedRadius, 0.5}, Seed: 1})
	if err != nil {
		t.Fatalf("%s: robustness: %v", m.Name, err)
	}
	for _, r := range []*report.Report{fair, priv, rob} {
		if r.State != report.StateSucceeded {
			t.Fatalf("%s: %s report %s: %s", m.Name, r.Kind, r.State, r.Message)
		}
	}
	return map[string]any{"fairness": *fair, "privacy": *priv, "robustness": *rob}
}

// verdictOf maps the default policy's violation codes to a pass or fail per evaluation kind.
func verdictOf(d policies.Decision) map[string]string {
	v := map[string]string{"fairness": demo.Pass, "privacy": demo.Pass, "robustness": demo.Pass}
	for _, x := range d.Violations {
		switch {
		case strings.HasPrefix(x.Code, "Fairness"):
			v["fairness"] = demo.Fail
		case strings.HasPrefix(x.Code, "Privacy"), x.Code == policies.CodeBudgetExhausted:
			v["privacy"] = demo.Fail
		case strings.HasPrefix(x.Code, "Robustness"):
			v["robustness"] = demo.Fail
		default:
			v["other"] = x.Code
		}
	}
	return v
}

// The done-when of the demo: every model, evaluated by the project's evaluators and judged by
// the default policy with the demo's privacy limit (ε ≤ 3 at δ = 1e-5), gets exactly the verdict
// it was made for — with fairness by sex × age_group as the demo configures it, and by sex alone.
func TestEveryModelEarnsItsVerdict(t *testing.T) {
	dir, man := build(t)
	engine := policies.NewEngine()
	for _, m := range man.Models {
		for _, bySexOnly := range []bool{false, true} {
			name := m.Name + "/intersectional"
			if bySexOnly {
				name = m.Name + "/sex"
			}
			t.Run(name, func(t *testing.T) {
				evals := evaluate(t, dir, m, bySexOnly)
				input := map[string]any{
					"model":                map[string]any{"name": m.Name, "namespace": "demo", "labels": map[string]any{}, "annotations": map[string]any{}, "spec": map[string]any{}},
					"version":              "v1",
					"requestedEvaluations": []string{"fairness", "privacy", "robustness"},
					"evaluations":          evals,
					"privacy":              map[string]any{"maxEpsilon": fmt.Sprint(demo.Budget.MaxEpsilon), "delta": fmt.Sprint(demo.Budget.Delta)},
				}
				d, err := engine.Decide(context.Background(), policies.Default(), input)
				if err != nil {
					t.Fatal(err)
				}
				got := verdictOf(d)
				for kind, want := range m.Intended {
					if got[kind] != want {
						t.Errorf("%s: %s verdict %s, made for %s; violations %+v", name, kind, got[kind], want, d.Violations)
					}
				}
				if got["other"] != "" || d.Error != "" {
					t.Errorf("%s: unexpected violation %s (error %q)", name, got["other"], d.Error)
				}
				allPass := !slices.Contains([]string{m.Intended["fairness"], m.Intended["privacy"], m.Intended["robustness"]}, demo.Fail)
				if d.Allow != allPass {
					t.Errorf("%s: allow = %v, want %v; violations %+v", name, d.Allow, allPass, d.Violations)
				}
				t.Logf("%s: %s", name, headline(evals))
			})
		}
	}
}

func headline(evals map[string]any) string {
	num := func(kind, name string) string {
		r := evals[kind].(report.Report)
		if v := r.Metrics[name]; v != nil {
			return fmt.Sprintf("%s=%.3f", name, *v)
		}
		return name + "=null"
	}
	rob := evals["robustness"].(report.Report)
	return strings.Join([]string{
		num("fairness", "accuracy"), num("fairness", "demographic_parity_ratio"), num("fairness", "equalized_odds_difference"),
		num("fairness", "statistical_parity_difference"), num("privacy", "epsilon"), num("privacy", "mia_auc"),
		num("robustness", "abstain_rate"), "robustness " + string(rob.Details[:min(len(rob.Details), 200)]),
	}, " ")
}

// The text models, their tokenizer and their data sit under text/ and models.json lists them
// with the right digests and the numbers their trainer measured.
func TestManifestListsTextModels(t *testing.T) {
	dir, man := build(t)
	if man.Text == nil || len(man.Text.Models) != 2 || len(man.Text.DataSets) != 7 {
		t.Fatalf("text section: %+v", man.Text)
	}
	files := []string{man.Text.Tokenizer.File}
	sums := []string{man.Text.Tokenizer.SHA256}
	for _, d := range man.Text.DataSets {
		files, sums = append(files, d.File), append(sums, d.SHA256)
	}
	for _, m := range man.Text.Models {
		files, sums = append(files, m.File), append(sums, m.SHA256)
		if m.Metrics == nil || m.Metadata["rai.task"] != string(m.Task) {
			t.Errorf("%s: metrics %v, metadata %v", m.Name, m.Metrics, m.Metadata)
		}
	}
	for i, f := range files {
		if !strings.HasPrefix(f, demo.TextDir+string(filepath.Separator)) {
			t.Errorf("%s is not under %s/", f, demo.TextDir)
		}
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != sums[i] {
			t.Errorf("%s: sha256 differs from the manifest", f)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, demo.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"text-intent"`, `"text-ner"`, `"demographicParityRatio"`, `"gap"`, `"text/tokenizer.json"`} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("models.json lacks %s", want)
		}
	}
}

// The text models earn their verdicts from the project's text evaluators (on the written files,
// with the settings in models.json's text evaluations) and the default policy: the intent
// classifier passes fairness by gender, counterfactual token fairness and robustness to typos;
// the NER tagger fails fairness on the entity F1 gap between name groups, and only on it.
func TestTextModelsEarnTheirVerdicts(t *testing.T) {
	dir, man := build(t)
	ctx := context.Background()
	entry := func(name string) (runner.Common, runner.TextOptions) {
		for _, m := range man.Text.Models {
			if m.Name == name {
				return runner.Common{ModelPath: filepath.Join(dir, m.File), ModelSHA256: m.SHA256, ModelName: m.Name, Workers: 1},
					runner.TextOptions{Task: string(m.Task), TokenizerPath: filepath.Join(dir, man.Text.Tokenizer.File), TokenizerSHA256: man.Text.Tokenizer.SHA256, TextColumn: "text"}
			}
		}
		t.Fatalf("no text model %s", name)
		return runner.Common{}, runner.TextOptions{}
	}
	settings := man.Text.Evaluations
	path := func(eval, key string) string { return filepath.Join(dir, settings[eval][key].(string)) }
	decide := func(task string, reports map[string]*report.Report) policies.Decision {
		t.Helper()
		evals := map[string]any{}
		var kinds []string
		for kind, r := range reports {
			if r.State != report.StateSucceeded {
				t.Fatalf("%s report %s: %s", kind, r.State, r.Message)
			}
			evals[kind] = *r
			kinds = append(kinds, kind)
		}
		slices.Sort(kinds)
		input := map[string]any{
			"model": map[string]any{"name": "text", "namespace": "demo", "labels": map[string]any{}, "annotations": map[string]any{},
				"spec": map[string]any{"model": map[string]any{"task": task}}},
			"version": "v1", "requestedEvaluations": kinds, "evaluations": evals,
		}
		d, err := policies.NewEngine().Decide(ctx, policies.Default(), input)
		if err != nil || d.Error != "" {
			t.Fatalf("decide: %v %s", err, d.Error)
		}
		return d
	}

	common, opts := entry("text-intent")
	fair := settings["intent-fairness"]
	c := common
	c.DataPath = path("intent-fairness", "data")
	fr, err := runner.EvaluateTextFairness(ctx, runner.TextFairnessConfig{Common: c, Text: opts, Label: fair["label"].(string),
		Sensitive: fair["sensitive"].([]string), Privileged: fair["privileged"].(string), Favorable: fair["favorable"].(string), Threshold: 0.5, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	cf, err := runner.EvaluateCounterfactual(ctx, runner.CounterfactualConfig{Common: c, Text: opts, TermPairs: path("intent-counterfactual", "termPairs"),
		Favorable: favorable(settings), Threshold: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	rb, err := runner.EvaluateTextRobustness(ctx, runner.TextRobustnessConfig{Common: c, Text: opts, Label: "label", Favorable: favorable(settings),
		Threshold: 0.5, MaxEdits: 3, TypoRate: 0.1, AttackRows: 100, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	d := decide(opts.Task, map[string]*report.Report{"fairness": fr, "counterfactual": cf, "robustness": rb})
	if !d.Allow || len(d.Violations) > 0 {
		t.Errorf("intent: allow %v, violations %+v", d.Allow, d.Violations)
	}
	num := func(r *report.Report, name string) float64 {
		if v := r.Metrics[name]; v != nil {
			return *v
		}
		return math.NaN()
	}
	t.Logf("intent: accuracy %.3f, demographic parity ratio %.3f, counterfactual mean |Δ| %.4f flip rate %.3f, attack success %.3f, typo accuracy %.3f",
		num(fr, "accuracy"), num(fr, "demographic_parity_ratio"), num(cf, "counterfactual_mean_abs_delta"), num(cf, "counterfactual_flip_rate"),
		num(rb, "attack_success_rate"), num(rb, "typo_accuracy"))

	common, opts = entry("text-ner")
	ner := settings["ner-fairness"]
	common.DataPath = path("ner-fairness", "data")
	nr, err := runner.EvaluateTextFairness(ctx, runner.TextFairnessConfig{Common: common, Text: opts, Label: ner["label"].(string), Sensitive: ner["sensitive"].([]string), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	d = decide(opts.Task, map[string]*report.Report{"fairness": nr})
	if d.Allow || len(d.Violations) != 1 || d.Violations[0].Code != "FairnessEntityF1Gap" {
		t.Errorf("ner: allow %v, violations %+v", d.Allow, d.Violations)
	}
	t.Logf("ner: entity F1 gap %.3f (min %.3f)", num(nr, "entity_f1_gap"), num(nr, "entity_f1_min"))
}

// favorable is the intent evaluations' favorable label.
func favorable(settings map[string]map[string]any) string {
	return settings["intent-counterfactual"]["favorable"].(string)
}
