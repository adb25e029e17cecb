package monitoring

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// ReferenceSchemaVersion is the schema of a reference summary.
const ReferenceSchemaVersion = "rai.monitoring.reference/v1"

// Defaults of ReferenceOptions (and of `rai monitor reference`).
const (
	DefaultECDFPoints = 500
	DefaultPSIBins    = 10
)

// Reference summarizes the evaluation data a model version was judged on, computed once at
// evaluation time (`rai monitor reference`) and kept with the evidence; Compare measures live
// traffic against it. It holds no rows: per feature the exact count, min, max and mean, points of
// the exact ECDF and the PSI bins; per group the counts the model's predictions and the labels
// gave.
type Reference struct {
	SchemaVersion string    `json:"schema_version"`
	CreatedAt     time.Time `json:"created_at"`
	Model         ModelRef  `json:"model"`
	Dataset       DataRef   `json:"dataset"`
	// Label, Favorable and Threshold say how the group counts were made: a row is a positive
	// prediction when the model's P(favorable) ≥ Threshold, a positive label when the Label
	// column holds Favorable.
	Label     string  `json:"label"`
	Favorable string  `json:"favorable"`
	Threshold float64 `json:"threshold"`
	// Sensitive are the data columns whose values (GroupKey, joined by "," for several) name the
	// groups.
	Sensitive []string `json:"sensitive"`
	// Features are in model input order: live features match them by position.
	Features []FeatureReference `json:"features"`
	// Groups are sorted by name.
	Groups []GroupReference `json:"groups"`
}

// ModelRef identifies a model version.
type ModelRef struct {
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
	SHA256  string `json:"sha256"`
}

// DataRef identifies a data file.
type DataRef struct {
	SHA256 string `json:"sha256"`
	Rows   int64  `json:"rows"`
}

// FeatureReference is one feature of the reference data.
type FeatureReference struct {
	Name  string  `json:"name"`
	Count int64   `json:"count"`
	Min   float64 `json:"min"`
	Max   float64 `json:"max"`
	Mean  float64 `json:"mean"`
	ECDF  ECDF    `json:"ecdf"`
	Bins  PSIBins `json:"psi_bins"`
}

// ECDF is points of the exact empirical CDF of the reference data: F[i] is the fraction of the
// values ≤ X[i] (X increasing, the last F is 1). Points are kept where the ECDF has risen by more
// than 1/points since the last one kept, so between kept points it rises by at most Resolution:
// Rank's estimate F(largest X ≤ x) is below the exact fraction by at most Resolution, and exact at
// every kept point (an atom, a value many rows share, is always kept whole).
type ECDF struct {
	X          []float64 `json:"x"`
	F          []float64 `json:"f"`
	Resolution float64   `json:"resolution"`
}

// Rank is the ECDF's estimate of the fraction of reference values ≤ x.
func (e *ECDF) Rank(x float64) float64 {
	i := sort.Search(len(e.X), func(i int) bool { return e.X[i] > x })
	if i == 0 {
		return 0
	}
	return e.F[i-1]
}

// PSIBins are the reference's bins for the population stability index: Edges are the distinct
// deciles (by default) of the reference data, the bins (−∞, e_0], (e_0, e_1], …, (e_last, ∞), and
// Fractions the exact fraction of reference values in each (len(Edges)+1 of them).
type PSIBins struct {
	Edges     []float64 `json:"edges"`
	Fractions []float64 `json:"fractions"`
}

// GroupReference is one group's counts in the reference data.
type GroupReference struct {
	Name string `json:"name"`
	// Count rows, of which Positives were predicted positive and LabelPositives had the favorable
	// label; TP, FP, TN, FN cross the two.
	Count          int64 `json:"count"`
	Positives      int64 `json:"positive_predictions"`
	LabelPositives int64 `json:"label_positives"`
	Confusion
	// PositiveRate is Positives/Count; TPR is TP/LabelPositives (null without positive labels).
	PositiveRate *float64 `json:"positive_rate"`
	TPR          *float64 `json:"tpr"`
}

// ReferenceOptions size a reference.
type ReferenceOptions struct {
	// ECDFPoints bounds the ECDF points per feature (about ECDFPoints+1; resolution 1/ECDFPoints);
	// 0 means DefaultECDFPoints.
	ECDFPoints int
	// PSIBins is the number of quantile bins for PSI before equal edges merge; 0 means
	// DefaultPSIBins (deciles).
	PSIBins int
}

// ReferenceBuilder accumulates the evaluation data: AddRows for the features, Observe for each
// row's group, prediction and label. It keeps every feature value (4 bytes each) until Build,
// for exact quantiles. Not safe for concurrent use.
type ReferenceBuilder struct {
	names  []string
	opts   ReferenceOptions
	values [][]float32
	groups map[string]*GroupReference
}

// NewReferenceBuilder starts a reference for the named features (model input order).
func NewReferenceBuilder(features []string, opts ReferenceOptions) (*ReferenceBuilder, error) {
	if len(features) == 0 {
		return nil, errors.New("reference: no features")
	}
	if opts.ECDFPoints == 0 {
		opts.ECDFPoints = DefaultECDFPoints
	}
	if opts.PSIBins == 0 {
		opts.PSIBins = DefaultPSIBins
	}
	if opts.ECDFPoints < 2 || opts.PSIBins < 2 {
		return nil, fmt.Errorf("reference: ECDF points %d and PSI bins %d must be at least 2", opts.ECDFPoints, opts.PSIBins)
	}
	return &ReferenceBuilder{names: slices.Clone(features), opts: opts, values: make([][]float32, len(features)), groups: map[string]*GroupReference{}}, nil
}

// AddRows adds rows rows of features, row-major (rows × len(features) finite values).
func (b *ReferenceBuilder) AddRows(features []float32, rows int) error {
	nf := len(b.names)
	if len(features) < rows*nf {
		return fmt.Errorf("reference: %d values for %d rows of %d features", len(features), rows, nf)
	}
	for j := range nf {
		col := b.values[j]
		for r := range rows {
			v := features[r*nf+j]
			if v != v || math.IsInf(float64(v), 0) {
				return fmt.Errorf("reference: feature %q holds a non-finite value", b.names[j])
			}
			col = append(col, v)
		}
		b.values[j] = col
	}
	return nil
}

// Observe counts one row of group (GroupKey is applied) with its prediction and label.
func (b *ReferenceBuilder) Observe(group string, predictedPositive, labelPositive bool) {
	group = GroupKey(group)
	g := b.groups[group]
	if g == nil {
		g = &GroupReference{Name: group}
		b.groups[group] = g
	}
	g.Count++
	switch {
	case predictedPositive && labelPositive:
		g.Positives++
		g.LabelPositives++
		g.TP++
	case predictedPositive:
		g.Positives++
		g.FP++
	case labelPositive:
		g.LabelPositives++
		g.FN++
	default:
		g.TN++
	}
}

// Build computes the reference. meta supplies the identifying fields (Model, Dataset, Label,
// Favorable, Threshold, Sensitive, CreatedAt); Build fills SchemaVersion, Features and Groups, and
// Dataset.Rows when it is 0. The builder's values are released.
func (b *ReferenceBuilder) Build(meta Reference) (*Reference, error) {
	ref := meta
	ref.SchemaVersion = ReferenceSchemaVersion
	ref.Features = make([]FeatureReference, len(b.names))
	for j, name := range b.names {
		v := b.values[j]
		if len(v) == 0 {
			return nil, fmt.Errorf("reference: feature %q has no values", name)
		}
		slices.Sort(v)
		ref.Features[j] = summarizeSorted(name, v, b.opts)
		b.values[j] = nil
	}
	if ref.Dataset.Rows == 0 {
		ref.Dataset.Rows = ref.Features[0].Count
	}
	for _, g := range b.groups {
		if g.Count > 0 {
			g.PositiveRate = ratio(g.Positives, g.Count)
		}
		if g.LabelPositives > 0 {
			g.TPR = ratio(g.TP, g.LabelPositives)
		}
		ref.Groups = append(ref.Groups, *g)
	}
	sort.Slice(ref.Groups, func(i, j int) bool { return ref.Groups[i].Name < ref.Groups[j].Name })
	return &ref, nil
}

func ratio(a, b int64) *float64 {
	r := float64(a) / float64(b)
	return &r
}

// summarizeSorted summarizes one feature's sorted values.
func summarizeSorted(name string, v []float32, opts ReferenceOptions) FeatureReference {
	n := len(v)
	sum := 0.0
	for _, x := range v {
		sum += float64(x)
	}
	f := FeatureReference{Name: name, Count: int64(n), Min: float64(v[0]), Max: float64(v[n-1]), Mean: sum / float64(n)}
	// ECDF points: walk the distinct values; keep one whose F is more than step above the last kept
	// (then the values skipped rose by at most step), and always the last.
	step := 1 / float64(opts.ECDFPoints)
	lastF := 0.0
	res := 0.0
	prevF := 0.0 // F of the previous distinct value
	for i := 0; i < n; {
		j := i
		for j < n && v[j] == v[i] {
			j++
		}
		F := float64(j) / float64(n)
		if F-lastF > step || j == n {
			res = math.Max(res, prevF-lastF)
			f.ECDF.X = append(f.ECDF.X, float64(v[i]))
			f.ECDF.F = append(f.ECDF.F, F)
			lastF = F
		}
		prevF = F
		i = j
	}
	f.ECDF.Resolution = res
	// PSI edges: the lower q-quantiles (order statistic ⌈q·n⌉) for q = 1/B … (B−1)/B, distinct.
	for i := 1; i < opts.PSIBins; i++ {
		k := int(math.Ceil(float64(i)*float64(n)/float64(opts.PSIBins))) - 1
		e := float64(v[max(0, min(k, n-1))])
		if len(f.Bins.Edges) == 0 || e > f.Bins.Edges[len(f.Bins.Edges)-1] {
			f.Bins.Edges = append(f.Bins.Edges, e)
		}
	}
	exact := func(x float64) float64 {
		return float64(sort.Search(n, func(i int) bool { return float64(v[i]) > x })) / float64(n)
	}
	f.Bins.Fractions = binFractions(exact, f.Bins.Edges)
	return f
}

// Validate checks a reference read from storage: the schema, and per feature increasing ECDF
// points ending at 1, a resolution in [0, 1], increasing PSI edges with one more fraction, and
// fractions summing to 1.
func (r *Reference) Validate() error {
	if r.SchemaVersion != ReferenceSchemaVersion {
		return fmt.Errorf("reference: schema_version %q, want %q", r.SchemaVersion, ReferenceSchemaVersion)
	}
	if len(r.Features) == 0 {
		return errors.New("reference: no features")
	}
	for _, f := range r.Features {
		e := f.ECDF
		if f.Count <= 0 || len(e.X) == 0 || len(e.X) != len(e.F) || e.F[len(e.F)-1] != 1 || e.Resolution < 0 || e.Resolution > 1 {
			return fmt.Errorf("reference: feature %q: bad count or ECDF", f.Name)
		}
		for i := 1; i < len(e.X); i++ {
			if !(e.X[i] > e.X[i-1]) || !(e.F[i] > e.F[i-1]) {
				return fmt.Errorf("reference: feature %q: ECDF points not increasing", f.Name)
			}
		}
		if len(f.Bins.Fractions) != len(f.Bins.Edges)+1 {
			return fmt.Errorf("reference: feature %q: %d PSI fractions for %d edges", f.Name, len(f.Bins.Fractions), len(f.Bins.Edges))
		}
		sum := 0.0
		for i, x := range f.Bins.Fractions {
			if x < 0 || math.IsNaN(x) || (i > 0 && i < len(f.Bins.Edges) && !(f.Bins.Edges[i] > f.Bins.Edges[i-1])) {
				return fmt.Errorf("reference: feature %q: bad PSI bins", f.Name)
			}
			sum += x
		}
		if math.Abs(sum-1) > 1e-9 {
			return fmt.Errorf("reference: feature %q: PSI fractions sum to %v", f.Name, sum)
		}
	}
	return nil
}

// ReferenceDigest is the compact form of a reference for a container's termination message
// (≤ 4 KiB): what the full JSON's sha256 and size are, and what it describes. The full reference
// travels another way (a file, the pod's standard output) and is checked against it with
// ParseReference.
type ReferenceDigest struct {
	SchemaVersion string   `json:"schema_version"`
	SHA256        string   `json:"sha256"`
	Bytes         int      `json:"bytes"`
	Model         ModelRef `json:"model"`
	Dataset       DataRef  `json:"dataset"`
	Features      int      `json:"features"`
	Groups        int      `json:"groups"`
}

// DigestOf is the compact form of ref whose full JSON is encoded.
func DigestOf(ref *Reference, encoded []byte) ReferenceDigest {
	sum := sha256.Sum256(encoded)
	return ReferenceDigest{SchemaVersion: ReferenceSchemaVersion, SHA256: hex.EncodeToString(sum[:]), Bytes: len(encoded),
		Model: ref.Model, Dataset: ref.Dataset, Features: len(ref.Features), Groups: len(ref.Groups)}
}

// ParseReference reads a reference and returns it only when its bytes have the sha256 wantSHA256
// (when not empty: the digest recorded from the evaluation pod's termination message) and it
// validates: the check a reference must pass before Compare trusts it.
func ParseReference(b []byte, wantSHA256 string) (*Reference, error) {
	if wantSHA256 != "" {
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, wantSHA256) {
			return nil, fmt.Errorf("reference: sha256 %s, not the recorded %s", got, strings.ToLower(wantSHA256))
		}
	}
	var ref Reference
	if err := json.Unmarshal(b, &ref); err != nil {
		return nil, fmt.Errorf("reference: %w", err)
	}
	if err := ref.Validate(); err != nil {
		return nil, err
	}
	return &ref, nil
}
