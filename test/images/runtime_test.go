package images_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// demoData makes the demo data set and models (internal/demo) with the
// runtime image itself, as UID 65532, into a fresh directory.
func demoData(t *testing.T, img string) string {
	t.Helper()
	out := writableDir(t)
	podman(t, append(append([]string{"run", "--rm", "--network", "none"}, restricted...),
		"--volume", out+":/out", img, "model", "demo", "--out", "/out")...)
	return out
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path + ".sha256")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(b))[0]
}

// TestRuntimeImageServes runs `rai serve` in the runtime image on a demo model
// and sends it an Open Inference Protocol v2 request.
func TestRuntimeImageServes(t *testing.T) {
	img := imageFromEnv(t, "RAI_IMAGE_RUNTIME")
	demo := demoData(t, img)
	port := freePort(t)
	name := startContainer(t, "serve", append(append([]string{"--network", "host"}, restricted...),
		"--volume", filepath.Join(demo, "models")+":/models:ro",
		img, "serve",
		"--model-uri", "file:///models/fair-dp.onnx",
		"--sha256", sha256File(t, filepath.Join(demo, "models", "fair-dp.onnx")),
		"--name", "credit",
		"--port", fmt.Sprint(port))...)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	client := &http.Client{Timeout: 5 * time.Second}
	eventually(t, 60*time.Second, running(name), func() error {
		resp, err := client.Get(base + "/v2/health/ready")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("ready: HTTP %d", resp.StatusCode)
		}
		return nil
	})
	checkRestricted(t, name)

	request := `{"id":"images-1","inputs":[{"name":"features","shape":[2,9],"datatype":"FP32",` +
		`"data":[0.61,0.52,-0.09,2,0.54,1,0,0,-0.74,-1.2,1.4,-1.5,4,1.1,0,0,1,0.3]}]}`
	resp, err := client.Post(base+"/v2/models/credit/infer", "application/json", strings.NewReader(request))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("infer: HTTP %d: %s", resp.StatusCode, body)
	}
	var answer struct {
		ModelName string `json:"model_name"`
		ID        string `json:"id"`
		Outputs   []struct {
			Name     string    `json:"name"`
			Shape    []int     `json:"shape"`
			Datatype string    `json:"datatype"`
			Data     []float64 `json:"data"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		t.Fatalf("infer answer %s: %v", body, err)
	}
	if answer.ModelName != "credit" || answer.ID != "images-1" || len(answer.Outputs) == 0 {
		t.Fatalf("infer answer %s: want model credit, id images-1, outputs", body)
	}
	for _, o := range answer.Outputs {
		if len(o.Shape) == 0 || o.Shape[0] != 2 {
			t.Errorf("output %s has shape %v, want 2 rows", o.Name, o.Shape)
		}
	}
	t.Logf("POST /v2/models/credit/infer as UID 65532 on a read-only root: %s", body)

	// Writing anywhere on the image's file system fails because it is
	// read-only, even where UID 65532 owns the directory.
	out, err := podmanErr("exec", name, "/usr/local/bin/rai", "model", "demo", "--out", "/home/nonroot/probe")
	if err == nil || !strings.Contains(err.Error(), "read-only file system") {
		t.Errorf("writing to /home/nonroot in the container: %v %s, want a read-only file system error", err, out)
	}
}

// TestRuntimeImageEvaluatesFairness runs `rai evaluate fairness` in the
// runtime image, as an evaluation Job does, and reads its report.
func TestRuntimeImageEvaluatesFairness(t *testing.T) {
	img := imageFromEnv(t, "RAI_IMAGE_RUNTIME")
	demo := demoData(t, img)
	reports := writableDir(t)
	model := filepath.Join(demo, "models", "fair-dp.onnx")
	data := filepath.Join(demo, "data", "eval.csv")
	args := append(append([]string{"run", "--rm", "--network", "none"}, restricted...),
		"--volume", demo+":/demo:ro", "--volume", reports+":/reports",
		img, "evaluate", "fairness",
		"--model", "/demo/models/fair-dp.onnx", "--sha256", sha256File(t, model),
		"--data", "/demo/data/eval.csv", "--data-sha256", sha256File(t, data),
		"--label", "label", "--sensitive", "sex,age_group", "--privileged", "sex=male",
		"--bootstrap", "200", "--model-name", "credit", "--model-version", "v1")
	podman(t, append(args, "--report", "/reports/fairness.json")...)

	b, err := os.ReadFile(filepath.Join(reports, "fairness.json"))
	if err != nil {
		t.Fatal(err)
	}
	var report struct {
		Kind    string `json:"kind"`
		State   string `json:"state"`
		Dataset struct {
			Rows int `json:"rows"`
		} `json:"dataset"`
		Model struct {
			SHA256 string `json:"sha256"`
		} `json:"model"`
		Metrics map[string]any `json:"metrics"`
	}
	if err := json.Unmarshal(b, &report); err != nil {
		t.Fatalf("report: %v", err)
	}
	if report.Kind != "fairness" || report.State != "Succeeded" || report.Dataset.Rows == 0 || report.Model.SHA256 != sha256File(t, model) {
		t.Fatalf("report: kind %q state %q rows %d model %s, want a succeeded fairness report of the model", report.Kind, report.State, report.Dataset.Rows, report.Model.SHA256)
	}
	dpr, ok := report.Metrics["demographic_parity_ratio"].(float64)
	if !ok || dpr <= 0 || dpr > 1 {
		t.Errorf("demographic_parity_ratio %v, want a ratio", report.Metrics["demographic_parity_ratio"])
	}
	t.Logf("rai evaluate fairness as UID 65532 on a read-only root: %d rows, demographic_parity_ratio %v", report.Dataset.Rows, dpr)

	// The report cannot land on the image's own file system.
	if _, err := podmanErr(append(args, "--report", "/home/nonroot/fairness.json")...); err == nil || !strings.Contains(err.Error(), "read-only file system") {
		t.Errorf("a report written to /home/nonroot: %v, want a read-only file system error", err)
	}
}
