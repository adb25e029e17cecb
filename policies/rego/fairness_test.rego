package rai.promotion_test

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
