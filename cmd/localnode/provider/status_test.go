package provider

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func intOrStr(s string) intstr.IntOrString { return intstr.FromString(s) }

func running() corev1.ContainerStatus {
	return corev1.ContainerStatus{State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
}

func exited(code int32) corev1.ContainerStatus {
	return corev1.ContainerStatus{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}}
}

func waiting() corev1.ContainerStatus {
	return corev1.ContainerStatus{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}
}

func restarting() corev1.ContainerStatus {
	s := waiting()
	s.LastTerminationState = exited(1).State
	return s
}

func TestPodPhase(t *testing.T) {
	never, onFailure, always := corev1.RestartPolicyNever, corev1.RestartPolicyOnFailure, corev1.RestartPolicyAlways
	cases := []struct {
		name    string                   // the situation
		policy  corev1.RestartPolicy     // pod restartPolicy
		init    []corev1.ContainerStatus // init container statuses
		main    []corev1.ContainerStatus // container statuses
		stopped bool                     // pod deleted and its processes gone
		want    corev1.PodPhase
	}{
		{"not started", never, nil, []corev1.ContainerStatus{waiting()}, false, corev1.PodPending},
		{"init running", never, []corev1.ContainerStatus{running()}, []corev1.ContainerStatus{waiting()}, false, corev1.PodPending},
		{"init failed, never", never, []corev1.ContainerStatus{exited(1)}, []corev1.ContainerStatus{waiting()}, false, corev1.PodFailed},
		{"init failed, on failure", onFailure, []corev1.ContainerStatus{exited(1)}, []corev1.ContainerStatus{waiting()}, false, corev1.PodPending},
		{"running", never, []corev1.ContainerStatus{exited(0)}, []corev1.ContainerStatus{running()}, false, corev1.PodRunning},
		{"one done one running", never, nil, []corev1.ContainerStatus{exited(0), running()}, false, corev1.PodRunning},
		{"succeeded", never, nil, []corev1.ContainerStatus{exited(0), exited(0)}, false, corev1.PodSucceeded},
		{"failed, never", never, nil, []corev1.ContainerStatus{exited(0), exited(3)}, false, corev1.PodFailed},
		{"failed, on failure: restarting", onFailure, nil, []corev1.ContainerStatus{exited(3)}, false, corev1.PodRunning},
		{"succeeded, on failure", onFailure, nil, []corev1.ContainerStatus{exited(0)}, false, corev1.PodSucceeded},
		{"backing off", onFailure, nil, []corev1.ContainerStatus{restarting()}, false, corev1.PodRunning},
		{"exited, always", always, nil, []corev1.ContainerStatus{exited(0)}, false, corev1.PodRunning},
		{"deleted, always, killed", always, nil, []corev1.ContainerStatus{exited(143)}, true, corev1.PodFailed},
		{"deleted, always, clean exit", always, nil, []corev1.ContainerStatus{exited(0)}, true, corev1.PodSucceeded},
	}
	for _, c := range cases {
		if got := podPhase(c.policy, c.init, c.main, c.stopped); got != c.want {
			t.Errorf("%s: phase = %s, want %s", c.name, got, c.want)
		}
	}
}

func TestTerminationMessage(t *testing.T) {
	dir := t.TempDir()
	term := filepath.Join(dir, "term")
	logf := filepath.Join(dir, "log")
	var lines []string
	for i := range 100 {
		lines = append(lines, "line "+strings.Repeat("x", i%7)+string(rune('a'+i%26)))
	}
	lines = append(lines, "fatal: the last line")
	if err := os.WriteFile(logf, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	file, fallback := corev1.TerminationMessageReadFile, corev1.TerminationMessageFallbackToLogsOnError

	if err := os.WriteFile(term, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := terminationMessage(term, logf, file, 1); got != "" {
		t.Errorf("empty file, File policy: %q, want empty", got)
	}
	if got := terminationMessage(term, logf, fallback, 0); got != "" {
		t.Errorf("empty file, fallback, exit 0: %q, want empty", got)
	}
	got := terminationMessage(term, logf, fallback, 2)
	if !strings.HasSuffix(got, "fatal: the last line") || strings.Count(got, "\n") != maxLogFallbackLines-1 {
		t.Errorf("fallback: got %d lines ending %q", strings.Count(got, "\n")+1, got[max(0, len(got)-30):])
	}

	big := strings.Repeat("r", 5000)
	if err := os.WriteFile(term, []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := terminationMessage(term, logf, fallback, 2); got != big[:maxTerminationMessageBytes] {
		t.Errorf("file message: %d bytes, want the first %d", len(got), maxTerminationMessageBytes)
	}
}
