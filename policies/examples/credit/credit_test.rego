package rai.credit_test

import data.rai.promotion

fairness := {
	"kind": "fairness",
	"state": "Succeeded",
	"dataset": {"sha256": "d", "rows": 5000},
	"metrics": {
		"demographic_parity_ratio": 0.9,
		"statistical_parity_difference": 0.02,
		"disparate_impact_ratio": 1.05,
		"equalized_odds_difference": 0.03,
	},
	"details": {
		"min_group_count": 100,
		"groups": [
			{"name": "sex=female", "values": {"sex": "female"}, "count": 2400},
			{"name": "sex=male", "values": {"sex": "male"}, "count": 2500},
			{"name": "sex=other", "values": {"sex": "other"}, "count": 100},
		],
	},
}

credit := {
	"model": {"name": "loans", "namespace": "risk", "labels": {"policy.example.com/domain": "credit"}},
	"version": "v1",
	"requestedEvaluations": ["fairness"],
	"evaluations": {"fairness": fairness},
}

codes(inp) := {v.code | some v in promotion.violations with input as inp}

messages(inp, code) := {v.message |
	some v in promotion.violations with input as inp
	v.code == code
}

test_credit_model_with_enough_rows_allows if {
	promotion.allow with input as credit
}

test_credit_evaluation_rows_denies if {
	inp := json.patch(credit, [{"op": "replace", "path": "/evaluations/fairness/dataset/rows", "value": 4999}])
	codes(inp) == {"CreditEvaluationRows"}
	messages(inp, "CreditEvaluationRows") == {"credit: the fairness evaluation used 4999 rows; credit models need at least 5000 (policy default)"}
}

test_credit_group_rows_denies if {
	inp := json.patch(credit, [{"op": "replace", "path": "/evaluations/fairness/details/groups/2/count", "value": 99}])
	codes(inp) == {"CreditGroupRows"}
	messages(inp, "CreditGroupRows") == {"credit: sensitive group sex=other has 99 rows; every group needs at least 100 (policy default)"}
}

test_credit_unlisted_small_group_denies if {
	inp := json.patch(credit, [
		{"op": "replace", "path": "/evaluations/fairness/details/min_group_count", "value": 40},
		{"op": "add", "path": "/evaluations/fairness/truncated", "value": true},
	])
	messages(inp, "CreditGroupRows") == {"credit: the smallest sensitive group has 40 rows; every group needs at least 100 (policy default)"}
}

test_credit_fairness_required if {
	inp := json.patch(credit, [
		{"op": "replace", "path": "/requestedEvaluations", "value": []},
		{"op": "remove", "path": "/evaluations/fairness"},
	])
	codes(inp) == {"CreditFairnessRequired"}
}

test_credit_rules_ignore_other_models if {
	inp := json.patch(credit, [
		{"op": "replace", "path": "/model/labels", "value": {}},
		{"op": "replace", "path": "/evaluations/fairness/dataset/rows", "value": 10},
	])
	promotion.allow with input as inp
}

test_credit_spec_threshold_raises_rows if {
	inp := json.patch(credit, [{"op": "add", "path": "/thresholds", "value": {"credit_evaluation_rows_min": "10000"}}])
	messages(inp, "CreditEvaluationRows") == {"credit: the fairness evaluation used 5000 rows; credit models need at least 10000 (spec.policy.thresholds.credit_evaluation_rows_min)"}
}

test_credit_data_threshold_lowers_group_rows if {
	inp := json.patch(credit, [{"op": "replace", "path": "/evaluations/fairness/details/groups/2/count", "value": 60}])
	promotion.allow with input as inp with data.rai.thresholds as {"credit_group_rows_min": "50"}
}
