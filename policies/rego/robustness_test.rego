package rai.promotion_test

with_radii(radii) := patched([{"op": "replace", "path": "/evaluations/robustness/details/radii", "value": radii}])

test_robustness_certified_accuracy_allows_at_minimum if {
	allowed(with_radii([{"radius": 0.25, "certified_accuracy": 0.6}]))
}

test_robustness_certified_accuracy_denies_below_minimum if {
	inp := with_radii([{"radius": 0, "certified_accuracy": 0.9}, {"radius": 0.25, "certified_accuracy": 0.55}])
	codes(inp) == {"RobustnessCertifiedAccuracy"}
	messages(inp, "RobustnessCertifiedAccuracy") == {"robustness: certified_accuracy 0.55 at radius 0.25 is below the minimum 0.6 (policy default)"}
}

test_robustness_uses_next_larger_radius_as_lower_bound if {
	allowed(with_radii([{"radius": 0.1, "certified_accuracy": 0.5}, {"radius": 0.3, "certified_accuracy": 0.65}, {"radius": 1, "certified_accuracy": 0.1}]))
	inp := with_radii([{"radius": 0.1, "certified_accuracy": 0.9}, {"radius": 0.3, "certified_accuracy": 0.5}])
	messages(inp, "RobustnessCertifiedAccuracy") == {"robustness: certified_accuracy 0.5 at radius 0.3 is below the minimum 0.6 (policy default); measured at the smallest reported radius above 0.25"}
}

test_robustness_configured_radius if {
	inp := json.patch(good, [{"op": "add", "path": "/thresholds", "value": {"certified_radius": "0.5"}}])
	codes(inp) == {"RobustnessCertifiedAccuracy"}

	# The model may raise the radius but not lower the minimum accuracy;
	# the platform may.
	inp2 := json.patch(good, [{"op": "add", "path": "/thresholds", "value": {"certified_radius": "0.5", "certified_accuracy_min": "0.5"}}])
	codes(inp2) == {"RobustnessCertifiedAccuracy"}
	allowed(inp2) with data.rai.thresholds as {"certified_accuracy_min": "0.5"}
}

test_robustness_radius_missing_denies if {
	inp := with_radii([{"radius": 0, "certified_accuracy": 0.9}, {"radius": 0.1, "certified_accuracy": 0.8}])
	codes(inp) == {"MetricMissing"}
	messages(inp, "MetricMissing") == {"robustness: no certified accuracy is reported at radius 0.25 or above (reported radii: [0, 0.1])"}
}

test_robustness_radius_missing_names_truncation if {
	inp := json.patch(with_radii([]), [{"op": "add", "path": "/evaluations/robustness/truncated", "value": true}])
	messages(inp, "MetricMissing") == {"robustness: no certified accuracy is reported at radius 0.25 or above (reported radii: []) (the report's details were truncated)"}
}

test_robustness_certified_accuracy_undefined_denies if {
	inp := with_radii([{"radius": 0.25, "certified_accuracy": null}])
	codes(inp) == {"MetricUndefined"}
	messages(inp, "MetricUndefined") == {"robustness: certified_accuracy at radius 0.25 is undefined, so its rule cannot be checked"}
}

test_robustness_abstain_rate_allows_at_maximum if {
	allowed(with_metric("robustness", "abstain_rate", 0.2))
}

test_robustness_abstain_rate_denies_above_maximum if {
	inp := with_metric("robustness", "abstain_rate", 0.35)
	codes(inp) == {"RobustnessAbstainRate"}
	messages(inp, "RobustnessAbstainRate") == {"robustness: abstain_rate 0.35 exceeds the maximum 0.2 (policy default)"}
}
