// Package provider is a virtual-kubelet provider that runs each container of
// a pod scheduled to its node as a local process.
//
// It exists for the project's dev cluster: the cluster's other nodes are
// fake (kwok pretends their pods run), while pods that tolerate the local
// execution node's taint really run here, so evaluation Jobs produce real
// reports and one serving pod can answer real requests. There is no image,
// no isolation and no resource enforcement: a container is its command and
// args, run with the agent's user, in a per-pod directory.
//
// Mapping a container to a process (see planContainer, podVolumePaths and
// fillPodVolumes for the details):
//   - command+args are the argv; the first word is resolved through the
//     BinaryMap (so "rai" or "/usr/local/bin/rai" runs the repo's bin/rai),
//     else looked up on PATH;
//   - env is the agent's base environment plus the container's env, whose
//     valueFrom references the virtual-kubelet pod controller has resolved;
//   - volumes become per-pod directories; mount paths and the termination
//     message path appearing in args and env values are rewritten to the
//     local paths (pathRewriter documents the rule);
//   - ports are not remapped: a process listens on the container port of
//     127.0.0.1, which is also the pod IP.
//
// Node registration, leases and syncing pod status to the API server are
// virtual-kubelet's node and pod controllers; this package only keeps each
// pod's status and calls the NotifyPods callback when it changes.
package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/virtual-kubelet/virtual-kubelet/errdefs"
	"github.com/virtual-kubelet/virtual-kubelet/log"
	"github.com/virtual-kubelet/virtual-kubelet/node/api"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

// PodIP is the IP every pod on the local node reports: its processes listen
// on this machine's loopback interface.
const PodIP = "127.0.0.1"

// defaultGracePeriod is used when neither the deletion nor the pod spec
// gives a termination grace period.
const defaultGracePeriod = 30 * time.Second

// Config configures a Provider.
type Config struct {
	// NodeName is the node whose pods this provider runs.
	NodeName string
	// StateDir holds per-pod directories (volumes, work dirs), logs and
	// process-group ID files; it is created when missing.
	StateDir string
	// Binaries maps command words to local executables.
	Binaries BinaryMap
	// BaseEnv ("KEY=VALUE") is every container's starting environment, as an
	// image's environment would be. PATH should be in it.
	BaseEnv []string
	// Client reads the ConfigMaps and Secrets that volumes refer to, and
	// removes a deleted pod from the API server once its processes ended.
	Client kubernetes.Interface
	// RestartBackoff is the first delay before restarting a container under
	// restartPolicy Always or OnFailure; it doubles up to MaxRestartBackoff.
	// Defaults: 1s and 30s (shorter than the kubelet's, for a dev loop).
	RestartBackoff, MaxRestartBackoff time.Duration
}

// Provider runs pods as local processes. Create it with New.
type Provider struct {
	cfg Config

	mu   sync.Mutex
	pods map[string]*podRun // by namespace/name

	// notifyMu serializes status snapshots with their delivery, so the pod
	// controller never receives an older status after a newer one.
	notifyMu sync.Mutex
	notify   func(*corev1.Pod)

	wg sync.WaitGroup // every pod's lifecycle goroutine
}

// New validates cfg and creates the state directories.
func New(cfg Config) (*Provider, error) {
	if cfg.NodeName == "" {
		return nil, errors.New("provider: node name is required")
	}
	if cfg.StateDir == "" {
		return nil, errors.New("provider: state dir is required")
	}
	if cfg.Client == nil {
		return nil, errors.New("provider: a Kubernetes client is required")
	}
	if cfg.RestartBackoff <= 0 {
		cfg.RestartBackoff = time.Second
	}
	if cfg.MaxRestartBackoff <= 0 {
		cfg.MaxRestartBackoff = 30 * time.Second
	}
	abs, err := filepath.Abs(cfg.StateDir)
	if err != nil {
		return nil, fmt.Errorf("provider: state dir: %w", err)
	}
	cfg.StateDir = abs
	for _, d := range []string{"pods", "logs", "pids"} {
		if err := os.MkdirAll(filepath.Join(abs, d), 0o755); err != nil {
			return nil, fmt.Errorf("provider: create state dir: %w", err)
		}
	}
	return &Provider{cfg: cfg, pods: map[string]*podRun{}}, nil
}

// podRun is one pod on this node: its spec as received, its containers and
// the goroutine that runs them.
type podRun struct {
	pod       *corev1.Pod       // as received; Status is rebuilt by snapshot
	dir       string            // volumes, work and tmp dirs; removed on delete
	volumes   map[string]string // volume name → local directory
	startTime metav1.Time
	init      []*containerRun
	main      []*containerRun
	stopped   bool          // DeletePod was called: no more (re)starts
	grace     time.Duration // SIGTERM → SIGKILL delay once stopped
	cancel    context.CancelFunc
	done      chan struct{} // closed when no process of the pod is left
}

// containerRun is one container and its latest status (guarded by
// Provider.mu).
type containerRun struct {
	spec   corev1.Container
	plan   launchPlan
	status corev1.ContainerStatus
}

func podKey(namespace, name string) string { return namespace + "/" + name }

// CreatePod prepares the pod's directories and volumes, plans every container
// and starts running them in the background. A pod this node cannot run
// (no command, an unknown binary, an unsupported volume type) is rejected
// with an error naming the cause; the pod controller then marks it failed.
// A ConfigMap or Secret the pod mounts that does not exist yet only keeps
// the pod Pending until it does (see fillVolumes).
func (p *Provider) CreatePod(ctx context.Context, pod *corev1.Pod) error {
	key := podKey(pod.Namespace, pod.Name)
	p.mu.Lock()
	_, exists := p.pods[key]
	p.mu.Unlock()
	if exists {
		return nil
	}

	pod = pod.DeepCopy()
	if err := resolveEnvRefs(ctx, p.cfg.Client, pod); err != nil {
		return errdefs.AsInvalidInput(fmt.Errorf("local node: %w", err))
	}
	dir := filepath.Join(p.cfg.StateDir, "pods", fmt.Sprintf("%s_%s_%s", pod.Namespace, pod.Name, pod.UID))
	logDir := filepath.Join(p.cfg.StateDir, "logs", fmt.Sprintf("%s_%s_%s", pod.Namespace, pod.Name, pod.UID))
	for _, d := range []string{dir, logDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create pod directory: %w", err)
		}
	}
	volumes, err := podVolumePaths(pod, filepath.Join(dir, "volumes"))
	if err != nil {
		_ = os.RemoveAll(dir)
		return errdefs.AsInvalidInput(fmt.Errorf("local node: %w", err))
	}

	run := &podRun{pod: pod, dir: dir, volumes: volumes, startTime: metav1.Now(), done: make(chan struct{})}
	plan := func(c *corev1.Container, waitingReason string) (*containerRun, error) {
		cdir := filepath.Join(dir, "containers", c.Name)
		dirs := containerDirs{work: filepath.Join(cdir, "work"), tmp: filepath.Join(cdir, "tmp"), logs: logDir, term: cdir}
		for _, d := range []string{dirs.work, dirs.tmp} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return nil, err
			}
		}
		lp, err := planContainer(pod, c, volumes, dirs, p.cfg.Binaries, p.cfg.BaseEnv)
		if err != nil {
			return nil, err
		}
		return &containerRun{spec: *c, plan: lp, status: corev1.ContainerStatus{
			Name:  c.Name,
			Image: c.Image,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: waitingReason}},
		}}, nil
	}
	mainReason := "ContainerCreating"
	if len(pod.Spec.InitContainers) > 0 {
		mainReason = "PodInitializing"
	}
	for i := range pod.Spec.InitContainers {
		cr, err := plan(&pod.Spec.InitContainers[i], "PodInitializing")
		if err != nil {
			_ = os.RemoveAll(dir)
			return errdefs.AsInvalidInput(fmt.Errorf("local node: %w", err))
		}
		run.init = append(run.init, cr)
	}
	for i := range pod.Spec.Containers {
		cr, err := plan(&pod.Spec.Containers[i], mainReason)
		if err != nil {
			_ = os.RemoveAll(dir)
			return errdefs.AsInvalidInput(fmt.Errorf("local node: %w", err))
		}
		run.main = append(run.main, cr)
	}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	run.cancel = cancel
	p.mu.Lock()
	if _, exists := p.pods[key]; exists {
		p.mu.Unlock()
		cancel()
		return nil
	}
	p.pods[key] = run
	p.wg.Add(1)
	p.mu.Unlock()

	go func() {
		defer p.wg.Done()
		p.runPod(runCtx, run)
	}()
	p.notifyPod(run)
	return nil
}

// runPod fills the pod's volumes, runs the init containers one after
// another, then every container at once, and returns when no process of the
// pod is left.
func (p *Provider) runPod(ctx context.Context, run *podRun) {
	defer close(run.done)
	logger := log.G(ctx).WithField("pod", podKey(run.pod.Namespace, run.pod.Name))
	policy := run.pod.Spec.RestartPolicy
	if !p.fillVolumes(ctx, run) {
		return
	}
	for _, c := range run.init {
		backoff := p.cfg.RestartBackoff
		for {
			code := p.runContainer(ctx, run, c)
			if code == 0 {
				break
			}
			if ctx.Err() != nil || policy == corev1.RestartPolicyNever {
				logger.Infof("init container %s failed with exit code %d", c.spec.Name, code)
				p.notifyPod(run)
				return
			}
			if !p.waitRestart(ctx, run, c, &backoff) {
				return
			}
		}
	}
	var wg sync.WaitGroup
	for _, c := range run.main {
		wg.Add(1)
		go func() {
			defer wg.Done()
			backoff := p.cfg.RestartBackoff
			for {
				code := p.runContainer(ctx, run, c)
				if ctx.Err() != nil {
					return
				}
				restart := policy == corev1.RestartPolicyAlways || (policy == corev1.RestartPolicyOnFailure && code != 0)
				if !restart || !p.waitRestart(ctx, run, c, &backoff) {
					return
				}
			}
		}()
	}
	wg.Wait()
}

// fillVolumes writes the pod's volumes, retrying (1s, doubling to 10s) while
// that fails, for instance because a ConfigMap the pod mounts does not exist
// yet: like the kubelet, it keeps the pod Pending with its containers
// waiting in ContainerCreating, the error as their message. It returns false
// when the pod was stopped first.
func (p *Provider) fillVolumes(ctx context.Context, run *podRun) bool {
	backoff := time.Second
	for {
		err := fillPodVolumes(ctx, p.cfg.Client, run.pod, run.volumes)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		msg := "local node: " + err.Error()
		changed := false
		p.mu.Lock()
		for _, c := range append(append([]*containerRun(nil), run.init...), run.main...) {
			if w := c.status.State.Waiting; w != nil && w.Message != msg {
				w.Reason, w.Message, changed = "ContainerCreating", msg, true
			}
		}
		p.mu.Unlock()
		if changed {
			log.G(ctx).WithField("pod", podKey(run.pod.Namespace, run.pod.Name)).Warnf("waiting for volumes: %v", err)
			p.notifyPod(run)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

// waitRestart marks c as waiting in CrashLoopBackOff, sleeps the backoff and
// doubles it. It returns false when the pod was stopped meanwhile.
func (p *Provider) waitRestart(ctx context.Context, run *podRun, c *containerRun, backoff *time.Duration) bool {
	p.mu.Lock()
	c.status.LastTerminationState = c.status.State
	c.status.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
		Reason:  "CrashLoopBackOff",
		Message: fmt.Sprintf("back-off %s restarting failed container %s", *backoff, c.spec.Name),
	}}
	c.status.RestartCount++
	p.mu.Unlock()
	p.notifyPod(run)
	t := time.NewTimer(*backoff)
	defer t.Stop()
	*backoff = min(2**backoff, p.cfg.MaxRestartBackoff)
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// runContainer starts c's process once, waits for it and records its
// termination. It returns the exit code (128+signal when killed by a signal,
// 128 when the process could not start). Cancelling ctx stops the process:
// SIGTERM to its process group, SIGKILL after the pod's grace period.
func (p *Provider) runContainer(ctx context.Context, run *podRun, c *containerRun) int32 {
	if ctx.Err() != nil {
		return 137
	}
	// An empty termination message file per run, so that a restarted
	// container does not report its previous run's message.
	startErr := os.WriteFile(c.plan.terminationPath, nil, 0o644)
	var cmd *exec.Cmd
	var logf *os.File
	if startErr == nil {
		logf, startErr = os.OpenFile(c.plan.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	}
	if startErr == nil {
		defer logf.Close()
		cmd = &exec.Cmd{
			Path:        c.plan.path,
			Args:        c.plan.args,
			Env:         c.plan.env,
			Dir:         c.plan.dir,
			Stdout:      logf,
			Stderr:      logf,
			SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
		}
		startErr = cmd.Start()
	}
	if startErr != nil {
		now := metav1.Now()
		p.mu.Lock()
		c.status.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: 128, Reason: "StartError", Message: startErr.Error(), StartedAt: now, FinishedAt: now,
		}}
		c.status.Ready, c.status.Started = false, ptrTo(false)
		p.mu.Unlock()
		p.notifyPod(run)
		return 128
	}

	pid := cmd.Process.Pid
	pidFile := filepath.Join(p.cfg.StateDir, "pids", fmt.Sprintf("%s_%s", run.pod.UID, c.spec.Name))
	_ = os.WriteFile(pidFile, []byte(strconv.Itoa(pid)+"\n"), 0o644)
	started := metav1.Now()
	containerID := fmt.Sprintf("local://%d", pid)
	hasProbe := readinessProbeTarget(&c.spec) != nil
	p.mu.Lock()
	c.status.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}}
	c.status.ContainerID = containerID
	c.status.Started = ptrTo(true)
	c.status.Ready = !hasProbe
	p.mu.Unlock()
	p.notifyPod(run)

	exited := make(chan struct{})
	if hasProbe {
		go p.probeReadiness(ctx, run, c, exited)
	}
	go func() {
		select {
		case <-exited:
		case <-ctx.Done():
			_ = syscall.Kill(-pid, syscall.SIGTERM)
			p.mu.Lock()
			grace := run.grace
			p.mu.Unlock()
			t := time.NewTimer(grace)
			defer t.Stop()
			select {
			case <-exited:
			case <-t.C:
				_ = syscall.Kill(-pid, syscall.SIGKILL)
			}
		}
	}()

	_ = cmd.Wait()
	close(exited)
	// Like a container's cgroup, the process group does not outlive its
	// main process.
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	_ = os.Remove(pidFile)

	code := int32(cmd.ProcessState.ExitCode())
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		code = 128 + int32(ws.Signal())
	}
	msg := terminationMessage(c.plan.terminationPath, c.plan.logPath, c.spec.TerminationMessagePolicy, code)
	p.mu.Lock()
	c.status.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
		ExitCode:    code,
		Reason:      terminationReason(code),
		Message:     msg,
		StartedAt:   started,
		FinishedAt:  metav1.Now(),
		ContainerID: containerID,
	}}
	c.status.Ready, c.status.Started = false, ptrTo(false)
	p.mu.Unlock()
	p.notifyPod(run)
	return code
}

func ptrTo[T any](v T) *T { return &v }

// snapshot returns a copy of the pod with its current status. Callers hold
// p.mu.
func (p *Provider) snapshot(run *podRun) *corev1.Pod {
	pod := run.pod.DeepCopy()
	statuses := func(cs []*containerRun) []corev1.ContainerStatus {
		out := make([]corev1.ContainerStatus, 0, len(cs))
		for _, c := range cs {
			out = append(out, *c.status.DeepCopy())
		}
		return out
	}
	initStatuses, mainStatuses := statuses(run.init), statuses(run.main)
	stoppedForGood := run.stopped && isClosed(run.done)
	phase := podPhase(pod.Spec.RestartPolicy, initStatuses, mainStatuses, stoppedForGood)
	st := &pod.Status
	st.Phase = phase
	st.Conditions = podConditions(phase, initStatuses, mainStatuses, run.pod.Status.Conditions, metav1.Now())
	st.InitContainerStatuses = initStatuses
	st.ContainerStatuses = mainStatuses
	st.HostIP = PodIP
	st.HostIPs = []corev1.HostIP{{IP: PodIP}}
	st.PodIP = PodIP
	st.PodIPs = []corev1.PodIP{{IP: PodIP}}
	st.StartTime = &run.startTime
	st.Reason, st.Message = "", ""
	run.pod.Status.Conditions = st.Conditions
	return pod
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// notifyPod hands the pod's current status to the pod controller.
func (p *Provider) notifyPod(run *podRun) {
	p.notifyMu.Lock()
	defer p.notifyMu.Unlock()
	p.mu.Lock()
	pod := p.snapshot(run)
	notify := p.notify
	p.mu.Unlock()
	if notify != nil {
		notify(pod)
	}
}

// NotifyPods registers the pod controller's status callback.
func (p *Provider) NotifyPods(_ context.Context, f func(*corev1.Pod)) {
	p.notifyMu.Lock()
	defer p.notifyMu.Unlock()
	p.mu.Lock()
	p.notify = f
	p.mu.Unlock()
}

// UpdatePod records new labels and annotations; a running process cannot
// take other changes (a container's command is immutable anyway).
func (p *Provider) UpdatePod(_ context.Context, pod *corev1.Pod) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	run, ok := p.pods[podKey(pod.Namespace, pod.Name)]
	if !ok {
		return errdefs.NotFoundf("pod %s/%s is not on the local node", pod.Namespace, pod.Name)
	}
	run.pod.Labels = pod.Labels
	run.pod.Annotations = pod.Annotations
	return nil
}

// DeletePod stops the pod: SIGTERM to every process group, SIGKILL after the
// grace period (the deletion's, else the spec's, else 30s). It returns at
// once; when the last process is gone the pod's final status is notified,
// its directory (not its logs) is removed, and the pod object is deleted
// from the API server with grace period 0, as the kubelet does once a pod's
// containers have stopped. Calling it again is harmless.
func (p *Provider) DeletePod(ctx context.Context, pod *corev1.Pod) error {
	key := podKey(pod.Namespace, pod.Name)
	p.mu.Lock()
	run, ok := p.pods[key]
	if !ok {
		p.mu.Unlock()
		return errdefs.NotFoundf("pod %s is not on the local node", key)
	}
	if run.stopped {
		p.mu.Unlock()
		return nil
	}
	run.stopped = true
	run.grace = gracePeriod(pod)
	run.pod.DeletionTimestamp = pod.DeletionTimestamp
	run.pod.DeletionGracePeriodSeconds = pod.DeletionGracePeriodSeconds
	p.mu.Unlock()
	run.cancel()

	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		<-run.done
		p.mu.Lock()
		now := metav1.Now()
		for _, c := range append(append([]*containerRun(nil), run.init...), run.main...) {
			if c.status.State.Terminated == nil {
				// Never started, or between restarts: report it as stopped.
				c.status.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
					ExitCode: 137, Reason: "ContainerStatusUnknown", Message: "the pod was deleted before the container ran", StartedAt: now, FinishedAt: now,
				}}
				c.status.Ready = false
			}
		}
		p.mu.Unlock()
		p.notifyPod(run)
		p.mu.Lock()
		if p.pods[key] == run {
			delete(p.pods, key)
		}
		p.mu.Unlock()
		if err := os.RemoveAll(run.dir); err != nil {
			log.G(ctx).WithError(err).Warn("remove pod directory")
		}
		if run.pod.DeletionTimestamp != nil {
			opts := metav1.DeleteOptions{GracePeriodSeconds: ptrTo(int64(0)), Preconditions: metav1.NewUIDPreconditions(string(run.pod.UID))}
			err := p.cfg.Client.CoreV1().Pods(run.pod.Namespace).Delete(context.WithoutCancel(ctx), run.pod.Name, opts)
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				log.G(ctx).WithError(err).Warn("delete stopped pod from the API server")
			}
		}
	}()
	return nil
}

// gracePeriod is how long a deleted pod's processes get between SIGTERM and
// SIGKILL.
func gracePeriod(pod *corev1.Pod) time.Duration {
	switch {
	case pod.DeletionGracePeriodSeconds != nil:
		return time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	case pod.Spec.TerminationGracePeriodSeconds != nil:
		return time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	default:
		return defaultGracePeriod
	}
}

// Shutdown stops every pod's processes (SIGTERM, SIGKILL after grace) and
// waits for them, or for ctx. The agent calls it on exit so that no process
// outlives it.
func (p *Provider) Shutdown(ctx context.Context, grace time.Duration) error {
	p.mu.Lock()
	for _, run := range p.pods {
		if !run.stopped || run.grace > grace {
			run.stopped = true
			run.grace = grace
		}
		run.cancel()
	}
	p.mu.Unlock()
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("processes still running at shutdown: %w", ctx.Err())
	}
}

// GetPod returns the pod with its current status.
func (p *Provider) GetPod(_ context.Context, namespace, name string) (*corev1.Pod, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	run, ok := p.pods[podKey(namespace, name)]
	if !ok {
		return nil, errdefs.NotFoundf("pod %s/%s is not on the local node", namespace, name)
	}
	return p.snapshot(run), nil
}

// GetPodStatus returns the pod's current status.
func (p *Provider) GetPodStatus(ctx context.Context, namespace, name string) (*corev1.PodStatus, error) {
	pod, err := p.GetPod(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	return &pod.Status, nil
}

// GetPods lists the pods this provider knows.
func (p *Provider) GetPods(context.Context) ([]*corev1.Pod, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*corev1.Pod, 0, len(p.pods))
	for _, run := range p.pods {
		out = append(out, p.snapshot(run))
	}
	return out, nil
}

// LogPath returns the log file of a container of a pod the provider knows,
// for tests and for GetContainerLogs.
func (p *Provider) LogPath(namespace, name, container string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	run, ok := p.pods[podKey(namespace, name)]
	if !ok {
		return "", errdefs.NotFoundf("pod %s/%s is not on the local node", namespace, name)
	}
	for _, c := range append(append([]*containerRun(nil), run.init...), run.main...) {
		if c.spec.Name == container {
			return c.plan.logPath, nil
		}
	}
	return "", errdefs.NotFoundf("pod %s/%s has no container %q", namespace, name, container)
}

// GetContainerLogs returns a container's combined stdout and stderr,
// honouring Tail and LimitBytes. With Follow, the stream goes on while the
// pod is known and has a container that may still write (running, or about
// to be restarted), and ends when the request is cancelled.
func (p *Provider) GetContainerLogs(ctx context.Context, namespace, podName, containerName string, opts api.ContainerLogOpts) (io.ReadCloser, error) {
	path, err := p.LogPath(namespace, podName, containerName)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	offset := int64(len(data))
	if opts.Tail > 0 {
		lines := strings.SplitAfter(string(data), "\n")
		if lines[len(lines)-1] == "" {
			lines = lines[:len(lines)-1]
		}
		if len(lines) > opts.Tail {
			lines = lines[len(lines)-opts.Tail:]
		}
		data = []byte(strings.Join(lines, ""))
	}
	head := io.Reader(strings.NewReader(string(data)))
	if opts.Follow {
		head = io.MultiReader(head, &followReader{ctx: ctx, path: path, offset: offset, active: func() bool {
			return p.podActive(namespace, podName)
		}})
	}
	if opts.LimitBytes > 0 {
		head = io.LimitReader(head, int64(opts.LimitBytes))
	}
	return io.NopCloser(head), nil
}

// podActive reports whether the pod is known and not finished for good.
func (p *Provider) podActive(namespace, name string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	run, ok := p.pods[podKey(namespace, name)]
	return ok && !isClosed(run.done)
}

// followReader reads what is appended to a log file from offset on, polling
// while active() holds; it returns io.EOF once the writer is gone and the
// file is drained, or the context's error when cancelled.
type followReader struct {
	ctx    context.Context
	path   string
	offset int64
	active func() bool
}

func (r *followReader) Read(b []byte) (int, error) {
	for {
		// Sample before reading, so that output written just before the
		// process ended is still returned.
		active := r.active()
		n, err := r.readAt(b)
		if n > 0 || err != nil {
			return n, err
		}
		if !active {
			return 0, io.EOF
		}
		select {
		case <-r.ctx.Done():
			return 0, r.ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (r *followReader) readAt(b []byte) (int, error) {
	f, err := os.Open(r.path)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n, err := f.ReadAt(b, r.offset)
	r.offset += int64(n)
	if err == io.EOF {
		err = nil
	}
	return n, err
}

// errUnsupported answers the streaming and metrics calls a local process
// node does not offer.
var errUnsupported = errors.New("not supported on the local execution node")

// RunInContainer is not supported.
func (p *Provider) RunInContainer(context.Context, string, string, string, []string, api.AttachIO) error {
	return errUnsupported
}

// AttachToContainer is not supported.
func (p *Provider) AttachToContainer(context.Context, string, string, string, api.AttachIO) error {
	return errUnsupported
}

// PortForward is not supported: the pod's ports are on this machine's
// loopback interface already.
func (p *Provider) PortForward(context.Context, string, string, int32, io.ReadWriteCloser) error {
	return errUnsupported
}

// GetStatsSummary is not supported.
func (p *Provider) GetStatsSummary(context.Context) (*statsv1alpha1.Summary, error) {
	return nil, errUnsupported
}

// GetMetricsResource is not supported.
func (p *Provider) GetMetricsResource(context.Context) ([]*dto.MetricFamily, error) {
	return nil, errUnsupported
}
