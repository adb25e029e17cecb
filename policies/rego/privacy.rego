# Privacy rules: differential privacy of a succeeded privacy report: epsilon
# within the version's own limit (input.privacy) and within what remains of
# its PrivacyBudget (input.budget), delta no larger than the one asked for, a
# DP guarantee when privacy was requested, and no membership-inference audit
# that contradicts the claimed epsilon.
#
# The package's one METADATA block is in promotion.rego: OPA allows a single
# package-scoped annotation per package across all its files.
package rai.promotion

# The numeric input fields that the privacy rules convert from strings.
privacy_number_fields := [
	["privacy", "maxEpsilon"],
	["privacy", "delta"],
	["budget", "epsilonTotal"],
	["budget", "deltaTotal"],
	["budget", "epsilonSpent"],
	["budget", "epsilonRemaining"],
	["budget", "epsilonMarginal"],
	["budget", "epsilonComposed"],
]

violations contains v if {
	some path in privacy_number_fields
	raw := object.get(input, path, null)
	raw != null
	not number(raw)
	v := {
		"code": "InputInvalid",
		"message": sprintf("%s.%s is %s: not a number", [path[0], path[1], json.marshal(raw)]),
	}
}

violations contains v if {
	"privacy" in requested
	r := report("privacy")
	"epsilon" in object.keys(object.get(r, "metrics", {}))
	r.metrics.epsilon == null
	v := {
		"code": "PrivacyNoGuarantee",
		"message": sprintf("privacy: the model has no differential-privacy guarantee (%s), but a privacy evaluation was requested", [undefined_reason(r, "epsilon")]),
	}
}

violations contains v if {
	r := report("privacy")
	not "epsilon" in object.keys(object.get(r, "metrics", {}))
	v := {
		"code": "MetricMissing",
		"message": "privacy: the report has no epsilon metric, so the privacy rules cannot be checked",
	}
}

violations contains v if {
	epsilon := metric("privacy", "epsilon")
	limit := number(input.privacy.maxEpsilon)
	epsilon > limit
	v := {
		"code": "PrivacyEpsilonExceeded",
		"message": sprintf("privacy: epsilon %v exceeds the version's limit %v (privacy.maxEpsilon)", [shown(epsilon), input.privacy.maxEpsilon]),
	}
}

violations contains v if {
	delta := metric("privacy", "delta")
	limit := number(input.privacy.delta)
	delta > limit
	v := {
		"code": "PrivacyDeltaExceeded",
		"message": sprintf("privacy: epsilon was computed at delta %v, above the version's delta %v", [delta, input.privacy.delta]),
	}
}

# Epsilon means little without the delta it holds at: when a delta limit is
# set, the report must say which delta it used.
violations contains v if {
	metric("privacy", "epsilon")
	not metric("privacy", "delta")
	some path in [["privacy", "delta"], ["budget", "deltaTotal"]]
	object.get(input, path, null) != null
	v := {
		"code": "MetricMissing",
		"message": sprintf("privacy: the report gives no numeric delta, so epsilon cannot be checked against %s.%s", path),
	}
}

violations contains v if {
	epsilon := metric("privacy", "epsilon")
	not input.budget.epsilonMarginal
	remaining := number(input.budget.epsilonRemaining)
	epsilon > remaining
	v := {
		"code": "BudgetExhausted",
		"message": sprintf("privacy: epsilon %v exceeds what remains of PrivacyBudget %s: %v of %v (%v spent)", [
			shown(epsilon), object.get(input.budget, "name", "(unnamed)"), input.budget.epsilonRemaining,
			object.get(input.budget, "epsilonTotal", "?"), object.get(input.budget, "epsilonSpent", "?"),
		]),
	}
}

# With RDP composition the operator gives the version's marginal cost,
# epsilonMarginal: the budget's composed epsilon with this version's RDP curve
# added, minus the composed epsilon without it. It is what the version
# really spends, and can be less than its own epsilon.
violations contains v if {
	metric("privacy", "epsilon")
	charge := number(input.budget.epsilonMarginal)
	remaining := number(input.budget.epsilonRemaining)
	charge > remaining
	v := {
		"code": "BudgetExhausted",
		"message": sprintf("privacy: this version would spend epsilon %v of PrivacyBudget %s (its epsilon %v composed with the earlier charges), but only %v of %v remains (%v spent)", [
			shown(charge), object.get(input.budget, "name", "(unnamed)"), shown(metric("privacy", "epsilon")),
			input.budget.epsilonRemaining, object.get(input.budget, "epsilonTotal", "?"), object.get(input.budget, "epsilonSpent", "?"),
		]),
	}
}

violations contains v if {
	delta := metric("privacy", "delta")
	limit := number(input.budget.deltaTotal)
	delta > limit
	v := {
		"code": "BudgetExhausted",
		"message": sprintf("privacy: delta %v exceeds the delta %v of PrivacyBudget %s", [delta, input.budget.deltaTotal, object.get(input.budget, "name", "(unnamed)")]),
	}
}

# A budget or an epsilon limit without a privacy evaluation cannot be
# checked, and the budget could not be charged.
violations contains v if {
	some field in ["budget", "privacy"]
	is_object(input[field])
	not "privacy" in requested
	v := {
		"code": "EvaluationMissing",
		"message": sprintf("privacy: %s is set but no privacy evaluation was requested, so epsilon is unknown", [field]),
	}
}

violations contains v if {
	epsilon := metric("privacy", "epsilon")
	bound := metric("privacy", "mia_epsilon_lower_bound")
	bound > epsilon
	v := {
		"code": "PrivacyClaimContradicted",
		"message": sprintf("privacy: the membership-inference audit's empirical epsilon lower bound %v exceeds the claimed epsilon %v", [shown(bound), shown(epsilon)]),
	}
}

violations contains v if {
	r := report("privacy")
	"mia_epsilon_lower_bound" in object.keys(object.get(r, "metrics", {}))
	not is_number(r.metrics.mia_epsilon_lower_bound)
	v := {
		"code": "MetricUndefined",
		"message": sprintf("privacy: mia_epsilon_lower_bound is undefined (%s), so the audit cannot confirm the claimed epsilon", [undefined_reason(r, "mia_epsilon_lower_bound")]),
	}
}
