package monitoring

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Endpoints of rai serve --monitoring, relative to the server's base URL.

// SnapshotPath is the monitoring endpoint of a model: GET, optional ?windows=N.
func SnapshotPath(model string) string { return "/v2/models/" + url.PathEscape(model) + "/monitoring" }

// FeedbackPath is the feedback endpoint of a model: POST a FeedbackItem or a FeedbackBatch.
func FeedbackPath(model string) string { return "/v2/models/" + url.PathEscape(model) + "/feedback" }

// WindowsParam is the query parameter choosing how many recent windows the snapshot holds.
const WindowsParam = "windows"

// MaxSnapshotBytes bounds the body FetchWindow reads: far above 64 features × 60 windows
// (about 10 MiB of JSON), far below what could hurt the operator.
const MaxSnapshotBytes = 64 << 20

// FetchWindow asks the server at baseURL (scheme://host:port) for model's monitoring snapshot of
// its last windows windows (≤ 0: every window it keeps), reads at most MaxSnapshotBytes, and
// returns it only after Validate: a serving pod's answer is untrusted. An answer other than 200
// is an error carrying the server's message.
func FetchWindow(ctx context.Context, client *http.Client, baseURL, model string, windows int) (*Snapshot, error) {
	if client == nil {
		client = http.DefaultClient
	}
	u := strings.TrimSuffix(baseURL, "/") + SnapshotPath(model)
	if windows > 0 {
		u += "?" + WindowsParam + "=" + strconv.Itoa(windows)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("monitoring snapshot: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("monitoring snapshot from %s: %w", baseURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxSnapshotBytes+1))
	if err != nil {
		return nil, fmt.Errorf("monitoring snapshot from %s: %w", baseURL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("monitoring snapshot from %s: HTTP %d: %s", baseURL, resp.StatusCode, serverMessage(body))
	}
	if len(body) > MaxSnapshotBytes {
		return nil, fmt.Errorf("monitoring snapshot from %s: larger than %d bytes", baseURL, MaxSnapshotBytes)
	}
	var s Snapshot
	if err := json.Unmarshal(body, &s); err != nil {
		return nil, fmt.Errorf("monitoring snapshot from %s: %w: %v", baseURL, ErrInvalidSnapshot, err)
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("monitoring snapshot from %s: %w", baseURL, err)
	}
	return &s, nil
}

// FeedbackItem is the ground truth of one inference: Label for a one-row request, or Labels,
// one per row, for a request of several rows. 1 is the favorable class.
type FeedbackItem struct {
	ID     string `json:"id"`
	Label  *int   `json:"label,omitempty"`
	Labels []int  `json:"labels,omitempty"`
}

// FeedbackBatch is the body of POST …/feedback for several items; one item may also be sent on
// its own, as a FeedbackItem.
type FeedbackBatch struct {
	Feedback []FeedbackItem `json:"feedback"`
}

// FeedbackResult is the answer of the feedback endpoint: the items by outcome, and for a batch the
// first items not accepted with the reason.
type FeedbackResult struct {
	FeedbackCounts
	Rejected []FeedbackRejection `json:"rejected,omitempty"`
}

// FeedbackRejection names an item that was not accepted.
type FeedbackRejection struct {
	ID     string `json:"id"`
	Result string `json:"result"` // "unknown", "duplicate" or "invalid"
	Reason string `json:"reason"`
}

// Feedback results, as FeedbackRejection.Result and the rai_monitoring_feedback_total label.
const (
	FeedbackAccepted  = "accepted"
	FeedbackUnknown   = "unknown"
	FeedbackDuplicate = "duplicate"
	FeedbackInvalid   = "invalid"
)

// PostFeedback sends a batch of labels to the server at baseURL and returns what it did with them
// (the e2e's and a client's helper; the operator does not send feedback).
func PostFeedback(ctx context.Context, client *http.Client, baseURL, model string, items []FeedbackItem) (*FeedbackResult, error) {
	if client == nil {
		client = http.DefaultClient
	}
	body, err := json.Marshal(FeedbackBatch{Feedback: items})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(baseURL, "/")+FeedbackPath(model), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("feedback: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("feedback to %s: %w", baseURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("feedback to %s: %w", baseURL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("feedback to %s: HTTP %d: %s", baseURL, resp.StatusCode, serverMessage(b))
	}
	var r FeedbackResult
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("feedback to %s: %w", baseURL, err)
	}
	return &r, nil
}

func serverMessage(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return e.Error
	}
	if len(body) > 200 {
		body = body[:200]
	}
	return strings.TrimSpace(string(body))
}
