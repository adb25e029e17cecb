package controllers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// HTTPDecisionLog sends decision-log events to a collector, as OPA's
// decision-log plugin does: POST of a JSON array of events. Events are sent
// from a queue by one goroutine, so that a slow or absent collector never
// holds up a reconcile; a full queue drops the event (counted in
// rai_decision_log_dropped_total) — the DecisionRecords are the durable
// account, the log is a copy for OPA tooling.
type HTTPDecisionLog struct {
	URL    string
	Client *http.Client
	queue  chan DecisionEvent
}

var decisionLogDropped = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "rai_decision_log_dropped_total",
	Help: "Decision-log events not delivered to the HTTP collector (queue full, or the collector refused them).",
})

func init() { metrics.Registry.MustRegister(decisionLogDropped) }

// NewHTTPDecisionLog starts the sender; it stops when ctx ends.
func NewHTTPDecisionLog(ctx context.Context, url string) *HTTPDecisionLog {
	l := &HTTPDecisionLog{URL: url, Client: &http.Client{Timeout: 10 * time.Second}, queue: make(chan DecisionEvent, 1024)}
	go l.run(ctx)
	return l
}

// Log queues event.
func (l *HTTPDecisionLog) Log(event DecisionEvent) {
	select {
	case l.queue <- event:
	default:
		decisionLogDropped.Inc()
	}
}

func (l *HTTPDecisionLog) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-l.queue:
			if err := l.send(ctx, e); err != nil {
				decisionLogDropped.Inc()
				log.Log.Error(err, "send decision log event", "decisionID", e.DecisionID, "url", l.URL)
			}
		}
	}
}

func (l *HTTPDecisionLog) send(ctx context.Context, e DecisionEvent) error {
	body, err := json.Marshal([]DecisionEvent{e})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := l.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("collector answered %s", resp.Status)
	}
	return nil
}
