package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os/signal"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/responsible-ai/rmodel-operator/internal/onnxwriter"
	"github.com/responsible-ai/rmodel-operator/serving"
	"github.com/responsible-ai/rmodel-operator/serving/inference"
)

// The floor: a no-op server on the same stack as rai serve (net/http with rai's limits for REST,
// grpc-go for gRPC), asked by the same clients with the same requests, whose handlers answer a
// fixed response of the same shape without decoding the request or running inference. rai's
// throughput as a fraction of it is the share of the transport that serving leaves.

// serveNoop runs the no-op server (the child with -noop) and prints its REST and gRPC addresses.
func serveNoop() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	gln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	answer := []byte(`{"model_name":"model","model_version":"1","id":"bench","outputs":[{"name":"probability","shape":[1,1],"datatype":"FP32","data":[0.5]}]}`)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v2/models/model/infer", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(answer)
	})
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: serving.DefaultReadHeaderTimeout, ReadTimeout: serving.DefaultReadTimeout,
		WriteTimeout: serving.DefaultWriteTimeout, IdleTimeout: serving.DefaultIdleTimeout, MaxHeaderBytes: serving.DefaultMaxHeaderBytes}
	gs := grpc.NewServer(grpc.MaxRecvMsgSize(16 << 20))
	inference.RegisterGRPCInferenceServiceServer(gs, noopGRPC{})
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	go hs.Serve(ln)
	go gs.Serve(gln)
	fmt.Println(ln.Addr().String(), gln.Addr().String())
	<-ctx.Done()
	gs.Stop()
	return hs.Close()
}

type noopGRPC struct {
	inference.UnimplementedGRPCInferenceServiceServer
}

func (noopGRPC) ModelInfer(_ context.Context, r *inference.ModelInferRequest) (*inference.ModelInferResponse, error) {
	return &inference.ModelInferResponse{ModelName: "model", ModelVersion: "1", Id: r.GetId(),
		Outputs:           []*inference.ModelInferResponse_InferOutputTensor{{Name: "probability", Datatype: "FP32", Shape: []int64{1, 1}}},
		RawOutputContents: [][]byte{{0, 0, 0, 0x3f}}}, nil
}

// grpcClients are conns gRPC connections used round-robin (one HTTP/2 connection serialises its
// frames; a few let concurrent requests spread).
type grpcClients struct {
	conns   []*grpc.ClientConn
	clients []inference.GRPCInferenceServiceClient
	next    atomic.Uint64
}

func dialGRPC(addr string, conns int) (*grpcClients, error) {
	g := &grpcClients{}
	for range conns {
		c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			g.close()
			return nil, err
		}
		g.conns = append(g.conns, c)
		g.clients = append(g.clients, inference.NewGRPCInferenceServiceClient(c))
	}
	return g, nil
}

func (g *grpcClients) infer(req *inference.ModelInferRequest) error {
	c := g.clients[g.next.Add(1)%uint64(len(g.clients))]
	resp, err := c.ModelInfer(context.Background(), req)
	if err != nil {
		return err
	}
	if len(resp.GetRawOutputContents()) != 1 {
		return fmt.Errorf("gRPC answer without raw output")
	}
	return nil
}

func (g *grpcClients) close() {
	for _, c := range g.conns {
		c.Close()
	}
}

// throughputOf runs call from concurrency goroutines for d (after a ramp-up of d/5) and returns
// calls per second.
func throughputOf(call func() error, concurrency int, d time.Duration) (float64, error) {
	var done atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := call(); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				done.Add(1)
			}
		}()
	}
	time.Sleep(d / 5)
	start, n0 := time.Now(), done.Load()
	time.Sleep(d)
	n1, elapsed := done.Load(), time.Since(start)
	close(stop)
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return 0, err
	}
	return float64(n1-n0) / elapsed.Seconds(), nil
}

// overheadOf pairs n calls with a bare Run just before each and returns the calls' latencies and
// the per-pair differences.
func overheadOf(call func() error, n int, bareRun func() (time.Duration, error)) (lat, over []time.Duration, err error) {
	for i := -200; i < n; i++ {
		b, err := bareRun()
		if err != nil {
			return nil, nil, err
		}
		t0 := time.Now()
		if err := call(); err != nil {
			return nil, nil, err
		}
		if i >= 0 {
			d := time.Since(t0)
			lat, over = append(lat, d), append(over, d-b)
		}
	}
	return lat, over, nil
}

// grpcFloor measures REST/JSON and gRPC (raw_input_contents), unbatched and batched, against the
// no-op floor: throughput at concurrency 1 and 64, and the p50 overhead over a bare Run at
// concurrency 1. Every server is up for the whole section; each is measured in turn.
func grpcFloor(modelPath, digest, device string, body []byte, row []float32, duration time.Duration, n, maxBatch int, maxDelay time.Duration, bareRun func() (time.Duration, error)) error {
	unbatched, err := startChild(modelPath, digest, device, 1, 0, "", false, "-grpc")
	if err != nil {
		return err
	}
	defer unbatched.stop()
	batched, err := startChild(modelPath, digest, device, maxBatch, maxDelay, "", false, "-grpc")
	if err != nil {
		return err
	}
	defer batched.stop()
	noop, err := startChild(modelPath, digest, device, 1, 0, "", false, "-noop")
	if err != nil {
		return err
	}
	defer noop.stop()

	raw := make([]byte, 0, 4*len(row))
	for _, f := range row {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(f))
	}
	req := &inference.ModelInferRequest{ModelName: "model", Id: "bench",
		Inputs: []*inference.ModelInferRequest_InferInputTensor{{
			Name: onnxwriter.InputName, Datatype: "FP32", Shape: []int64{1, int64(len(row))}}},
		RawInputContents: [][]byte{raw}}
	httpClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxIdleConns: 256}}
	type target struct {
		name string
		call func() error
	}
	var targets []target
	for _, s := range []struct {
		name string
		c    *child
	}{{"no-op floor", noop}, {"rai unbatched", unbatched}, {fmt.Sprintf("rai batched (%d, %s)", maxBatch, maxDelay), batched}} {
		url := s.c.url + "/v2/models/model/infer"
		targets = append(targets, target{"REST/JSON, " + s.name, func() error { return post(httpClient, url, body) }})
	}
	for _, s := range []struct {
		name string
		c    *child
	}{{"no-op floor", noop}, {"rai unbatched", unbatched}, {fmt.Sprintf("rai batched (%d, %s)", maxBatch, maxDelay), batched}} {
		g, err := dialGRPC(s.c.grpcAddr, 4)
		if err != nil {
			return err
		}
		defer g.close()
		targets = append(targets, target{"gRPC raw, " + s.name, func() error { return g.infer(req) }})
	}
	// Rounds: every target is measured in each round, in turn, and its median over the rounds
	// taken, so that a change in the machine's load (other processes) moves every target alike.
	const rounds = 5
	concurrencies := []int{1, 64}
	samples := make([]map[int][]float64, len(targets))
	lats := make([][]time.Duration, len(targets))
	overs := make([][]time.Duration, len(targets))
	for i := range targets {
		samples[i] = map[int][]float64{}
	}
	for range rounds {
		for i, t := range targets {
			for _, c := range concurrencies {
				v, err := throughputOf(t.call, c, duration/rounds)
				if err != nil {
					return fmt.Errorf("%s: %w", t.name, err)
				}
				samples[i][c] = append(samples[i][c], v)
			}
			lat, over, err := overheadOf(t.call, n/rounds, bareRun)
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			lats[i], overs[i] = append(lats[i], lat...), append(overs[i], over...)
		}
	}
	tput := make([]map[int]float64, len(targets))
	p50 := make([]time.Duration, len(targets))
	over50 := make([]time.Duration, len(targets))
	for i := range targets {
		tput[i] = map[int]float64{}
		for _, c := range concurrencies {
			s := slices.Clone(samples[i][c])
			slices.Sort(s)
			tput[i][c] = s[len(s)/2]
		}
		p50[i], over50[i] = percentile(lats[i], 50), percentile(overs[i], 50)
	}
	fmt.Printf("\nREST/JSON and gRPC (raw_input_contents, 4 connections) against the no-op floor: the same server stacks and clients, handlers that answer a fixed response without decoding or inference. %d rounds, each measuring every server in turn: %d requests at concurrency 1 (each paired with a bare Run) and %s at each concurrency; medians over the rounds.\n\n", rounds, n/rounds, duration/rounds)
	fmt.Println("| server | req/s at concurrency 1 | req/s at concurrency 64 | p50 at concurrency 1 | p50 overhead over bare Run | fraction of its floor at 64 |")
	fmt.Println("|---|---|---|---|---|---|")
	for i, t := range targets {
		floor := tput[i/3*3][64]
		overhead := us(over50[i])
		if i%3 == 0 {
			overhead = "— (no Run)"
		}
		fmt.Printf("| %s | %.0f | %.0f | %s | %s | %.2f |\n", t.name, tput[i][1], tput[i][64], us(p50[i]), overhead, tput[i][64]/floor)
	}
	const restUnbatched, restBatched, grpcNoop, grpcUnbatched, grpcBatched = 1, 2, 3, 4, 5
	at := func(i int) float64 { return tput[i][64] }
	best := max(at(grpcUnbatched), at(grpcBatched))
	fmt.Printf("\nAt concurrency 64: gRPC over REST/JSON %.2f× unbatched, %.2f× batched, %.2f× best gRPC over unbatched REST/JSON; gRPC batched %.2f× unbatched; rai over gRPC %.2f× its no-op floor (best of the two); p50 overhead over bare Run at concurrency 1 over gRPC: %s unbatched, %s batched (the floor's own p50: %s). Load average after: %s\n",
		at(grpcUnbatched)/at(restUnbatched), at(grpcBatched)/at(restBatched), best/at(restUnbatched), at(grpcBatched)/at(grpcUnbatched), best/at(grpcNoop),
		us(over50[grpcUnbatched]), us(over50[grpcBatched]), us(p50[grpcNoop]), loadAverage())
	return nil
}
