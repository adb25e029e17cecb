package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// runModel runs `rai model ARGS` on a fresh command tree, so that flag values never carry over
// from one run to the next, and returns what it printed.
func runModel(t *testing.T, args ...string) (string, error) {
	t.Helper()
	parent := &cobra.Command{Use: "model", SilenceUsage: true, SilenceErrors: true}
	parent.AddCommand(newModelDatasetCmd(), newModelTrainCmd(), newModelDemoCmd())
	var out bytes.Buffer
	parent.SetOut(&out)
	parent.SetErr(&out)
	parent.SetArgs(args)
	err := parent.Execute()
	return out.String(), err
}

func TestModelDatasetAndTrain(t *testing.T) {
	dir := t.TempDir()
	if _, err := runModel(t, "dataset", "--out", dir, "--train-rows", "3000", "--eval-rows", "1000", "--audit-rows", "100"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"train.csv", "eval.csv", "members.csv", "nonmembers.csv"} {
		if _, err := os.Stat(filepath.Join(dir, f+".sha256")); err != nil {
			t.Errorf("no checksum for %s: %v", f, err)
		}
	}
	train := func(out string) map[string]any {
		stdout, err := runModel(t, "train", "--data", filepath.Join(dir, "train.csv"), "--out", out,
			"--dp", "--noise-multiplier", "1.5", "--sample-rate", "0.05", "--epochs", "3", "--lr", "1",
			"--reweigh-by", "sex", "--eval", filepath.Join(dir, "eval.csv"))
		if err != nil {
			t.Fatal(err)
		}
		var res map[string]any
		if err := json.Unmarshal([]byte(stdout), &res); err != nil {
			t.Fatalf("output is not JSON: %v\n%s", err, stdout)
		}
		return res
	}
	// The graph name defaults to the file's base name: same name, other directory.
	a := train(filepath.Join(dir, "model.onnx"))
	if err := os.Mkdir(filepath.Join(dir, "again"), 0o755); err != nil {
		t.Fatal(err)
	}
	b := train(filepath.Join(dir, "again", "model.onnx"))
	md := a["metadata"].(map[string]any)
	if md["rai.dp.steps"] != "60" || md["rai.dp.noise_multiplier"] != "1.5" || md["rai.dp.epsilon"] == nil || a["epsilon"].(float64) <= 0 {
		t.Errorf("DP metadata %v, epsilon %v", md, a["epsilon"])
	}
	if !strings.Contains(md["rai.recipe"].(string), `"reweighing":true`) {
		t.Errorf("rai.recipe %v does not record reweighing", md["rai.recipe"])
	}
	if acc := a["eval"].(map[string]any)["accuracy"].(float64); acc < 0.75 {
		t.Errorf("eval accuracy %.3f", acc)
	}
	if a["sha256"] != b["sha256"] {
		t.Errorf("the same command wrote different models: %v vs %v", a["sha256"], b["sha256"])
	}
}

func TestModelTrainRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	if _, err := runModel(t, "dataset", "--out", dir, "--train-rows", "200", "--eval-rows", "50", "--audit-rows", "10"); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "train.csv")
	custom := filepath.Join(dir, "custom.csv")
	if err := os.WriteFile(custom, []byte("a,b,label,sex,age_group\n1,2,1,male,x\n3,4,0,female,y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "m.onnx")
	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"model":         {[]string{"train", "--data", data, "--out", out, "--model", "svm"}, `--model "svm"`},
		"mlp no hidden": {[]string{"train", "--data", data, "--out", out, "--model", "mlp"}, "--hidden"},
		"feature":       {[]string{"train", "--data", data, "--out", out, "--features", "income,nope"}, `no feature column "nope"`},
		"encoding":      {[]string{"train", "--data", custom, "--out", out}, "--encoding"},
		"no data":       {[]string{"train", "--data", filepath.Join(dir, "missing.csv"), "--out", out}, "missing.csv"},
		"reweigh":       {[]string{"train", "--data", data, "--out", out, "--reweigh-by", "zip"}, `"zip"`},
		"bias":          {[]string{"dataset", "--out", dir, "--bias", "2"}, "bias 2 is outside [0, 1]"},
		"delta":         {[]string{"train", "--data", data, "--out", out, "--dp", "--delta", "0"}, "--delta"},
	} {
		if _, err := runModel(t, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to contain %q", name, err, c.want)
		}
	}
}
