package provider

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// probeTarget is what a readiness probe checks: an HTTP GET (url set) or a
// TCP connect (addr set), both on the pod IP.
type probeTarget struct {
	url  string
	addr string
}

// readinessProbeTarget returns the target of the container's httpGet or
// tcpSocket readiness probe, or nil when it has none (or an exec or gRPC
// probe, which the local node does not run: such a container is ready as
// soon as it runs).
func readinessProbeTarget(c *corev1.Container) *probeTarget {
	p := c.ReadinessProbe
	if p == nil {
		return nil
	}
	switch {
	case p.HTTPGet != nil:
		port, _ := resolvePort(c, p.HTTPGet.Port) // checked by planContainer
		scheme := "http"
		if p.HTTPGet.Scheme == corev1.URISchemeHTTPS {
			scheme = "https"
		}
		u := url.URL{Scheme: scheme, Host: net.JoinHostPort(PodIP, strconv.Itoa(port)), Path: p.HTTPGet.Path}
		return &probeTarget{url: u.String()}
	case p.TCPSocket != nil:
		port, _ := resolvePort(c, p.TCPSocket.Port) // checked by planContainer
		return &probeTarget{addr: net.JoinHostPort(PodIP, strconv.Itoa(port))}
	}
	return nil
}

// resolvePort turns a probe port (a number or a container port name) into a
// port number.
func resolvePort(c *corev1.Container, port intstr.IntOrString) (int, error) {
	if port.Type == intstr.Int {
		return port.IntValue(), nil
	}
	for _, p := range c.Ports {
		if p.Name == port.StrVal {
			return int(p.ContainerPort), nil
		}
	}
	return 0, fmt.Errorf("container %q has no port named %q", c.Name, port.StrVal)
}

// probeOnce reports whether the target answered: an HTTP status in
// [200, 400), or an accepted TCP connection.
func probeOnce(ctx context.Context, t *probeTarget, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if t.addr != "" {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", t.addr)
		if err != nil {
			return false
		}
		_ = conn.Close()
		return true
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.url, nil)
	if err != nil {
		return false
	}
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // the kubelet does not verify probe certificates either
	}}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 400
}

// probeReadiness runs c's readiness probe while its process runs (until
// exited is closed or ctx is done), with the probe's initial delay, period,
// timeout and thresholds (Kubernetes defaults when unset), and records
// readiness changes in the container status.
func (p *Provider) probeReadiness(ctx context.Context, run *podRun, c *containerRun, exited <-chan struct{}) {
	probe := c.spec.ReadinessProbe
	target := readinessProbeTarget(&c.spec)
	seconds := func(v int32, def int32) time.Duration {
		if v <= 0 {
			v = def
		}
		return time.Duration(v) * time.Second
	}
	period := seconds(probe.PeriodSeconds, 10)
	timeout := seconds(probe.TimeoutSeconds, 1)
	success := max(int(probe.SuccessThreshold), 1)
	failure := 3
	if probe.FailureThreshold > 0 {
		failure = int(probe.FailureThreshold)
	}

	wait := time.Duration(probe.InitialDelaySeconds) * time.Second
	var okRun, failRun int
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-exited:
			t.Stop()
			return
		case <-t.C:
		}
		wait = period
		if probeOnce(ctx, target, timeout) {
			okRun, failRun = okRun+1, 0
		} else {
			okRun, failRun = 0, failRun+1
		}
		p.mu.Lock()
		ready := c.status.Ready
		changed := false
		if !ready && okRun >= success {
			ready, changed = true, true
		} else if ready && failRun >= failure {
			ready, changed = false, true
		}
		if changed && c.status.State.Running != nil {
			c.status.Ready = ready
		} else {
			changed = false
		}
		p.mu.Unlock()
		if changed {
			p.notifyPod(run)
		}
	}
}
