package dataset

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unsafe"
)

// CSV reads comma-separated values with a header row (RFC 4180: fields may
// be double-quoted, with "" for a quote, and a quoted field may span lines;
// CRLF line ends are accepted). Rows with quotes take a slower path; plain
// rows are split in place without allocating.
type CSV struct {
	file   string
	br     *bufio.Reader
	closer io.Closer
	spec   Spec
	header []string
	numIdx []int
	catIdx []int
	dicts  []*dict
	fields [][]byte
	line   []byte // reassembly buffer for long or multi-line records
	quoted []byte // unquoted field storage for the slow path
	row    int64
	defer_ bool
}

// DeferParse implements DeferParse.
func (c *CSV) DeferParse(on bool) { c.defer_ = on }

// NewCSV reads the header from r and checks that every column in spec is
// there. name is used in error messages.
func NewCSV(r io.Reader, name string, spec Spec) (*CSV, error) {
	c := &CSV{file: name, br: bufio.NewReaderSize(r, 1<<20), spec: spec}
	rec, err := c.record()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file: no header row", name)
	}
	if err != nil {
		return nil, err
	}
	c.header = make([]string, len(rec))
	for i, f := range rec {
		c.header[i] = string(f)
	}
	if len(c.header) > 0 {
		c.header[0] = string(bytes.TrimPrefix([]byte(c.header[0]), []byte("\xef\xbb\xbf")))
	}
	if c.numIdx, err = resolve(name, c.header, spec.Numeric); err != nil {
		return nil, err
	}
	if c.catIdx, err = resolve(name, c.header, spec.Categorical); err != nil {
		return nil, err
	}
	if c.dicts, err = newDicts(name, &spec); err != nil {
		return nil, err
	}
	return c, nil
}

// Columns implements Reader.
func (c *CSV) Columns() []string { return c.header }

// Dict implements Reader.
func (c *CSV) Dict(i int) []string { return c.dicts[i].values }

// Close implements Reader.
func (c *CSV) Close() error {
	if c.closer != nil {
		return c.closer.Close()
	}
	return nil
}

// Next implements Reader.
func (c *CSV) Next(b *Batch, maxRows int) (bool, error) {
	b.reset(&c.spec, maxRows)
	b.FirstRow = c.row + 1
	nf := len(c.spec.Numeric)
	b.deferred = c.defer_ && nf > 0
	if b.deferred {
		b.raw, b.rawEnd, b.rowNum = b.raw[:0], b.rawEnd[:0], b.rowNum[:0]
		b.file, b.names = c.file, c.spec.Numeric
	}
	for b.Rows < maxRows {
		rec, err := c.record()
		if err == io.EOF {
			break
		}
		if err != nil {
			return false, err
		}
		c.row++
		if len(rec) == 1 && len(rec[0]) == 0 {
			c.row--
			continue // blank line
		}
		if len(rec) != len(c.header) {
			return false, fmt.Errorf("%s: row %d has %d fields, the header has %d", c.file, c.row, len(rec), len(c.header))
		}
		r := b.Rows
		if b.deferred {
			for _, p := range c.numIdx {
				b.raw = append(b.raw, rec[p]...)
				b.rawEnd = append(b.rawEnd, int32(len(b.raw)))
			}
			b.rowNum = append(b.rowNum, c.row)
			if err := c.codeRow(b, r, rec); err != nil {
				return false, err
			}
			b.Rows++
			continue
		}
		feat := b.Features[r*nf : (r+1)*nf]
		for i, p := range c.numIdx {
			v, err := parseFloat32(rec[p])
			if err != nil {
				return false, fmt.Errorf("%s: row %d, column %q: %w", c.file, c.row, c.header[p], err)
			}
			feat[i] = v
		}
		if err := c.codeRow(b, r, rec); err != nil {
			return false, err
		}
		b.Rows++
	}
	b.trim(&c.spec)
	return b.Rows > 0, nil
}

// codeRow codes the categorical fields of record rec into row r of b,
// refusing an unreadable label (see Spec.Labels).
func (c *CSV) codeRow(b *Batch, r int, rec [][]byte) error {
	for i, p := range c.catIdx {
		code := c.dicts[i].code(rec[p])
		if code == badLabel {
			return labelError(c.file, c.row, c.header[p], string(rec[p]))
		}
		b.Codes[i][r] = code
	}
	return nil
}

// parseFloat32 parses a numeric cell without allocating on success. The
// error copies the text, so it stays valid after the buffer is reused.
func parseFloat32(b []byte) (float32, error) {
	if v, ok := fastFloat32(b); ok {
		return v, nil
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return 0, errors.New("empty value where a number is required")
	}
	v, err := strconv.ParseFloat(unsafe.String(&b[0], len(b)), 32)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("value %q is not a finite number", string(b))
	}
	return float32(v), nil
}

// record returns the fields of the next record; they alias internal
// buffers until the next call.
func (c *CSV) record() ([][]byte, error) {
	line, err := c.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		c.line = append(c.line[:0], line...)
		for err == bufio.ErrBufferFull {
			line, err = c.br.ReadSlice('\n')
			c.line = append(c.line, line...)
		}
		line = c.line
	}
	if err == io.EOF {
		if len(line) == 0 {
			return nil, io.EOF
		}
	} else if err != nil {
		return nil, fmt.Errorf("%s: read: %w", c.file, err)
	}
	if bytes.IndexByte(line, '"') >= 0 {
		return c.quotedRecord(line)
	}
	line = trimEOL(line)
	c.fields = c.fields[:0]
	for {
		i := bytes.IndexByte(line, ',')
		if i < 0 {
			c.fields = append(c.fields, line)
			break
		}
		c.fields = append(c.fields, line[:i])
		line = line[i+1:]
	}
	return c.fields, nil
}

func trimEOL(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
	}
	return line
}

// quotedRecord parses a record containing quotes, reading more lines while
// a quoted field is open.
func (c *CSV) quotedRecord(first []byte) ([][]byte, error) {
	if &first[0] != unsafe.SliceData(c.line) {
		c.line = append(c.line[:0], first...)
	}
	c.quoted = c.quoted[:0]
	type span struct{ a, b int }
	var spans []span
	i := 0
	for {
		start := len(c.quoted)
		if i < len(c.line) && c.line[i] == '"' {
			i++
			for {
				if i >= len(c.line) {
					more, err := c.br.ReadBytes('\n')
					if len(more) == 0 && err != nil {
						return nil, fmt.Errorf("%s: after row %d: unterminated quoted field", c.file, c.row)
					}
					c.line = append(c.line, more...)
					continue
				}
				ch := c.line[i]
				if ch == '"' {
					if i+1 < len(c.line) && c.line[i+1] == '"' {
						c.quoted = append(c.quoted, '"')
						i += 2
						continue
					}
					i++
					break
				}
				c.quoted = append(c.quoted, ch)
				i++
			}
			// Skip to the separator or end of line.
			for i < len(c.line) && c.line[i] != ',' && c.line[i] != '\n' && c.line[i] != '\r' {
				c.quoted = append(c.quoted, c.line[i])
				i++
			}
		} else {
			for i < len(c.line) && c.line[i] != ',' && c.line[i] != '\n' {
				c.quoted = append(c.quoted, c.line[i])
				i++
			}
			if n := len(c.quoted); n > start && c.quoted[n-1] == '\r' && (i >= len(c.line) || c.line[i] == '\n') {
				c.quoted = c.quoted[:n-1]
			}
		}
		spans = append(spans, span{start, len(c.quoted)})
		if i < len(c.line) && c.line[i] == ',' {
			i++
			continue
		}
		break
	}
	c.fields = c.fields[:0]
	for _, s := range spans {
		c.fields = append(c.fields, c.quoted[s.a:s.b])
	}
	return c.fields, nil
}

// pow10f32 holds the powers of ten that are exact in float32.
var pow10f32 = [...]float32{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10}

// fastFloat32 parses the common plain decimal ("-0.6121", "42", "3.5e2")
// with Clinger's fast path: when the digits form an integer m < 2^24 and
// the decimal exponent e has |e| ≤ 10, both m and 10^|e| are exact in
// float32, so one multiplication or division gives the correctly rounded
// result, the same float32 strconv.ParseFloat(s, 32) returns. Anything
// else (more digits, spaces, inf, hex) reports false and takes strconv.
func fastFloat32(b []byte) (float32, bool) {
	i, n := 0, len(b)
	if n == 0 || n > 24 {
		return 0, false
	}
	neg := false
	if b[0] == '-' || b[0] == '+' {
		neg = b[0] == '-'
		i++
	}
	var m uint32
	digits, frac := 0, 0
	seenDot := false
	for ; i < n; i++ {
		c := b[i]
		if c >= '0' && c <= '9' {
			m = m*10 + uint32(c-'0') // m < 2^24 before, so no overflow
			if m >= 1<<24 {
				return 0, false
			}
			digits++
			if seenDot {
				frac++
			}
			continue
		}
		if c == '.' && !seenDot {
			seenDot = true
			continue
		}
		break
	}
	if digits == 0 {
		return 0, false
	}
	exp := 0
	if i < n {
		if b[i] != 'e' && b[i] != 'E' {
			return 0, false
		}
		i++
		eneg := false
		if i < n && (b[i] == '-' || b[i] == '+') {
			eneg = b[i] == '-'
			i++
		}
		if i == n {
			return 0, false
		}
		for ; i < n; i++ {
			c := b[i]
			if c < '0' || c > '9' || exp > 100 {
				return 0, false
			}
			exp = exp*10 + int(c-'0')
		}
		if eneg {
			exp = -exp
		}
	}
	exp -= frac
	if exp < -10 || exp > 10 {
		return 0, false
	}
	v := float32(m)
	if exp >= 0 {
		v *= pow10f32[exp]
	} else {
		v /= pow10f32[-exp]
	}
	if neg {
		v = -v
	}
	return v, true
}
