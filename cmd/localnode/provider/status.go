package provider

import (
	"io"
	"os"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// maxTerminationMessageBytes is the kubelet's limit for a termination
	// message read from terminationMessagePath.
	maxTerminationMessageBytes = 4096
	// maxLogFallbackLines and maxLogFallbackBytes bound the message taken
	// from the log under FallbackToLogsOnError, as in the kubelet.
	maxLogFallbackLines = 80
	maxLogFallbackBytes = 2048
)

// podPhase decides a pod's phase from its container statuses, following the
// kubelet's rules:
//
//   - an init container that has not yet succeeded keeps the pod Pending,
//     unless it failed and restartPolicy is Never (then Failed);
//   - a container still waiting for its first start keeps the pod Pending;
//   - any container running (or waiting to be restarted) makes it Running;
//   - when every container has terminated: Never → Failed if any exited
//     non-zero, else Succeeded; OnFailure → Succeeded when all exited 0
//     (a failed one is being restarted: Running); Always → Running (they
//     are being restarted).
//
// stopped says the pod's processes were stopped for good (the pod is being
// deleted): terminated containers are then judged as under Never.
func podPhase(policy corev1.RestartPolicy, initStatuses, statuses []corev1.ContainerStatus, stopped bool) corev1.PodPhase {
	if stopped {
		policy = corev1.RestartPolicyNever
	}
	for _, s := range initStatuses {
		t := s.State.Terminated
		if t != nil && t.ExitCode == 0 {
			continue
		}
		if t != nil && policy == corev1.RestartPolicyNever {
			return corev1.PodFailed
		}
		return corev1.PodPending
	}
	var running, waiting, succeeded, failed int
	for _, s := range statuses {
		switch {
		case s.State.Running != nil:
			running++
		case s.State.Terminated != nil:
			if s.State.Terminated.ExitCode == 0 {
				succeeded++
			} else {
				failed++
			}
		case s.State.Waiting != nil && s.LastTerminationState.Terminated != nil:
			running++ // between restarts
		default:
			waiting++
		}
	}
	switch {
	case waiting > 0:
		return corev1.PodPending
	case running > 0:
		return corev1.PodRunning
	case len(statuses) == 0:
		return corev1.PodPending
	}
	switch policy {
	case corev1.RestartPolicyAlways:
		return corev1.PodRunning
	case corev1.RestartPolicyOnFailure:
		if failed > 0 {
			return corev1.PodRunning
		}
		return corev1.PodSucceeded
	default:
		if failed > 0 {
			return corev1.PodFailed
		}
		return corev1.PodSucceeded
	}
}

// podConditions builds PodScheduled, Initialized, ContainersReady and Ready,
// keeping a condition's lastTransitionTime from prev when its status did not
// change.
func podConditions(phase corev1.PodPhase, initStatuses, statuses []corev1.ContainerStatus, prev []corev1.PodCondition, now metav1.Time) []corev1.PodCondition {
	initialized := true
	for _, s := range initStatuses {
		if s.State.Terminated == nil || s.State.Terminated.ExitCode != 0 {
			initialized = false
		}
	}
	ready := len(statuses) > 0
	for _, s := range statuses {
		if !s.Ready {
			ready = false
		}
	}
	reason := ""
	if phase == corev1.PodSucceeded || phase == corev1.PodFailed {
		ready, reason = false, "PodCompleted"
	} else if !ready {
		reason = "ContainersNotReady"
	}
	want := []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
		{Type: corev1.PodInitialized, Status: boolCondition(initialized)},
		{Type: corev1.ContainersReady, Status: boolCondition(ready), Reason: reason},
		{Type: corev1.PodReady, Status: boolCondition(ready), Reason: reason},
	}
	for i := range want {
		want[i].LastTransitionTime = now
		for _, p := range prev {
			if p.Type == want[i].Type && p.Status == want[i].Status {
				want[i].LastTransitionTime = p.LastTransitionTime
			}
		}
	}
	return want
}

func boolCondition(b bool) corev1.ConditionStatus {
	if b {
		return corev1.ConditionTrue
	}
	return corev1.ConditionFalse
}

// terminationReason is the kubelet's reason for a terminated container.
func terminationReason(exitCode int32) string {
	if exitCode == 0 {
		return "Completed"
	}
	return "Error"
}

// terminationMessage returns the message the kubelet would report for a
// container that exited: the content of its termination message file (at
// most 4096 bytes), or, when that is empty, the policy is
// FallbackToLogsOnError and the container failed, the tail of its log (at
// most 80 lines and 2048 bytes).
func terminationMessage(termPath, logPath string, policy corev1.TerminationMessagePolicy, exitCode int32) string {
	if msg := readHead(termPath, maxTerminationMessageBytes); msg != "" {
		return msg
	}
	if policy != corev1.TerminationMessageFallbackToLogsOnError || exitCode == 0 {
		return ""
	}
	return logTail(logPath, maxLogFallbackLines, maxLogFallbackBytes)
}

func readHead(path string, limit int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	data, _ := io.ReadAll(io.LimitReader(f, int64(limit)))
	return string(data)
}

// logTail returns the last lines of a log file, keeping at most maxBytes
// from the end.
func logTail(path string, lines, maxBytes int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	s := strings.TrimRight(string(data), "\n")
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	s = strings.Join(parts, "\n")
	if len(s) > maxBytes {
		s = s[len(s)-maxBytes:]
	}
	return s
}
