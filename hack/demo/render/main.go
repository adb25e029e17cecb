// Command render writes the demo's manifests from the demo models' manifest
// (_output/demo/models.json, written by `rai model demo`), so that every
// sha256 in them is the one of the artifact just built.
//
//	go run ./hack/demo/render --models _output/demo/models.json [--upgrade]
//
// Without --upgrade it prints the namespace, the privacy budget and one
// ResponsibleModel per verdict; with --upgrade it prints the fair model's
// next version, which asks for more GPUs than the cluster has.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"text/template"
)

type artifact struct {
	Name    string   `json:"name"`
	File    string   `json:"file"`
	SHA256  string   `json:"sha256"`
	Epsilon *float64 `json:"epsilon"`
}

type manifest struct {
	Budget struct {
		MaxEpsilon float64 `json:"maxEpsilon"`
		Delta      float64 `json:"delta"`
	} `json:"budget"`
	Thresholds map[string]float64 `json:"thresholds"`
	DataSets   []artifact         `json:"dataSets"`
	Models     []artifact         `json:"models"`
	// Text lists the language models and their data (internal/demo/textdemo).
	Text struct {
		Tokenizer artifact   `json:"tokenizer"`
		DataSets  []artifact `json:"dataSets"`
		Models    []artifact `json:"models"`
	} `json:"text"`
}

// textModel is one language model of the demo.
type textModel struct {
	Name, Artifact, Story string
	// Task is spec.model.task.
	Task string
	// Eval, Label and Sensitive name the evaluation data set, its label
	// column and its group column.
	Eval, Label, Sensitive string
	// Intent turns on the intent classifier's evaluations beyond fairness:
	// counterfactual, robustness and explanations.
	Intent bool
	// Port serves on the local node; MIG serves on a MIG slice instead.
	Port int
	MIG  string
}

var textDemo = []textModel{
	{Name: "support-intent", Artifact: "text-intent", Task: "text-classification", Eval: "intent-eval", Label: "label", Sensitive: "gender", Intent: true, Port: 18503,
		Story: "the customer-service intent classifier: fair across genders, stable under identity-term swaps and typos: promoted, answers text on the local node"},
	{Name: "support-ner", Artifact: "text-ner", Task: "token-classification", Eval: "ner-eval", Label: "tags", Sensitive: "name_group", MIG: "1g.10gb",
		Story: "the NER model that finds customers' names: it misses names from one group: denied on the entity F1 gap"},
}

const textTmpl = `{{define "text"}}---
# {{.M.Story}}
apiVersion: rai.responsible-ai.dev/v1alpha1
kind: ResponsibleModel
metadata:
  name: {{.M.Name}}
  namespace: {{.NS}}
spec:
  version: v1
  intendedUse: >-
    Demo customer-service language model trained on a generated corpus with
    the bert-base-uncased vocabulary. Assists agents; a person acts on its
    output.
  model:
    task: {{.M.Task}}
    uri: file://{{.Model.Path}}
    sha256: {{.Model.SHA256}}
    tokenizer:
      uri: file://{{.Tokenizer.Path}}
      sha256: {{.Tokenizer.SHA256}}
  evaluations:
    dataset:
      uri: file://{{.Eval.Path}}
      sha256: {{.Eval.SHA256}}
      textColumn: text
      labelColumn: {{.M.Label}}
{{- if .M.Intent}}
      favorableLabel: refund
{{- end}}
    fairness:
      sensitiveColumns: [{{.M.Sensitive}}]
{{- if .M.Intent}}
      privileged: [{column: gender, value: male}]
    counterfactual:
      termPairs:
        uri: file://{{.Pairs.Path}}
        sha256: {{.Pairs.SHA256}}
    robustness:
      maxEdits: 2
      typoRate: "0.05"
    explanations:
      samples: 50
{{- end}}
    job:
      activeDeadlineSeconds: 600
      backoffLimit: 0
  policy:
    enforcement: Enforce
  serving:
    replicas: 1
    progressDeadlineSeconds: 120
{{- if .M.MIG}}
    gpu:
      migProfile: {{.M.MIG}}
{{- else}}
    port: {{.M.Port}}
    nodeSelector:
      rai.responsible-ai.dev/local-exec: "true"
    tolerations:
    - key: rai.responsible-ai.dev/local-exec
      operator: Exists
      effect: NoSchedule
{{- end}}
{{end}}`

// model is one ResponsibleModel of the demo.
type model struct {
	Name, Version, Artifact, Story string
	// GPUs asks for whole H100s; 0 serves on the local node's CPU.
	GPUs int
	// Privacy and Robustness turn those evaluations on.
	Privacy, Robustness bool
	ProgressDeadline    int
	Port                int
	// Review labels the model for the PromotionPolicy that requires a
	// person's approval.
	Review bool
	// Monitor turns live monitoring on (short windows, for the demo).
	Monitor bool
}

var demo = []model{
	{Name: "credit-fair", Version: "v1", Artifact: "fair-dp", GPUs: 1, Privacy: true, Robustness: true, ProgressDeadline: 30, Port: 8080,
		Story: "fair, differentially private and robust: promoted onto an H100"},
	{Name: "credit-biased", Version: "v1", Artifact: "biased", GPUs: 1, Robustness: true, ProgressDeadline: 30, Port: 8080,
		Story: "learned the historical bias: denied on fairness"},
	{Name: "credit-overbudget", Version: "v1", Artifact: "dp-over-budget", GPUs: 1, Privacy: true, ProgressDeadline: 30, Port: 8080,
		Story: "epsilon far above what the data set's privacy budget has left: BudgetExhausted"},
	{Name: "credit-brittle", Version: "v1", Artifact: "brittle", GPUs: 1, Robustness: true, ProgressDeadline: 30, Port: 8080,
		Story: "flips under tiny perturbations: denied on robustness"},
	{Name: "credit-local", Version: "v1", Artifact: "fair-dp", GPUs: 0, ProgressDeadline: 120, Port: 18501, Monitor: true,
		Story: "the fair model on the local node's CPU, so the demo can send it a real inference request"},
}

var reviewed = model{Name: "credit-reviewed", Version: "v1", Artifact: "fair-dp", GPUs: 1, ProgressDeadline: 30, Port: 8080, Review: true,
	Story: "the fair model under a PromotionPolicy that requires a person's approval: it waits, is approved with kubectl rmodel approve, and serves"}

var upgrade = model{Name: "credit-fair", Version: "v2", Artifact: "fair-dp-v2", GPUs: 16, Privacy: true, Robustness: true, ProgressDeadline: 30, Port: 8080,
	Story: "the fair model's next version asks for 16 GPUs on an 8-GPU node: GPUUnschedulable, rolled back to v1"}

const tmpl = `{{define "model"}}---
# {{.M.Story}}
apiVersion: rai.responsible-ai.dev/v1alpha1
kind: ResponsibleModel
metadata:
  name: {{.M.Name}}
  namespace: {{.NS}}
{{- if .M.Review}}
  labels:
    rai.responsible-ai.dev/review: required
{{- end}}
spec:
  version: {{.M.Version}}
  intendedUse: >-
    Demo credit-scoring model trained on synthetic lending data. Ranks loan
    applications for human review; not for automated denial.
  model:
    uri: file://{{.ModelPath}}
    sha256: {{.ModelSHA}}
  evaluations:
    dataset:
      uri: file://{{.Eval.Path}}
      sha256: {{.Eval.SHA256}}
      labelColumn: label
      favorableLabel: "1"
    fairness:
      sensitiveColumns: [sex, age_group]
      privileged:
      - column: sex
        value: male
{{- if .M.Privacy}}
    privacy:
      delta: "{{.Delta}}"
      budgetRef:
        name: lending-data
      membershipAudit:
        members:
          uri: file://{{.Members.Path}}
          sha256: {{.Members.SHA256}}
        nonMembers:
          uri: file://{{.NonMembers.Path}}
          sha256: {{.NonMembers.SHA256}}
{{- end}}
{{- if .M.Robustness}}
    robustness:
      dataset:
        uri: file://{{.Robust.Path}}
        sha256: {{.Robust.SHA256}}
        labelColumn: label
      sigma: "{{.Sigma}}"
      selectionSamples: 100
      certificationSamples: 1000
      alpha: "0.001"
      radii: ["0.1", "0.25", "0.5"]
{{- end}}
    explanations:
      samples: 50
    job:
      activeDeadlineSeconds: 600
      backoffLimit: 0
  policy:
    enforcement: Enforce
  serving:
    replicas: 1
    port: {{.M.Port}}
    progressDeadlineSeconds: {{.M.ProgressDeadline}}
{{- if gt .M.GPUs 0}}
    gpu:
      count: {{.M.GPUs}}
      product: NVIDIA-H100-80GB-HBM3
      minMemory: 40Gi
{{- else}}
    nodeSelector:
      rai.responsible-ai.dev/local-exec: "true"
    tolerations:
    - key: rai.responsible-ai.dev/local-exec
      operator: Exists
      effect: NoSchedule
{{- end}}
{{- if .M.Monitor}}
  monitoring:
    interval: 5s
    window: 10s
    windows: 3
    action: Record
{{- end}}
{{end}}`

type file struct{ Path, SHA256 string }

func main() {
	modelsPath := flag.String("models", "_output/demo/models.json", "the demo models' manifest")
	namespace := flag.String("namespace", "rai-demo", "namespace of the demo")
	doUpgrade := flag.Bool("upgrade", false, "print the fair model's GPU-hungry upgrade instead")
	doReview := flag.Bool("review", false, "print a model that needs a person's approval, and the PromotionPolicy that requires it, instead")
	flag.Parse()
	if err := run(*modelsPath, *namespace, *doUpgrade, *doReview); err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
}

func run(modelsPath, ns string, doUpgrade, doReview bool) error {
	raw, err := os.ReadFile(modelsPath)
	if err != nil {
		return fmt.Errorf("read the demo models' manifest (run make demo-models): %w", err)
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("%s: %w", modelsPath, err)
	}
	dir, err := filepath.Abs(filepath.Dir(modelsPath))
	if err != nil {
		return err
	}
	find := func(list []artifact, name string) (file, error) {
		for _, a := range list {
			if a.Name == name {
				return file{Path: filepath.Join(dir, a.File), SHA256: a.SHA256}, nil
			}
		}
		return file{}, fmt.Errorf("%s lists no %q", modelsPath, name)
	}
	files := map[string]file{}
	for _, name := range []string{"eval", "members", "nonmembers", "robustness"} {
		if files[name], err = find(m.DataSets, name); err != nil {
			return err
		}
	}
	t := template.Must(template.Must(template.New("demo").Parse(tmpl)).Parse(textTmpl))
	out := os.Stdout
	models := demo
	switch {
	case doUpgrade:
		models = []model{upgrade}
	case doReview:
		models = []model{reviewed}
		fmt.Fprintf(out, `# The platform's rule for models labelled for review: a person approves
# each version the policy allowed before it serves.
apiVersion: rai.responsible-ai.dev/v1alpha1
kind: PromotionPolicy
metadata:
  name: %s-review
spec:
  namespaceSelector:
    matchLabels:
      kubernetes.io/metadata.name: %s
  modelSelector:
    matchLabels:
      rai.responsible-ai.dev/review: required
  requireApproval: true
`, ns, ns)
	default:
		fmt.Fprintf(out, `apiVersion: v1
kind: Namespace
metadata:
  name: %s
---
# The privacy budget of the lending data set, shared by every model trained on it.
apiVersion: rai.responsible-ai.dev/v1alpha1
kind: PrivacyBudget
metadata:
  name: lending-data
  namespace: %s
spec:
  epsilon: "%s"
  delta: "%s"
  composition: RDP
  dataset: synthetic credit-lending data (rai model dataset, seed 1)
---
# The platform team's rule for the demo namespace: fairness is required,
# models may only tighten the four-fifths floor, and only Enforce applies.
apiVersion: rai.responsible-ai.dev/v1alpha1
kind: PromotionPolicy
metadata:
  name: %s-platform
spec:
  namespaceSelector:
    matchLabels:
      kubernetes.io/metadata.name: %s
  requiredEvaluations: [fairness]
  thresholds:
    demographic_parity_ratio_min: "0.8"
  allowedEnforcement: [Enforce]
`, ns, ns, num(m.Budget.MaxEpsilon), num(m.Budget.Delta), ns, ns)
	}
	for _, md := range models {
		a, err := find(m.Models, md.Artifact)
		if err != nil {
			return err
		}
		err = t.ExecuteTemplate(out, "model", map[string]any{
			"M": md, "NS": ns, "ModelPath": a.Path, "ModelSHA": a.SHA256,
			"Eval": files["eval"], "Members": files["members"], "NonMembers": files["nonmembers"], "Robust": files["robustness"],
			"Delta": num(m.Budget.Delta), "Sigma": num(m.Thresholds["smoothing_sigma"]),
		})
		if err != nil {
			return err
		}
	}
	if doUpgrade || doReview {
		return nil
	}
	tok := m.Text.Tokenizer
	if tok.SHA256 == "" {
		return fmt.Errorf("%s has no text section (run make demo-models)", modelsPath)
	}
	texts := map[string]file{}
	for _, name := range []string{"intent-eval", "intent-term-pairs", "ner-eval"} {
		if texts[name], err = find(m.Text.DataSets, name); err != nil {
			return err
		}
	}
	for _, tm := range textDemo {
		a, err := find(m.Text.Models, tm.Artifact)
		if err != nil {
			return err
		}
		err = t.ExecuteTemplate(out, "text", map[string]any{
			"M": tm, "NS": ns, "Model": a, "Tokenizer": file{Path: filepath.Join(dir, tok.File), SHA256: tok.SHA256},
			"Eval": texts[tm.Eval], "Pairs": texts["intent-term-pairs"],
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func num(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
