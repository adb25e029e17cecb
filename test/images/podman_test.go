// Package images_test runs the project's container images with podman, as a
// cluster would: UID 65532, a read-only root file system, no capabilities.
// `make test-images` builds the images (on stand-in bases where base images
// cannot be pulled), starts a dev cluster and runs these tests; without the
// images named in the environment the image tests skip, and only the CUDA
// library checks run.
package images_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// restricted are the podman run flags of a pod with a restricted security
// context: UID and GID 65532, no capabilities, no privilege escalation, a
// read-only root file system without podman's writable /tmp, /var/tmp and
// /run (Kubernetes adds none).
var restricted = []string{
	"--user", "65532:65532",
	"--cap-drop=ALL",
	"--security-opt", "no-new-privileges",
	"--read-only", "--read-only-tmpfs=false",
}

// imageFromEnv returns the image named by env, or skips the test.
func imageFromEnv(t *testing.T, env string) string {
	t.Helper()
	img := os.Getenv(env)
	if img == "" {
		t.Skipf("%s is not set: make test-images builds the images and runs this test", env)
	}
	return img
}

// podman runs podman with args and returns its standard output; a failure
// ends the test with podman's standard error.
func podman(t *testing.T, args ...string) string {
	t.Helper()
	out, err := podmanErr(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func podmanErr(args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("podman", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("podman %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// startContainer starts a detached container named after the test and
// removes it when the test ends, printing its log when the test failed.
func startContainer(t *testing.T, name string, args ...string) string {
	t.Helper()
	name = fmt.Sprintf("rai-images-%s-%d", name, os.Getpid())
	_, _ = podmanErr("rm", "--force", "--time", "0", name)
	podman(t, append([]string{"run", "--detach", "--name", name}, args...)...)
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := exec.Command("podman", "logs", "--tail", "40", name).CombinedOutput()
			t.Logf("log of %s:\n%s", name, logs)
		}
		_, _ = podmanErr("rm", "--force", "--time", "2", name)
	})
	return name
}

// containerPID is the host PID of the container's first process.
func containerPID(t *testing.T, name string) int {
	t.Helper()
	pid, err := strconv.Atoi(strings.TrimSpace(podman(t, "inspect", "--format", "{{.State.Pid}}", name)))
	if err != nil || pid <= 0 {
		t.Fatalf("container %s has no process (pid %d, %v)", name, pid, err)
	}
	return pid
}

// checkRestricted asserts, from the host's /proc, that the container's
// process runs as UID and GID 65532 with no capabilities and no privilege
// escalation, on a read-only root file system.
func checkRestricted(t *testing.T, name string) {
	t.Helper()
	pid := containerPID(t, name)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"Uid":        "65532 65532 65532 65532",
		"Gid":        "65532 65532 65532 65532",
		"CapPrm":     "0000000000000000",
		"CapEff":     "0000000000000000",
		"CapBnd":     "0000000000000000",
		"NoNewPrivs": "1",
	}
	for _, line := range strings.Split(string(status), "\n") {
		key, value, ok := strings.Cut(line, ":")
		if w, known := want[key]; ok && known {
			if got := strings.Join(strings.Fields(value), " "); got != w {
				t.Errorf("%s: %s is %q, want %q", name, key, got, w)
			}
			delete(want, key)
		}
	}
	for key := range want {
		t.Errorf("%s: no %s in /proc/%d/status", name, key, pid)
	}

	mounts, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
	if err != nil {
		t.Fatal(err)
	}
	rootOptions := ""
	for _, line := range strings.Split(string(mounts), "\n") {
		// ID PARENT MAJOR:MINOR ROOT MOUNTPOINT OPTIONS ...; the last "/" wins.
		if f := strings.Fields(line); len(f) > 5 && f[4] == "/" {
			rootOptions = f[5]
		}
	}
	if !strings.HasPrefix(rootOptions+",", "ro,") {
		t.Errorf("%s: the root file system is mounted %q, want read-only", name, rootOptions)
	}
}

// freePort returns a TCP port on 127.0.0.1 that nothing listened on a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// eventually polls check every 500ms until it returns nil or timeout passes,
// then fails with its last error. alive, when not nil, ends the wait early
// with its error (a container that exited).
func eventually(t *testing.T, timeout time.Duration, alive func() error, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if alive != nil {
			if aerr := alive(); aerr != nil {
				t.Fatalf("%v (last: %v)", aerr, err)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %v", timeout, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// running returns an error once the container is no longer running.
func running(name string) func() error {
	return func() error {
		out, err := podmanErr("inspect", "--format", "{{.State.Status}}", name)
		if err != nil {
			return err
		}
		if s := strings.TrimSpace(out); s != "running" {
			return fmt.Errorf("container %s is %s", name, s)
		}
		return nil
	}
}

// writableDir is a temporary directory the container's UID can write.
func writableDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}
