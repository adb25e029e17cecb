package provider

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPathRewriterRule(t *testing.T) {
	rw := newPathRewriter([]pathMapping{
		{containerPath: "/data", localPath: "/tmp/p/volumes/data"},
		{containerPath: "/data/models", localPath: "/tmp/p/volumes/models"},
		{containerPath: "/dev/termination-log", localPath: "/tmp/p/term"},
	})
	cases := []struct {
		in, want string // argument or env value before and after rewriting
	}{
		{"/data", "/tmp/p/volumes/data"},
		{"/data/x.csv", "/tmp/p/volumes/data/x.csv"},
		{"/data/models/m.onnx", "/tmp/p/volumes/models/m.onnx"}, // longest mount wins
		{"/dataset/x", "/dataset/x"},                            // prefix of a name is not a path prefix
		{"--report=/dev/termination-log", "--report=/tmp/p/term"},
		{"--threshold=0.8", "--threshold=0.8"},
		{"relative/data", "relative/data"},
		{"file:///data/x", "file:///data/x"}, // a URI is not a path: the pod must pass a path
		{"", ""},
	}
	for _, c := range cases {
		if got := rw.rewrite(c.in); got != c.want {
			t.Errorf("rewrite(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestExpandVars(t *testing.T) {
	vars := map[string]string{"A": "1", "B": "two"}
	cases := []struct{ in, want string }{
		{"$(A)-$(B)", "1-two"},
		{"$(MISSING)", "$(MISSING)"},
		{"$$(A)", "$(A)"},
		{"cost $5", "cost $5"},
		{"$(A", "$(A"},
		{"plain", "plain"},
	}
	for _, c := range cases {
		if got := expandVars(c.in, vars); got != c.want {
			t.Errorf("expandVars(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestParseBinaryMap(t *testing.T) {
	m, err := ParseBinaryMap([]string{"rai=/opt/bin/rai"})
	if err != nil || m["rai"] != "/opt/bin/rai" {
		t.Fatalf("ParseBinaryMap = %v, %v", m, err)
	}
	for _, bad := range []string{"rai", "=/x", "rai=", "bin/rai=/x"} {
		if _, err := ParseBinaryMap([]string{bad}); err == nil {
			t.Errorf("ParseBinaryMap(%q) succeeded, want an error", bad)
		}
	}
}

func TestBinaryMapResolve(t *testing.T) {
	dir := t.TempDir()
	rai := filepath.Join(dir, "rai")
	if err := os.WriteFile(rai, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	m := BinaryMap{"rai": rai, "gone": filepath.Join(dir, "missing")}
	for _, word := range []string{"rai", "/rai", "/usr/local/bin/rai"} {
		if got, err := m.resolve(word); err != nil || got != rai {
			t.Errorf("resolve(%q) = %q, %v; want %q", word, got, err, rai)
		}
	}
	if got, err := m.resolve("sh"); err != nil || !strings.HasSuffix(got, "/sh") {
		t.Errorf("resolve(sh) = %q, %v; want a path to sh", got, err)
	}
	for _, word := range []string{"gone", "/no/such/binary", "no-such-command-xyz", ""} {
		if _, err := m.resolve(word); err == nil {
			t.Errorf("resolve(%q) succeeded, want an error", word)
		}
	}
}

func TestPlanContainer(t *testing.T) {
	dir := t.TempDir()
	rai := filepath.Join(dir, "rai")
	if err := os.WriteFile(rai, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "eval-1", Namespace: "ns"}}
	dirs := containerDirs{work: "/s/work", tmp: "/s/tmp", logs: "/s/logs", term: "/s/c"}
	volumes := map[string]string{"reports": "/s/volumes/reports", "config": "/s/volumes/config"}
	c := corev1.Container{
		Name:    "evaluate",
		Command: []string{"/usr/local/bin/rai", "evaluate"},
		Args:    []string{"fairness", "--config", "/etc/rai/policy.json", "--out=/reports/$(KIND).json", "--message", "/dev/termination-log"},
		Env: []corev1.EnvVar{
			{Name: "KIND", Value: "fairness"},
			{Name: "REPORT_DIR", Value: "/reports"},
			{Name: "PATH", Value: "/custom/bin"},
		},
		VolumeMounts: []corev1.VolumeMount{
			{Name: "reports", MountPath: "/reports"},
			{Name: "config", MountPath: "/etc/rai"},
		},
		WorkingDir: "/reports",
	}
	plan, err := planContainer(pod, &c, volumes, dirs, BinaryMap{"rai": rai}, []string{"PATH=/usr/bin", "RAI_ONNXRUNTIME_LIB=/lib/ort.so"})
	if err != nil {
		t.Fatal(err)
	}
	if plan.path != rai {
		t.Errorf("path = %q, want the mapped binary %q", plan.path, rai)
	}
	wantArgs := []string{"/usr/local/bin/rai", "evaluate", "fairness", "--config", "/s/volumes/config/policy.json", "--out=/s/volumes/reports/fairness.json", "--message", "/s/c/evaluate.termination-log"}
	if !slices.Equal(plan.args, wantArgs) {
		t.Errorf("args =\n %q\nwant\n %q", plan.args, wantArgs)
	}
	for _, kv := range []string{"PATH=/custom/bin", "RAI_ONNXRUNTIME_LIB=/lib/ort.so", "REPORT_DIR=/s/volumes/reports", "HOME=/s/work", "TMPDIR=/s/tmp", "HOSTNAME=eval-1"} {
		if !slices.Contains(plan.env, kv) {
			t.Errorf("env lacks %q: %q", kv, plan.env)
		}
	}
	if plan.dir != "/s/volumes/reports" {
		t.Errorf("dir = %q, want the reports volume", plan.dir)
	}
	if plan.terminationPath != "/s/c/evaluate.termination-log" || plan.logPath != "/s/logs/evaluate.log" {
		t.Errorf("termination %q log %q", plan.terminationPath, plan.logPath)
	}

	bad := []struct {
		name   string                    // what is wrong
		mutate func(c *corev1.Container) // applied to a copy of c
		want   string                    // in the error
	}{
		{"no command", func(c *corev1.Container) { c.Command = nil }, "has no command"},
		{"unknown volume", func(c *corev1.Container) { c.VolumeMounts[0].Name = "nope" }, `volume "nope"`},
		{"escaping subPath", func(c *corev1.Container) { c.VolumeMounts[0].SubPath = "../x" }, "subPath"},
		{"unknown binary", func(c *corev1.Container) { c.Command = []string{"no-such-tool-xyz"} }, "not on PATH"},
		{"unknown probe port", func(c *corev1.Container) {
			c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intOrStr("http")}}}
		}, `no port named "http"`},
	}
	for _, b := range bad {
		cc := *c.DeepCopy()
		b.mutate(&cc)
		_, err := planContainer(pod, &cc, volumes, dirs, BinaryMap{"rai": rai}, nil)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: err = %v, want it to mention %q", b.name, err, b.want)
		}
	}
}
