// Package textmodeltest writes tiny text models in the Hugging Face ONNX interface (input_ids,
// attention_mask, optionally token_type_ids; logits) whose outputs are easy to compute by hand,
// for the tests of textmodel, serving and the text evaluations. The embedding table covers the
// vocabulary of internal/text's bert-base-uncased test tokenizer (VocabSize ids).
package textmodeltest

import (
	"math"

	"github.com/responsible-ai/rmodel-operator/internal/onnxwriter"
)

// VocabSize is the embedding table's size: bert-base-uncased's vocabulary.
const VocabSize = 30522

// Dims is the classifier's embedding width.
const Dims = 2

// Marshaler is a model spec that writes ONNX bytes.
type Marshaler interface {
	Marshal() ([]byte, error)
}

// Classifier is a text classifier: the attention-masked mean of the tokens' embeddings (plus a
// token type embedding when TokenTypeIDs), then a dense layer to Labels logits. A text's scores
// depend only on its own unmasked tokens.
type Classifier struct {
	Labels int
	// TokenTypeIDs adds the token_type_ids input.
	TokenTypeIDs bool
	// DynamicLabels declares the logits' last dimension dynamic.
	DynamicLabels bool
	// SequenceLength fixes the sequence dimension of the inputs (0: dynamic).
	SequenceLength int64
	// NoAttentionMask leaves the attention_mask input out (an invalid text model).
	NoAttentionMask bool
	Metadata        map[string]string
}

// NewClassifier is a Classifier with labels logits and nothing else set.
func NewClassifier(labels int) Classifier { return Classifier{Labels: labels} }

// Embedding is token id's embedding in the classifier.
func Embedding(id int64) [Dims]float32 {
	return [Dims]float32{float32(id%7) / 7, float32(id%11)/11 - 0.5}
}

// typeEmbedding is token type 0's embedding (type 1's is its negative).
var typeEmbedding = [Dims]float32{0.25, -0.125}

// Weight is the dense layer's weight from embedding dimension d to label j.
func Weight(d, j int) float32 { return float32((d+1)*(j+1)%5) - 2 }

// Bias is label j's bias.
func Bias(j int) float32 { return float32(j) * 0.1 }

// Reference computes the classifier's softmax probabilities for one text's ids (no padding) in
// float64, the way the graph does.
func (c Classifier) Reference(ids []int64) []float64 {
	var mean [Dims]float64
	for _, id := range ids {
		e := Embedding(id)
		for d := range mean {
			mean[d] += float64(e[d])
			if c.TokenTypeIDs {
				mean[d] += float64(typeEmbedding[d])
			}
		}
	}
	logits := make([]float64, c.Labels)
	m := math.Inf(-1)
	for j := range logits {
		logits[j] = float64(Bias(j))
		for d := range mean {
			logits[j] += mean[d] / float64(len(ids)) * float64(Weight(d, j))
		}
		m = math.Max(m, logits[j])
	}
	var sum float64
	for j := range logits {
		logits[j] = math.Exp(logits[j] - m)
		sum += logits[j]
	}
	for j := range logits {
		logits[j] /= sum
	}
	return logits
}

func dim(v int64, param string) onnxwriter.Dim {
	if v > 0 {
		return onnxwriter.Dim{Value: v}
	}
	return onnxwriter.Dim{Param: param}
}

// Marshal writes the classifier.
func (c Classifier) Marshal() ([]byte, error) {
	emb := make([]float32, 0, VocabSize*Dims)
	for id := int64(0); id < VocabSize; id++ {
		e := Embedding(id)
		emb = append(emb, e[:]...)
	}
	w := make([]float32, 0, Dims*c.Labels)
	for d := 0; d < Dims; d++ {
		for j := 0; j < c.Labels; j++ {
			w = append(w, Weight(d, j))
		}
	}
	b := make([]float32, c.Labels)
	for j := range b {
		b[j] = Bias(j)
	}
	seq := []onnxwriter.Dim{{Param: "batch"}, dim(c.SequenceLength, "sequence")}
	g := onnxwriter.Graph{
		Name: "tiny_text_classifier",
		Initializers: []onnxwriter.Tensor{
			{Name: "embedding", Dims: []int64{VocabSize, Dims}, Float: emb},
			{Name: "W", Dims: []int64{Dims, int64(c.Labels)}, Float: w},
			{Name: "B", Dims: []int64{int64(c.Labels)}, Float: b},
			{Name: "axis1", Dims: []int64{1}, Int64: []int64{1}},
			{Name: "axis2", Dims: []int64{1}, Int64: []int64{2}},
		},
		Inputs: []onnxwriter.ValueInfo{{Name: "input_ids", ElemType: onnxwriter.Int64, Shape: seq}},
	}
	tokens := "tokens"
	g.Nodes = append(g.Nodes, onnxwriter.Node{OpType: "Gather", Inputs: []string{"embedding", "input_ids"}, Outputs: []string{"tokens"}})
	if c.TokenTypeIDs {
		g.Inputs = append(g.Inputs, onnxwriter.ValueInfo{Name: "token_type_ids", ElemType: onnxwriter.Int64, Shape: seq})
		g.Initializers = append(g.Initializers, onnxwriter.Tensor{Name: "type_embedding", Dims: []int64{2, Dims},
			Float: []float32{typeEmbedding[0], typeEmbedding[1], -typeEmbedding[0], -typeEmbedding[1]}})
		g.Nodes = append(g.Nodes,
			onnxwriter.Node{OpType: "Gather", Inputs: []string{"type_embedding", "token_type_ids"}, Outputs: []string{"types"}},
			onnxwriter.Node{OpType: "Add", Inputs: []string{"tokens", "types"}, Outputs: []string{"tokens_typed"}})
		tokens = "tokens_typed"
	}
	mask := "mask"
	if c.NoAttentionMask {
		// Every position counts: a mask of ones shaped like input_ids.
		g.Nodes = append(g.Nodes,
			onnxwriter.Node{OpType: "Cast", Inputs: []string{"input_ids"}, Outputs: []string{"ids_f"}, Attrs: []onnxwriter.Attr{onnxwriter.IntAttr("to", int64(onnxwriter.Float))}},
			onnxwriter.Node{OpType: "Mul", Inputs: []string{"ids_f", "zero"}, Outputs: []string{"zeros"}},
			onnxwriter.Node{OpType: "Add", Inputs: []string{"zeros", "one"}, Outputs: []string{"mask"}})
		g.Initializers = append(g.Initializers,
			onnxwriter.Tensor{Name: "zero", Dims: []int64{1}, Float: []float32{0}},
			onnxwriter.Tensor{Name: "one", Dims: []int64{1}, Float: []float32{1}})
	} else {
		g.Inputs = append(g.Inputs, onnxwriter.ValueInfo{Name: "attention_mask", ElemType: onnxwriter.Int64, Shape: seq})
		g.Nodes = append(g.Nodes, onnxwriter.Node{OpType: "Cast", Inputs: []string{"attention_mask"}, Outputs: []string{"mask"},
			Attrs: []onnxwriter.Attr{onnxwriter.IntAttr("to", int64(onnxwriter.Float))}})
	}
	g.Nodes = append(g.Nodes,
		onnxwriter.Node{OpType: "Unsqueeze", Inputs: []string{mask, "axis2"}, Outputs: []string{"mask3"}},
		onnxwriter.Node{OpType: "Mul", Inputs: []string{tokens, "mask3"}, Outputs: []string{"masked"}},
		onnxwriter.Node{OpType: "ReduceSum", Inputs: []string{"masked", "axis1"}, Outputs: []string{"summed"}, Attrs: []onnxwriter.Attr{onnxwriter.IntAttr("keepdims", 0)}},
		onnxwriter.Node{OpType: "ReduceSum", Inputs: []string{"mask3", "axis1"}, Outputs: []string{"count"}, Attrs: []onnxwriter.Attr{onnxwriter.IntAttr("keepdims", 0)}},
		onnxwriter.Node{OpType: "Div", Inputs: []string{"summed", "count"}, Outputs: []string{"mean"}},
		onnxwriter.Node{OpType: "MatMul", Inputs: []string{"mean", "W"}, Outputs: []string{"projected"}},
		onnxwriter.Node{OpType: "Add", Inputs: []string{"projected", "B"}, Outputs: []string{"scores"}},
	)
	labels := int64(c.Labels)
	if c.DynamicLabels {
		// Reshape to [batch, -1] with a target computed at run time, so that onnxruntime's
		// shape inference cannot fix the label dimension.
		labels = 0
		g.Initializers = append(g.Initializers,
			onnxwriter.Tensor{Name: "index0", Dims: []int64{1}, Int64: []int64{0}},
			onnxwriter.Tensor{Name: "minus1", Dims: []int64{1}, Int64: []int64{-1}})
		g.Nodes = append(g.Nodes,
			onnxwriter.Node{OpType: "Shape", Inputs: []string{"input_ids"}, Outputs: []string{"ids_shape"}},
			onnxwriter.Node{OpType: "Gather", Inputs: []string{"ids_shape", "index0"}, Outputs: []string{"batch"}},
			onnxwriter.Node{OpType: "Concat", Inputs: []string{"batch", "minus1"}, Outputs: []string{"target"}, Attrs: []onnxwriter.Attr{onnxwriter.IntAttr("axis", 0)}},
			onnxwriter.Node{OpType: "Reshape", Inputs: []string{"scores", "target"}, Outputs: []string{"logits"}})
	} else {
		g.Nodes = append(g.Nodes, onnxwriter.Node{OpType: "Identity", Inputs: []string{"scores"}, Outputs: []string{"logits"}})
	}
	g.Outputs = []onnxwriter.ValueInfo{{Name: "logits", ElemType: onnxwriter.Float, Shape: []onnxwriter.Dim{{Param: "batch"}, dim(labels, "labels")}}}
	m := onnxwriter.Model{ProducerName: "textmodeltest", Metadata: c.Metadata, Graph: g}
	return m.Marshal()
}

// TaggerScale is the tagger's logit for a token's label (0 for the others).
const TaggerScale = 4

// Tagger is a token classifier: each token's logits are TaggerScale on the label Labels gives
// its id (label 0 for an id not in it) and 0 on the others, whatever the rest of the text.
type Tagger struct {
	// Labels is the number of labels.
	Labels int
	// ByID maps token ids to their label.
	ByID     map[int64]int
	Metadata map[string]string
}

// NewTagger is a Tagger for labels labels.
func NewTagger(labels int, byID map[int64]int) Tagger { return Tagger{Labels: labels, ByID: byID} }

// Marshal writes the tagger: Gather(one-hot table · TaggerScale, input_ids), with the
// attention mask taking part (multiplied by 1) so that it is a real input.
func (t Tagger) Marshal() ([]byte, error) {
	k := t.Labels
	table := make([]float32, VocabSize*k)
	for id := int64(0); id < VocabSize; id++ {
		table[id*int64(k)+int64(t.ByID[id])] = TaggerScale
	}
	seq := []onnxwriter.Dim{{Param: "batch"}, {Param: "sequence"}}
	g := onnxwriter.Graph{
		Name: "tiny_token_classifier",
		Initializers: []onnxwriter.Tensor{
			{Name: "table", Dims: []int64{VocabSize, int64(k)}, Float: table},
			{Name: "axis2", Dims: []int64{1}, Int64: []int64{2}},
			{Name: "zero", Dims: []int64{1}, Float: []float32{0}},
		},
		Inputs: []onnxwriter.ValueInfo{
			{Name: "input_ids", ElemType: onnxwriter.Int64, Shape: seq},
			{Name: "attention_mask", ElemType: onnxwriter.Int64, Shape: seq},
		},
		Nodes: []onnxwriter.Node{
			{OpType: "Gather", Inputs: []string{"table", "input_ids"}, Outputs: []string{"scores"}},
			{OpType: "Cast", Inputs: []string{"attention_mask"}, Outputs: []string{"mask"}, Attrs: []onnxwriter.Attr{onnxwriter.IntAttr("to", int64(onnxwriter.Float))}},
			{OpType: "Unsqueeze", Inputs: []string{"mask", "axis2"}, Outputs: []string{"mask3"}},
			{OpType: "Mul", Inputs: []string{"mask3", "zero"}, Outputs: []string{"nothing"}},
			{OpType: "Add", Inputs: []string{"scores", "nothing"}, Outputs: []string{"logits"}},
		},
		Outputs: []onnxwriter.ValueInfo{{Name: "logits", ElemType: onnxwriter.Float, Shape: []onnxwriter.Dim{{Param: "batch"}, {Param: "sequence"}, {Value: int64(k)}}}},
	}
	m := onnxwriter.Model{ProducerName: "textmodeltest", Metadata: t.Metadata, Graph: g}
	return m.Marshal()
}
