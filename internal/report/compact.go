package report

import (
	"bytes"
	"encoding/json"
	"fmt"
)

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// Compact returns the report's compact JSON form, at most MaxCompactBytes.
// It keeps everything but Details when the whole report does not fit, then
// drops Intervals and Parameters, and fails only if the metrics alone are too
// large (an evaluator bug: headline metrics must stay small).
func (r *Report) Compact() ([]byte, error) {
	full, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode report: %w", err)
	}
	if len(full) <= MaxCompactBytes {
		return full, nil
	}
	c := *r
	c.Truncated = true
	if r.CompactDetails != nil {
		c.Details = r.CompactDetails
		if b, err := json.Marshal(&c); err == nil && len(b) <= MaxCompactBytes {
			return b, nil
		}
	}
	c.Details = nil
	if b, err := json.Marshal(&c); err == nil && len(b) <= MaxCompactBytes {
		return b, nil
	}
	c.Intervals, c.Parameters = nil, nil
	b, err := json.Marshal(&c)
	if err != nil {
		return nil, fmt.Errorf("encode compact report: %w", err)
	}
	if len(b) > MaxCompactBytes {
		return nil, fmt.Errorf("compact report is %d bytes, over the %d-byte limit even without details", len(b), MaxCompactBytes)
	}
	return b, nil
}
