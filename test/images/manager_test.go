package images_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// kubectl runs kubectl ($KUBECTL, else kubectl on PATH) against kubeconfig.
func kubectl(t *testing.T, kubeconfig, stdin string, args ...string) string {
	t.Helper()
	out, err := kubectlErr(kubeconfig, stdin, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func kubectlErr(kubeconfig, stdin string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(kubectlBin(), append([]string{"--kubeconfig", kubeconfig}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// A model whose one evaluation is fairness. Nothing is downloaded: on the dev
// cluster's fake nodes, kwok completes the evaluation Job without running it.
const imagesModel = `apiVersion: rai.responsible-ai.dev/v1alpha1
kind: ResponsibleModel
metadata:
  name: credit-image
spec:
  version: v1
  model:
    uri: https://models.example.com/credit/v1/model.onnx
    sha256: 3f0e1c5d8b4a2f6e9c7d1b0a5e4f3c2d1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e
  evaluations:
    dataset:
      uri: https://models.example.com/credit/eval.csv
      sha256: 9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b
      labelColumn: label
    fairness:
      sensitiveColumns: [sex]
`

// TestManagerImageReconciles runs the manager image against the dev cluster
// (make test-images starts one) and waits for it to reconcile a
// ResponsibleModel: status conditions for the model's generation, an
// evaluation Job that runs the runtime image, and the verdict on that Job.
func TestManagerImageReconciles(t *testing.T) {
	img := imageFromEnv(t, "RAI_IMAGE_MANAGER")
	clusterConfig := os.Getenv("RAI_IMAGES_KUBECONFIG")
	if clusterConfig == "" {
		t.Skip("RAI_IMAGES_KUBECONFIG is not set: make test-images starts a dev cluster and runs this test")
	}
	runtimeImage := os.Getenv("RAI_IMAGE_RUNTIME")
	if runtimeImage == "" {
		runtimeImage = "rai-runtime:dev"
	}

	// The manager reads a kubeconfig with its credentials inline, readable by
	// UID 65532 (kwokctl's refers to files under its work directory).
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	flat := kubectl(t, clusterConfig, "", "config", "view", "--raw", "--flatten", "--minify")
	if err := os.WriteFile(kubeconfig, []byte(flat), 0o644); err != nil {
		t.Fatal(err)
	}

	kubectl(t, kubeconfig, "", "apply", "--server-side", "--force-conflicts", "-k", "../../config/crd")
	eventually(t, 60*time.Second, nil, func() error {
		_, err := kubectlErr(kubeconfig, "", "wait", "--for=condition=Established", "--timeout=10s",
			"crd/responsiblemodels.rai.responsible-ai.dev", "crd/privacybudgets.rai.responsible-ai.dev", "crd/promotionpolicies.rai.responsible-ai.dev")
		return err
	})
	ns := fmt.Sprintf("rai-images-%d", os.Getpid())
	kubectl(t, kubeconfig, "", "create", "namespace", ns)
	t.Cleanup(func() {
		_ = exec.Command(kubectlBin(), "--kubeconfig", kubeconfig, "delete", "namespace", ns, "--wait=false").Run()
	})

	probe := freePort(t)
	name := startContainer(t, "manager", append(append([]string{"--network", "host"}, restricted...),
		"--volume", kubeconfig+":/etc/rmodel/kubeconfig:ro",
		img,
		"--kubeconfig", "/etc/rmodel/kubeconfig",
		"--leader-elect=false",
		"--metrics-bind-address", "0",
		"--health-probe-bind-address", fmt.Sprintf("127.0.0.1:%d", probe),
		"--runtime-image", runtimeImage)...)
	client := &http.Client{Timeout: 5 * time.Second}
	eventually(t, 60*time.Second, running(name), func() error {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", probe))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz: HTTP %d", resp.StatusCode)
		}
		return nil
	})
	checkRestricted(t, name)

	kubectl(t, kubeconfig, imagesModel, "apply", "-n", ns, "-f", "-")
	var model struct {
		Metadata struct {
			Generation int64 `json:"generation"`
		} `json:"metadata"`
		Status struct {
			Conditions []struct {
				Type               string `json:"type"`
				Status             string `json:"status"`
				Reason             string `json:"reason"`
				ObservedGeneration int64  `json:"observedGeneration"`
			} `json:"conditions"`
		} `json:"status"`
	}
	eventually(t, 90*time.Second, running(name), func() error {
		out, err := kubectlErr(kubeconfig, "", "get", "rmodel", "credit-image", "-n", ns, "-o", "json")
		if err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(out), &model); err != nil {
			return err
		}
		for _, c := range model.Status.Conditions {
			if c.ObservedGeneration == model.Metadata.Generation {
				return nil
			}
		}
		return fmt.Errorf("no condition for generation %d yet: %+v", model.Metadata.Generation, model.Status.Conditions)
	})
	var summary []string
	for _, c := range model.Status.Conditions {
		summary = append(summary, fmt.Sprintf("%s=%s (%s)", c.Type, c.Status, c.Reason))
	}
	t.Logf("the manager image reconciled credit-image: %s", strings.Join(summary, ", "))

	var images string
	eventually(t, 60*time.Second, running(name), func() error {
		var err error
		images, err = kubectlErr(kubeconfig, "", "get", "jobs", "-n", ns, "-l", "rai.responsible-ai.dev/model=credit-image",
			"-o", "jsonpath={range .items[*]}{.metadata.name}={.spec.template.spec.containers[*].image}{\"\\n\"}{end}")
		if err != nil {
			return err
		}
		if !strings.Contains(images, runtimeImage) {
			return fmt.Errorf("no evaluation Job running %s yet: %q", runtimeImage, images)
		}
		return nil
	})
	t.Logf("evaluation Jobs: %s", strings.TrimSpace(images))

	// kwok completes the Job on a fake node without running it: no report,
	// which the manager must record as a failed evaluation.
	out := ""
	eventually(t, 60*time.Second, running(name), func() error {
		var err error
		out, err = kubectlErr(kubeconfig, "", "get", "rmodel", "credit-image", "-n", ns,
			"-o", `jsonpath={.status.conditions[?(@.type=="Evaluated")].status} {.status.conditions[?(@.type=="Evaluated")].reason}: {.status.conditions[?(@.type=="Evaluated")].message}`)
		if err != nil {
			return err
		}
		if !strings.HasPrefix(out, "False ") {
			return fmt.Errorf("Evaluated is %q, want False once the Job completed without a report", out)
		}
		return nil
	})
	t.Logf("after kwok completed the Job: Evaluated=%s", out)
}

func kubectlBin() string {
	if bin := os.Getenv("KUBECTL"); bin != "" {
		return bin
	}
	return "kubectl"
}
