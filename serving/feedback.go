package serving

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"net/http"
	"slices"

	"github.com/responsible-ai/rmodel-operator/internal/monitoring"
)

// idStore remembers recent predictions for feedback: a ring of slots, the oldest evicted first,
// holding at most max rows, indexed by a 128-bit keyed hash of the inference ID (two maphash
// seeds drawn at start), so the IDs themselves are not kept. An ID answered again replaces its
// earlier prediction (whose slot stays counted until it is evicted).
type idStore struct {
	max   int
	ring  []idSlot
	head  uint64 // sequence number of the oldest slot in use
	next  uint64 // sequence number of the next slot
	rows  int    // rows held by the slots in use
	index map[idKey]uint64
	seeds [2]maphash.Seed
}

type idKey [2]uint64

type idSlot struct {
	key      idKey
	rows     int32
	group    uint16 // the row's group, for a one-row request
	positive bool
	labelled bool
	multi    *multiRows // a request of several rows
}

type multiRows struct {
	groups    []uint16
	positives []bool
}

func newIDStore(maxRows int) idStore {
	return idStore{max: maxRows, index: map[idKey]uint64{}, seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}
}

func (s *idStore) key(id string) idKey {
	return idKey{maphash.String(s.seeds[0], id), maphash.String(s.seeds[1], id)}
}

// put remembers one request's rows (it copies groups and positives). A request of more rows
// than the store holds is not kept.
func (s *idStore) put(k idKey, groups []uint16, positives []bool) {
	rows := len(groups)
	if rows == 0 || rows > s.max {
		return
	}
	for s.next > s.head && (s.rows+rows > s.max || s.next-s.head >= uint64(s.max)) {
		old := &s.ring[s.head%uint64(s.max)]
		if seq, ok := s.index[old.key]; ok && seq == s.head {
			delete(s.index, old.key)
		}
		s.rows -= int(old.rows)
		*old = idSlot{}
		s.head++
	}
	slot := idSlot{key: k, rows: int32(rows), group: groups[0], positive: positives[0]}
	if rows > 1 {
		slot.multi = &multiRows{groups: slices.Clone(groups), positives: slices.Clone(positives)}
	}
	if i := s.next % uint64(s.max); int(i) < len(s.ring) {
		s.ring[i] = slot
	} else {
		s.ring = append(s.ring, slot)
	}
	s.index[k] = s.next
	s.next++
	s.rows += rows
}

func (s *idStore) get(k idKey) *idSlot {
	seq, ok := s.index[k]
	if !ok {
		return nil
	}
	return &s.ring[seq%uint64(s.max)]
}

// remembered is the number of IDs open to feedback.
func (s *idStore) remembered() int { return len(s.index) }

// wireFeedback is one feedback item as sent: labels are checked one by one, so that one bad item
// of a batch does not spoil the others.
type wireFeedback struct {
	ID       *string           `json:"id"`
	Label    json.RawMessage   `json:"label"`
	Labels   []json.RawMessage `json:"labels"`
	Feedback []wireFeedback    `json:"feedback"`
}

// maxFeedbackItems bounds a batch.
const maxFeedbackItems = 10_000

// parseLabel reads 0, 1, false or true; 1 (true) is the favorable class.
func parseLabel(raw json.RawMessage) (bool, error) {
	switch string(bytes.TrimSpace(raw)) {
	case "0", "false", "0.0":
		return false, nil
	case "1", "true", "1.0":
		return true, nil
	}
	return false, fmt.Errorf("label %s is not 0 or 1", raw)
}

// feedbackOutcome is what became of one item.
type feedbackOutcome struct {
	result string // a monitoring.Feedback* constant
	reason string
}

// feedback applies one item: its labels against the remembered predictions, counted in the
// current window's confusion counts of each row's group. Call with mu held.
func (m *monitor) feedback(w *liveWindow, it *wireFeedback) feedbackOutcome {
	if it.ID == nil {
		w.feedback.Invalid++
		return feedbackOutcome{monitoring.FeedbackInvalid, `no "id"`}
	}
	var labels []bool
	switch {
	case it.Label != nil && it.Labels != nil:
		w.feedback.Invalid++
		return feedbackOutcome{monitoring.FeedbackInvalid, `both "label" and "labels"`}
	case it.Label != nil:
		l, err := parseLabel(it.Label)
		if err != nil {
			w.feedback.Invalid++
			return feedbackOutcome{monitoring.FeedbackInvalid, err.Error()}
		}
		labels = []bool{l}
	case len(it.Labels) > 0:
		for _, raw := range it.Labels {
			l, err := parseLabel(raw)
			if err != nil {
				w.feedback.Invalid++
				return feedbackOutcome{monitoring.FeedbackInvalid, err.Error()}
			}
			labels = append(labels, l)
		}
	default:
		w.feedback.Invalid++
		return feedbackOutcome{monitoring.FeedbackInvalid, `no "label" (or "labels", one per row)`}
	}
	slot := m.ids.get(m.ids.key(*it.ID))
	switch {
	case slot == nil:
		w.feedback.Unknown++
		return feedbackOutcome{monitoring.FeedbackUnknown, fmt.Sprintf("unknown inference id %q: never answered by this server, or older than the %d rows it remembers for feedback", *it.ID, m.cfg.FeedbackRows)}
	case slot.labelled:
		w.feedback.Duplicate++
		return feedbackOutcome{monitoring.FeedbackDuplicate, fmt.Sprintf("inference id %q already has feedback (the first counts)", *it.ID)}
	case len(labels) != int(slot.rows):
		w.feedback.Invalid++
		return feedbackOutcome{monitoring.FeedbackInvalid, fmt.Sprintf("inference id %q had %d rows, the feedback gives %d labels", *it.ID, slot.rows, len(labels))}
	}
	slot.labelled = true
	for r, label := range labels {
		g, positive := slot.group, slot.positive
		if slot.multi != nil {
			g, positive = slot.multi.groups[r], slot.multi.positives[r]
		}
		c := &w.group(g).Confusion
		outcome := 0
		switch {
		case positive && label:
			c.TP++
		case positive:
			c.FP++
			outcome = 1
		case label:
			c.FN++
			outcome = 3
		default:
			c.TN++
			outcome = 2
		}
		m.met.outcomes[g][outcome].Inc()
	}
	w.feedback.Accepted++
	w.feedback.LabelledRows += int64(len(labels))
	return feedbackOutcome{result: monitoring.FeedbackAccepted}
}

// handleFeedback takes POST …/feedback: {"id": ..., "label": 0|1}, {"id": ..., "labels": [...]}
// for a request of several rows, or a batch {"feedback": [items]}. A single item answers 200,
// or 404 (unknown or forgotten id), 409 (already labelled) or 400 (bad labels); a batch answers
// 200 with the counts by outcome and the first 100 items not accepted.
func (s *Server) handleFeedback(w http.ResponseWriter, r *http.Request) {
	if !s.monitoringOn(w, r) {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", s.cfg.MaxBodyBytes))
			return
		}
		writeError(w, http.StatusBadRequest, fmt.Sprintf("read request body: %v", err))
		return
	}
	var req wireFeedback
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid feedback JSON: %v", err))
		return
	}
	batch := req.Feedback != nil
	switch {
	case batch && (req.ID != nil || req.Label != nil || req.Labels != nil):
		writeError(w, http.StatusBadRequest, `give one item ("id" with "label" or "labels") or a batch ("feedback": [...]), not both`)
		return
	case batch && len(req.Feedback) > maxFeedbackItems:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%d feedback items, at most %d per request", len(req.Feedback), maxFeedbackItems))
		return
	case !batch && req.ID == nil:
		writeError(w, http.StatusBadRequest, `feedback needs "id" and "label" (0 or 1), or a batch "feedback": [...]`)
		return
	}
	items := req.Feedback
	if !batch {
		items = []wireFeedback{req}
	}
	m := s.monitor
	var res monitoring.FeedbackResult
	outcomes := make([]feedbackOutcome, len(items))
	m.mu.Lock()
	win := m.current(m.cfg.Now())
	for i := range items {
		outcomes[i] = m.feedback(win, &items[i])
	}
	m.mu.Unlock()
	for i, o := range outcomes {
		m.met.feedback.WithLabelValues(o.result).Inc()
		switch o.result {
		case monitoring.FeedbackAccepted:
			res.Accepted++
		case monitoring.FeedbackUnknown:
			res.Unknown++
		case monitoring.FeedbackDuplicate:
			res.Duplicate++
		default:
			res.Invalid++
		}
		if o.result != monitoring.FeedbackAccepted && len(res.Rejected) < 100 {
			id := ""
			if items[i].ID != nil {
				id = *items[i].ID
			}
			res.Rejected = append(res.Rejected, monitoring.FeedbackRejection{ID: id, Result: o.result, Reason: o.reason})
		}
		if o.result == monitoring.FeedbackAccepted {
			if l := items[i].Labels; l != nil {
				res.LabelledRows += int64(len(l))
			} else {
				res.LabelledRows++
			}
		}
	}
	if !batch {
		switch o := outcomes[0]; o.result {
		case monitoring.FeedbackUnknown:
			writeError(w, http.StatusNotFound, o.reason)
			return
		case monitoring.FeedbackDuplicate:
			writeError(w, http.StatusConflict, o.reason)
			return
		case monitoring.FeedbackInvalid:
			writeError(w, http.StatusBadRequest, o.reason)
			return
		}
		res.Rejected = nil
	}
	writeJSON(w, http.StatusOK, res)
}
