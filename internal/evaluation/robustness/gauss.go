package robustness

import (
	"math"
	"math/bits"
)

// Gauss draws standard normal variates fast enough that noise generation
// does not dominate smoothing: Marsaglia & Tsang's ziggurat (2000, the
// algorithm behind math/rand's NormFloat64; 128 layers for Norm, 256 for
// AddNoiseRows) driven by wyrand, a 64-bit generator of one multiply per
// draw, inlined instead of called through rand.Source. Each draw takes the
// layer index and the abscissa from disjoint bits (avoiding the
// index/value correlation of the original's single 32-bit draw). The exact
// distribution is N(0, 1): the ziggurat is a rejection sampler, not an
// approximation. The zero value is usable; Seed makes streams
// reproducible.
type Gauss struct {
	// main supplies the ziggurat's first draw of every variate; aux the
	// rare rest (wedge and tail tests, redraws after a rejection), so
	// that AddNoiseRows's main stream advances by a fixed amount per row
	// and its loop never writes the state back to memory.
	main, aux wyrand
	// scaled[s·256 + i] = ±σ·zig24.w[i] (minus for s = 1) in float32 for
	// the σ last used by AddNoiseRows, so the common case is one
	// conversion, one multiply and one add per value.
	scaled      [512]float32
	bound       [512]uint32 // bound[s·256 + i] = zig24.k[i]
	scaledSigma float32
	scaledOK    bool
	// pend lists the words of a block that AddNoiseRows must redo, as
	// row << 16 | column.
	pend [zigBlock]uint32
}

// Seed sets the streams from two words (for example a run seed and a row id).
func (g *Gauss) Seed(a, b uint64) {
	s := splitmix(a ^ splitmix(b+0x9e3779b97f4a7c15))
	g.main = wyrand(s)
	g.aux = wyrand(splitmix(s ^ 0x6a09e667f3bcc909))
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Uint64 is the main stream's next output.
func (g *Gauss) Uint64() uint64 { return g.main.next() }

// Norm returns a standard normal variate (32-bit abscissa, float64).
func (g *Gauss) Norm() float64 { return g.main.norm() }

// wyrand is Wang Yi's generator: a Weyl sequence mixed by one 64×64→128
// multiply.
type wyrand uint64

const (
	wyInc = 0xa0761d6478bd642f
	wyMix = 0xe7037ed1a0b428db
)

func (w *wyrand) next() uint64 {
	*w += wyInc
	hi, lo := bits.Mul64(uint64(*w), uint64(*w)^wyMix)
	return hi ^ lo
}

// uniform returns a float64 in (0, 1).
func (w *wyrand) uniform() float64 {
	return (float64(w.next()>>11) + 0.5) / (1 << 53)
}

// A ziggurat of n layers over the half-normal density f(x) = exp(−x²/2):
// layer 0 is the base strip with the tail beyond r, layer n−1 sits on it,
// layer 1 is the cap (no rectangle). A draw (layer i, signed integer
// abscissa j) has the value j·w[i]; |j| < k[i] means it is inside the
// layer's rectangle, under the curve, and accepted as it is.
type ziggurat struct {
	r float64   // where the tail begins
	k []uint32  // rectangle bounds on |j|
	w []float64 // abscissa scale per layer
	f []float64 // f at each layer's lower edge (f[0] = 1, the cap's top)
	// The wedge of layer i ≥ 1 spans t = x²/2 from ta[i] (its rectangle's
	// edge, 0 for the cap) to its outer edge, where f = exp(−t) falls
	// from f[i−1] to f[i] with the chord's slope[i]: the squeeze in
	// tryDraw.
	ta, slope []float64
}

// newZiggurat builds Marsaglia & Tsang's tables for n layers, tail start r
// (the root for that n) and abscissas |j| < m1.
func newZiggurat(n int, r, m1 float64) *ziggurat {
	z := &ziggurat{r: r, k: make([]uint32, n), w: make([]float64, n), f: make([]float64, n),
		ta: make([]float64, n), slope: make([]float64, n)}
	edge := make([]float64, n) // each layer's outer abscissa
	dens := func(x float64) float64 { return math.Exp(-0.5 * x * x) }
	// Every layer's area: the base rectangle r·f(r) plus the tail.
	v := r*dens(r) + math.Sqrt(math.Pi/2)*math.Erfc(r/math.Sqrt2)
	dn, tn := r, r
	q := v / dens(r)
	z.k[0] = uint32(dn / q * m1)
	z.w[0] = q / m1
	z.w[n-1] = dn / m1
	z.f[0] = 1
	z.f[n-1] = dens(dn)
	edge[n-1] = dn
	for i := n - 2; i >= 1; i-- {
		dn = math.Sqrt(-2 * math.Log(v/dn+dens(dn)))
		z.k[i+1] = uint32(dn / tn * m1)
		tn = dn
		z.f[i] = dens(dn)
		z.w[i] = dn / m1
		edge[i] = dn
	}
	z.k[1] = 0
	for i := 1; i < n; i++ {
		if i > 1 {
			z.ta[i] = 0.5 * edge[i-1] * edge[i-1]
		}
		z.slope[i] = (z.f[i] - z.f[i-1]) / (0.5*edge[i]*edge[i] - z.ta[i])
	}
	return z
}

var (
	// zig32 serves Norm: 128 layers, 32-bit draws (Marsaglia & Tsang's
	// own constants).
	zig32 = newZiggurat(128, 3.442619855899, 1<<31)
	// zig24 serves AddNoiseRows: 256 layers and 23-bit magnitudes
	// (m1 = 2^23) with a sign, so that one 32-bit half of a word holds a
	// whole draw (24 bits are float32's precision anyway) and 98.5% of
	// draws land in a rectangle, against 97.2% with 128 layers.
	zig24 = newZiggurat(256, 3.6541528853610088, 1<<23)
	// zigK24[s·256 + i] = zig24.k[i] for either sign s: the fast path
	// indexes it, like Gauss.scaled, with the draw's low 9 bits.
	zigK24 [512]uint32
)

func init() {
	for i, k := range zig24.k {
		zigK24[i], zigK24[256+i] = k, k
	}
}

// norm returns a standard normal variate drawn entirely from w.
func (w *wyrand) norm() float64 {
	for {
		u := w.next()
		// Signed abscissa from the high 32 bits, layer from the low 7.
		if x, ok := w.tryDraw(zig32, int32(u>>32), int(u&127)); ok {
			return x
		}
	}
}

// tryDraw is one attempt of ziggurat z with abscissa j in layer i, taking
// the wedge's and the tail's uniforms from w: ok is false when the draw is
// rejected and the caller must start over with a fresh draw.
func (w *wyrand) tryDraw(z *ziggurat, j int32, i int) (float64, bool) {
	x := float64(j) * z.w[i]
	a := j
	if a < 0 {
		a = -a
	}
	if uint32(a) < z.k[i] {
		return x, true // inside the layer's rectangle
	}
	if i == 0 {
		// Base layer: sample the tail beyond r (Marsaglia 1964).
		for {
			x = -math.Log(w.uniform()) / z.r
			y := -math.Log(w.uniform())
			if y+y >= x*x {
				break
			}
		}
		if j > 0 {
			return z.r + x, true
		}
		return -z.r - x, true
	}
	if z.underCurve(i, x, z.f[i]+w.uniform()*(z.f[i-1]-z.f[i])) {
		return x, true
	}
	return 0, false
}

// underCurve reports whether y < f(x) for a point (x, y) in the wedge of
// layer i ≥ 1. exp(−t) is convex in t = x²/2, so it lies above its tangent
// at ta[i] (everywhere) and below the chord from ta[i] to the outer edge
// (on that interval): the two lines decide most points, exactly, and only
// those between them need the exponential.
func (z *ziggurat) underCurve(i int, x, y float64) bool {
	t := 0.5 * x * x
	dt := t - z.ta[i]
	if y < z.f[i-1]*(1-dt) {
		return true
	}
	if dt >= 0 && y > z.f[i-1]+dt*z.slope[i] {
		return false
	}
	return y < math.Exp(-t)
}

// AddNoise sets dst[j] = x[j] + sigma·z_j with z_j standard normal, as
// AddNoiseRows does for one row.
func (g *Gauss) AddNoise(dst, x []float32, sigma float32) {
	g.AddNoiseRows(dst, x, 1, sigma)
}

// AddNoiseRows writes rows noisy copies of x into dst (rows·len(x)
// values): dst[r·len(x) + j] = x[j] + sigma·z with every z a fresh
// standard normal.
//
// Each 64-bit word of the main stream gives two 24-bit ziggurat draws (8
// layer bits, a sign and a 23-bit magnitude from each half; a row of odd
// width drops its last word's high half), so a row always consumes
// ⌈len(x)/2⌉ main words and the stream does not depend on how rows are
// split between calls. The work runs in two passes over blocks of rows:
// the first (fast) computes and stores every draw as if it fell inside its
// layer's rectangle, without calls and with one well-predicted branch, and
// lists the words where one did not (about 3%); the second rewrites those
// draws with the wedge or tail test on the same draw, and on rejection a
// fresh, independent draw, both taking their uniforms from the aux stream
// in the order of the draws. The result is exactly N(0, 1) up to float32
// rounding.
func (g *Gauss) AddNoiseRows(dst, x []float32, rows int, sigma float32) {
	n := len(x)
	dst = dst[:rows*n]
	if n == 0 {
		return
	}
	if !g.scaledOK || g.scaledSigma != sigma {
		for i, w := range zig24.w {
			sw := float32(float64(sigma) * w)
			g.scaled[i], g.scaled[256+i] = sw, -sw
			g.bound[i], g.bound[256+i] = zig24.k[i], zig24.k[i]
		}
		g.scaledSigma, g.scaledOK = sigma, true
	}
	if n <= 2*zigBlock {
		rb := zigBlock / ((n + 1) / 2) // rows per block
		for r := 0; r < rows; r += rb {
			g.block(dst[r*n:min(rows, r+rb)*n], x, sigma)
		}
		return
	}
	// Rows wider than a block: a row at a time, in column chunks of
	// 2·zigBlock values (whole words; only the last may be odd).
	for r := range rows {
		for c := 0; c < n; c += 2 * zigBlock {
			e := min(n, c+2*zigBlock)
			g.block(dst[r*n+c:r*n+e], x[c:e], sigma)
		}
	}
}

// block adds noise to the rows d of width len(x) (at most zigBlock words
// in all): fast's pass, then the listed draws redone.
func (g *Gauss) block(d, x []float32, sigma float32) {
	n := len(x)
	wpr := (n + 1) / 2 // words per row
	st := uint64(g.main)
	np := g.fast(d, x, st)
	g.main = wyrand(st + uint64(len(d)/n*wpr)*wyInc)
	for _, e := range g.pend[:np] {
		r, col := int(e>>16), int(e&0xffff) // the word's row and first value
		s := st + uint64(r*wpr+col/2+1)*wyInc
		hi, lo := bits.Mul64(s, s^wyMix)
		u := hi ^ lo
		for half := 0; half < 2 && col+half < n; half++ {
			if h := uint32(u >> (32 * half)); !inside24(h) {
				d[r*n+col+half] = x[col+half] + g.finish24(h, sigma)
			}
		}
	}
}

// zigBlock is the most words of a block, the length of the list fast
// fills: a fixed array, indexed without bounds checks.
const zigBlock = 1024

// fast is AddNoiseRows's first pass over the rows d, from main state st:
// each value x + sigma·(the draw's value as if inside its rectangle), and
// in g.pend every word where a draw is not, as its row in d (high 16 bits)
// and its first value's column; it returns how many it listed.
func (g *Gauss) fast(d, x []float32, st uint64) int {
	n := len(x)
	np := 0
	for r := 0; r*n < len(d); r++ {
		st, np = g.fastRow(d[r*n:(r+1)*n], x, st, np, uint32(r)<<16)
	}
	return np
}

// fastRow is fast for one row dr, np entries listed so far, tag the row's
// entry prefix. It is a function of its own (not inlined) so that the
// register allocator keeps its loop's values in registers instead of
// reloading the outer loop's from the stack every word.
//
//go:noinline
func (g *Gauss) fastRow(dr, x []float32, st uint64, np int, tag uint32) (uint64, int) {
	sw, kb, pend := &g.scaled, &g.bound, &g.pend
	x = x[:len(dr)]
	j := 0
	for ; j+1 < len(dr); j += 2 {
		st += wyInc
		hi, lo := bits.Mul64(st, st^wyMix)
		u := hi ^ lo
		h0, h1 := uint32(u), uint32(u>>32)
		// Layer and sign in the low 9 bits, magnitude in the high 23.
		dr[j] = x[j] + float32(h0>>9)*sw[h0&511]
		dr[j+1] = x[j+1] + float32(h1>>9)*sw[h1&511]
		// A draw outside its rectangle (m ≥ k[i]): about 3% of words, so
		// the branch is predicted well.
		if h0>>9 >= kb[h0&511] || h1>>9 >= kb[h1&511] {
			pend[np&(zigBlock-1)] = tag | uint32(j)
			np++
		}
	}
	if j < len(dr) {
		// Odd width: the low half of a word of its own.
		st += wyInc
		hi, lo := bits.Mul64(st, st^wyMix)
		h := uint32(hi ^ lo)
		dr[j] = x[j] + float32(h>>9)*sw[h&511]
		if h>>9 >= kb[h&511] {
			pend[np&(zigBlock-1)] = tag | uint32(j)
			np++
		}
	}
	return st, np
}

// inside24 reports whether the 24-bit draw h (bits 0–7 layer, 8 sign,
// 9–31 magnitude) lies in its layer's rectangle, where its value is final.
func inside24(h uint32) bool { return h>>9 < zigK24[h&511] }

// finish24 is sigma times the normal variate that the 24-bit draw h
// yields: the wedge or tail test on h, and on rejection a fresh
// independent draw, with the aux stream's uniforms.
func (g *Gauss) finish24(h uint32, sigma float32) float32 {
	j := int32(h >> 9)
	if h&256 != 0 {
		j = -j
	}
	if x, ok := g.aux.tryDraw(zig24, j, int(h&255)); ok {
		return sigma * float32(x)
	}
	return sigma * float32(g.aux.norm())
}
