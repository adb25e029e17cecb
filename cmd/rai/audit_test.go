package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/responsible-ai/rmodel-operator/internal/contract"
	"github.com/responsible-ai/rmodel-operator/internal/onnxwriter"
	"github.com/responsible-ai/rmodel-operator/serving/audit"
)

// raiServer is `rai serve` running in-process until stop.
type raiServer struct {
	base   string
	cancel context.CancelFunc
	done   chan error
}

// lrModel writes a logistic regression and returns its path and sha256.
func lrModel(t *testing.T) (string, string) {
	t.Helper()
	data, err := onnxwriter.LogisticRegression([]float32{0.5, -0.25}, 0.1).Marshal(onnxwriter.ModelInfo{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "lr.onnx")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return path, hex.EncodeToString(sum[:])
}

// startRai starts `rai serve` for the model with extra flags and waits until it is ready, or
// returns the error it stopped with.
func startRai(t *testing.T, modelPath, digest string, extra ...string) (*raiServer, error) {
	t.Helper()
	port := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	s := &raiServer{base: fmt.Sprintf("http://127.0.0.1:%d", port), cancel: cancel, done: make(chan error, 1)}
	args := append([]string{"serve", "--model-uri", "file://" + modelPath, "--sha256", digest, "--name", "lr",
		"--port", fmt.Sprint(port)}, extra...)
	go func() {
		_, err := runRai(ctx, args...)
		s.done <- err
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-s.done:
			cancel()
			return nil, err
		default:
		}
		if resp, err := http.Get(s.base + contract.ReadinessPath); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatal("rai serve not ready after 20s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *raiServer) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	if err := <-s.done; err != nil {
		t.Fatalf("rai serve stopped with %v", err)
	}
}

func (s *raiServer) infer(t *testing.T, id string) {
	t.Helper()
	body := fmt.Sprintf(`{"id":%q,"inputs":[{"name":"features","shape":[1,2],"datatype":"FP32","data":[1,2]}]}`, id)
	resp, err := http.Post(s.base+"/v2/models/lr/infer", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("infer: HTTP %d", resp.StatusCode)
	}
}

func (s *raiServer) head(t *testing.T) (audit.Head, string) {
	t.Helper()
	resp, err := http.Get(s.base + contract.AuditHeadPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw bytes.Buffer
	raw.ReadFrom(resp.Body)
	var h audit.Head
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw.Bytes(), &h) != nil {
		t.Fatalf("GET %s: HTTP %d %s", contract.AuditHeadPath, resp.StatusCode, raw.Bytes())
	}
	return h, strings.TrimSpace(raw.String())
}

// TestServeRestartExtendsOneChain starts `rai serve` on a log, stops it, starts it again: the
// second server continues the first one's chain, and the head it serves is what `rai audit head`
// prints and what `rai audit verify --anchor-…` accepts.
func TestServeRestartExtendsOneChain(t *testing.T) {
	modelPath, digest := lrModel(t)
	logPath := filepath.Join(t.TempDir(), "audit.jsonl")
	var heads []audit.Head
	for run := range 2 {
		s, err := startRai(t, modelPath, digest, "--audit-log", logPath)
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		for i := range 3 {
			s.infer(t, fmt.Sprintf("run%d-%d", run, i))
		}
		h, raw := s.head(t)
		s.stop(t)
		heads = append(heads, h)
		// The file's head, printed by rai audit head, is the one the server answered.
		got, err := runRai(context.Background(), "audit", "head", logPath)
		if err != nil || strings.TrimSpace(got) != raw {
			t.Fatalf("rai audit head: %q, %v; the server said %s", got, err, raw)
		}
	}
	if heads[0].Count != 3 || heads[1].Count != 6 || heads[1].Genesis != heads[0].Genesis || heads[0].Genesis == "" {
		t.Fatalf("heads %+v: want one chain of 3 then 6 entries", heads)
	}
	got, err := runRai(context.Background(), "audit", "verify", logPath)
	if err != nil || !strings.HasPrefix(got, "ok: 6 entries, last hash "+heads[1].Hash) {
		t.Fatalf("audit verify: %q, %v", got, err)
	}
	data, _ := os.ReadFile(logPath)
	prev := audit.GenesisHash
	for i, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var e audit.Entry
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatal(err)
		}
		if e.Seq != uint64(i+1) || e.PrevHash != prev || e.RequestID != fmt.Sprintf("run%d-%d", i/3, i%3) {
			t.Fatalf("line %d: seq %d prev %s id %s, want seq %d prev %s", i+1, e.Seq, e.PrevHash, e.RequestID, i+1, prev)
		}
		prev = e.Hash
	}
	// The first run's head, anchored, still holds.
	got, err = runRai(context.Background(), "audit", "verify", logPath,
		"--anchor-count", fmt.Sprint(heads[0].Count), "--anchor-hash", heads[0].Hash)
	if err != nil || !strings.Contains(got, "anchor: entry 3 has hash "+heads[0].Hash) {
		t.Fatalf("audit verify against the first head: %q, %v", got, err)
	}
}

// writeAuditLog writes a log of n entries with the audit package and returns its lines.
func writeAuditLog(t *testing.T, path string, n int) [][]byte {
	t.Helper()
	l, _, err := audit.Open(path, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := l.Append(audit.Entry{RequestID: fmt.Sprint("r", i+1), ModelName: "lr", Rows: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	return bytes.SplitAfter(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
}

// TestAuditVerifyNamesTheFirstBadRecord runs `rai audit verify` on a log edited in the ways that
// matter, with and without an anchor.
func TestAuditVerifyNamesTheFirstBadRecord(t *testing.T) {
	dir := t.TempDir()
	lines := writeAuditLog(t, filepath.Join(dir, "orig.jsonl"), 6)
	full, err := audit.Verify(bytes.NewReader(bytes.Join(lines, nil)))
	if err != nil {
		t.Fatal(err)
	}
	at5, _ := audit.Verify(bytes.NewReader(bytes.Join(lines[:5], nil)))
	anchor := []string{"--anchor-count", "5", "--anchor-hash", at5.LastHash}
	verify := func(content []byte, args ...string) (string, error) {
		path := filepath.Join(dir, "edited.jsonl")
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		return runRai(context.Background(), append([]string{"audit", "verify", path}, args...)...)
	}
	edited := func(i int, from, to string) []byte {
		c := bytes.Join(lines, nil)
		return bytes.Replace(c, lines[i], bytes.Replace(lines[i], []byte(from), []byte(to), 1), 1)
	}
	for _, tc := range []struct {
		name    string
		content []byte
		args    []string
		want    string // "" for success
	}{
		{"intact", bytes.Join(lines, nil), nil, ""},
		{"intact, anchored", bytes.Join(lines, nil), anchor, ""},
		{"one record edited", edited(2, `"request_id":"r3"`, `"request_id":"rX"`), nil, "line 3 (seq 3): entry changed"},
		{"a record deleted in the middle", bytes.Join(append(append([][]byte{}, lines[:2]...), lines[3:]...), nil), nil,
			"line 3 (seq 4): chain broken"},
		{"tail truncated below the anchor, no anchor", bytes.Join(lines[:3], nil), nil, ""},
		{"tail truncated below the anchor, anchored", bytes.Join(lines[:3], nil), anchor, "line 4 (seq 4): missing: the log ends after 3 entries"},
		{"the anchored entry's hash differs", bytes.Join(lines, nil), []string{"--anchor-count", "5", "--anchor-hash", full.LastHash},
			"line 5 (seq 5): the anchor says entry 5 has hash " + full.LastHash},
		{"a torn last line", append(bytes.Join(lines[:5], nil), lines[5][:20]...), nil, ""},
		{"half an anchor", bytes.Join(lines, nil), []string{"--anchor-count", "5"}, "go together"},
	} {
		out, err := verify(tc.content, tc.args...)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %q, %v; want an error with %q", tc.name, out, err, tc.want)
		}
		if tc.name == "a torn last line" && (!strings.HasPrefix(out, "ok: 5 entries") || !strings.Contains(out, "line 6 is incomplete")) {
			t.Errorf("torn last line: %q", out)
		}
		if tc.name == "tail truncated below the anchor, no anchor" && !strings.HasPrefix(out, "ok: 3 entries") {
			t.Errorf("truncated, no anchor: %q", out)
		}
	}
}

// TestServeRefusesABrokenLogUnlessTold: `rai serve` does not extend a log that does not verify
// and leaves it as it is; --audit-log-rotate-broken moves it aside and starts a new chain; a
// torn last line is cut and the chain continues.
func TestServeRefusesABrokenLogUnlessTold(t *testing.T) {
	modelPath, digest := lrModel(t)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "audit.jsonl")
	lines := writeAuditLog(t, logPath, 4)
	good, _ := audit.Verify(bytes.NewReader(bytes.Join(lines[:1], nil)))
	lines[1] = bytes.Replace(lines[1], []byte(`"rows":1`), []byte(`"rows":5`), 1)
	broken := bytes.Join(lines, nil)
	os.WriteFile(logPath, broken, 0o600)

	_, err := startRai(t, modelPath, digest, "--audit-log", logPath)
	if err == nil || !strings.Contains(err.Error(), "line 2 (seq 2): entry changed") || !strings.Contains(err.Error(), "--audit-log-rotate-broken") {
		t.Fatalf("rai serve on a broken log: %v", err)
	}
	if data, _ := os.ReadFile(logPath); !bytes.Equal(data, broken) {
		t.Fatal("the broken log was changed")
	}

	s, err := startRai(t, modelPath, digest, "--audit-log", logPath, "--"+contract.FlagAuditLogRotateBroken)
	if err != nil {
		t.Fatal(err)
	}
	s.infer(t, "after")
	s.stop(t)
	moved, _ := filepath.Glob(logPath + ".broken-*")
	if len(moved) != 1 {
		t.Fatalf("moved aside: %v", moved)
	}
	if data, _ := os.ReadFile(moved[0]); !bytes.Equal(data, broken) {
		t.Fatal("the broken log was not kept intact")
	}
	if out, err := runRai(context.Background(), "audit", "verify", logPath); err != nil ||
		!strings.Contains(out, "chain started by moving aside "+filepath.Base(moved[0])+" (its first 1 entries verified") {
		t.Fatalf("audit verify of the new chain: %q, %v", out, err)
	}
	data, _ := os.ReadFile(logPath)
	var first audit.Entry
	json.Unmarshal(bytes.SplitN(data, []byte("\n"), 2)[0], &first)
	if cs := first.ChainStart; cs == nil || cs.PreviousLog != filepath.Base(moved[0]) || cs.PreviousEntries != 1 || cs.PreviousHash != good.LastHash {
		t.Fatalf("first entry of the new chain %+v (chain_start %+v)", first, first.ChainStart)
	}

	// A crash mid-write leaves an incomplete last line: the next start cuts it and continues.
	os.WriteFile(logPath, append(data, []byte(`{"seq":3,"time":"2026`)...), 0o600)
	s, err = startRai(t, modelPath, digest, "--audit-log", logPath)
	if err != nil {
		t.Fatalf("rai serve after a torn last line: %v", err)
	}
	s.infer(t, "after-crash")
	h, _ := s.head(t)
	s.stop(t)
	res, err := audit.VerifyFile(logPath)
	if err != nil || res.Entries != 3 || res.Torn != nil || h != res.Head() {
		t.Fatalf("after the torn line: %+v, %v; served head %+v", res, err, h)
	}
}
