package serving

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/responsible-ai/rmodel-operator/internal/contract"
	"github.com/responsible-ai/rmodel-operator/internal/text"
	"github.com/responsible-ai/rmodel-operator/internal/textmodel/textmodeltest"
	"github.com/responsible-ai/rmodel-operator/serving/audit"
	"github.com/responsible-ai/rmodel-operator/serving/inference"
)

const tokenizerPath = "../internal/text/bertbase/bert-base-uncased.json"

var (
	sentiment = []string{"neg", "neu", "pos"}
	nerTags   = []string{"O", "B-PER", "I-PER", "B-LOC", "I-LOC"}
)

// writeArtifact writes data to a file and returns its URI and sha256.
func writeArtifact(t testing.TB, name string, data []byte) (string, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return "file://" + path, hex.EncodeToString(sum[:])
}

func testTokenizer(t testing.TB) (*text.Tokenizer, string, string) {
	t.Helper()
	data, err := os.ReadFile(tokenizerPath)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := text.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	uri, sum := writeArtifact(t, "tokenizer.json", data)
	return tok, uri, sum
}

// textConfig is a Config serving spec (a textmodeltest model) for task with the test tokenizer.
func textConfig(t testing.TB, spec textmodeltest.Marshaler, task string) (Config, *text.Tokenizer) {
	t.Helper()
	data, err := spec.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	uri, sum := writeArtifact(t, "model.onnx", data)
	tok, turi, tsum := testTokenizer(t)
	return Config{ModelURI: uri, SHA256: sum, Task: task, TokenizerURI: turi, TokenizerSHA256: tsum}, tok
}

func classifierSpec() textmodeltest.Classifier {
	c := textmodeltest.NewClassifier(len(sentiment))
	c.Metadata = map[string]string{"rai.labels": `["neg","neu","pos"]`, "rai.task": contract.TaskTextClassification, "rai.max_length": "16"}
	return c
}

// nerSpec tags john B-PER, smith I-PER, paris B-LOC.
func nerSpec(t testing.TB, tok *text.Tokenizer) textmodeltest.Tagger {
	ids := map[int64]int{}
	for word, label := range map[string]int{"john": 1, "smith": 2, "paris": 3} {
		id, ok := tok.TokenID(word)
		if !ok {
			t.Fatalf("%q not in the vocabulary", word)
		}
		ids[id] = label
	}
	tg := textmodeltest.NewTagger(len(nerTags), ids)
	tg.Metadata = map[string]string{"rai.labels": `["O","B-PER","I-PER","B-LOC","I-LOC"]`}
	return tg
}

type textOut struct {
	Name       string          `json:"name"`
	Shape      []int64         `json:"shape"`
	Datatype   string          `json:"datatype"`
	Parameters map[string]any  `json:"parameters"`
	Data       json.RawMessage `json:"data"`
}

type textResp struct {
	ModelName string    `json:"model_name"`
	ID        string    `json:"id"`
	Outputs   []textOut `json:"outputs"`
}

func (r textResp) output(t testing.TB, name string) textOut {
	t.Helper()
	for _, o := range r.Outputs {
		if o.Name == name {
			return o
		}
	}
	t.Fatalf("no output %q in %+v", name, r)
	return textOut{}
}

func (o textOut) floats(t testing.TB) []float64 {
	t.Helper()
	var v []float64
	if err := json.Unmarshal(o.Data, &v); err != nil {
		t.Fatalf("output %s data %s: %v", o.Name, o.Data, err)
	}
	return v
}

func (o textOut) strings(t testing.TB) []string {
	t.Helper()
	var v []string
	if err := json.Unmarshal(o.Data, &v); err != nil {
		t.Fatalf("output %s data %s: %v", o.Name, o.Data, err)
	}
	return v
}

// postText posts body and returns the status and the decoded answer or error message.
func postText(t testing.TB, url, body string) (int, textResp, string) {
	t.Helper()
	resp, err := http.Post(url+"/v2/models/model/infer", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var r textResp
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatalf("answer %s: %v", raw, err)
		}
		return resp.StatusCode, r, ""
	}
	var e map[string]string
	if err := json.Unmarshal(raw, &e); err != nil || e["error"] == "" {
		t.Fatalf("error answer %q is not {\"error\": ...}", raw)
	}
	return resp.StatusCode, r, e["error"]
}

func textBody(id string, texts ...string) string {
	return mustJSON(map[string]any{"id": id, "inputs": []any{map[string]any{
		"name": "text", "datatype": "BYTES", "shape": []int{len(texts)}, "data": texts,
	}}})
}

// expectedProbs is the hand computation of the test classifier for one text.
func expectedProbs(t testing.TB, tok *text.Tokenizer, s string) []float64 {
	t.Helper()
	enc, err := tok.Encode(s, text.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return classifierSpec().Reference(enc.IDs)
}

func argmax(p []float64) int {
	best := 0
	for j, v := range p {
		if v > p[best] {
			best = j
		}
	}
	return best
}

func TestTextClassificationOverREST(t *testing.T) {
	cfg, tok := textConfig(t, classifierSpec(), contract.TaskTextClassification)
	ts := startServer(t, cfg)
	texts := []string{"a great film", "awful, truly awful!", "death pain window keep close", "Zoë's café"}
	code, r, msg := postText(t, ts.url, textBody("r1", texts...))
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, msg)
	}
	if r.ID != "r1" || len(r.Outputs) != 3 {
		t.Fatalf("answer %+v: want id r1 and outputs label, score, probabilities", r)
	}
	labels, scores, probs := r.output(t, "label"), r.output(t, "score"), r.output(t, "probabilities")
	if labels.Datatype != "BYTES" || !slices.Equal(labels.Shape, []int64{4}) || scores.Datatype != "FP32" ||
		!slices.Equal(scores.Shape, []int64{4}) || !slices.Equal(probs.Shape, []int64{4, 3}) {
		t.Fatalf("outputs %+v", r.Outputs)
	}
	gotLabels, gotScores, gotProbs := labels.strings(t), scores.floats(t), probs.floats(t)
	seen := map[string]bool{}
	for i, s := range texts {
		want := expectedProbs(t, tok, s)
		for j := range want {
			if math.Abs(gotProbs[i*3+j]-want[j]) > 1e-5 {
				t.Fatalf("text %q: P(%s) = %v, hand computed %v", s, sentiment[j], gotProbs[i*3+j], want[j])
			}
		}
		best := argmax(want)
		if gotLabels[i] != sentiment[best] || math.Abs(gotScores[i]-want[best]) > 1e-5 {
			t.Fatalf("text %q: label %s score %v, want %s %v", s, gotLabels[i], gotScores[i], sentiment[best], want[best])
		}
		seen[gotLabels[i]] = true
	}
	if len(seen) < 2 {
		t.Fatalf("every text got label %v: the test does not tell texts apart", seen)
	}

	// The token tensors answer logits, whose softmax is the text's probabilities; an output may
	// be asked for by name.
	enc, _ := tok.Encode(texts[0], text.Options{})
	mask := make([]int64, enc.Len()+2)
	ids := append(slices.Clone(enc.IDs), 0, 0) // two padding positions, masked
	for i := range enc.Len() {
		mask[i] = 1
	}
	body := mustJSON(map[string]any{"inputs": []any{
		map[string]any{"name": "input_ids", "datatype": "INT64", "shape": []int{1, len(ids)}, "data": ids},
		map[string]any{"name": "attention_mask", "datatype": "INT64", "shape": []int{1, len(ids)}, "data": [][]int64{mask}},
	}})
	code, r, msg = postText(t, ts.url, body)
	if code != http.StatusOK {
		t.Fatalf("token tensors: %d %s", code, msg)
	}
	lg := r.output(t, "logits")
	if len(r.Outputs) != 1 || !slices.Equal(lg.Shape, []int64{1, 3}) {
		t.Fatalf("token tensors answered %+v, want logits [1 3]", r.Outputs)
	}
	logits := lg.floats(t)
	p := text.Softmax(logits)
	for j := range p {
		if math.Abs(p[j]-gotProbs[j]) > 1e-5 {
			t.Fatalf("softmax(logits) %v, probabilities of the same text %v", p, gotProbs[:3])
		}
	}
	code, r, msg = postText(t, ts.url, mustJSON(map[string]any{
		"inputs":  []any{map[string]any{"name": "text", "datatype": "BYTES", "shape": []int{1, 1}, "data": [][]string{{texts[0]}}}},
		"outputs": []any{map[string]any{"name": "logits"}, map[string]any{"name": "label"}},
	}))
	if code != http.StatusOK || len(r.Outputs) != 2 || r.Outputs[0].Name != "logits" || r.Outputs[1].Name != "label" {
		t.Fatalf("asked for logits and label: %d %s %+v", code, msg, r.Outputs)
	}
	if got := r.Outputs[0].floats(t); math.Abs(got[0]-logits[0]) > 1e-5 {
		t.Fatalf("logits of the text %v, of its token tensors %v", got, logits)
	}

	// The metadata states the inputs, outputs, labels, task and tokenization.
	var meta struct {
		Inputs     []TensorMetadata `json:"inputs"`
		Outputs    []TensorMetadata `json:"outputs"`
		Parameters struct {
			Task         string       `json:"task"`
			Labels       []string     `json:"labels"`
			Tokenization Tokenization `json:"tokenization"`
		} `json:"parameters"`
	}
	if code := getJSON(t, ts.url+"/v2/models/model", &meta); code != http.StatusOK {
		t.Fatalf("metadata: %d", code)
	}
	var names []string
	for _, in := range meta.Inputs {
		names = append(names, in.Name+":"+in.Datatype)
	}
	for _, o := range meta.Outputs {
		names = append(names, o.Name+":"+o.Datatype)
	}
	if strings.Join(names, ",") != "text:BYTES,input_ids:INT64,attention_mask:INT64,label:BYTES,score:FP32,probabilities:FP32,logits:FP32" {
		t.Fatalf("metadata tensors %s", names)
	}
	tk := meta.Parameters.Tokenization
	if meta.Parameters.Task != contract.TaskTextClassification || strings.Join(meta.Parameters.Labels, ",") != "neg,neu,pos" ||
		tk.MaxLength != 16 || tk.Padding != "longest" || !strings.Contains(tk.Truncation, "refused with 400") || tk.TokenizerSHA256 != cfg.TokenizerSHA256 {
		t.Fatalf("metadata parameters %+v", meta.Parameters)
	}
}

func TestTextBadRequests(t *testing.T) {
	cfg, _ := textConfig(t, classifierSpec(), contract.TaskTextClassification)
	cfg.MaxTextBytes = 200
	ts := startServer(t, cfg)
	tokens := func(ids, mask []int64) string {
		return mustJSON(map[string]any{"inputs": []any{
			map[string]any{"name": "input_ids", "datatype": "INT64", "shape": []int{1, len(ids)}, "data": ids},
			map[string]any{"name": "attention_mask", "datatype": "INT64", "shape": []int{1, len(mask)}, "data": mask},
		}})
	}
	long := strings.Repeat("word ", 20) // 22 tokens, the max length is 16
	cases := []struct {
		name, body string
		status     int
		want       string
	}{
		{"empty text", textBody("", "fine", ""), 400, `input "text": element 1 is empty (no tokens besides [CLS] and [SEP])`},
		{"too long", textBody("", long), 400, `input "text": element 0 has 22 tokens ([CLS] and [SEP] included), more than the model's max length 16; the server does not truncate`},
		{"too many bytes", textBody("", strings.Repeat("a", 201)), 413, `element 0 has 201 bytes, more than the server's limit of 200 per text`},
		{"not UTF-8", "{\"inputs\":[{\"name\":\"text\",\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[\"caf\xe9\"]}]}", 400, "not valid UTF-8"},
		{"datatype", `{"inputs":[{"name":"text","datatype":"FP32","shape":[1],"data":[1]}]}`, 400, `input "text": datatype "FP32", want BYTES`},
		{"number", `{"inputs":[{"name":"text","datatype":"BYTES","shape":[2],"data":["ok",3]}]}`, 400, `data element 1 is '3', want a string`},
		{"shape", `{"inputs":[{"name":"text","datatype":"BYTES","shape":[3],"data":["a","b"]}]}`, 400, `shape [3] holds 3 strings, data has 2`},
		{"rank", `{"inputs":[{"name":"text","datatype":"BYTES","shape":[1,2],"data":["a","b"]}]}`, 400, `shape [1 2], want [batch] (or [batch, 1])`},
		{"no data", `{"inputs":[{"name":"text","datatype":"BYTES","shape":[1]}]}`, 400, `input "text": missing data`},
		{"unknown input", `{"inputs":[{"name":"features","datatype":"FP32","shape":[1,2],"data":[1,2]}]}`, 400, `unknown input "features": the model takes either text`},
		{"no inputs", `{"inputs":[]}`, 400, "the request has no inputs"},
		{"text and tokens", mustJSON(map[string]any{"inputs": []any{
			map[string]any{"name": "text", "datatype": "BYTES", "shape": []int{1}, "data": []string{"a"}},
			map[string]any{"name": "input_ids", "datatype": "INT64", "shape": []int{1, 1}, "data": []int{101}},
		}}), 400, `give either the input "text" or the token tensors, not both`},
		{"no mask", `{"inputs":[{"name":"input_ids","datatype":"INT64","shape":[1,2],"data":[101,102]}]}`, 400, `missing input "attention_mask"`},
		{"id outside vocab", tokens([]int64{101, 40000, 102}, []int64{1, 1, 1}), 400, `input "input_ids": element [0, 1] is 40000, outside the tokenizer's vocabulary (0 to 30521)`},
		{"mask value", tokens([]int64{101, 102}, []int64{1, 2}), 400, `input "attention_mask": element [0, 1] is 2, want 0 or 1`},
		{"mask shape", tokens([]int64{101, 102}, []int64{1}), 400, `input "attention_mask": shape [1 1], but "input_ids" has shape [1 2]`},
		{"tokens too long", tokens(make([]int64, 17), make([]int64, 17)), 400, `input "input_ids": sequence length 17, want 1 to the model's max length 16`},
		{"token type ids", mustJSON(map[string]any{"inputs": []any{
			map[string]any{"name": "input_ids", "datatype": "INT64", "shape": []int{1, 1}, "data": []int{101}},
			map[string]any{"name": "attention_mask", "datatype": "INT64", "shape": []int{1, 1}, "data": []int{1}},
			map[string]any{"name": "token_type_ids", "datatype": "INT64", "shape": []int{1, 1}, "data": []int{0}},
		}}), 400, `unknown input "token_type_ids"`},
		{"unknown output", mustJSON(map[string]any{"inputs": []any{map[string]any{"name": "text", "datatype": "BYTES", "shape": []int{1}, "data": []string{"a"}}},
			"outputs": []any{map[string]any{"name": "entities"}}}), 400, `unknown output "entities": this text-classification model answers [label score probabilities logits]`},
		{"bad JSON", `{"inputs":`, 400, "invalid JSON"},
	}
	for _, c := range cases {
		status, _, msg := postText(t, ts.url, c.body)
		if status != c.status || !strings.Contains(msg, c.want) {
			t.Errorf("%s: %d %q, want %d and a message saying %q", c.name, status, msg, c.status, c.want)
		}
	}
	if status, _, msg := postText(t, ts.url, textBody("", "still serving")); status != http.StatusOK {
		t.Fatalf("after the bad requests: %d %s", status, msg)
	}
	m := metricsText(t, ts.url)
	if v, _ := metricValue(m, `rai_inference_errors_total{code="400",model="model",reason="bad_request"}`); int(v) != len(cases)-1 {
		t.Errorf("400 errors counted: %v, want %d", v, len(cases)-1)
	}
	if v, _ := metricValue(m, `rai_inference_errors_total{code="413",model="model",reason="text_too_large"}`); v != 1 {
		t.Errorf("413 errors counted: %v, want 1", v)
	}
}

func TestTokenClassificationEntitiesOverRESTAndGRPC(t *testing.T) {
	tok, _, _ := testTokenizer(t)
	cfg, _ := textConfig(t, nerSpec(t, tok), contract.TaskTokenClassification)
	ts, client := startGRPCServer(t, cfg)
	texts := []string{"My name is John Smith, I live in Paris.", "nobody here", "Ünïcode John"}
	top := math.Exp(textmodeltest.TaggerScale) / (math.Exp(textmodeltest.TaggerScale) + float64(len(nerTags)-1))
	want := [][]entitySpan{
		{{EntityGroup: "PER", Score: top, Word: "john smith", Start: 11, End: 21}, {EntityGroup: "LOC", Score: top, Word: "paris", Start: 33, End: 38}},
		{},
		{{EntityGroup: "PER", Score: top, Word: "john", Start: 8, End: 12}},
	}
	check := func(how string, elems []string) {
		t.Helper()
		if len(elems) != len(texts) {
			t.Fatalf("%s: %d elements for %d texts", how, len(elems), len(texts))
		}
		for i, e := range elems {
			var got []entitySpan
			if err := json.Unmarshal([]byte(e), &got); err != nil || got == nil {
				t.Fatalf("%s: element %d %q is not a JSON array of spans: %v", how, i, e, err)
			}
			if len(got) != len(want[i]) {
				t.Fatalf("%s: text %q: entities %+v, want %+v", how, texts[i], got, want[i])
			}
			for j := range got {
				g, w := got[j], want[i][j]
				if g.EntityGroup != w.EntityGroup || g.Word != w.Word || g.Start != w.Start || g.End != w.End || math.Abs(g.Score-w.Score) > 1e-5 {
					t.Fatalf("%s: text %q entity %d = %+v, want %+v", how, texts[i], j, g, w)
				}
			}
		}
		if !strings.Contains(elems[0], `"entity_group":"PER"`) {
			t.Fatalf("%s: element %s lacks the field entity_group", how, elems[0])
		}
	}
	code, r, msg := postText(t, ts.url, textBody("", texts...))
	if code != http.StatusOK {
		t.Fatalf("REST: %d %s", code, msg)
	}
	ent := r.output(t, "entities")
	if ent.Datatype != "BYTES" || !slices.Equal(ent.Shape, []int64{3}) || len(r.Outputs) != 1 {
		t.Fatalf("REST outputs %+v", r.Outputs)
	}
	check("REST", ent.strings(t))

	// gRPC, typed bytes_contents.
	elems := make([][]byte, len(texts))
	for i, s := range texts {
		elems[i] = []byte(s)
	}
	req := &inference.ModelInferRequest{ModelName: "model", Inputs: []*inference.ModelInferRequest_InferInputTensor{{
		Name: "text", Datatype: "BYTES", Shape: []int64{3}, Contents: &inference.InferTensorContents{BytesContents: elems},
	}}}
	resp, err := client.ModelInfer(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Outputs) != 1 || resp.Outputs[0].Name != "entities" || resp.Outputs[0].Datatype != "BYTES" {
		t.Fatalf("gRPC outputs %+v", resp.Outputs)
	}
	var got []string
	for _, b := range resp.Outputs[0].GetContents().GetBytesContents() {
		got = append(got, string(b))
	}
	check("gRPC bytes_contents", got)

	// gRPC, raw_input_contents in Triton's length-prefixed layout, answered the same way.
	req.Inputs[0].Contents = nil
	req.RawInputContents = [][]byte{appendLengthPrefixed(nil, texts)}
	resp, err = client.ModelInfer(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := lengthPrefixed(resp.GetRawOutputContents()[0], 3)
	if err != nil {
		t.Fatal(err)
	}
	check("gRPC raw", raw)

	// Token tensors answer logits [batch, sequence, labels]; entities need the text.
	enc, _ := tok.Encode("john", text.Options{})
	tokReq := &inference.ModelInferRequest{ModelName: "model", Inputs: []*inference.ModelInferRequest_InferInputTensor{
		{Name: "input_ids", Datatype: "INT64", Shape: []int64{1, 3}, Contents: &inference.InferTensorContents{Int64Contents: enc.IDs}},
		{Name: "attention_mask", Datatype: "INT64", Shape: []int64{1, 3}, Contents: &inference.InferTensorContents{Int64Contents: []int64{1, 1, 1}}},
	}}
	resp, err = client.ModelInfer(context.Background(), tokReq)
	if err != nil {
		t.Fatal(err)
	}
	lg := resp.Outputs[0]
	if lg.Name != "logits" || !slices.Equal(lg.Shape, []int64{1, 3, 5}) || lg.GetContents().GetFp32Contents()[1*5+1] != textmodeltest.TaggerScale {
		t.Fatalf("token tensors answered %+v", resp.Outputs)
	}
	tokReq.Outputs = []*inference.ModelInferRequest_InferRequestedOutputTensor{{Name: "entities"}}
	_, err = client.ModelInfer(context.Background(), tokReq)
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), `output "entities" needs the input "text"`) {
		t.Fatalf("entities of token tensors: %v", err)
	}
	// gRPC bad requests map to InvalidArgument with REST's message.
	req.RawInputContents = [][]byte{{5, 0, 0, 0, 'a'}}
	_, err = client.ModelInfer(context.Background(), req)
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "element 0: length 5, but 1 bytes follow") {
		t.Fatalf("truncated raw text: %v", err)
	}
	req.RawInputContents = [][]byte{appendLengthPrefixed(nil, []string{"a", "\xff", "b"})}
	_, err = client.ModelInfer(context.Background(), req)
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "element 1 is not valid UTF-8") {
		t.Fatalf("non-UTF-8 raw text: %v", err)
	}
}

func TestTextClassificationOverGRPCMatchesREST(t *testing.T) {
	cfg, _ := textConfig(t, classifierSpec(), contract.TaskTextClassification)
	ts, client := startGRPCServer(t, cfg)
	texts := []string{"a great film", "awful, truly awful!"}
	_, r, _ := postText(t, ts.url, textBody("", texts...))
	restProbs := r.output(t, "probabilities").floats(t)
	restLabels := r.output(t, "label").strings(t)

	req := &inference.ModelInferRequest{ModelName: "model", Inputs: []*inference.ModelInferRequest_InferInputTensor{{
		Name: "text", Datatype: "BYTES", Shape: []int64{2},
	}}, RawInputContents: [][]byte{appendLengthPrefixed(nil, texts)}}
	resp, err := client.ModelInfer(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Outputs) != 3 || len(resp.RawOutputContents) != 3 {
		t.Fatalf("gRPC raw answer: %d outputs, %d raw contents", len(resp.Outputs), len(resp.RawOutputContents))
	}
	labels, err := lengthPrefixed(resp.RawOutputContents[0], 2)
	if err != nil || !slices.Equal(labels, restLabels) {
		t.Fatalf("gRPC labels %q (%v), REST %q", labels, err, restLabels)
	}
	probs := fromLE(t, resp.RawOutputContents[2])
	for i := range probs {
		if math.Abs(float64(probs[i])-restProbs[i]) > 1e-6 {
			t.Fatalf("gRPC probabilities %v, REST %v", probs, restProbs)
		}
	}
	// Typed: labels in bytes_contents, scores in fp32_contents.
	req.RawInputContents = nil
	req.Inputs[0].Contents = &inference.InferTensorContents{BytesContents: [][]byte{[]byte(texts[0]), []byte(texts[1])}}
	resp, err = client.ModelInfer(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Outputs[0].GetContents().GetBytesContents(); len(got) != 2 || string(got[0]) != restLabels[0] {
		t.Fatalf("typed labels %q", got)
	}
	if got := resp.Outputs[1].GetContents().GetFp32Contents(); len(got) != 2 || got[0] <= 0 || got[0] > 1 {
		t.Fatalf("typed scores %v", got)
	}
	for _, bad := range []struct {
		in   *inference.ModelInferRequest_InferInputTensor
		want string
	}{
		{&inference.ModelInferRequest_InferInputTensor{Name: "text", Datatype: "BYTES", Shape: []int64{1}, Contents: &inference.InferTensorContents{BytesContents: [][]byte{[]byte("")}}}, "element 0 is empty"},
		{&inference.ModelInferRequest_InferInputTensor{Name: "text", Datatype: "BYTES", Shape: []int64{1}, Contents: &inference.InferTensorContents{Fp32Contents: []float32{1}}}, "contents of another datatype than BYTES"},
		{&inference.ModelInferRequest_InferInputTensor{Name: "text", Datatype: "INT64", Shape: []int64{1}}, `datatype "INT64", want BYTES`},
		{&inference.ModelInferRequest_InferInputTensor{Name: "text", Datatype: "BYTES", Shape: []int64{1}}, "missing data"},
	} {
		_, err := client.ModelInfer(context.Background(), &inference.ModelInferRequest{ModelName: "model", Inputs: []*inference.ModelInferRequest_InferInputTensor{bad.in}})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("gRPC %+v: %v, want InvalidArgument saying %q", bad.in, err, bad.want)
		}
	}
}

func TestTextRESTBinaryTensors(t *testing.T) {
	cfg, _ := textConfig(t, classifierSpec(), contract.TaskTextClassification)
	ts := startServer(t, cfg)
	texts := []string{"a great film", "awful"}
	_, plain, _ := postText(t, ts.url, textBody("", texts...))
	bin := appendLengthPrefixed(nil, texts)
	header := []byte(mustJSON(map[string]any{
		"inputs":     []any{map[string]any{"name": "text", "datatype": "BYTES", "shape": []int{2}, "parameters": map[string]any{"binary_data_size": len(bin)}}},
		"parameters": map[string]any{"binary_data_output": true},
	}))
	resp, body := binaryPost(t, ts.url+"/v2/models/model/infer", header, bin, strconv.Itoa(len(header)))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("binary text request: %d %s", resp.StatusCode, body)
	}
	n, _ := strconv.Atoi(resp.Header.Get(InferenceHeaderContentLength))
	var r textResp
	if err := json.Unmarshal(body[:n], &r); err != nil {
		t.Fatal(err)
	}
	rest := body[n:]
	var labels []string
	var probs []float32
	for _, o := range r.Outputs {
		size := int(o.Parameters["binary_data_size"].(float64))
		chunk := rest[:size]
		rest = rest[size:]
		switch o.Name {
		case "label":
			var err error
			if labels, err = lengthPrefixed(chunk, 2); err != nil {
				t.Fatal(err)
			}
		case "probabilities":
			probs = fromLE(t, chunk)
		}
	}
	if !slices.Equal(labels, plain.output(t, "label").strings(t)) || len(probs) != 6 || math.Abs(float64(probs[5])-plain.output(t, "probabilities").floats(t)[5]) > 1e-6 {
		t.Fatalf("binary answer labels %q probabilities %v, JSON answer %+v", labels, probs, plain)
	}
}

// TestTextBatchedEqualsUnbatched sends the same texts, of different lengths, to a server that
// merges them into one padded run and to one that runs each request alone.
func TestTextBatchedEqualsUnbatched(t *testing.T) {
	cfg, _ := textConfig(t, classifierSpec(), contract.TaskTextClassification)
	single := cfg
	single.MaxBatchSize = 1
	alone := startServer(t, single)
	cfg.MaxBatchSize, cfg.MaxBatchDelay = 64, 10*time.Second
	ts := startServer(t, cfg)
	const clients = 24
	bodies := make([]string, clients)
	for i := range clients {
		bodies[i] = textBody(strconv.Itoa(i), strings.Repeat("good ", i%7+1)+"film", fmt.Sprintf("text %d is rather bad", i))
	}
	results := sendTogether(t, ts.url, ts.text.exec.(*textBatcher), bodies)
	for i := range clients {
		_, one, msg := postText(t, alone.url, bodies[i])
		if msg != "" {
			t.Fatal(msg)
		}
		if results[i].ID != strconv.Itoa(i) {
			t.Fatalf("request %d got the answer of %s", i, results[i].ID)
		}
		got, want := results[i].output(t, "probabilities").floats(t), one.output(t, "probabilities").floats(t)
		for j := range want {
			if math.Abs(got[j]-want[j]) > 1e-6 {
				t.Fatalf("request %d: batched %v, alone %v", i, got, want)
			}
		}
		if !slices.Equal(results[i].output(t, "label").strings(t), one.output(t, "label").strings(t)) {
			t.Fatalf("request %d: labels differ", i)
		}
	}
	m := metricsText(t, ts.url)
	runs, _ := metricValue(m, `rai_inference_batch_rows_count{model="model"}`)
	rows, _ := metricValue(m, `rai_inference_batch_rows_sum{model="model"}`)
	if rows != 1+2*clients || runs != 2 {
		t.Errorf("%v texts in %v runs, want %d in 2 (the warm-up and one batch)", rows, runs, 1+2*clients)
	}
	if v, _ := metricValue(m, `rai_inference_requests_total{code="200",model="model"}`); int(v) != clients {
		t.Errorf("requests counted: %v, want %d", v, clients)
	}
}

func TestTextAuditLogHoldsDigestsNotTexts(t *testing.T) {
	cfg, _ := textConfig(t, classifierSpec(), contract.TaskTextClassification)
	cfg.AuditLogPath = filepath.Join(t.TempDir(), "audit.jsonl")
	ts, client := startGRPCServer(t, cfg)
	secret := []string{"zebracorn wrote this", "quuxly private note"}
	if status, _, msg := postText(t, ts.url, textBody("rest-1", secret...)); status != http.StatusOK {
		t.Fatalf("%d %s", status, msg)
	}
	_, err := client.ModelInfer(context.Background(), &inference.ModelInferRequest{ModelName: "model", Id: "grpc-1",
		Inputs:           []*inference.ModelInferRequest_InferInputTensor{{Name: "text", Datatype: "BYTES", Shape: []int64{2}}},
		RawInputContents: [][]byte{appendLengthPrefixed(nil, secret)}})
	if err != nil {
		t.Fatal(err)
	}
	// Token tensors are audited by the digest of the tensors.
	ids, mask := []int64{101, 7592, 102, 0}, []int64{1, 1, 1, 0}
	tokBody := mustJSON(map[string]any{"id": "tokens-1", "inputs": []any{
		map[string]any{"name": "input_ids", "datatype": "INT64", "shape": []int{1, 4}, "data": ids},
		map[string]any{"name": "attention_mask", "datatype": "INT64", "shape": []int{1, 4}, "data": mask},
	}})
	if code, _, msg := postText(t, ts.url, tokBody); code != http.StatusOK {
		t.Fatalf("%d %s", code, msg)
	}
	ts.stop(t)
	raw, err := os.ReadFile(cfg.AuditLogPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, word := range []string{"zebracorn", "quuxly", "private"} {
		if bytes.Contains(raw, []byte(word)) {
			t.Fatalf("the audit log holds %q from a text:\n%s", word, raw)
		}
	}
	if _, err := audit.VerifyFile(cfg.AuditLogPath); err != nil {
		t.Fatalf("verify: %v", err)
	}
	digest := audit.TextDigest("text", []int64{2}, secret)
	sc := bufio.NewScanner(bytes.NewReader(raw))
	var reqIDs []string
	for sc.Scan() {
		var e audit.Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		reqIDs = append(reqIDs, e.RequestID)
		if e.RequestID == "tokens-1" {
			want := audit.TokensDigest(audit.Int64Tensor{Name: "input_ids", Shape: []int64{1, 4}, Data: ids},
				audit.Int64Tensor{Name: "attention_mask", Shape: []int64{1, 4}, Data: mask})
			if e.InputSHA256 != want || e.Rows != 1 || len(e.Outputs) != 2 || e.Outputs[1].Name != "logits" {
				t.Fatalf("token entry %+v: want digest %s, 1 row, label_index and logits", e, want)
			}
			continue
		}
		var names []string
		for _, o := range e.Outputs {
			names = append(names, o.Name)
		}
		if e.InputSHA256 != digest || e.Rows != 2 || e.RawInput != nil || strings.Join(names, ",") != "label_index,score,probabilities" {
			t.Fatalf("entry %+v: want input digest %s of both texts, 2 rows, summaries label_index, score, probabilities", e, digest)
		}
	}
	if strings.Join(reqIDs, ",") != "rest-1,grpc-1,tokens-1" {
		t.Fatalf("entries %v, want rest-1, grpc-1 and tokens-1 (the warm-up is not audited)", reqIDs)
	}
	// The mask is part of the tokens' digest.
	if audit.TokensDigest(audit.Int64Tensor{Name: "input_ids", Shape: []int64{1, 4}, Data: ids}, audit.Int64Tensor{Name: "attention_mask", Shape: []int64{1, 4}, Data: mask}) ==
		audit.TokensDigest(audit.Int64Tensor{Name: "input_ids", Shape: []int64{1, 4}, Data: ids}, audit.Int64Tensor{Name: "attention_mask", Shape: []int64{1, 4}, Data: []int64{1, 1, 1, 1}}) {
		t.Fatal("TokensDigest ignores the attention mask")
	}
	// The digest is of the texts: another text, another digest; the length prefix keeps
	// ["ab","c"] apart from ["a","bc"].
	if audit.TextDigest("text", []int64{2}, []string{"ab", "c"}) == audit.TextDigest("text", []int64{2}, []string{"a", "bc"}) {
		t.Fatal("TextDigest does not separate elements")
	}
}

func TestTextServerRefusesBadConfigurations(t *testing.T) {
	cfg, _ := textConfig(t, classifierSpec(), contract.TaskTextClassification)
	for name, c := range map[string]struct {
		mod  func(*Config)
		want string
	}{
		"monitoring":     {func(c *Config) { c.Monitoring.Enabled = true }, "monitoring (--monitoring) is not supported for text models"},
		"raw inputs":     {func(c *Config) { c.AuditRawInputs = true }, "--audit-raw-inputs is for tabular models"},
		"no tokenizer":   {func(c *Config) { c.TokenizerURI = "" }, "needs its tokenizer.json (--tokenizer and --tokenizer-sha256)"},
		"tokenizer hash": {func(c *Config) { c.TokenizerSHA256 = "abc" }, "the tokenizer's sha256 is required as 64 hexadecimal digits"},
		"task":           {func(c *Config) { c.Task = "regression" }, `unknown task "regression"`},
		"tabular":        {func(c *Config) { c.Task = contract.TaskBinaryClassification }, "a tokenizer given for a binary-classification model"},
		"max length":     {func(c *Config) { c.MaxLength = 1 }, "max length 1"},
	} {
		cc := cfg
		c.mod(&cc)
		if _, err := New(cc); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: New: %v, want %q", name, err, c.want)
		}
	}
	// At load: a tokenizer whose digest differs, and labels that do not fit the model.
	for name, c := range map[string]struct {
		mod  func(*Config)
		want string
	}{
		"digest": {func(c *Config) { c.TokenizerSHA256 = strings.Repeat("0", 64) }, "expected " + strings.Repeat("0", 64) + ": sha256 mismatch: refusing to load it"},
		"labels": {func(c *Config) { c.Labels = []string{"a", "b"} }, `2 labels (the labels given: a,b), but the model's output "logits" has 3`},
		"task":   {func(c *Config) { c.Task = contract.TaskTokenClassification }, `the model's metadata says rai.task "text-classification"`},
	} {
		cc := cfg
		c.mod(&cc)
		srv, err := New(cc)
		if err != nil {
			t.Fatal(err)
		}
		err = srv.Load(context.Background())
		srv.Close()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Load: %v, want %q", name, err, c.want)
		} else if name == "digest" && !strings.HasPrefix(err.Error(), "tokenizer ") {
			t.Errorf("digest: %v does not say it is the tokenizer's", err)
		}
	}
}

// sendTogether posts bodies concurrently so that the batcher sees all of them arrive before any
// is decoded (each body's first bytes are sent, then the rest once all have arrived), and
// returns the answers in order.
func sendTogether(t *testing.T, url string, b *textBatcher, bodies []string) []textResp {
	t.Helper()
	writers := make([]*io.PipeWriter, len(bodies))
	results := make([]textResp, len(bodies))
	var wg sync.WaitGroup
	for i := range bodies {
		pr, pw := io.Pipe()
		writers[i] = pw
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Post(url+"/v2/models/model/infer", "application/json", pr)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK {
				t.Errorf("request %d: status %d: %s", i, resp.StatusCode, raw)
			}
			if err := json.Unmarshal(raw, &results[i]); err != nil {
				t.Error(err)
			}
		}()
		if _, err := pw.Write([]byte(bodies[i][:10])); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for b.arriving.Load() < int64(len(bodies)) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d requests arrived", b.arriving.Load(), len(bodies))
		}
		time.Sleep(time.Millisecond)
	}
	for i, pw := range writers {
		pw.Write([]byte(bodies[i][10:]))
		pw.Close()
	}
	wg.Wait()
	return results
}

// TestTokenClassificationBatchesTextAndTokens merges texts of different lengths and a token
// tensor request (with its own padding) into one run of a token-classification model: each
// request gets the entities, or the logits of its own positions, it gets alone.
func TestTokenClassificationBatchesTextAndTokens(t *testing.T) {
	tok, _, _ := testTokenizer(t)
	cfg, _ := textConfig(t, nerSpec(t, tok), contract.TaskTokenClassification)
	single := cfg
	single.MaxBatchSize = 1
	alone := startServer(t, single)
	cfg.MaxBatchSize, cfg.MaxBatchDelay = 64, 10*time.Second
	ts := startServer(t, cfg)
	texts := []string{"John Smith", "a much longer sentence about John who lives in Paris with Smith", "Paris", "nothing to see"}
	var bodies []string
	for i, s := range texts {
		bodies = append(bodies, textBody(strconv.Itoa(i), s))
	}
	enc, _ := tok.Encode("paris smith", text.Options{})
	ids := append(slices.Clone(enc.IDs), 0, 0, 0)
	mask := []int64{1, 1, 1, 1, 0, 0, 0}
	bodies = append(bodies, mustJSON(map[string]any{"id": "tokens", "inputs": []any{
		map[string]any{"name": "input_ids", "datatype": "INT64", "shape": []int{1, 7}, "data": ids},
		map[string]any{"name": "attention_mask", "datatype": "INT64", "shape": []int{1, 7}, "data": mask},
	}}))
	got := sendTogether(t, ts.url, ts.text.exec.(*textBatcher), bodies)
	m := metricsText(t, ts.url)
	if runs, _ := metricValue(m, `rai_inference_batch_rows_count{model="model"}`); runs != 2 {
		t.Fatalf("%v runs, want 2 (the warm-up and one batch of all five requests)", runs)
	}
	for i, body := range bodies {
		_, want, msg := postText(t, alone.url, body)
		if msg != "" {
			t.Fatal(msg)
		}
		if i < len(texts) {
			g, w := got[i].output(t, "entities").strings(t), want.output(t, "entities").strings(t)
			if !slices.Equal(g, w) {
				t.Fatalf("text %q: batched %s, alone %s", texts[i], g, w)
			}
			continue
		}
		lg := got[i].output(t, "logits")
		if !slices.Equal(lg.Shape, []int64{1, 7, 5}) {
			t.Fatalf("token request's logits shape %v, want [1 7 5] (its own positions)", lg.Shape)
		}
		g, w := lg.floats(t), want.output(t, "logits").floats(t)
		if !slices.Equal(g, w) || g[1*5+3] != textmodeltest.TaggerScale || g[2*5+2] != textmodeltest.TaggerScale {
			t.Fatalf("token request's logits batched %v, alone %v (paris B-LOC, smith I-PER)", g, w)
		}
	}
	if e := got[1].output(t, "entities").strings(t)[0]; !strings.Contains(e, `"word":"paris"`) || !strings.Contains(e, `"word":"john"`) {
		t.Fatalf("the long text's entities %s", e)
	}
}

// TestTextRequestOfManyTextsRunsInChunks: a request of more texts than a run takes is answered
// whole, from runs of at most the batch size (each padded to its own longest), with the answers
// of the texts sent one by one.
func TestTextRequestOfManyTextsRunsInChunks(t *testing.T) {
	cfg, tok := textConfig(t, classifierSpec(), contract.TaskTextClassification)
	for _, batch := range []int{1, 8} {
		cfg.MaxBatchSize = batch
		ts := startServer(t, cfg)
		texts := make([]string, 150)
		for i := range texts {
			texts[i] = strings.Repeat("fine ", i%13+1) + "day"
		}
		code, r, msg := postText(t, ts.url, textBody("", texts...))
		if code != http.StatusOK {
			t.Fatalf("%d %s", code, msg)
		}
		probs := r.output(t, "probabilities").floats(t)
		for i, s := range texts {
			want := expectedProbs(t, tok, s)
			if math.Abs(probs[3*i+2]-want[2]) > 1e-5 {
				t.Fatalf("batch size %d: text %d P(pos) %v, hand computed %v", batch, i, probs[3*i+2], want[2])
			}
		}
		m := metricsText(t, ts.url)
		runs, _ := metricValue(m, `rai_inference_batch_rows_count{model="model"}`)
		largest := 64 // the pool's runs
		if batch > 1 {
			largest = batch
		}
		if want := 1 + (150+largest-1)/largest; int(runs) != want {
			t.Errorf("batch size %d: %v runs, want %d (the warm-up and runs of at most %d texts)", batch, runs, want, largest)
		}
	}
}
