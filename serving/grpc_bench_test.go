package serving

import (
	"context"
	"testing"
	"time"
)

// BenchmarkGRPCInfer sends one-row raw_input_contents requests from 64 goroutines to a real
// server over loopback gRPC (client and server in this process; -cpuprofile shows both), batched
// and not: go test -run XXX -bench GRPCInfer -cpuprofile cpu.out ./serving/
func BenchmarkGRPCInfer(b *testing.B) {
	for _, batch := range []int{1, 64} {
		b.Run(map[int]string{1: "unbatched", 64: "batched"}[batch], func(b *testing.B) {
			_, uri, sum := testModel(b, 20)
			_, c := startGRPCServer(b, Config{ModelURI: uri, SHA256: sum, Name: "credit", MaxBatchSize: batch, MaxBatchDelay: 2 * time.Millisecond})
			req := rawRequest("bench", [][]float32{make([]float32, 20)})
			b.SetParallelism(32) // 64 goroutines on 2 CPUs
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := c.ModelInfer(context.Background(), req); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
