package runner

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"

	"github.com/responsible-ai/rmodel-operator/internal/evaluation/explain"
	"github.com/responsible-ai/rmodel-operator/internal/report"
)

// ExplainConfig are the inputs of `rai evaluate explain`.
type ExplainConfig struct {
	Common
	Label, Favorable string
	Threshold        float64
	// Samples is the number of rows drawn uniformly from the data
	// (reservoir sampling, seeded) for both methods; the sample is also the
	// Shapley background.
	Samples      int
	Repeats      int
	Permutations int
	// ShapleyRows is how many of the sampled rows get Shapley values.
	ShapleyRows int
	Seed        uint64
}

// FeatureExplanation is one entry of details.features.
type FeatureExplanation struct {
	Name                      string  `json:"name"`
	Rank                      int     `json:"rank"`
	PermutationImportanceMean float64 `json:"permutation_importance_mean"`
	PermutationImportanceStd  float64 `json:"permutation_importance_std"`
	ShapleyMeanAbs            float64 `json:"shapley_mean_abs"`
}

// ExplainDetails is details for kind explain.
type ExplainDetails struct {
	Features         []FeatureExplanation `json:"features"`
	BaselineAccuracy float64              `json:"baseline_accuracy"`
	Rows             int                  `json:"rows"`
	ShapleyRows      int                  `json:"shapley_rows"`
}

// EvaluateExplain ranks the model's features by permutation importance (ties
// broken by mean |Shapley value|).
func EvaluateExplain(ctx context.Context, cfg ExplainConfig) (*report.Report, error) {
	return run(report.KindExplain, cfg.Common, func(rep *report.Report) error { return evaluateExplain(ctx, cfg, rep) })
}

func evaluateExplain(ctx context.Context, cfg ExplainConfig, rep *report.Report) error {
	switch {
	case cfg.Label == "":
		return fmt.Errorf("--label is required")
	case cfg.Samples < 2:
		return fmt.Errorf("--samples %d: need at least 2 rows", cfg.Samples)
	case cfg.Repeats < 1 || cfg.Permutations < 1:
		return fmt.Errorf("--repeats %d and --permutations %d must be positive", cfg.Repeats, cfg.Permutations)
	}
	if cfg.Favorable == "" {
		cfg.Favorable = "1"
	}
	if cfg.Shard.Count > 1 {
		return fmt.Errorf("explain does not shard: it works on a sample of --samples rows")
	}
	p := rep.Parameters
	p["label"], p["favorable"] = cfg.Label, cfg.Favorable
	p["threshold"] = strconv.FormatFloat(cfg.Threshold, 'g', -1, 64)
	p["samples"], p["repeats"], p["permutations"] = strconv.Itoa(cfg.Samples), strconv.Itoa(cfg.Repeats), strconv.Itoa(cfg.Permutations)
	p["shapley_rows"], p["seed"] = strconv.Itoa(cfg.ShapleyRows), strconv.FormatUint(cfg.Seed, 10)
	p["score"] = "accuracy"

	in, err := openLabelled(cfg.Common, cfg.Label)
	if err != nil {
		return err
	}
	defer in.Close()
	m, r, features, dataDigest := in.Model, in.Data, in.Features, in.DataSHA256
	rep.Model.SHA256 = m.SHA256

	// Reservoir sample (Algorithm R) of cfg.Samples rows: memory stays
	// bounded by the sample however large the data.
	f := len(features)
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xe4a1))
	sample := make([]float32, 0, cfg.Samples*f)
	labelCodes := make([]int32, 0, cfg.Samples)
	var seen int64
	total, err := Stream(ctx, r, nil, 1, Shard{}, func(w *Work) error {
		for i := 0; i < w.Rows; i++ {
			row := w.Features[i*f : (i+1)*f]
			if len(labelCodes) < cfg.Samples {
				sample = append(sample, row...)
				labelCodes = append(labelCodes, w.Codes[0][i])
			} else if k := rng.Int64N(seen + 1); k < int64(cfg.Samples) {
				copy(sample[k*int64(f):], row)
				labelCodes[k] = w.Codes[0][i]
			}
			seen++
		}
		return nil
	}, func(int, *Work) error { return nil })
	if err != nil {
		return err
	}
	rows := len(labelCodes)
	if rows < 2 {
		return fmt.Errorf("%s: %d data rows; explain needs at least 2", cfg.DataPath, rows)
	}
	rep.Dataset = &report.Dataset{SHA256: dataDigest, Rows: total}
	dict := r.Dict(0)
	labels := make([]bool, rows)
	for i, c := range labelCodes {
		labels[i] = IsFavorable(dict[c], cfg.Favorable)
	}
	sc, err := m.NewScorer(BatchRows)
	if err != nil {
		return err
	}
	if c, ok := sc.(interface{ Close() error }); ok {
		defer c.Close()
	}
	imp, base, err := explain.PermutationImportance(sc, sample, rows, f, labels, float32(cfg.Threshold), cfg.Repeats, cfg.Seed, BatchRows)
	if err != nil {
		return fmt.Errorf("permutation importance: %w", err)
	}
	sr := min(rows, cfg.ShapleyRows)
	meanAbs := make([]float64, f)
	if sr > 0 {
		phi, err := explain.Shapley(sc, sample[:sr*f], sr, f, sample, rows, cfg.Permutations, cfg.Seed+1, BatchRows)
		if err != nil {
			return fmt.Errorf("shapley values: %w", err)
		}
		for i := 0; i < sr; i++ {
			for j := 0; j < f; j++ {
				meanAbs[j] += math.Abs(phi[i*f+j]) / float64(sr)
			}
		}
	}
	d := ExplainDetails{BaselineAccuracy: base, Rows: rows, ShapleyRows: sr}
	for j, name := range features {
		d.Features = append(d.Features, FeatureExplanation{Name: name, PermutationImportanceMean: imp[j].Mean, PermutationImportanceStd: imp[j].Std, ShapleyMeanAbs: meanAbs[j]})
	}
	sort.SliceStable(d.Features, func(a, b int) bool {
		fa, fb := d.Features[a], d.Features[b]
		if fa.PermutationImportanceMean != fb.PermutationImportanceMean {
			return fa.PermutationImportanceMean > fb.PermutationImportanceMean
		}
		return fa.ShapleyMeanAbs > fb.ShapleyMeanAbs
	})
	for i := range d.Features {
		d.Features[i].Rank = i + 1
	}
	compact := d
	compact.Features = d.Features[:min(len(d.Features), 10)]
	rep.SetMetric("baseline_accuracy", base, "")
	return SetDetails(rep, d, compact)
}
