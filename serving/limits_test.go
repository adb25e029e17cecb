package serving

import (
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// holdHalfSent opens n connections to addr that each send prefix and then nothing more. The
// function it returns waits for them: for each, how long after it was opened the server closed
// it, or wait when the server still held it open after wait. Whatever the server answers before
// it closes is read and dropped.
func holdHalfSent(t *testing.T, addr, prefix string, n int, wait time.Duration) func() []time.Duration {
	t.Helper()
	closedAfter := make([]time.Duration, n)
	var wg sync.WaitGroup
	for i := range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		opened := time.Now()
		if _, err := io.WriteString(c, prefix); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		wg.Go(func() {
			defer c.Close()
			c.SetReadDeadline(opened.Add(wait))
			_, err := io.Copy(io.Discard, c)
			closedAfter[i] = time.Since(opened)
			if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
				closedAfter[i] = wait
			}
		})
	}
	return func() []time.Duration {
		wg.Wait()
		return closedAfter
	}
}

// TestHalfSentRequestsAreClosedWithinTheTimeouts reproduces the report: 300 clients that send
// part of a request and stop held `rai serve` connections open for longer than 90 seconds (a
// partial header for 10 s, a partial body until the client went away). Each must now be closed
// within its timeout, and a whole request must be answered at once meanwhile.
func TestHalfSentRequestsAreClosedWithinTheTimeouts(t *testing.T) {
	m, uri, sum := testModel(t, 3)
	limits := Limits{ReadHeaderTimeout: time.Second, ReadTimeout: 2 * time.Second}
	ts := startServer(t, Config{ModelURI: uri, SHA256: sum, Name: "credit", MaxBatchSize: 32, MaxBatchDelay: time.Millisecond, Limits: limits})
	addr := strings.TrimPrefix(ts.url, "http://")
	const n = 300
	// Slack for scheduling 300 goroutines on a loaded machine, well below what would show
	// the timeout is not applied.
	const slack = 2 * time.Second
	for _, tc := range []struct {
		name    string
		prefix  string
		timeout time.Duration
	}{
		{"header", "POST /v2/models/credit/infer HTTP/1.1\r\nHost: rai\r\nContent-Ty", limits.ReadHeaderTimeout},
		{"body", "POST /v2/models/credit/infer HTTP/1.1\r\nHost: rai\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n{\"inputs\": [", limits.ReadTimeout},
	} {
		t.Run("partial "+tc.name, func(t *testing.T) {
			held := holdHalfSent(t, addr, tc.prefix, n, tc.timeout+slack+5*time.Second)

			// While they are held, a whole request is answered, and at once.
			rows := randomRows(rand.New(rand.NewPCG(3, 4)), 2, 3)
			start := time.Now()
			checkResponse(t, m, rows, post(t, ts.url+"/v2/models/credit/infer", inferBody("whole", rows)))
			if d := time.Since(start); d > time.Second {
				t.Errorf("a whole request took %v while %d half-sent ones were held", d, n)
			}

			closedAfter := held()
			var longest time.Duration
			late := 0
			for _, d := range closedAfter {
				longest = max(longest, d)
				if d > tc.timeout+slack {
					late++
				}
			}
			t.Logf("%d connections with a partial %s: the last closed after %v (timeout %v)", n, tc.name, longest.Round(time.Millisecond), tc.timeout)
			if late > 0 {
				t.Errorf("%d of %d connections with a partial %s were still open %v after they opened (timeout %v)", late, n, tc.name, tc.timeout+slack, tc.timeout)
			}
		})
	}
}

// TestLimitsDefaultsAndHeaderSize checks that zero Limits take the defaults, and that a header
// over MaxHeaderBytes is refused.
func TestLimitsDefaultsAndHeaderSize(t *testing.T) {
	hs := Limits{}.httpServer(http.NotFoundHandler())
	if hs.ReadHeaderTimeout != DefaultReadHeaderTimeout || hs.ReadTimeout != DefaultReadTimeout || hs.WriteTimeout != DefaultWriteTimeout ||
		hs.IdleTimeout != DefaultIdleTimeout || hs.MaxHeaderBytes != DefaultMaxHeaderBytes {
		t.Errorf("zero Limits gave %+v", hs)
	}

	_, uri, sum := testModel(t, 3)
	ts := startServer(t, Config{ModelURI: uri, SHA256: sum, Limits: Limits{MaxHeaderBytes: 4 << 10}})
	req, err := http.NewRequest(http.MethodGet, ts.url+"/v2/health/live", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Padding", strings.Repeat("x", 16<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("a 16 KiB header with MaxHeaderBytes 4 KiB: %d, want 431", resp.StatusCode)
	}
}
