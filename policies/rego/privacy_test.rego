package rai.promotion_test

test_privacy_epsilon_allows_within_limit if {
	inp := patched([{"op": "replace", "path": "/budget/epsilonRemaining", "value": "10"}])
	allowed(json.patch(inp, [{"op": "replace", "path": "/evaluations/privacy/metrics/epsilon", "value": 3}]))
}

test_privacy_epsilon_denies_above_limit if {
	inp := patched([
		{"op": "replace", "path": "/budget/epsilonRemaining", "value": "10"},
		{"op": "replace", "path": "/evaluations/privacy/metrics/epsilon", "value": 3.5},
	])
	codes(inp) == {"PrivacyEpsilonExceeded"}
	messages(inp, "PrivacyEpsilonExceeded") == {"privacy: epsilon 3.5 exceeds the version's limit 3 (privacy.maxEpsilon)"}
}

test_privacy_epsilon_no_limit_allows if {
	inp := patched([
		{"op": "remove", "path": "/privacy/maxEpsilon"},
		{"op": "replace", "path": "/budget/epsilonRemaining", "value": "10"},
		{"op": "replace", "path": "/evaluations/privacy/metrics/epsilon", "value": 7},
	])
	allowed(inp)
}

test_privacy_delta_allows_equal if {
	allowed(with_metric("privacy", "delta", 0.00001))
}

test_privacy_delta_denies_weaker_delta if {
	inp := with_metric("privacy", "delta", 0.0001)
	"PrivacyDeltaExceeded" in codes(inp)
	messages(inp, "PrivacyDeltaExceeded") == {"privacy: epsilon was computed at delta 0.0001, above the version's delta 1e-5"}
}

test_privacy_budget_allows_exactly_remaining if {
	allowed(with_metric("privacy", "epsilon", 2.9))
}

test_privacy_budget_exhausted_denies if {
	inp := with_metric("privacy", "epsilon", 3)
	codes(inp) == {"BudgetExhausted"}
	messages(inp, "BudgetExhausted") == {"privacy: epsilon 3 exceeds what remains of PrivacyBudget lending-data: 2.9 of 8 (5.1 spent)"}
}

test_privacy_budget_composed_charge_allows_within_remaining if {
	# epsilon 3 alone exceeds the 2.9 remaining, but composed with the
	# earlier charges it costs only 2.5.
	inp := json.patch(with_metric("privacy", "epsilon", 3), [{"op": "add", "path": "/budget/epsilonMarginal", "value": "2.5"}])
	allowed(inp)
}

test_privacy_budget_composed_charge_denies_over_remaining if {
	inp := json.patch(with_metric("privacy", "epsilon", 2), [{"op": "add", "path": "/budget/epsilonMarginal", "value": "3.5"}])
	codes(inp) == {"BudgetExhausted"}
	messages(inp, "BudgetExhausted") == {"privacy: this version would spend epsilon 3.5 of PrivacyBudget lending-data (its epsilon 2 composed with the earlier charges), but only 2.9 of 8 remains (5.1 spent)"}
}

test_privacy_budget_delta_exceeded_denies if {
	inp := patched([
		{"op": "remove", "path": "/privacy/delta"},
		{"op": "replace", "path": "/evaluations/privacy/metrics/delta", "value": 0.001},
	])
	codes(inp) == {"BudgetExhausted"}
	messages(inp, "BudgetExhausted") == {"privacy: delta 0.001 exceeds the delta 1e-5 of PrivacyBudget lending-data"}
}

test_privacy_no_budget_allows if {
	inp := patched([{"op": "remove", "path": "/budget"}])
	allowed(json.patch(inp, [{"op": "replace", "path": "/evaluations/privacy/metrics/epsilon", "value": 3}]))
}

test_privacy_no_guarantee_denies_with_reason if {
	inp := patched([
		{"op": "replace", "path": "/evaluations/privacy/metrics", "value": {"epsilon": null}},
		{"op": "add", "path": "/evaluations/privacy/undefined", "value": {"epsilon": "model has no differential-privacy guarantee"}},
	])
	codes(inp) == {"PrivacyNoGuarantee"}
	messages(inp, "PrivacyNoGuarantee") == {"privacy: the model has no differential-privacy guarantee (model has no differential-privacy guarantee), but a privacy evaluation was requested"}
}

test_privacy_no_guarantee_allows_when_privacy_not_requested if {
	inp := patched([
		{"op": "remove", "path": "/budget"},
		{"op": "remove", "path": "/privacy"},
		{"op": "remove", "path": "/evaluations/privacy"},
		{"op": "replace", "path": "/requestedEvaluations", "value": ["fairness", "robustness", "explain"]},
	])
	allowed(inp)
}

test_privacy_epsilon_missing_denies if {
	inp := patched([{"op": "remove", "path": "/evaluations/privacy/metrics/epsilon"}])
	codes(inp) == {"MetricMissing"}
}

test_privacy_budget_without_privacy_evaluation_denies if {
	inp := patched([
		{"op": "remove", "path": "/evaluations/privacy"},
		{"op": "remove", "path": "/privacy"},
		{"op": "replace", "path": "/requestedEvaluations", "value": ["fairness"]},
	])
	codes(inp) == {"EvaluationMissing"}
	messages(inp, "EvaluationMissing") == {"privacy: budget is set but no privacy evaluation was requested, so epsilon is unknown"}
}

test_privacy_claim_contradicted_denies if {
	inp := with_metric("privacy", "mia_epsilon_lower_bound", 2.6)
	codes(inp) == {"PrivacyClaimContradicted"}
	messages(inp, "PrivacyClaimContradicted") == {"privacy: the membership-inference audit's empirical epsilon lower bound 2.6 exceeds the claimed epsilon 2.5"}
}

test_privacy_claim_consistent_allows if {
	allowed(with_metric("privacy", "mia_epsilon_lower_bound", 2.5))
}

test_privacy_without_audit_allows if {
	allowed(patched([{"op": "remove", "path": "/evaluations/privacy/metrics/mia_epsilon_lower_bound"}]))
}

test_privacy_audit_undefined_denies if {
	inp := patched([
		{"op": "replace", "path": "/evaluations/privacy/metrics/mia_epsilon_lower_bound", "value": null},
		{"op": "add", "path": "/evaluations/privacy/undefined", "value": {"mia_epsilon_lower_bound": "too few members"}},
	])
	codes(inp) == {"MetricUndefined"}
	messages(inp, "MetricUndefined") == {"privacy: mia_epsilon_lower_bound is undefined (too few members), so the audit cannot confirm the claimed epsilon"}
}

test_privacy_input_invalid_denies if {
	inp := patched([{"op": "replace", "path": "/budget/epsilonRemaining", "value": "lots"}])
	codes(inp) == {"InputInvalid"}
	messages(inp, "InputInvalid") == {`budget.epsilonRemaining is "lots": not a number`}
}

test_privacy_delta_missing_denies_when_limited if {
	inp := patched([{"op": "remove", "path": "/evaluations/privacy/metrics/delta"}])
	codes(inp) == {"MetricMissing"}
	messages(inp, "MetricMissing") == {
		"privacy: the report gives no numeric delta, so epsilon cannot be checked against privacy.delta",
		"privacy: the report gives no numeric delta, so epsilon cannot be checked against budget.deltaTotal",
	}
}

test_privacy_delta_missing_allows_without_limits if {
	inp := patched([
		{"op": "remove", "path": "/evaluations/privacy/metrics/delta"},
		{"op": "remove", "path": "/privacy/delta"},
		{"op": "remove", "path": "/budget/deltaTotal"},
	])
	allowed(inp)
}
