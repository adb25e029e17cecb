package textdemo

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/responsible-ai/rmodel-operator/internal/onnxwriter"
)

// Task is what a model answers, as rai.task and spec.model.task name it.
type Task string

// Tasks.
const (
	TextClassification  Task = "text-classification"
	TokenClassification Task = "token-classification"
)

// Ignore marks a token without a training label (later word pieces, [CLS], [SEP]).
const Ignore = -1

// Example is one tokenized training example without padding. For TextClassification Label is
// the class; for TokenClassification Labels has one class (or Ignore) per token.
type Example struct {
	IDs    []int
	Label  int
	Labels []int
}

// net is the float64 training copy of onnxwriter.TextClassifier or TokenClassifier. The token
// embedding table is kept apart from the other ("dense") parameters: an example touches only a
// few of its rows, which the gradient keeps sparse.
type net struct {
	task                 Task
	vocab, maxLen, dim   int
	hidden, labels, feat int // feat: the head's input width (dim, or 3·dim for the window)

	tok []float64 // [vocab, dim]
	// dense holds, in order: position [maxLen, dim], token type [2, dim], W1 [feat, hidden],
	// b1 [hidden], W2 [hidden, labels], b2 [labels].
	dense                        []float64
	posOff, typOff, w1Off, b1Off int
	w2Off, b2Off                 int
}

func newNet(task Task, vocab, maxLen, dim, hidden, labels int, seed uint64) *net {
	n := &net{task: task, vocab: vocab, maxLen: maxLen, dim: dim, hidden: hidden, labels: labels, feat: dim}
	if task == TokenClassification {
		n.feat = 3 * dim
	}
	n.posOff = 0
	n.typOff = n.posOff + maxLen*dim
	n.w1Off = n.typOff + 2*dim
	n.b1Off = n.w1Off + n.feat*hidden
	n.w2Off = n.b1Off + hidden
	n.b2Off = n.w2Off + hidden*labels
	n.dense = make([]float64, n.b2Off+labels)
	n.tok = make([]float64, vocab*dim)
	rng := rand.New(rand.NewPCG(seed, streamInit))
	for i := range n.tok {
		n.tok[i] = 0.1 * rng.NormFloat64()
	}
	for i := n.posOff; i < n.w1Off; i++ {
		n.dense[i] = 0.02 * rng.NormFloat64()
	}
	he := func(off, in, count int) {
		s := math.Sqrt(6 / float64(in))
		for i := off; i < off+count; i++ {
			n.dense[i] = (2*rng.Float64() - 1) * s
		}
	}
	he(n.w1Off, n.feat, n.feat*hidden)
	he(n.w2Off, hidden, hidden*labels)
	return n
}

// workspace holds one example's activations and its gradient: dense in full, token rows as the
// list of distinct ids with their gradient rows.
type workspace struct {
	x, f, z, h, o, p [][]float64 // per position (TextClassification uses row 0 of f..p)
	dx               [][]float64
	dense            []float64
	ids              []int
	rows             [][]float64
}

func (n *net) newWorkspace() *workspace {
	ws := &workspace{dense: make([]float64, len(n.dense))}
	alloc := func(w int) [][]float64 {
		m := make([][]float64, n.maxLen)
		for i := range m {
			m[i] = make([]float64, w)
		}
		return m
	}
	ws.x, ws.dx = alloc(n.dim), alloc(n.dim)
	ws.f, ws.z, ws.h, ws.o, ws.p = alloc(n.feat), alloc(n.hidden), alloc(n.hidden), alloc(n.labels), alloc(n.labels)
	return ws
}

// embed fills ws.x for ids (token type 0, all positions real).
func (n *net) embed(ws *workspace, ids []int) {
	d := n.dim
	for t, id := range ids {
		x := ws.x[t]
		for k := range x {
			x[k] = n.tok[id*d+k] + n.dense[n.posOff+t*d+k] + n.dense[n.typOff+k]
		}
	}
}

// head runs Hidden+ReLU+Output+softmax on ws.f[r] into ws.z/h/o/p[r].
func (n *net) head(ws *workspace, r int) {
	f, z, h, o := ws.f[r], ws.z[r], ws.h[r], ws.o[r]
	for j := range z {
		z[j] = n.dense[n.b1Off+j]
	}
	for i, v := range f {
		if v == 0 {
			continue
		}
		w := n.dense[n.w1Off+i*n.hidden : n.w1Off+(i+1)*n.hidden]
		for j := range z {
			z[j] += v * w[j]
		}
	}
	for j, v := range z {
		h[j] = math.Max(0, v)
	}
	for k := range o {
		o[k] = n.dense[n.b2Off+k]
	}
	for j, v := range h {
		if v == 0 {
			continue
		}
		w := n.dense[n.w2Off+j*n.labels : n.w2Off+(j+1)*n.labels]
		for k := range o {
			o[k] += v * w[k]
		}
	}
	softmaxInto(ws.p[r], o)
}

func softmaxInto(p, o []float64) {
	m := math.Inf(-1)
	for _, v := range o {
		m = math.Max(m, v)
	}
	s := 0.0
	for k, v := range o {
		p[k] = math.Exp(v - m)
		s += p[k]
	}
	for k := range p {
		p[k] /= s
	}
}

// forward computes the activations and the example's loss: the cross-entropy of the class, or
// the mean cross-entropy over the labelled tokens.
func (n *net) forward(ws *workspace, ex Example) float64 {
	ids := ex.IDs
	n.embed(ws, ids)
	d := n.dim
	if n.task == TextClassification {
		f := ws.f[0]
		clear(f)
		for t := range ids {
			for k, v := range ws.x[t] {
				f[k] += v
			}
		}
		for k := range f {
			f[k] /= float64(len(ids))
		}
		n.head(ws, 0)
		return -math.Log(math.Max(ws.p[0][ex.Label], 1e-300))
	}
	loss, count := 0.0, 0
	for t := range ids {
		f := ws.f[t]
		clear(f)
		if t > 0 {
			copy(f, ws.x[t-1])
		}
		copy(f[d:], ws.x[t])
		if t+1 < len(ids) {
			copy(f[2*d:], ws.x[t+1])
		}
		n.head(ws, t)
		if y := ex.Labels[t]; y != Ignore {
			loss -= math.Log(math.Max(ws.p[t][y], 1e-300))
			count++
		}
	}
	if count == 0 {
		return 0
	}
	return loss / float64(count)
}

// backHead adds the gradient of scale·CE(p[r], y) to ws.dense and returns it w.r.t. f[r] in df.
func (n *net) backHead(ws *workspace, r, y int, scale float64, df []float64) {
	p, h, z, f := ws.p[r], ws.h[r], ws.z[r], ws.f[r]
	do := make([]float64, n.labels)
	for k := range do {
		do[k] = scale * p[k]
	}
	do[y] -= scale
	dz := make([]float64, n.hidden)
	for j, hv := range h {
		w := n.dense[n.w2Off+j*n.labels : n.w2Off+(j+1)*n.labels]
		g := ws.dense[n.w2Off+j*n.labels : n.w2Off+(j+1)*n.labels]
		s := 0.0
		for k, dv := range do {
			g[k] += hv * dv
			s += w[k] * dv
		}
		if z[j] > 0 {
			dz[j] = s
		}
	}
	for k, dv := range do {
		ws.dense[n.b2Off+k] += dv
	}
	for j, dv := range dz {
		ws.dense[n.b1Off+j] += dv
	}
	for i, fv := range f {
		w := n.dense[n.w1Off+i*n.hidden : n.w1Off+(i+1)*n.hidden]
		g := ws.dense[n.w1Off+i*n.hidden : n.w1Off+(i+1)*n.hidden]
		s := 0.0
		for j, dv := range dz {
			g[j] += fv * dv
			s += w[j] * dv
		}
		df[i] = s
	}
}

// gradient computes the example's loss gradient into ws (ws.dense, ws.ids and ws.rows) after
// forward, and returns the loss.
func (n *net) gradient(ws *workspace, ex Example) float64 {
	loss := n.forward(ws, ex)
	clear(ws.dense)
	ids, d := ex.IDs, n.dim
	for t := range ids {
		clear(ws.dx[t])
	}
	if n.task == TextClassification {
		df := make([]float64, n.feat)
		n.backHead(ws, 0, ex.Label, 1, df)
		for t := range ids {
			for k := range df {
				ws.dx[t][k] = df[k] / float64(len(ids))
			}
		}
	} else {
		count := 0
		for _, y := range ex.Labels {
			if y != Ignore {
				count++
			}
		}
		df := make([]float64, n.feat)
		for t, y := range ex.Labels[:len(ids)] {
			if y == Ignore {
				continue
			}
			n.backHead(ws, t, y, 1/float64(count), df)
			if t > 0 {
				addTo(ws.dx[t-1], df[:d])
			}
			addTo(ws.dx[t], df[d:2*d])
			if t+1 < len(ids) {
				addTo(ws.dx[t+1], df[2*d:])
			}
		}
	}
	ws.ids, ws.rows = ws.ids[:0], ws.rows[:0]
	for t, id := range ids {
		addTo(ws.dense[n.posOff+t*d:n.posOff+(t+1)*d], ws.dx[t])
		addTo(ws.dense[n.typOff:n.typOff+d], ws.dx[t])
		r := -1
		for i, seen := range ws.ids {
			if seen == id {
				r = i
				break
			}
		}
		if r < 0 {
			ws.ids = append(ws.ids, id)
			ws.rows = append(ws.rows, make([]float64, d))
			r = len(ws.ids) - 1
		}
		addTo(ws.rows[r], ws.dx[t])
	}
	return loss
}

func addTo(dst, src []float64) {
	for i, v := range src {
		dst[i] += v
	}
}

// export rounds the weights to float32 in onnxwriter's layout.
func (n *net) export() (encoder onnxwriter.TextEncoder, hidden, output onnxwriter.Dense) {
	f32 := func(v []float64) []float32 {
		out := make([]float32, len(v))
		for i, x := range v {
			out[i] = float32(x)
		}
		return out
	}
	encoder = onnxwriter.TextEncoder{Vocab: n.vocab, MaxLen: n.maxLen, Dim: n.dim, Token: f32(n.tok),
		Position: f32(n.dense[n.posOff:n.typOff]), TokenType: f32(n.dense[n.typOff:n.w1Off])}
	hidden = onnxwriter.Dense{In: n.feat, Out: n.hidden, W: f32(n.dense[n.w1Off:n.b1Off]), B: f32(n.dense[n.b1Off:n.w2Off])}
	output = onnxwriter.Dense{In: n.hidden, Out: n.labels, W: f32(n.dense[n.w2Off:n.b2Off]), B: f32(n.dense[n.b2Off:])}
	return encoder, hidden, output
}

func (n *net) checkExample(i int, ex Example) error {
	if len(ex.IDs) == 0 || len(ex.IDs) > n.maxLen {
		return fmt.Errorf("example %d has %d tokens (1 to %d)", i, len(ex.IDs), n.maxLen)
	}
	for _, id := range ex.IDs {
		if id < 0 || id >= n.vocab {
			return fmt.Errorf("example %d: token id %d outside the vocabulary of %d", i, id, n.vocab)
		}
	}
	if n.task == TextClassification {
		if ex.Label < 0 || ex.Label >= n.labels {
			return fmt.Errorf("example %d: label %d of %d", i, ex.Label, n.labels)
		}
		return nil
	}
	if len(ex.Labels) != len(ex.IDs) {
		return fmt.Errorf("example %d: %d labels for %d tokens", i, len(ex.Labels), len(ex.IDs))
	}
	for _, y := range ex.Labels {
		if y != Ignore && (y < 0 || y >= n.labels) {
			return fmt.Errorf("example %d: label %d of %d", i, y, n.labels)
		}
	}
	return nil
}
