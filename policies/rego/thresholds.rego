# Thresholds: threshold(key) resolves a number by precedence:
# input.thresholds (the model's spec.policy.thresholds) first, then
# data.rai.thresholds (policy data: per-model ConfigMap over cluster
# ConfigMap), then threshold_defaults.
#
# The package's one METADATA block is in promotion.rego: OPA allows a single
# package-scoped annotation per package across all its files.
package rai.promotion

# threshold_defaults holds the built-in thresholds. Custom modules may add
# keys of their own, e.g. `threshold_defaults.rows_min := 5000`; defining a
# key twice with different values is an evaluation error (the gate fails
# closed).
threshold_defaults[key] := value if {
	some key, value in {
		"demographic_parity_ratio_min": 0.8,
		"statistical_parity_difference_max": 0.1,
		"disparate_impact_ratio_min": 0.8,
		"disparate_impact_ratio_max": 1.2,
		"equalized_odds_difference_max": 0.1,
		"certified_radius": 0.25,
		"certified_accuracy_min": 0.6,
		"abstain_rate_max": 0.2,
	}
}

# threshold_raw(key) is the configured value before conversion.
threshold_raw(key) := input.thresholds[key] if {
	_ = input.thresholds[key]
} else := data.rai.thresholds[key] if {
	_ = data.rai.thresholds[key]
} else := threshold_defaults[key]

# threshold_source(key) names where threshold(key) came from, for messages.
threshold_source(key) := sprintf("spec.policy.thresholds.%s", [key]) if {
	_ = input.thresholds[key]
} else := sprintf("policy data rai.thresholds.%s", [key]) if {
	_ = data.rai.thresholds[key]
} else := "policy default" if {
	_ = threshold_defaults[key]
}

# threshold(key) is the effective threshold as a number. It is undefined when
# the configured value is not numeric; ThresholdInvalid then denies.
threshold(key) := number(threshold_raw(key))

violations contains v if {
	some key, raw in object.get(input, "thresholds", {})
	not number(raw)
	v := {
		"code": "ThresholdInvalid",
		"message": sprintf("spec.policy.thresholds.%s is %s: not a number", [key, json.marshal(raw)]),
	}
}

violations contains v if {
	some key, raw in data.rai.thresholds
	not number(raw)
	v := {
		"code": "ThresholdInvalid",
		"message": sprintf("policy data rai.thresholds.%s is %s: not a number", [key, json.marshal(raw)]),
	}
}
