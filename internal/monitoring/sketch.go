package monitoring

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// DefaultSketchK is the sketch size rai serve uses (--monitoring-sketch-k).
const DefaultSketchK = 200

// Limits on a sketch read from JSON (Validate): far above what DefaultSketchK needs.
const (
	minSketchK       = 8
	maxSketchK       = 1 << 14
	maxSketchLevels  = 62
	minLevelCapacity = 8
)

// Sketch is a KLL quantile sketch (Karnin, Lang & Liberty, "Optimal Quantile Approximation in
// Streams", FOCS 2016) of float32 values: bounded memory, mergeable, with a rank error the sketch
// states itself.
//
// It holds levels of items; an item at level h stands for 2^h values. New values go to level 0.
// When the sketch holds more items than its capacity, the lowest level over its own capacity is
// compacted: sorted, and every other item (odd or even positions, by a fair coin) is promoted to
// level h+1 with twice the weight. Level h's capacity is max(8, k·(2/3)^(H-1-h)) with H levels, so
// the sketch retains O(k + 8·log₂(n/k)) items: at k = 200, about 600 to 700 (2.4 to 2.8 KiB) for any
// n (see Bytes and the tests).
//
// Rank error. For any one query x, a compaction at level h changes the sketch's count of values
// ≤ x by exactly 0 or ±2^h, each sign with probability 1/2 given everything before: the errors are
// a martingale with bounded differences, and Azuma's inequality bounds their sum. The sketch
// accumulates V = Σ 4^h over its compactions (merges add their V), so
//
//	P(|Rank(x) − rank(x)| > ε) ≤ δ   for ε = sqrt(2·V·ln(2/δ)) / n   (RankError(δ)),
//
// where rank(x) is the exact fraction of the values ≤ x. The error as a function of x changes
// only between consecutive input values, so a union bound over those n+1 places gives the bound
// for every x at once: MaxRankError(δ) = sqrt(2·V·ln(2(n+1)/δ)) / n. A sketch that never compacted
// (n below its capacity) is exact: V = 0. The tests check both bounds against exact ranks of sorted
// data, over many seeds, for single sketches and for merges.
//
// Privacy: level 0 holds the most recent values of one feature in an order shuffled on insertion
// (each sketch independently), and JSON holds every level sorted, so a row cannot be reassembled
// from several features' sketches; higher levels are sorted subsets by construction.
//
// A Sketch is not safe for concurrent use.
type Sketch struct {
	k        int
	n        int64
	levels   [][]float32
	variance float64
	size     int   // items retained
	capacity int   // total capacity for the current number of levels
	caps     []int // each level's capacity for the current number of levels
	rng      *rand.Rand
}

// NewSketch returns an empty sketch of size k (DefaultSketchK when k ≤ 0; at least 8).
func NewSketch(k int) *Sketch {
	if k <= 0 {
		k = DefaultSketchK
	}
	k = max(k, minSketchK)
	s := &Sketch{k: k}
	s.levels = [][]float32{make([]float32, 0, s.levelCapacity(0, 1))}
	s.resize()
	return s
}

// newSeededSketch is NewSketch with its own random source: deterministic, for tests.
func newSeededSketch(k int, seed uint64) *Sketch {
	s := NewSketch(k)
	s.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return s
}

// K is the sketch's size parameter.
func (s *Sketch) K() int { return s.k }

// Count is the number of values the sketch summarizes.
func (s *Sketch) Count() int64 { return s.n }

// Retained is the number of items the sketch holds.
func (s *Sketch) Retained() int { return s.size }

// Bytes is the memory the sketch's items take (4 bytes each, the capacity of each level's
// buffer) plus its fixed parts: what a window's feature summary costs.
func (s *Sketch) Bytes() int {
	b := 120 + 24*cap(s.levels) + 8*cap(s.caps)
	for _, l := range s.levels {
		b += 4 * cap(l)
	}
	return b
}

// Variance is V, the sum of 4^h over every compaction behind the sketch (see the type's doc).
func (s *Sketch) Variance() float64 { return s.variance }

func (s *Sketch) levelCapacity(h, levels int) int {
	depth := levels - 1 - h
	c := int(math.Ceil(float64(s.k) * math.Pow(2.0/3.0, float64(depth))))
	return max(c, minLevelCapacity)
}

// resize recomputes the levels' capacities after the number of levels or k changed.
func (s *Sketch) resize() {
	s.caps = s.caps[:0]
	s.capacity = 0
	for h := range s.levels {
		c := s.levelCapacity(h, len(s.levels))
		s.caps = append(s.caps, c)
		s.capacity += c
	}
}

func (s *Sketch) intN(n int) int {
	if s.rng != nil {
		return s.rng.IntN(n)
	}
	return rand.IntN(n)
}

// Add adds one value. NaN is ignored (a finite input is the caller's contract; rai serve accepts
// finite float32 only).
func (s *Sketch) Add(x float32) {
	if x != x {
		return
	}
	l0 := append(s.levels[0], x)
	// Inside-out Fisher–Yates: level 0 stays a uniformly shuffled buffer.
	if last := len(l0) - 1; last > 0 {
		j := s.intN(last + 1)
		l0[j], l0[last] = l0[last], l0[j]
	}
	s.levels[0] = l0
	s.n++
	s.size++
	if s.size > s.capacity {
		s.compress()
	}
}

// compress compacts the lowest level over its capacity until the sketch fits its capacity.
func (s *Sketch) compress() {
	for s.size > s.capacity {
		h := 0
		for ; h < len(s.levels); h++ {
			if len(s.levels[h]) >= s.caps[h] {
				break
			}
		}
		if h == len(s.levels) { // cannot happen: the levels' sizes sum above their capacities
			h = len(s.levels) - 1
		}
		s.compact(h)
	}
}

// compact promotes half of level h (an even number of its items, sorted) to level h+1.
func (s *Sketch) compact(h int) {
	if h+1 == len(s.levels) {
		s.levels = append(s.levels, nil)
		s.resize()
	}
	buf := s.levels[h]
	slices.Sort(buf)
	start := len(buf) & 1 // an odd item out stays, the smallest: exact for every query
	off := s.intN(2)
	moved := (len(buf) - start) / 2
	up := s.levels[h+1]
	// A level's buffer grows to its capacity at once rather than by doublings.
	if need := len(up) + moved; cap(up) < need {
		grown := make([]float32, len(up), max(need, s.caps[h+1]+1))
		copy(grown, up)
		up = grown
	}
	for i := start + off; i < len(buf); i += 2 {
		up = append(up, buf[i])
	}
	s.levels[h+1] = up
	s.levels[h] = buf[:start] // its buffer is reused; Trim releases what a closed window spares
	s.size -= moved
	s.variance += math.Ldexp(1, 2*h)
}

// Trim releases the spare capacity of the sketch's buffers: for a sketch that will not grow
// again (a closed window), memory becomes 4 bytes per retained item plus the fixed parts.
func (s *Sketch) Trim() {
	for h, l := range s.levels {
		if cap(l) > len(l) {
			s.levels[h] = slices.Clip(slices.Clone(l))
		}
	}
	s.levels = slices.Clip(s.levels)
}

// Merge adds o's values to s: afterwards s summarizes both streams, with the rank error of a
// sketch of their union (the variances add; the levels are concatenated and compacted). A merge
// of sketches of different k takes the smaller.
func (s *Sketch) Merge(o *Sketch) {
	if o == nil || o.n == 0 {
		return
	}
	s.k = min(s.k, o.k)
	for len(s.levels) < len(o.levels) {
		s.levels = append(s.levels, nil)
	}
	for h, l := range o.levels {
		s.levels[h] = append(s.levels[h], l...)
		s.size += len(l)
	}
	s.n += o.n
	s.variance += o.variance
	s.resize()
	s.compress()
}

// Clone returns an independent copy.
func (s *Sketch) Clone() *Sketch {
	c := *s
	c.levels = make([][]float32, len(s.levels))
	for h, l := range s.levels {
		c.levels[h] = slices.Clone(l)
	}
	c.caps = slices.Clone(s.caps)
	c.rng = nil
	return &c
}

// RankError is the normalized rank error ε that the sketch's Rank of any one value exceeds with
// probability at most delta (Azuma; see the type's doc). 0 for an exact sketch.
func (s *Sketch) RankError(delta float64) float64 {
	if s.n == 0 || s.variance == 0 {
		return 0
	}
	return math.Sqrt(2*s.variance*math.Log(2/delta)) / float64(s.n)
}

// MaxRankError is the bound on the rank error of every value at once, with probability ≥ 1−delta:
// RankError with a union bound over the n+1 intervals between the input values.
func (s *Sketch) MaxRankError(delta float64) float64 {
	if s.n == 0 || s.variance == 0 {
		return 0
	}
	return math.Sqrt(2*s.variance*math.Log(2*float64(s.n+1)/delta)) / float64(s.n)
}

// weighted is the sketch's items sorted by value with their cumulative weights: a step function
// estimate of the CDF.
type weighted struct {
	values []float32
	cum    []int64 // cum[i] = total weight of values[0..i]
	n      int64
}

func (s *Sketch) sorted() weighted {
	type item struct {
		v float32
		w int64
	}
	items := make([]item, 0, s.size)
	for h, l := range s.levels {
		for _, v := range l {
			items = append(items, item{v, int64(1) << h})
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].v < items[j].v })
	w := weighted{values: make([]float32, len(items)), cum: make([]int64, len(items)), n: s.n}
	var c int64
	for i, it := range items {
		c += it.w
		w.values[i], w.cum[i] = it.v, c
	}
	return w
}

// rank is the estimated fraction of values ≤ x.
func (w weighted) rank(x float64) float64 {
	if w.n == 0 {
		return 0
	}
	i := sort.Search(len(w.values), func(i int) bool { return float64(w.values[i]) > x })
	if i == 0 {
		return 0
	}
	return float64(w.cum[i-1]) / float64(w.n)
}

// quantile is the smallest item whose cumulative weight reaches q·n.
func (w weighted) quantile(q float64) float64 {
	if len(w.values) == 0 {
		return math.NaN()
	}
	target := int64(math.Ceil(q * float64(w.n)))
	i := sort.Search(len(w.cum), func(i int) bool { return w.cum[i] >= target })
	i = min(i, len(w.values)-1)
	return float64(w.values[i])
}

// Rank is the estimated fraction of the values that are ≤ x.
func (s *Sketch) Rank(x float64) float64 { return s.sorted().rank(x) }

// Quantile is the estimated q-quantile (0 ≤ q ≤ 1): a retained value whose estimated rank is
// the first to reach q. NaN for an empty sketch.
func (s *Sketch) Quantile(q float64) float64 { return s.sorted().quantile(q) }

// Quantiles is Quantile for several q at once (one sort).
func (s *Sketch) Quantiles(qs ...float64) []float64 {
	w := s.sorted()
	out := make([]float64, len(qs))
	for i, q := range qs {
		out[i] = w.quantile(q)
	}
	return out
}

// sketchJSON is a sketch on the wire.
type sketchJSON struct {
	K        int         `json:"k"`
	N        int64       `json:"n"`
	Variance float64     `json:"variance"`
	Levels   [][]float32 `json:"levels"`
}

// MarshalJSON writes {"k", "n", "variance", "levels"}; each level sorted.
func (s *Sketch) MarshalJSON() ([]byte, error) {
	j := sketchJSON{K: s.k, N: s.n, Variance: s.variance, Levels: make([][]float32, len(s.levels))}
	for h, l := range s.levels {
		c := slices.Clone(l)
		if c == nil {
			c = []float32{}
		}
		slices.Sort(c)
		j.Levels[h] = c
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads a sketch and checks it (see validate): a sketch from JSON is untrusted.
func (s *Sketch) UnmarshalJSON(b []byte) error {
	var j sketchJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	t := Sketch{k: j.K, n: j.N, variance: j.Variance, levels: j.Levels}
	if err := t.validate(); err != nil {
		return err
	}
	if len(t.levels) == 0 {
		t.levels = [][]float32{nil}
	}
	for _, l := range t.levels {
		t.size += len(l)
	}
	t.resize()
	*s = t
	if s.size > s.capacity {
		s.compress()
	}
	return nil
}

// validate checks a sketch read from outside: k in range, a bounded number of levels and items,
// finite values, a finite non-negative variance, and n equal to the items' total weight.
func (s *Sketch) validate() error {
	if s.k < minSketchK || s.k > maxSketchK {
		return fmt.Errorf("sketch k %d out of range (%d to %d)", s.k, minSketchK, maxSketchK)
	}
	if len(s.levels) > maxSketchLevels {
		return fmt.Errorf("sketch has %d levels, at most %d", len(s.levels), maxSketchLevels)
	}
	if math.IsNaN(s.variance) || math.IsInf(s.variance, 0) || s.variance < 0 {
		return errors.New("sketch variance is not a finite non-negative number")
	}
	// A valid sketch holds at most its capacity plus one compaction's slack per level.
	limit := 4*s.k + 2*minLevelCapacity*maxSketchLevels
	var total int64
	items := 0
	for h, l := range s.levels {
		items += len(l)
		if items > limit {
			return fmt.Errorf("sketch holds more than %d items", limit)
		}
		for _, v := range l {
			if v != v || math.IsInf(float64(v), 0) {
				return fmt.Errorf("sketch level %d holds a non-finite value", h)
			}
		}
		if len(l) > 0 && int64(len(l)) > math.MaxInt64>>h {
			return errors.New("sketch weight overflows")
		}
		w := int64(len(l)) << h
		if total > math.MaxInt64-w {
			return errors.New("sketch weight overflows")
		}
		total += w
	}
	if total != s.n {
		return fmt.Errorf("sketch n %d is not its items' total weight %d", s.n, total)
	}
	return nil
}
