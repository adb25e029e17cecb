# Shared fixtures of the default policy's tests: `good` passes every rule;
# each test changes one thing with json.patch.
package rai.promotion_test

import data.rai.promotion

fairness_ok := {
	"schemaVersion": "rai.report/v1",
	"kind": "fairness",
	"state": "Succeeded",
	"dataset": {"sha256": "d", "rows": 6000},
	"metrics": {
		"demographic_parity_ratio": 0.9,
		"statistical_parity_difference": -0.05,
		"disparate_impact_ratio": 0.95,
		"equalized_odds_difference": 0.04,
		"accuracy": 0.81,
	},
}

privacy_ok := {
	"schemaVersion": "rai.report/v1",
	"kind": "privacy",
	"state": "Succeeded",
	"metrics": {"epsilon": 2.5, "delta": 1e-5, "mia_epsilon_lower_bound": 0.4},
}

robustness_ok := {
	"schemaVersion": "rai.report/v1",
	"kind": "robustness",
	"state": "Succeeded",
	"metrics": {"clean_accuracy": 0.9, "abstain_rate": 0.1},
	"details": {"radii": [
		{"radius": 0, "certified_accuracy": 0.85},
		{"radius": 0.25, "certified_accuracy": 0.7},
		{"radius": 0.5, "certified_accuracy": 0.5},
	]},
}

explain_ok := {
	"schemaVersion": "rai.report/v1",
	"kind": "explain",
	"state": "Succeeded",
	"metrics": {},
	"details": {"features": [{"name": "income", "rank": 1}]},
}

good := {
	"model": {"name": "credit", "namespace": "default", "labels": {}, "annotations": {}, "spec": {}},
	"version": "v2",
	"requestedEvaluations": ["fairness", "privacy", "robustness", "explain"],
	"evaluations": {
		"fairness": fairness_ok,
		"privacy": privacy_ok,
		"robustness": robustness_ok,
		"explain": explain_ok,
	},
	"privacy": {"maxEpsilon": "3", "delta": "1e-5"},
	"budget": {
		"name": "lending-data", "epsilonTotal": "8", "deltaTotal": "1e-5",
		"epsilonSpent": "5.1", "epsilonRemaining": "2.9",
	},
	"previous": {"version": "v1", "decisionID": "abc"},
}

# patched(ops) is good with a JSON patch applied.
patched(ops) := json.patch(good, ops)

# with_metric(kind, name, value) sets one metric of one report.
with_metric(kind, name, value) := patched([{"op": "add", "path": sprintf("/evaluations/%s/metrics/%s", [kind, name]), "value": value}])

violations_of(inp) := vs if {
	vs := promotion.violations with input as inp
}

codes(inp) := {v.code | some v in violations_of(inp)}

messages(inp, code) := {v.message | some v in violations_of(inp); v.code == code}

allowed(inp) if {
	promotion.allow with input as inp
}

test_good_input_allows if {
	allowed(good)
	count(violations_of(good)) == 0
}

test_allow_is_false_with_any_violation if {
	not allowed(with_metric("fairness", "demographic_parity_ratio", 0.5))
}
