package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/responsible-ai/rmodel-operator/internal/evaluation/robustness"
	"github.com/responsible-ai/rmodel-operator/internal/report"
)

// RobustnessConfig are the inputs of `rai evaluate robustness`.
type RobustnessConfig struct {
	Common
	Label, Favorable string
	Threshold        float64
	Sigma            float64
	N0, N            int
	Alpha            float64
	Radii            []float64
	Seed             uint64
	// AttackRows is how many rows the decision-based attack runs on: the
	// first AttackRows rows of the file (with --shard, those of them in the
	// shard, so merged shards attack the same rows as one pass);
	// AttackQueries is its budget per row.
	AttackRows, AttackQueries int
}

// RobustnessCounts are the additive tallies behind the metrics; shards
// merge by adding them (and concatenating the attack norms).
type RobustnessCounts struct {
	Rows         int64 `json:"rows"`
	CleanCorrect int64 `json:"clean_correct"`
	NoiseCorrect int64 `json:"noise_correct_samples"`
	NoiseSamples int64 `json:"noise_samples"`
	Abstain      int64 `json:"abstain"`
	// RadiusNanos is the sum of the certified radii of correctly
	// certified rows in units of 1e-9: an integer, so shard sums add up
	// to exactly the one-pass sum.
	RadiusNanos      int64   `json:"certified_radius_sum_nanos"`
	CertifiedCorrect []int64 `json:"certified_correct"`
	AttackRows       int64   `json:"attack_rows"`
	AttackSuccess    []int64 `json:"attack_success"`
	// AttackNorms are the perturbation norms found, one per attacked row
	// (null when the budget ran out first).
	AttackNorms []Num `json:"attack_norms"`
}

// RadiusResult is one entry of details.radii.
type RadiusResult struct {
	Radius            float64 `json:"radius"`
	CertifiedAccuracy Num     `json:"certified_accuracy"`
	AttackSuccessRate Num     `json:"attack_success_rate"`
	// MedianPerturbationNorm is the median over attacked rows of the
	// smallest adversarial perturbation found (the same for every radius;
	// repeated here so each entry reads on its own).
	MedianPerturbationNorm Num `json:"median_perturbation_norm"`
}

// RobustnessDetails is details for kind robustness.
type RobustnessDetails struct {
	Radii  []RadiusResult   `json:"radii"`
	Counts RobustnessCounts `json:"counts"`
}

// EvaluateRobustness certifies every row with randomized smoothing and
// attacks the first AttackRows rows.
func EvaluateRobustness(ctx context.Context, cfg RobustnessConfig) (*report.Report, error) {
	return run(report.KindRobustness, cfg.Common, func(rep *report.Report) error { return evaluateRobustness(ctx, cfg, rep) })
}

func evaluateRobustness(ctx context.Context, cfg RobustnessConfig, rep *report.Report) error {
	switch {
	case cfg.Label == "":
		return fmt.Errorf("--label is required")
	case !(cfg.Sigma > 0) || math.IsInf(cfg.Sigma, 0):
		return fmt.Errorf("--sigma %v must be a positive number", cfg.Sigma)
	case cfg.N0 < 1 || cfg.N < 1:
		return fmt.Errorf("--n0 %d and --n %d must be positive", cfg.N0, cfg.N)
	case !(cfg.Alpha > 0 && cfg.Alpha < 1):
		return fmt.Errorf("--alpha %v must be in (0, 1)", cfg.Alpha)
	}
	for _, r := range cfg.Radii {
		if !(r >= 0) || math.IsInf(r, 0) {
			return fmt.Errorf("--radii: %v is not a radius (a number ≥ 0)", r)
		}
	}
	if cfg.Favorable == "" {
		cfg.Favorable = "1"
	}
	p := rep.Parameters
	p["label"], p["favorable"] = cfg.Label, cfg.Favorable
	p["threshold"] = strconv.FormatFloat(cfg.Threshold, 'g', -1, 64)
	p["sigma"] = strconv.FormatFloat(cfg.Sigma, 'g', -1, 64)
	p["n0"], p["n"] = strconv.Itoa(cfg.N0), strconv.Itoa(cfg.N)
	p["alpha"] = strconv.FormatFloat(cfg.Alpha, 'g', -1, 64)
	p["radii"] = joinFloats(cfg.Radii)
	p["seed"] = strconv.FormatUint(cfg.Seed, 10)
	p["attack"] = fmt.Sprintf("decision-based (HopSkipJump-style), %d rows, %d queries each", cfg.AttackRows, cfg.AttackQueries)

	in, err := openLabelled(cfg.Common, cfg.Label)
	if err != nil {
		return err
	}
	defer in.Close()
	m, r, features, dataDigest := in.Model, in.Data, in.Features, in.DataSHA256
	rep.Model.SHA256 = m.SHA256

	// The rows of this shard, in memory: certification costs n0 + n model
	// calls per row, so the data is small next to the work.
	f := len(features)
	var xs []float32
	var ids []int64
	var labels []int8
	var fav []bool
	if _, err := Stream(ctx, r, nil, 1, cfg.Shard, func(w *Work) error {
		d := r.Dict(0)
		for len(fav) < len(d) {
			fav = append(fav, IsFavorable(d[len(fav)], cfg.Favorable))
		}
		xs = append(xs, w.Features[:w.Rows*f]...)
		for i, c := range w.Codes[0] {
			ids = append(ids, w.FirstRow-1+int64(i))
			if fav[c] {
				labels = append(labels, 1)
			} else {
				labels = append(labels, 0)
			}
		}
		return nil
	}, func(int, *Work) error { return nil }); err != nil {
		return err
	}
	rows := len(ids)
	if rows == 0 && cfg.Shard.Count <= 1 {
		return fmt.Errorf("%s: no data rows", cfg.DataPath)
	}
	rep.Dataset = &report.Dataset{SHA256: dataDigest, Rows: int64(rows)}

	workers := cfg.Workers
	if workers <= 0 {
		workers = Workers()
	}
	certs := make([]robustness.Certificate, rows)
	counts := make([]robustness.Counts, rows)
	clean := make([]int8, rows)
	var attackIdx []int // indices of rows whose file row is among the first AttackRows
	for i, id := range ids {
		if id < int64(cfg.AttackRows) {
			attackIdx = append(attackIdx, i)
		}
	}
	norms := make([]float64, len(attackIdx))
	scale := featureScale(xs, f)
	perCall := max(1, BatchRows/(cfg.N0+cfg.N))
	var next atomic.Int64
	var nextAttack atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for wk := range workers {
		sc, err := m.NewScorer(BatchRows)
		if err != nil {
			return err
		}
		if c, ok := sc.(interface{ Close() error }); ok {
			defer c.Close()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sm := &robustness.Smoother{Scorer: sc, Features: f, Batch: BatchRows, Sigma: float32(cfg.Sigma), Threshold: float32(cfg.Threshold), Seed: cfg.Seed}
			out := make([]float32, BatchRows)
			for ctx.Err() == nil {
				lo := int(next.Add(int64(perCall))) - perCall
				if lo >= rows {
					break
				}
				hi := min(rows, lo+perCall)
				if err := sm.Count(xs[lo*f:hi*f], ids[lo:hi], cfg.N0, cfg.N, counts[lo:hi]); err != nil {
					errs[wk] = fmt.Errorf("smoothing rows %d to %d: %w", ids[lo]+1, ids[hi-1]+1, err)
					return
				}
				if err := sc.Score(xs[lo*f:hi*f], hi-lo, out[:hi-lo]); err != nil {
					errs[wk] = fmt.Errorf("score rows %d to %d: %w", ids[lo]+1, ids[hi-1]+1, err)
					return
				}
				for i := lo; i < hi; i++ {
					if out[i-lo] >= float32(cfg.Threshold) {
						clean[i] = 1
					}
					certs[i] = robustness.Certify(counts[i].Ones0, int64(cfg.N0), counts[i].OnesN, int64(cfg.N), cfg.Alpha, cfg.Sigma)
				}
			}
			for ctx.Err() == nil {
				k := int(nextAttack.Add(1)) - 1
				if k >= len(norms) {
					break
				}
				i := attackIdx[k]
				a := robustness.NewAttacker(sc, f, float32(cfg.Threshold), cfg.Seed^uint64(ids[i]+1)*0x9e3779b97f4a7c15)
				res, err := a.Attack(xs[i*f:(i+1)*f], int(labels[i]), cfg.AttackQueries, scale)
				if err != nil {
					errs[wk] = fmt.Errorf("attack row %d: %w", ids[i]+1, err)
					return
				}
				norms[k] = res.Norm
			}
		}()
	}
	wg.Wait()
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	c := RobustnessCounts{
		Rows:             int64(rows),
		CertifiedCorrect: make([]int64, len(cfg.Radii)),
		AttackSuccess:    make([]int64, len(cfg.Radii)),
		AttackRows:       int64(len(norms)),
	}
	total := int64(cfg.N0 + cfg.N)
	for i := range rows {
		y := int(labels[i])
		if int(clean[i]) == y {
			c.CleanCorrect++
		}
		ones := counts[i].Ones0 + counts[i].OnesN
		if y == 1 {
			c.NoiseCorrect += ones
		} else {
			c.NoiseCorrect += total - ones
		}
		c.NoiseSamples += total
		ct := certs[i]
		if ct.Class < 0 {
			c.Abstain++
			continue
		}
		if ct.Class == y {
			c.RadiusNanos += int64(math.Round(ct.Radius * 1e9))
			for k, rad := range cfg.Radii {
				if ct.Radius >= rad {
					c.CertifiedCorrect[k]++
				}
			}
		}
	}
	for _, nv := range norms {
		c.AttackNorms = append(c.AttackNorms, Num(nv))
		for k, rad := range cfg.Radii {
			if nv <= rad {
				c.AttackSuccess[k]++
			}
		}
	}
	return finishRobustness(rep, cfg.Radii, c)
}

// finishRobustness fills rep from the tallies: details always, metrics
// unless rep is a shard's partial report.
func finishRobustness(rep *report.Report, radii []float64, c RobustnessCounts) error {
	median := math.NaN()
	if len(c.AttackNorms) > 0 {
		v := make([]float64, len(c.AttackNorms))
		for i, n := range c.AttackNorms {
			v[i] = float64(n)
			if math.IsNaN(v[i]) {
				v[i] = math.Inf(1) // not found within the budget
			}
		}
		sort.Float64s(v)
		h := len(v) / 2
		if len(v)%2 == 1 {
			median = v[h]
		} else {
			median = (v[h-1] + v[h]) / 2
		}
	}
	d := RobustnessDetails{Counts: c}
	for k, rad := range radii {
		rr := RadiusResult{Radius: rad, CertifiedAccuracy: Num(ratio64(c.CertifiedCorrect[k], c.Rows)),
			AttackSuccessRate: Num(ratio64(c.AttackSuccess[k], c.AttackRows)), MedianPerturbationNorm: Num(median)}
		d.Radii = append(d.Radii, rr)
	}
	compact := struct {
		Radii []RadiusResult `json:"radii"`
	}{d.Radii}
	if err := SetDetails(rep, d, compact); err != nil {
		return err
	}
	if rep.Shard != nil {
		return nil
	}
	rep.SetMetric("clean_accuracy", ratio64(c.CleanCorrect, c.Rows), "no rows")
	rep.SetMetric("noise_accuracy", ratio64(c.NoiseCorrect, c.NoiseSamples), "no rows")
	// Mean over all rows, counting 0 for rows that abstain or are
	// certified for the wrong class.
	rep.SetMetric("mean_certified_radius", float64(c.RadiusNanos)/1e9/float64(c.Rows), "no rows")
	rep.SetMetric("abstain_rate", ratio64(c.Abstain, c.Rows), "no rows")
	return nil
}

func ratio64(a, b int64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

func mergeRobustness(out *report.Report, parts []*report.Report) error {
	var total RobustnessCounts
	var radii []float64
	for i, p := range parts {
		var d RobustnessDetails
		if err := json.Unmarshal(p.Details, &d); err != nil {
			return fmt.Errorf("part %d: read robustness details: %w", i+1, err)
		}
		c := d.Counts
		if i == 0 {
			for _, r := range d.Radii {
				radii = append(radii, r.Radius)
			}
			total.CertifiedCorrect = make([]int64, len(radii))
			total.AttackSuccess = make([]int64, len(radii))
		}
		if len(c.CertifiedCorrect) != len(radii) || len(c.AttackSuccess) != len(radii) {
			return fmt.Errorf("part %d: %d radii, the first part has %d", i+1, len(c.CertifiedCorrect), len(radii))
		}
		total.Rows += c.Rows
		total.CleanCorrect += c.CleanCorrect
		total.NoiseCorrect += c.NoiseCorrect
		total.NoiseSamples += c.NoiseSamples
		total.Abstain += c.Abstain
		total.RadiusNanos += c.RadiusNanos
		total.AttackRows += c.AttackRows
		for k := range radii {
			total.CertifiedCorrect[k] += c.CertifiedCorrect[k]
			total.AttackSuccess[k] += c.AttackSuccess[k]
		}
		total.AttackNorms = append(total.AttackNorms, c.AttackNorms...)
	}
	return finishRobustness(out, radii, total)
}

// featureScale is the L2 norm of the per-feature standard deviations: the
// typical distance between rows, which sizes the attack's first search.
func featureScale(xs []float32, f int) float64 {
	rows := len(xs) / max(f, 1)
	if rows < 2 {
		return 1
	}
	var s float64
	for j := 0; j < f; j++ {
		var mean, m2 float64
		for r := 0; r < rows; r++ {
			v := float64(xs[r*f+j])
			d := v - mean
			mean += d / float64(r+1)
			m2 += d * (v - mean)
		}
		s += m2 / float64(rows-1)
	}
	if s == 0 {
		return 1
	}
	return math.Sqrt(s)
}

func joinFloats(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatFloat(x, 'g', -1, 64)
	}
	return strings.Join(s, ",")
}
