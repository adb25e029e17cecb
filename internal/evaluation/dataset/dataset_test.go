package dataset

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func readAll(t *testing.T, path string, spec Spec, batch int) (*Batch, Reader) {
	t.Helper()
	r, err := Open(path, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	all := &Batch{}
	var b Batch
	for {
		ok, err := r.Next(&b, batch)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		all.Features = append(all.Features, b.Features...)
		if all.Codes == nil {
			all.Codes = make([][]int32, len(b.Codes))
		}
		for i := range b.Codes {
			all.Codes[i] = append(all.Codes[i], b.Codes[i]...)
		}
		all.Rows += b.Rows
	}
	return all, r
}

func TestCSVReadsFeaturesAndCodes(t *testing.T) {
	p := writeFile(t, "d.csv", "x1,sex,\"x 2\",label\r\n1.5,F,2,1\r\n-3,\"M\",4e1,0\r\n\n0,\"a \"\"quoted\"\", value\",7,1\r\n")
	spec := Spec{Numeric: []string{"x 2", "x1"}, Categorical: []string{"label", "sex"}}
	for _, batch := range []int{1, 2, 100} {
		b, r := readAll(t, p, spec, batch)
		if b.Rows != 3 {
			t.Fatalf("batch %d: %d rows", batch, b.Rows)
		}
		want := []float32{2, 1.5, 40, -3, 7, 0}
		for i, v := range want {
			if b.Features[i] != v {
				t.Fatalf("batch %d: features %v, want %v", batch, b.Features, want)
			}
		}
		labels, sex := r.Dict(0), r.Dict(1)
		if got := labels[b.Codes[0][0]] + labels[b.Codes[0][1]] + labels[b.Codes[0][2]]; got != "101" {
			t.Fatalf("labels %q", got)
		}
		if sex[b.Codes[1][2]] != `a "quoted", value` || sex[b.Codes[1][1]] != "M" {
			t.Fatalf("sex dict %q codes %v", sex, b.Codes[1])
		}
	}
}

func TestCSVErrorsNameTheProblem(t *testing.T) {
	for name, c := range map[string]struct {
		content string
		spec    Spec
		want    []string
	}{
		"missing column": {"a,b\n1,2\n", Spec{Numeric: []string{"a", "zz"}}, []string{`"zz"`, "not found", "d.csv"}},
		"non-numeric":    {"a,b\n1,2\n3,x\n", Spec{Numeric: []string{"b"}}, []string{"row 2", `column "b"`, `"x"`}},
		"empty numeric":  {"a,b\n1,\n", Spec{Numeric: []string{"b"}}, []string{"row 1", `column "b"`, "empty"}},
		"field count":    {"a,b\n1,2\n1,2,3\n", Spec{Numeric: []string{"a"}}, []string{"row 2", "3 fields", "header has 2"}},
		"nan":            {"a\nNaN\n", Spec{Numeric: []string{"a"}}, []string{"row 1", "not a finite number"}},
		"empty file":     {"", Spec{}, []string{"no header"}},
	} {
		t.Run(name, func(t *testing.T) {
			p := writeFile(t, "d.csv", c.content)
			r, err := Open(p, c.spec)
			if err == nil {
				var b Batch
				for {
					var ok bool
					ok, err = r.Next(&b, 10)
					if err != nil || !ok {
						break
					}
				}
				r.Close()
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestCSVSteadyStateDoesNotAllocate(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("a,b,g\n")
	for i := range 4096 {
		sb.WriteString("1.25,-2,")
		sb.WriteString([]string{"x", "y"}[i%2])
		sb.WriteString("\n")
	}
	p := writeFile(t, "d.csv", sb.String())
	r, err := Open(p, Spec{Numeric: []string{"a", "b"}, Categorical: []string{"g"}, Labels: []string{"g"}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var b Batch
	if _, err := r.Next(&b, 64); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(50, func() {
		if _, err := r.Next(&b, 64); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per 64-row batch", allocs)
	}
}

func writeParquet(t *testing.T, rows int, nulls bool) string {
	t.Helper()
	mem := memory.DefaultAllocator
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "x1", Type: arrow.PrimitiveTypes.Float64},
		{Name: "sex", Type: arrow.BinaryTypes.String},
		{Name: "x2", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "label", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for i := range rows {
		b.Field(0).(*array.Float64Builder).Append(float64(i) / 2)
		b.Field(1).(*array.StringBuilder).Append([]string{"F", "M", "X"}[i%3])
		if nulls && i == rows-1 {
			b.Field(2).(*array.Int64Builder).AppendNull()
		} else {
			b.Field(2).(*array.Int64Builder).Append(int64(i))
		}
		b.Field(3).(*array.Int64Builder).Append(int64(i % 2))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	p := filepath.Join(t.TempDir(), "d.parquet")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(schema, f, parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(1000)), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// The Parquet reader gives the same features and categories as the CSV
// reader, across row groups and batch boundaries.
func TestParquetMatchesCSV(t *testing.T) {
	const n = 2500
	pq := writeParquet(t, n, false)
	var sb strings.Builder
	sb.WriteString("x1,sex,x2,label\n")
	for i := range n {
		sb.WriteString(strings.Join([]string{
			strconv.FormatFloat(float64(i)/2, 'f', -1, 64),
			[]string{"F", "M", "X"}[i%3], strconv.Itoa(i), strconv.Itoa(i % 2)}, ","))
		sb.WriteString("\n")
	}
	csv := writeFile(t, "d.csv", sb.String())
	spec := Spec{Numeric: []string{"x2", "x1"}, Categorical: []string{"sex", "label"}}
	a, ra := readAll(t, pq, spec, 700)
	c, rc := readAll(t, csv, spec, 333)
	if a.Rows != n || c.Rows != n {
		t.Fatalf("rows: parquet %d csv %d", a.Rows, c.Rows)
	}
	for i := range a.Features {
		if a.Features[i] != c.Features[i] {
			t.Fatalf("feature %d: parquet %v csv %v", i, a.Features[i], c.Features[i])
		}
	}
	for col := range 2 {
		for i := range n {
			if ra.Dict(col)[a.Codes[col][i]] != rc.Dict(col)[c.Codes[col][i]] {
				t.Fatalf("column %d row %d: %q vs %q", col, i, ra.Dict(col)[a.Codes[col][i]], rc.Dict(col)[c.Codes[col][i]])
			}
		}
	}
	if cols := ra.Columns(); strings.Join(cols, ",") != "x1,sex,x2,label" {
		t.Fatalf("columns %v", cols)
	}
}

func TestParquetErrors(t *testing.T) {
	pq := writeParquet(t, 10, true)
	if _, err := Open(pq, Spec{Numeric: []string{"nope"}}); err == nil || !errors.Is(err, ErrColumn) || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("missing column: %v", err)
	}
	r, err := Open(pq, Spec{Numeric: []string{"x2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var b Batch
	_, err = r.Next(&b, 100)
	if err == nil || !strings.Contains(err.Error(), "row 10") || !strings.Contains(err.Error(), "null") {
		t.Fatalf("null numeric: %v", err)
	}
	r2, err := Open(pq, Spec{Numeric: []string{"sex"}})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if _, err = r2.Next(&b, 100); err == nil || !strings.Contains(err.Error(), `"sex"`) {
		t.Fatalf("string as numeric: %v", err)
	}
}

// Deferred parsing gives the same features as parsing while reading, and
// the same error naming the row and column.
func TestCSVDeferredParse(t *testing.T) {
	p := writeFile(t, "d.csv", "a,g,b\n1.5,x,2\n\n-3,y,4e1\n7,x,oops\n")
	spec := Spec{Numeric: []string{"b", "a"}, Categorical: []string{"g"}}
	r, err := Open(p, spec)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	r.(DeferParse).DeferParse(true)
	var b Batch
	if ok, err := r.Next(&b, 2); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if err := b.Parse(); err != nil {
		t.Fatal(err)
	}
	if want := []float32{2, 1.5, 40, -3}; len(b.Features) != 4 || b.Features[0] != want[0] || b.Features[1] != want[1] || b.Features[2] != want[2] || b.Features[3] != want[3] {
		t.Fatalf("features %v", b.Features)
	}
	if ok, err := r.Next(&b, 2); !ok || err != nil {
		t.Fatal(ok, err)
	}
	err = b.Parse()
	if err == nil || !strings.Contains(err.Error(), `row 3, column "b"`) || !strings.Contains(err.Error(), `"oops"`) {
		t.Fatalf("deferred error %v", err)
	}
}

// The fast path must return exactly strconv's correctly rounded float32,
// and refuse what it cannot do exactly.
func TestFastFloat32MatchesStrconv(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	check := func(s string) {
		t.Helper()
		want, err := strconv.ParseFloat(s, 32)
		got, ok := fastFloat32([]byte(s))
		if !ok {
			return
		}
		if err != nil || got != float32(want) {
			t.Fatalf("%q: fast %v, strconv %v (%v)", s, got, float32(want), err)
		}
	}
	for _, s := range []string{"0", "-0", "1", "+7", "0.6121", "-0.0914", "16777215", "1677721.5", "3.5e2", "1e-10", "12345e-3", ".5", "5.", "0.1", "0.3", "2.718281"} {
		if _, ok := fastFloat32([]byte(s)); !ok {
			t.Errorf("%q not taken by the fast path", s)
		}
		check(s)
	}
	for _, s := range []string{"", "-", ".", "1e", "1e+", "abc", " 1", "1 ", "inf", "NaN", "0x10", "1.2.3", "123456789", "16777216", "2.7182817", "1e11", "1e-11", "--1"} {
		if _, ok := fastFloat32([]byte(s)); ok {
			t.Errorf("%q taken by the fast path", s)
		}
	}
	for range 200000 {
		var s string
		switch rng.IntN(3) {
		case 0:
			s = strconv.FormatFloat(rng.NormFloat64()*math.Pow(10, float64(rng.IntN(8)-4)), 'f', rng.IntN(7), 64)
		case 1:
			s = strconv.FormatFloat(rng.NormFloat64(), 'e', rng.IntN(6), 64)
		default:
			s = strconv.Itoa(rng.IntN(1 << 25))
		}
		check(s)
	}
}
