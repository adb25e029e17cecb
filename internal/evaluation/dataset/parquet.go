package dataset

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// parquetBatchRows is how many rows Arrow decodes at a time; it bounds the
// reader's memory independently of the file size.
const parquetBatchRows = 64 * 1024

// Parquet streams a flat Parquet file through Apache Arrow's record reader,
// one record batch at a time, reading only the requested columns.
// Numeric columns may be any integer or floating-point type; categorical
// columns may be strings (plain or dictionary-encoded), integers, floats or
// booleans (coded by their decimal text, so "1" in a CSV and int64 1 in a
// Parquet file are the same category). A null categorical value is the
// empty string; a null numeric value is an error, and so is a null, NaN or
// ±Inf label (see Spec.Labels).
type Parquet struct {
	file    string
	pf      *file.Reader
	rr      pqarrow.RecordReader
	spec    Spec
	header  []string
	dicts   []*dict
	rec     arrow.RecordBatch
	off     int // next row within rec
	numCol  []int
	catCol  []int
	row     int64
	scratch []byte
}

// OpenParquet opens path and checks that every column in spec is there.
func OpenParquet(path string, spec Spec) (*Parquet, error) {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, fmt.Errorf("open Parquet data %s: %w", path, err)
	}
	p := &Parquet{file: path, pf: pf, spec: spec}
	sc := pf.MetaData().Schema
	for i := 0; i < sc.NumColumns(); i++ {
		p.header = append(p.header, sc.Column(i).Name())
	}
	want := append(append([]string(nil), spec.Numeric...), spec.Categorical...)
	leaves, err := resolve(path, p.header, want)
	if err != nil {
		pf.Close()
		return nil, err
	}
	if p.dicts, err = newDicts(path, &spec); err != nil {
		pf.Close()
		return nil, err
	}
	if len(want) == 0 {
		return p, nil
	}
	// Ask for each leaf once; the record's columns come back in leaf order.
	seen := map[int]bool{}
	var cols []int
	for _, l := range leaves {
		if !seen[l] {
			seen[l] = true
			cols = append(cols, l)
		}
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: parquetBatchRows}, memory.DefaultAllocator)
	if err != nil {
		pf.Close()
		return nil, fmt.Errorf("read Parquet schema of %s: %w", path, err)
	}
	rr, err := fr.GetRecordReader(context.Background(), cols, nil)
	if err != nil {
		pf.Close()
		return nil, fmt.Errorf("read Parquet %s: %w", path, err)
	}
	p.rr = rr
	pos := map[string]int{}
	for i, f := range rr.Schema().Fields() {
		pos[f.Name] = i
	}
	for _, n := range spec.Numeric {
		p.numCol = append(p.numCol, pos[n])
	}
	for _, n := range spec.Categorical {
		p.catCol = append(p.catCol, pos[n])
	}
	return p, nil
}

// Columns implements Reader.
func (p *Parquet) Columns() []string { return p.header }

// Dict implements Reader.
func (p *Parquet) Dict(i int) []string { return p.dicts[i].values }

// Close implements Reader.
func (p *Parquet) Close() error {
	if p.rec != nil {
		p.rec.Release()
		p.rec = nil
	}
	if p.rr != nil {
		p.rr.Release()
	}
	return p.pf.Close()
}

// Next implements Reader.
func (p *Parquet) Next(b *Batch, maxRows int) (bool, error) {
	b.reset(&p.spec, maxRows)
	b.FirstRow = p.row + 1
	if p.rr == nil {
		return false, nil
	}
	nf := len(p.spec.Numeric)
	for b.Rows < maxRows {
		if p.rec == nil || p.off >= int(p.rec.NumRows()) {
			if p.rec != nil {
				p.rec.Release()
				p.rec = nil
			}
			if !p.rr.Next() {
				if err := p.rr.Err(); err != nil {
					return false, fmt.Errorf("%s: read rows after row %d: %w", p.file, p.row, err)
				}
				break
			}
			p.rec = p.rr.RecordBatch()
			p.rec.Retain()
			p.off = 0
		}
		n := min(maxRows-b.Rows, int(p.rec.NumRows())-p.off)
		for i, c := range p.numCol {
			if err := p.fillNumeric(p.rec.Column(c), p.spec.Numeric[i], b.Features, b.Rows, nf, i, n); err != nil {
				return false, err
			}
		}
		for i, c := range p.catCol {
			if err := p.fillCodes(p.rec.Column(c), p.spec.Categorical[i], p.dicts[i], b.Codes[i][b.Rows:b.Rows+n]); err != nil {
				return false, err
			}
		}
		p.off += n
		p.row += int64(n)
		b.Rows += n
	}
	b.trim(&p.spec)
	return b.Rows > 0, nil
}

// fillNumeric writes n values of column col, starting at p.off, into the
// row-major matrix dst at rows [row0, row0+n), position j of nf.
func (p *Parquet) fillNumeric(col arrow.Array, name string, dst []float32, row0, nf, j, n int) error {
	null := func(k int) error {
		return fmt.Errorf("%s: row %d, column %q: null where a number is required", p.file, p.row+int64(k)+1, name)
	}
	set := func(k int, v float64) error {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s: row %d, column %q: value %v is not a finite number", p.file, p.row+int64(k)+1, name, v)
		}
		dst[(row0+k)*nf+j] = float32(v)
		return nil
	}
	hasNulls := col.NullN() > 0
	switch a := col.(type) {
	case *array.Float32:
		vals := a.Float32Values()[p.off : p.off+n]
		for k, v := range vals {
			if v-v != 0 { // NaN or ±Inf
				if hasNulls && a.IsNull(p.off+k) {
					return null(k)
				}
				return set(k, float64(v))
			}
			if hasNulls && a.IsNull(p.off+k) {
				return null(k)
			}
			dst[(row0+k)*nf+j] = v
		}
	case *array.Float64:
		vals := a.Float64Values()[p.off : p.off+n]
		for k, v := range vals {
			if v-v != 0 {
				if hasNulls && a.IsNull(p.off+k) {
					return null(k)
				}
				return set(k, v)
			}
			if hasNulls && a.IsNull(p.off+k) {
				return null(k)
			}
			dst[(row0+k)*nf+j] = float32(v)
		}
	case *array.Int64:
		for k := range n {
			if hasNulls && a.IsNull(p.off+k) {
				return null(k)
			}
			dst[(row0+k)*nf+j] = float32(a.Value(p.off + k))
		}
	case *array.Int32:
		for k := range n {
			if hasNulls && a.IsNull(p.off+k) {
				return null(k)
			}
			dst[(row0+k)*nf+j] = float32(a.Value(p.off + k))
		}
	case *array.Int16, *array.Int8, *array.Uint8, *array.Uint16, *array.Uint32, *array.Uint64:
		for k := range n {
			if col.IsNull(p.off + k) {
				return null(k)
			}
			v, _ := strconv.ParseFloat(col.ValueStr(p.off+k), 64)
			dst[(row0+k)*nf+j] = float32(v)
		}
	default:
		return fmt.Errorf("%s: %w: column %q has Parquet/Arrow type %s, not a number", p.file, ErrColumn, name, col.DataType())
	}
	return nil
}

// fillCodes codes n values of column col, starting at p.off.
func (p *Parquet) fillCodes(col arrow.Array, name string, d *dict, dst []int32) error {
	switch a := col.(type) {
	case *array.String:
		for k := range dst {
			dst[k] = d.codeString(a.Value(p.off + k))
		}
	case *array.LargeString:
		for k := range dst {
			dst[k] = d.codeString(a.Value(p.off + k))
		}
	case *array.Dictionary:
		values, ok := a.Dictionary().(*array.String)
		if !ok {
			return fmt.Errorf("%s: %w: column %q is dictionary-encoded %s, want strings", p.file, ErrColumn, name, a.Dictionary().DataType())
		}
		for k := range dst {
			if a.IsNull(p.off + k) {
				dst[k] = d.codeString("")
				continue
			}
			dst[k] = d.codeString(values.Value(a.GetValueIndex(p.off + k)))
		}
	case *array.Int64:
		for k := range dst {
			p.scratch = strconv.AppendInt(p.scratch[:0], a.Value(p.off+k), 10)
			dst[k] = d.code(p.scratch)
		}
	case *array.Int32:
		for k := range dst {
			p.scratch = strconv.AppendInt(p.scratch[:0], int64(a.Value(p.off+k)), 10)
			dst[k] = d.code(p.scratch)
		}
	case *array.Float64:
		for k := range dst {
			p.scratch = strconv.AppendFloat(p.scratch[:0], a.Value(p.off+k), 'g', -1, 64)
			dst[k] = d.code(p.scratch)
		}
	case *array.Float32:
		for k := range dst {
			p.scratch = strconv.AppendFloat(p.scratch[:0], float64(a.Value(p.off+k)), 'g', -1, 32)
			dst[k] = d.code(p.scratch)
		}
	case *array.Boolean:
		for k := range dst {
			v := "false"
			if a.Value(p.off + k) {
				v = "true"
			}
			dst[k] = d.codeString(v)
		}
	default:
		for k := range dst {
			dst[k] = d.codeString(col.ValueStr(p.off + k))
		}
	}
	// Nulls in plain columns: code them as "".
	if col.NullN() > 0 {
		if _, isDict := col.(*array.Dictionary); !isDict {
			for k := range dst {
				if col.IsNull(p.off + k) {
					dst[k] = d.codeString("")
				}
			}
		}
	}
	if d.label {
		// A label dictionary coded an unreadable value (null, "", NaN,
		// ±Inf) as badLabel: report the first.
		for k, c := range dst {
			if c != badLabel {
				continue
			}
			row := p.row + int64(k) + 1
			if col.IsNull(p.off + k) {
				return fmt.Errorf("%s: row %d, column %q: null where a label is required", p.file, row, name)
			}
			return labelError(p.file, row, name, col.ValueStr(p.off+k))
		}
	}
	return nil
}
