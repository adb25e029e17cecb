// Package dataset streams tabular evaluation data (CSV or Parquet) in
// batches: numeric feature columns become a row-major float32 matrix ready
// for batched inference, and categorical columns (label, sensitive
// attributes, a predictions column) become small integer codes into a
// per-column dictionary of the values seen so far. Categorical columns
// named in Spec.Labels hold class labels and are checked (see Spec.Labels).
//
// Readers hold at most one batch in memory, so memory stays flat however
// large the file is, and after warm-up they allocate only when a new
// categorical value appears. Errors name the file, the column and the
// 1-based data row (the header is not counted).
package dataset

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Spec says which columns to read and how.
type Spec struct {
	// Numeric columns, in the order they are laid out in each row of
	// Batch.Features (the model's input order).
	Numeric []string
	// Categorical columns: each value is coded to an int32 per column.
	Categorical []string
	// Labels names the categorical columns (each also in Categorical) that
	// hold class labels: the label column, a column of predicted labels.
	// A label must be readable, or the evaluation would count it as some
	// class it is not (a NaN label is not the favorable value, so it would
	// pass as unfavorable). Refused, with an error naming the file, the
	// 1-based data row and the column as for a bad numeric value:
	//   - an empty value (after trimming spaces), and in Parquet a null;
	//   - a value that parses as a non-finite number: NaN or ±Inf in any
	//     spelling strconv.ParseFloat accepts ("nan", "NaN", "inf",
	//     "-Infinity"), a signed NaN as C's printf writes it ("-nan"), and
	//     so a NaN or ±Inf in a float or double column.
	// Every other value is a class, whatever the favorable value: "0"
	// beside "1", "no" beside "yes", and any number of string classes.
	// Only a value new to the column's dictionary is checked, so the check
	// costs nothing per row.
	Labels []string
}

// Batch is a block of consecutive rows. Its slices are reused by the next
// call to Next; copy what must be kept.
type Batch struct {
	// Rows is the number of rows in the batch.
	Rows int
	// FirstRow is the 1-based data row number of the batch's first row.
	FirstRow int64
	// Features holds Rows × len(Spec.Numeric) values, row-major.
	Features []float32
	// Codes holds, per categorical column, Rows codes into Dict(column).
	Codes [][]int32

	// Deferred numeric text (see DeferParse): the fields of the numeric
	// columns, row-major, as raw[rawEnd[k-1]:rawEnd[k]].
	deferred bool
	raw      []byte
	rawEnd   []int32
	rowNum   []int64
	file     string
	names    []string
}

// DeferParse is implemented by readers that can leave the numeric columns
// as text for Batch.Parse to convert later, outside whatever lock serialises
// the reading: a CSV's float parsing is most of its reading cost, and this
// lets every core parse.
type DeferParse interface {
	DeferParse(on bool)
}

// Parse converts the batch's deferred numeric text into Features. It is a
// no-op for a batch whose numbers were parsed while reading. Errors name the
// file, row and column like the reader's own.
func (b *Batch) Parse() error {
	if !b.deferred {
		return nil
	}
	nf := len(b.names)
	start := int32(0)
	for k, end := range b.rawEnd[:b.Rows*nf] {
		v, err := parseFloat32(b.raw[start:end])
		if err != nil {
			return fmt.Errorf("%s: row %d, column %q: %w", b.file, b.rowNum[k/nf], b.names[k%nf], err)
		}
		b.Features[k] = v
		start = end
	}
	b.deferred = false
	return nil
}

// Reader streams batches.
type Reader interface {
	// Next fills b with up to maxRows rows and returns false at the end
	// of the data (b.Rows is then 0).
	Next(b *Batch, maxRows int) (bool, error)
	// Dict returns the values of categorical column i (index into
	// Spec.Categorical) by code, as far as read.
	Dict(i int) []string
	// Columns lists every column of the file in file order.
	Columns() []string
	Close() error
}

// ErrColumn is wrapped by errors about a missing or malformed column.
var ErrColumn = errors.New("bad column")

// Open opens path by its extension: .parquet (or .pq) as Parquet, anything
// else as CSV with a header row.
func Open(path string, spec Spec) (Reader, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".parquet", ".pq":
		return OpenParquet(path, spec)
	default:
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("open data: %w", err)
		}
		r, err := NewCSV(f, path, spec)
		if err != nil {
			f.Close()
			return nil, err
		}
		r.closer = f
		return r, nil
	}
}

// Columns returns the column names of a data file without reading its rows.
func Columns(path string) ([]string, error) {
	r, err := Open(path, Spec{})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.Columns(), nil
}

// dict codes the values of one categorical column.
type dict struct {
	codes  map[string]int32
	values []string
	// label makes the dictionary refuse an unreadable label (see
	// Spec.Labels): its code is badLabel and it is not added.
	label bool
}

// badLabel is the code of a value a label dictionary refuses.
const badLabel = -1

// newDicts returns one dictionary per categorical column of spec, marking
// the label columns; a label column that is not categorical is an error.
func newDicts(file string, spec *Spec) ([]*dict, error) {
	ds := make([]*dict, len(spec.Categorical))
	for i := range ds {
		ds[i] = &dict{codes: map[string]int32{}}
	}
	for _, l := range spec.Labels {
		found := false
		for i, c := range spec.Categorical {
			if c == l {
				ds[i].label, found = true, true
			}
		}
		if !found {
			return nil, fmt.Errorf("%s: %w: label column %q is not among the categorical columns (%s)", file, ErrColumn, l, strings.Join(spec.Categorical, ", "))
		}
	}
	return ds, nil
}

// code returns the code of v; the lookup with string(b) does not allocate,
// only a new value does.
func (d *dict) code(b []byte) int32 {
	if c, ok := d.codes[string(b)]; ok {
		return c
	}
	return d.add(string(b))
}

func (d *dict) codeString(s string) int32 {
	if c, ok := d.codes[s]; ok {
		return c
	}
	return d.add(s)
}

func (d *dict) add(s string) int32 {
	if d.label && unreadableLabel(s) != "" {
		return badLabel
	}
	c := int32(len(d.values))
	d.codes[s] = c
	d.values = append(d.values, s)
	return c
}

// unreadableLabel says why v is not a readable label, or "" when it is one
// (see Spec.Labels).
func unreadableLabel(v string) string {
	t := strings.TrimSpace(v)
	if t == "" {
		return "empty value where a label is required"
	}
	f, err := strconv.ParseFloat(t, 64)
	if err == nil && (math.IsNaN(f) || math.IsInf(f, 0)) || strings.EqualFold(strings.TrimLeft(t, "+-"), "nan") {
		return fmt.Sprintf("label value %q is NaN or infinite, not a class", v)
	}
	return ""
}

// labelError reports the unreadable label v at a 1-based data row.
func labelError(file string, row int64, column, v string) error {
	return fmt.Errorf("%s: row %d, column %q: %s", file, row, column, unreadableLabel(v))
}

// resolve maps each name in want to its index in header, naming every
// missing column at once.
func resolve(file string, header, want []string) ([]int, error) {
	pos := make(map[string]int, len(header))
	for i, h := range header {
		if _, dup := pos[h]; !dup {
			pos[h] = i
		}
	}
	idx := make([]int, len(want))
	var missing []string
	for i, w := range want {
		p, ok := pos[w]
		if !ok {
			missing = append(missing, strconv.Quote(w))
			continue
		}
		idx[i] = p
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s: %w: column %s not found (columns: %s)", file, ErrColumn, strings.Join(missing, ", "), strings.Join(header, ", "))
	}
	return idx, nil
}

func (b *Batch) reset(spec *Spec, maxRows int) {
	need := maxRows * len(spec.Numeric)
	if cap(b.Features) < need {
		b.Features = make([]float32, need)
	}
	b.Features = b.Features[:need]
	if len(b.Codes) != len(spec.Categorical) {
		b.Codes = make([][]int32, len(spec.Categorical))
	}
	for i := range b.Codes {
		if cap(b.Codes[i]) < maxRows {
			b.Codes[i] = make([]int32, maxRows)
		}
		b.Codes[i] = b.Codes[i][:maxRows]
	}
	b.Rows = 0
}

func (b *Batch) trim(spec *Spec) {
	b.Features = b.Features[:b.Rows*len(spec.Numeric)]
	for i := range b.Codes {
		b.Codes[i] = b.Codes[i][:b.Rows]
	}
}

// ReadAll reads every row of r into one batch (for tests and small
// inputs such as membership-inference samples).
func ReadAll(r Reader, nNumeric int) (*Batch, error) {
	all := &Batch{FirstRow: 1}
	var b Batch
	for {
		ok, err := r.Next(&b, 8192)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		all.Features = append(all.Features, b.Features[:b.Rows*nNumeric]...)
		if all.Codes == nil {
			all.Codes = make([][]int32, len(b.Codes))
		}
		for i := range b.Codes {
			all.Codes[i] = append(all.Codes[i], b.Codes[i][:b.Rows]...)
		}
		all.Rows += b.Rows
	}
	return all, nil
}

var _ io.Closer = Reader(nil)

// Memory serves rows already in memory as a Reader (benchmarks, tests and
// callers that hold their data): Features is row-major with nf values per
// row, Codes[i] and Dicts[i] one categorical column each.
type Memory struct {
	Features []float32
	NF       int
	Codes    [][]int32
	Dicts    [][]string
	Names    []string
	pos      int
}

// Next implements Reader without copying: b's slices alias the Memory's
// (so a Batch used with a Memory must not be filled by another Reader).
func (m *Memory) Next(b *Batch, maxRows int) (bool, error) {
	rows := len(m.Features) / max(m.NF, 1)
	if m.NF == 0 && len(m.Codes) > 0 {
		rows = len(m.Codes[0])
	}
	n := min(maxRows, rows-m.pos)
	b.FirstRow = int64(m.pos) + 1
	if n <= 0 {
		b.Rows = 0
		return false, nil
	}
	b.Features = m.Features[m.pos*m.NF : (m.pos+n)*m.NF : (m.pos+n)*m.NF]
	if len(b.Codes) != len(m.Codes) {
		b.Codes = make([][]int32, len(m.Codes))
	}
	for i := range m.Codes {
		b.Codes[i] = m.Codes[i][m.pos : m.pos+n : m.pos+n]
	}
	b.Rows = n
	m.pos += n
	return true, nil
}

// Dict implements Reader.
func (m *Memory) Dict(i int) []string { return m.Dicts[i] }

// Columns implements Reader.
func (m *Memory) Columns() []string { return m.Names }

// Close implements Reader.
func (m *Memory) Close() error { return nil }
