package audit

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeLog(t *testing.T, n int) (string, [][]byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, _, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		_, err := l.Append(Entry{
			RequestID: "r" + string(rune('a'+i)), ModelName: "credit", ModelVersion: "1", ModelSHA256: strings.Repeat("ab", 32),
			InputSHA256: InputDigest("features", "FP32", []int64{1, 2}, []float32{float32(i), 1}), Rows: 1,
			Outputs: []OutputSummary{Summarize("probability", []float32{0.25, float32(i) / 10})},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, bytes.SplitAfter(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
}

func verifyLines(lines [][]byte) (Result, error) {
	return Verify(bytes.NewReader(bytes.Join(lines, nil)))
}

func TestVerifyAcceptsAnIntactLogAndItsContinuation(t *testing.T) {
	path, lines := writeLog(t, 5)
	res, err := verifyLines(lines)
	if err != nil || res.Entries != 5 || res.LastHash == GenesisHash {
		t.Fatalf("intact log: %+v, %v", res, err)
	}
	// Reopening continues the chain.
	l, op, err := Open(path, Options{})
	if err != nil || op.Entries != 5 || op.Torn != nil || op.Rotated != nil {
		t.Fatalf("reopen: %+v, %v", op, err)
	}
	if h := l.Head(); h != res.Head() || h.Count != 5 || h.Genesis == "" {
		t.Fatalf("head of the reopened log %+v, verified %+v", h, res.Head())
	}
	e, err := l.Append(Entry{RequestID: "later", Time: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if e.Seq != 6 || e.PrevHash != res.LastHash {
		t.Fatalf("continued entry seq %d prev %s, want 6 and %s", e.Seq, e.PrevHash, res.LastHash)
	}
	res2, err := VerifyFile(path)
	if err != nil || res2.Entries != 6 || res2.LastHash != e.Hash || res2.Genesis != res.Genesis {
		t.Fatalf("continued log: %+v, %v", res2, err)
	}
}

func TestVerifyNamesTheLineOfATamperedLog(t *testing.T) {
	_, lines := writeLog(t, 5)
	clone := func() [][]byte {
		c := make([][]byte, len(lines))
		for i, l := range lines {
			c[i] = append([]byte(nil), l...)
		}
		return c
	}
	cases := []struct {
		name   string
		edit   func([][]byte) [][]byte
		line   int
		seq    uint64 // as the bad line states it
		reason string
	}{
		{"changed output", func(l [][]byte) [][]byte {
			l[2] = bytes.Replace(l[2], []byte(`"max":0.2`), []byte(`"max":0.9`), 1)
			return l
		}, 3, 3, "entry changed"},
		{"changed request id and rehashed", func(l [][]byte) [][]byte {
			// An attacker who recomputes the changed entry's hash still breaks the next link.
			var e Entry
			mustUnmarshal(t, l[1], &e)
			e.RequestID = "forged"
			h, _ := hashOf(e)
			e.Hash = h
			l[1] = append(mustMarshal(t, e), '\n')
			return l
		}, 3, 3, "chain broken"},
		{"dropped entry in the middle", func(l [][]byte) [][]byte { return append(l[:1], l[2:]...) }, 2, 3, "chain broken"},
		{"reordered entries", func(l [][]byte) [][]byte { l[3], l[4] = l[4], l[3]; return l }, 4, 5, "chain broken"},
		{"dropped first entry", func(l [][]byte) [][]byte { return l[1:] }, 1, 2, "chain broken"},
		{"garbage line", func(l [][]byte) [][]byte { l[0] = []byte("hello\n"); return l }, 1, 0, "not an audit entry"},
		{"garbage line, not last, without JSON", func(l [][]byte) [][]byte { l[2] = []byte(`{"seq":3,"ti` + "\n"); return l }, 3, 0, "not an audit entry"},
		{"empty line", func(l [][]byte) [][]byte { l[1] = []byte("\n"); return l }, 2, 0, "empty line"},
		{"a chain_start after the first entry", func(l [][]byte) [][]byte {
			var e Entry
			mustUnmarshal(t, l[4], &e)
			e.ChainStart = &ChainStart{PreviousLog: "x"}
			e.Hash, _ = hashOf(e)
			l[4] = append(mustMarshal(t, e), '\n')
			return l
		}, 5, 5, "chain_start"},
	}
	for _, tc := range cases {
		_, err := verifyLines(tc.edit(clone()))
		var ve *VerifyError
		if !errors.As(err, &ve) || ve.Line != tc.line || ve.Seq != tc.seq || !strings.Contains(ve.Reason, tc.reason) {
			t.Errorf("%s: %v, want line %d (seq %d): %s", tc.name, err, tc.line, tc.seq, tc.reason)
		}
	}
	// The message names the line and the seq.
	_, err := verifyLines(cases[0].edit(clone()))
	if err == nil || !strings.HasPrefix(err.Error(), "line 3 (seq 3): entry changed") {
		t.Errorf("message %q", err)
	}
}

func TestInputDigestIsCanonical(t *testing.T) {
	a := InputDigest("features", "FP32", []int64{2, 2}, []float32{1, 2, 3, 4})
	if a != InputDigest("features", "FP32", []int64{2, 2}, []float32{1, 2, 3, 4}) {
		t.Fatal("digest not deterministic")
	}
	for name, other := range map[string]string{
		"value":    InputDigest("features", "FP32", []int64{2, 2}, []float32{1, 2, 3, 5}),
		"shape":    InputDigest("features", "FP32", []int64{1, 4}, []float32{1, 2, 3, 4}),
		"name":     InputDigest("feature", "FP32", []int64{2, 2}, []float32{1, 2, 3, 4}),
		"datatype": InputDigest("features", "FP64", []int64{2, 2}, []float32{1, 2, 3, 4}),
	} {
		if other == a {
			t.Errorf("changing the %s leaves the digest unchanged", name)
		}
	}
}

func TestSummarize(t *testing.T) {
	s := Summarize("p", []float32{0.5, 0.25, 1})
	if s.Count != 3 || s.Min != 0.25 || s.Max != 1 || s.Mean != 1.75/3 {
		t.Fatalf("summary %+v", s)
	}
}
