package rai.promotion_test

# Fixtures of text models: text_good (a two-label text classifier) and
# ner_good (a token classifier) pass every rule; each test changes one thing.

text_params := {"task": "text-classification", "labels": "ok,toxic", "num_labels": "2"}

text_fairness_ok := {
	"schemaVersion": "rai.report/v1",
	"kind": "fairness",
	"state": "Succeeded",
	"parameters": text_params,
	"metrics": {
		"demographic_parity_ratio": 0.9,
		"statistical_parity_difference": -0.05,
		"disparate_impact_ratio": 0.95,
		"equalized_odds_difference": 0.04,
		"subgroup_auc_min": 0.9,
		"bpsn_auc_min": 0.85,
		"bnsp_auc_min": 0.88,
	},
	"details": {"bias_aucs": {"score": "P(toxic)", "groups": [], "worst": {"subgroup_auc": "identity=muslim", "bpsn_auc": "identity=gay", "bnsp_auc": "identity=black"}}},
}

text_counterfactual_ok := {
	"schemaVersion": "rai.report/v1",
	"kind": "counterfactual",
	"state": "Succeeded",
	"parameters": text_params,
	"metrics": {"counterfactual_flip_rate": 0.02, "counterfactual_mean_abs_delta": 0.03, "counterfactual_max_abs_delta": 0.2},
	"details": {"worst_pair": "he/she", "worst_flip_pair": "gay/straight", "pairs": []},
}

text_robustness_ok := {
	"schemaVersion": "rai.report/v1",
	"kind": "robustness",
	"state": "Succeeded",
	"parameters": object.union(text_params, {"max_edits": "3", "typo_rate": "0.1"}),
	"metrics": {"attack_success_rate": 0.3, "clean_accuracy": 0.9, "typo_accuracy": 0.85},
	"details": {"attack": {}, "typos": {}},
}

text_good := json.patch(good, [
	{"op": "add", "path": "/model/spec", "value": {"model": {"task": "text-classification"}}},
	{"op": "replace", "path": "/requestedEvaluations", "value": ["fairness", "privacy", "robustness", "explain", "counterfactual"]},
	{"op": "replace", "path": "/evaluations/fairness", "value": text_fairness_ok},
	{"op": "replace", "path": "/evaluations/robustness", "value": text_robustness_ok},
	{"op": "add", "path": "/evaluations/counterfactual", "value": text_counterfactual_ok},
])

ner_fairness_ok := {
	"schemaVersion": "rai.report/v1",
	"kind": "fairness",
	"state": "Succeeded",
	"parameters": {"task": "token-classification", "labels": "O,B-PER,I-PER", "num_labels": "3"},
	"metrics": {"entity_f1": 0.9, "entity_f1_min": 0.86, "entity_f1_gap": 0.06},
	"details": {"best_group": "origin=a", "worst_group": "origin=b", "groups": []},
}

ner_good := json.patch(good, [
	{"op": "add", "path": "/model/spec", "value": {"model": {"task": "token-classification"}}},
	{"op": "replace", "path": "/requestedEvaluations", "value": ["fairness", "privacy"]},
	{"op": "replace", "path": "/evaluations/fairness", "value": ner_fairness_ok},
	{"op": "remove", "path": "/evaluations/robustness"},
	{"op": "remove", "path": "/evaluations/explain"},
])

text_with(ops) := json.patch(text_good, ops)

text_metric(kind, name, value) := text_with([{"op": "add", "path": sprintf("/evaluations/%s/metrics/%s", [kind, name]), "value": value}])

ner_metric(name, value) := json.patch(ner_good, [{"op": "add", "path": sprintf("/evaluations/fairness/metrics/%s", [name]), "value": value}])

test_text_good_allows if {
	count(violations_of(text_good)) == 0
	allowed(text_good)
}

test_ner_good_allows if {
	count(violations_of(ner_good)) == 0
	allowed(ner_good)
}

# The tabular robustness rules (certified accuracy, abstain rate) do not apply
# to a text classifier's robustness report, which has neither.
test_text_robustness_is_not_judged_by_certification if {
	not "MetricMissing" in codes(text_good)
	not "RobustnessCertifiedAccuracy" in codes(text_good)
}

test_entity_f1_gap_allows_at_maximum if {
	allowed(ner_metric("entity_f1_gap", 0.1))
}

test_entity_f1_gap_denies_above_maximum if {
	inp := json.patch(ner_good, [
		{"op": "add", "path": "/evaluations/fairness/metrics/entity_f1_gap", "value": 0.25},
		{"op": "add", "path": "/evaluations/fairness/metrics/entity_f1_min", "value": 0.6},
	])
	codes(inp) == {"FairnessEntityF1Gap"}
	messages(inp, "FairnessEntityF1Gap") == {`fairness: entity_f1_gap 0.25 exceeds the maximum 0.1 (policy default): group "origin=b" has entity F1 0.6, group "origin=a" 0.85`}
}

test_entity_f1_gap_threshold_tightened_by_the_model if {
	inp := json.patch(ner_good, [{"op": "add", "path": "/thresholds", "value": {"entity_f1_gap_max": "0.05"}}])
	codes(inp) == {"FairnessEntityF1Gap"}
	messages(inp, "FairnessEntityF1Gap") == {`fairness: entity_f1_gap 0.06 exceeds the maximum 0.05 (spec.policy.thresholds.entity_f1_gap_max): group "origin=b" has entity F1 0.86, group "origin=a" 0.92`}
}

test_entity_f1_gap_missing_or_undefined_denies if {
	missing := json.patch(ner_good, [{"op": "remove", "path": "/evaluations/fairness/metrics/entity_f1_gap"}])
	codes(missing) == {"MetricMissing"}
	messages(missing, "MetricMissing") == {"fairness: the report has no entity_f1_gap metric, so its rule cannot be checked"}
	undefined := json.patch(ner_good, [
		{"op": "replace", "path": "/evaluations/fairness/metrics/entity_f1_gap", "value": null},
		{"op": "add", "path": "/evaluations/fairness/undefined", "value": {"entity_f1_gap": "no group has true entities"}},
	])
	messages(undefined, "MetricUndefined") == {"fairness: entity_f1_gap is undefined (no group has true entities), so its rule cannot be checked"}
}

# A token classifier's fairness report has no tabular group metrics, and none
# is asked of it.
test_ner_fairness_needs_no_tabular_metrics if {
	not "MetricMissing" in codes(ner_good)
}

test_bias_aucs_deny_below_minimum if {
	inp := text_with([
		{"op": "replace", "path": "/evaluations/fairness/metrics/bpsn_auc_min", "value": 0.71234},
		{"op": "replace", "path": "/evaluations/fairness/metrics/subgroup_auc_min", "value": 0.79},
	])
	codes(inp) == {"FairnessBPSNAUC", "FairnessSubgroupAUC"}
	messages(inp, "FairnessBPSNAUC") == {`fairness: bpsn_auc_min 0.7123 is below the minimum 0.8 (policy default): group "identity=gay" (negative texts of the group score like positive ones: false positives)`}
	messages(inp, "FairnessSubgroupAUC") == {`fairness: subgroup_auc_min 0.79 is below the minimum 0.8 (policy default): group "identity=muslim" (the model separates poorly within the group)`}
	allowed(text_metric("fairness", "bnsp_auc_min", 0.8))
}

test_bnsp_auc_names_the_compact_worst_group if {
	inp := text_with([
		{"op": "replace", "path": "/evaluations/fairness/metrics/bnsp_auc_min", "value": 0.6},
		{"op": "replace", "path": "/evaluations/fairness/details", "value": {"bias_auc_worst": {"bnsp_auc": "identity=black"}}},
	])
	messages(inp, "FairnessBNSPAUC") == {`fairness: bnsp_auc_min 0.6 is below the minimum 0.8 (policy default): group "identity=black" (positive texts of the group score like negative ones: false negatives)`}
}

test_bias_aucs_missing_deny_for_two_labels_only if {
	inp := text_with([{"op": "remove", "path": "/evaluations/fairness/metrics/bpsn_auc_min"}])
	messages(inp, "MetricMissing") == {"fairness: the report has no bpsn_auc_min metric, so its rule cannot be checked"}

	# A three-label classifier has no bias AUCs and needs none.
	three := text_with([
		{"op": "replace", "path": "/evaluations/fairness/parameters/num_labels", "value": "3"},
		{"op": "remove", "path": "/evaluations/fairness/metrics/subgroup_auc_min"},
		{"op": "remove", "path": "/evaluations/fairness/metrics/bpsn_auc_min"},
		{"op": "remove", "path": "/evaluations/fairness/metrics/bnsp_auc_min"},
	])
	allowed(three)
}

test_bias_auc_undefined_denies if {
	inp := text_with([
		{"op": "replace", "path": "/evaluations/fairness/metrics/subgroup_auc_min", "value": null},
		{"op": "add", "path": "/evaluations/fairness/undefined", "value": {"subgroup_auc_min": "no group has both the examples subgroup_auc needs"}},
	])
	codes(inp) == {"MetricUndefined"}
}

# A text classifier's fairness report is judged by the tabular group rules too.
test_text_fairness_group_rules_apply if {
	codes(text_metric("fairness", "demographic_parity_ratio", 0.5)) == {"FairnessDemographicParity"}
}

test_counterfactual_flip_rate_denies_above_maximum if {
	allowed(text_metric("counterfactual", "counterfactual_flip_rate", 0.05))
	inp := text_metric("counterfactual", "counterfactual_flip_rate", 0.125)
	codes(inp) == {"CounterfactualFlipRate"}
	messages(inp, "CounterfactualFlipRate") == {"counterfactual: counterfactual_flip_rate 0.125 exceeds the maximum 0.05 (policy default): swapping gay/straight changes that share of the decisions"}
}

test_counterfactual_mean_abs_delta_denies_above_maximum if {
	allowed(text_metric("counterfactual", "counterfactual_mean_abs_delta", 0.1))
	inp := text_metric("counterfactual", "counterfactual_mean_abs_delta", 0.2)
	codes(inp) == {"CounterfactualScoreDelta"}
	messages(inp, "CounterfactualScoreDelta") == {"counterfactual: counterfactual_mean_abs_delta 0.2 exceeds the maximum 0.1 (policy default): swapping he/she moves the score that much on average"}
}

test_counterfactual_missing_or_undefined_denies if {
	missing := text_with([{"op": "remove", "path": "/evaluations/counterfactual/metrics/counterfactual_flip_rate"}])
	codes(missing) == {"MetricMissing"}
	undefined := text_with([
		{"op": "replace", "path": "/evaluations/counterfactual/metrics/counterfactual_mean_abs_delta", "value": null},
		{"op": "add", "path": "/evaluations/counterfactual/undefined", "value": {"counterfactual_mean_abs_delta": "no text contains a term of any pair"}},
	])
	messages(undefined, "MetricUndefined") == {"counterfactual: counterfactual_mean_abs_delta is undefined (no text contains a term of any pair), so its rule cannot be checked"}
}

test_counterfactual_platform_may_loosen if {
	inp := text_metric("counterfactual", "counterfactual_flip_rate", 0.08)
	allowed(inp) with data.rai.thresholds as {"counterfactual_flip_rate_max": "0.1"}
}

test_attack_success_rate_denies_above_maximum if {
	allowed(text_metric("robustness", "attack_success_rate", 0.5))
	inp := text_metric("robustness", "attack_success_rate", 0.75)
	codes(inp) == {"RobustnessAttackSuccessRate"}
	messages(inp, "RobustnessAttackSuccessRate") == {"robustness: attack_success_rate 0.75 exceeds the maximum 0.5 (policy default): that share of the correctly classified texts changes prediction with at most 3 character edits"}
}

test_typo_accuracy_denies_below_minimum if {
	allowed(text_metric("robustness", "typo_accuracy", 0.7))
	inp := text_metric("robustness", "typo_accuracy", 0.55)
	codes(inp) == {"RobustnessTypoAccuracy"}
	messages(inp, "RobustnessTypoAccuracy") == {"robustness: typo_accuracy 0.55 is below the minimum 0.7 (policy default; clean_accuracy 0.9, typo rate 0.1)"}
}

test_text_robustness_missing_metric_denies if {
	inp := text_with([{"op": "remove", "path": "/evaluations/robustness/metrics/typo_accuracy"}])
	messages(inp, "MetricMissing") == {"robustness: the report has no typo_accuracy metric, so its rule cannot be checked"}
	undefined := text_with([
		{"op": "replace", "path": "/evaluations/robustness/metrics/attack_success_rate", "value": null},
		{"op": "add", "path": "/evaluations/robustness/undefined", "value": {"attack_success_rate": "no text was attacked (--attack-rows 0)"}},
	])
	codes(undefined) == {"MetricUndefined"}
}

# Without parameters (a compact report that lost them) the model's spec says
# the task.
test_task_from_the_spec_when_the_report_has_no_parameters if {
	inp := text_with([{"op": "remove", "path": "/evaluations/robustness/parameters"}])
	codes(inp) == set()
	tabular := json.patch(good, [{"op": "remove", "path": "/evaluations/robustness/metrics/abstain_rate"}])
	codes(tabular) == {"MetricMissing"}
}

test_failed_counterfactual_denies if {
	inp := text_with([{"op": "replace", "path": "/evaluations/counterfactual", "value": {"kind": "counterfactual", "state": "Error", "message": "term pairs: line 3: an empty term"}}])
	codes(inp) == {"EvaluationFailed"}
}
