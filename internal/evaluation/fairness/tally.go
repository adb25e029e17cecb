package fairness

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/responsible-ai/rmodel-operator/internal/evaluation/stats"
)

// MaxSensitive bounds the number of sensitive columns.
const MaxSensitive = 8

// Grouper assigns a dense group index to each combination of sensitive
// value codes, in order of first appearance. It resolves a row with one
// slice lookup per column and no hashing: level k maps (id of the row's
// first k columns, code of column k) to the id of its first k+1 columns;
// the last level's ids are the groups. It is not safe for concurrent use:
// the reading goroutine groups rows, the workers only count.
type Grouper struct {
	n      int
	levels [][][]int32 // levels[k][prefix id][code] = next id, -1 unseen
	counts []int32     // ids handed out per level
	keys   [][MaxSensitive]int32
	flat   []int32 // two columns: flat[c0·flatStride + c1] = group, -1 unseen
	// favBits is scratch for TallyScores: 2 for a favorable label code.
	favBits []int
}

// NewGrouper groups by n sensitive columns.
func NewGrouper(n int) (*Grouper, error) {
	if n < 1 || n > MaxSensitive {
		return nil, fmt.Errorf("%d sensitive columns: want 1 to %d", n, MaxSensitive)
	}
	g := &Grouper{n: n, levels: make([][][]int32, n), counts: make([]int32, n)}
	return g, nil
}

// Assign writes the group of each of rows rows to out, reading codes[c][r]
// for sensitive column c.
func (g *Grouper) Assign(codes [][]int32, rows int, out []int32) {
	out = out[:rows]
	if g.n == 1 {
		// One column: the group of a code is one slice lookup.
		col := codes[0][:rows]
		for r, c := range col {
			lv := g.levels[0]
			if len(lv) > 0 && int(c) < len(lv[0]) {
				if id := lv[0][c]; id >= 0 {
					out[r] = id
					continue
				}
			}
			out[r] = g.slow(codes, r)
		}
		return
	}
	for r := range out {
		id := int32(0)
		k := 0
		for ; k < g.n; k++ {
			lv := g.levels[k]
			c := codes[k][r]
			if int(id) >= len(lv) || int(c) >= len(lv[id]) || lv[id][c] < 0 {
				break
			}
			id = lv[id][c]
		}
		if k < g.n {
			id = g.slow(codes, r)
		}
		out[r] = id
	}
}

// slow resolves row r, creating the ids it lacks.
func (g *Grouper) slow(codes [][]int32, r int) int32 {
	id := int32(0)
	var key [MaxSensitive]int32
	for k := 0; k < g.n; k++ {
		c := codes[k][r]
		key[k] = c
		lv := g.levels[k]
		if int(id) >= len(lv) {
			lv = append(lv, make([][]int32, int(id)+1-len(lv))...)
			g.levels[k] = lv
		}
		row := lv[id]
		if int(c) >= len(row) {
			grown := make([]int32, max(int(c)+1, 2*len(row)))
			copy(grown, row)
			for i := len(row); i < len(grown); i++ {
				grown[i] = -1
			}
			row = grown
			lv[id] = row
		}
		next := row[c]
		if next < 0 {
			next = g.counts[k]
			g.counts[k]++
			row[c] = next
			if k == g.n-1 {
				g.keys = append(g.keys, key)
			}
		}
		id = next
	}
	return id
}

// Groups is the number of groups seen.
func (g *Grouper) Groups() int { return len(g.keys) }

// Table builds the table from per-group cell counts (as a Tally holds
// them), decoding each group's values with dicts[c] for sensitive column c.
func (g *Grouper) Table(columns []string, dicts [][]string, cells []int64) Table {
	t := Table{Columns: columns}
	for id, key := range g.keys {
		grp := Group{Values: make([]string, g.n)}
		for c := 0; c < g.n; c++ {
			grp.Values[c] = dicts[c][key[c]]
		}
		if 4*id+3 < len(cells) {
			grp.Counts = Counts{TP: cells[4*id+3], FN: cells[4*id+2], FP: cells[4*id+1], TN: cells[4*id]}
		}
		t.Groups = append(t.Groups, grp)
	}
	t.Normalize()
	return t
}

// Tally counts (group, label, prediction) cells: cell 4·group + 2·label +
// prediction, label and prediction 1 when favorable. One per worker; merge
// with Add.
type Tally struct {
	Cells []int64
}

// Count adds one row.
func (t *Tally) Count(group int32, label, pred bool) {
	i := int(group) * 4
	if i+3 >= len(t.Cells) {
		t.grow(i + 4)
	}
	if label {
		i += 2
	}
	if pred {
		i++
	}
	t.Cells[i]++
}

func (t *Tally) grow(n int) {
	c := make([]int64, max(n, 2*len(t.Cells)))
	copy(c, t.Cells)
	t.Cells = c
}

// Reserve makes room for groups groups, so CountBatch needs no checks.
func (t *Tally) Reserve(groups int) {
	if 4*groups > len(t.Cells) {
		t.grow(4 * groups)
	}
}

// CountScores counts a batch whose predictions are scores ≥ threshold.
// fav[code] says whether a label code is favorable. Call Reserve first for
// the batch's groups.
func (t *Tally) CountScores(groups, labels []int32, fav []bool, scores []float32, threshold float32) {
	cells := t.Cells
	labels = labels[:len(groups)]
	scores = scores[:len(groups)]
	for i, g := range groups {
		k := int(g) << 2
		if fav[labels[i]] {
			k += 2
		}
		if scores[i] >= threshold {
			k++
		}
		cells[k]++
	}
}

// Add merges o into t.
func (t *Tally) Add(o *Tally) {
	if len(o.Cells) > len(t.Cells) {
		t.grow(len(o.Cells))
	}
	for i, v := range o.Cells {
		t.Cells[i] += v
	}
}

// Interval is a bootstrap confidence interval; Lower/Upper are NaN when
// too few replicates were defined.
type Interval struct {
	Lower, Upper float64
	Level        float64
	// Defined is how many replicates gave a defined value.
	Defined int
}

// Bootstrap returns percentile intervals at level for each headline metric
// from replicates row resamples, drawn as multinomial resamples of the
// table's confusion cells (the same distribution as resampling rows, at a
// cost independent of the row count). A group absent from a resample is
// left out of it, as it would be from a resampled dataset. An interval
// needs at least half of the replicates defined; otherwise it is NaN.
func Bootstrap(t *Table, priv Privileged, replicates int, seed uint64, level float64) map[string]Interval {
	rng := rand.New(rand.NewPCG(seed, 0x5eed_fa1e))
	counts := make([]int64, 4*len(t.Groups))
	for i, g := range t.Groups {
		counts[4*i], counts[4*i+1], counts[4*i+2], counts[4*i+3] = g.TP, g.FP, g.TN, g.FN
	}
	draw := make([]int64, len(counts))
	samples := map[string][]float64{}
	rt := Table{Columns: t.Columns, Groups: make([]Group, 0, len(t.Groups))}
	for range replicates {
		stats.Multinomial(rng, counts, draw)
		rt.Groups = rt.Groups[:0]
		for i, g := range t.Groups {
			c := Counts{TP: draw[4*i], FP: draw[4*i+1], TN: draw[4*i+2], FN: draw[4*i+3]}
			if c.N() > 0 {
				rt.Groups = append(rt.Groups, Group{Values: g.Values, Counts: c})
			}
		}
		m := Metrics(&rt, priv)
		for _, name := range Headline {
			if v := m[name].V; !math.IsNaN(v) {
				samples[name] = append(samples[name], v)
			}
		}
	}
	out := map[string]Interval{}
	a := (1 - level) / 2
	for _, name := range Headline {
		s := samples[name]
		iv := Interval{Lower: math.NaN(), Upper: math.NaN(), Level: level, Defined: len(s)}
		if len(s) > 0 && 2*len(s) >= replicates {
			sort.Float64s(s)
			iv.Lower, iv.Upper = stats.Percentile(s, a), stats.Percentile(s, 1-a)
		}
		out[name] = iv
	}
	return out
}

// flatStride bounds the codes the two-column fast path tabulates directly.
const flatStride = 64

// TallyScores groups and counts one batch in a single pass: for row r the
// group of sens[·][r], whether labels[r] is favorable (fav[code]) and
// whether scores[r] ≥ threshold. It is Assign followed by counting, fused
// so that cheap models (a logistic regression costs a few nanoseconds a
// row) are not slowed by the bookkeeping: one and two sensitive columns
// with codes below 64 resolve their group with a single table lookup.
func (g *Grouper) TallyScores(t *Tally, sens [][]int32, rows int, labels []int32, fav []bool, scores []float32, threshold float32) {
	labels = labels[:rows]
	scores = scores[:rows]
	// Branch-free cell index: the label and prediction bits are random
	// from row to row, and mispredicted branches would cost more than the
	// whole count.
	if cap(g.favBits) < len(fav) {
		g.favBits = make([]int, len(fav))
	}
	favBits := g.favBits[:len(fav)]
	for i, f := range fav {
		favBits[i] = 0
		if f {
			favBits[i] = 2
		}
	}
	count := func(id int32, r int) {
		k := int(id)<<2 | favBits[labels[r]] | predBit(scores[r], threshold)
		if k >= len(t.Cells) {
			t.grow(k + 4)
		}
		t.Cells[k]++
	}
	switch g.n {
	case 1:
		s0 := sens[0][:rows]
		for r, c := range s0 {
			var id int32 = -1
			if lv := g.levels[0]; len(lv) > 0 && int(c) < len(lv[0]) {
				id = lv[0][c]
			}
			if id < 0 {
				id = g.slow(sens, r)
			}
			count(id, r)
		}
	case 2:
		s0, s1 := sens[0][:rows], sens[1][:rows]
		for r := range s0 {
			c0, c1 := uint32(s0[r]), uint32(s1[r])
			var id int32 = -1
			if c0 < flatStride && c1 < flatStride && len(g.flat) == flatStride*flatStride {
				id = g.flat[c0*flatStride+c1]
			}
			if id < 0 {
				id = g.slow(sens, r)
				if c0 < flatStride && c1 < flatStride {
					if len(g.flat) == 0 {
						g.flat = make([]int32, flatStride*flatStride)
						for i := range g.flat {
							g.flat[i] = -1
						}
					}
					g.flat[c0*flatStride+c1] = id
				}
			}
			count(id, r)
		}
	default:
		groups := make([]int32, rows)
		g.Assign(sens, rows, groups)
		for r, id := range groups {
			count(id, r)
		}
	}
}

// predBit is 1 when score ≥ threshold, without a branch: the sign bit of
// score − threshold (x − x is +0, so equality gives 1; adding +0 turns the
// −0 of −0 − 0 into +0).
func predBit(score, threshold float32) int {
	d := score - threshold
	d += 0
	return int(1 - math.Float32bits(d)>>31)
}

// add counts one row, growing the cells when a new group appears.
func (t *Tally) add(group int32, label, pred bool) {
	k := int(group) << 2
	if k+3 >= len(t.Cells) {
		t.grow(k + 4)
	}
	if label {
		k += 2
	}
	if pred {
		k++
	}
	t.Cells[k]++
}
