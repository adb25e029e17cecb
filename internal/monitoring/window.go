package monitoring

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// SnapshotSchemaVersion is the schema of the monitoring endpoint's answer.
const SnapshotSchemaVersion = "rai.monitoring/v1"

// Snapshot is what GET /v2/models/{name}/monitoring answers: the server's recent windows for one
// model. Merge combines the snapshots of several replicas.
type Snapshot struct {
	SchemaVersion string `json:"schema_version"`
	// Model, Version and SHA256 identify the model served.
	Model   string `json:"model"`
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
	// WindowSeconds is the length of every window; windows start at multiples of it since the Unix
	// epoch, so replicas' windows line up.
	WindowSeconds int64 `json:"window_seconds"`
	// Threshold: a row is a positive prediction when P(favorable) ≥ Threshold.
	Threshold float64 `json:"threshold"`
	// PredictionOutput is the model output read as P(favorable); "" when the model has none of the
	// shapes the server reads (then no predictions are counted).
	PredictionOutput string `json:"prediction_output"`
	// GroupSource says where a row's sensitive group came from: "parameter:NAME" (the request's
	// parameters.NAME) or "feature:NAME" (a model input column).
	GroupSource string `json:"group_source"`
	// Features names the monitored input columns, in model input order (the model's rai.features
	// metadata, else "input[i]"); each window's Features has one summary per name, or none.
	Features []string `json:"features"`
	// InputFeatures is the model's number of input columns (more than len(Features) when the
	// server monitors only the first --monitoring-max-features).
	InputFeatures int `json:"input_features"`
	// MinRows: a window with fewer rows holds back its feature summaries (WithheldRows).
	MinRows int64 `json:"min_rows"`
	// Replicas is 1 from a server; Merge adds them up.
	Replicas int `json:"replicas"`
	// GeneratedAt is when the server answered (the latest of the replicas' after Merge).
	GeneratedAt time.Time `json:"generated_at"`
	// Windows are oldest first.
	Windows []Window `json:"windows"`
}

// Window is what the server kept over one interval.
type Window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Open is true for the window still being filled (the current one).
	Open bool `json:"open"`
	// Requests and Rows count the successful inference requests and their rows.
	Requests int64 `json:"requests"`
	Rows     int64 `json:"rows"`
	// WithheldRows are rows whose feature values are not in Features: a window with fewer than
	// the snapshot's MinRows rows answers no feature summaries (sketches of few values are the
	// values).
	WithheldRows int64 `json:"withheld_rows"`
	// Features has one summary per Snapshot.Features, or is empty when withheld.
	Features []FeatureSummary `json:"features"`
	// Groups are the counts per sensitive group, sorted by name.
	Groups []GroupCounts `json:"groups"`
	// Ungrouped counts rows without a usable group (none given, or not a short printable value);
	// OtherGroups rows of groups beyond the server's --monitoring-max-groups.
	Ungrouped   GroupCounts `json:"ungrouped"`
	OtherGroups GroupCounts `json:"other_groups"`
	// Feedback counts the ground-truth labels that arrived in this window.
	Feedback FeedbackCounts `json:"feedback"`
}

// FeatureSummary summarizes one input column's values over a window.
type FeatureSummary struct {
	Count  int64   `json:"count"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	Mean   float64 `json:"mean"`
	Sketch *Sketch `json:"sketch"`
}

// GroupCounts are one group's prediction and outcome counts. Confusion counts come from feedback
// and belong to the window the feedback arrived in, not to the prediction's.
type GroupCounts struct {
	Name        string    `json:"name,omitempty"`
	Predictions int64     `json:"predictions"`
	Positives   int64     `json:"positive_predictions"`
	Confusion   Confusion `json:"confusion"`
}

// Confusion counts predictions against labels; positive is the favorable class (label 1).
type Confusion struct {
	TP int64 `json:"tp"`
	FP int64 `json:"fp"`
	TN int64 `json:"tn"`
	FN int64 `json:"fn"`
}

// Labelled is the number of rows with feedback.
func (c Confusion) Labelled() int64 { return c.TP + c.FP + c.TN + c.FN }

func (c *Confusion) add(o Confusion) { c.TP += o.TP; c.FP += o.FP; c.TN += o.TN; c.FN += o.FN }

// FeedbackCounts counts feedback items (one per inference ID) by outcome, and the rows labelled.
type FeedbackCounts struct {
	// Accepted items updated the confusion counts of LabelledRows rows.
	Accepted     int64 `json:"accepted"`
	LabelledRows int64 `json:"labelled_rows"`
	// Unknown: an ID the server never answered, or one older than the IDs it remembers.
	Unknown int64 `json:"unknown"`
	// Duplicate: an ID already labelled (the first label counts).
	Duplicate int64 `json:"duplicate"`
	// Invalid: a label that is not 0 or 1, or a number of labels other than the request's rows.
	Invalid int64 `json:"invalid"`
}

func (f *FeedbackCounts) add(o FeedbackCounts) {
	f.Accepted += o.Accepted
	f.LabelledRows += o.LabelledRows
	f.Unknown += o.Unknown
	f.Duplicate += o.Duplicate
	f.Invalid += o.Invalid
}

func (g *GroupCounts) add(o GroupCounts) {
	g.Predictions += o.Predictions
	g.Positives += o.Positives
	g.Confusion.add(o.Confusion)
}

// Merge folds o into f: counts add, min and max widen, means weigh by count, sketches merge.
func (f *FeatureSummary) Merge(o FeatureSummary) {
	if f.Sketch == nil && o.Sketch != nil {
		f.Sketch = NewSketch(o.Sketch.K())
	}
	if o.Count == 0 {
		return
	}
	if f.Count == 0 {
		f.Min, f.Max = o.Min, o.Max
	} else {
		f.Min, f.Max = math.Min(f.Min, o.Min), math.Max(f.Max, o.Max)
	}
	total := f.Count + o.Count
	f.Mean = f.Mean*(float64(f.Count)/float64(total)) + o.Mean*(float64(o.Count)/float64(total))
	f.Count = total
	if o.Sketch != nil {
		f.Sketch.Merge(o.Sketch)
	}
}

// Limits a snapshot read from a server must respect (Validate).
const (
	maxFeatures  = 4096
	maxGroups    = 1024
	maxWindows   = 100_000
	maxGroupName = 64
)

// ErrInvalidSnapshot is wrapped by every error of Validate.
var ErrInvalidSnapshot = errors.New("invalid monitoring snapshot")

// Validate is the check a snapshot from a serving pod (untrusted: anyone who can run a pod in the
// namespace can answer on its port) must pass before its numbers reach a verdict: the schema
// version, bounded sizes, windows of the stated length in increasing order, every feature summary
// with a valid sketch whose count matches, non-negative counts, positives within predictions,
// unique printable group names. FetchWindow calls it; Merge expects valid snapshots.
func (s *Snapshot) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidSnapshot, fmt.Sprintf(format, args...))
	}
	switch {
	case s.SchemaVersion != SnapshotSchemaVersion:
		return bad("schema_version %q, want %q", s.SchemaVersion, SnapshotSchemaVersion)
	case s.WindowSeconds <= 0:
		return bad("window_seconds %d", s.WindowSeconds)
	case len(s.Features) > maxFeatures:
		return bad("%d features, at most %d", len(s.Features), maxFeatures)
	case len(s.Windows) > maxWindows:
		return bad("%d windows, at most %d", len(s.Windows), maxWindows)
	case s.Replicas < 1:
		return bad("replicas %d", s.Replicas)
	case math.IsNaN(s.Threshold) || math.IsInf(s.Threshold, 0):
		return bad("threshold is not finite")
	case s.MinRows < 0:
		return bad("min_rows %d", s.MinRows)
	}
	length := time.Duration(s.WindowSeconds) * time.Second
	for i := range s.Windows {
		w := &s.Windows[i]
		if !w.End.Equal(w.Start.Add(length)) {
			return bad("window %d: %s to %s is not %d s long", i, w.Start.Format(time.RFC3339), w.End.Format(time.RFC3339), s.WindowSeconds)
		}
		if i > 0 && !w.Start.After(s.Windows[i-1].Start) {
			return bad("window %d does not start after window %d", i, i-1)
		}
		if err := w.validate(len(s.Features)); err != nil {
			return bad("window %d (%s): %v", i, w.Start.Format(time.RFC3339), err)
		}
	}
	return nil
}

func (w *Window) validate(features int) error {
	if w.Requests < 0 || w.Rows < 0 || w.WithheldRows < 0 || w.WithheldRows > w.Rows || w.Requests > w.Rows {
		return fmt.Errorf("requests %d, rows %d, withheld %d", w.Requests, w.Rows, w.WithheldRows)
	}
	if len(w.Features) != 0 && len(w.Features) != features {
		return fmt.Errorf("%d feature summaries for %d features", len(w.Features), features)
	}
	for j, f := range w.Features {
		if f.Count < 0 || f.Count > w.Rows {
			return fmt.Errorf("feature %d: count %d of %d rows", j, f.Count, w.Rows)
		}
		for _, v := range []float64{f.Min, f.Max, f.Mean} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("feature %d: min, max or mean not finite", j)
			}
		}
		if f.Sketch == nil {
			return fmt.Errorf("feature %d has no sketch", j)
		}
		if f.Sketch.Count() != f.Count {
			return fmt.Errorf("feature %d: sketch of %d values, count %d", j, f.Sketch.Count(), f.Count)
		}
	}
	if len(w.Groups) > maxGroups {
		return fmt.Errorf("%d groups, at most %d", len(w.Groups), maxGroups)
	}
	seen := map[string]bool{}
	for _, g := range w.Groups {
		if !ValidGroupName(g.Name) {
			return fmt.Errorf("group name %q is not 1 to %d printable bytes", g.Name, maxGroupName)
		}
		if seen[g.Name] {
			return fmt.Errorf("group %q twice", g.Name)
		}
		seen[g.Name] = true
	}
	for _, g := range append(slices.Clone(w.Groups), w.Ungrouped, w.OtherGroups) {
		c := g.Confusion
		if g.Predictions < 0 || g.Positives < 0 || g.Positives > g.Predictions || c.TP < 0 || c.FP < 0 || c.TN < 0 || c.FN < 0 {
			return fmt.Errorf("group %q: negative counts or more positives than predictions", g.Name)
		}
	}
	f := w.Feedback
	if f.Accepted < 0 || f.LabelledRows < 0 || f.Unknown < 0 || f.Duplicate < 0 || f.Invalid < 0 {
		return errors.New("negative feedback counts")
	}
	return nil
}

// ValidGroupName reports whether name can be a group: 1 to 64 bytes of UTF-8 without control,
// formatting or line-separator characters. The server counts rows with any other group value as
// ungrouped.
func ValidGroupName(name string) bool {
	if name == "" || len(name) > maxGroupName || !utf8.ValidString(name) {
		return false
	}
	for _, r := range name {
		if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) {
			return false
		}
	}
	return true
}

// GroupKey is the canonical name of a group value, shared by the server (request parameters,
// model input columns) and the reference (data columns): surrounding spaces are trimmed, and a
// value that is a number is written as the shortest decimal of its float32 ("1", "1.0" and "1e0"
// are the group "1", as a float32 input column holding 1 is).
func GroupKey(value string) string {
	v := strings.TrimSpace(value)
	if f, err := strconv.ParseFloat(v, 32); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
		return strconv.FormatFloat(f, 'g', -1, 32)
	}
	return v
}

// Merge combines the snapshots of several replicas of one model: windows with the same start
// are merged (counts add, sketches merge), others are kept; the result is oldest first, Open where
// any replica's window is open, Replicas the sum. The snapshots must be valid (Validate) and agree
// on model, version, sha256, window length, threshold, prediction output, group source and
// features; otherwise Merge returns an error naming the first difference.
func Merge(snaps ...*Snapshot) (*Snapshot, error) {
	if len(snaps) == 0 {
		return nil, errors.New("merge: no snapshots")
	}
	first := snaps[0]
	out := *first
	out.Features = slices.Clone(first.Features)
	out.Windows = nil
	out.Replicas = 0
	byStart := map[int64]*Window{}
	for i, s := range snaps {
		if err := sameSeries(first, s); err != nil {
			return nil, fmt.Errorf("merge: snapshot %d: %w", i, err)
		}
		out.Replicas += s.Replicas
		out.MinRows = max(out.MinRows, s.MinRows)
		if s.GeneratedAt.After(out.GeneratedAt) {
			out.GeneratedAt = s.GeneratedAt
		}
		for _, w := range s.Windows {
			key := w.Start.UnixNano()
			if m, ok := byStart[key]; ok {
				m.merge(&w)
				continue
			}
			c := w.clone()
			byStart[key] = &c
		}
	}
	keys := make([]int64, 0, len(byStart))
	for k := range byStart {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		out.Windows = append(out.Windows, *byStart[k])
	}
	return &out, nil
}

func sameSeries(a, b *Snapshot) error {
	switch {
	case a.Model != b.Model:
		return fmt.Errorf("model %q, not %q", b.Model, a.Model)
	case a.Version != b.Version:
		return fmt.Errorf("version %q, not %q", b.Version, a.Version)
	case a.SHA256 != b.SHA256:
		return fmt.Errorf("sha256 %s, not %s", b.SHA256, a.SHA256)
	case a.WindowSeconds != b.WindowSeconds:
		return fmt.Errorf("windows of %d s, not %d s", b.WindowSeconds, a.WindowSeconds)
	case a.Threshold != b.Threshold:
		return fmt.Errorf("threshold %v, not %v", b.Threshold, a.Threshold)
	case a.PredictionOutput != b.PredictionOutput:
		return fmt.Errorf("prediction output %q, not %q", b.PredictionOutput, a.PredictionOutput)
	case a.GroupSource != b.GroupSource:
		return fmt.Errorf("group source %q, not %q", b.GroupSource, a.GroupSource)
	case !slices.Equal(a.Features, b.Features):
		return fmt.Errorf("features %v, not %v", b.Features, a.Features)
	}
	return nil
}

func (w *Window) clone() Window {
	c := *w
	c.Features = make([]FeatureSummary, len(w.Features))
	for j, f := range w.Features {
		c.Features[j] = f
		if f.Sketch != nil {
			c.Features[j].Sketch = f.Sketch.Clone()
		}
	}
	c.Groups = slices.Clone(w.Groups)
	return c
}

// merge folds o into w (same series; o's window may span another interval: Total uses that).
func (w *Window) merge(o *Window) {
	if o.Start.Before(w.Start) {
		w.Start = o.Start
	}
	if o.End.After(w.End) {
		w.End = o.End
	}
	w.Open = w.Open || o.Open
	w.Requests += o.Requests
	w.Rows += o.Rows
	w.WithheldRows += o.WithheldRows
	if len(w.Features) == 0 && len(o.Features) > 0 {
		w.Features = make([]FeatureSummary, len(o.Features))
	}
	for j := range o.Features {
		w.Features[j].Merge(o.Features[j])
	}
	groups := map[string]int{}
	for i, g := range w.Groups {
		groups[g.Name] = i
	}
	for _, g := range o.Groups {
		if i, ok := groups[g.Name]; ok {
			w.Groups[i].add(g)
		} else {
			groups[g.Name] = len(w.Groups)
			w.Groups = append(w.Groups, g)
		}
	}
	sort.Slice(w.Groups, func(i, j int) bool { return w.Groups[i].Name < w.Groups[j].Name })
	w.Ungrouped.add(o.Ungrouped)
	w.OtherGroups.add(o.OtherGroups)
	w.Feedback.add(o.Feedback)
}

// Total merges all of the snapshot's windows into one spanning them (from the first start to the
// last end; zero for a snapshot without windows): what Compare judges.
func (s *Snapshot) Total() Window {
	if len(s.Windows) == 0 {
		return Window{}
	}
	t := s.Windows[0].clone()
	for i := 1; i < len(s.Windows); i++ {
		t.merge(&s.Windows[i])
	}
	return t
}

// Group returns the counts of the named group (zero counts when absent).
func (w *Window) Group(name string) GroupCounts {
	for _, g := range w.Groups {
		if g.Name == name {
			return g
		}
	}
	return GroupCounts{Name: name}
}
