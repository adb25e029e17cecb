package monitoring

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestMergeCombinesReplicasWindowByWindow(t *testing.T) {
	rng := rand.New(rand.NewPCG(40, 40))
	a0 := windowOf(t0, DefaultSketchK, normals(rng, 800, 0))
	a0.Groups = []GroupCounts{{Name: "female", Predictions: 10, Positives: 4, Confusion: Confusion{TP: 1}}}
	a0.Feedback = FeedbackCounts{Accepted: 1, LabelledRows: 1, Unknown: 2}
	a1 := windowOf(t0.Add(time.Minute), DefaultSketchK, normals(rng, 100, 0))
	a1.Open = true
	b0 := windowOf(t0, DefaultSketchK, normals(rng, 700, 0))
	b0.Groups = []GroupCounts{{Name: "male", Predictions: 5, Positives: 5}, {Name: "female", Predictions: 2, Positives: 1, Confusion: Confusion{FN: 1}}}
	b0.Ungrouped = GroupCounts{Predictions: 3}
	bm := windowOf(t0.Add(-time.Minute), DefaultSketchK, normals(rng, 50, 0))
	a, b := snapshotOf([]string{"x"}, a0, a1), snapshotOf([]string{"x"}, bm, b0)
	b.GeneratedAt = t0.Add(time.Hour)
	m, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if m.Replicas != 2 || len(m.Windows) != 3 || !m.GeneratedAt.Equal(b.GeneratedAt) {
		t.Fatalf("replicas %d, %d windows", m.Replicas, len(m.Windows))
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	w := m.Windows[1]
	if !w.Start.Equal(t0) || w.Rows != 1500 || w.Features[0].Count != 1500 || w.Features[0].Sketch.Count() != 1500 || w.Open {
		t.Errorf("merged window %v: rows %d, feature count %d", w.Start, w.Rows, w.Features[0].Count)
	}
	wantMean := (a0.Features[0].Mean*800 + b0.Features[0].Mean*700) / 1500
	near(t, "merged mean", w.Features[0].Mean, wantMean, 1e-12)
	if w.Features[0].Min != min(a0.Features[0].Min, b0.Features[0].Min) || w.Features[0].Max != max(a0.Features[0].Max, b0.Features[0].Max) {
		t.Error("merged min/max")
	}
	if len(w.Groups) != 2 || w.Group("female").Predictions != 12 || w.Group("female").Confusion != (Confusion{TP: 1, FN: 1}) || w.Group("male").Positives != 5 || w.Ungrouped.Predictions != 3 {
		t.Errorf("merged groups %+v ungrouped %+v", w.Groups, w.Ungrouped)
	}
	if w.Feedback != (FeedbackCounts{Accepted: 1, LabelledRows: 1, Unknown: 2}) {
		t.Errorf("feedback %+v", w.Feedback)
	}
	if !m.Windows[2].Open {
		t.Error("the open window is not open after the merge")
	}
	// The inputs are untouched (sketches were cloned).
	if a0.Features[0].Sketch.Count() != 800 || a.Windows[0].Features[0].Sketch.Count() != 800 {
		t.Error("Merge changed its input")
	}
	tot := m.Total()
	if tot.Rows != 1500+100+50 || !tot.Start.Equal(t0.Add(-time.Minute)) || !tot.End.Equal(t0.Add(2*time.Minute)) || !tot.Open {
		t.Errorf("total %v–%v rows %d", tot.Start, tot.End, tot.Rows)
	}
	for _, c := range []struct {
		change func(s *Snapshot)
		want   string
	}{
		{func(s *Snapshot) { s.SHA256 = "other" }, "sha256"},
		{func(s *Snapshot) { s.Version = "v2" }, "version"},
		{func(s *Snapshot) { s.WindowSeconds = 30 }, "windows of 30 s"},
		{func(s *Snapshot) { s.Features = []string{"y"} }, "features"},
		{func(s *Snapshot) { s.GroupSource = "feature:sex" }, "group source"},
	} {
		other := snapshotOf([]string{"x"})
		c.change(other)
		if _, err := Merge(a, other); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("merge of differing snapshots: %v, want %q", err, c.want)
		}
	}
}

func TestValidateRefusesMalformedSnapshots(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 41))
	good := func() *Snapshot {
		w := windowOf(t0, DefaultSketchK, normals(rng, 50, 0))
		w.Groups = []GroupCounts{{Name: "a", Predictions: 5, Positives: 2}}
		return snapshotOf([]string{"x"}, w)
	}
	if err := good().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		change func(s *Snapshot)
	}{
		{"schema", func(s *Snapshot) { s.SchemaVersion = "v0" }},
		{"window length", func(s *Snapshot) { s.Windows[0].End = t0.Add(time.Hour) }},
		{"window order", func(s *Snapshot) { s.Windows = append(s.Windows, s.Windows[0]) }},
		{"summaries", func(s *Snapshot) { s.Features = []string{"x", "y"} }},
		{"sketch count", func(s *Snapshot) { s.Windows[0].Features[0].Count = 49 }},
		{"positives", func(s *Snapshot) { s.Windows[0].Groups[0].Positives = 6 }},
		{"negative", func(s *Snapshot) { s.Windows[0].Ungrouped.Confusion.TP = -1 }},
		{"group name", func(s *Snapshot) { s.Windows[0].Groups[0].Name = "a\nb" }},
		{"duplicate group", func(s *Snapshot) { s.Windows[0].Groups = append(s.Windows[0].Groups, s.Windows[0].Groups[0]) }},
		{"withheld", func(s *Snapshot) { s.Windows[0].WithheldRows = 51 }},
		{"replicas", func(s *Snapshot) { s.Replicas = 0 }},
	} {
		s := good()
		c.change(s)
		if err := s.Validate(); !errors.Is(err, ErrInvalidSnapshot) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestFetchWindowReadsAndChecksTheServersAnswer(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 42))
	snap := snapshotOf([]string{"x"}, windowOf(t0, DefaultSketchK, normals(rng, 1000, 0)))
	var gotQuery string
	answer := func(w http.ResponseWriter, r *http.Request) {
		gotQuery = r.URL.RawQuery
		switch r.URL.Path {
		case "/v2/models/credit/monitoring":
			json.NewEncoder(w).Encode(snap)
		case "/v2/models/broken/monitoring":
			w.Write([]byte(`{"schema_version":"rai.monitoring/v1","window_seconds":0,"replicas":1}`))
		default:
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error":"monitoring is off"}`))
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(answer))
	defer srv.Close()
	got, err := FetchWindow(context.Background(), srv.Client(), srv.URL+"/", "credit", 5)
	if err != nil {
		t.Fatal(err)
	}
	if gotQuery != "windows=5" || got.Windows[0].Features[0].Sketch.Count() != 1000 || got.Model != "credit" {
		t.Errorf("query %q, snapshot %+v", gotQuery, got)
	}
	if _, err := FetchWindow(context.Background(), nil, srv.URL, "broken", 0); !errors.Is(err, ErrInvalidSnapshot) || gotQuery != "" {
		t.Errorf("broken: %v (query %q)", err, gotQuery)
	}
	if _, err := FetchWindow(context.Background(), nil, srv.URL, "off", 0); err == nil || !strings.Contains(err.Error(), "HTTP 404: monitoring is off") {
		t.Errorf("off: %v", err)
	}
}

func TestGroupKeyAndNames(t *testing.T) {
	for in, want := range map[string]string{"1": "1", "1.0": "1", " 1e0 ": "1", "0.1": "0.1", "female": "female", " male ": "male", "NaN": "NaN", "-0": "-0"} {
		if got := GroupKey(in); got != want {
			t.Errorf("GroupKey(%q) = %q, want %q", in, got, want)
		}
	}
	for name, ok := range map[string]bool{"female": true, "": false, strings.Repeat("x", 65): false, "a\tb": false, "zwj\u200d": false, "é": true} {
		if ValidGroupName(name) != ok {
			t.Errorf("ValidGroupName(%q) != %v", name, ok)
		}
	}
}
