package runner

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/responsible-ai/rmodel-operator/internal/artifact"
	"github.com/responsible-ai/rmodel-operator/internal/contract"
	"github.com/responsible-ai/rmodel-operator/internal/evaluation/text"
	"github.com/responsible-ai/rmodel-operator/internal/report"
)

// CounterfactualConfig are the inputs of `rai evaluate counterfactual`.
type CounterfactualConfig struct {
	Common
	Text TextOptions
	// TermPairs is a CSV file with the header a,b: one identity-term pair a line.
	TermPairs, TermPairsSHA256 string
	// Favorable names the label whose probability is the score.
	Favorable string
	// Threshold decides P(favorable) for a model with two labels.
	Threshold float64
}

// CounterfactualPair is one entry of details.pairs.
type CounterfactualPair struct {
	A            string  `json:"a"`
	B            string  `json:"b"`
	Texts        int     `json:"texts"`
	Flips        int     `json:"flips"`
	FlipRate     Num     `json:"flip_rate"`
	MeanAbsDelta Num     `json:"mean_abs_delta"`
	MaxAbsDelta  float64 `json:"max_abs_delta"`
}

// CounterfactualDetails is details for kind counterfactual.
type CounterfactualDetails struct {
	Score    string               `json:"score"`
	Decision string               `json:"decision"`
	Texts    int                  `json:"texts"`
	Pairs    []CounterfactualPair `json:"pairs"`
	// WorstPair ("a/b") has the largest mean |Δ|; WorstFlipPair the largest flip rate.
	WorstPair     string `json:"worst_pair,omitempty"`
	WorstFlipPair string `json:"worst_flip_pair,omitempty"`
}

// EvaluateCounterfactual measures counterfactual token fairness (Garg et al. 2019).
func EvaluateCounterfactual(ctx context.Context, cfg CounterfactualConfig) (*report.Report, error) {
	return run(report.KindCounterfactual, cfg.Common, func(rep *report.Report) error { return evaluateCounterfactual(ctx, cfg, rep) })
}

// ReadTermPairs reads a CSV file with the header a,b (a UTF-8 byte-order mark, spaces around
// the names and CRLF are accepted): each further line one pair of different, non-empty terms.
func ReadTermPairs(path string) ([]text.TermPair, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("term pairs: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty file; want the header a,b and one pair a line", path)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	if len(header) != 2 || strings.TrimSpace(header[0]) != "a" || strings.TrimSpace(header[1]) != "b" {
		return nil, fmt.Errorf("%s: header %q: want a,b", path, strings.Join(header, ","))
	}
	var pairs []text.TermPair
	seen := map[string]int{}
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(rec) != 2 {
			return nil, fmt.Errorf("%s: line %d has %d fields; want 2 (a,b)", path, line, len(rec))
		}
		a, b := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		switch {
		case a == "" || b == "":
			return nil, fmt.Errorf("%s: line %d: an empty term", path, line)
		case strings.EqualFold(a, b):
			return nil, fmt.Errorf("%s: line %d: the terms %q and %q are the same word", path, line, a, b)
		}
		key := strings.ToLower(a) + "\x00" + strings.ToLower(b)
		if prev, ok := seen[key]; ok {
			return nil, fmt.Errorf("%s: line %d repeats the pair of line %d (%s/%s)", path, line, prev, a, b)
		}
		seen[key] = line
		pairs = append(pairs, text.TermPair{A: a, B: b})
	}
	if len(pairs) == 0 {
		return nil, fmt.Errorf("%s: no term pairs after the header", path)
	}
	return pairs, nil
}

// cachingScorer scores texts with P(favorable) and keeps each text's probabilities, so the
// decision of a model with more than two labels (argmax) can be read afterwards.
type cachingScorer struct {
	m     *loadedText
	fav   int
	probs map[string][]float64
}

func (s *cachingScorer) Score(ctx context.Context, texts []string) ([]float64, error) {
	p, err := classifyAll(ctx, s.m, texts)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(texts))
	for i, t := range texts {
		s.probs[t] = p[i]
		out[i] = p[i][s.fav]
	}
	return out, nil
}

func evaluateCounterfactual(ctx context.Context, cfg CounterfactualConfig, rep *report.Report) error {
	if err := cfg.Text.CheckTask(); err != nil {
		return err
	}
	if cfg.Text.Task != contract.TaskTextClassification {
		return fmt.Errorf("counterfactual evaluates %s models; --%s is %q", contract.TaskTextClassification, contract.FlagTask, cfg.Text.Task)
	}
	if cfg.TermPairs == "" {
		return fmt.Errorf("--%s is required", contract.FlagTermPairs)
	}
	pd, err := artifact.FileSHA256(cfg.TermPairs)
	if err != nil {
		return fmt.Errorf("term pairs: %w", err)
	}
	if err := CheckDigest("term pairs", cfg.TermPairs, cfg.TermPairsSHA256, pd); err != nil {
		return err
	}
	pairs, err := ReadTermPairs(cfg.TermPairs)
	if err != nil {
		return err
	}
	m, dataDigest, err := openTextEvaluation(cfg.Common, cfg.Text, "counterfactual", rep)
	if err != nil {
		return err
	}
	defer m.Close()
	if cfg.Favorable == "" {
		cfg.Favorable = contract.DefaultFavorableLabel
	}
	fav, err := m.label(cfg.Favorable, "--"+contract.FlagFavorable)
	if err != nil {
		return err
	}
	dec := newDecision(m, fav, cfg.Threshold)
	p := rep.Parameters
	p["favorable"], p["decision"], p["term_pairs_sha256"] = cfg.Favorable, dec.describe(m.labels), pd
	p["term_pairs"] = strconv.Itoa(len(pairs))
	if dec.binary {
		p["threshold"] = strconv.FormatFloat(cfg.Threshold, 'g', -1, 64)
	}
	rows, err := readTextRows(ctx, cfg.DataPath, cfg.Text.textColumn(), "", nil)
	if err != nil {
		return err
	}
	rep.Dataset = &report.Dataset{SHA256: dataDigest, Rows: int64(len(rows))}
	texts := make([]string, len(rows))
	for i, r := range rows {
		texts[i] = r.Text
	}
	sc := &cachingScorer{m: m, fav: fav, probs: map[string][]float64{}}
	res, err := text.CounterfactualFairness(ctx, sc, texts, pairs, text.CounterfactualOptions{Threshold: cfg.Threshold, BatchSize: textBatch})
	if err != nil {
		return err
	}
	if !dec.binary {
		// The library counts flips of P(favorable) ≥ threshold; with more than two labels the
		// decision is the argmax, so count them again from the kept probabilities.
		for i, pair := range pairs {
			flips := 0
			for _, t := range texts {
				if cf, ok := pair.Swap(t); ok && cf != t && dec.favorable(sc.probs[t]) != dec.favorable(sc.probs[cf]) {
					flips++
				}
			}
			res.Pairs[i].Flips = flips
			if n := res.Pairs[i].Texts; n > 0 {
				res.Pairs[i].FlipRate = float64(flips) / float64(n)
			}
		}
	}
	d := CounterfactualDetails{Score: fmt.Sprintf("P(%s)", m.labels[fav]), Decision: dec.describe(m.labels), Texts: len(texts)}
	flipMax, deltaMax, maxAbs := math.NaN(), math.NaN(), math.NaN()
	for _, pr := range res.Pairs {
		cp := CounterfactualPair{A: pr.Pair.A, B: pr.Pair.B, Texts: pr.Texts, Flips: pr.Flips, FlipRate: Num(pr.FlipRate), MeanAbsDelta: Num(pr.MeanAbsDelta), MaxAbsDelta: pr.MaxAbsDelta}
		if pr.Texts == 0 {
			cp.FlipRate, cp.MeanAbsDelta = Num(math.NaN()), Num(math.NaN())
		} else {
			if math.IsNaN(flipMax) || pr.FlipRate > flipMax {
				flipMax, d.WorstFlipPair = pr.FlipRate, pr.Pair.String()
			}
			if math.IsNaN(deltaMax) || pr.MeanAbsDelta > deltaMax {
				deltaMax = pr.MeanAbsDelta
			}
			if math.IsNaN(maxAbs) || pr.MaxAbsDelta > maxAbs {
				maxAbs = pr.MaxAbsDelta
			}
		}
		d.Pairs = append(d.Pairs, cp)
	}
	if w, ok := res.WorstPair(); ok {
		d.WorstPair = w.Pair.String()
	}
	why := "no text contains a term of any pair"
	rep.SetMetric("counterfactual_flip_rate", flipMax, why)
	rep.SetMetric("counterfactual_mean_abs_delta", deltaMax, why)
	rep.SetMetric("counterfactual_max_abs_delta", maxAbs, why)
	if err := SetDetails(rep, d, nil); err != nil {
		return err
	}
	// The compact form keeps the pairs with the largest mean |Δ| first.
	byDelta := append([]CounterfactualPair(nil), d.Pairs...)
	key := func(p CounterfactualPair) float64 {
		if math.IsNaN(float64(p.MeanAbsDelta)) {
			return -1
		}
		return float64(p.MeanAbsDelta)
	}
	sortStableBy(byDelta, func(a, b CounterfactualPair) bool { return key(a) > key(b) })
	FitCompactDetails(rep, func(n int) any {
		c := d
		c.Pairs = byDelta[:min(n, len(byDelta))]
		return c
	}, 20)
	return nil
}
