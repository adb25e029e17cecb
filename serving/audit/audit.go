// Package audit is the append-only, hash-chained JSON-lines log of the predictions `rai serve`
// makes, and its verifier (`rai audit verify`).
//
// Each line is one Entry. Its Hash is the hex sha256 of the entry's JSON encoding with Hash left
// empty (the encoding of this package's Entry type: fixed field order, map keys sorted), and its
// PrevHash is the Hash of the line before (GenesisHash for the first). Seq counts entries from 1.
// Changing any field of a line breaks its own hash; dropping, inserting or reordering lines breaks
// the chain at the first line after the change. Removing lines from the end leaves a valid, shorter
// chain: anchor the last hash elsewhere (Verify returns it) to detect that.
//
// The log holds digests, not personal data: the sha256 of the canonical input (InputDigest), a
// summary of the outputs, and raw inputs only when the server is explicitly configured for them.
package audit

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sync"
	"time"
)

// GenesisHash is the PrevHash of the first entry: 64 zeros.
var GenesisHash = hex.EncodeToString(make([]byte, sha256.Size))

// Entry is one audited prediction.
type Entry struct {
	Seq          uint64    `json:"seq"`
	Time         time.Time `json:"time"`
	RequestID    string    `json:"request_id"`
	ModelName    string    `json:"model_name"`
	ModelVersion string    `json:"model_version"`
	// ModelSHA256 is the hex digest of the model file served.
	ModelSHA256 string `json:"model_sha256"`
	// InputSHA256 is InputDigest of the request's input.
	InputSHA256 string `json:"input_sha256"`
	Rows        int    `json:"rows"`
	// Outputs summarises each output tensor.
	Outputs []OutputSummary `json:"outputs"`
	// RawInput is the request's input, only when the server was started with raw inputs enabled.
	RawInput []float32 `json:"raw_input,omitempty"`
	PrevHash string    `json:"prev_hash"`
	Hash     string    `json:"hash,omitempty"`
}

// OutputSummary describes an output tensor without storing it.
type OutputSummary struct {
	Name  string  `json:"name"`
	Count int     `json:"count"`
	Min   float64 `json:"min"`
	Max   float64 `json:"max"`
	Mean  float64 `json:"mean"`
}

// Summarize returns the summary of one output's values.
func Summarize(name string, values []float32) OutputSummary {
	s := OutputSummary{Name: name, Count: len(values)}
	if len(values) == 0 {
		return s
	}
	s.Min, s.Max = math.Inf(1), math.Inf(-1)
	var sum float64
	for _, v := range values {
		f := float64(v)
		s.Min, s.Max = math.Min(s.Min, f), math.Max(s.Max, f)
		sum += f
	}
	s.Mean = sum / float64(len(values))
	return s
}

// InputDigest is the hex sha256 of the canonical form of an input tensor: the name, a zero byte,
// the datatype, a zero byte, the number of dimensions and each dimension as little-endian int64,
// then the values as little-endian IEEE-754 float32. Two requests carrying the same tensor have
// the same digest however their JSON was written (nesting, spacing, number spelling).
func InputDigest(name, datatype string, shape []int64, data []float32) string {
	h := sha256.New()
	var buf [8]byte
	h.Write([]byte(name))
	h.Write([]byte{0})
	h.Write([]byte(datatype))
	h.Write([]byte{0})
	binary.LittleEndian.PutUint64(buf[:], uint64(len(shape)))
	h.Write(buf[:])
	for _, d := range shape {
		binary.LittleEndian.PutUint64(buf[:], uint64(d))
		h.Write(buf[:])
	}
	chunk := make([]byte, 0, 4096)
	for _, v := range data {
		chunk = binary.LittleEndian.AppendUint32(chunk, math.Float32bits(v))
		if len(chunk) == cap(chunk) {
			h.Write(chunk)
			chunk = chunk[:0]
		}
	}
	h.Write(chunk)
	return hex.EncodeToString(h.Sum(nil))
}

// hashOf computes an entry's hash: sha256 of its JSON with Hash empty (and so omitted).
func hashOf(e Entry) (string, error) {
	e.Hash = ""
	b, err := json.Marshal(e)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// Log appends entries to a file. It is safe for concurrent use; entries are chained in the order
// Append is called.
type Log struct {
	mu   sync.Mutex
	f    *os.File
	seq  uint64
	prev string
	now  func() time.Time
}

// Open opens (creating it if needed) the log at path for appending. An existing log is continued:
// its last entry must be intact (its hash recomputes), and the chain goes on from it. Open does
// not verify the whole file; Verify does.
func Open(path string) (*Log, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	l := &Log{f: f, prev: GenesisHash, now: time.Now}
	last, lineNo, err := lastLine(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("read audit log %s: %w", path, err)
	}
	if last != nil {
		var e Entry
		if err := json.Unmarshal(last, &e); err != nil {
			f.Close()
			return nil, fmt.Errorf("audit log %s line %d: not an entry: %w", path, lineNo, err)
		}
		if h, err := hashOf(e); err != nil || h != e.Hash {
			f.Close()
			return nil, fmt.Errorf("audit log %s line %d: hash does not match the entry; refusing to extend a tampered log", path, lineNo)
		}
		l.seq, l.prev = e.Seq, e.Hash
	}
	return l, nil
}

// lastLine returns the last non-empty line of f and its 1-based number. It reads the file once;
// logs are read sequentially anyway by Verify.
func lastLine(f *os.File) ([]byte, int, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, 0, err
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), maxLine)
	var last []byte
	n, lastNo := 0, 0
	for sc.Scan() {
		n++
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			last = append(last[:0], sc.Bytes()...)
			lastNo = n
		}
	}
	if err := sc.Err(); err != nil {
		return nil, 0, err
	}
	if lastNo == 0 {
		return nil, 0, nil
	}
	return last, lastNo, nil
}

// maxLine bounds one entry's line (raw inputs make lines long).
const maxLine = 64 << 20

// Append completes e (Seq, Time when zero, PrevHash, Hash), writes it as one line and returns it.
// The write is a single write(2) to a file opened with O_APPEND.
func (l *Log) Append(e Entry) (Entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return Entry{}, errors.New("audit log is closed")
	}
	e.Seq = l.seq + 1
	if e.Time.IsZero() {
		e.Time = l.now().UTC()
	}
	e.PrevHash = l.prev
	h, err := hashOf(e)
	if err != nil {
		return Entry{}, fmt.Errorf("audit entry: %w", err)
	}
	e.Hash = h
	line, err := json.Marshal(e)
	if err != nil {
		return Entry{}, fmt.Errorf("audit entry: %w", err)
	}
	line = append(line, '\n')
	if _, err := l.f.Write(line); err != nil {
		return Entry{}, fmt.Errorf("write audit log: %w", err)
	}
	l.seq, l.prev = e.Seq, e.Hash
	return e, nil
}

// Close flushes the log to disk and closes it.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := errors.Join(l.f.Sync(), l.f.Close())
	l.f = nil
	return err
}

// VerifyError says where the chain breaks.
type VerifyError struct {
	Line   int // 1-based line number in the file
	Reason string
}

func (e *VerifyError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// Result is what a successful Verify found.
type Result struct {
	Entries  int
	LastHash string // GenesisHash for an empty log
}

// Verify reads a log and checks every line: it parses as an Entry, its hash recomputes, its
// PrevHash is the previous line's Hash and its Seq the previous Seq plus one. The first failure is
// returned as a *VerifyError naming the line.
func Verify(r io.Reader) (Result, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), maxLine)
	res := Result{LastHash: GenesisHash}
	var seq uint64
	line := 0
	for sc.Scan() {
		line++
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			return res, &VerifyError{Line: line, Reason: "empty line"}
		}
		var e Entry
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return res, &VerifyError{Line: line, Reason: fmt.Sprintf("not an audit entry: %v", err)}
		}
		h, err := hashOf(e)
		if err != nil {
			return res, &VerifyError{Line: line, Reason: err.Error()}
		}
		switch {
		case h != e.Hash:
			return res, &VerifyError{Line: line, Reason: fmt.Sprintf("entry changed: its content hashes to %s, the line says %s", h, e.Hash)}
		case e.PrevHash != res.LastHash:
			return res, &VerifyError{Line: line, Reason: fmt.Sprintf("chain broken (an entry before it was dropped, inserted or reordered): prev_hash %s, previous entry's hash %s", e.PrevHash, res.LastHash)}
		case e.Seq != seq+1:
			return res, &VerifyError{Line: line, Reason: fmt.Sprintf("sequence %d follows %d", e.Seq, seq)}
		}
		seq = e.Seq
		res.Entries++
		res.LastHash = e.Hash
	}
	if err := sc.Err(); err != nil {
		return res, &VerifyError{Line: line + 1, Reason: fmt.Sprintf("read: %v", err)}
	}
	return res, nil
}

// VerifyFile is Verify on the file at path.
func VerifyFile(path string) (Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return Result{}, fmt.Errorf("open audit log: %w", err)
	}
	defer f.Close()
	return Verify(f)
}
