package rai.promotion_test

import data.rai.promotion

low_dpr := with_metric("fairness", "demographic_parity_ratio", 0.62)

# spec(inp, values) sets the model's spec.policy.thresholds (the owner's).
spec(inp, values) := json.patch(inp, [{"op": "add", "path": "/thresholds", "value": values}])

# namespaced(inp, values) sets the namespace ConfigMap's thresholds (the
# owner's).
namespaced(inp, values) := json.patch(inp, [{"op": "add", "path": "/namespaceThresholds", "value": values}])

# platform(inp, values) sets the platform's floors from PromotionPolicies.
platform(inp, values) := json.patch(inp, [{"op": "add", "path": "/platform", "value": {"thresholds": values}}])

production(value) := {"value": value, "source": "PromotionPolicy production"}

dpr_message(value, minimum, source) := sprintf("fairness: demographic_parity_ratio %v is below the minimum %v (%s; the four-fifths rule)", [value, minimum, source])

test_threshold_defaults if {
	promotion.threshold("demographic_parity_ratio_min") == 0.8
	promotion.threshold_source("demographic_parity_ratio_min") == "policy default"
	promotion.threshold("abstain_rate_max") == 0.2
}

test_threshold_direction if {
	promotion.threshold_direction("demographic_parity_ratio_min") == "min"
	promotion.threshold_direction("certified_radius") == "min"
	promotion.threshold_direction("abstain_rate_max") == "max"
	not promotion.threshold_direction("rows")
}

# The fix of issue 13: the model's owner cannot loosen a threshold.
test_threshold_spec_looser_is_not_applied if {
	inp := spec(low_dpr, {"demographic_parity_ratio_min": "0.6"})
	not allowed(inp)
	messages(inp, "FairnessDemographicParity") == {dpr_message(0.62, 0.8, "policy default (spec.policy.thresholds.demographic_parity_ratio_min 0.6 is looser: not applied)")}
}

test_threshold_namespace_looser_is_not_applied if {
	inp := namespaced(low_dpr, {"demographic_parity_ratio_min": 0.5})
	codes(inp) == {"FairnessDemographicParity"}
	messages(inp, "FairnessDemographicParity") == {dpr_message(0.62, 0.8, "policy default (policy ConfigMap rai.thresholds.demographic_parity_ratio_min 0.5 is looser: not applied)")}
}

test_threshold_looser_max_is_not_applied if {
	inp := spec(with_metric("robustness", "abstain_rate", 0.35), {"abstain_rate_max": "0.5"})
	messages(inp, "RobustnessAbstainRate") == {"robustness: abstain_rate 0.35 exceeds the maximum 0.2 (policy default (spec.policy.thresholds.abstain_rate_max 0.5 is looser: not applied))"}
}

test_threshold_both_looser_offers_are_named if {
	inp := namespaced(spec(low_dpr, {"demographic_parity_ratio_min": "0.6"}), {"demographic_parity_ratio_min": "0.5"})
	promotion.threshold_source("demographic_parity_ratio_min") == "policy default (policy ConfigMap rai.thresholds.demographic_parity_ratio_min 0.5 is looser: not applied; spec.policy.thresholds.demographic_parity_ratio_min 0.6 is looser: not applied)" with input as inp
}

test_threshold_data_loosens_default_and_allows if {
	allowed(low_dpr) with data.rai.thresholds as {"demographic_parity_ratio_min": "0.6"}
}

test_threshold_data_json_number_allows if {
	allowed(low_dpr) with data.rai.thresholds as {"demographic_parity_ratio_min": 0.6}
}

test_threshold_spec_tightens_data_and_denies if {
	inp := spec(good, {"demographic_parity_ratio_min": "0.95"})
	msgs := messages(inp, "FairnessDemographicParity") with data.rai.thresholds as {"demographic_parity_ratio_min": "0.5"}
	msgs == {dpr_message(0.9, 0.95, "spec.policy.thresholds.demographic_parity_ratio_min")}
}

test_threshold_namespace_tightens_min_and_denies if {
	inp := namespaced(good, {"demographic_parity_ratio_min": 0.95})
	codes(inp) == {"FairnessDemographicParity"}
	messages(inp, "FairnessDemographicParity") == {dpr_message(0.9, 0.95, "policy ConfigMap rai.thresholds.demographic_parity_ratio_min")}
}

test_threshold_spec_tightens_max_and_denies if {
	inp := spec(good, {"statistical_parity_difference_max": "0.04"})
	codes(inp) == {"FairnessStatisticalParity"}
	messages(inp, "FairnessStatisticalParity") == {"fairness: |statistical_parity_difference| 0.05 exceeds the maximum 0.04 (spec.policy.thresholds.statistical_parity_difference_max)"}
}

test_threshold_namespace_tightens_max_and_denies if {
	inp := namespaced(good, {"abstain_rate_max": "0.05"})
	codes(inp) == {"RobustnessAbstainRate"}
	messages(inp, "RobustnessAbstainRate") == {"robustness: abstain_rate 0.1 exceeds the maximum 0.05 (policy ConfigMap rai.thresholds.abstain_rate_max)"}
}

test_threshold_strictest_offer_wins if {
	both := namespaced(spec(good, {"demographic_parity_ratio_min": "0.85", "abstain_rate_max": "0.1"}), {"demographic_parity_ratio_min": "0.95", "abstain_rate_max": "0.15"})
	promotion.threshold("demographic_parity_ratio_min") == 0.95 with input as both
	promotion.threshold_source("demographic_parity_ratio_min") == "policy ConfigMap rai.thresholds.demographic_parity_ratio_min" with input as both
	promotion.threshold("abstain_rate_max") == 0.1 with input as both
	promotion.threshold_source("abstain_rate_max") == "spec.policy.thresholds.abstain_rate_max" with input as both
}

test_threshold_equal_offers_do_not_conflict if {
	inp := namespaced(spec(good, {"demographic_parity_ratio_min": "0.9", "abstain_rate_max": "0.2"}), {"demographic_parity_ratio_min": 0.9, "abstain_rate_max": 0.2})
	promotion.threshold("demographic_parity_ratio_min") == 0.9 with input as inp
	promotion.threshold_source("demographic_parity_ratio_min") == "spec.policy.thresholds.demographic_parity_ratio_min" with input as inp

	# Equal to the platform's value: the platform's judges, nothing to note.
	promotion.threshold("abstain_rate_max") == 0.2 with input as inp
	promotion.threshold_source("abstain_rate_max") == "policy default" with input as inp
	allowed(inp)
}

test_threshold_platform_wins_over_data_and_defaults if {
	inp := platform(low_dpr, {"demographic_parity_ratio_min": production("0.7"), "abstain_rate_max": production(0.3)})
	ds := {"demographic_parity_ratio_min": "0.5", "abstain_rate_max": "0.05"}
	messages(inp, "FairnessDemographicParity") == {dpr_message(0.62, 0.7, "PromotionPolicy production")} with data.rai.thresholds as ds
	promotion.threshold("abstain_rate_max") == 0.3 with input as inp with data.rai.thresholds as ds
	promotion.threshold_source("abstain_rate_max") == "PromotionPolicy production" with input as inp with data.rai.thresholds as ds

	# Keys the platform's input does not set keep data and defaults.
	promotion.threshold("certified_accuracy_min") == 0.6 with input as inp with data.rai.thresholds as ds
}

test_threshold_platform_may_loosen_a_default if {
	allowed(platform(low_dpr, {"demographic_parity_ratio_min": production("0.6")}))
}

test_threshold_owner_cannot_loosen_platform if {
	inp := spec(platform(low_dpr, {"demographic_parity_ratio_min": production("0.7")}), {"demographic_parity_ratio_min": "0.6"})
	messages(inp, "FairnessDemographicParity") == {dpr_message(0.62, 0.7, "PromotionPolicy production (spec.policy.thresholds.demographic_parity_ratio_min 0.6 is looser: not applied)")}
	tighter := spec(platform(good, {"demographic_parity_ratio_min": production("0.7")}), {"demographic_parity_ratio_min": "0.95"})
	messages(tighter, "FairnessDemographicParity") == {dpr_message(0.9, 0.95, "spec.policy.thresholds.demographic_parity_ratio_min")}
}

test_threshold_platform_without_source_or_object if {
	inp := platform(good, {"demographic_parity_ratio_min": {"value": "0.7"}, "abstain_rate_max": "0.3"})
	promotion.threshold_source("demographic_parity_ratio_min") == "platform policy" with input as inp
	promotion.threshold("abstain_rate_max") == 0.3 with input as inp
	promotion.threshold_source("abstain_rate_max") == "platform policy" with input as inp
}

test_threshold_certified_radius_larger_is_stricter if {
	smaller := spec(good, {"certified_radius": "0.1"})
	promotion.threshold("certified_radius") == 0.25 with input as smaller
	promotion.threshold_source("certified_radius") == "policy default (spec.policy.thresholds.certified_radius 0.1 is looser: not applied)" with input as smaller
	larger := namespaced(good, {"certified_radius": "0.5"})
	promotion.threshold("certified_radius") == 0.5 with input as larger
	codes(larger) == {"RobustnessCertifiedAccuracy"}
}

test_threshold_unknown_direction_ignores_owner if {
	inp := namespaced(spec(good, {"rows": "200"}), {"rows": 50})
	promotion.threshold("rows") == 100 with input as inp with data.rai.thresholds as {"rows": 100}
	promotion.threshold_source("rows") == "policy data rai.thresholds.rows (policy ConfigMap rai.thresholds.rows 50 is not applied: only the platform sets rows; spec.policy.thresholds.rows 200 is not applied: only the platform sets rows)" with input as inp with data.rai.thresholds as {"rows": 100}
}

test_threshold_owner_only_key_is_not_applied if {
	inp := spec(good, {"custom_rows_min": "5000"})
	not promotion.threshold("custom_rows_min") with input as inp
	allowed(inp)
}

test_threshold_invalid_spec_denies if {
	inp := spec(good, {"abstain_rate_max": "twenty percent"})
	codes(inp) == {"ThresholdInvalid"}
	messages(inp, "ThresholdInvalid") == {`spec.policy.thresholds.abstain_rate_max is "twenty percent": not a number`}
}

test_threshold_invalid_spec_never_falls_back_to_default if {
	# 0.62 fails the default 0.8; a broken override must not let it pass
	# and must not be silently replaced by the default either.
	inp := spec(low_dpr, {"demographic_parity_ratio_min": "0.6x"})
	codes(inp) == {"ThresholdInvalid"}
}

test_threshold_invalid_spec_of_unknown_key_denies if {
	codes(spec(good, {"rows": []})) == {"ThresholdInvalid"}
}

test_threshold_invalid_namespace_denies if {
	inp := namespaced(good, {"abstain_rate_max": "lots"})
	codes(inp) == {"ThresholdInvalid"}
	messages(inp, "ThresholdInvalid") == {`policy ConfigMap rai.thresholds.abstain_rate_max is "lots": not a number`}
	codes(namespaced(low_dpr, {"demographic_parity_ratio_min": null})) == {"ThresholdInvalid"}
}

test_threshold_invalid_data_denies if {
	cs := codes(good) with data.rai.thresholds as {"certified_radius": true}
	cs == {"ThresholdInvalid"}
}

test_threshold_invalid_platform_denies if {
	inp := platform(low_dpr, {"demographic_parity_ratio_min": production("high"), "abstain_rate_max": {"source": "PromotionPolicy production"}})
	codes(inp) == {"ThresholdInvalid"}
	messages(inp, "ThresholdInvalid") == {
		`platform threshold demographic_parity_ratio_min (PromotionPolicy production) is "high": not a number`,
		`platform threshold abstain_rate_max (PromotionPolicy production) is null: not a number`,
	}
}

test_threshold_numeric_strings_allow if {
	inp := spec(good, {
		"demographic_parity_ratio_min": " 0.8 ",
		"statistical_parity_difference_max": ".1",
		"equalized_odds_difference_max": "1e-1",
		"abstain_rate_max": "+0.2",
	})
	allowed(inp)
}

test_applied_thresholds_defaults if {
	applied := promotion.applied_thresholds with input as good
	applied == defaults_applied
	count(applied) >= 8
}

# defaults_applied is applied_thresholds of the defaults alone (with those
# of any custom module run with these tests).
defaults_applied := {key: {"value": value, "source": "policy default"} | some key, value in promotion.threshold_defaults}

test_applied_thresholds_sources if {
	inp := namespaced(
		spec(platform(good, {"abstain_rate_max": production("0.3"), "rows": production(10)}), {"demographic_parity_ratio_min": "0.85", "certified_radius": "0.1", "custom_max": "1"}),
		{"equalized_odds_difference_max": 0.05, "abstain_rate_max": "0.25", "certified_accuracy_min": "bad"},
	)
	applied := promotion.applied_thresholds with input as inp with data.rai.thresholds as {"disparate_impact_ratio_max": "1.25", "rows_min": 500}
	applied == object.union(object.remove(defaults_applied, ["certified_accuracy_min"]), {
		"demographic_parity_ratio_min": {"value": 0.85, "source": "spec.policy.thresholds.demographic_parity_ratio_min"},
		"statistical_parity_difference_max": {"value": 0.1, "source": "policy default"},
		"disparate_impact_ratio_min": {"value": 0.8, "source": "policy default"},
		"disparate_impact_ratio_max": {"value": 1.25, "source": "policy data rai.thresholds.disparate_impact_ratio_max"},
		"equalized_odds_difference_max": {"value": 0.05, "source": "policy ConfigMap rai.thresholds.equalized_odds_difference_max"},
		"certified_radius": {"value": 0.25, "source": "policy default (spec.policy.thresholds.certified_radius 0.1 is looser: not applied)"},
		"abstain_rate_max": {"value": 0.25, "source": "policy ConfigMap rai.thresholds.abstain_rate_max"},
		"rows": {"value": 10, "source": "PromotionPolicy production"},
		"rows_min": {"value": 500, "source": "policy data rai.thresholds.rows_min"},
	})
}

test_number_conversion if {
	promotion.number("1e-5") == 0.00001
	promotion.number("3") == 3
	promotion.number(2.5) == 2.5
	not promotion.number("NaN")
	not promotion.number("Inf")
	not promotion.number("0x10")
	not promotion.number("")
	not promotion.number(null)
	not promotion.number(true)
}
