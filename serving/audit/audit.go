// Package audit is the append-only, hash-chained JSON-lines log of the predictions `rai serve`
// makes, and its verifier (`rai audit verify`).
//
// Each line is one Entry. Its Hash is the hex sha256 of the entry's JSON encoding with Hash left
// empty (the encoding of this package's Entry type: fixed field order, map keys sorted), and its
// PrevHash is the Hash of the line before (GenesisHash for the first). Seq counts entries from 1.
// Changing any field of a line breaks its own hash; dropping, inserting or reordering lines breaks
// the chain at the first line after the change. Removing lines from the end leaves a valid, shorter
// chain: anchor the head (Head: the count, the last hash and the first entry's hash) elsewhere and
// verify against it to detect that.
//
// Open continues an existing log only after verifying all of it; a log that does not verify is
// refused (or, when asked, moved aside and a new chain started whose first entry names it). An
// incomplete last line — a write cut short by a crash — is cut off, and the chain goes on from the
// last complete entry.
//
// The log holds digests, not personal data: the sha256 of the canonical input (InputDigest), a
// summary of the outputs, and raw inputs only when the server is explicitly configured for them.
// What a client chooses freely, its request ID, is bounded (LoggedRequestID).
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
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// GenesisHash is the PrevHash of the first entry: 64 zeros.
var GenesisHash = hex.EncodeToString(make([]byte, sha256.Size))

// Entry is one audited prediction, or (only as the first entry of a log) a chain_start marker.
type Entry struct {
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	// RequestID is LoggedRequestID of the request's ID: the ID, or the digest of a long or odd one.
	RequestID    string `json:"request_id"`
	ModelName    string `json:"model_name"`
	ModelVersion string `json:"model_version"`
	// ModelSHA256 is the hex digest of the model file served.
	ModelSHA256 string `json:"model_sha256"`
	// InputSHA256 is InputDigest of the request's input.
	InputSHA256 string `json:"input_sha256"`
	Rows        int    `json:"rows"`
	// Outputs summarises each output tensor.
	Outputs []OutputSummary `json:"outputs"`
	// RawInput is the request's input, only when the server was started with raw inputs enabled.
	RawInput []float32 `json:"raw_input,omitempty"`
	// ChainStart is set only on the first entry of a log begun by moving a broken log aside; that
	// entry records no prediction.
	ChainStart *ChainStart `json:"chain_start,omitempty"`
	PrevHash   string      `json:"prev_hash"`
	Hash       string      `json:"hash,omitempty"`
}

// ChainStart records the log a new chain replaced: one that did not verify and was renamed.
type ChainStart struct {
	// PreviousLog is the broken log's new file name, in the same directory.
	PreviousLog string `json:"previous_log"`
	// PreviousEntries is how many entries at its start verified; PreviousHash is the hash of the
	// last of them (GenesisHash when none did) and PreviousGenesis the hash of its first entry
	// ("" when none verified).
	PreviousEntries int    `json:"previous_entries"`
	PreviousHash    string `json:"previous_hash"`
	PreviousGenesis string `json:"previous_genesis"`
	// Reason is why it did not verify (the verifier's message, at most 512 bytes).
	Reason string `json:"reason"`
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

// TextDigest is the hex sha256 of the canonical form of a BYTES input tensor of texts (a text
// model's "text" input): the name, a zero byte, "BYTES", a zero byte, the number of dimensions
// and each dimension as little-endian int64 (as InputDigest), then each element's length as a
// little-endian int64 followed by its bytes. The log of a text model holds this digest, never the
// texts.
func TextDigest(name string, shape []int64, texts []string) string {
	h := sha256.New()
	writeHead(h, name, "BYTES", shape)
	var buf [8]byte
	for _, t := range texts {
		binary.LittleEndian.PutUint64(buf[:], uint64(len(t)))
		h.Write(buf[:])
		io.WriteString(h, t)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Int64Tensor is one INT64 input tensor for TokensDigest.
type Int64Tensor struct {
	Name  string
	Shape []int64
	Data  []int64
}

// TokensDigest is the hex sha256 of INT64 input tensors (a text model's input_ids,
// attention_mask and token_type_ids, in the order given): for each, the canonical head of
// InputDigest with datatype "INT64", then its values as little-endian int64.
func TokensDigest(tensors ...Int64Tensor) string {
	h := sha256.New()
	chunk := make([]byte, 0, 4096)
	for _, t := range tensors {
		writeHead(h, t.Name, "INT64", t.Shape)
		for _, v := range t.Data {
			chunk = binary.LittleEndian.AppendUint64(chunk, uint64(v))
			if len(chunk) == cap(chunk) {
				h.Write(chunk)
				chunk = chunk[:0]
			}
		}
		h.Write(chunk)
		chunk = chunk[:0]
	}
	return hex.EncodeToString(h.Sum(nil))
}

func writeHead(h io.Writer, name, datatype string, shape []int64) {
	var buf [8]byte
	io.WriteString(h, name)
	h.Write([]byte{0})
	io.WriteString(h, datatype)
	h.Write([]byte{0})
	binary.LittleEndian.PutUint64(buf[:], uint64(len(shape)))
	h.Write(buf[:])
	for _, d := range shape {
		binary.LittleEndian.PutUint64(buf[:], uint64(d))
		h.Write(buf[:])
	}
}

// MaxRequestIDBytes is the longest request ID the log stores as the client sent it.
const MaxRequestIDBytes = 128

// DigestPrefix begins a logged request ID that is the digest of the client's ID.
const DigestPrefix = "sha256:"

// LoggedRequestID is the form of a client's request ID that enters the log: the ID itself when it
// is at most MaxRequestIDBytes bytes of valid UTF-8 without control or invisible formatting
// characters (Unicode categories Cc, Cf, Zl, Zp) and does not itself begin with DigestPrefix;
// otherwise "sha256:" and the hex sha256 of the ID's bytes (71 bytes). A logged ID that begins with
// "sha256:" is therefore always a digest: to find a long ID's entries, search for its digest.
func LoggedRequestID(id string) string {
	if len(id) <= MaxRequestIDBytes && !strings.HasPrefix(id, DigestPrefix) && printable(id) {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return DigestPrefix + hex.EncodeToString(sum[:])
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) {
			return false
		}
	}
	return true
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

// Head identifies the state of a log: Count entries (the last one's Seq), Hash the last entry's
// hash (GenesisHash for an empty log) and Genesis the first entry's hash ("" for an empty log),
// which tells one log from another. Anchored outside the log's reach, a head lets Verify detect a
// log later cut back below it or rewritten.
type Head struct {
	Count   uint64 `json:"count"`
	Hash    string `json:"hash"`
	Genesis string `json:"genesis"`
}

// Log appends entries to a file. It is safe for concurrent use; entries are chained in the order
// Append is called. While it is open the file is locked (flock) against a second Log.
type Log struct {
	mu      sync.Mutex
	f       *os.File
	seq     uint64
	prev    string
	genesis string
	now     func() time.Time
}

// Options are Open's choices.
type Options struct {
	// RotateBroken: when the existing log does not verify, rename it to PATH.broken-<unix seconds>
	// and begin a new log at PATH whose first entry is a ChainStart naming it. Without it Open
	// refuses such a log with a *BrokenLogError and leaves the file as it is.
	RotateBroken bool
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Opened says what Open found.
type Opened struct {
	// Entries is how many verified entries the log already held and is continued from.
	Entries int
	// Torn is the incomplete last line that was cut off, if there was one.
	Torn *Torn
	// Rotated is the marker of the new chain, when a broken log was moved aside.
	Rotated *ChainStart
}

// BrokenLogError is Open's refusal of an existing log that does not verify.
type BrokenLogError struct {
	Path string
	Err  *VerifyError
}

func (e *BrokenLogError) Error() string {
	return fmt.Sprintf("audit log %s does not verify: %v; refusing to extend it (the file is left unchanged)", e.Path, e.Err)
}

func (e *BrokenLogError) Unwrap() error { return e.Err }

// Open opens the log at path for appending, creating it if needed. An existing log is verified
// from its first line to its last (Verify) and continued: the next entry's Seq follows the last
// one's and its PrevHash is the last Hash. An incomplete last line (no newline and not JSON: a
// write cut short by a crash) is truncated away and reported in Opened.Torn. A log that does not
// verify is refused with a *BrokenLogError, unless opts.RotateBroken.
func Open(path string, opts Options) (*Log, Opened, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	f, err := openLocked(path, os.O_RDWR|os.O_CREATE|os.O_APPEND)
	if err != nil {
		return nil, Opened{}, err
	}
	res, err := Verify(f)
	var ve *VerifyError
	switch {
	case errors.As(err, &ve) && !ve.read:
		if !opts.RotateBroken {
			f.Close()
			return nil, Opened{}, &BrokenLogError{Path: path, Err: ve}
		}
		return rotate(f, path, res, ve, now)
	case err != nil:
		f.Close()
		return nil, Opened{}, fmt.Errorf("read audit log %s: %w", path, err)
	}
	op := Opened{Entries: res.Entries, Torn: res.Torn}
	fix := func() error {
		if res.Torn != nil {
			if err := f.Truncate(res.Torn.Offset); err != nil {
				return err
			}
		}
		if res.unterminated {
			// A complete entry whose newline did not reach the file.
			if _, err := f.Write([]byte{'\n'}); err != nil {
				return err
			}
		}
		if res.Torn != nil || res.unterminated {
			return f.Sync()
		}
		return nil
	}
	if err := fix(); err != nil {
		f.Close()
		return nil, Opened{}, fmt.Errorf("repair the last line of audit log %s: %w", path, err)
	}
	l := &Log{f: f, seq: uint64(res.Entries), prev: res.LastHash, genesis: res.Genesis, now: now}
	return l, op, nil
}

func openLocked(path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, flag, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("audit log %s: %w", path, err)
	}
	return f, nil
}

// rotate renames the broken log held open (and locked) as old, and begins a new one at path.
func rotate(old *os.File, path string, res Result, ve *VerifyError, now func() time.Time) (*Log, Opened, error) {
	defer old.Close()
	t := now()
	dst := fmt.Sprintf("%s.broken-%d", path, t.Unix())
	for i := 2; ; i++ {
		if _, err := os.Lstat(dst); errors.Is(err, os.ErrNotExist) {
			break
		}
		dst = fmt.Sprintf("%s.broken-%d-%d", path, t.Unix(), i)
	}
	if err := os.Rename(path, dst); err != nil {
		return nil, Opened{}, fmt.Errorf("move the broken audit log aside: %w", err)
	}
	f, err := openLocked(path, os.O_RDWR|os.O_CREATE|os.O_EXCL|os.O_APPEND)
	if err != nil {
		return nil, Opened{}, err
	}
	syncDir(filepath.Dir(path))
	reason := ve.Error()
	if len(reason) > 512 {
		reason = strings.ToValidUTF8(reason[:509], "") + "..."
	}
	cs := &ChainStart{PreviousLog: filepath.Base(dst), PreviousEntries: res.Entries, PreviousHash: res.LastHash,
		PreviousGenesis: res.Genesis, Reason: reason}
	l := &Log{f: f, prev: GenesisHash, now: now}
	if _, err := l.Append(Entry{Time: t.UTC(), ChainStart: cs}); err != nil {
		l.Close()
		return nil, Opened{}, err
	}
	if err := f.Sync(); err != nil {
		l.Close()
		return nil, Opened{}, fmt.Errorf("sync audit log: %w", err)
	}
	return l, Opened{Rotated: cs}, nil
}

// syncDir makes a rename or a new file in dir durable; where directories cannot be synced it is
// a no-op.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// maxLine bounds one entry's line (raw inputs make lines long).
const maxLine = 64 << 20

// Append completes e (Seq, Time when zero, PrevHash, Hash), writes it as one line and returns it.
// The write is a single write(2) to a file opened with O_APPEND; it is not synced to disk (Close
// syncs), so it survives a crash of the process but maybe not of the machine.
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
	if e.Seq == 1 {
		l.genesis = e.Hash
	}
	return e, nil
}

// Head is the log's current head.
func (l *Log) Head() Head {
	l.mu.Lock()
	defer l.mu.Unlock()
	return Head{Count: l.seq, Hash: l.prev, Genesis: l.genesis}
}

// Close flushes the log to disk and closes it (which releases its lock).
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

// VerifyError says where the chain breaks: the first bad record.
type VerifyError struct {
	Line int // 1-based line number in the file
	// Seq is the record's sequence number as its line states it; 0 when the line does not parse.
	Seq    uint64
	Reason string
	read   bool // the file could not be read: not a property of its content
}

func (e *VerifyError) Error() string {
	if e.Seq > 0 {
		return fmt.Sprintf("line %d (seq %d): %s", e.Line, e.Seq, e.Reason)
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
}

// Torn is an incomplete last line: bytes after the last newline that are not a JSON value, what a
// write cut short by a crash leaves.
type Torn struct {
	Line   int   // its 1-based line number
	Offset int64 // where it starts: the length of the log without it
	Bytes  int   // its length
}

// Result is what a successful Verify found.
type Result struct {
	Entries  int
	LastHash string // GenesisHash for an empty log
	Genesis  string // the first entry's hash; "" for an empty log
	// Torn is an incomplete last line, not counted in Entries. Verify accepts it (nothing before
	// it is lost or changed); Open cuts it off.
	Torn *Torn
	// ChainStart is the first entry's marker when the log began by moving a broken one aside.
	ChainStart *ChainStart

	unterminated bool // the last entry has no newline after it
}

// Head is the head of the verified log.
func (r Result) Head() Head {
	return Head{Count: uint64(r.Entries), Hash: r.LastHash, Genesis: r.Genesis}
}

// Anchor is a head recorded outside the log: the log must still hold entry Count with hash Hash.
type Anchor struct {
	Count uint64
	Hash  string
}

// Verify reads a log and checks every line: it parses as an Entry, its hash recomputes, its
// PrevHash is the previous line's Hash and its Seq the previous Seq plus one; only the first entry
// may be a chain_start. The first failure is returned as a *VerifyError naming the line and its
// seq. A last line without a newline that is not JSON is reported in Result.Torn and not counted.
// Each anchor must name an entry the log holds, with the anchored hash: a log cut back below an
// anchor, or rewritten up to it, fails at the anchored entry.
func Verify(r io.Reader, anchors ...Anchor) (Result, error) {
	for _, a := range anchors {
		if a.Count == 0 {
			return Result{}, errors.New("an anchor names an entry from 1 up")
		}
	}
	lr := lineReader{r: bufio.NewReaderSize(r, 64*1024)}
	res := Result{LastHash: GenesisHash}
	var seq uint64
	line := 0
	for {
		start := lr.off
		raw, terminated, err := lr.next()
		if err == io.EOF {
			break
		}
		line++
		if errors.Is(err, errLineTooLong) {
			return res, &VerifyError{Line: line, Reason: fmt.Sprintf("line longer than %d bytes", maxLine)}
		}
		if err != nil {
			return res, &VerifyError{Line: line, Reason: fmt.Sprintf("read: %v", err), read: true}
		}
		raw = bytes.TrimSpace(raw)
		if !terminated && !json.Valid(raw) {
			res.Torn = &Torn{Line: line, Offset: start, Bytes: int(lr.off - start)}
			break
		}
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
			return res, &VerifyError{Line: line, Seq: e.Seq, Reason: err.Error()}
		}
		switch {
		case h != e.Hash:
			return res, &VerifyError{Line: line, Seq: e.Seq, Reason: fmt.Sprintf("entry changed: its content hashes to %s, the line says %s", h, e.Hash)}
		case e.PrevHash != res.LastHash:
			return res, &VerifyError{Line: line, Seq: e.Seq, Reason: fmt.Sprintf("chain broken (an entry before it was dropped, inserted or reordered): prev_hash %s, previous entry's hash %s", e.PrevHash, res.LastHash)}
		case e.Seq != seq+1:
			return res, &VerifyError{Line: line, Seq: e.Seq, Reason: fmt.Sprintf("sequence %d follows %d", e.Seq, seq)}
		case e.ChainStart != nil && e.Seq != 1:
			return res, &VerifyError{Line: line, Seq: e.Seq, Reason: "a chain_start entry after the first"}
		}
		for _, a := range anchors {
			if a.Count == e.Seq && a.Hash != e.Hash {
				return res, &VerifyError{Line: line, Seq: e.Seq, Reason: fmt.Sprintf("the anchor says entry %d has hash %s, the log's has %s: the log was rewritten up to here", a.Count, a.Hash, e.Hash)}
			}
		}
		seq = e.Seq
		res.Entries++
		res.LastHash = e.Hash
		if seq == 1 {
			res.Genesis, res.ChainStart = e.Hash, e.ChainStart
		}
		res.unterminated = !terminated
	}
	for _, a := range anchors {
		if a.Count > seq {
			return res, &VerifyError{Line: res.Entries + 1, Seq: seq + 1, Reason: fmt.Sprintf("missing: the log ends after %d entries, the anchor names entry %d (hash %s): entries were cut from the end", seq, a.Count, a.Hash)}
		}
	}
	return res, nil
}

// VerifyFile is Verify on the file at path.
func VerifyFile(path string, anchors ...Anchor) (Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return Result{}, fmt.Errorf("open audit log: %w", err)
	}
	defer f.Close()
	return Verify(f, anchors...)
}

var errLineTooLong = errors.New("line too long")

// lineReader reads lines and counts the bytes read.
type lineReader struct {
	r   *bufio.Reader
	buf []byte
	off int64 // bytes consumed by the lines returned
}

// next returns the next line without its newline and whether it had one; io.EOF after the last.
func (lr *lineReader) next() ([]byte, bool, error) {
	lr.buf = lr.buf[:0]
	for {
		chunk, err := lr.r.ReadSlice('\n')
		if len(lr.buf)+len(chunk) > maxLine+1 {
			return nil, false, errLineTooLong
		}
		lr.buf = append(lr.buf, chunk...)
		switch {
		case err == nil:
			lr.off += int64(len(lr.buf))
			return lr.buf[:len(lr.buf)-1], true, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if len(lr.buf) == 0 {
				return nil, false, io.EOF
			}
			lr.off += int64(len(lr.buf))
			return lr.buf, false, nil
		default:
			return nil, false, err
		}
	}
}
