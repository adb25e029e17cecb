package serving

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/responsible-ai/rmodel-operator/internal/monitoring"
	"github.com/responsible-ai/rmodel-operator/internal/onnxwriter"
)

// fakeClock is a settable clock for windows.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// monitoredModel writes an MLP of features inputs whose rai.features metadata names them.
func monitoredModel(t *testing.T, names ...string) (onnxwriter.MLP, string, string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(21, 22))
	m := onnxwriter.RandomMLP(rng.Float64, len(names), 8)
	data, err := m.Marshal(onnxwriter.ModelInfo{ModelVersion: 2, Metadata: map[string]string{"rai.features": strings.Join(names, ",")}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "model.onnx")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return m, "file://" + path, hex.EncodeToString(sum[:])
}

func monitoredServer(t *testing.T, mc MonitoringConfig, names ...string) (*testServer, onnxwriter.MLP, *fakeClock) {
	t.Helper()
	m, uri, sum := monitoredModel(t, names...)
	clock := &fakeClock{t: time.Date(2026, 12, 1, 10, 0, 30, 0, time.UTC)}
	mc.Enabled = true
	if mc.Now == nil {
		mc.Now = clock.Now
	}
	ts := startServer(t, Config{ModelURI: uri, SHA256: sum, Name: "credit", MaxBatchSize: 1, Monitoring: mc})
	return ts, m, clock
}

// inferWith posts rows with the given request parameters and returns the response's id.
func inferWith(t *testing.T, ts *testServer, id string, params any, rows [][]float32) InferResponse {
	t.Helper()
	req := map[string]any{"inputs": []any{map[string]any{"name": "features", "shape": []int{len(rows), len(rows[0])}, "datatype": "FP32", "data": rows}}}
	if id != "" {
		req["id"] = id
	}
	if params != nil {
		req["parameters"] = params
	}
	b, _ := json.Marshal(req)
	r := post(t, ts.url+"/v2/models/credit/infer", string(b))
	if r.status != http.StatusOK {
		t.Fatalf("infer: %d %s", r.status, r.errMsg)
	}
	return r.resp
}

func snapshotOf(t *testing.T, ts *testServer, query string) monitoring.Snapshot {
	t.Helper()
	resp, err := http.Get(ts.url + "/v2/models/credit/monitoring" + query)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("monitoring%s: %d %s", query, resp.StatusCode, body)
	}
	var s monitoring.Snapshot
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	return s
}

// positive is the Go reference's prediction at the default threshold.
func positive(m onnxwriter.MLP, row []float32) bool { return m.Predict(row) >= 0.5 }

func TestMonitoringCountsGroupsFromTheRequestParameter(t *testing.T) {
	ts, m, _ := monitoredServer(t, MonitoringConfig{}, "income", "debt", "region_score")
	rng := rand.New(rand.NewPCG(1, 2))
	type want struct{ n, pos int64 }
	wants := map[string]*want{"female": {}, "male": {}, "1": {}}
	var ungrouped int64
	var all [][]float32
	for i := range 40 {
		rows := randomRows(rng, 1+i%3, 3)
		all = append(all, rows...)
		var params any
		var groups []string
		switch i % 5 {
		case 0, 1:
			g := []string{"female", "male"}[i%2]
			params, groups = map[string]any{"group": g}, slices.Repeat([]string{g}, len(rows))
		case 2: // one group per row, and a number: 1.0 is the group "1"
			var per []any
			for r := range rows {
				if r%2 == 0 {
					per = append(per, "male")
					groups = append(groups, "male")
				} else {
					per = append(per, 1.0)
					groups = append(groups, "1")
				}
			}
			params = map[string]any{"group": per}
		case 3: // no group
			params = map[string]any{"other": "x"}
		case 4: // not a usable group: an object, or an array of the wrong length
			params = map[string]any{"group": map[string]any{"a": 1}}
			if i%2 == 0 {
				params = map[string]any{"group": []string{"a", "b", "c", "d"}}
			}
		}
		inferWith(t, ts, "", params, rows)
		for r, row := range rows {
			if groups == nil {
				ungrouped++
				continue
			}
			w := wants[groups[r]]
			w.n++
			if positive(m, row) {
				w.pos++
			}
		}
	}
	s := snapshotOf(t, ts, "")
	if s.Model != "credit" || s.Version != "2" || s.SHA256 != ts.modelSHA || s.GroupSource != "parameter:group" || !slices.Equal(s.Features, []string{"income", "debt", "region_score"}) ||
		s.PredictionOutput != "probability" || s.Threshold != 0.5 || s.WindowSeconds != 60 || len(s.Windows) != 1 {
		t.Fatalf("snapshot header %+v", s)
	}
	w := s.Windows[0]
	if !w.Open || w.Requests != 40 || w.Rows != int64(len(all)) || !w.Start.Equal(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("window %v open %v: %d requests, %d rows", w.Start, w.Open, w.Requests, w.Rows)
	}
	if w.Ungrouped.Predictions != ungrouped {
		t.Errorf("ungrouped %d, want %d", w.Ungrouped.Predictions, ungrouped)
	}
	if len(w.Groups) != 3 {
		t.Fatalf("groups %+v", w.Groups)
	}
	for name, want := range wants {
		g := w.Group(name)
		if g.Predictions != want.n || g.Positives != want.pos {
			t.Errorf("group %s: %d predictions, %d positive; want %d, %d", name, g.Predictions, g.Positives, want.n, want.pos)
		}
	}
	// Feature summaries against the exact values.
	for j, f := range w.Features {
		lo, hi, sum := math.Inf(1), math.Inf(-1), 0.0
		for _, row := range all {
			lo, hi, sum = math.Min(lo, float64(row[j])), math.Max(hi, float64(row[j])), sum+float64(row[j])
		}
		if f.Count != int64(len(all)) || f.Min != lo || f.Max != hi || math.Abs(f.Mean-sum/float64(len(all))) > 1e-9 || f.Sketch.Count() != f.Count {
			t.Errorf("feature %d: %+v; want min %v max %v mean %v", j, f, lo, hi, sum/float64(len(all)))
		}
	}
	text := scrape(t, ts)
	for metric, want := range map[string]float64{
		`rai_monitoring_predictions_total{group="female",model="credit"}`:        float64(wants["female"].n),
		`rai_monitoring_positive_predictions_total{group="male",model="credit"}`: float64(wants["male"].pos),
		`rai_monitoring_predictions_total{group="(none)",model="credit"}`:        float64(ungrouped),
		`rai_monitoring_windows{model="credit"}`:                                 1,
		`rai_monitoring_feedback_ids{model="credit"}`:                            40,
	} {
		if got, ok := metricValue(text, metric); !ok || got != want {
			t.Errorf("%s = %v (found %v), want %v", metric, got, ok, want)
		}
	}
}

func scrape(t *testing.T, ts *testServer) string {
	t.Helper()
	resp, err := http.Get(ts.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestMonitoringTakesTheGroupFromAFeature(t *testing.T) {
	for _, feature := range []string{"2", "sex"} {
		t.Run(feature, func(t *testing.T) {
			ts, m, _ := monitoredServer(t, MonitoringConfig{GroupFeature: feature, MaxGroups: 2}, "income", "debt", "sex")
			rng := rand.New(rand.NewPCG(3, 4))
			counts := map[string][2]int64{}
			for i := range 30 {
				rows := randomRows(rng, 2, 3)
				rows[0][2], rows[1][2] = float32(i%2), float32(i%3) // 0, 1 and 2: 2 is a third group
				// The parameter is ignored when the group is a feature.
				inferWith(t, ts, "", map[string]any{"group": "female"}, rows)
				for _, row := range rows {
					key := fmt.Sprint(row[2])
					if key == "2" {
						key = "(other)"
					}
					c := counts[key]
					c[0]++
					if positive(m, row) {
						c[1]++
					}
					counts[key] = c
				}
			}
			w := snapshotOf(t, ts, "").Windows[0]
			if s := snapshotOf(t, ts, ""); s.GroupSource != "feature:sex" {
				t.Errorf("group source %q", s.GroupSource)
			}
			for _, name := range []string{"0", "1"} {
				if g := w.Group(name); g.Predictions != counts[name][0] || g.Positives != counts[name][1] {
					t.Errorf("group %s: %+v, want %v", name, g, counts[name])
				}
			}
			if w.OtherGroups.Predictions != counts["(other)"][0] || len(w.Groups) != 2 || w.Group("female").Predictions != 0 {
				t.Errorf("other groups %+v (want %v), groups %+v", w.OtherGroups, counts["(other)"], w.Groups)
			}
		})
	}
	_, uri, sum := monitoredModel(t, "income", "debt")
	srv, err := New(Config{ModelURI: uri, SHA256: sum, Monitoring: MonitoringConfig{Enabled: true, GroupFeature: "sex"}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.Load(context.Background()); err == nil || !strings.Contains(err.Error(), `--monitoring-group-feature "sex": no input column of that name (the model's columns: income, debt)`) {
		t.Errorf("unknown group feature: %v", err)
	}
}

func postFeedback(t *testing.T, ts *testServer, body string) (int, monitoring.FeedbackResult, string) {
	t.Helper()
	resp, err := http.Post(ts.url+"/v2/models/credit/feedback", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var r monitoring.FeedbackResult
	var e struct{ Error string }
	json.Unmarshal(raw, &r)
	json.Unmarshal(raw, &e)
	return resp.StatusCode, r, e.Error
}

func TestFeedbackUpdatesConfusionCountsPerGroup(t *testing.T) {
	ts, m, clock := monitoredServer(t, MonitoringConfig{}, "a", "b", "c")
	rng := rand.New(rand.NewPCG(5, 6))
	want := map[string]*monitoring.Confusion{"female": {}, "male": {}}
	tally := func(group string, row []float32, label bool) {
		c := want[group]
		switch p := positive(m, row); {
		case p && label:
			c.TP++
		case p:
			c.FP++
		case label:
			c.FN++
		default:
			c.TN++
		}
	}
	var items []monitoring.FeedbackItem
	for i := range 20 {
		g := []string{"female", "male"}[i%2]
		rows := randomRows(rng, 1, 3)
		id := inferWith(t, ts, fmt.Sprintf("req-%d", i), map[string]any{"group": g}, rows).ID
		label := i%3 == 0
		if i < 10 {
			l := 0
			if label {
				l = 1
			}
			code, res, msg := postFeedback(t, ts, fmt.Sprintf(`{"id":%q,"label":%d}`, id, l))
			if code != http.StatusOK || res.Accepted != 1 || res.LabelledRows != 1 {
				t.Fatalf("feedback %s: %d %+v %s", id, code, res, msg)
			}
			tally(g, rows[0], label)
		} else if i < 18 {
			l := 0
			if label {
				l = 1
			}
			items = append(items, monitoring.FeedbackItem{ID: id, Label: &l})
			tally(g, rows[0], label)
		}
	}
	// A request of three rows, its groups per row, labelled with "labels".
	rows := randomRows(rng, 3, 3)
	multi := inferWith(t, ts, "", map[string]any{"group": []string{"female", "male", "female"}}, rows).ID
	if len(multi) != 32 {
		t.Fatalf("generated id %q", multi)
	}
	items = append(items, monitoring.FeedbackItem{ID: multi, Labels: []int{1, 0, 1}})
	tally("female", rows[0], true)
	tally("male", rows[1], false)
	tally("female", rows[2], true)
	// A batch: accepted ones, an unknown id, a duplicate, a wrong number of labels.
	one := 1
	items = append(items, monitoring.FeedbackItem{ID: "never-seen", Label: &one}, monitoring.FeedbackItem{ID: "req-0", Label: &one},
		monitoring.FeedbackItem{ID: "req-18", Labels: []int{1, 1}})
	res, err := monitoring.PostFeedback(context.Background(), nil, ts.url, "credit", items)
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 9 || res.LabelledRows != 11 || res.Unknown != 1 || res.Duplicate != 1 || res.Invalid != 1 || len(res.Rejected) != 3 {
		t.Fatalf("batch: %+v", res)
	}
	if r := res.Rejected[0]; r.ID != "never-seen" || r.Result != "unknown" || !strings.Contains(r.Reason, "unknown inference id") {
		t.Errorf("rejected %+v", r)
	}
	w := snapshotOf(t, ts, "").Windows[0]
	for g, c := range want {
		if got := w.Group(g).Confusion; got != *c {
			t.Errorf("group %s: confusion %+v, want %+v", g, got, *c)
		}
	}
	if w.Feedback != (monitoring.FeedbackCounts{Accepted: 19, LabelledRows: 21, Unknown: 1, Duplicate: 1, Invalid: 1}) {
		t.Errorf("feedback counts %+v", w.Feedback)
	}
	// Single items: unknown 404, duplicate 409, bad label 400, malformed 400.
	for _, c := range []struct {
		body string
		code int
		want string
	}{
		{`{"id":"nope","label":1}`, 404, `unknown inference id "nope": never answered by this server, or older than the 100000 rows`},
		{`{"id":"req-1","label":0}`, 409, `inference id "req-1" already has feedback`},
		{`{"id":"req-19","label":2}`, 400, "label 2 is not 0 or 1"},
		{`{"id":"req-19"}`, 400, `no "label"`},
		{`{"id":"req-19","label":1,"feedback":[]}`, 400, "not both"},
		{`{"label":1}`, 400, `feedback needs "id"`},
		{`{"id":`, 400, "invalid feedback JSON"},
	} {
		if code, _, msg := postFeedback(t, ts, c.body); code != c.code || !strings.Contains(msg, c.want) {
			t.Errorf("%s: %d %q, want %d %q", c.body, code, msg, c.code, c.want)
		}
	}
	// Feedback arriving in a later window is counted there.
	clock.Add(time.Minute)
	if code, _, msg := postFeedback(t, ts, `{"id":"req-19","label":true}`); code != 200 {
		t.Fatalf("late feedback: %d %s", code, msg)
	}
	s := snapshotOf(t, ts, "")
	if len(s.Windows) != 2 || s.Windows[1].Feedback.Accepted != 1 || s.Windows[1].Rows != 0 || s.Windows[1].Group("male").Confusion.Labelled() != 1 {
		t.Errorf("late feedback window %+v", s.Windows[len(s.Windows)-1])
	}
	text := scrape(t, ts)
	if v, _ := metricValue(text, `rai_monitoring_feedback_total{model="credit",result="unknown"}`); v != 2 {
		t.Errorf("unknown feedback metric %v", v)
	}
	if v, _ := metricValue(text, `rai_monitoring_feedback_rows_total{group="female",model="credit",outcome="tp"}`); v != float64(want["female"].TP) {
		t.Errorf("female tp metric %v, want %d", v, want["female"].TP)
	}
}

func TestFeedbackForgetsTheOldestPredictions(t *testing.T) {
	ts, _, _ := monitoredServer(t, MonitoringConfig{FeedbackRows: 4}, "a", "b")
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range 6 {
		inferWith(t, ts, fmt.Sprintf("id-%d", i), map[string]any{"group": "g"}, randomRows(rng, 1, 2))
	}
	// A request answered again under an old id replaces it; one larger than the store is not kept.
	inferWith(t, ts, "big", nil, randomRows(rng, 5, 2))
	for i, want := range []int{404, 404, 200, 200, 200, 200} {
		if code, _, msg := postFeedback(t, ts, fmt.Sprintf(`{"id":"id-%d","label":1}`, i)); code != want {
			t.Errorf("id-%d: %d %s, want %d", i, code, msg, want)
		}
	}
	if code, _, _ := postFeedback(t, ts, `{"id":"big","labels":[1,1,1,1,1]}`); code != 404 {
		t.Errorf("a request larger than the store: %d", code)
	}
}

func TestMonitoringWindowsRollAndAreChosenByQuery(t *testing.T) {
	ts, _, clock := monitoredServer(t, MonitoringConfig{Window: time.Minute, Windows: 3}, "a", "b")
	rng := rand.New(rand.NewPCG(9, 10))
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for i := range 5 { // windows 10:00 … 10:04, i+1 requests in each
		for range i + 1 {
			inferWith(t, ts, "", map[string]any{"group": "g"}, randomRows(rng, 1, 2))
		}
		if i < 4 {
			clock.Add(time.Minute)
		}
	}
	s := snapshotOf(t, ts, "")
	if len(s.Windows) != 3 {
		t.Fatalf("%d windows kept, want 3", len(s.Windows))
	}
	for k, w := range s.Windows {
		i := k + 2
		if !w.Start.Equal(start.Add(time.Duration(i)*time.Minute)) || !w.End.Equal(w.Start.Add(time.Minute)) || w.Requests != int64(i+1) || w.Open != (i == 4) {
			t.Errorf("window %d: %v–%v, %d requests, open %v", k, w.Start, w.End, w.Requests, w.Open)
		}
	}
	if s := snapshotOf(t, ts, "?windows=2"); len(s.Windows) != 2 || s.Windows[0].Requests != 4 {
		t.Errorf("windows=2: %d windows", len(s.Windows))
	}
	// The last complete window feeds the gauges.
	text := scrape(t, ts)
	if _, ok := metricValue(text, `rai_monitoring_feature_quantile{feature="a",model="credit",quantile="0.5"}`); !ok {
		t.Errorf("no quantile gauge:\n%s", grepLines(text, "rai_monitoring_feature"))
	}
	// Time passes with no traffic: windows expire on reading.
	clock.Add(2 * time.Minute)
	if s := snapshotOf(t, ts, ""); len(s.Windows) != 1 || s.Windows[0].Open {
		t.Errorf("after two idle minutes: %+v", s.Windows)
	}
	clock.Add(time.Hour)
	if s := snapshotOf(t, ts, ""); len(s.Windows) != 0 {
		t.Errorf("after an hour: %d windows", len(s.Windows))
	}
}

func grepLines(text, prefix string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestMonitoringRejectsBadQueriesAndIsOffByDefault(t *testing.T) {
	ts, _, _ := monitoredServer(t, MonitoringConfig{Windows: 5}, "a", "b")
	for _, q := range []string{"?windows=0", "?windows=-1", "?windows=abc", "?windows=6", "?windows=1&windows=2", "?window=1", "?windows="} {
		var e map[string]string
		if code := getJSON(t, ts.url+"/v2/models/credit/monitoring"+q, &e); code != http.StatusBadRequest || e["error"] == "" {
			t.Errorf("%s: %d %v", q, code, e)
		}
	}
	var e map[string]string
	if code := getJSON(t, ts.url+"/v2/models/other/monitoring", &e); code != 404 || !strings.Contains(e["error"], `unknown model "other"`) {
		t.Errorf("other model: %d %v", code, e)
	}
	var snap map[string]any
	if code := getJSON(t, ts.url+"/v2/models/credit/versions/2/monitoring", &snap); code != 200 || snap["version"] != "2" {
		t.Errorf("versioned path: %d %v", code, snap)
	}
	if code := getJSON(t, ts.url+"/v2/models/credit/versions/9/monitoring", &e); code != 404 {
		t.Errorf("other version: %d %v", code, e)
	}
	_, uri, sum := testModel(t, 2)
	off := startServer(t, Config{ModelURI: uri, SHA256: sum, Name: "credit"})
	for _, path := range []string{"/v2/models/credit/monitoring"} {
		if code := getJSON(t, off.url+path, &e); code != 404 || !strings.Contains(e["error"], "monitoring is off") {
			t.Errorf("off: %d %v", code, e)
		}
	}
	if r := post(t, off.url+"/v2/models/credit/feedback", `{"id":"x","label":1}`); r.status != 404 || !strings.Contains(r.errMsg, "--monitoring") {
		t.Errorf("feedback with monitoring off: %+v", r)
	}
	if strings.Contains(scrape(t, off), "rai_monitoring_") {
		t.Error("monitoring series without --monitoring")
	}
}

// TestMonitoringKeepsNoRawRows: the answer and the metrics carry no inference ID and, below
// --monitoring-min-rows, no feature value; above it, each feature's values are sorted separately,
// so no row can be read back. (In memory, IDs are keyed hashes by type, idKey, and each sketch
// shuffles its level 0 independently: monitoring's TestSketchLevelZeroIsShuffled.)
func TestMonitoringKeepsNoRawRows(t *testing.T) {
	ts, _, _ := monitoredServer(t, MonitoringConfig{MinRows: 5}, "a", "b", "c")
	secret := [][]float32{{1234.5, -987.25, 4242.125}}
	inferWith(t, ts, "patient-7-id", map[string]any{"group": "g"}, secret)
	body := rawSnapshot(t, ts)
	for _, s := range []string{"1234.5", "987.25", "4242.125", "patient-7-id"} {
		if strings.Contains(body, s) || strings.Contains(scrape(t, ts), s) {
			t.Errorf("%q in the monitoring answer or the metrics of a one-row window", s)
		}
	}
	if w := snapshotOf(t, ts, "").Windows[0]; w.WithheldRows != 1 || len(w.Features) != 0 {
		t.Errorf("below min rows: withheld %d, %d summaries", w.WithheldRows, len(w.Features))
	}
	rng := rand.New(rand.NewPCG(11, 12))
	var rows [][]float32
	for range 40 {
		row := randomRows(rng, 1, 3)
		rows = append(rows, row[0])
		inferWith(t, ts, "", nil, row)
	}
	var s struct {
		Windows []struct {
			Features []struct {
				Sketch struct{ Levels [][]float32 }
			}
		}
	}
	if err := json.Unmarshal([]byte(rawSnapshot(t, ts)), &s); err != nil {
		t.Fatal(err)
	}
	for j, f := range s.Windows[0].Features {
		for h, l := range f.Sketch.Levels {
			if !slices.IsSorted(l) {
				t.Errorf("feature %d level %d is not sorted: arrival order would link the features' values into rows", j, h)
			}
		}
	}
}

func rawSnapshot(t *testing.T, ts *testServer) string {
	t.Helper()
	resp, err := http.Get(ts.url + "/v2/models/credit/monitoring")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestFetchWindowReadsTheServer: the operator's client reads and validates a real server's answer.
func TestFetchWindowReadsTheServer(t *testing.T) {
	ts, _, _ := monitoredServer(t, MonitoringConfig{}, "a", "b")
	rng := rand.New(rand.NewPCG(13, 14))
	for range 30 {
		inferWith(t, ts, "", map[string]any{"group": "g"}, randomRows(rng, 2, 2))
	}
	s, err := monitoring.FetchWindow(context.Background(), nil, ts.url, "credit", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Windows) != 1 || s.Windows[0].Rows != 60 || s.Windows[0].Features[1].Sketch.Count() != 60 {
		t.Errorf("%+v", s.Windows)
	}
}

// BenchmarkMonitorObserve is the monitor's share of a one-row request of 20 features with a
// group parameter and a fresh id (go test -bench MonitorObserve ./serving/).
func BenchmarkMonitorObserve(b *testing.B) {
	m := newMonitor(MonitoringConfig{Enabled: true}, newMetrics("bench"))
	spec := InputSpec{Name: "features", Shape: []int64{-1, 20}, Outputs: []string{"probability"}}
	if err := m.start("bench", "1", "abc", spec, [][]int64{{1}}, nil); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	reqs := make([]*InferRequest, 1024)
	for i := range reqs {
		data := make([]float32, 20)
		for j := range data {
			data[j] = float32(rng.NormFloat64())
		}
		reqs[i] = &InferRequest{Rows: 1, Data: data, Parameters: json.RawMessage(`{"group":"` + []string{"female", "male"}[i%2] + `"}`)}
	}
	outs := [][]float32{{0.7}}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m.observe(reqs[i%len(reqs)], fmt.Sprintf("id-%d", i), outs)
	}
}

// TestMonitoringUnderConcurrentTraffic: requests, feedback, snapshots and scrapes at once (run
// with -race), with dynamic batching; every row is counted once.
func TestMonitoringUnderConcurrentTraffic(t *testing.T) {
	_, uri, sum := monitoredModel(t, "a", "b", "c")
	ts := startServer(t, Config{ModelURI: uri, SHA256: sum, Name: "credit", MaxBatchSize: 16, MaxBatchDelay: time.Millisecond,
		Monitoring: MonitoringConfig{Enabled: true, Window: time.Second}})
	var wg sync.WaitGroup
	const workers, each = 4, 40
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			for i := range each {
				id := fmt.Sprintf("w%d-%d", w, i)
				inferWith(t, ts, id, map[string]any{"group": []string{"x", "y", "z"}[i%3]}, randomRows(rng, 1, 3))
				if i%2 == 0 {
					postFeedback(t, ts, fmt.Sprintf(`{"id":%q,"label":%d}`, id, i%4/2))
				}
			}
		}()
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Add(1)
	go func() {
		defer readers.Done()
		for {
			select {
			case <-stop:
				return
			default:
				snapshotOf(t, ts, "")
				scrape(t, ts)
			}
		}
	}()
	wg.Wait()
	close(stop)
	readers.Wait()
	s := snapshotOf(t, ts, "")
	var rows, predicted, labelled int64
	for _, w := range s.Windows {
		rows += w.Rows
		labelled += w.Feedback.LabelledRows
		for _, g := range w.Groups {
			predicted += g.Predictions
		}
	}
	if rows != workers*each || predicted != rows || labelled != workers*each/2 {
		t.Errorf("rows %d, predicted %d, labelled %d; want %d, %d, %d", rows, predicted, labelled, workers*each, workers*each, workers*each/2)
	}
}
