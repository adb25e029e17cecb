package controllers

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestHTTPDecisionLog: events reach the collector as OPA's decision-log
// plugin sends them, a JSON array of events.
func TestHTTPDecisionLog(t *testing.T) {
	got := make(chan []map[string]any, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var events []map[string]any
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(b, &events) != nil {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		got <- events
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l := NewHTTPDecisionLog(ctx, srv.URL+"/logs")
	l.Log(DecisionEvent{DecisionID: "abc", Path: "rai/promotion", Result: map[string]any{"allow": false}})
	select {
	case events := <-got:
		if len(events) != 1 || events[0]["decision_id"] != "abc" || events[0]["path"] != "rai/promotion" {
			t.Errorf("events %v", events)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the collector got nothing")
	}
}
