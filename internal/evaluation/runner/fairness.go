package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/responsible-ai/rmodel-operator/internal/artifact"
	"github.com/responsible-ai/rmodel-operator/internal/evaluation/dataset"
	"github.com/responsible-ai/rmodel-operator/internal/evaluation/fairness"
	"github.com/responsible-ai/rmodel-operator/internal/report"
)

// FairnessConfig are the inputs of `rai evaluate fairness`.
type FairnessConfig struct {
	Common
	Label      string
	Sensitive  []string
	Privileged string // COL=VALUE[,COL=VALUE...]
	Favorable  string
	Threshold  float64
	Output     string // model output name
	// Predictions names a column of predicted labels: no model is run.
	Predictions string
	Bootstrap   int
	Seed        uint64
}

// FairnessGroup is one group in details.groups. Counts are exact and let
// shards merge; rates are null with a reason where they are 0/0.
type FairnessGroup struct {
	Name          string            `json:"name"`
	Values        map[string]string `json:"values"`
	Count         int64             `json:"count"`
	Positives     int64             `json:"positives"`
	Selected      int64             `json:"predicted_positives"`
	TP            int64             `json:"tp"`
	FP            int64             `json:"fp"`
	TN            int64             `json:"tn"`
	FN            int64             `json:"fn"`
	SelectionRate Num               `json:"selection_rate"`
	TPR           Num               `json:"tpr"`
	FPR           Num               `json:"fpr"`
	Precision     Num               `json:"precision"`
	Accuracy      Num               `json:"accuracy"`
	Undefined     map[string]string `json:"undefined,omitempty"`
}

// FairnessDetails is details for kind fairness.
type FairnessDetails struct {
	SensitiveColumns []string          `json:"sensitive_columns"`
	MinGroupCount    int64             `json:"min_group_count"`
	Privileged       map[string]string `json:"privileged,omitempty"`
	Groups           []FairnessGroup   `json:"groups"`
}

// compactGroup is the per-group summary kept in the compact form.
type compactGroup struct {
	Name          string `json:"name"`
	Count         int64  `json:"count"`
	SelectionRate Num    `json:"selection_rate"`
	TPR           Num    `json:"tpr"`
	FPR           Num    `json:"fpr"`
}

// EvaluateFairness runs the fairness evaluation and returns its report; on
// failure it returns the error and an Error report carrying its message.
func EvaluateFairness(ctx context.Context, cfg FairnessConfig) (*report.Report, error) {
	return run(report.KindFairness, cfg.Common, func(rep *report.Report) error { return evaluateFairness(ctx, cfg, rep) })
}

func evaluateFairness(ctx context.Context, cfg FairnessConfig, rep *report.Report) error {
	if cfg.Label == "" || len(cfg.Sensitive) == 0 {
		return fmt.Errorf("--label and --sensitive are required")
	}
	if len(cfg.Sensitive) > fairness.MaxSensitive {
		return fmt.Errorf("--sensitive lists %d columns; at most %d", len(cfg.Sensitive), fairness.MaxSensitive)
	}
	if cfg.Favorable == "" {
		cfg.Favorable = "1"
	}
	if cfg.Predictions == "" && cfg.ModelPath == "" {
		return fmt.Errorf("give --model, or --predictions COL to evaluate predictions already in the data")
	}
	priv, err := fairness.ParsePrivileged(cfg.Privileged, cfg.Sensitive)
	if err != nil {
		return err
	}
	p := rep.Parameters
	p["label"], p["sensitive"], p["favorable"] = cfg.Label, strings.Join(cfg.Sensitive, ","), cfg.Favorable
	p["privileged"], p["bootstrap"], p["seed"] = cfg.Privileged, strconv.Itoa(cfg.Bootstrap), strconv.FormatUint(cfg.Seed, 10)
	if cfg.Predictions != "" {
		p["predictions"] = cfg.Predictions
	} else {
		p["threshold"] = strconv.FormatFloat(cfg.Threshold, 'g', -1, 64)
	}

	dataDigest, err := artifact.FileSHA256(cfg.DataPath)
	if err != nil {
		return err
	}
	if err := CheckDigest("data", cfg.DataPath, cfg.DataSHA256, dataDigest); err != nil {
		return err
	}
	var model Model
	var features []string
	if cfg.Predictions == "" {
		m, err := LoadONNXOn(cfg.ModelPath, cfg.ModelSHA256, cfg.Output, cfg.Device)
		if err != nil {
			return err
		}
		defer m.Close()
		rep.Model.SHA256 = m.SHA256
		columns, err := dataset.Columns(cfg.DataPath)
		if err != nil {
			return err
		}
		if features, err = FeatureColumns(m, columns, append([]string{cfg.Label}, cfg.Sensitive...)...); err != nil {
			return fmt.Errorf("%s: %w", cfg.DataPath, err)
		}
		model = m
	} else if cfg.ModelPath != "" {
		if d, err := artifact.FileSHA256(cfg.ModelPath); err == nil {
			if err := CheckDigest("model", cfg.ModelPath, cfg.ModelSHA256, d); err != nil {
				return err
			}
			rep.Model.SHA256 = d
		}
	}

	// The label and the predicted labels must be readable (empty, NaN and
	// ±Inf are errors): the tally would count them as unfavorable.
	categorical := append([]string{cfg.Label}, cfg.Sensitive...)
	labels := []string{cfg.Label}
	if cfg.Predictions != "" {
		categorical = append(categorical, cfg.Predictions)
		labels = append(labels, cfg.Predictions)
	}
	r, err := dataset.Open(cfg.DataPath, dataset.Spec{Numeric: features, Categorical: categorical, Labels: labels})
	if err != nil {
		return err
	}
	defer r.Close()
	table, rows, err := TallyFairness(ctx, r, model, TallyOptions{
		Sensitive: cfg.Sensitive, Favorable: cfg.Favorable, Threshold: cfg.Threshold,
		Predictions: cfg.Predictions != "", Workers: cfg.Workers, Shard: cfg.Shard,
	})
	if err != nil {
		return err
	}
	if rows == 0 && cfg.Shard.Count <= 1 {
		return fmt.Errorf("%s: no data rows", cfg.DataPath)
	}
	rep.Dataset = &report.Dataset{SHA256: dataDigest, Rows: rows}
	if priv != nil && cfg.Shard.Count <= 1 {
		if err := checkPrivileged(&table, priv, cfg.Privileged); err != nil {
			return err
		}
	}
	return FinishFairness(rep, table, priv, cfg.Bootstrap, cfg.Seed)
}

// TallyOptions configure TallyFairness.
type TallyOptions struct {
	Sensitive   []string
	Favorable   string
	Threshold   float64
	Predictions bool // the reader's last categorical column holds predicted labels
	Workers     int
	Shard       Shard
}

// TallyFairness streams r through the model (one Scorer per worker) and
// counts each group's confusion matrix. r's categorical columns must be the
// label, then the sensitive columns, then (with opts.Predictions) the
// predictions column; its numeric columns are the model's features. The
// reading goroutine codes labels and groups; the workers score and count
// into their own tallies, merged at the end, so the hot path allocates
// nothing and takes no lock.
func TallyFairness(ctx context.Context, r dataset.Reader, model Model, opts TallyOptions) (fairness.Table, int64, error) {
	ns := len(opts.Sensitive)
	workers := opts.Workers
	if workers <= 0 {
		workers = Workers()
	}
	// Each worker groups and counts its own batches: the reading goroutine
	// only extends the favorable-value tables, so it never becomes the
	// bottleneck, and nothing is shared on the hot path.
	tallies := make([]fairness.Tally, workers)
	groupers := make([]*fairness.Grouper, workers)
	sensCodes := make([][][]int32, workers)
	for i := range groupers {
		g, err := fairness.NewGrouper(ns)
		if err != nil {
			return fairness.Table{}, 0, err
		}
		groupers[i] = g
		sensCodes[i] = make([][]int32, ns)
	}
	var labelFav, predFav []bool // per dictionary code
	extend := func(cache []bool, dict []string) []bool {
		for len(cache) < len(dict) {
			cache = append(cache, IsFavorable(dict[len(cache)], opts.Favorable))
		}
		return cache
	}
	threshold := float32(opts.Threshold)
	if opts.Predictions {
		model = nil
	}
	rows, err := Stream(ctx, r, model, workers, opts.Shard,
		func(w *Work) error {
			labelFav = extend(labelFav, r.Dict(0))
			w.LabelFavorable = labelFav
			if opts.Predictions {
				predFav = extend(predFav, r.Dict(1+ns))
				w.PredFavorable = predFav
			}
			return nil
		},
		func(worker int, w *Work) error {
			sc := sensCodes[worker]
			for i := range ns {
				sc[i] = w.Codes[1+i]
			}
			t := &tallies[worker]
			if !opts.Predictions {
				groupers[worker].TallyScores(t, sc, w.Rows, w.Codes[0], w.LabelFavorable, w.Scores, threshold)
				return nil
			}
			groupers[worker].Assign(sc, w.Rows, w.Groups)
			labels, fav := w.Codes[0][:w.Rows], w.LabelFavorable
			groups := w.Groups[:w.Rows]
			preds, pfav := w.Codes[1+ns][:w.Rows], w.PredFavorable
			for i, c := range labels {
				t.Count(groups[i], fav[c], pfav[preds[i]])
			}
			return nil
		})
	if err != nil {
		return fairness.Table{}, rows, err
	}
	dicts := make([][]string, ns)
	for i := range ns {
		dicts[i] = r.Dict(1 + i)
	}
	table := fairness.Table{Columns: opts.Sensitive}
	for i, g := range groupers {
		if err := table.Merge(g.Table(opts.Sensitive, dicts, tallies[i].Cells)); err != nil {
			return fairness.Table{}, rows, err
		}
	}
	return table, rows, nil
}

// checkPrivileged refuses a privileged group that is empty or is every row:
// the signed metrics would compare a group with nothing.
func checkPrivileged(t *fairness.Table, priv fairness.Privileged, flag string) error {
	p, u := priv.Split(t)
	switch {
	case p.N() == 0:
		return fmt.Errorf("empty group: --privileged %s matches no row", flag)
	case u.N() == 0:
		return fmt.Errorf("empty group: --privileged %s matches every row, leaving no unprivileged group", flag)
	}
	return nil
}

// FinishFairness fills rep from the counts table: details always, and
// metrics and bootstrap intervals unless rep is a shard's partial report
// (then metrics stay empty: only the merged counts mean anything).
func FinishFairness(rep *report.Report, table fairness.Table, priv fairness.Privileged, replicates int, seed uint64) error {
	d := FairnessDetails{SensitiveColumns: table.Columns, Privileged: priv}
	compact := struct {
		SensitiveColumns []string       `json:"sensitive_columns"`
		MinGroupCount    int64          `json:"min_group_count"`
		Groups           []compactGroup `json:"groups"`
	}{SensitiveColumns: table.Columns}
	d.MinGroupCount = math.MaxInt64
	for _, g := range table.Groups {
		fg := FairnessGroup{
			Name: g.Name(table.Columns), Values: map[string]string{},
			Count: g.N(), Positives: g.TP + g.FN, Selected: g.TP + g.FP,
			TP: g.TP, FP: g.FP, TN: g.TN, FN: g.FN,
			SelectionRate: Num(g.SelectionRate()), Accuracy: Num(g.Accuracy()),
			TPR: Num(g.TPR()), FPR: Num(g.FPR()), Precision: Num(g.Precision()),
		}
		for i, c := range table.Columns {
			fg.Values[c] = g.Values[i]
		}
		undef := func(k, why string) {
			if fg.Undefined == nil {
				fg.Undefined = map[string]string{}
			}
			fg.Undefined[k] = why
		}
		if g.TP+g.FN == 0 {
			fg.TPR = Num(math.NaN())
			undef("tpr", "no favorable labels in the group (0/0); the disparities count it as 0, as Fairlearn does")
		}
		if g.FP+g.TN == 0 {
			fg.FPR = Num(math.NaN())
			undef("fpr", "no unfavorable labels in the group (0/0); the disparities count it as 0, as Fairlearn does")
		}
		if g.TP+g.FP == 0 {
			undef("precision", "no favorable predictions in the group (0/0)")
		}
		d.Groups = append(d.Groups, fg)
		d.MinGroupCount = min(d.MinGroupCount, fg.Count)
	}
	if len(d.Groups) == 0 {
		d.MinGroupCount = 0
	}
	compact.MinGroupCount = d.MinGroupCount
	// The compact form keeps the smallest groups first (they are the ones a
	// reviewer checks), as many as fit in the termination message.
	byCount := append([]FairnessGroup(nil), d.Groups...)
	sort.SliceStable(byCount, func(i, j int) bool { return byCount[i].Count < byCount[j].Count })
	compactWith := func(n int) any {
		c := compact
		c.Groups = nil
		for _, g := range byCount[:min(len(byCount), n)] {
			c.Groups = append(c.Groups, compactGroup{g.Name, g.Count, g.SelectionRate, g.TPR, g.FPR})
		}
		return c
	}
	if err := SetDetails(rep, d, nil); err != nil {
		return err
	}
	defer FitCompactDetails(rep, compactWith, 12)
	if rep.Shard != nil {
		return nil
	}
	m := fairness.Metrics(&table, priv)
	for name, v := range m {
		rep.SetMetric(name, v.V, v.Reason)
	}
	if replicates > 0 {
		method := fmt.Sprintf("percentile bootstrap, %d resamples (multinomial over group confusion counts), seed %d", replicates, seed)
		rep.Intervals = map[string]report.Interval{}
		for name, iv := range fairness.Bootstrap(&table, priv, replicates, seed, 0.95) {
			if math.IsNaN(m[name].V) {
				continue
			}
			rep.Intervals[name] = Interval(iv.Lower, iv.Upper, iv.Level, method)
		}
	}
	return nil
}

// FairnessTable reads the counts table back from a fairness report's
// details (for merging shards).
func FairnessTable(rep *report.Report) (fairness.Table, fairness.Privileged, error) {
	var d FairnessDetails
	if err := json.Unmarshal(rep.Details, &d); err != nil {
		return fairness.Table{}, nil, fmt.Errorf("read fairness details: %w", err)
	}
	t := fairness.Table{Columns: d.SensitiveColumns}
	for _, g := range d.Groups {
		grp := fairness.Group{Counts: fairness.Counts{TP: g.TP, FP: g.FP, TN: g.TN, FN: g.FN}}
		for _, c := range d.SensitiveColumns {
			v, ok := g.Values[c]
			if !ok {
				return t, nil, fmt.Errorf("fairness details: group %q has no value for column %q", g.Name, c)
			}
			grp.Values = append(grp.Values, v)
		}
		if grp.N() != g.Count {
			return t, nil, fmt.Errorf("fairness details: group %q counts %d rows but its confusion counts sum to %d", g.Name, g.Count, grp.N())
		}
		t.Groups = append(t.Groups, grp)
	}
	t.Normalize()
	var priv fairness.Privileged
	if len(d.Privileged) > 0 {
		priv = d.Privileged
	}
	return t, priv, nil
}
