// Package monitoring is the shared part of live monitoring: what `rai serve --monitoring` keeps
// and answers (Snapshot, Window, Sketch), the reference summary of a version's evaluation data
// (Reference, written by `rai monitor reference`), and the statistics that measure the one
// against the other (Compare). It is pure Go, without onnxruntime: the operator imports it; the
// server (package serving) imports it for the types and the sketch.
//
// # The operator's loop
//
//	// Once, at evaluation time: `rai monitor reference --model M --data D --label L
//	// --sensitive S --out reference.json` (its termination message: a ReferenceDigest with the
//	// full JSON's sha256), kept with the version's evidence.
//	ref, err := monitoring.ParseReference(referenceJSON, digest.SHA256) // digest and Validate
//
//	// Every period: each serving replica's last windows (untrusted input, validated).
//	var snaps []*monitoring.Snapshot
//	for _, pod := range pods {
//		s, err := monitoring.FetchWindow(ctx, httpClient, "http://"+pod.Status.PodIP+":8080", "credit", 0)
//		...
//		snaps = append(snaps, s)
//	}
//	live, err := monitoring.Merge(snaps...)                 // window by window, sketches merged
//	rep, err := monitoring.Compare(ref, live, monitoring.CompareOptions{})
//	// rep (a *Report) is the Rego input; rep.Drift.WorstPSI, rep.Drift.WorstKS (WorstFeature:
//	// feature, statistic, value, Holm-adjusted p) and rep.Headline() name the feature and the
//	// statistic for a condition message and the decision record.
//
// Compare totals every window of the snapshot it is given: choose the span with FetchWindow's
// windows argument (the last N windows of Snapshot.WindowSeconds each). Flag names and defaults
// of `rai serve` are the Flag* and Default* constants (flags.go); the endpoints SnapshotPath and
// FeedbackPath.
//
// # JSON
//
// Snapshot (schema "rai.monitoring/v1", GET /v2/models/{name}/monitoring[?windows=N]):
//
//	{"schema_version", "model", "version", "sha256", "window_seconds", "threshold",
//	 "prediction_output", "group_source": "parameter:group"|"feature:NAME", "features": [names],
//	 "input_features", "min_rows", "replicas", "generated_at",
//	 "windows": [{"start", "end", "open", "requests", "rows", "withheld_rows",
//	   "features": [{"count", "min", "max", "mean", "sketch": {"k", "n", "variance", "levels": [[…]]}}],
//	   "groups": [{"name", "predictions", "positive_predictions", "confusion": {"tp", "fp", "tn", "fn"}}],
//	   "ungrouped": {…}, "other_groups": {…},
//	   "feedback": {"accepted", "labelled_rows", "unknown", "duplicate", "invalid"}}]}
//
// Reference (schema "rai.monitoring.reference/v1"): model and dataset digests, label, favorable,
// threshold, sensitive columns; per feature "count", "min", "max", "mean", "ecdf": {"x", "f",
// "resolution"}, "psi_bins": {"edges", "fractions"}; per group the counts and rates. Report
// (schema "rai.monitoring.report/v1"): "model", "reference", "live" (span, windows, replicas,
// rows), "options", "drift": {"features": [{"name", "status", "reason", "psi",
// "psi_expected_no_drift", "ks": {"statistic", "error_bound", "effective_n", "p_value",
// "p_value_at_statistic", "p_value_bonferroni", "p_value_holm"}, …}], "tested", "worst_psi",
// "worst_ks"}, "fairness": {"groups": […], "demographic_parity_difference",
// "demographic_parity_ratio", "equal_opportunity_difference", "equal_opportunity_ratio"}, each a
// Disparity {"status", "reason", "value", "ci", "method", "max_group", "min_group",
// "groups_compared"}. Statuses: "ok", "insufficient_data" (the reason says what is missing),
// "not_monitored". No NaN or Inf anywhere: an undefined number is null.
//
// # Statistics
//
//   - Sketch: KLL with a rank error the sketch states (Azuma's inequality over its own
//     compactions; see Sketch). At k = 200: about 600 items (≈ 2.5 KiB) per feature per window,
//     and a rank error of about 1.2% for one query and 2–2.5% for all at once, at 99%.
//   - PSI over the reference's decile bins (distinct edges), live fractions from the sketch,
//     every fraction below 1e-4 raised to 1e-4 so an empty bin counts finitely; with
//     psi_expected_no_drift, (bins−1)·(1/n+1/m), the noise floor for the sample sizes.
//   - KS: D = sup |F_live − F_ref| between the sketch and the reference ECDF; the asymptotic
//     Kolmogorov p-value at effective n = n·m/(n+m), computed at max(0, D − error bound) so that
//     the sketch's approximation never makes drift look more significant than the raw samples
//     would (with probability ≥ 1 − SketchDelta); Holm and Bonferroni adjustments over the
//     features tested.
//   - Fairness: per group positive rate and TPR (from feedback) with Wilson intervals;
//     Fairlearn's between-groups demographic parity and equal opportunity differences (Newcombe
//     hybrid score interval) and ratios (Bonferroni-combined Wilson bounds), over the groups
//     meeting MinGroupCount predictions (MinGroupPositives labelled positives for equal
//     opportunity); otherwise "insufficient_data".
//
// # Trust
//
// A snapshot comes from a serving pod: anyone who can run a pod in the namespace can answer on
// its port. FetchWindow reads at most MaxSnapshotBytes and returns only snapshots that pass
// Snapshot.Validate (bounded sizes, consistent counts, valid sketches); Merge refuses snapshots
// of another model, version, digest or window length; Compare refuses live traffic of another
// model digest than the reference's (ErrModelMismatch).
package monitoring
