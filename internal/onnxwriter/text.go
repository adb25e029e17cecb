package onnxwriter

import (
	"fmt"
	"math"
)

// The Hugging Face ONNX interface of text models (what optimum exports for BERT, docs/models.md
// "Text models"): three int64 inputs of shape [batch, sequence], both dimensions dynamic, and
// one float32 output of logits, [batch, labels] for text classification and
// [batch, sequence, labels] for token classification.
const (
	InputIDsName      = "input_ids"
	AttentionMaskName = "attention_mask"
	TokenTypeIDsName  = "token_type_ids"
	LogitsName        = "logits"
)

// TextEncoder is the embedding layer of a small BERT-shaped model: the vector of token t is
// Token[id_t] + Position[t] + TokenType[type_t], every table row-major with Dim columns.
// Positions past MaxLen have no embedding: a longer input fails in onnxruntime (Slice clamps,
// then Add cannot broadcast) and in the Go forward pass.
type TextEncoder struct {
	Vocab, MaxLen, Dim int
	Token              []float32 // [Vocab, Dim]
	Position           []float32 // [MaxLen, Dim]
	TokenType          []float32 // [2, Dim]
}

func (e TextEncoder) check() error {
	switch {
	case e.Vocab < 1 || e.MaxLen < 1 || e.Dim < 1:
		return fmt.Errorf("text encoder: Vocab=%d MaxLen=%d Dim=%d must be positive", e.Vocab, e.MaxLen, e.Dim)
	case len(e.Token) != e.Vocab*e.Dim:
		return fmt.Errorf("text encoder: %d token embedding values for [%d, %d]", len(e.Token), e.Vocab, e.Dim)
	case len(e.Position) != e.MaxLen*e.Dim:
		return fmt.Errorf("text encoder: %d position embedding values for [%d, %d]", len(e.Position), e.MaxLen, e.Dim)
	case len(e.TokenType) != 2*e.Dim:
		return fmt.Errorf("text encoder: %d token type embedding values for [2, %d]", len(e.TokenType), e.Dim)
	}
	return nil
}

// embed returns the masked token vectors of one sequence in float64: row t is the embedding of
// token t times attention_mask[t], so padding contributes nothing downstream.
func (e TextEncoder) embed(ids, mask, types []int64) ([][]float64, error) {
	if len(ids) != len(mask) || (types != nil && len(types) != len(ids)) {
		return nil, fmt.Errorf("text encoder: %d ids, %d mask values, %d token types", len(ids), len(mask), len(types))
	}
	if len(ids) > e.MaxLen {
		return nil, fmt.Errorf("text encoder: %d positions, the model has %d", len(ids), e.MaxLen)
	}
	x := make([][]float64, len(ids))
	for t, id := range ids {
		var tt int64
		if types != nil {
			tt = types[t]
		}
		if id < 0 || id >= int64(e.Vocab) || tt < 0 || tt > 1 {
			return nil, fmt.Errorf("text encoder: position %d: id %d or token type %d out of range", t, id, tt)
		}
		row := make([]float64, e.Dim)
		m := float64(mask[t])
		for k := range row {
			row[k] = m * (float64(e.Token[int(id)*e.Dim+k]) + float64(e.Position[t*e.Dim+k]) + float64(e.TokenType[int(tt)*e.Dim+k]))
		}
		x[t] = row
	}
	return x, nil
}

// TextClassifier is a text-classification model: the encoder's vectors averaged over the
// attention mask (mean pooling), then Hidden with ReLU, then Output (one logit per label).
type TextClassifier struct {
	Encoder TextEncoder
	Hidden  Dense // In = Encoder.Dim
	Output  Dense // Out = number of labels
}

func (m TextClassifier) check() error {
	if err := m.Encoder.check(); err != nil {
		return err
	}
	if err := m.Hidden.check("hidden"); err != nil {
		return err
	}
	if err := m.Output.check("output"); err != nil {
		return err
	}
	if m.Hidden.In != m.Encoder.Dim || m.Output.In != m.Hidden.Out {
		return fmt.Errorf("text classifier: hidden In=%d (embedding dim %d), output In=%d (hidden Out %d)", m.Hidden.In, m.Encoder.Dim, m.Output.In, m.Hidden.Out)
	}
	return nil
}

// Logits is the Go reference forward pass for one sequence (types may be nil: all 0), computed
// in float64 from the float32 weights. A mask without ones pools over max(Σmask, 1) = 1.
func (m TextClassifier) Logits(ids, mask, types []int64) ([]float64, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	x, err := m.Encoder.embed(ids, mask, types)
	if err != nil {
		return nil, err
	}
	pooled := make([]float64, m.Encoder.Dim)
	count := 0.0
	for t, row := range x {
		count += float64(mask[t])
		for k, v := range row {
			pooled[k] += v
		}
	}
	count = math.Max(count, 1)
	for k := range pooled {
		pooled[k] /= count
	}
	return m.Output.apply(relu(m.Hidden.apply(pooled))), nil
}

// TokenClassifier is a token-classification model: each position's feature is the
// concatenation of the masked vectors of the previous, the same and the next position (zeros
// beyond the ends and at padding), then Hidden with ReLU, then Output (one logit per label).
// A real token's logits do not depend on how much padding follows it.
type TokenClassifier struct {
	Encoder TextEncoder
	Hidden  Dense // In = 3·Encoder.Dim
	Output  Dense // Out = number of labels
}

func (m TokenClassifier) check() error {
	if err := m.Encoder.check(); err != nil {
		return err
	}
	if err := m.Hidden.check("hidden"); err != nil {
		return err
	}
	if err := m.Output.check("output"); err != nil {
		return err
	}
	if m.Hidden.In != 3*m.Encoder.Dim || m.Output.In != m.Hidden.Out {
		return fmt.Errorf("token classifier: hidden In=%d (3 × embedding dim %d), output In=%d (hidden Out %d)", m.Hidden.In, m.Encoder.Dim, m.Output.In, m.Hidden.Out)
	}
	return nil
}

// Logits is the Go reference forward pass for one sequence: one row of logits per position.
func (m TokenClassifier) Logits(ids, mask, types []int64) ([][]float64, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	x, err := m.Encoder.embed(ids, mask, types)
	if err != nil {
		return nil, err
	}
	d := m.Encoder.Dim
	out := make([][]float64, len(x))
	feat := make([]float64, 3*d)
	for t := range x {
		clear(feat)
		if t > 0 {
			copy(feat, x[t-1])
		}
		copy(feat[d:], x[t])
		if t+1 < len(x) {
			copy(feat[2*d:], x[t+1])
		}
		out[t] = m.Output.apply(relu(m.Hidden.apply(feat)))
	}
	return out, nil
}

func relu(v []float64) []float64 {
	for i := range v {
		v[i] = math.Max(0, v[i])
	}
	return v
}

// textGraph builds the shared part of both graphs: inputs, the embedding sum, the float mask
// [batch, seq, 1] and the masked vectors [batch, seq, dim]. It returns the graph and the names
// of the masked vectors and of the mask.
func (e TextEncoder) textGraph(name string, output []Dim) (*Graph, string, string) {
	seq := []Dim{{Param: "batch"}, {Param: "sequence"}}
	g := &Graph{Name: name}
	for _, in := range []string{InputIDsName, AttentionMaskName, TokenTypeIDsName} {
		g.Inputs = append(g.Inputs, ValueInfo{Name: in, ElemType: Int64, Shape: seq})
	}
	g.Outputs = []ValueInfo{{Name: LogitsName, ElemType: Float, Shape: output}}
	d := int64(e.Dim)
	g.Initializers = append(g.Initializers,
		Tensor{Name: "embeddings.word_embeddings.weight", Dims: []int64{int64(e.Vocab), d}, Float: e.Token},
		Tensor{Name: "embeddings.position_embeddings.weight", Dims: []int64{int64(e.MaxLen), d}, Float: e.Position},
		Tensor{Name: "embeddings.token_type_embeddings.weight", Dims: []int64{2, d}, Float: e.TokenType},
		Tensor{Name: "const.zero", Dims: []int64{1}, Int64: []int64{0}},
		Tensor{Name: "const.axis1", Dims: []int64{1}, Int64: []int64{1}},
		Tensor{Name: "const.axis2", Dims: []int64{1}, Int64: []int64{2}},
	)
	node := func(op string, name string, in []string, attrs ...Attr) string {
		g.Nodes = append(g.Nodes, Node{OpType: op, Name: name, Inputs: in, Outputs: []string{name}, Attrs: attrs})
		return name
	}
	words := node("Gather", "embeddings.words", []string{"embeddings.word_embeddings.weight", InputIDsName})
	types := node("Gather", "embeddings.types", []string{"embeddings.token_type_embeddings.weight", TokenTypeIDsName})
	seqLen := node("Shape", "embeddings.sequence_length", []string{InputIDsName}, IntAttr("start", 1), IntAttr("end", 2))
	positions := node("Slice", "embeddings.positions", []string{"embeddings.position_embeddings.weight", "const.zero", seqLen, "const.zero"})
	sum := node("Add", "embeddings.sum", []string{node("Add", "embeddings.words_types", []string{words, types}), positions})
	maskF := node("Cast", "mask.float", []string{AttentionMaskName}, IntAttr("to", int64(Float)))
	mask3 := node("Unsqueeze", "mask.expanded", []string{maskF, "const.axis2"})
	masked := node("Mul", "embeddings.masked", []string{sum, mask3})
	return g, masked, mask3
}

func (d Dense) initializers(g *Graph, name string) (w, b string) {
	w, b = name+".weight", name+".bias"
	g.Initializers = append(g.Initializers,
		Tensor{Name: w, Dims: []int64{int64(d.In), int64(d.Out)}, Float: d.W},
		Tensor{Name: b, Dims: []int64{int64(d.Out)}, Float: d.B})
	return w, b
}

func textModel(info ModelInfo, g *Graph) *Model {
	producer := info.ProducerName
	if producer == "" {
		producer = "rai"
	}
	return &Model{
		ProducerName:    producer,
		ProducerVersion: info.ProducerVersion,
		ModelVersion:    info.ModelVersion,
		DocString:       info.DocString,
		Metadata:        info.Metadata,
		Graph:           *g,
	}
}

// Model builds the ONNX graph of m with the Hugging Face interface: Gather, Slice and Add for
// the embeddings, ReduceSum/Max/Div for the masked mean, Gemm + Relu + Gemm for the head;
// output logits [batch, labels].
func (m TextClassifier) Model(info ModelInfo) (*Model, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	name := info.GraphName
	if name == "" {
		name = "text_classifier"
	}
	g, masked, mask3 := m.Encoder.textGraph(name, []Dim{{Param: "batch"}, {Value: int64(m.Output.Out)}})
	g.Initializers = append(g.Initializers, Tensor{Name: "const.one", Dims: []int64{1}, Float: []float32{1}})
	hw, hb := m.Hidden.initializers(g, "classifier.dense")
	ow, ob := m.Output.initializers(g, "classifier.out_proj")
	g.Nodes = append(g.Nodes,
		Node{OpType: "ReduceSum", Name: "pool.sum", Inputs: []string{masked, "const.axis1"}, Outputs: []string{"pool.sum"}, Attrs: []Attr{IntAttr("keepdims", 0)}},
		Node{OpType: "ReduceSum", Name: "pool.count", Inputs: []string{mask3, "const.axis1"}, Outputs: []string{"pool.count"}, Attrs: []Attr{IntAttr("keepdims", 0)}},
		Node{OpType: "Max", Name: "pool.count_at_least_one", Inputs: []string{"pool.count", "const.one"}, Outputs: []string{"pool.denominator"}},
		Node{OpType: "Div", Name: "pool.mean", Inputs: []string{"pool.sum", "pool.denominator"}, Outputs: []string{"pooled"}},
		Node{OpType: "Gemm", Name: "classifier.dense", Inputs: []string{"pooled", hw, hb}, Outputs: []string{"classifier.dense"}},
		Node{OpType: "Relu", Name: "classifier.relu", Inputs: []string{"classifier.dense"}, Outputs: []string{"classifier.hidden"}},
		Node{OpType: "Gemm", Name: "classifier.out_proj", Inputs: []string{"classifier.hidden", ow, ob}, Outputs: []string{LogitsName}},
	)
	return textModel(info, g), nil
}

// Marshal is Model followed by Model.Marshal.
func (m TextClassifier) Marshal(info ModelInfo) ([]byte, error) {
	model, err := m.Model(info)
	if err != nil {
		return nil, err
	}
	return model.Marshal()
}

// Model builds the ONNX graph of m with the Hugging Face interface: the embeddings as for
// TextClassifier, Pad + Slice + Concat for the previous/self/next window, MatMul + Add + Relu +
// MatMul + Add for the head; output logits [batch, sequence, labels].
func (m TokenClassifier) Model(info ModelInfo) (*Model, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	name := info.GraphName
	if name == "" {
		name = "token_classifier"
	}
	g, masked, _ := m.Encoder.textGraph(name, []Dim{{Param: "batch"}, {Param: "sequence"}, {Value: int64(m.Output.Out)}})
	g.Initializers = append(g.Initializers,
		Tensor{Name: "const.pads", Dims: []int64{6}, Int64: []int64{0, 1, 0, 0, 1, 0}},
		Tensor{Name: "const.two", Dims: []int64{1}, Int64: []int64{2}},
		Tensor{Name: "const.minus_two", Dims: []int64{1}, Int64: []int64{-2}},
		Tensor{Name: "const.end", Dims: []int64{1}, Int64: []int64{math.MaxInt64}},
	)
	hw, hb := m.Hidden.initializers(g, "classifier.dense")
	ow, ob := m.Output.initializers(g, "classifier.out_proj")
	n := func(op, name string, in []string, attrs ...Attr) {
		g.Nodes = append(g.Nodes, Node{OpType: op, Name: name, Inputs: in, Outputs: []string{name}, Attrs: attrs})
	}
	n("Pad", "context.padded", []string{masked, "const.pads"})
	n("Slice", "context.previous", []string{"context.padded", "const.zero", "const.minus_two", "const.axis1"})
	n("Slice", "context.next", []string{"context.padded", "const.two", "const.end", "const.axis1"})
	n("Concat", "context.window", []string{"context.previous", masked, "context.next"}, IntAttr("axis", 2))
	n("MatMul", "classifier.dense.matmul", []string{"context.window", hw})
	n("Add", "classifier.dense", []string{"classifier.dense.matmul", hb})
	n("Relu", "classifier.hidden", []string{"classifier.dense"})
	n("MatMul", "classifier.out_proj.matmul", []string{"classifier.hidden", ow})
	g.Nodes = append(g.Nodes, Node{OpType: "Add", Name: "classifier.out_proj", Inputs: []string{"classifier.out_proj.matmul", ob}, Outputs: []string{LogitsName}})
	return textModel(info, g), nil
}

// Marshal is Model followed by Model.Marshal.
func (m TokenClassifier) Marshal(info ModelInfo) ([]byte, error) {
	model, err := m.Model(info)
	if err != nil {
		return nil, err
	}
	return model.Marshal()
}

// RandomTextEncoder returns an encoder with weights drawn from next (uniform in ±scale), for
// tests and as a training start.
func RandomTextEncoder(next func() float64, vocab, maxLen, dim int, scale float64) TextEncoder {
	draw := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32((2*next() - 1) * scale)
		}
		return v
	}
	return TextEncoder{Vocab: vocab, MaxLen: maxLen, Dim: dim, Token: draw(vocab * dim), Position: draw(maxLen * dim), TokenType: draw(2 * dim)}
}

// RandomDense returns a layer with weights uniform in ±1/sqrt(in) and biases in ±0.1.
func RandomDense(next func() float64, in, out int) Dense {
	d := Dense{In: in, Out: out, W: make([]float32, in*out), B: make([]float32, out)}
	s := 1 / math.Sqrt(float64(in))
	for i := range d.W {
		d.W[i] = float32((2*next() - 1) * s)
	}
	for i := range d.B {
		d.B[i] = float32((2*next() - 1) * 0.1)
	}
	return d
}
