package robustness

import (
	"math"
	"math/bits"
)

// Gauss draws standard normal variates fast enough that noise generation
// does not dominate smoothing: Marsaglia & Tsang's ziggurat (2000, 128
// layers, the algorithm behind math/rand's NormFloat64) driven by wyrand, a
// 64-bit generator of one multiply per draw, inlined instead of called
// through rand.Source. Each 64-bit draw supplies the layer index and the
// signed 32-bit abscissa from disjoint bits (avoiding the index/value
// correlation of the original's single 32-bit draw). The exact
// distribution is N(0, 1): the ziggurat is a rejection sampler, not an
// approximation. The zero value is usable; Seed makes streams reproducible.
type Gauss struct {
	state uint64
	// scaled[i] = σ·zigW24[i] in float32 for the σ last used by
	// AddNoiseRows, so the common case is one conversion, one multiply and
	// one add per value.
	scaled      [128]float32
	scaledSigma float32
	scaledOK    bool
}

// Seed sets the stream from two words (for example a run seed and a row id).
func (g *Gauss) Seed(a, b uint64) {
	g.state = splitmix(a ^ splitmix(b+0x9e3779b97f4a7c15))
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Uint64 is wyrand's next output.
func (g *Gauss) Uint64() uint64 {
	g.state += 0xa0761d6478bd642f
	hi, lo := bits.Mul64(g.state, g.state^0xe7037ed1a0b428db)
	return hi ^ lo
}

// uniform returns a float64 in (0, 1).
func (g *Gauss) uniform() float64 {
	return (float64(g.Uint64()>>11) + 0.5) / (1 << 53)
}

const (
	zigR  = 3.442619855899
	zigM1 = 1 << 31
)

var (
	zigK [128]uint32
	zigW [128]float64
	zigF [128]float64
	// The same ziggurat for 24-bit abscissas (m1 = 2^23): two draws fit in
	// one 64-bit word, and 24 bits are float32's precision anyway.
	zigK24 [128]uint32
	zigW24 [128]float64
)

func init() {
	zigTables(zigM1, &zigK, &zigW)
	zigTables(1<<23, &zigK24, &zigW24)
}

func zigTables(m1 float64, k *[128]uint32, w *[128]float64) {
	dn, tn := zigR, zigR
	const vn = 9.91256303526217e-3
	q := vn / math.Exp(-0.5*dn*dn)
	k[0] = uint32(dn / q * m1)
	k[1] = 0
	w[0] = q / m1
	w[127] = dn / m1
	zigF[0] = 1
	zigF[127] = math.Exp(-0.5 * dn * dn)
	for i := 126; i >= 1; i-- {
		dn = math.Sqrt(-2 * math.Log(vn/dn+math.Exp(-0.5*dn*dn)))
		k[i+1] = uint32(dn / tn * m1)
		tn = dn
		zigF[i] = math.Exp(-0.5 * dn * dn)
		w[i] = dn / m1
	}
}

// Norm returns a standard normal variate.
func (g *Gauss) Norm() float64 {
	for {
		if x, ok := g.try(g.Uint64()); ok {
			return x
		}
	}
}

// try runs one ziggurat attempt on the draw u: ok is false when the draw
// is rejected and the caller must start over with a fresh draw.
func (g *Gauss) try(u uint64) (float64, bool) {
	// Signed abscissa from the high 32 bits, layer from the low 7.
	return g.tryDraw(int32(u>>32), u&127, &zigK, &zigW)
}

// tryDraw is one attempt with abscissa j in layer i of the given tables.
func (g *Gauss) tryDraw(j int32, i uint64, k *[128]uint32, w *[128]float64) (float64, bool) {
	x := float64(j) * w[i]
	a := j
	if a < 0 {
		a = -a
	}
	if uint32(a) < k[i] {
		return x, true // inside the layer's rectangle (≈ 98.8% of draws)
	}
	if i == 0 {
		// Base layer: sample the tail beyond R (Marsaglia 1964).
		for {
			x = -math.Log(g.uniform()) / zigR
			y := -math.Log(g.uniform())
			if y+y >= x*x {
				break
			}
		}
		if j > 0 {
			return zigR + x, true
		}
		return -zigR - x, true
	}
	if zigF[i]+g.uniform()*(zigF[i-1]-zigF[i]) < math.Exp(-0.5*x*x) {
		return x, true
	}
	return 0, false
}

// AddNoise sets dst[j] = x[j] + sigma·z_j with z_j standard normal. It
// takes two 24-bit ziggurat draws from each 64-bit word (7 layer bits and a
// signed 24-bit abscissa from each half) with the common case inlined; a
// draw rejected by the wedge test starts over with Norm, which is a fresh
// independent draw, so the result is still exactly N(0, 1) up to float32.
func (g *Gauss) AddNoise(dst, x []float32, sigma float32) {
	g.AddNoiseRows(dst, x, 1, sigma)
}

// AddNoiseRows writes rows noisy copies of x into dst (rows·len(x)
// values), each as AddNoise would, in one call: the generator state stays
// in a register across samples. The stream consumed is the same as rows
// calls of AddNoise.
func (g *Gauss) AddNoiseRows(dst, x []float32, rows int, sigma float32) {
	if !g.scaledOK || g.scaledSigma != sigma {
		for i, w := range zigW24 {
			g.scaled[i] = float32(float64(sigma) * w)
		}
		g.scaledSigma, g.scaledOK = sigma, true
	}
	sw := &g.scaled
	n := len(x)
	dst = dst[:rows*n]
	st := g.state
	for r := 0; r < rows; r++ {
		d := dst[r*n:]
		d = d[:len(x)]
		j := 0
		for ; j+1 < len(x); j += 2 {
			st += 0xa0761d6478bd642f
			hi, lo := bits.Mul64(st, st^0xe7037ed1a0b428db)
			u := hi ^ lo
			h := uint32(u)
			jj := int32(h) >> 8
			a := (jj ^ (jj >> 31)) - (jj >> 31)
			if uint32(a) < zigK24[h&127] {
				d[j] = x[j] + float32(jj)*sw[h&127]
			} else {
				g.state = st
				d[j] = x[j] + sigma*float32(g.slow24(h))
				st = g.state
			}
			h = uint32(u >> 32)
			jj = int32(h) >> 8
			a = (jj ^ (jj >> 31)) - (jj >> 31)
			if uint32(a) < zigK24[h&127] {
				d[j+1] = x[j+1] + float32(jj)*sw[h&127]
			} else {
				g.state = st
				d[j+1] = x[j+1] + sigma*float32(g.slow24(h))
				st = g.state
			}
		}
		if j < len(x) {
			// Odd width: the last value takes the low half of a word, the
			// high half is dropped.
			st += 0xa0761d6478bd642f
			hi, lo := bits.Mul64(st, st^0xe7037ed1a0b428db)
			h := uint32(hi ^ lo)
			jj := int32(h) >> 8
			a := (jj ^ (jj >> 31)) - (jj >> 31)
			if uint32(a) < zigK24[h&127] {
				d[j] = x[j] + float32(jj)*sw[h&127]
			} else {
				g.state = st
				d[j] = x[j] + sigma*float32(g.slow24(h))
				st = g.state
			}
		}
	}
	g.state = st
}

// slow24 finishes a 24-bit draw h (bits 0–6 layer, 8–31 signed abscissa)
// that fell outside its rectangle: the wedge or tail test on the same draw,
// and on rejection a fresh independent Norm.
func (g *Gauss) slow24(h uint32) float64 {
	if x, ok := g.tryDraw(int32(h)>>8, uint64(h&127), &zigK24, &zigW24); ok {
		return x
	}
	return g.Norm()
}
