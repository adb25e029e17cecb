package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/responsible-ai/rmodel-operator/internal/contract"
	"github.com/responsible-ai/rmodel-operator/internal/monitoring"
	"github.com/responsible-ai/rmodel-operator/internal/onnxwriter"
)

// creditRow draws one applicant: region_score tracks sex; shift moves region_score.
func creditRow(rng *rand.Rand, shift float64) (row []float32, sex string, label int) {
	sex = "male"
	s := 0.5
	if rng.IntN(2) == 0 {
		sex, s = "female", -0.5
	}
	row = []float32{float32(rng.NormFloat64()), float32(math.Abs(rng.NormFloat64())), float32(s + 0.3*rng.NormFloat64() + shift)}
	if rng.Float64() < 0.6 {
		label = 1
	}
	return row, sex, label
}

// TestMonitorReferenceServeAndCompare runs the pieces the operator joins: `rai monitor
// reference` on evaluation data, `rai serve --monitoring` answering traffic drawn from the same
// distribution and then shifted traffic, FetchWindow and Compare.
func TestMonitorReferenceServeAndCompare(t *testing.T) {
	dir := t.TempDir()
	names := []string{"income", "debt", "region_score"}
	rng := rand.New(rand.NewPCG(50, 51))
	mlp := onnxwriter.RandomMLP(rng.Float64, len(names), 8)
	model, err := mlp.Marshal(onnxwriter.ModelInfo{Metadata: map[string]string{"rai.features": strings.Join(names, ",")}})
	if err != nil {
		t.Fatal(err)
	}
	modelPath := filepath.Join(dir, "model.onnx")
	os.WriteFile(modelPath, model, 0o644)
	sum := sha256.Sum256(model)
	digest := hex.EncodeToString(sum[:])

	// The evaluation data; the sensitive column comes before the features, the label last.
	var csv strings.Builder
	csv.WriteString("sex,income,debt,region_score,label\n")
	type count struct{ n, pos, labelPos, tp int64 }
	want := map[string]*count{"female": {}, "male": {}}
	const rows = 3000
	for range rows {
		row, sex, label := creditRow(rng, 0)
		fmt.Fprintf(&csv, "%s,%v,%v,%v,%d\n", sex, row[0], row[1], row[2], label)
		c := want[sex]
		c.n++
		p := mlp.Predict(row) >= 0.5
		if p {
			c.pos++
		}
		if label == 1 {
			c.labelPos++
			if p {
				c.tp++
			}
		}
	}
	dataPath := filepath.Join(dir, "eval.csv")
	os.WriteFile(dataPath, []byte(csv.String()), 0o644)
	refPath, termPath := filepath.Join(dir, "reference.json"), filepath.Join(dir, "termination-log")
	out, err := runRai(context.Background(), "monitor", "reference", "--model", modelPath, "--sha256", digest, "--model-name", "credit",
		"--data", dataPath, "--label", "label", "--sensitive", "sex", "--out", refPath, "--termination-log", termPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "reference: 3000 rows, 3 features, 2 groups") {
		t.Errorf("output %q", out)
	}
	raw, _ := os.ReadFile(refPath)
	compact, _ := os.ReadFile(termPath)
	var d monitoring.ReferenceDigest
	if err := json.Unmarshal(compact, &d); err != nil || len(compact) > 4096 || d.Bytes != len(raw) || d.Model.SHA256 != digest || d.Features != 3 {
		t.Fatalf("termination log %s (%v)", compact, err)
	}
	parsed, err := monitoring.ParseReference(raw, d.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	ref := *parsed
	if _, err := monitoring.ParseReference(append(raw, ' '), d.SHA256); err == nil || !strings.Contains(err.Error(), "not the recorded") {
		t.Errorf("a changed reference: %v", err)
	}
	if ref.Model.SHA256 != digest || ref.Dataset.Rows != rows || ref.Features[2].Name != "region_score" || ref.Features[0].Count != rows || len(ref.Groups) != 2 {
		t.Fatalf("reference %+v", ref)
	}
	for _, g := range ref.Groups {
		c := want[g.Name]
		if g.Count != c.n || g.Positives != c.pos || g.LabelPositives != c.labelPos || g.TP != c.tp {
			t.Errorf("group %s: %+v, want %+v", g.Name, g, *c)
		}
	}
	if _, err := runRai(context.Background(), "monitor", "reference", "--model", modelPath, "--sha256", strings.Repeat("0", 64), "--data", dataPath, "--label", "label"); err == nil || !strings.Contains(err.Error(), "sha256 mismatch") {
		t.Errorf("a wrong model digest: %v", err)
	}

	if _, err := runRai(context.Background(), "serve", "--model-uri", "file://"+modelPath, "--sha256", digest, "--monitoring-window", "30s"); err == nil || !strings.Contains(err.Error(), "--monitoring-window given without --monitoring") {
		t.Errorf("a monitoring flag without --monitoring: %v", err)
	}
	port := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := runRai(ctx, "serve", "--model-uri", "file://"+modelPath, "--sha256", digest, "--name", "credit", "--port", fmt.Sprint(port),
			"--monitoring", "--monitoring-window", "1h", "--monitoring-windows", "2")
		done <- err
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("rai serve: %v", err)
		}
	}()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if resp, err := http.Get(base + contract.ReadinessPath); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("rai serve not ready")
		}
	}
	send := func(n int, shift float64) {
		for range n / 50 {
			var data [][]float32
			var groups []string
			for range 50 {
				row, sex, _ := creditRow(rng, shift)
				data, groups = append(data, row), append(groups, sex)
			}
			body, _ := json.Marshal(map[string]any{"parameters": map[string]any{"group": groups},
				"inputs": []any{map[string]any{"name": "features", "shape": []int{50, 3}, "datatype": "FP32", "data": data}}})
			resp, err := http.Post(base+"/v2/models/credit/infer", "application/json", strings.NewReader(string(body)))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("infer: %d", resp.StatusCode)
			}
		}
	}
	compare := func() *monitoring.Report {
		snap, err := monitoring.FetchWindow(ctx, nil, base, "credit", 0)
		if err != nil {
			t.Fatal(err)
		}
		live, err := monitoring.Merge(snap)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := monitoring.Compare(&ref, live, monitoring.CompareOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	send(1500, 0)
	rep := compare()
	for _, f := range rep.Drift.Features {
		if f.Status != monitoring.StatusOK || *f.PSI > 0.1 || f.KS.PValueHolm < 0.01 {
			t.Errorf("traffic like the evaluation data: %s PSI %v, Holm p %v (%s)", f.Name, f.PSI, f.KS, f.Reason)
		}
	}
	dp := rep.Fairness.DemographicParityDifference
	if dp.Status != monitoring.StatusOK || dp.GroupsCompared != 2 {
		t.Errorf("live demographic parity %+v", dp)
	}
	send(1500, 1.5)
	rep = compare()
	if rep.Drift.WorstPSI.Feature != "region_score" || rep.Drift.WorstKS.Feature != "region_score" || *rep.Drift.WorstKS.PValueHolm > 1e-6 || rep.Drift.WorstPSI.Value < 0.25 {
		t.Errorf("shifted traffic: worst %v, %v", rep.Drift.WorstPSI, rep.Drift.WorstKS)
	}
	t.Log(rep.Headline())
}
