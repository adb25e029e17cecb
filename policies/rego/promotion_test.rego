package rai.promotion_test

test_evaluation_missing_denies if {
	inp := patched([{"op": "remove", "path": "/evaluations/fairness"}])
	codes(inp) == {"EvaluationMissing"}
	messages(inp, "EvaluationMissing") == {"fairness: the requested evaluation has no report"}
}

test_evaluation_missing_null_report_denies if {
	inp := patched([{"op": "replace", "path": "/evaluations/fairness", "value": null}])
	"EvaluationMissing" in codes(inp)
}

test_evaluation_missing_allows_unrequested_kind if {
	inp := patched([
		{"op": "remove", "path": "/evaluations/explain"},
		{"op": "replace", "path": "/requestedEvaluations", "value": ["fairness", "privacy", "robustness"]},
	])
	allowed(inp)
}

test_evaluation_failed_denies if {
	inp := patched([{"op": "replace", "path": "/evaluations/robustness", "value": {"kind": "robustness", "state": "Error", "message": "pod OOMKilled"}}])
	codes(inp) == {"EvaluationFailed"}
	messages(inp, "EvaluationFailed") == {`robustness: the evaluation did not succeed (state "Error"): pod OOMKilled`}
}

test_evaluation_failed_without_state_denies if {
	inp := patched([{"op": "remove", "path": "/evaluations/explain/state"}])
	codes(inp) == {"EvaluationFailed"}
}

test_evaluation_failed_report_is_not_judged if {
	# A failed fairness report with bad numbers is reported as failed, not
	# as a fairness violation: its numbers are not evidence.
	inp := patched([
		{"op": "replace", "path": "/evaluations/fairness/state", "value": "Error"},
		{"op": "replace", "path": "/evaluations/fairness/metrics/demographic_parity_ratio", "value": 0.1},
	])
	codes(inp) == {"EvaluationFailed"}
}

test_metric_missing_denies if {
	inp := patched([{"op": "remove", "path": "/evaluations/fairness/metrics/equalized_odds_difference"}])
	codes(inp) == {"MetricMissing"}
	messages(inp, "MetricMissing") == {"fairness: the report has no equalized_odds_difference metric, so its rule cannot be checked"}
}

test_metric_missing_allows_unneeded_metric if {
	inp := patched([{"op": "remove", "path": "/evaluations/fairness/metrics/accuracy"}])
	allowed(inp)
}

test_metric_undefined_denies_with_reason if {
	inp := patched([
		{"op": "replace", "path": "/evaluations/fairness/metrics/demographic_parity_ratio", "value": null},
		{"op": "add", "path": "/evaluations/fairness/undefined", "value": {"demographic_parity_ratio": "no group has a positive prediction"}},
	])
	codes(inp) == {"MetricUndefined"}
	messages(inp, "MetricUndefined") == {"fairness: demographic_parity_ratio is undefined (no group has a positive prediction), so its rule cannot be checked"}
}

test_metric_undefined_denies_non_number if {
	inp := with_metric("robustness", "abstain_rate", "0.1")
	codes(inp) == {"MetricUndefined"}
}

test_metric_undefined_allows_null_unneeded_metric if {
	allowed(with_metric("fairness", "accuracy", null))
}
