package serving

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"

	"github.com/responsible-ai/rmodel-operator/internal/monitoring"
)

// MonitoringConfig configures what the server keeps for live monitoring: per time window, a
// sketch and count/min/max/mean of each input column, prediction counts per sensitive group, and
// the confusion counts per group that feedback (ground truth sent later, by inference ID) adds.
// Aggregates only: no row is stored (see docs/serving.md#monitoring). A zero field takes its
// default, except MinRows (0 withholds nothing) and Enabled.
type MonitoringConfig struct {
	// Enabled turns monitoring on; off, the monitoring and feedback endpoints answer 404.
	Enabled bool
	// Window is the length of a window (windows start at multiples of it since the Unix epoch, so
	// that replicas' windows line up); Windows how many of the most recent are kept.
	Window  time.Duration
	Windows int
	// GroupParameter names the request parameter holding the sensitive group (a string, number or
	// boolean for the whole request, or an array of them, one per row); GroupFeature, when set,
	// takes the group from a model input column instead: its 0-based index or its name in the
	// model's rai.features metadata.
	GroupParameter string
	GroupFeature   string
	// MaxGroups bounds the distinct groups counted; later ones count as other groups.
	MaxGroups int
	// Threshold: a row is a positive prediction when P(favorable) ≥ Threshold (0 means 0.5).
	Threshold float64
	// FeedbackRows is how many predicted rows are remembered (by a keyed hash of the inference
	// ID, with their group and prediction) for feedback; the oldest are forgotten first.
	FeedbackRows int
	// SketchK is the quantile sketches' size (monitoring.Sketch).
	SketchK int
	// MinRows: a window with fewer rows answers its counts but not its feature summaries.
	MinRows int
	// MaxFeatures bounds the input columns monitored: the first MaxFeatures.
	MaxFeatures int
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
}

// BindFlags registers the --monitoring flags of `rai serve` on f, with their defaults.
func (c *MonitoringConfig) BindFlags(f *pflag.FlagSet) {
	f.BoolVar(&c.Enabled, monitoring.FlagMonitoring, monitoring.DefaultEnabled,
		"keep live monitoring aggregates (feature sketches, predictions per group, feedback) and serve them at /v2/models/NAME/monitoring")
	f.DurationVar(&c.Window, monitoring.FlagWindow, monitoring.DefaultWindow, "length of a monitoring window")
	f.IntVar(&c.Windows, monitoring.FlagWindows, monitoring.DefaultWindows, "monitoring windows kept (the most recent)")
	f.StringVar(&c.GroupParameter, monitoring.FlagGroupParameter, monitoring.DefaultGroupParameter,
		"request parameter holding the sensitive group (one value, or an array with one per row)")
	f.StringVar(&c.GroupFeature, monitoring.FlagGroupFeature, "",
		"take the group from this model input column instead: INDEX (from 0) or NAME (the model's rai.features)")
	f.IntVar(&c.MaxGroups, monitoring.FlagMaxGroups, monitoring.DefaultMaxGroups, "most distinct groups counted; later ones count as other")
	f.Float64Var(&c.Threshold, monitoring.FlagThreshold, monitoring.DefaultThreshold, "a row is a positive prediction when P(favorable) ≥ threshold")
	f.IntVar(&c.FeedbackRows, monitoring.FlagFeedbackRows, monitoring.DefaultFeedbackRows,
		"predicted rows remembered for feedback by inference ID (the oldest are forgotten first)")
	f.IntVar(&c.SketchK, monitoring.FlagSketchK, monitoring.DefaultSketchK, "quantile sketch size k (rank error about 1.2% at 200, for one query at 99%)")
	f.IntVar(&c.MinRows, monitoring.FlagMinRows, monitoring.DefaultMinRows, "a window with fewer rows answers no feature summaries")
	f.IntVar(&c.MaxFeatures, monitoring.FlagMaxFeatures, monitoring.DefaultMaxFeatures, "input columns monitored (the first ones)")
}

// Unused lists the monitoring flags set on f while --monitoring is off: they would do nothing.
func (c *MonitoringConfig) Unused(f *pflag.FlagSet) []string {
	if c.Enabled {
		return nil
	}
	var names []string
	f.VisitAll(func(fl *pflag.Flag) {
		if fl.Changed && strings.HasPrefix(fl.Name, monitoring.FlagMonitoring+"-") {
			names = append(names, "--"+fl.Name)
		}
	})
	return names
}

func (c MonitoringConfig) withDefaults() MonitoringConfig {
	if c.Window == 0 {
		c.Window = monitoring.DefaultWindow
	}
	if c.Windows == 0 {
		c.Windows = monitoring.DefaultWindows
	}
	if c.GroupParameter == "" {
		c.GroupParameter = monitoring.DefaultGroupParameter
	}
	if c.MaxGroups == 0 {
		c.MaxGroups = monitoring.DefaultMaxGroups
	}
	if c.Threshold == 0 {
		c.Threshold = monitoring.DefaultThreshold
	}
	if c.FeedbackRows == 0 {
		c.FeedbackRows = monitoring.DefaultFeedbackRows
	}
	if c.SketchK == 0 {
		c.SketchK = monitoring.DefaultSketchK
	}
	if c.MaxFeatures == 0 {
		c.MaxFeatures = monitoring.DefaultMaxFeatures
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

func (c MonitoringConfig) check() error {
	switch {
	case c.Window < time.Second || c.Window%time.Second != 0:
		return fmt.Errorf("--%s %v: a whole number of seconds, at least 1s", monitoring.FlagWindow, c.Window)
	case c.Windows < 1 || c.Windows > 10_000:
		return fmt.Errorf("--%s %d: 1 to 10000", monitoring.FlagWindows, c.Windows)
	case c.MaxGroups < 1 || c.MaxGroups > 1000:
		return fmt.Errorf("--%s %d: 1 to 1000", monitoring.FlagMaxGroups, c.MaxGroups)
	case math.IsNaN(c.Threshold) || c.Threshold < 0 || c.Threshold > 1:
		return fmt.Errorf("--%s %v: 0 to 1", monitoring.FlagThreshold, c.Threshold)
	case c.FeedbackRows < 1:
		return fmt.Errorf("--%s %d: at least 1", monitoring.FlagFeedbackRows, c.FeedbackRows)
	case c.SketchK < 8 || c.SketchK > 1<<14:
		return fmt.Errorf("--%s %d: 8 to 16384", monitoring.FlagSketchK, c.SketchK)
	case c.MinRows < 0:
		return fmt.Errorf("--%s %d: not negative", monitoring.FlagMinRows, c.MinRows)
	case c.MaxFeatures < 1 || c.MaxFeatures > 4096:
		return fmt.Errorf("--%s %d: 1 to 4096", monitoring.FlagMaxFeatures, c.MaxFeatures)
	}
	return nil
}

// Group indices: every window counts per index; names are interned once per process.
const (
	groupNone  = 0 // no usable group
	groupOther = 1 // beyond MaxGroups
	firstGroup = 2
)

// monitor keeps the monitoring aggregates of one model. observe and feedback take its lock for
// the time it takes to add a request's rows; snapshots copy under it and encode outside.
type monitor struct {
	cfg    MonitoringConfig
	length time.Duration

	// Set by start, read-only afterwards.
	base      monitoring.Snapshot // the snapshot's fixed fields
	rowSize   int
	cols      int // input columns monitored: 0..cols-1
	groupCol  int // -1: the group comes from the request parameter
	predOut   int // -1: no prediction output
	predWidth int
	predCol   int

	mu         sync.Mutex
	groupIndex map[string]uint16
	floatGroup map[uint32]uint16 // a group column's float32 bits → index
	groupNames []string          // by index; [0] and [1] are the none and other labels
	windows    []*liveWindow     // oldest first
	ids        idStore
	met        *monitorMetrics
}

// liveWindow is one window being filled (the last) or kept.
type liveWindow struct {
	start          time.Time
	requests, rows int64
	features       []featureAcc
	groups         []monitoring.GroupCounts // by group index
	feedback       monitoring.FeedbackCounts
	trimmed        bool
}

type featureAcc struct {
	count    int64
	min, max float32
	sum      float64
	sketch   *monitoring.Sketch
}

func newMonitor(cfg MonitoringConfig, m *metrics) *monitor {
	if !cfg.Enabled {
		return nil
	}
	cfg = cfg.withDefaults()
	mon := &monitor{cfg: cfg, length: cfg.Window, groupIndex: map[string]uint16{}, floatGroup: map[uint32]uint16{},
		groupNames: []string{"(none)", "(other)"}}
	mon.met = m.registerMonitoring(monitorCollector{mon})
	mon.ids = newIDStore(cfg.FeedbackRows)
	return mon
}

// start binds the monitor to the loaded model: which columns it sketches and how they are named
// (the model's rai.features metadata), where the group comes from, which output is P(favorable).
func (m *monitor) start(model, version, sha string, spec InputSpec, outShapes [][]int64, meta map[string]string) error {
	if err := m.cfg.check(); err != nil {
		return err
	}
	m.rowSize = spec.rowSize()
	names := make([]string, m.rowSize)
	if fs := strings.Split(meta["rai.features"], ","); len(fs) == m.rowSize && meta["rai.features"] != "" {
		for i, f := range fs {
			names[i] = strings.TrimSpace(f)
		}
	} else {
		for i := range names {
			names[i] = fmt.Sprintf("input[%d]", i)
		}
	}
	m.cols = min(m.rowSize, m.cfg.MaxFeatures)
	m.groupCol = -1
	source := "parameter:" + m.cfg.GroupParameter
	if g := m.cfg.GroupFeature; g != "" {
		idx, err := strconv.Atoi(g)
		if err != nil {
			idx = -1
			for i, n := range names {
				if n == g {
					idx = i
				}
			}
			if idx < 0 {
				return fmt.Errorf("--%s %q: no input column of that name (the model's columns: %s)", monitoring.FlagGroupFeature, g, strings.Join(names, ", "))
			}
		}
		if idx < 0 || idx >= m.rowSize {
			return fmt.Errorf("--%s %d: the model has input columns 0 to %d", monitoring.FlagGroupFeature, idx, m.rowSize-1)
		}
		m.groupCol = idx
		source = "feature:" + names[idx]
	}
	m.predOut = -1
	output := ""
	if len(outShapes) > 0 {
		w := 1
		for _, d := range outShapes[0] {
			w *= int(d)
		}
		if w == 1 || w == 2 {
			m.predOut, m.predWidth, m.predCol, output = 0, w, w-1, spec.Outputs[0]
		}
	}
	m.base = monitoring.Snapshot{
		SchemaVersion: monitoring.SnapshotSchemaVersion, Model: model, Version: version, SHA256: sha,
		WindowSeconds: int64(m.length / time.Second), Threshold: m.cfg.Threshold, PredictionOutput: output,
		GroupSource: source, Features: names[:m.cols], InputFeatures: m.rowSize, MinRows: int64(m.cfg.MinRows), Replicas: 1,
	}
	return nil
}

// windowStart is the start of the window holding t: a multiple of the window length since the
// Unix epoch.
func (m *monitor) windowStart(t time.Time) time.Time {
	l := int64(m.length)
	return time.Unix(0, t.UnixNano()/l*l).UTC()
}

// current returns the window holding now, starting one (and retiring old ones) as time passes.
// A clock that went back keeps the last window. Call with mu held.
func (m *monitor) current(now time.Time) *liveWindow {
	start := m.windowStart(now)
	if n := len(m.windows); n > 0 && !m.windows[n-1].start.Before(start) {
		return m.windows[n-1]
	}
	m.expire(now)
	for _, w := range m.windows {
		w.trim()
	}
	w := &liveWindow{start: start, features: make([]featureAcc, m.cols)}
	m.windows = append(m.windows, w)
	return w
}

// expire drops the windows that started before the last Windows window slots. Call with mu held.
func (m *monitor) expire(now time.Time) {
	oldest := m.windowStart(now).Add(-time.Duration(m.cfg.Windows-1) * m.length)
	drop := 0
	for drop < len(m.windows) && m.windows[drop].start.Before(oldest) {
		drop++
	}
	if drop > 0 {
		clear(m.windows[:drop])
		m.windows = m.windows[drop:]
	}
}

// trim releases a closed window's spare sketch capacity, once.
func (w *liveWindow) trim() {
	if w.trimmed {
		return
	}
	for i := range w.features {
		if s := w.features[i].sketch; s != nil {
			s.Trim()
		}
	}
	w.trimmed = true
}

func (w *liveWindow) group(i uint16) *monitoring.GroupCounts {
	for int(i) >= len(w.groups) {
		w.groups = append(w.groups, monitoring.GroupCounts{})
	}
	return &w.groups[i]
}

// intern returns the index of a group value (its GroupKey). Call with mu held.
func (m *monitor) intern(value string) uint16 {
	if i, ok := m.groupIndex[value]; ok {
		return i
	}
	key := monitoring.GroupKey(value)
	if !monitoring.ValidGroupName(key) {
		return groupNone
	}
	if i, ok := m.groupIndex[key]; ok {
		m.rememberAlias(value, i)
		return i
	}
	if len(m.groupNames)-firstGroup >= m.cfg.MaxGroups {
		return groupOther
	}
	i := uint16(len(m.groupNames))
	m.groupNames = append(m.groupNames, key)
	m.groupIndex[key] = i
	m.rememberAlias(value, i)
	m.met.addGroup(key)
	return i
}

// rememberAlias maps a spelling of a group ("1.0" for "1") to its index, a bounded number of
// spellings per process.
func (m *monitor) rememberAlias(value string, i uint16) {
	if len(m.groupIndex) < 16*m.cfg.MaxGroups {
		m.groupIndex[value] = i
	}
}

func (m *monitor) internFloat(v float32) uint16 {
	bits := math.Float32bits(v)
	if i, ok := m.floatGroup[bits]; ok {
		return i
	}
	i := m.intern(strconv.FormatFloat(float64(v), 'g', -1, 32))
	if len(m.floatGroup) < 16*m.cfg.MaxGroups {
		m.floatGroup[bits] = i
	}
	return i
}

// requestGroups reads the group parameter of a request: one value for every row, or an array of
// one per row. ok is false when the parameter is absent or not of those shapes (the rows are then
// ungrouped; monitoring never fails a request).
func (m *monitor) requestGroups(params json.RawMessage, rows int) (one string, perRow []string, ok bool) {
	if len(params) == 0 {
		return "", nil, false
	}
	var p map[string]json.RawMessage
	if json.Unmarshal(params, &p) != nil {
		return "", nil, false
	}
	raw, found := p[m.cfg.GroupParameter]
	if !found {
		return "", nil, false
	}
	if v, ok := scalarGroup(raw); ok {
		return v, nil, true
	}
	var arr []json.RawMessage
	if json.Unmarshal(raw, &arr) != nil || len(arr) != rows {
		return "", nil, false
	}
	perRow = make([]string, rows)
	for i, r := range arr {
		v, ok := scalarGroup(r)
		if !ok {
			return "", nil, false
		}
		perRow[i] = v
	}
	return "", perRow, true
}

// scalarGroup is a JSON string, number or boolean as a group value. raw is valid JSON (the
// request decoded).
func scalarGroup(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false
	}
	switch c := raw[0]; {
	case c == '"':
		if inner := raw[1 : len(raw)-1]; bytes.IndexByte(inner, '\\') < 0 {
			return string(inner), true
		}
		var v string
		err := json.Unmarshal(raw, &v)
		return v, err == nil
	case c == 't' || c == 'f':
		return string(raw), true
	case c == '-' || c >= '0' && c <= '9':
		f, err := strconv.ParseFloat(string(raw), 64)
		if err != nil {
			return "", false
		}
		return strconv.FormatFloat(f, 'g', -1, 64), true
	}
	return "", false
}

// observe adds one answered request: its rows' features to the current window's summaries, its
// predictions to its groups' counts, and its ID with each row's group and prediction to the
// feedback store. It never fails the request. Safe on a nil monitor (monitoring off).
func (m *monitor) observe(req *InferRequest, id string, outs [][]float32) {
	if m == nil {
		return
	}
	var one string
	var perRow []string
	grouped := false
	if m.groupCol < 0 {
		one, perRow, grouped = m.requestGroups(req.Parameters, req.Rows)
	}
	var pred []float32
	if m.predOut >= 0 {
		pred = outs[m.predOut]
	}
	key := m.ids.key(id)
	now := m.cfg.Now()

	m.mu.Lock()
	defer m.mu.Unlock()
	w := m.current(now)
	w.requests++
	w.rows += int64(req.Rows)
	data, rs := req.Data, m.rowSize
	for j := range w.features {
		f := &w.features[j]
		if f.sketch == nil {
			f.sketch = monitoring.NewSketch(m.cfg.SketchK)
			f.min, f.max = float32(math.Inf(1)), float32(math.Inf(-1))
		}
		for r := range req.Rows {
			v := data[r*rs+j]
			f.sketch.Add(v)
			f.min, f.max = min(f.min, v), max(f.max, v)
			f.sum += float64(v)
		}
		f.count += int64(req.Rows)
	}
	var gbuf [8]uint16
	var pbuf [8]bool
	groups, positives := gbuf[:0], pbuf[:0]
	uniform := uint16(groupNone)
	if grouped && perRow == nil {
		uniform = m.intern(one)
	}
	for r := range req.Rows {
		g := uniform
		switch {
		case m.groupCol >= 0:
			g = m.internFloat(data[r*rs+m.groupCol])
		case perRow != nil:
			g = m.intern(perRow[r])
		}
		positive := pred != nil && float64(pred[r*m.predWidth+m.predCol]) >= m.cfg.Threshold
		c := w.group(g)
		c.Predictions++
		m.met.predictions[g].Inc()
		if positive {
			c.Positives++
			m.met.positives[g].Inc()
		}
		groups = append(groups, g)
		positives = append(positives, positive)
	}
	m.ids.put(key, groups, positives)
}

// snapshot is the monitoring answer: the last n windows (all kept when n ≤ 0).
func (m *monitor) snapshot(n int) monitoring.Snapshot {
	now := m.cfg.Now()
	s := m.base
	s.Features = append([]string(nil), m.base.Features...)
	s.GeneratedAt = now.UTC()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.expire(now)
	ws := m.windows
	if n > 0 && n < len(ws) {
		ws = ws[len(ws)-n:]
	}
	s.Windows = make([]monitoring.Window, 0, len(ws))
	for _, w := range ws {
		s.Windows = append(s.Windows, m.export(w, now))
	}
	return s
}

// export copies a window for the answer. Call with mu held.
func (m *monitor) export(w *liveWindow, now time.Time) monitoring.Window {
	end := w.start.Add(m.length)
	out := monitoring.Window{Start: w.start, End: end, Open: now.Before(end), Requests: w.requests, Rows: w.rows,
		Feedback: w.feedback, Groups: []monitoring.GroupCounts{}, Features: []monitoring.FeatureSummary{}}
	if w.rows < int64(m.cfg.MinRows) {
		out.WithheldRows = w.rows
	} else {
		for _, f := range w.features {
			fs := monitoring.FeatureSummary{Count: f.count}
			if f.sketch != nil {
				fs.Min, fs.Max, fs.Mean, fs.Sketch = float64(f.min), float64(f.max), f.sum/float64(max(f.count, 1)), f.sketch.Clone()
			} else {
				fs.Sketch = monitoring.NewSketch(m.cfg.SketchK)
			}
			out.Features = append(out.Features, fs)
		}
	}
	for i, g := range w.groups {
		switch {
		case i == groupNone:
			out.Ungrouped = g
		case i == groupOther:
			out.OtherGroups = g
		case g.Predictions > 0 || g.Confusion.Labelled() > 0:
			g.Name = m.groupNames[i]
			out.Groups = append(out.Groups, g)
		}
	}
	sortGroups(out.Groups)
	return out
}

func sortGroups(g []monitoring.GroupCounts) {
	slices.SortFunc(g, func(a, b monitoring.GroupCounts) int { return strings.Compare(a.Name, b.Name) })
}

// lastComplete is the newest window that has ended, for the quantile gauges. Call with mu held.
func (m *monitor) lastComplete(now time.Time) *liveWindow {
	for i := len(m.windows) - 1; i >= 0; i-- {
		if w := m.windows[i]; !now.Before(w.start.Add(m.length)) {
			return w
		}
	}
	return nil
}

// sketchBytes is the memory the kept windows' sketches take. Call with mu held.
func (m *monitor) sketchBytes() int {
	b := 0
	for _, w := range m.windows {
		for _, f := range w.features {
			if f.sketch != nil {
				b += f.sketch.Bytes()
			}
		}
	}
	return b
}

// routeMonitoring registers the monitoring and feedback endpoints (404 while monitoring is off).
func (s *Server) routeMonitoring() {
	for _, prefix := range []string{"/v2/models/{name}", "/v2/models/{name}/versions/{version}"} {
		s.mux.HandleFunc("GET "+prefix+"/monitoring", s.handleMonitoring)
		s.mux.HandleFunc("POST "+prefix+"/feedback", s.handleFeedback)
	}
}

func (s *Server) monitoringOn(w http.ResponseWriter, r *http.Request) bool {
	if !s.checkModel(w, r) {
		return false
	}
	if s.monitor == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("monitoring is off: rai serve keeps no monitoring data without --%s", monitoring.FlagMonitoring))
		return false
	}
	return true
}

// handleMonitoring answers GET …/monitoring[?windows=N] with a monitoring.Snapshot.
func (s *Server) handleMonitoring(w http.ResponseWriter, r *http.Request) {
	if !s.monitoringOn(w, r) {
		return
	}
	n, err := parseMonitoringQuery(r.URL.Query(), s.monitor.cfg.Windows)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, s.monitor.snapshot(n))
}

// parseMonitoringQuery accepts only windows=N with 1 ≤ N ≤ kept; no parameter is every window.
func parseMonitoringQuery(q url.Values, kept int) (int, error) {
	for k := range q {
		if k != monitoring.WindowsParam {
			return 0, fmt.Errorf("unknown query parameter %q: the monitoring endpoint takes %s=N only", k, monitoring.WindowsParam)
		}
	}
	vals, ok := q[monitoring.WindowsParam]
	if !ok {
		return 0, nil
	}
	if len(vals) != 1 {
		return 0, fmt.Errorf("%s given %d times", monitoring.WindowsParam, len(vals))
	}
	n, err := strconv.Atoi(vals[0])
	if err != nil || n < 1 || n > kept {
		return 0, fmt.Errorf("%s=%q: want a whole number from 1 to %d (the windows this server keeps)", monitoring.WindowsParam, vals[0], kept)
	}
	return n, nil
}

// monitorCollector answers the monitoring gauges at scrape time.
type monitorCollector struct{ m *monitor }

// gaugeQuantiles are the quantiles rai_monitoring_feature_quantile reports.
var gaugeQuantiles = []float64{0.1, 0.5, 0.9}

func (c monitorCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descFeatureMean, descFeatureQuantile, descSketchBytes, descRememberedIDs, descWindows} {
		ch <- d
	}
}

func (c monitorCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.m
	model := m.met.model
	now := m.cfg.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.expire(now)
	ch <- prometheus.MustNewConstMetric(descSketchBytes, prometheus.GaugeValue, float64(m.sketchBytes()), model)
	ch <- prometheus.MustNewConstMetric(descRememberedIDs, prometheus.GaugeValue, float64(m.ids.remembered()), model)
	ch <- prometheus.MustNewConstMetric(descWindows, prometheus.GaugeValue, float64(len(m.windows)), model)
	w := m.lastComplete(now)
	if w == nil || w.rows < int64(m.cfg.MinRows) || len(m.base.Features) == 0 {
		return
	}
	for j, f := range w.features {
		if f.count == 0 {
			continue
		}
		name := m.base.Features[j]
		ch <- prometheus.MustNewConstMetric(descFeatureMean, prometheus.GaugeValue, f.sum/float64(f.count), model, name)
		for i, q := range f.sketch.Quantiles(gaugeQuantiles...) {
			ch <- prometheus.MustNewConstMetric(descFeatureQuantile, prometheus.GaugeValue, q, model, name, strconv.FormatFloat(gaugeQuantiles[i], 'g', -1, 64))
		}
	}
}
