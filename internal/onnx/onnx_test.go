package onnx

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/responsible-ai/rmodel-operator/internal/onnxwriter"
)

// TestMain initialises onnxruntime from the repository's bin/onnxruntime (make onnxruntime) or
// $RAI_ONNXRUNTIME_LIB before the working directory changes in any test.
func TestMain(m *testing.M) {
	if err := Init(""); err != nil {
		println("onnx tests need onnxruntime:", err.Error())
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func randomRows(rng *rand.Rand, rows, features int) []float32 {
	x := make([]float32, rows*features)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 2)
	}
	return x
}

func loadMLP(t *testing.T, m onnxwriter.MLP, info onnxwriter.ModelInfo, opts Options) *Session {
	t.Helper()
	data, err := m.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Load(data, opts)
	if err != nil {
		t.Fatalf("load written model: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// checkPredictions compares onnxruntime's probabilities with the Go reference, row by row.
func checkPredictions(t *testing.T, m onnxwriter.MLP, x []float32, got []float32) {
	t.Helper()
	f := m.Features()
	rows := len(x) / f
	if len(got) != rows {
		t.Fatalf("got %d probabilities for %d rows", len(got), rows)
	}
	for r := 0; r < rows; r++ {
		want := m.Predict(x[r*f : (r+1)*f])
		if d := math.Abs(float64(got[r]) - want); d > 1e-5 || math.IsNaN(float64(got[r])) {
			t.Fatalf("row %d: onnxruntime %v, Go reference %v (|diff| %g > 1e-5)", r, got[r], want, d)
		}
	}
}

func TestWrittenModelsMatchGoReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := map[string]onnxwriter.MLP{
		"logistic regression": onnxwriter.LogisticRegression([]float32{0.8, -1.5, 0.25, 0, 2}, -0.3),
		"mlp 2x16":            onnxwriter.RandomMLP(rng.Float64, 7, 16, 16),
		"mlp 3 layers":        onnxwriter.RandomMLP(rng.Float64, 20, 64, 32, 8),
	}
	for name, m := range cases {
		t.Run(name, func(t *testing.T) {
			s := loadMLP(t, m, onnxwriter.ModelInfo{}, Options{IntraOpThreads: 1})
			for _, rows := range []int{1, 3, 257} {
				x := randomRows(rng, rows, m.Features())
				outs, err := s.Run(x, rows)
				if err != nil {
					t.Fatal(err)
				}
				if len(outs) != 1 || outs[0].Name != onnxwriter.OutputName || outs[0].DataType != FP32 {
					t.Fatalf("outputs %+v, want one FP32 %q", outs, onnxwriter.OutputName)
				}
				if want := []int64{int64(rows), 1}; !equalShape(outs[0].Shape, want) {
					t.Fatalf("output shape %v, want %v", outs[0].Shape, want)
				}
				checkPredictions(t, m, x, outs[0].Data.([]float32))
			}
		})
	}
}

func equalShape(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSessionDescribesModel(t *testing.T) {
	m := onnxwriter.LogisticRegression([]float32{1, 2, 3}, 0)
	info := onnxwriter.ModelInfo{
		GraphName: "credit", ProducerName: "rai-test", ProducerVersion: "0.1", ModelVersion: 7,
		DocString: "test model",
		Metadata:  map[string]string{"features": "age,income,debt", "favorable_label": "1"},
	}
	s := loadMLP(t, m, info, Options{})
	in, out := s.Inputs(), s.Outputs()
	if len(in) != 1 || in[0].Name != "features" || in[0].DataType != FP32 || !equalShape(in[0].Shape, []int64{-1, 3}) {
		t.Errorf("inputs %+v, want features FP32 [-1 3]", in)
	}
	if len(out) != 1 || out[0].Name != "probability" || out[0].DataType != FP32 || !equalShape(out[0].Shape, []int64{-1, 1}) {
		t.Errorf("outputs %+v, want probability FP32 [-1 1]", out)
	}
	md := s.Metadata()
	if md.ProducerName != "rai-test" || md.GraphName != "credit" || md.Version != 7 || md.Description != "test model" {
		t.Errorf("metadata %+v", md)
	}
	if len(md.Custom) != 2 || md.Custom["features"] != "age,income,debt" || md.Custom["favorable_label"] != "1" {
		t.Errorf("custom metadata %v", md.Custom)
	}
	if s.Device() != DeviceCPU {
		t.Errorf("device %q, want cpu", s.Device())
	}
}

func TestModelWithoutVersionHasVersionZero(t *testing.T) {
	s := loadMLP(t, onnxwriter.LogisticRegression([]float32{1}, 0), onnxwriter.ModelInfo{}, Options{})
	if v := s.Metadata().Version; v != 0 {
		t.Fatalf("version %d, want 0 for a model without model_version", v)
	}
}

func TestRunnerMatchesReferenceAndReusesBuffers(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	m := onnxwriter.RandomMLP(rng.Float64, 20, 64, 64)
	s := loadMLP(t, m, onnxwriter.ModelInfo{}, Options{IntraOpThreads: 1})
	r, err := s.NewRunner(4096)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.RowSize() != 20 || len(r.OutputRowSizes()) != 1 || r.OutputRowSizes()[0] != 1 {
		t.Fatalf("row size %d, output row sizes %v", r.RowSize(), r.OutputRowSizes())
	}
	for _, rows := range []int{4096, 1, 1000, 4096} {
		x := randomRows(rng, rows, 20)
		outs, err := r.Run(x, rows)
		if err != nil {
			t.Fatal(err)
		}
		checkPredictions(t, m, x, outs[0])
	}
	// Filling Input in place gives the same result as passing a copy.
	x := randomRows(rng, 10, 20)
	copy(r.Input(10), x)
	outs, err := r.Run(r.Input(10), 10)
	if err != nil {
		t.Fatal(err)
	}
	checkPredictions(t, m, x, outs[0])

	allocs := testing.AllocsPerRun(50, func() {
		if _, err := r.Run(x, 10); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Runner.Run allocates %v times per call, want 0", allocs)
	}

	if _, err := r.Run(x, 4097); err == nil || !strings.Contains(err.Error(), "1 to 4096") {
		t.Errorf("4097 rows: error %v, want a range error", err)
	}
	if _, err := r.Run(x[:19], 1); err == nil || !strings.Contains(err.Error(), "19 values") {
		t.Errorf("short input: error %v", err)
	}
}

func TestRunnersInParallelShareASession(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	m := onnxwriter.RandomMLP(rng.Float64, 12, 32)
	s := loadMLP(t, m, onnxwriter.ModelInfo{}, Options{IntraOpThreads: 1})
	inputs := make([][]float32, 4)
	for i := range inputs {
		inputs[i] = randomRows(rng, 300, 12)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(inputs))
	results := make([][]float32, len(inputs))
	for g := range inputs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.NewRunner(300)
			if err != nil {
				errs[g] = err
				return
			}
			defer r.Close()
			for range 20 {
				outs, err := r.Run(inputs[g], 300)
				if err != nil {
					errs[g] = err
					return
				}
				results[g] = append(results[g][:0], outs[0]...)
			}
		}()
	}
	wg.Wait()
	for g := range inputs {
		if errs[g] != nil {
			t.Fatal(errs[g])
		}
		checkPredictions(t, m, inputs[g], results[g])
	}
}

func TestRunRejectsBadInput(t *testing.T) {
	s := loadMLP(t, onnxwriter.LogisticRegression([]float32{1, 2}, 0), onnxwriter.ModelInfo{}, Options{})
	if _, err := s.Run([]float32{1, 2, 3}, 2); err == nil || !strings.Contains(err.Error(), "3 values for 2 rows of 2") {
		t.Errorf("error %v", err)
	}
	if _, err := s.Run(nil, 0); err == nil {
		t.Error("0 rows accepted")
	}
	if _, err := Load([]byte("not a model"), Options{}); err == nil {
		t.Error("garbage loaded as a model")
	}
}

func TestCUDAUnavailableIsAClearError(t *testing.T) {
	if _, err := os.Stat("/dev/nvidia0"); err == nil {
		t.Skip("an NVIDIA GPU is present: TestCUDARunsOnGPU covers CUDA")
	}
	data, err := onnxwriter.LogisticRegression([]float32{1}, 0).Marshal(onnxwriter.ModelInfo{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Load(data, Options{Device: DeviceCUDA})
	if !errors.Is(err, ErrCUDAUnavailable) {
		t.Fatalf("Load on cuda without a GPU: %v, want ErrCUDAUnavailable", err)
	}
	if !strings.Contains(err.Error(), "make onnxruntime-cuda") {
		t.Errorf("error %q does not say what to do", err)
	}
}

func TestCUDARunsOnGPU(t *testing.T) {
	if _, err := os.Stat("/dev/nvidia0"); err != nil {
		t.Skip("no NVIDIA GPU")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	m := onnxwriter.RandomMLP(rng.Float64, 20, 64, 64)
	s := loadMLP(t, m, onnxwriter.ModelInfo{}, Options{Device: DeviceCUDA})
	r, err := s.NewRunner(1024)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	x := randomRows(rng, 1024, 20)
	outs, err := r.Run(x, 1024)
	if err != nil {
		t.Fatal(err)
	}
	checkPredictions(t, m, x, outs[0])
}

func TestParseDevice(t *testing.T) {
	for in, want := range map[string]Device{"": DeviceCPU, "cpu": DeviceCPU, "cuda": DeviceCUDA} {
		if got, err := ParseDevice(in); err != nil || got != want {
			t.Errorf("ParseDevice(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseDevice("gpu"); err == nil || !strings.Contains(err.Error(), "cpu or cuda") {
		t.Errorf("ParseDevice(gpu): %v", err)
	}
}

func TestFindLibrary(t *testing.T) {
	t.Setenv(LibraryEnv, "")
	dir := t.TempDir()
	t.Chdir(dir)

	_, err := FindLibrary("")
	if !errors.Is(err, ErrLibraryNotFound) || !strings.Contains(err.Error(), "run make onnxruntime or set RAI_ONNXRUNTIME_LIB") {
		t.Fatalf("nothing to find: %v", err)
	}
	if _, err := FindLibrary(filepath.Join(dir, "missing.so")); !errors.Is(err, ErrLibraryNotFound) || !strings.Contains(err.Error(), "missing.so") {
		t.Errorf("explicit missing path: %v", err)
	}
	t.Setenv(LibraryEnv, filepath.Join(dir, "env-missing.so"))
	if _, err := FindLibrary(""); err == nil || !strings.Contains(err.Error(), "$RAI_ONNXRUNTIME_LIB") {
		t.Errorf("env missing path: %v", err)
	}

	// The search walks up from a subdirectory to the repository root (the directory with go.mod).
	t.Setenv(LibraryEnv, "")
	lib := filepath.Join(dir, "bin", "onnxruntime", "libonnxruntime.so.1")
	for _, p := range []string{lib, filepath.Join(dir, "go.mod")} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sub := filepath.Join(dir, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(sub)
	got, err := FindLibrary("")
	if err != nil || got != lib {
		t.Errorf("search from %s: %q, %v; want %q", sub, got, err, lib)
	}
	t.Setenv(LibraryEnv, lib)
	if got, err := FindLibrary(""); err != nil || got != lib {
		t.Errorf("env: %q, %v", got, err)
	}
}

// TestInitTurnsTelemetryOff: Init (run by TestMain) leaves onnxruntime's
// telemetry off, so it writes nothing under $HOME and needs no
// /etc/machine-id (without one, in a distroless pod, it crashed rai).
func TestInitTurnsTelemetryOff(t *testing.T) {
	if os.Getenv("ORT_DISABLE_TELEMETRY") == "" {
		t.Fatalf("ORT_DISABLE_TELEMETRY is %q after Init, want 1", os.Getenv("ORT_DISABLE_TELEMETRY"))
	}
}
