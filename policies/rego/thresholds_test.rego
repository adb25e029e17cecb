package rai.promotion_test

import data.rai.promotion

low_dpr := with_metric("fairness", "demographic_parity_ratio", 0.62)

test_threshold_defaults if {
	promotion.threshold("demographic_parity_ratio_min") == 0.8
	promotion.threshold_source("demographic_parity_ratio_min") == "policy default"
	promotion.threshold("abstain_rate_max") == 0.2
}

test_threshold_spec_overrides_default_and_allows if {
	inp := json.patch(low_dpr, [{"op": "add", "path": "/thresholds", "value": {"demographic_parity_ratio_min": "0.6"}}])
	allowed(inp)
}

test_threshold_data_overrides_default_and_allows if {
	allowed(low_dpr) with data.rai.thresholds as {"demographic_parity_ratio_min": "0.6"}
}

test_threshold_data_json_number_allows if {
	allowed(low_dpr) with data.rai.thresholds as {"demographic_parity_ratio_min": 0.6}
}

test_threshold_spec_overrides_data_and_denies if {
	inp := json.patch(good, [{"op": "add", "path": "/thresholds", "value": {"demographic_parity_ratio_min": "0.95"}}])
	msgs := messages(inp, "FairnessDemographicParity") with data.rai.thresholds as {"demographic_parity_ratio_min": "0.5"}
	msgs == {"fairness: demographic_parity_ratio 0.9 is below the minimum 0.95 (spec.policy.thresholds.demographic_parity_ratio_min; the four-fifths rule)"}
}

test_threshold_data_source_named_in_message if {
	msgs := messages(good, "FairnessDemographicParity") with data.rai.thresholds as {"demographic_parity_ratio_min": "0.95"}
	msgs == {"fairness: demographic_parity_ratio 0.9 is below the minimum 0.95 (policy data rai.thresholds.demographic_parity_ratio_min; the four-fifths rule)"}
}

test_threshold_invalid_spec_denies if {
	inp := json.patch(good, [{"op": "add", "path": "/thresholds", "value": {"abstain_rate_max": "twenty percent"}}])
	codes(inp) == {"ThresholdInvalid"}
	messages(inp, "ThresholdInvalid") == {`spec.policy.thresholds.abstain_rate_max is "twenty percent": not a number`}
}

test_threshold_invalid_spec_never_falls_back_to_default if {
	# 0.62 fails the default 0.8; a broken override must not let it pass
	# and must not be silently replaced by the default either.
	inp := json.patch(low_dpr, [{"op": "add", "path": "/thresholds", "value": {"demographic_parity_ratio_min": "0.6x"}}])
	codes(inp) == {"ThresholdInvalid"}
}

test_threshold_invalid_data_denies if {
	cs := codes(good) with data.rai.thresholds as {"certified_radius": true}
	cs == {"ThresholdInvalid"}
}

test_threshold_numeric_strings_allow if {
	inp := json.patch(good, [{"op": "add", "path": "/thresholds", "value": {
		"demographic_parity_ratio_min": " 0.8 ",
		"statistical_parity_difference_max": ".1",
		"equalized_odds_difference_max": "1e-1",
		"abstain_rate_max": "+0.2",
	}}])
	allowed(inp)
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
