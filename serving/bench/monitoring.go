package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/responsible-ai/rmodel-operator/internal/monitoring"
	"github.com/responsible-ai/rmodel-operator/internal/onnxwriter"
	"github.com/responsible-ai/rmodel-operator/serving"
)

// monitoringBodies are n one-row requests with distinct rows, distinct ids and a group
// parameter: what a monitored server sketches, counts and remembers for feedback.
func monitoringBodies(n, features int) [][]byte {
	rng := rand.New(rand.NewPCG(7, 7))
	bodies := make([][]byte, n)
	for i := range bodies {
		row := make([]float32, features)
		for j := range row {
			row[j] = float32(rng.NormFloat64())
		}
		bodies[i], _ = json.Marshal(map[string]any{"id": fmt.Sprintf("req-%d", i),
			"parameters": map[string]any{"group": []string{"female", "male"}[i%2]},
			"inputs":     []any{map[string]any{"name": onnxwriter.InputName, "shape": []int{1, features}, "datatype": "FP32", "data": row}}})
	}
	return bodies
}

// monitoringCost measures --monitoring head to head, as auditCost does the audit log: two
// unbatched servers up at once, one with --monitoring (defaults: 1-minute windows, k = 200,
// group from the request parameter, 100,000 rows remembered for feedback), the same n one-row
// requests to each, alternating, each paired with a bare Run.
func monitoringCost(modelPath, digest, device string, features, n int, bareRun func() (time.Duration, error)) error {
	plain, err := startChild(modelPath, digest, device, 1, 0, "", false)
	if err != nil {
		return err
	}
	defer plain.stop()
	monitored, err := startChild(modelPath, digest, device, 1, 0, "", true)
	if err != nil {
		return err
	}
	defer monitored.stop()
	bodies := monitoringBodies(n+200, features)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	urls := []string{plain.url + "/v2/models/model/infer", monitored.url + "/v2/models/model/infer"}
	var lat, over [2][]time.Duration
	for i := -200; i < n; i++ { // 200 warm-up rounds
		body := bodies[i+200]
		for k := range 2 {
			j := (i + k) & 1
			if i < 0 {
				j = k
			}
			b, err := bareRun()
			if err != nil {
				return err
			}
			t0 := time.Now()
			if err := post(client, urls[j], body); err != nil {
				return err
			}
			if i >= 0 {
				d := time.Since(t0)
				lat[j], over[j] = append(lat[j], d), append(over[j], d-b)
			}
		}
	}
	var snap monitoring.Snapshot
	if err := getJSON(client, monitored.url+monitoring.SnapshotPath("model"), &snap); err != nil {
		return err
	}
	fmt.Printf("\nMonitoring cost, head to head: two unbatched servers up at once, one with --monitoring (defaults); %d one-row requests with a group parameter and distinct ids to each, alternating, each paired with a bare Run.\n\n", n)
	fmt.Println("| server | HTTP p50 | HTTP p99 | overhead p50 | overhead p99 |")
	fmt.Println("|---|---|---|---|---|")
	for j, name := range []string{"without monitoring", "with --monitoring"} {
		fmt.Printf("| %s | %s | %s | %s | %s |\n", name, us(percentile(lat[j], 50)), us(percentile(lat[j], 99)), us(percentile(over[j], 50)), us(percentile(over[j], 99)))
	}
	rows := int64(0)
	for _, w := range snap.Windows {
		rows += w.Rows
	}
	fmt.Printf("\nMonitoring: HTTP p50 %.2f× without it (%+.0f µs per request), overhead p50 %.2f×; the monitored server counted %d rows in %d window(s) (load average %s)\n",
		float64(percentile(lat[1], 50))/float64(percentile(lat[0], 50)),
		float64(percentile(lat[1], 50)-percentile(lat[0], 50))/float64(time.Microsecond),
		float64(percentile(over[1], 50))/float64(percentile(over[0], 50)), rows, len(snap.Windows), loadAverage())
	return nil
}

func getJSON(client *http.Client, url string, v any) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// benchClock is the simulated clock of the memory measurement.
type benchClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *benchClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *benchClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// memoryMeasured: monitoringMemory runs for the first model only.
var memoryMeasured bool

// heapInUse is the Go heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// monitoringMemory measures what the aggregates cost in memory: a server in this process, on a
// simulated clock, fills every one of its 60 one-minute windows with 2000 rows (100-row requests,
// remembered for no feedback), and another remembers 100,000 one-row requests for feedback. The
// sketch bytes are the server's own gauge; the heap growth is the Go heap after a collection,
// before and after the traffic.
func monitoringMemory(modelPath, digest string, features int) error {
	if memoryMeasured { // it does not depend on the model
		return nil
	}
	memoryMeasured = true
	fmt.Printf("\nMonitoring memory: %d features, in a server in this process on a simulated clock.\n\n", features)
	fmt.Println("| what | count | sketch bytes (rai_monitoring_sketch_bytes) | Go heap growth | per unit |")
	fmt.Println("|---|---|---|---|---|")
	rng := rand.New(rand.NewPCG(9, 9))
	request := func(rows int, id string) []byte {
		data := make([]float32, rows*features)
		for i := range data {
			data[i] = float32(rng.NormFloat64())
		}
		b, _ := json.Marshal(map[string]any{"id": id, "parameters": map[string]any{"group": []string{"female", "male"}[rng.IntN(2)]},
			"inputs": []any{map[string]any{"name": onnxwriter.InputName, "shape": []int{rows, features}, "datatype": "FP32", "data": data}}})
		return b
	}
	for _, c := range []struct {
		name                    string
		windows, requests, rows int
		feedbackRows            int
		unit                    string
	}{
		{"windows full (60 × 2000 rows)", 60, 20, 100, 1, "feature-window"},
		{"feedback IDs (one-row requests)", 1, 100_000, 1, monitoring.DefaultFeedbackRows, "ID"},
	} {
		clock := &benchClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		srv, err := serving.New(serving.Config{ModelURI: "file://" + modelPath, SHA256: digest, MaxBatchSize: 1,
			Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
			Monitoring: serving.MonitoringConfig{Enabled: true, FeedbackRows: c.feedbackRows, Now: clock.now}})
		if err != nil {
			return err
		}
		if err := srv.Load(context.Background()); err != nil {
			return err
		}
		h := srv.Handler()
		do := func(method, path string, body []byte) (*httptest.ResponseRecorder, error) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(method, path, bytes.NewReader(body)))
			if rec.Code != http.StatusOK {
				return nil, fmt.Errorf("%s %s: %d %s", method, path, rec.Code, rec.Body.String())
			}
			return rec, nil
		}
		before := heapInUse()
		for w := range c.windows {
			for i := range c.requests {
				if _, err := do(http.MethodPost, "/v2/models/model/infer", request(c.rows, strconv.Itoa(w*c.requests+i))); err != nil {
					return err
				}
			}
			clock.add(time.Minute)
		}
		clock.add(-time.Minute) // the last window stays open
		after := heapInUse()
		rec, err := do(http.MethodGet, "/metrics", nil)
		if err != nil {
			return err
		}
		sketchBytes := metricValue(rec.Body.String(), "rai_monitoring_sketch_bytes")
		ids := metricValue(rec.Body.String(), "rai_monitoring_feedback_ids")
		growth := float64(after) - float64(before)
		per := ""
		switch c.unit {
		case "feature-window":
			per = fmt.Sprintf("%.0f B per feature and window (sketch), %.0f B (heap)", sketchBytes/float64(features*c.windows), growth/float64(features*c.windows))
		case "ID":
			per = fmt.Sprintf("%.0f B per ID (heap, sketches excluded)", (growth-sketchBytes)/ids)
		}
		count := fmt.Sprintf("%d features × %d windows", features, c.windows)
		if c.unit == "ID" {
			count = fmt.Sprintf("%.0f IDs", ids)
		}
		fmt.Printf("| %s | %s | %s | %s | %s |\n", c.name, count, humanBytes(int(sketchBytes)), humanBytes(int(growth)), per)
		srv.Close()
	}
	return nil
}

func metricValue(text, name string) float64 {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `\{[^}]*\} (\S+)$`).FindStringSubmatch(text)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}
