package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/utils/ptr"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/artifact"
	"github.com/responsible-ai/rmodel-operator/internal/report"
	"github.com/responsible-ai/rmodel-operator/policies"
)

// TestEvaluationJobsRunTheRealRuntime runs the container arguments of every
// evaluation Job with the real rai binary on the demo models and data, reads
// the termination message as the operator does, and asks the real policy.
// It needs a built rai (RAI_SMOKE_RAI=bin/rai, which `make test` sets) and
// onnxruntime; it is skipped otherwise.
func TestEvaluationJobsRunTheRealRuntime(t *testing.T) {
	rai := os.Getenv("RAI_SMOKE_RAI")
	if rai == "" {
		t.Skip("set RAI_SMOKE_RAI to a built rai binary (and RAI_ONNXRUNTIME_LIB) to run the evaluation Jobs' arguments for real")
	}
	rai, _ = filepath.Abs(rai)
	dir := t.TempDir()
	if out, err := exec.Command(rai, "model", "demo", "--out", dir).CombinedOutput(); err != nil {
		t.Fatalf("rai model demo: %v\n%s", err, out)
	}
	var demo struct {
		DataSets []struct{ Name, File, SHA256 string } `json:"dataSets"`
		Models   []struct{ Name, File, SHA256 string } `json:"models"`
	}
	raw, err := os.ReadFile(filepath.Join(dir, "models.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &demo); err != nil {
		t.Fatal(err)
	}
	data := map[string]raiv1.DataFile{}
	for _, d := range demo.DataSets {
		data[d.Name] = raiv1.DataFile{URI: raiv1.ArtifactURI("file://" + filepath.Join(dir, d.File)), SHA256: raiv1.SHA256(d.SHA256)}
	}
	t.Run("an unreadable label is an evaluation Error", func(t *testing.T) {
		// The evaluation data with one label made NaN: the evaluator refuses
		// it with the row and column, and the operator reads an Error.
		src := strings.TrimPrefix(string(data["eval"].URI), "file://")
		raw, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.SplitN(string(raw), "\n", 3)
		header := strings.Split(lines[0], ",")
		col := slices.Index(header, "label")
		row := strings.Split(lines[1], ",")
		if col < 0 || col >= len(row) {
			t.Fatalf("no label column in %q", lines[0])
		}
		row[col] = "NaN"
		bad := filepath.Join(t.TempDir(), "eval-nan.csv")
		if err := os.WriteFile(bad, []byte(lines[0]+"\n"+strings.Join(row, ",")+"\n"+lines[2]), 0o600); err != nil {
			t.Fatal(err)
		}
		sum, err := artifact.FileSHA256(bad)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(demo.Models, func(m struct{ Name, File, SHA256 string }) bool { return m.Name == "fair-dp" })
		dm := demo.Models[i]
		obj := newModel("ns", "nan-label", func(m *raiv1.ResponsibleModel) {
			m.Spec.Model = raiv1.ModelArtifact{URI: raiv1.ArtifactURI("file://" + filepath.Join(dir, dm.File)), SHA256: raiv1.SHA256(dm.SHA256)}
			m.Spec.Evaluations.Dataset = &raiv1.DatasetSpec{URI: raiv1.ArtifactURI("file://" + bad), SHA256: raiv1.SHA256(sum), LabelColumn: "label", FavorableLabel: "1"}
		})
		msg, runErr := runEvaluation(t, rai, obj, report.KindFairness)
		if runErr == nil {
			t.Errorf("rai evaluate fairness accepted a NaN label")
		}
		read := trustedReport(msg, expectedFor(obj, report.KindFairness))
		if read.state != raiv1.EvaluationError || read.reason != raiv1.ReasonEvaluatorError ||
			!strings.Contains(read.message, "row 1,") || !strings.Contains(read.message, `"label"`) {
			t.Errorf("the operator reads %s/%s: %q; want an EvaluatorError naming row 1 and the label column", read.state, read.reason, read.message)
		}
	})
	cases := []struct {
		model string
		// wantAllowed is the default policy's verdict; wantCode a violation
		// it must give otherwise.
		wantAllowed bool
		wantCode    string
	}{
		{"fair-dp", true, ""},
		{"biased", false, "FairnessDemographicParity"},
	}
	for _, tc := range cases {
		t.Run(tc.model, func(t *testing.T) {
			i := slices.IndexFunc(demo.Models, func(m struct{ Name, File, SHA256 string }) bool { return m.Name == tc.model })
			if i < 0 {
				t.Fatalf("demo model %s not found", tc.model)
			}
			dm := demo.Models[i]
			obj := newModel("ns", tc.model, func(m *raiv1.ResponsibleModel) {
				m.Spec.Model = raiv1.ModelArtifact{URI: raiv1.ArtifactURI("file://" + filepath.Join(dir, dm.File)), SHA256: raiv1.SHA256(dm.SHA256)}
				ev := &m.Spec.Evaluations
				ev.Dataset = &raiv1.DatasetSpec{URI: data["eval"].URI, SHA256: data["eval"].SHA256, LabelColumn: "label", FavorableLabel: "1"}
				ev.Fairness = &raiv1.FairnessEvaluation{SensitiveColumns: []string{"sex", "age_group"}, Privileged: []raiv1.PrivilegedGroup{{Column: "sex", Value: "male"}}}
				ev.Privacy = &raiv1.PrivacyEvaluation{Delta: "1e-5", ParametersFrom: raiv1.DPParametersFromModelMetadata,
					MembershipAudit: &raiv1.MembershipAudit{Members: data["members"], NonMembers: data["nonmembers"]}}
				ev.Robustness = &raiv1.RobustnessEvaluation{Sigma: "0.25", SelectionSamples: ptr.To(int32(100)), CertificationSamples: ptr.To(int32(1000)),
					Alpha: "0.001", Radii: []raiv1.Decimal{"0.1", "0.25", "0.5"},
					Dataset: &raiv1.DatasetSpec{URI: data["robustness"].URI, SHA256: data["robustness"].SHA256, LabelColumn: "label", FavorableLabel: "1"}}
				ev.Explanations = &raiv1.ExplanationEvaluation{Samples: ptr.To(int32(20))}
			})
			reports := map[string]*report.Report{}
			var requested []string
			for _, kind := range requestedKinds(&obj.Spec) {
				requested = append(requested, string(kind))
				msg, err := runEvaluation(t, rai, obj, kind)
				if err != nil {
					t.Fatal(err)
				}
				read := trustedReport(msg, expectedFor(obj, kind))
				if read.state != raiv1.EvaluationSucceeded {
					t.Fatalf("%s: the operator reads %s/%s: %s", kind, read.state, read.reason, read.message)
				}
				reports[string(kind)] = read.report
			}
			// The budget composes RDP curves: the compact report must let the
			// operator have one.
			if cost, ok := costOfReport(reports["privacy"]); !ok || len(cost.RDP) == 0 {
				t.Errorf("the privacy report gives epsilon %v (ok %v) and an RDP curve of %d orders; want both", cost.Epsilon, ok, len(cost.RDP))
			}
			r := &ResponsibleModelReconciler{Engine: policyEngine}
			d, _, err := r.decide(context.Background(), obj, policyInput{Version: "v1", Requested: requested, Reports: reports}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if d.Allow != tc.wantAllowed || (tc.wantCode != "" && !slices.ContainsFunc(d.Violations, func(v policies.Violation) bool { return v.Code == tc.wantCode })) {
				t.Errorf("decision allow=%v violations=%v, want allow=%v with %s", d.Allow, d.Violations, tc.wantAllowed, tc.wantCode)
			}
		})
	}
}

// runEvaluation runs the arguments of the evaluation Job of kind with the
// real rai binary and returns its termination message.
func runEvaluation(t *testing.T, rai string, obj *raiv1.ResponsibleModel, kind report.Kind) (string, error) {
	t.Helper()
	args := slices.Clone(buildEvaluationJob(obj, kind, EvaluationJobOptions{Image: "x"}).Spec.Template.Spec.Containers[0].Args)
	term := filepath.Join(t.TempDir(), "termination-log")
	if err := os.WriteFile(term, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for j := range args {
		switch args[j] {
		case reportPath:
			args[j] = filepath.Join(t.TempDir(), "report.json")
		case "/dev/termination-log":
			args[j] = term
		}
	}
	cmd := exec.Command(rai, args...)
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
	out, runErr := cmd.CombinedOutput()
	msg, err := os.ReadFile(term)
	if err != nil {
		t.Fatal(err)
	}
	if runErr != nil {
		runErr = fmt.Errorf("rai %v: %v\n%s", args, runErr, out)
	}
	return string(msg), runErr
}
