package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEvaluateDevice: fairness and robustness take --device (the operator
// passes --device cuda for spec.evaluations.job.gpu). An unknown device is
// refused naming the flag; cuda where onnxruntime has no CUDA provider is
// an error, never a silent run on the CPU; cpu runs.
func TestEvaluateDevice(t *testing.T) {
	model, digest := lrModel(t)
	data := filepath.Join(t.TempDir(), "d.csv")
	if err := os.WriteFile(data, []byte("x0,x1,label,g\n1,0,1,a\n0,1,0,b\n1,1,1,a\n0,0,0,b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(kind, device string, extra ...string) error {
		args := append([]string{"evaluate", kind, "--model", model, "--sha256", digest, "--data", data, "--label", "label",
			"--device", device, "--report", filepath.Join(t.TempDir(), "r.json"), "--termination-log", filepath.Join(t.TempDir(), "t")}, extra...)
		_, err := runRai(context.Background(), args...)
		return err
	}
	if err := run("fairness", "tpu", "--sensitive", "g"); err == nil || !strings.Contains(err.Error(), "--device") || !strings.Contains(err.Error(), "tpu") {
		t.Errorf("--device tpu: want an error naming the flag and the value, got %v", err)
	}
	if err := run("fairness", "cpu", "--sensitive", "g", "--bootstrap", "0"); err != nil {
		t.Errorf("--device cpu: %v", err)
	}
	if _, err := os.Stat("/dev/nvidia0"); err == nil {
		t.Log("an NVIDIA GPU is present: the refusal below is not checked")
		return
	}
	for _, kind := range []string{"fairness", "robustness"} {
		extra := []string{"--sensitive", "g"}
		if kind == "robustness" {
			extra = []string{"--sigma", "0.25", "--n", "10", "--n0", "10"}
		}
		if err := run(kind, "cuda", extra...); err == nil || !strings.Contains(err.Error(), "CUDA execution provider unavailable") {
			t.Errorf("%s --device cuda without CUDA: want ErrCUDAUnavailable, got %v", kind, err)
		}
	}
}
