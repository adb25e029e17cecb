package serving

import (
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/responsible-ai/rmodel-operator/internal/onnx"
	"github.com/responsible-ai/rmodel-operator/internal/onnxwriter"
)

// BenchmarkExecutor compares, without HTTP, one-row inferences from 64 goroutines through the
// batcher and through the unbatched pool: what dynamic batching saves on onnxruntime's side.
func BenchmarkExecutor(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	data, err := onnxwriter.RandomMLP(rng.Float64, 20, 64, 64).Marshal(onnxwriter.ModelInfo{})
	if err != nil {
		b.Fatal(err)
	}
	sess, err := onnx.Load(data, onnx.Options{IntraOpThreads: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer sess.Close()
	row := make([]float32, 20)
	var runs, rows atomic.Int64
	observe := func(n int) { runs.Add(1); rows.Add(int64(n)) }
	for name, mk := range map[string]func() (executor, error){
		"pool":    func() (executor, error) { return newPool(sess, 0, 1024, observe) },
		"batcher": func() (executor, error) { return newBatcher(sess, 64, 2*time.Millisecond, observe) },
	} {
		b.Run(name, func(b *testing.B) {
			runs.Store(0)
			rows.Store(0)
			ex, err := mk()
			if err != nil {
				b.Fatal(err)
			}
			defer ex.close()
			b.SetParallelism(32) // 64 goroutines on 2 CPUs
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					ex.arrive()
					if _, err := ex.infer(row, 1); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(rows.Load())/float64(max(runs.Load(), 1)), "rows/run")
		})
	}
}
