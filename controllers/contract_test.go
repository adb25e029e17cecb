package controllers

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/contract"
	"github.com/responsible-ai/rmodel-operator/internal/report"
)

// fullyPopulated is a model that sets every field the builders turn into a
// rai argument.
func fullyPopulated() *raiv1.ResponsibleModel {
	return newModel("ns", "credit", func(m *raiv1.ResponsibleModel) {
		m.Spec.Model.OutputName = "probabilities"
		ev := &m.Spec.Evaluations
		ev.Fairness.PredictionThreshold = "0.6"
		ev.Privacy = &raiv1.PrivacyEvaluation{Delta: "1e-5", ParametersFrom: raiv1.DPParametersFromSpec,
			DPSGD: &raiv1.DPSGDParameters{NoiseMultiplier: "1.1", SampleRate: "0.01", Steps: 3000},
			MembershipAudit: &raiv1.MembershipAudit{
				Members:    raiv1.DataFile{URI: "file:///data/members.csv", SHA256: raiv1.SHA256(sha(201))},
				NonMembers: raiv1.DataFile{URI: "file:///data/non-members.csv", SHA256: raiv1.SHA256(sha(202))},
			}}
		ev.Robustness = &raiv1.RobustnessEvaluation{Sigma: "0.25", SelectionSamples: ptr.To(int32(50)), CertificationSamples: ptr.To(int32(2000)),
			Alpha: "0.01", Radii: []raiv1.Decimal{"0.1", "0.5"},
			Dataset: &raiv1.DatasetSpec{URI: "file:///data/robust.csv", SHA256: raiv1.SHA256(sha(203)), LabelColumn: "y", FavorableLabel: "yes"}}
		// More Shapley rows than rai samples by default.
		ev.Explanations = &raiv1.ExplanationEvaluation{Samples: ptr.To(int32(contract.DefaultExplainSamples + 500))}
		ev.Job.Shards = ptr.To(int32(2))
		ev.Job.GPU = &raiv1.GPUSpec{Count: ptr.To(int32(1))}
		m.Spec.Monitoring = &raiv1.MonitoringSpec{Window: &metav1.Duration{Duration: 30 * time.Second}, GroupFeature: "sex"}
		q := resource.MustParse("40Gi")
		m.Spec.Serving = raiv1.ServingSpec{Port: 9000, MaxBatchSize: 16, MaxBatchDelay: &metav1.Duration{Duration: 5 * time.Millisecond},
			GPU: &raiv1.GPUSpec{Count: ptr.To(int32(1)), Product: "NVIDIA-H200", MinMemory: &q}}
	})
}

// fullyPopulatedText is a text classifier that sets every field the builders
// turn into a rai argument.
func fullyPopulatedText() *raiv1.ResponsibleModel {
	return newModel("ns", "intent", func(m *raiv1.ResponsibleModel) {
		m.Spec.Model.Task = raiv1.TaskTextClassification
		m.Spec.Model.Tokenizer = &raiv1.ArtifactReference{URI: "file:///models/tokenizer.json", SHA256: raiv1.SHA256(sha(210))}
		m.Spec.Model.Labels = []string{"billing", "refund"}
		m.Spec.Model.MaxLength = ptr.To(int32(64))
		ev := &m.Spec.Evaluations
		ev.Dataset.TextColumn = "message"
		ev.Dataset.FavorableLabel = "refund"
		ev.Fairness.PredictionThreshold = "0.6"
		ev.Privacy = &raiv1.PrivacyEvaluation{Delta: "1e-5", MembershipAudit: &raiv1.MembershipAudit{
			Members:    raiv1.DataFile{URI: "file:///data/members.csv", SHA256: raiv1.SHA256(sha(211))},
			NonMembers: raiv1.DataFile{URI: "file:///data/non-members.csv", SHA256: raiv1.SHA256(sha(212))},
		}}
		ev.Robustness = &raiv1.RobustnessEvaluation{MaxEdits: ptr.To(int32(2)), TypoRate: "0.2"}
		ev.Explanations = &raiv1.ExplanationEvaluation{Samples: ptr.To(int32(40))}
		ev.Counterfactual = &raiv1.CounterfactualEvaluation{TermPairs: raiv1.DataFile{URI: "file:///data/pairs.csv", SHA256: raiv1.SHA256(sha(213))}}
		// Text evaluations run in one pod whatever shards says.
		ev.Job.Shards = ptr.To(int32(2))
	})
}

// builtCommandLines returns every rai command line the builders produce for
// obj: serving, and each evaluation Job and merge Job.
func builtCommandLines(obj *raiv1.ResponsibleModel) [][]string {
	opts := EvaluationJobOptions{Image: "rai:1"}
	d := buildServingDeployment(obj, servedModel{Version: "v2", URI: "https://m/v2.onnx", SHA256: sha(2), Text: obj.Spec.Model.TextModel()}, "rai:1")
	lines := [][]string{d.Spec.Template.Spec.Containers[0].Args}
	for _, kind := range requestedKinds(&obj.Spec) {
		lines = append(lines, buildEvaluationJob(obj, kind, opts).Spec.Template.Spec.Containers[0].Args)
		if shardCount(obj, kind) > 1 {
			lines = append(lines, buildMergeJob(obj, kind, opts, []string{sha(7), sha(8)}).Spec.Template.Spec.Containers[0].Args)
		}
	}
	return lines
}

// parseAgainstContract parses args as rai would, with the flags that
// internal/contract declares for its command line: an undeclared flag, or a
// value that its declared type does not take, fails.
func parseAgainstContract(args []string) (contract.Command, *pflag.FlagSet, error) {
	var cmd contract.Command
	ok := false
	for n := 2; n >= 1 && !ok; n-- {
		if len(args) >= n {
			cmd, ok = contract.Find(args[:n]...)
		}
	}
	if !ok {
		return cmd, nil, fmt.Errorf("no rai command line in the contract for %q", args)
	}
	fs := pflag.NewFlagSet(strings.Join(cmd.Path, " "), pflag.ContinueOnError)
	for _, f := range cmd.Flags {
		switch f.Type {
		case contract.TypeString:
			fs.String(f.Name, f.Default, "")
		case contract.TypeInt:
			v, _ := strconv.Atoi(f.Default)
			fs.Int(f.Name, v, "")
		case contract.TypeFloat64:
			v, _ := strconv.ParseFloat(f.Default, 64)
			fs.Float64(f.Name, v, "")
		case contract.TypeDuration:
			v, _ := time.ParseDuration(f.Default)
			fs.Duration(f.Name, v, "")
		case contract.TypeStringArray:
			fs.StringArray(f.Name, nil, "")
		case contract.TypeBool:
			v, _ := strconv.ParseBool(f.Default)
			fs.Bool(f.Name, v, "")
		default:
			return cmd, nil, fmt.Errorf("--%s has unknown type %q", f.Name, f.Type)
		}
	}
	if err := fs.Parse(args[len(cmd.Path):]); err != nil {
		return cmd, nil, err
	}
	if merge := slices.Equal(cmd.Path, []string{contract.CommandEvaluate, contract.CommandMerge}); !merge && fs.NArg() > 0 {
		return cmd, nil, fmt.Errorf("positional arguments %q", fs.Args())
	}
	return cmd, fs, nil
}

// TestContractBuilderArgsParse: every argument list the builders produce for
// a fully populated spec parses against internal/contract, and every flag
// the contract declares is one some builder passes. cmd/rai's
// TestEveryContractFlagIsRegistered checks that rai registers exactly these
// flags, types and defaults; together they keep the two binaries in step.
func TestContractBuilderArgsParse(t *testing.T) {
	used := map[string]map[string]bool{}
	for _, args := range append(builtCommandLines(fullyPopulated()), builtCommandLines(fullyPopulatedText())...) {
		cmd, fs, err := parseAgainstContract(args)
		if err != nil {
			t.Errorf("rai %s: %v", strings.Join(args, " "), err)
			continue
		}
		path := strings.Join(cmd.Path, " ")
		if used[path] == nil {
			used[path] = map[string]bool{}
		}
		fs.Visit(func(f *pflag.Flag) { used[path][f.Name] = true })
	}
	for _, c := range contract.Commands() {
		path := strings.Join(c.Path, " ")
		for _, f := range c.Flags {
			if !used[path][f.Name] {
				t.Errorf("the contract declares rai %s --%s, but no builder passes it", path, f.Name)
			}
		}
	}
}

// TestContractServingEndpoints: the serving pod's port, probes, Service and
// inference URL are the contract's, by default and as set.
func TestContractServingEndpoints(t *testing.T) {
	served := servedModel{Version: "v1", URI: "https://m/v1.onnx", SHA256: sha(1)}
	for _, port := range []int32{0, 9000} {
		obj := newModel("ns", "credit", func(m *raiv1.ResponsibleModel) { m.Spec.Serving.Port = port })
		want := port
		if want == 0 {
			want = contract.DefaultServingPort
		}
		c := buildServingDeployment(obj, served, "rai:1").Spec.Template.Spec.Containers[0]
		if got := flagValue(c.Args, contract.Arg(contract.FlagPort)); got != strconv.Itoa(int(want)) || c.Ports[0].ContainerPort != want {
			t.Errorf("port %d: rai listens on %s, the container port is %d; want %d", port, got, c.Ports[0].ContainerPort, want)
		}
		for name, p := range map[string]*corev1.Probe{contract.ReadinessPath: c.ReadinessProbe, contract.LivenessPath: c.LivenessProbe} {
			if p.HTTPGet.Path != name || p.HTTPGet.Port.StrVal != c.Ports[0].Name {
				t.Errorf("probe %+v, want %s on port %q", p.HTTPGet, name, c.Ports[0].Name)
			}
		}
		if p := c.StartupProbe.HTTPGet; p.Path != contract.LivenessPath || p.Port.StrVal != c.Ports[0].Name {
			t.Errorf("startup probe %+v, want %s", p, contract.LivenessPath)
		}
		if svc := buildService(obj).Spec.Ports[0]; svc.Port != want || svc.TargetPort.StrVal != c.Ports[0].Name {
			t.Errorf("Service port %+v, want %d to %q", svc, want, c.Ports[0].Name)
		}
		if u := inferenceURL(obj); !strings.Contains(u, fmt.Sprintf(".svc:%d/", want)) {
			t.Errorf("inference URL %s, want port %d", u, want)
		}
	}
	if corev1.TerminationMessagePathDefault != contract.DefaultTerminationLog {
		t.Errorf("Kubernetes reads the termination message at %s, rai writes it to %s", corev1.TerminationMessagePathDefault, contract.DefaultTerminationLog)
	}
}

// TestContractDefaultsWhenUnset: without CRD defaulting (a spec built in
// code), the builders pass the contract's defaults, so a Job's command line
// states the sample sizes it evaluates with.
func TestContractDefaultsWhenUnset(t *testing.T) {
	obj := newModel("ns", "credit", func(m *raiv1.ResponsibleModel) {
		m.Spec.Evaluations.Robustness = &raiv1.RobustnessEvaluation{Sigma: "0.25"}
		m.Spec.Evaluations.Explanations = &raiv1.ExplanationEvaluation{}
	})
	serve := buildServingDeployment(obj, servedModel{Version: "v1", URI: "https://m/v1.onnx", SHA256: sha(1)}, "rai:1").Spec.Template.Spec.Containers[0].Args
	cases := []struct {
		args       []string
		flag, want string
	}{
		{serve, contract.FlagMaxBatchSize, strconv.Itoa(contract.DefaultMaxBatchSize)},
		{serve, contract.FlagMaxBatchDelay, contract.DefaultMaxBatchDelay.String()},
		{serve, contract.FlagDevice, contract.DefaultDevice},
		{evaluationArgs(obj, report.KindRobustness), contract.FlagN0, strconv.Itoa(contract.DefaultSelectionSamples)},
		{evaluationArgs(obj, report.KindRobustness), contract.FlagN, strconv.Itoa(contract.DefaultCertificationSamples)},
		{evaluationArgs(obj, report.KindExplain), contract.FlagShapleyRows, strconv.Itoa(contract.DefaultShapleyRows)},
	}
	for _, tc := range cases {
		if got := flagValue(tc.args, contract.Arg(tc.flag)); got != tc.want {
			t.Errorf("--%s = %q, want the contract's %q (args: %s)", tc.flag, got, tc.want, strings.Join(tc.args, " "))
		}
	}
}

// TestEvaluationArgsExplainShapleyRows: spec.evaluations.explanations.samples
// is the number of rows that get Shapley values, so it is rai's
// --shapley-rows; rai's row sample (--samples) grows to hold them when they
// are more than it samples by default.
func TestEvaluationArgsExplainShapleyRows(t *testing.T) {
	cases := []struct {
		samples                     int32
		wantShapleyRows, wantSample string
	}{
		{50, "50", ""},
		{contract.DefaultExplainSamples, strconv.Itoa(contract.DefaultExplainSamples), ""},
		{5000, "5000", "5000"},
	}
	for _, tc := range cases {
		obj := newModel("ns", "credit", func(m *raiv1.ResponsibleModel) {
			m.Spec.Evaluations.Explanations = &raiv1.ExplanationEvaluation{Samples: ptr.To(tc.samples)}
		})
		args := evaluationArgs(obj, report.KindExplain)
		got, sample := flagValue(args, contract.Arg(contract.FlagShapleyRows)), flagValue(args, contract.Arg(contract.FlagSamples))
		if got != tc.wantShapleyRows || sample != tc.wantSample {
			t.Errorf("samples %d: --shapley-rows %q --samples %q, want %q and %q (args: %s)",
				tc.samples, got, sample, tc.wantShapleyRows, tc.wantSample, strings.Join(args, " "))
		}
	}
}

// TestTextModelArgs: a text model's evaluation Jobs and serving pods get its
// task, tokenizer (pinned), labels and length, its data sets' text column,
// the text attack's budget instead of smoothing noise, and one pod each.
func TestTextModelArgs(t *testing.T) {
	obj := fullyPopulatedText()
	want := []string{"--task", "text-classification", "--tokenizer", "file:///models/tokenizer.json", "--tokenizer-sha256", sha(210),
		"--labels", "billing,refund", "--max-length", "64"}
	opts := EvaluationJobOptions{Image: "rai:1"}
	kinds := requestedKinds(&obj.Spec)
	if !slices.Contains(kinds, report.KindCounterfactual) {
		t.Fatalf("requested kinds %v lack counterfactual", kinds)
	}
	for _, kind := range kinds {
		if n := shardCount(obj, kind); n != 1 {
			t.Errorf("%s: %d shards, want 1 for a text model", kind, n)
		}
		args := buildEvaluationJob(obj, kind, opts).Spec.Template.Spec.Containers[0].Args
		joined := strings.Join(args, " ")
		if !strings.Contains(joined, strings.Join(want, " ")) {
			t.Errorf("%s: args %q lack the text model's flags %q", kind, joined, want)
		}
		if !strings.Contains(joined, "--text-column message") {
			t.Errorf("%s: args %q lack --text-column message", kind, joined)
		}
		if kind == report.KindRobustness {
			if strings.Contains(joined, "--sigma") || !strings.Contains(joined, "--max-edits 2") || !strings.Contains(joined, "--typo-rate 0.2") {
				t.Errorf("robustness args %q: want the edit budget and typo rate, no sigma", joined)
			}
		}
		if kind == report.KindCounterfactual && !strings.Contains(joined, "--term-pairs file:///data/pairs.csv --term-pairs-sha256 "+sha(213)) {
			t.Errorf("counterfactual args %q lack the term pairs", joined)
		}
	}
	served := servedModel{Version: "v1", URI: "file:///m.onnx", SHA256: sha(1), Text: obj.Spec.Model.TextModel()}
	d := buildServingDeployment(obj, served, "rai:1")
	args := d.Spec.Template.Spec.Containers[0].Args
	if !strings.Contains(strings.Join(args, " "), strings.Join(want, " ")) {
		t.Errorf("serving args %q lack %q", args, want)
	}
	if !servesModel(&d.Spec.Template, served) {
		t.Errorf("the template built for the text model does not serve it")
	}
	other := served
	other.Text = obj.Spec.Model.TextModel()
	other.Text.Tokenizer.SHA256 = raiv1.SHA256(sha(299))
	if servesModel(&d.Spec.Template, other) {
		t.Errorf("a template with another tokenizer is taken to serve the model")
	}
}

// TestSameTextModel: the stable text model is the spec's when the task,
// tokenizer digest, labels and length agree, wherever the tokenizer is read
// from; any of the four differing makes a new candidate.
func TestSameTextModel(t *testing.T) {
	base := fullyPopulatedText().Spec.Model.TextModel()
	moved := fullyPopulatedText().Spec.Model.TextModel()
	moved.Tokenizer.URI = "s3://models/intent/tokenizer.json"
	if !sameTextModel(base, moved) {
		t.Errorf("a tokenizer read from another URI with the same digest is taken for another configuration")
	}
	for name, change := range map[string]func(c *raiv1.TextModelConfig){
		"tokenizer digest": func(c *raiv1.TextModelConfig) { c.Tokenizer.SHA256 = raiv1.SHA256(sha(299)) },
		"labels":           func(c *raiv1.TextModelConfig) { c.Labels = []string{"refund", "billing"} },
		"max length":       func(c *raiv1.TextModelConfig) { c.MaxLength = nil },
		"task":             func(c *raiv1.TextModelConfig) { c.Task = raiv1.TaskTokenClassification },
	} {
		c := fullyPopulatedText().Spec.Model.TextModel()
		change(c)
		if sameTextModel(base, c) {
			t.Errorf("another %s is taken for the same configuration", name)
		}
	}
	if !sameTextModel(nil, nil) || sameTextModel(base, nil) {
		t.Errorf("nil handling: a binary classifier has no text configuration")
	}
}
