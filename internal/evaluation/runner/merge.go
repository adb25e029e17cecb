package runner

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/responsible-ai/rmodel-operator/internal/report"
)

// MergeOptions override how the merged metrics are computed.
type MergeOptions struct {
	Bootstrap    int
	Seed         uint64
	BootstrapSet bool
	SeedSet      bool
}

// MergeFiles reads partial reports and merges them; see Merge.
func MergeFiles(paths []string, opts MergeOptions) (*report.Report, error) {
	var parts []*report.Report
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read partial report: %w", err)
		}
		r, err := report.Parse(b)
		if err != nil {
			return nil, fmt.Errorf("partial report %s: %w", p, err)
		}
		parts = append(parts, r)
	}
	return Merge(parts, opts)
}

// Merge combines the partial reports of one sharded evaluation into the
// report a single pass over all the data gives: the shards' counts add, and
// the metrics (and, for fairness, the seeded bootstrap) are computed once
// from the sum. Every shard index 0..N-1 must be present exactly once, and
// the parts must agree on kind, model, dataset and parameters. A part in
// state Error makes the merged report an Error with that part's message.
func Merge(parts []*report.Report, opts MergeOptions) (*report.Report, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("merge: no partial reports")
	}
	first := parts[0]
	out := &report.Report{
		SchemaVersion: report.SchemaVersion,
		Kind:          first.Kind,
		Model:         first.Model,
		Evaluator:     report.Evaluator{Name: EvaluatorName, Version: EvaluatorVersion},
		StartTime:     first.StartTime,
		State:         report.StateSucceeded,
		Metrics:       map[string]*float64{},
		Parameters:    map[string]string{},
	}
	for k, v := range first.Parameters {
		out.Parameters[k] = v
	}
	fail := func(err error) (*report.Report, error) { return Fail(out, err), err }
	var rows int64
	seen := map[int]bool{}
	for i, p := range parts {
		what := fmt.Sprintf("part %d", i+1)
		if p.Shard == nil {
			return fail(fmt.Errorf("merge: %s is not a shard report (no shard field)", what))
		}
		if p.Shard.Count != first.Shard.Count {
			return fail(fmt.Errorf("merge: %s is shard %d/%d but the first is of %d shards", what, p.Shard.Index, p.Shard.Count, first.Shard.Count))
		}
		if seen[p.Shard.Index] {
			return fail(fmt.Errorf("merge: shard %d/%d given twice", p.Shard.Index, p.Shard.Count))
		}
		seen[p.Shard.Index] = true
		if p.Kind != first.Kind || p.Model.SHA256 != first.Model.SHA256 {
			return fail(fmt.Errorf("merge: %s is %s of model %s; the first is %s of model %s", what, p.Kind, p.Model.SHA256, first.Kind, first.Model.SHA256))
		}
		if (p.Dataset == nil) != (first.Dataset == nil) || (p.Dataset != nil && p.Dataset.SHA256 != first.Dataset.SHA256) {
			return fail(fmt.Errorf("merge: %s evaluated different data from the first part", what))
		}
		if a, b := paramString(p.Parameters), paramString(first.Parameters); a != b {
			return fail(fmt.Errorf("merge: %s has parameters %s; the first has %s", what, a, b))
		}
		if p.State == report.StateError {
			return Fail(out, fmt.Errorf("shard %d/%d failed: %s", p.Shard.Index, p.Shard.Count, p.Message)), fmt.Errorf("merge: shard %d/%d failed: %s", p.Shard.Index, p.Shard.Count, p.Message)
		}
		if p.StartTime.Before(out.StartTime) {
			out.StartTime = p.StartTime
		}
		if p.Dataset != nil {
			rows += p.Dataset.Rows
		}
	}
	if len(seen) != first.Shard.Count {
		var missing []string
		for i := range first.Shard.Count {
			if !seen[i] {
				missing = append(missing, strconv.Itoa(i))
			}
		}
		return fail(fmt.Errorf("merge: shards %s of %d are missing", strings.Join(missing, ", "), first.Shard.Count))
	}
	if first.Dataset != nil {
		out.Dataset = &report.Dataset{SHA256: first.Dataset.SHA256, Rows: rows}
	}
	var err error
	switch first.Kind {
	case report.KindFairness:
		err = mergeFairness(out, parts, opts)
	case report.KindRobustness:
		err = mergeRobustness(out, parts)
	default:
		err = fmt.Errorf("merge: kind %s has no shards", first.Kind)
	}
	if err != nil {
		return Fail(out, err), err
	}
	out.EndTime = time.Now().UTC()
	return out, nil
}

func paramString(p map[string]string) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%q ", k, p[k])
	}
	return strings.TrimSpace(b.String())
}

func mergeFairness(out *report.Report, parts []*report.Report, opts MergeOptions) error {
	table, priv, err := FairnessTable(parts[0])
	if err != nil {
		return err
	}
	for _, p := range parts[1:] {
		t, _, err := FairnessTable(p)
		if err != nil {
			return err
		}
		if err := table.Merge(t); err != nil {
			return err
		}
	}
	reps, _ := strconv.Atoi(out.Parameters["bootstrap"])
	seed, _ := strconv.ParseUint(out.Parameters["seed"], 10, 64)
	if opts.BootstrapSet {
		reps = opts.Bootstrap
		out.Parameters["bootstrap"] = strconv.Itoa(reps)
	}
	if opts.SeedSet {
		seed = opts.Seed
		out.Parameters["seed"] = strconv.FormatUint(seed, 10)
	}
	if priv != nil {
		if err := checkPrivileged(&table, priv, out.Parameters["privileged"]); err != nil {
			return err
		}
	}
	if len(table.Groups) == 0 {
		return fmt.Errorf("merge: the shards hold no rows")
	}
	return FinishFairness(out, table, priv, reps, seed)
}
