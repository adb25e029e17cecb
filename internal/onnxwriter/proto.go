// Package onnxwriter writes ONNX models (the ModelProto protobuf) from Go, with no code
// generation: each message is encoded with protowire using the field numbers of onnx.proto
// (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto). It covers what the project builds in
// tests and demos: graphs of standard operators over float tensors, initializers, attributes and
// model metadata. LogisticRegression and MLP build the two binary classifiers the project uses.
//
// The package is pure Go (no cgo) so any part of the project can write models; loading them
// needs onnxruntime (internal/onnx).
package onnxwriter

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"

	"google.golang.org/protobuf/encoding/protowire"
)

// Defaults chosen for onnxruntime 1.29: IR version 8 with the default-domain opset 17 is well
// inside what it accepts (IR ≤ 11, opset ≤ 23).
const (
	DefaultIRVersion = 8
	DefaultOpset     = 17
)

// ElemType is an ONNX TensorProto.DataType.
type ElemType int32

// ONNX element types (TensorProto.DataType).
const (
	Float  ElemType = 1
	Uint8  ElemType = 2
	Int8   ElemType = 3
	Int32  ElemType = 6
	Int64  ElemType = 7
	Bool   ElemType = 9
	Double ElemType = 11
)

// Model is an ONNX ModelProto.
type Model struct {
	IRVersion       int64 // 0 means DefaultIRVersion
	Opset           int64 // default-domain opset; 0 means DefaultOpset
	ProducerName    string
	ProducerVersion string
	Domain          string
	ModelVersion    int64
	DocString       string
	// Metadata becomes metadata_props, written in key order so equal models encode to equal bytes.
	Metadata map[string]string
	Graph    Graph
}

// Graph is an ONNX GraphProto.
type Graph struct {
	Name         string
	Nodes        []Node
	Initializers []Tensor
	Inputs       []ValueInfo
	Outputs      []ValueInfo
}

// Node is an ONNX NodeProto (default domain).
type Node struct {
	OpType  string
	Name    string
	Inputs  []string
	Outputs []string
	Attrs   []Attr
}

// Attr is an ONNX AttributeProto; build it with IntAttr, FloatAttr, IntsAttr or StringAttr.
type Attr struct {
	name  string
	typ   int32 // AttributeProto.AttributeType
	f     float32
	i     int64
	s     string
	ints  []int64
	float []float32
}

// Attribute types (AttributeProto.AttributeType).
const (
	attrFloat  = 1
	attrInt    = 2
	attrString = 3
	attrFloats = 6
	attrInts   = 7
)

// IntAttr is an INT attribute.
func IntAttr(name string, v int64) Attr { return Attr{name: name, typ: attrInt, i: v} }

// FloatAttr is a FLOAT attribute.
func FloatAttr(name string, v float32) Attr { return Attr{name: name, typ: attrFloat, f: v} }

// StringAttr is a STRING attribute.
func StringAttr(name, v string) Attr { return Attr{name: name, typ: attrString, s: v} }

// IntsAttr is an INTS attribute.
func IntsAttr(name string, v ...int64) Attr { return Attr{name: name, typ: attrInts, ints: v} }

// FloatsAttr is a FLOATS attribute.
func FloatsAttr(name string, v ...float32) Attr { return Attr{name: name, typ: attrFloats, float: v} }

// Tensor is an ONNX TensorProto holding float32 or int64 data (set exactly one of them).
type Tensor struct {
	Name  string
	Dims  []int64
	Float []float32
	Int64 []int64
}

// Dim is a tensor dimension: a fixed size, or a named (dynamic) one when Param is set.
type Dim struct {
	Value int64
	Param string
}

// ValueInfo is an ONNX ValueInfoProto for a tensor.
type ValueInfo struct {
	Name     string
	ElemType ElemType
	Shape    []Dim
}

// Marshal encodes the model as ONNX protobuf bytes. It checks the few things that would make the
// bytes unloadable for reasons easy to miss: tensor sizes that disagree with their dims, and a
// graph without inputs or outputs.
func (m *Model) Marshal() ([]byte, error) {
	if len(m.Graph.Inputs) == 0 || len(m.Graph.Outputs) == 0 {
		return nil, fmt.Errorf("graph %q needs at least one input and one output", m.Graph.Name)
	}
	ir, opset := m.IRVersion, m.Opset
	if ir == 0 {
		ir = DefaultIRVersion
	}
	if opset == 0 {
		opset = DefaultOpset
	}
	graph, err := m.Graph.marshal()
	if err != nil {
		return nil, err
	}
	var b []byte
	b = appendVarint(b, 1, uint64(ir))                 // ir_version
	b = appendString(b, 2, m.ProducerName)             // producer_name
	b = appendString(b, 3, m.ProducerVersion)          // producer_version
	b = appendString(b, 4, m.Domain)                   // domain
	b = appendVarint(b, 5, uint64(m.ModelVersion))     // model_version
	b = appendString(b, 6, m.DocString)                // doc_string
	b = protowire.AppendTag(b, 7, protowire.BytesType) // graph
	b = protowire.AppendBytes(b, graph)
	var opsetID []byte
	opsetID = appendVarint(opsetID, 2, uint64(opset))  // OperatorSetIdProto.version; domain "" = ai.onnx
	b = protowire.AppendTag(b, 8, protowire.BytesType) // opset_import
	b = protowire.AppendBytes(b, opsetID)
	keys := make([]string, 0, len(m.Metadata))
	for k := range m.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var e []byte
		e = protowire.AppendTag(e, 1, protowire.BytesType) // StringStringEntryProto.key
		e = protowire.AppendString(e, k)
		e = protowire.AppendTag(e, 2, protowire.BytesType) // value
		e = protowire.AppendString(e, m.Metadata[k])
		b = protowire.AppendTag(b, 14, protowire.BytesType) // metadata_props
		b = protowire.AppendBytes(b, e)
	}
	return b, nil
}

func (g *Graph) marshal() ([]byte, error) {
	var b []byte
	for _, n := range g.Nodes {
		b = appendMessage(b, 1, n.marshal()) // node
	}
	b = appendString(b, 2, g.Name) // name
	for _, t := range g.Initializers {
		tb, err := t.marshal()
		if err != nil {
			return nil, err
		}
		b = appendMessage(b, 5, tb) // initializer
	}
	for _, v := range g.Inputs {
		b = appendMessage(b, 11, v.marshal()) // input
	}
	for _, v := range g.Outputs {
		b = appendMessage(b, 12, v.marshal()) // output
	}
	return b, nil
}

func (n *Node) marshal() []byte {
	var b []byte
	for _, in := range n.Inputs {
		b = protowire.AppendTag(b, 1, protowire.BytesType) // input (repeated; "" = omitted optional)
		b = protowire.AppendString(b, in)
	}
	for _, out := range n.Outputs {
		b = protowire.AppendTag(b, 2, protowire.BytesType) // output
		b = protowire.AppendString(b, out)
	}
	b = appendString(b, 3, n.Name)   // name
	b = appendString(b, 4, n.OpType) // op_type
	for _, a := range n.Attrs {
		b = appendMessage(b, 5, a.marshal()) // attribute
	}
	return b
}

func (a *Attr) marshal() []byte {
	var b []byte
	b = appendString(b, 1, a.name) // name
	switch a.typ {
	case attrFloat:
		b = protowire.AppendTag(b, 2, protowire.Fixed32Type) // f
		b = protowire.AppendFixed32(b, math.Float32bits(a.f))
	case attrInt:
		b = protowire.AppendTag(b, 3, protowire.VarintType) // i
		b = protowire.AppendVarint(b, uint64(a.i))
	case attrString:
		b = protowire.AppendTag(b, 4, protowire.BytesType) // s
		b = protowire.AppendString(b, a.s)
	case attrFloats:
		var p []byte
		for _, f := range a.float {
			p = protowire.AppendFixed32(p, math.Float32bits(f))
		}
		b = appendMessage(b, 7, p) // floats, packed
	case attrInts:
		var p []byte
		for _, i := range a.ints {
			p = protowire.AppendVarint(p, uint64(i))
		}
		b = appendMessage(b, 8, p) // ints, packed
	}
	b = protowire.AppendTag(b, 20, protowire.VarintType) // type
	b = protowire.AppendVarint(b, uint64(a.typ))
	return b
}

func (t *Tensor) marshal() ([]byte, error) {
	n := int64(1)
	for _, d := range t.Dims {
		n *= d
	}
	var b []byte
	var dims []byte
	for _, d := range t.Dims {
		dims = protowire.AppendVarint(dims, uint64(d))
	}
	if len(t.Dims) > 0 {
		b = appendMessage(b, 1, dims) // dims, packed
	}
	var raw []byte
	switch {
	case t.Float != nil && t.Int64 == nil:
		if int64(len(t.Float)) != n {
			return nil, fmt.Errorf("tensor %q: %d floats for dims %v (%d values)", t.Name, len(t.Float), t.Dims, n)
		}
		b = appendVarint(b, 2, uint64(Float)) // data_type
		raw = make([]byte, 0, 4*len(t.Float))
		for _, f := range t.Float {
			raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(f))
		}
	case t.Int64 != nil && t.Float == nil:
		if int64(len(t.Int64)) != n {
			return nil, fmt.Errorf("tensor %q: %d int64s for dims %v (%d values)", t.Name, len(t.Int64), t.Dims, n)
		}
		b = appendVarint(b, 2, uint64(Int64))
		raw = make([]byte, 0, 8*len(t.Int64))
		for _, i := range t.Int64 {
			raw = binary.LittleEndian.AppendUint64(raw, uint64(i))
		}
	default:
		return nil, fmt.Errorf("tensor %q: set exactly one of Float and Int64", t.Name)
	}
	b = appendString(b, 8, t.Name)                     // name
	b = protowire.AppendTag(b, 9, protowire.BytesType) // raw_data (little-endian)
	b = protowire.AppendBytes(b, raw)
	return b, nil
}

func (v *ValueInfo) marshal() []byte {
	var shape []byte
	for _, d := range v.Shape {
		var dim []byte
		if d.Param != "" {
			dim = appendString(dim, 2, d.Param) // dim_param
		} else {
			dim = protowire.AppendTag(dim, 1, protowire.VarintType) // dim_value
			dim = protowire.AppendVarint(dim, uint64(d.Value))
		}
		shape = appendMessage(shape, 1, dim) // TensorShapeProto.dim
	}
	var tensorType []byte
	tensorType = appendVarint(tensorType, 1, uint64(v.ElemType)) // TypeProto.Tensor.elem_type
	tensorType = protowire.AppendTag(tensorType, 2, protowire.BytesType)
	tensorType = protowire.AppendBytes(tensorType, shape) // shape (present even when scalar)
	var typ []byte
	typ = appendMessage(typ, 1, tensorType) // TypeProto.tensor_type
	var b []byte
	b = appendString(b, 1, v.Name) // name
	b = appendMessage(b, 2, typ)   // type
	return b
}

// appendString writes a string field, omitting it when empty (proto3-style default).
func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

// appendVarint writes a varint field, omitting it when zero.
func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendMessage(b []byte, num protowire.Number, msg []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, msg)
}
