# Thresholds: threshold(key) is the number a rule judges with, and
# threshold_source(key) says where it came from.
#
# Separation of duties: the model's owner is the person the gate judges, so
# what the owner sets may only tighten what the platform set.
#
# - The platform's value of a key is input.platform.thresholds[key] (the
#   floors of the cluster-scoped PromotionPolicies that select the model, the
#   strictest already chosen by the operator), else data.rai.thresholds[key]
#   (the cluster policy ConfigMap and the PromotionPolicies' data), else
#   threshold_defaults[key].
# - The owner's offers are input.thresholds[key] (the model's
#   spec.policy.thresholds) and input.namespaceThresholds[key] (the
#   namespace's policy ConfigMap). An offer applies only when it is stricter
#   than the platform's value: larger for a key ending in _min and for
#   certified_radius, smaller for a key ending in _max. For a key of another
#   name the direction is unknown and only the platform's value applies. An
#   offer for a key that has no platform value is not applied either.
# - The strictest of the platform's value and the stricter offers judges. An
#   offer that is not applied is named in threshold_source(key).
# - A value that is not a number denies (ThresholdInvalid) and leaves the
#   key's threshold undefined: nothing is silently used in its place.
#
# applied_thresholds reports every key's effective value and source.
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
		"drift_psi_max": 0.25,
		"drift_ks_p_value_min": 0.01,
		"live_demographic_parity_ratio_min": 0.8,
		"entity_f1_gap_max": 0.1,
		"subgroup_auc_min": 0.8,
		"bpsn_auc_min": 0.8,
		"bnsp_auc_min": 0.8,
		"counterfactual_flip_rate_max": 0.05,
		"counterfactual_mean_abs_delta_max": 0.1,
		"attack_success_rate_max": 0.5,
		"typo_accuracy_min": 0.7,
	}
}

# threshold_direction(key) is "min" when a larger value of key is stricter
# and "max" when a smaller one is; it is undefined for any other key.
threshold_direction(key) := "min" if {
	endswith(key, "_min")
} else := "min" if {
	key == "certified_radius"
} else := "max" if {
	endswith(key, "_max")
}

# stricter(key, a, b) is true when a is a stricter value of key than b.
stricter(key, a, b) if {
	threshold_direction(key) == "min"
	a > b
}

stricter(key, a, b) if {
	threshold_direction(key) == "max"
	a < b
}

# platform_floors are the platform's values the operator passed in
# input.platform.thresholds: key -> {"raw": value, "source": source}. An
# entry is {"value", "source"}; a bare value is read as its value.
platform_floors[key] := {"raw": floor_raw(entry), "source": floor_source(entry)} if {
	some key, entry in object.get(input, ["platform", "thresholds"], {})
}

floor_raw(entry) := object.get(entry, "value", null) if {
	is_object(entry)
} else := entry

floor_source(entry) := entry.source if {
	is_string(entry.source)
	entry.source != ""
} else := "platform policy"

# platform_threshold(key) is the platform's value of key, {"raw", "source"}.
platform_threshold(key) := platform_floors[key] if {
	_ = platform_floors[key]
} else := {"raw": data.rai.thresholds[key], "source": sprintf("policy data rai.thresholds.%s", [key])} if {
	_ = data.rai.thresholds[key]
} else := {"raw": threshold_defaults[key], "source": "policy default"}

# tenant_offers are the owner's values of every key. rank orders equal
# offers: the model's spec before its namespace's ConfigMap.
tenant_offers contains {"key": key, "raw": raw, "rank": 0, "source": sprintf("spec.policy.thresholds.%s", [key])} if {
	some key, raw in object.get(input, "thresholds", {})
}

tenant_offers contains {"key": key, "raw": raw, "rank": 1, "source": sprintf("policy ConfigMap rai.thresholds.%s", [key])} if {
	some key, raw in object.get(input, "namespaceThresholds", {})
}

# tenant_offer_invalid(key) is true when an offer of key is not a number.
tenant_offer_invalid(key) if {
	some o in tenant_offers
	o.key == key
	not number(o.raw)
}

# threshold_choice(key) is the value that judges key: {"value", "source"}.
threshold_choice(key) := choice if {
	p := platform_threshold(key)
	base := number(p.raw)
	not tenant_offer_invalid(key)
	offers := [{"value": number(o.raw), "rank": o.rank, "source": o.source} |
		some o in tenant_offers
		o.key == key
	]
	tighter := [o | some o in offers; stricter(key, o.value, base)]
	choice := chosen(key, {"value": base, "source": p.source}, offers, tighter)
}

# chosen is the platform's value when no offer is stricter, with the offers
# that were not applied named in its source.
chosen(key, platform, offers, tighter) := {"value": platform.value, "source": source} if {
	count(tighter) == 0
	notes := sort([not_applied(key, o) | some o in offers; o.value != platform.value])
	source := with_notes(platform.source, notes)
}

# chosen is otherwise the strictest offer; of equal offers, the lowest rank.
chosen(key, _, _, tighter) := {"value": o.value, "source": o.source} if {
	count(tighter) > 0
	best := strictest(key, [x.value | some x in tighter])
	rank := min([x.rank | some x in tighter; x.value == best])
	some o in tighter
	o.value == best
	o.rank == rank
}

strictest(key, values) := max(values) if threshold_direction(key) == "min"

strictest(key, values) := min(values) if threshold_direction(key) == "max"

not_applied(key, o) := sprintf("%s %v is looser: not applied", [o.source, o.value]) if {
	threshold_direction(key)
} else := sprintf("%s %v is not applied: only the platform sets %s", [o.source, o.value, key])

with_notes(source, notes) := source if {
	count(notes) == 0
} else := sprintf("%s (%s)", [source, concat("; ", notes)])

# threshold(key) is the effective threshold as a number. It is undefined when
# a value of key is not numeric; ThresholdInvalid then denies. (It reads
# applied_thresholds, which is evaluated once per decision.)
threshold(key) := applied_thresholds[key].value

# threshold_source(key) names where threshold(key) came from, for messages.
threshold_source(key) := applied_thresholds[key].source

# threshold_keys are the keys the platform has a value for.
threshold_keys contains key if some key, _ in threshold_defaults

threshold_keys contains key if some key, _ in data.rai.thresholds

threshold_keys contains key if some key, _ in platform_floors

# applied_thresholds is every effective threshold, key -> {"value", "source"}:
# what the gate judged with, for the model's status. A key whose value is
# not a number is absent (ThresholdInvalid denies).
applied_thresholds := {key: threshold_choice(key) | some key in threshold_keys}

violations contains v if {
	some key, raw in object.get(input, "thresholds", {})
	not number(raw)
	v := {
		"code": "ThresholdInvalid",
		"message": sprintf("spec.policy.thresholds.%s is %s: not a number", [key, json.marshal(raw)]),
	}
}

violations contains v if {
	some key, raw in object.get(input, "namespaceThresholds", {})
	not number(raw)
	v := {
		"code": "ThresholdInvalid",
		"message": sprintf("policy ConfigMap rai.thresholds.%s is %s: not a number", [key, json.marshal(raw)]),
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

violations contains v if {
	some key, given in platform_floors
	not number(given.raw)
	v := {
		"code": "ThresholdInvalid",
		"message": sprintf("platform threshold %s (%s) is %s: not a number", [key, given.source, json.marshal(given.raw)]),
	}
}
