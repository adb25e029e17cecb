package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/responsible-ai/rmodel-operator/internal/contract"
	"github.com/responsible-ai/rmodel-operator/internal/onnxwriter"
	"github.com/responsible-ai/rmodel-operator/internal/text"
	"github.com/responsible-ai/rmodel-operator/internal/textmodel/textmodeltest"
	"github.com/responsible-ai/rmodel-operator/serving/inference"
)

// runRai runs the rai command line in-process and returns its output and error.
func runRai(ctx context.Context, args ...string) (string, error) {
	var out bytes.Buffer
	rootCmd.SetOut(&out)
	rootCmd.SetErr(&out)
	rootCmd.SetArgs(args)
	// Cobra hands the context to a subcommand only when it has none yet: reset it so that each
	// in-process run gets its own. Flags keep their values from one Execute to the next: reset
	// them too.
	var reset func(c *cobra.Command)
	reset = func(c *cobra.Command) {
		c.SetContext(ctx)
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if sv, ok := f.Value.(pflag.SliceValue); ok {
				sv.Replace(nil)
			} else {
				f.Value.Set(f.DefValue)
			}
			f.Changed = false
		})
		for _, sub := range c.Commands() {
			reset(sub)
		}
	}
	for _, c := range rootCmd.Commands() {
		reset(c)
	}
	err := rootCmd.ExecuteContext(ctx)
	return out.String(), err
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestServeAndAuditVerify drives `rai serve` and `rai audit verify` as a user would: a wrong
// sha256 refuses to start, a right one serves correct predictions, and the audit log it wrote
// verifies until a line is changed.
func TestServeAndAuditVerify(t *testing.T) {
	dir := t.TempDir()
	m := onnxwriter.LogisticRegression([]float32{0.5, -0.25}, 0.1)
	data, err := m.Marshal(onnxwriter.ModelInfo{})
	if err != nil {
		t.Fatal(err)
	}
	modelPath := filepath.Join(dir, "lr.onnx")
	if err := os.WriteFile(modelPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	digest := hex.EncodeToString(sum[:])
	auditPath := filepath.Join(dir, "audit.jsonl")

	_, err = runRai(context.Background(), "serve", "--model-uri", "file://"+modelPath, "--sha256", strings.Repeat("0", 64), "--port", fmt.Sprint(freePort(t)))
	if err == nil || !strings.Contains(err.Error(), "refusing to load it") {
		t.Fatalf("serve with a wrong sha256: %v", err)
	}

	port, grpcPort := freePort(t), freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := runRai(ctx, "serve", "--model-uri", "file://"+modelPath, "--sha256", digest, "--name", "lr",
			"--port", fmt.Sprint(port), "--grpc-port", fmt.Sprint(grpcPort), "--audit-log", auditPath, "--max-batch-size", "8", "--max-batch-delay", "1ms")
		done <- err
	}()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(20 * time.Second)
	for {
		// The probe paths of the operator's serving pods.
		resp, err := http.Get(base + contract.ReadinessPath)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("rai serve not ready: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if resp, err := http.Get(base + contract.LivenessPath); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %v %v", contract.LivenessPath, resp, err)
	} else {
		resp.Body.Close()
	}
	resp, err := http.Post(base+"/v2/models/lr/infer", "application/json",
		strings.NewReader(`{"id":"one","inputs":[{"name":"features","shape":[1,2],"datatype":"FP32","data":[2,4]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Outputs []struct{ Data []float64 } `json:"outputs"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if want := m.Predict([]float32{2, 4}); len(out.Outputs) != 1 || len(out.Outputs[0].Data) != 1 || abs(out.Outputs[0].Data[0]-want) > 1e-6 {
		t.Fatalf("prediction %+v, want %v", out, want)
	}
	// The same prediction over gRPC, on --grpc-port.
	conn, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", grpcPort), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	gr, err := inference.NewGRPCInferenceServiceClient(conn).ModelInfer(context.Background(), &inference.ModelInferRequest{
		ModelName: "lr", Id: "two", Inputs: []*inference.ModelInferRequest_InferInputTensor{{
			Name: "features", Datatype: "FP32", Shape: []int64{1, 2}, Contents: &inference.InferTensorContents{Fp32Contents: []float32{2, 4}}}}})
	if err != nil || len(gr.Outputs) != 1 || len(gr.Outputs[0].GetContents().GetFp32Contents()) != 1 ||
		gr.Outputs[0].GetContents().GetFp32Contents()[0] != float32(out.Outputs[0].Data[0]) {
		t.Fatalf("gRPC prediction %v, %v; REST's %v", gr, err, out.Outputs[0].Data)
	}
	cancel() // as SIGTERM does
	if err := <-done; err != nil {
		t.Fatalf("rai serve stopped with %v", err)
	}

	got, err := runRai(context.Background(), "audit", "verify", auditPath)
	if err != nil || !strings.HasPrefix(got, "ok: 2 entries") { // the REST and the gRPC prediction
		t.Fatalf("audit verify: %q, %v", got, err)
	}
	log, _ := os.ReadFile(auditPath)
	if err := os.WriteFile(auditPath, bytes.Replace(log, []byte(`"rows":1`), []byte(`"rows":2`), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := runRai(context.Background(), "audit", "verify", auditPath); err == nil || !strings.Contains(err.Error(), "line 1 (seq 1): entry changed") {
		t.Fatalf("audit verify of a changed log: %v", err)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// TestServeTextModel drives `rai serve` with a text classifier: the text flags reach the
// server (task, tokenizer pinned by digest, labels, max length) and a text is answered with its
// label and probabilities; misuses of the flags stop it with a message naming them.
func TestServeTextModel(t *testing.T) {
	dir := t.TempDir()
	spec := textmodeltest.NewClassifier(3)
	data, err := spec.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	modelPath := filepath.Join(dir, "clf.onnx")
	if err := os.WriteFile(modelPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	modelSum := sha256.Sum256(data)
	tokData, err := os.ReadFile("../../internal/text/bertbase/bert-base-uncased.json")
	if err != nil {
		t.Fatal(err)
	}
	tokPath := filepath.Join(dir, "tokenizer.json")
	if err := os.WriteFile(tokPath, tokData, 0o644); err != nil {
		t.Fatal(err)
	}
	tokSum := sha256.Sum256(tokData)
	args := func(port int, extra ...string) []string {
		return append([]string{"serve", "--model-uri", "file://" + modelPath, "--sha256", hex.EncodeToString(modelSum[:]),
			"--" + contract.FlagTask, contract.TaskTextClassification, "--" + contract.FlagTokenizer, "file://" + tokPath,
			"--" + contract.FlagTokenizerSHA256, hex.EncodeToString(tokSum[:]), "--port", fmt.Sprint(port)}, extra...)
	}
	for _, bad := range []struct {
		extra []string
		want  string
	}{
		{[]string{"--labels", "neg,,pos"}, `--labels "neg,,pos": label 1 is empty`},
		{[]string{"--labels", "a,b"}, `2 labels (the labels given: a,b), but the model's output "logits" has 3`},
		{[]string{"--monitoring"}, "monitoring (--monitoring) is not supported for text models"},
		{[]string{"--" + contract.FlagTask, contract.TaskBinaryClassification}, "a tokenizer given for a binary-classification model"},
	} {
		if _, err := runRai(context.Background(), args(freePort(t), bad.extra...)...); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("serve %v: %v, want %q", bad.extra, err, bad.want)
		}
	}

	port := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := runRai(ctx, args(port, "--labels", "neg, neu ,pos", "--"+contract.FlagMaxLength, "8")...)
		done <- err
	}()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + contract.ReadinessPath)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("rai serve not ready: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	post := func(s string) (int, map[string]any) {
		body, _ := json.Marshal(map[string]any{"inputs": []any{map[string]any{"name": "text", "datatype": "BYTES", "shape": []int{1}, "data": []string{s}}}})
		resp, err := http.Post(base+"/v2/models/model/infer", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	code, out := post("a fine film")
	tok, err := text.Parse(tokData)
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := tok.Encode("a fine film", text.Options{})
	want := spec.Reference(enc.IDs)
	outs, _ := out["outputs"].([]any)
	if code != http.StatusOK || len(outs) != 3 {
		t.Fatalf("answer %d %v", code, out)
	}
	probs := outs[2].(map[string]any)["data"].([]any)
	for j := range want {
		if abs(probs[j].(float64)-want[j]) > 1e-5 {
			t.Fatalf("probabilities %v, want %v", probs, want)
		}
	}
	best := 0
	for j := range want {
		if want[j] > want[best] {
			best = j
		}
	}
	if label := outs[0].(map[string]any)["data"].([]any)[0]; label != []string{"neg", "neu", "pos"}[best] {
		t.Fatalf("label %v, want the --labels name of label %d", label, best)
	}
	// --max-length 8: a 9-token text is refused.
	if code, out := post("one two three four five six seven"); code != http.StatusBadRequest || !strings.Contains(fmt.Sprint(out["error"]), "has 9 tokens") {
		t.Fatalf("a text over --max-length: %d %v", code, out)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("rai serve stopped with %v", err)
	}
}
