package dataset

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// readErr reads every batch of path (batches of batch rows, the numbers
// parsed while reading or deferred) and returns the first error.
func readErr(t *testing.T, path string, spec Spec, batch int, deferred bool) error {
	t.Helper()
	r, err := Open(path, spec)
	if err != nil {
		return err
	}
	defer r.Close()
	if d, ok := r.(DeferParse); ok {
		d.DeferParse(deferred)
	}
	var b Batch
	for {
		ok, err := r.Next(&b, batch)
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		if err := b.Parse(); err != nil {
			return err
		}
	}
}

func wantMentions(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one mentioning %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}

// A label that is empty or a non-finite number is refused with its row and
// column, the way a bad feature value is, wherever it falls in the batches;
// the same values in a categorical column that is not a label are a class.
func TestCSVRefusesUnreadableLabels(t *testing.T) {
	spec := Spec{Numeric: []string{"x"}, Categorical: []string{"label", "sex"}, Labels: []string{"label"}}
	for name, c := range map[string]struct {
		label string // the label field of data row 4
		why   string // what the error says about it
	}{
		"NaN":          {"NaN", `label value "NaN" is NaN or infinite`},
		"nan":          {"nan", `"nan" is NaN or infinite`},
		"negative NaN": {"-nan", `"-nan" is NaN or infinite`},
		"Inf":          {"Inf", `"Inf" is NaN or infinite`},
		"+Inf":         {"+Inf", `"+Inf" is NaN or infinite`},
		"-Infinity":    {"-Infinity", `"-Infinity" is NaN or infinite`},
		"empty":        {"", "empty value where a label is required"},
		"quoted empty": {`""`, "empty value where a label is required"},
		"spaces":       {"  ", "empty value where a label is required"},
		"quoted NaN":   {`"NaN"`, `"NaN" is NaN or infinite`},
	} {
		t.Run(name, func(t *testing.T) {
			content := "x,label,sex\n1,1,F\n2,0,M\n\n3,1,F\n4," + c.label + ",M\n5,0,F\n"
			p := writeFile(t, "d.csv", content)
			for _, batch := range []int{1, 3, 100} {
				for _, deferred := range []bool{false, true} {
					err := readErr(t, p, spec, batch, deferred)
					wantMentions(t, err, "d.csv", `row 4, column "label"`, c.why)
				}
			}
			// Not a label column: the value is a category like any other.
			loose := Spec{Numeric: []string{"x"}, Categorical: []string{"label", "sex"}}
			if err := readErr(t, p, loose, 100, false); err != nil {
				t.Fatalf("unchecked categorical column: %v", err)
			}
		})
	}
}

// Any readable value is a class: the other value of a binary label, string
// classes, several of them, numbers in other spellings, and (in columns
// that are not labels) empty or NaN values.
func TestCSVAcceptsLabelClasses(t *testing.T) {
	p := writeFile(t, "d.csv", "x,label,pred,sex\n1,yes,1,\n2,no,0.0,NaN\n3,maybe, 1 ,F\n4,NA,-2,M\n5,yes,1e3,\n")
	spec := Spec{Numeric: []string{"x"}, Categorical: []string{"label", "pred", "sex"}, Labels: []string{"label", "pred"}}
	b, r := readAll(t, p, spec, 2)
	if b.Rows != 5 {
		t.Fatalf("%d rows", b.Rows)
	}
	if got := strings.Join(r.Dict(0), ","); got != "yes,no,maybe,NA" {
		t.Fatalf("label classes %q", got)
	}
	if got := strings.Join(r.Dict(1), ","); got != "1,0.0, 1 ,-2,1e3" {
		t.Fatalf("predicted classes %q", got)
	}
	if got := strings.Join(r.Dict(2), ","); got != ",NaN,F,M" {
		t.Fatalf("sex values %q", got)
	}
}

func TestLabelsMustBeCategorical(t *testing.T) {
	p := writeFile(t, "d.csv", "x,label\n1,1\n")
	_, err := Open(p, Spec{Numeric: []string{"x"}, Labels: []string{"label"}})
	wantMentions(t, err, `label column "label"`, "not among the categorical columns")
	if !errors.Is(err, ErrColumn) {
		t.Errorf("error %v is not ErrColumn", err)
	}
	pq := writeLabelParquet(t, arrow.PrimitiveTypes.Int64, func(b array.Builder) {
		b.(*array.Int64Builder).AppendValues([]int64{1}, nil)
	})
	_, err = Open(pq, Spec{Numeric: []string{"x"}, Labels: []string{"label"}})
	wantMentions(t, err, `label column "label"`, "not among the categorical columns")
}

// labelParquetRows is the row count of writeLabelParquet's files: with
// batches of 4 rows, row 7 is in the second batch.
const labelParquetRows = 10

// writeLabelParquet writes a Parquet file with a float64 feature x and a
// nullable label column of type typ, filled by fill.
func writeLabelParquet(t *testing.T, typ arrow.DataType, fill func(array.Builder)) string {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "x", Type: arrow.PrimitiveTypes.Float64},
		{Name: "label", Type: typ, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	fill(b.Field(1))
	for i := range b.Field(1).Len() {
		b.Field(0).(*array.Float64Builder).Append(float64(i))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	p := filepath.Join(t.TempDir(), "d.parquet")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(schema, f, parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(6)), pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
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

// In Parquet, a null label, a NaN or ±Inf in a float or double label, and
// an empty or non-finite string label are refused with their row and
// column, across row groups and batches; readable values are classes.
func TestParquetRefusesUnreadableLabels(t *testing.T) {
	const bad = 7 // the 1-based row of the bad label
	floats := func(v float64, null bool) func(array.Builder) {
		return func(b array.Builder) {
			for i := range labelParquetRows {
				switch {
				case i+1 == bad && null:
					b.AppendNull()
				case i+1 == bad:
					b.(*array.Float64Builder).Append(v)
				default:
					b.(*array.Float64Builder).Append(float64(i % 2))
				}
			}
		}
	}
	floats32 := func(v float32) func(array.Builder) {
		return func(b array.Builder) {
			for i := range labelParquetRows {
				if i+1 == bad {
					b.(*array.Float32Builder).Append(v)
				} else {
					b.(*array.Float32Builder).Append(float32(i % 2))
				}
			}
		}
	}
	strs := func(v string, null bool) func(array.Builder) {
		return func(b array.Builder) {
			for i := range labelParquetRows {
				switch {
				case i+1 == bad && null:
					b.AppendNull()
				case i+1 == bad:
					b.(*array.StringBuilder).Append(v)
				default:
					b.(*array.StringBuilder).Append([]string{"no", "yes"}[i%2])
				}
			}
		}
	}
	dictStrs := func(v string, null bool) func(array.Builder) {
		return func(b array.Builder) {
			db := b.(*array.BinaryDictionaryBuilder)
			for i := range labelParquetRows {
				switch {
				case i+1 == bad && null:
					db.AppendNull()
				case i+1 == bad:
					db.AppendString(v)
				default:
					db.AppendString([]string{"no", "yes"}[i%2])
				}
			}
		}
	}
	ints := func(b array.Builder) {
		for i := range labelParquetRows {
			if i+1 == bad {
				b.AppendNull()
			} else {
				b.(*array.Int64Builder).Append(int64(i % 2))
			}
		}
	}
	dictType := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	f64, f32, str := arrow.PrimitiveTypes.Float64, arrow.PrimitiveTypes.Float32, arrow.BinaryTypes.String
	for name, c := range map[string]struct {
		typ  arrow.DataType
		fill func(array.Builder)
		why  string
	}{
		"double NaN":         {f64, floats(math.NaN(), false), `label value "NaN" is NaN or infinite`},
		"double +Inf":        {f64, floats(math.Inf(1), false), `"+Inf" is NaN or infinite`},
		"double -Inf":        {f64, floats(math.Inf(-1), false), `"-Inf" is NaN or infinite`},
		"double null":        {f64, floats(0, true), "null where a label is required"},
		"float NaN":          {f32, floats32(float32(math.NaN())), `"NaN" is NaN or infinite`},
		"float -Inf":         {f32, floats32(float32(math.Inf(-1))), `"-Inf" is NaN or infinite`},
		"int64 null":         {arrow.PrimitiveTypes.Int64, ints, "null where a label is required"},
		"string empty":       {str, strs("", false), "empty value where a label is required"},
		"string nan":         {str, strs("nan", false), `"nan" is NaN or infinite`},
		"string null":        {str, strs("", true), "null where a label is required"},
		"dictionary NaN":     {dictType, dictStrs("NaN", false), `"NaN" is NaN or infinite`},
		"dictionary null":    {dictType, dictStrs("", true), "null where a label is required"},
		"dictionary spaces ": {dictType, dictStrs("  ", false), "empty value where a label is required"},
	} {
		t.Run(name, func(t *testing.T) {
			p := writeLabelParquet(t, c.typ, c.fill)
			spec := Spec{Numeric: []string{"x"}, Categorical: []string{"label"}, Labels: []string{"label"}}
			for _, batch := range []int{4, 100} {
				err := readErr(t, p, spec, batch, false)
				wantMentions(t, err, "d.parquet", `row 7, column "label"`, c.why)
			}
			if err := readErr(t, p, Spec{Numeric: []string{"x"}, Categorical: []string{"label"}}, 4, false); err != nil {
				t.Fatalf("unchecked categorical column: %v", err)
			}
		})
	}
	// Readable labels of every type are classes.
	for name, c := range map[string]struct {
		typ  arrow.DataType
		fill func(array.Builder)
		want string
	}{
		"double":     {f64, floats(2, false), "0,1,2"},
		"string":     {str, strs("maybe", false), "no,yes,maybe"},
		"dictionary": {dictType, dictStrs("maybe", false), "no,yes,maybe"},
	} {
		t.Run("readable "+name, func(t *testing.T) {
			p := writeLabelParquet(t, c.typ, c.fill)
			_, r := readAll(t, p, Spec{Numeric: []string{"x"}, Categorical: []string{"label"}, Labels: []string{"label"}}, 4)
			if got := strings.Join(r.Dict(0), ","); got != c.want {
				t.Fatalf("classes %q, want %q", got, c.want)
			}
		})
	}
}
