package dataset

import (
	"bufio"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Table is a data set in memory: one feature row, label and sensitive value per example.
type Table struct {
	// FeatureNames name the columns of X, in model input order.
	FeatureNames []string
	// X holds one row of len(FeatureNames) values per example.
	X [][]float64
	// Y holds the label of each example: 0 or 1 (1 is favorable).
	Y []int
	// Sensitive maps a sensitive column's name to its value for each example.
	Sensitive map[string][]string
}

// Len is the number of examples.
func (t *Table) Len() int { return len(t.Y) }

// Slice returns the examples [from, to) as a table that shares t's rows.
func (t *Table) Slice(from, to int) *Table {
	s := &Table{FeatureNames: t.FeatureNames, X: t.X[from:to], Y: t.Y[from:to], Sensitive: map[string][]string{}}
	for k, v := range t.Sensitive {
		s.Sensitive[k] = v[from:to]
	}
	return s
}

// sensitiveNames returns the sensitive columns in CSV order: SensitiveColumns first (those
// present), then any others sorted by name.
func (t *Table) sensitiveNames() []string {
	var names []string
	for _, c := range SensitiveColumns {
		if _, ok := t.Sensitive[c]; ok {
			names = append(names, c)
		}
	}
	var rest []string
	for c := range t.Sensitive {
		if !slices.Contains(SensitiveColumns, c) {
			rest = append(rest, c)
		}
	}
	slices.Sort(rest)
	return append(names, rest...)
}

// WriteCSV writes t with a header: the features, then LabelColumn, then the sensitive columns.
// Numbers are written with the shortest decimal that reads back as the same float64, so the
// bytes depend only on the values.
func (t *Table) WriteCSV(w io.Writer) error {
	bw := bufio.NewWriter(w)
	sens := t.sensitiveNames()
	header := append(append(slices.Clone(t.FeatureNames), LabelColumn), sens...)
	bw.WriteString(strings.Join(header, ",") + "\n")
	buf := make([]byte, 0, 256)
	for i := range t.Y {
		buf = buf[:0]
		for _, v := range t.X[i] {
			buf = strconv.AppendFloat(buf, v, 'f', -1, 64)
			buf = append(buf, ',')
		}
		buf = strconv.AppendInt(buf, int64(t.Y[i]), 10)
		for _, c := range sens {
			buf = append(buf, ',')
			buf = append(buf, t.Sensitive[c][i]...)
		}
		buf = append(buf, '\n')
		if _, err := bw.Write(buf); err != nil {
			return fmt.Errorf("write CSV row %d: %w", i+1, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write CSV: %w", err)
	}
	return nil
}

// ReadOptions say which columns of a CSV are what.
type ReadOptions struct {
	// Features name the feature columns in model input order. Empty: every column that is not
	// the label or a sensitive column, in file order.
	Features []string
	// Label names the label column; empty means LabelColumn.
	Label string
	// Sensitive names the sensitive columns to keep; nil means SensitiveColumns. Each must exist.
	Sensitive []string
}

// ReadCSV reads a table written by WriteCSV, or any CSV with a header, numeric feature columns and
// a 0/1 label. Errors name the line and column at fault.
func ReadCSV(r io.Reader, opts ReadOptions) (*Table, error) {
	label := opts.Label
	if label == "" {
		label = LabelColumn
	}
	sens := opts.Sensitive
	if sens == nil {
		sens = SensitiveColumns
	}
	cr := csv.NewReader(bufio.NewReader(r))
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("read CSV: empty file, want a header line")
		}
		return nil, fmt.Errorf("read CSV header: %w", err)
	}
	index := map[string]int{}
	for i, name := range header {
		if _, dup := index[name]; dup {
			return nil, fmt.Errorf("read CSV header: column %q appears twice", name)
		}
		index[name] = i
	}
	col := func(name, role string) (int, error) {
		i, ok := index[name]
		if !ok {
			return 0, fmt.Errorf("read CSV header: no %s column %q (have %s)", role, name, strings.Join(header, ","))
		}
		return i, nil
	}
	labelIdx, err := col(label, "label")
	if err != nil {
		return nil, err
	}
	sensIdx := make([]int, len(sens))
	for k, name := range sens {
		if sensIdx[k], err = col(name, "sensitive"); err != nil {
			return nil, err
		}
	}
	features := opts.Features
	if len(features) == 0 {
		for _, name := range header {
			if name != label && !slices.Contains(sens, name) && !slices.Contains(SensitiveColumns, name) {
				features = append(features, name)
			}
		}
		if len(features) == 0 {
			return nil, errors.New("read CSV header: no feature columns")
		}
	}
	featIdx := make([]int, len(features))
	for k, name := range features {
		if name == label || slices.Contains(sens, name) {
			return nil, fmt.Errorf("read CSV: column %q cannot be both a feature and the label or a sensitive column", name)
		}
		if featIdx[k], err = col(name, "feature"); err != nil {
			return nil, err
		}
	}
	t := &Table{FeatureNames: slices.Clone(features), Sensitive: map[string][]string{}}
	for _, name := range sens {
		t.Sensitive[name] = nil
	}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read CSV: %w", err)
		}
		x := make([]float64, len(featIdx))
		for k, i := range featIdx {
			v, err := strconv.ParseFloat(rec[i], 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("read CSV line %d: feature %q: %q is not a finite number", line, features[k], rec[i])
			}
			x[k] = v
		}
		var y int
		switch rec[labelIdx] {
		case "0":
		case "1":
			y = 1
		default:
			return nil, fmt.Errorf("read CSV line %d: label %q: %q is not 0 or 1", line, label, rec[labelIdx])
		}
		t.X = append(t.X, x)
		t.Y = append(t.Y, y)
		for k, i := range sensIdx {
			t.Sensitive[sens[k]] = append(t.Sensitive[sens[k]], strings.Clone(rec[i]))
		}
	}
	if t.Len() == 0 {
		return nil, errors.New("read CSV: no data rows after the header")
	}
	return t, nil
}

// ReadFile reads the CSV at path (see ReadCSV).
func ReadFile(path string, opts ReadOptions) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open data set: %w", err)
	}
	defer f.Close()
	t, err := ReadCSV(f, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Split file names written by WriteDir.
const (
	TrainFile      = "train.csv"
	EvalFile       = "eval.csv"
	MembersFile    = "members.csv"
	NonMembersFile = "nonmembers.csv"
)

// WriteDir writes the four splits into dir (created if missing) as TrainFile, EvalFile,
// MembersFile and NonMembersFile, each with a checksum file beside it (see WriteWithChecksum).
// It returns each file's sha256 (lowercase hex) by file name.
func WriteDir(dir string, s Splits) (map[string]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create data set directory: %w", err)
	}
	sums := map[string]string{}
	for _, f := range []struct {
		name string
		t    *Table
	}{{TrainFile, s.Train}, {EvalFile, s.Eval}, {MembersFile, s.Members}, {NonMembersFile, s.NonMembers}} {
		var b strings.Builder
		if err := f.t.WriteCSV(&b); err != nil {
			return nil, fmt.Errorf("write %s: %w", f.name, err)
		}
		sum, err := WriteWithChecksum(filepath.Join(dir, f.name), []byte(b.String()))
		if err != nil {
			return nil, err
		}
		sums[f.name] = sum
	}
	return sums, nil
}

// WriteWithChecksum writes data to path and its sha256 to path + ".sha256" in sha256sum's
// format — the lowercase hex digest, two spaces, the file's base name and a newline — so that
// `sha256sum -c` checks it and the digest is the file's first 64 characters. It returns the
// digest.
func WriteWithChecksum(path string, data []byte) (string, error) {
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return "", fmt.Errorf("write artifact: %w", err)
	}
	sum := sha256.Sum256(data)
	digest := hex.EncodeToString(sum[:])
	line := digest + "  " + filepath.Base(path) + "\n"
	if err := os.WriteFile(path+".sha256", []byte(line), 0o644); err != nil {
		return "", fmt.Errorf("write checksum of %s: %w", path, err)
	}
	return digest, nil
}
