package rai.promotion_test

import data.rai.promotion

test_fairness_demographic_parity_allows_at_minimum if {
	allowed(with_metric("fairness", "demographic_parity_ratio", 0.8))
}

test_fairness_demographic_parity_denies_below_minimum if {
	inp := with_metric("fairness", "demographic_parity_ratio", 0.62)
	codes(inp) == {"FairnessDemographicParity"}
	messages(inp, "FairnessDemographicParity") == {"fairness: demographic_parity_ratio 0.62 is below the minimum 0.8 (policy default; the four-fifths rule)"}
}

test_fairness_messages_round_measured_values if {
	inp := with_metric("fairness", "demographic_parity_ratio", 0.6825631761911692)
	messages(inp, "FairnessDemographicParity") == {"fairness: demographic_parity_ratio 0.6826 is below the minimum 0.8 (policy default; the four-fifths rule)"}
}

test_shown_keeps_small_values if {
	data.rai.promotion.shown(0.00002) == 0.00002
	data.rai.promotion.shown(27.27264858552605) == 27.2726
}

test_fairness_statistical_parity_allows_at_bounds if {
	allowed(with_metric("fairness", "statistical_parity_difference", -0.1))
	allowed(with_metric("fairness", "statistical_parity_difference", 0.1))
}

test_fairness_statistical_parity_denies_either_sign if {
	codes(with_metric("fairness", "statistical_parity_difference", -0.15)) == {"FairnessStatisticalParity"}
	inp := with_metric("fairness", "statistical_parity_difference", 0.15)
	messages(inp, "FairnessStatisticalParity") == {"fairness: |statistical_parity_difference| 0.15 exceeds the maximum 0.1 (policy default)"}
}

test_fairness_disparate_impact_allows_at_bounds if {
	allowed(with_metric("fairness", "disparate_impact_ratio", 0.8))
	allowed(with_metric("fairness", "disparate_impact_ratio", 1.2))
}

test_fairness_disparate_impact_denies_below if {
	inp := with_metric("fairness", "disparate_impact_ratio", 0.75)
	messages(inp, "FairnessDisparateImpact") == {"fairness: disparate_impact_ratio 0.75 is below the minimum 0.8 (policy default)"}
	codes(inp) == {"FairnessDisparateImpact"}
}

test_fairness_disparate_impact_denies_above if {
	inp := with_metric("fairness", "disparate_impact_ratio", 1.3)
	messages(inp, "FairnessDisparateImpact") == {"fairness: disparate_impact_ratio 1.3 is above the maximum 1.2 (policy default)"}
}

test_fairness_equalized_odds_allows_at_maximum if {
	allowed(with_metric("fairness", "equalized_odds_difference", 0.1))
}

test_fairness_equalized_odds_denies_above_maximum if {
	inp := with_metric("fairness", "equalized_odds_difference", 0.11)
	codes(inp) == {"FairnessEqualizedOdds"}
	messages(inp, "FairnessEqualizedOdds") == {"fairness: equalized_odds_difference 0.11 exceeds the maximum 0.1 (policy default)"}
}

test_fairness_rules_all_report_at_once if {
	inp := patched([{"op": "replace", "path": "/evaluations/fairness/metrics", "value": {
		"demographic_parity_ratio": 0.5,
		"statistical_parity_difference": 0.3,
		"disparate_impact_ratio": 0.5,
		"equalized_odds_difference": 0.3,
	}}])
	codes(inp) == {"FairnessDemographicParity", "FairnessStatisticalParity", "FairnessDisparateImpact", "FairnessEqualizedOdds"}
}

# with_interval(name, value, lower, upper) sets a fairness metric and its
# 95% interval.
with_interval(name, value, lower, upper) := json.patch(unjudged_interval(name, value, lower, upper), [{
	"op": "add", "path": "/platform", "value": {"confidenceIntervals": "Inconclusive"},
}])

# unjudged_interval is with_interval without the platform's setting.
unjudged_interval(name, value, lower, upper) := json.patch(with_metric("fairness", name, value), [{
	"op": "add", "path": "/evaluations/fairness/intervals",
	"value": {name: {"lower": lower, "upper": upper, "level": 0.95, "method": "percentile bootstrap"}},
}])

inconclusive_of(inp) := fs if {
	fs := promotion.inconclusive with input as inp
}

test_fairness_interval_straddling_minimum_is_inconclusive if {
	inp := with_interval("demographic_parity_ratio", 0.82, 0.78, 0.86)
	count(violations_of(inp)) == 0
	inconclusive_of(inp) == {{
		"code": "FairnessDemographicParity",
		"message": "fairness: demographic_parity_ratio 0.82 meets the minimum 0.8 (policy default), but its 95% confidence interval [0.78, 0.86] reaches below it: approve only if the margin is enough",
	}}
}

test_fairness_interval_clear_of_threshold_is_conclusive if {
	count(inconclusive_of(with_interval("demographic_parity_ratio", 0.9, 0.85, 0.95))) == 0
	count(inconclusive_of(with_interval("equalized_odds_difference", 0.05, 0.03, 0.07))) == 0
	count(inconclusive_of(with_interval("statistical_parity_difference", -0.05, -0.08, -0.02))) == 0
}

test_fairness_point_past_threshold_denies_not_inconclusive if {
	inp := with_interval("demographic_parity_ratio", 0.78, 0.74, 0.83)
	codes(inp) == {"FairnessDemographicParity"}
	count(inconclusive_of(inp)) == 0
}

test_fairness_interval_straddling_maximum_is_inconclusive if {
	eo := with_interval("equalized_odds_difference", 0.09, 0.06, 0.12)
	{f.code | some f in inconclusive_of(eo)} == {"FairnessEqualizedOdds"}
	spd := with_interval("statistical_parity_difference", -0.09, -0.13, -0.05)
	{f.message | some f in inconclusive_of(spd)} == {"fairness: |statistical_parity_difference| 0.09 is within the maximum 0.1 (policy default), but its 95% confidence interval [-0.13, -0.05] reaches past ±0.1: approve only if the margin is enough"}
	di := with_interval("disparate_impact_ratio", 1.15, 1.1, 1.25)
	{f.code | some f in inconclusive_of(di)} == {"FairnessDisparateImpact"}
}

test_fairness_tightened_threshold_judges_the_interval if {
	# The owner's stricter minimum makes a clear interval straddle.
	inp := json.patch(with_interval("demographic_parity_ratio", 0.9, 0.86, 0.94), [{"op": "add", "path": "/thresholds", "value": {"demographic_parity_ratio_min": "0.88"}}])
	{f.code | some f in inconclusive_of(inp)} == {"FairnessDemographicParity"}
}

test_fairness_intervals_ignored_unless_the_platform_asks if {
	inp := unjudged_interval("demographic_parity_ratio", 0.82, 0.78, 0.86)
	count(inconclusive_of(inp)) == 0
	allowed(inp)
	by_data := promotion.inconclusive with input as inp with data.rai.settings.confidence_intervals as "Inconclusive"
	{f.code | some f in by_data} == {"FairnessDemographicParity"}
}
