package onnx_test

import (
	"fmt"

	"github.com/responsible-ai/rmodel-operator/internal/onnx"
	"github.com/responsible-ai/rmodel-operator/internal/onnxwriter"
)

// A binary classifier written by onnxwriter, loaded and run in batches with a reusable Runner: the
// pattern for evaluations, with one Runner per goroutine.
func Example() {
	model, err := onnxwriter.LogisticRegression([]float32{1, -1}, 0).Marshal(onnxwriter.ModelInfo{
		Metadata: map[string]string{"favorable_label": "1"},
	})
	if err != nil {
		panic(err)
	}
	sess, err := onnx.Load(model, onnx.Options{IntraOpThreads: 1})
	if err != nil {
		panic(err) // e.g. "onnxruntime library not found: run make onnxruntime or set RAI_ONNXRUNTIME_LIB"
	}
	defer sess.Close()
	fmt.Println(sess.Inputs()[0].Name, sess.Inputs()[0].Shape, sess.Outputs()[0].Name, sess.Metadata().Custom["favorable_label"])

	runner, err := sess.NewRunner(4096) // batches of up to 4096 rows
	if err != nil {
		panic(err)
	}
	defer runner.Close()
	outs, err := runner.Run([]float32{2, 0, 0, 2, 1, 1}, 3) // 3 rows of 2 features
	if err != nil {
		panic(err)
	}
	fmt.Printf("P(favorable) = %.4f\n", outs[0]) // outs[0] is "probability", one value per row
	// Output:
	// features [-1 2] probability 1
	// P(favorable) = [0.8808 0.1192 0.5000]
}
