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

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// appendOne opens the log at path, appends one entry and closes it.
func appendOne(t *testing.T, path string, opts Options) (Entry, Opened) {
	t.Helper()
	l, op, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	e, err := l.Append(Entry{RequestID: "next", ModelName: "credit"})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return e, op
}

func TestOpenRefusesABrokenLogAndLeavesItUnchanged(t *testing.T) {
	path, lines := writeLog(t, 5)
	lines[2] = bytes.Replace(lines[2], []byte(`"rows":1`), []byte(`"rows":2`), 1) // a middle entry, not the last
	broken := bytes.Join(lines, nil)
	writeFile(t, path, broken)
	_, _, err := Open(path, Options{})
	var be *BrokenLogError
	if !errors.As(err, &be) || be.Err.Line != 3 || be.Err.Seq != 3 || !strings.Contains(err.Error(), "line 3 (seq 3): entry changed") {
		t.Fatalf("Open of a log changed at line 3: %v", err)
	}
	if got := readFile(t, path); !bytes.Equal(got, broken) {
		t.Fatal("Open changed the broken log it refused")
	}
	if m, _ := filepath.Glob(path + ".broken-*"); len(m) != 0 {
		t.Fatalf("moved aside without being asked: %v", m)
	}
}

func TestOpenRotatesABrokenLogWhenAsked(t *testing.T) {
	path, lines := writeLog(t, 4)
	good, err := verifyLines(lines[:2])
	if err != nil {
		t.Fatal(err)
	}
	lines[2] = bytes.Replace(lines[2], []byte(`"request_id":"rc"`), []byte(`"request_id":"xx"`), 1)
	broken := bytes.Join(lines, nil)
	writeFile(t, path, broken)
	now := time.Unix(1767225600, 0)
	e, op := appendOne(t, path, Options{RotateBroken: true, Now: func() time.Time { return now }})

	moved := path + ".broken-1767225600"
	if got := readFile(t, moved); !bytes.Equal(got, broken) {
		t.Fatal("the broken log was not moved aside intact")
	}
	want := ChainStart{PreviousLog: filepath.Base(moved), PreviousEntries: 2, PreviousHash: good.LastHash, PreviousGenesis: good.Genesis}
	if op.Rotated == nil || op.Entries != 0 || !strings.HasPrefix(op.Rotated.Reason, "line 3 (seq 3): entry changed") {
		t.Fatalf("opened %+v", op)
	}
	got := *op.Rotated
	got.Reason = ""
	if got != want {
		t.Fatalf("chain start %+v, want %+v", got, want)
	}
	// The new log: the chain_start marker, then the entry appended, one chain.
	res, err := VerifyFile(path)
	if err != nil || res.Entries != 2 || e.Seq != 2 || res.LastHash != e.Hash {
		t.Fatalf("new log: %+v, %v (appended seq %d)", res, err, e.Seq)
	}
	var first Entry
	mustUnmarshal(t, bytes.SplitN(readFile(t, path), []byte("\n"), 2)[0], &first)
	if first.Seq != 1 || first.PrevHash != GenesisHash || first.ChainStart == nil || *first.ChainStart != *op.Rotated ||
		!first.Time.Equal(now) || first.Hash != res.Genesis {
		t.Fatalf("first entry %+v", first)
	}
	// A second rotation in the same second does not overwrite the first broken log.
	writeFile(t, path, broken)
	appendOne(t, path, Options{RotateBroken: true, Now: func() time.Time { return now }})
	if got := readFile(t, moved+"-2"); !bytes.Equal(got, broken) {
		t.Fatal("second broken log not kept beside the first")
	}
}

func TestOpenCutsATornLastLineAndContinues(t *testing.T) {
	path, lines := writeLog(t, 4)
	intact, err := verifyLines(lines[:3])
	if err != nil {
		t.Fatal(err)
	}
	// A crash while writing entry 4: only part of its line reached the file, no newline.
	torn := append(bytes.Join(lines[:3], nil), lines[3][:len(lines[3])/2]...)
	writeFile(t, path, torn)

	res, err := VerifyFile(path)
	if err != nil || res.Entries != 3 || res.LastHash != intact.LastHash || res.Torn == nil ||
		res.Torn.Line != 4 || res.Torn.Bytes != len(lines[3])/2 || res.Torn.Offset != int64(len(torn)-len(lines[3])/2) {
		t.Fatalf("verify of a torn log: %+v (torn %+v), %v", res, res.Torn, err)
	}
	e, op := appendOne(t, path, Options{})
	if op.Torn == nil || *op.Torn != *res.Torn || op.Entries != 3 {
		t.Fatalf("opened %+v", op)
	}
	if e.Seq != 4 || e.PrevHash != intact.LastHash {
		t.Fatalf("continued with seq %d prev %s, want 4 and %s", e.Seq, e.PrevHash, intact.LastHash)
	}
	after, err := VerifyFile(path)
	if err != nil || after.Entries != 4 || after.Torn != nil || after.LastHash != e.Hash {
		t.Fatalf("after the torn line was cut: %+v, %v", after, err)
	}
	if data := readFile(t, path); !bytes.HasPrefix(data, bytes.Join(lines[:3], nil)) {
		t.Fatal("the complete entries before the torn line changed")
	}
}

func TestOpenCompletesALastEntryMissingOnlyItsNewline(t *testing.T) {
	path, lines := writeLog(t, 3)
	writeFile(t, path, bytes.TrimSuffix(bytes.Join(lines, nil), []byte("\n")))
	res, err := VerifyFile(path)
	if err != nil || res.Entries != 3 || res.Torn != nil {
		t.Fatalf("verify: %+v, %v", res, err)
	}
	e, op := appendOne(t, path, Options{})
	if op.Torn != nil || e.Seq != 4 || e.PrevHash != res.LastHash {
		t.Fatalf("opened %+v, appended %+v", op, e)
	}
	if res, err := VerifyFile(path); err != nil || res.Entries != 4 {
		t.Fatalf("after: %+v, %v", res, err)
	}
}

func TestOpenRefusesAChangedUnterminatedLastLine(t *testing.T) {
	// Only an incomplete line is taken for a crash: a complete JSON line that does not verify is
	// a changed entry, newline or not.
	path, lines := writeLog(t, 3)
	lines[2] = bytes.TrimSuffix(bytes.Replace(lines[2], []byte(`"rows":1`), []byte(`"rows":7`), 1), []byte("\n"))
	writeFile(t, path, bytes.Join(lines, nil))
	var be *BrokenLogError
	if _, _, err := Open(path, Options{}); !errors.As(err, &be) || be.Err.Line != 3 {
		t.Fatalf("Open: %v", err)
	}
}

func TestVerifyAgainstAnAnchor(t *testing.T) {
	path, lines := writeLog(t, 6)
	full, err := verifyLines(lines)
	if err != nil {
		t.Fatal(err)
	}
	at4, err := verifyLines(lines[:4])
	if err != nil {
		t.Fatal(err)
	}
	anchor := Anchor{Count: 4, Hash: at4.LastHash}
	if _, err := VerifyFile(path, anchor, Anchor{Count: 6, Hash: full.LastHash}); err != nil {
		t.Fatalf("intact log against its anchors: %v", err)
	}

	// Cut back below the anchor: still a valid chain without the anchor, caught with it.
	cut := lines[:3]
	if res, err := verifyLines(cut); err != nil || res.Entries != 3 {
		t.Fatalf("a log cut from the end verifies without an anchor: %+v, %v", res, err)
	}
	_, err = Verify(bytes.NewReader(bytes.Join(cut, nil)), anchor)
	var ve *VerifyError
	if !errors.As(err, &ve) || ve.Line != 4 || ve.Seq != 4 || !strings.Contains(ve.Reason, "cut from the end") {
		t.Fatalf("cut log against the anchor: %v", err)
	}

	// Rewritten: an attacker rebuilds a valid chain of the same length with entry 2 changed.
	rewritten := filepath.Join(t.TempDir(), "rewritten.jsonl")
	l, _, err := Open(rewritten, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, raw := range lines {
		var e Entry
		mustUnmarshal(t, raw, &e)
		if i == 1 {
			e.Rows = 9
		}
		if _, err := l.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	if res, err := VerifyFile(rewritten); err != nil || res.Entries != 6 {
		t.Fatalf("the rewritten chain is valid on its own: %+v, %v", res, err)
	}
	_, err = VerifyFile(rewritten, anchor)
	if !errors.As(err, &ve) || ve.Line != 4 || ve.Seq != 4 || !strings.Contains(ve.Reason, "rewritten") {
		t.Fatalf("rewritten log against the anchor: %v", err)
	}

	// A torn last line does not count as the anchored entry.
	torn := append(bytes.Join(lines[:3], nil), lines[3][:10]...)
	if _, err := Verify(bytes.NewReader(torn), anchor); !errors.As(err, &ve) || ve.Seq != 4 {
		t.Fatalf("torn log against the anchor: %v", err)
	}
	if _, err := verifyLines(lines); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(bytes.NewReader(nil), Anchor{}); err == nil {
		t.Fatal("an anchor at entry 0 accepted")
	}
}

func TestHeadOfAnEmptyAndAGrowingLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, op, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if h := l.Head(); op.Entries != 0 || h != (Head{Count: 0, Hash: GenesisHash, Genesis: ""}) {
		t.Fatalf("empty log: head %+v, opened %+v", h, op)
	}
	e1, _ := l.Append(Entry{RequestID: "a"})
	e2, _ := l.Append(Entry{RequestID: "b"})
	if h := l.Head(); h != (Head{Count: 2, Hash: e2.Hash, Genesis: e1.Hash}) {
		t.Fatalf("head %+v", h)
	}
	res, err := VerifyFile(path)
	if err != nil || res.Head() != l.Head() {
		t.Fatalf("verified head %+v, %v; log's %+v", res.Head(), err, l.Head())
	}
}

func TestASecondOpenOfALogInUseIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, _, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Open(path, Options{}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second Open: %v", err)
	}
	l.Close()
	l2, _, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	l2.Close()
}

func TestLoggedRequestIDIsBounded(t *testing.T) {
	long := strings.Repeat("x", 100<<10)
	for id, verbatim := range map[string]bool{
		"42":                               true,
		"order-2026/11/28 über":            true,
		strings.Repeat("a", 128):           true,
		strings.Repeat("a", 129):           false,
		long:                               false,
		"two\nlines":                       false,
		"nul\x00":                          false,
		"tab\t":                            false,
		"del\x7f":                          false,
		"bidi\u202eevil":                   false,
		"zero\u200bwidth":                  false,
		"line\u2028sep":                    false,
		"bad utf-8 \xff":                   false,
		"sha256:" + strings.Repeat("0", 8): false, // only digests begin with sha256:
	} {
		got := LoggedRequestID(id)
		if verbatim {
			if got != id {
				t.Errorf("%q logged as %q", id, got)
			}
			continue
		}
		if !strings.HasPrefix(got, DigestPrefix) || len(got) != len(DigestPrefix)+64 {
			t.Errorf("%.40q logged as %q, want its digest", id, got)
		}
	}
	if LoggedRequestID(long) != LoggedRequestID(long) || LoggedRequestID(long) == LoggedRequestID(long+"y") {
		t.Error("the digest is not a function of the ID")
	}
}
