package provider

// These tests run the provider inside virtual-kubelet's node against a real
// kube-apiserver and etcd (envtest, binaries from KUBEBUILDER_ASSETS, which
// `make test` builds into bin/k8s), and run real processes: shell scripts and
// this test binary re-executed as a tiny HTTP server.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// helperEnv makes the test binary act as a container process instead of
// running tests: "serve:<port>" serves HTTP 200 on /ready of 127.0.0.1:<port>.
const helperEnv = "LOCALNODE_TEST_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode))
	}
	os.Exit(m.Run())
}

func runHelper(mode string) int {
	port, ok := strings.CutPrefix(mode, "serve:")
	if !ok {
		fmt.Fprintln(os.Stderr, "unknown helper mode", mode)
		return 2
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/ready", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	fmt.Println("serving on", port)
	if err := http.ListenAndServe(net.JoinHostPort(PodIP, port), mux); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// cluster is a started envtest control plane with the local node running.
type cluster struct {
	client   kubernetes.Interface
	provider *Provider
	ns       string
	fakeRai  string // the script --binary-map maps "rai" to
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	for _, b := range []string{"etcd", "kube-apiserver"} {
		if _, err := os.Stat(filepath.Join(assets, b)); assets == "" || err != nil {
			t.Skipf("envtest binaries missing (KUBEBUILDER_ASSETS=%q): run `make kube-binaries` or `make test`", assets)
		}
	}
	env := &envtest.Environment{}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("start envtest: %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	client := kubernetes.NewForConfigOrDie(cfg)

	dir := t.TempDir()
	// A stand-in for bin/rai: writes a termination message built from its
	// arguments, env and a mounted ConfigMap file, then exits with $EXIT_CODE.
	fakeRai := filepath.Join(dir, "fake-rai")
	script := `#!/bin/sh
set -eu
# args: evaluate --config <dir> --out=<file> --message <file>
cfg="$3"; out="${4#--out=}"; msg="$6"
echo "evaluating in $(pwd)"
echo "report" > "$out"
printf 'pod=%s ns=%s threshold=%s out=%s' "$POD_NAME" "$POD_NAMESPACE" "$(cat "$cfg/threshold")" "$(cat "$out")" > "$msg"
echo "done with $EXIT_CODE"
exit "$EXIT_CODE"
`
	if err := os.WriteFile(fakeRai, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	n, prov, err := NewNode(Config{
		NodeName:          DefaultNodeName,
		StateDir:          filepath.Join(dir, "state"),
		Binaries:          BinaryMap{"rai": fakeRai},
		BaseEnv:           []string{"PATH=" + os.Getenv("PATH")},
		Client:            client,
		RestartBackoff:    100 * time.Millisecond,
		MaxRestartBackoff: 200 * time.Millisecond,
	}, NodeSpec(DefaultNodeName, DefaultCapacity(), int32(freePort(t))))
	if err != nil {
		t.Fatal(err)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-runErr
		sctx, scancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer scancel()
		if err := prov.Shutdown(sctx, time.Second); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	if err := n.WaitReady(ctx, time.Minute); err != nil {
		t.Fatalf("node not ready: %v", err)
	}

	c := &cluster{client: client, provider: prov, ns: "localnode-test", fakeRai: fakeRai}
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: c.ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = client.CoreV1().ConfigMaps(c.ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "eval-config"},
		Data:       map[string]string{"threshold": "0.8"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// evalPod is a pod shaped like the operator's evaluation Job pods: it runs
// "/usr/local/bin/rai evaluate" with a ConfigMap and an emptyDir mounted and
// the termination message path passed as an argument.
func (c *cluster) evalPod(name string, exitCode int) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: c.ns},
		Spec: corev1.PodSpec{
			NodeName:      DefaultNodeName,
			RestartPolicy: corev1.RestartPolicyNever,
			Tolerations:   []corev1.Toleration{{Key: LocalExecTaintKey, Operator: corev1.TolerationOpEqual, Value: "true", Effect: corev1.TaintEffectNoSchedule}},
			Containers: []corev1.Container{{
				Name:    "evaluate",
				Image:   "rai-runtime:dev",
				Command: []string{"/usr/local/bin/rai"},
				Args:    []string{"evaluate", "--config", "/etc/rai", "--out=/reports/out.txt", "--message", "/dev/termination-log"},
				Env: []corev1.EnvVar{
					{Name: "EXIT_CODE", Value: strconv.Itoa(exitCode)},
					{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
					{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
				},
				VolumeMounts: []corev1.VolumeMount{
					{Name: "config", MountPath: "/etc/rai"},
					{Name: "reports", MountPath: "/reports"},
				},
			}},
			Volumes: []corev1.Volume{
				{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "eval-config"}}}},
				{Name: "reports", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			},
		},
	}
}

func shPod(ns, name, script string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.PodSpec{
			NodeName:      DefaultNodeName,
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "main", Image: "none", Command: []string{"sh", "-c", script}}},
		},
	}
}

func (c *cluster) create(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	if _, err := c.client.CoreV1().Pods(pod.Namespace).Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pod %s: %v", pod.Name, err)
	}
}

// waitPod polls the pod until cond holds, failing the test after timeout
// with the last status seen.
func (c *cluster) waitPod(t *testing.T, name string, timeout time.Duration, what string, cond func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	var last *corev1.Pod
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		pod, err := c.client.CoreV1().Pods(c.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = pod
		return cond(pod), nil
	})
	if err != nil {
		status := "<none>"
		if last != nil {
			status = fmt.Sprintf("%+v", last.Status)
		}
		t.Fatalf("pod %s: waiting for %s: %v; last status: %s", name, what, err, status)
	}
	return last
}

func terminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func pidOf(t *testing.T, cs corev1.ContainerStatus) int {
	t.Helper()
	pid, err := strconv.Atoi(strings.TrimPrefix(cs.ContainerID, "local://"))
	if err != nil {
		t.Fatalf("container ID %q is not local://<pid>", cs.ContainerID)
	}
	return pid
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(PodIP, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestLocalNode(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()

	t.Run("node registered with label, taint, lease", func(t *testing.T) {
		node, err := c.client.CoreV1().Nodes().Get(ctx, DefaultNodeName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if node.Labels[LocalExecLabel] != "true" {
			t.Errorf("labels %v lack %s=true", node.Labels, LocalExecLabel)
		}
		tainted := false
		for _, taint := range node.Spec.Taints {
			tainted = tainted || (taint.Key == LocalExecTaintKey && taint.Value == "true" && taint.Effect == corev1.TaintEffectNoSchedule)
		}
		if !tainted {
			t.Errorf("taints = %v, want %s=true:NoSchedule", node.Spec.Taints, LocalExecTaintKey)
		}
		// The node controller reports readiness shortly after WaitReady.
		err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			node, err = c.client.CoreV1().Nodes().Get(ctx, DefaultNodeName, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			for _, cond := range node.Status.Conditions {
				if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			t.Errorf("node not Ready: %v", node.Status.Conditions)
		}
		// The lease controller creates the lease on its own schedule, which
		// may be after Ready: wait for it too.
		var leaseErr error
		if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			_, leaseErr = c.client.CoordinationV1().Leases("kube-node-lease").Get(ctx, DefaultNodeName, metav1.GetOptions{})
			return leaseErr == nil, nil
		}); err != nil {
			t.Errorf("node lease: %v", leaseErr)
		}
	})

	t.Run("exit 0 succeeds with the termination message", func(t *testing.T) {
		t.Parallel()
		c.create(t, c.evalPod("eval-ok", 0))
		pod := c.waitPod(t, "eval-ok", time.Minute, "a terminal phase", terminal)
		if pod.Status.Phase != corev1.PodSucceeded {
			t.Fatalf("phase = %s, want Succeeded; status %+v", pod.Status.Phase, pod.Status)
		}
		term := pod.Status.ContainerStatuses[0].State.Terminated
		if term == nil || term.ExitCode != 0 || term.Reason != "Completed" {
			t.Fatalf("terminated = %+v, want exit 0 Completed", term)
		}
		want := "pod=eval-ok ns=localnode-test threshold=0.8 out=report"
		if term.Message != want {
			t.Errorf("message = %q, want %q", term.Message, want)
		}
		if pod.Status.PodIP != PodIP {
			t.Errorf("pod IP = %q", pod.Status.PodIP)
		}
		logPath, err := c.provider.LogPath(c.ns, "eval-ok", "evaluate")
		if err != nil {
			t.Fatal(err)
		}
		logs, _ := os.ReadFile(logPath)
		if !strings.Contains(string(logs), "done with 0") {
			t.Errorf("log %s = %q, want the process output", logPath, logs)
		}
		// What kubectl logs does: the API server asks the node's kubelet API.
		tail := int64(1)
		apiLogs, err := c.client.CoreV1().Pods(c.ns).GetLogs("eval-ok", &corev1.PodLogOptions{Container: "evaluate", TailLines: &tail}).DoRaw(ctx)
		if err != nil || string(apiLogs) != "done with 0\n" {
			t.Errorf("logs through the API server = %q, %v; want the last line", apiLogs, err)
		}
	})

	t.Run("exit 3 fails with exit code and message", func(t *testing.T) {
		t.Parallel()
		c.create(t, c.evalPod("eval-fail", 3))
		pod := c.waitPod(t, "eval-fail", time.Minute, "a terminal phase", terminal)
		if pod.Status.Phase != corev1.PodFailed {
			t.Fatalf("phase = %s, want Failed", pod.Status.Phase)
		}
		term := pod.Status.ContainerStatuses[0].State.Terminated
		if term == nil || term.ExitCode != 3 || term.Reason != "Error" {
			t.Fatalf("terminated = %+v, want exit 3 Error", term)
		}
		if !strings.HasPrefix(term.Message, "pod=eval-fail ns=localnode-test threshold=0.8") {
			t.Errorf("message = %q", term.Message)
		}
	})

	t.Run("fallback to logs on error", func(t *testing.T) {
		t.Parallel()
		pod := shPod(c.ns, "fallback", "echo first; echo 'boom: model file missing' >&2; exit 2")
		pod.Spec.Containers[0].TerminationMessagePolicy = corev1.TerminationMessageFallbackToLogsOnError
		c.create(t, pod)
		got := c.waitPod(t, "fallback", time.Minute, "a terminal phase", terminal)
		term := got.Status.ContainerStatuses[0].State.Terminated
		if got.Status.Phase != corev1.PodFailed || term == nil || term.ExitCode != 2 {
			t.Fatalf("phase %s terminated %+v, want Failed with exit 2", got.Status.Phase, term)
		}
		if term.Message != "first\nboom: model file missing" {
			t.Errorf("message = %q, want the log tail", term.Message)
		}
	})

	t.Run("on failure restarts until success", func(t *testing.T) {
		t.Parallel()
		// Fails on the first run, succeeds on the second: the emptyDir
		// survives restarts, as in the kubelet. The mount path reaches the
		// script through an env value, which is rewritten (a path inside a
		// script's text is not).
		pod := shPod(c.ns, "retry", `if [ -f "$SCRATCH/ran" ]; then exit 0; fi; touch "$SCRATCH/ran"; exit 1`)
		pod.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
		pod.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "SCRATCH", Value: "/scratch"}}
		pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "scratch", MountPath: "/scratch"}}
		pod.Spec.Volumes = []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
		c.create(t, pod)
		got := c.waitPod(t, "retry", time.Minute, "a terminal phase", terminal)
		cs := got.Status.ContainerStatuses[0]
		if got.Status.Phase != corev1.PodSucceeded || cs.RestartCount != 1 {
			t.Errorf("phase %s restarts %d, want Succeeded after 1 restart", got.Status.Phase, cs.RestartCount)
		}
		if lt := cs.LastTerminationState.Terminated; lt == nil || lt.ExitCode != 1 {
			t.Errorf("last termination = %+v, want exit 1", lt)
		}
	})

	t.Run("init containers run first and share volumes", func(t *testing.T) {
		t.Parallel()
		pod := shPod(c.ns, "with-init", `cat "$DATA/model" > "$1"`)
		pod.Spec.Containers[0].Command = append(pod.Spec.Containers[0].Command, "sh", "/dev/termination-log")
		pod.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "DATA", Value: "/data"}}
		pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
		pod.Spec.InitContainers = []corev1.Container{{
			Name: "fetch", Image: "none",
			Command:      []string{"sh", "-c", `echo "fetched by $0" > "$1"`, "init", "/models/model"},
			VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/models"}},
		}}
		pod.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
		c.create(t, pod)
		got := c.waitPod(t, "with-init", time.Minute, "a terminal phase", terminal)
		if got.Status.Phase != corev1.PodSucceeded {
			t.Fatalf("phase = %s, want Succeeded; status %+v", got.Status.Phase, got.Status)
		}
		if len(got.Status.InitContainerStatuses) != 1 || got.Status.InitContainerStatuses[0].State.Terminated == nil {
			t.Errorf("init statuses = %+v, want one terminated", got.Status.InitContainerStatuses)
		}
		if msg := got.Status.ContainerStatuses[0].State.Terminated.Message; msg != "fetched by init\n" {
			t.Errorf("message = %q, want what the init container wrote", msg)
		}
	})

	t.Run("a missing ConfigMap keeps the pod pending until it exists", func(t *testing.T) {
		t.Parallel()
		pod := shPod(c.ns, "late-config", `cat "$CFG/greeting" > "$1"`)
		pod.Spec.Containers[0].Command = append(pod.Spec.Containers[0].Command, "sh", "/dev/termination-log")
		pod.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "CFG", Value: "/cfg"}}
		pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "cfg", MountPath: "/cfg"}}
		pod.Spec.Volumes = []corev1.Volume{{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "late"}}}}}
		c.create(t, pod)
		waiting := c.waitPod(t, "late-config", time.Minute, "a waiting message", func(p *corev1.Pod) bool {
			if len(p.Status.ContainerStatuses) != 1 || p.Status.ContainerStatuses[0].State.Waiting == nil {
				return false
			}
			return strings.Contains(p.Status.ContainerStatuses[0].State.Waiting.Message, `configmaps "late" not found`)
		})
		if waiting.Status.Phase != corev1.PodPending {
			t.Errorf("phase while the ConfigMap is missing = %s, want Pending", waiting.Status.Phase)
		}
		_, err := c.client.CoreV1().ConfigMaps(c.ns).Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "late"}, Data: map[string]string{"greeting": "hello"},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got := c.waitPod(t, "late-config", time.Minute, "a terminal phase", terminal)
		if got.Status.Phase != corev1.PodSucceeded || got.Status.ContainerStatuses[0].State.Terminated.Message != "hello" {
			t.Errorf("phase %s message %q, want Succeeded with the ConfigMap's content", got.Status.Phase, got.Status.ContainerStatuses[0].State.Terminated.Message)
		}
	})

	t.Run("unrunnable pod fails with a clear message", func(t *testing.T) {
		t.Parallel()
		pod := shPod(c.ns, "no-command", "")
		pod.Spec.Containers[0].Command = nil
		c.create(t, pod)
		got := c.waitPod(t, "no-command", time.Minute, "a terminal phase", terminal)
		if got.Status.Phase != corev1.PodFailed || !strings.Contains(got.Status.Message, "has no command") {
			t.Errorf("phase %s message %q, want Failed naming the missing command", got.Status.Phase, got.Status.Message)
		}
	})

	t.Run("logs follow a running container to its end", func(t *testing.T) {
		t.Parallel()
		c.create(t, shPod(c.ns, "chatty", "for i in 1 2 3 4 5; do echo line $i; sleep 0.3; done"))
		c.waitPod(t, "chatty", time.Minute, "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
		stream, err := c.client.CoreV1().Pods(c.ns).GetLogs("chatty", &corev1.PodLogOptions{Follow: true}).Stream(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer stream.Close()
		done := make(chan []byte)
		go func() { b, _ := io.ReadAll(stream); done <- b }()
		select {
		case b := <-done:
			if !strings.Contains(string(b), "line 1\n") || !strings.HasSuffix(string(b), "line 5\n") {
				t.Errorf("followed logs = %q, want lines 1 to 5", b)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the followed log stream did not end when the container exited")
		}
	})

	t.Run("readiness probe gates Ready", func(t *testing.T) {
		t.Parallel()
		port := freePort(t)
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		pod := shPod(c.ns, "serve", "")
		pod.Spec.RestartPolicy = corev1.RestartPolicyAlways
		pod.Spec.Containers[0].Command = []string{exe}
		pod.Spec.Containers[0].Env = []corev1.EnvVar{{Name: helperEnv, Value: "serve:" + strconv.Itoa(port)}}
		pod.Spec.Containers[0].Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: int32(port)}}
		pod.Spec.Containers[0].ReadinessProbe = &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromString("http")}},
			PeriodSeconds: 1,
		}
		c.create(t, pod)
		got := c.waitPod(t, "serve", time.Minute, "Ready", func(p *corev1.Pod) bool {
			return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].Ready
		})
		if got.Status.Phase != corev1.PodRunning {
			t.Errorf("phase = %s, want Running", got.Status.Phase)
		}
		resp, err := http.Get(fmt.Sprintf("http://%s:%d/ready", got.Status.PodIP, port))
		if err != nil {
			t.Fatalf("request to the pod: %v", err)
		}
		_ = resp.Body.Close()
		deletePodAndWaitGone(t, c, "serve", 5)
	})

	t.Run("deleting a running pod kills its process", func(t *testing.T) {
		t.Parallel()
		c.create(t, shPod(c.ns, "sleeper", "sleep 600"))
		got := c.waitPod(t, "sleeper", time.Minute, "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
		pid := pidOf(t, got.Status.ContainerStatuses[0])
		if !processAlive(pid) {
			t.Fatalf("process %d not running while the pod is Running", pid)
		}
		start := time.Now()
		deletePodAndWaitGone(t, c, "sleeper", 30)
		if processAlive(pid) {
			t.Errorf("process %d still alive after the pod was deleted", pid)
		}
		if time.Since(start) > 15*time.Second {
			t.Errorf("deletion took %s: SIGTERM should have ended sh at once", time.Since(start))
		}
	})

	t.Run("a process ignoring SIGTERM is killed after the grace period", func(t *testing.T) {
		t.Parallel()
		c.create(t, shPod(c.ns, "stubborn", "trap '' TERM; while true; do sleep 0.2; done"))
		got := c.waitPod(t, "stubborn", time.Minute, "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
		pid := pidOf(t, got.Status.ContainerStatuses[0])
		time.Sleep(300 * time.Millisecond) // let the trap be installed
		start := time.Now()
		deletePodAndWaitGone(t, c, "stubborn", 2)
		if processAlive(pid) {
			t.Errorf("process %d still alive after the grace period", pid)
		}
		if elapsed := time.Since(start); elapsed < 2*time.Second {
			t.Errorf("pod gone after %s, before the 2s grace period: SIGTERM should have been ignored", elapsed)
		}
	})
}

func deletePodAndWaitGone(t *testing.T, c *cluster, name string, graceSeconds int64) {
	t.Helper()
	ctx := context.Background()
	if err := c.client.CoreV1().Pods(c.ns).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &graceSeconds}); err != nil {
		t.Fatalf("delete pod %s: %v", name, err)
	}
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := c.client.CoreV1().Pods(c.ns).Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		t.Fatalf("pod %s not gone from the API server after deletion: %v", name, err)
	}
}
