# Text model rules (docs/evaluations.md, "Text models"): entity F1 across
# groups of a token classifier (Mishra et al. 2020), Borkan et al. 2019's
# bias AUCs of a two-label text classifier, counterfactual token fairness
# (Garg et al. 2019), and robustness to typos (a DeepWordBug-style attack and
# accuracy under random typos). A rule applies when its metric is in a
# succeeded report; needed_metrics (promotion.rego) denies a report of a
# text model that lacks one.
#
# The package's one METADATA block is in promotion.rego: OPA allows a single
# package-scoped annotation per package across all its files.
package rai.promotion

# detail(r, path, default) reads the report's details, full or compact.
detail(r, path, fallback) := object.get(object.get(r, "details", {}), path, fallback)

violations contains v if {
	value := metric("fairness", "entity_f1_gap")
	maximum := threshold("entity_f1_gap_max")
	value > maximum
	r := report("fairness")
	worst_f1 := object.get(r.metrics, "entity_f1_min", null)
	v := {
		"code": "FairnessEntityF1Gap",
		"message": sprintf("fairness: entity_f1_gap %v exceeds the maximum %v (%s): group %q has entity F1 %v, group %q %v", [
			shown(value), maximum, threshold_source("entity_f1_gap_max"),
			detail(r, "worst_group", "?"), shown_or(worst_f1),
			detail(r, "best_group", "?"), shown_or(sum_or_null(worst_f1, value)),
		]),
	}
}

sum_or_null(a, b) := a + b if {
	is_number(a)
	is_number(b)
} else := null

# bias_auc_rules: metric, threshold key, code, what a low value means.
bias_auc_rules := [
	["subgroup_auc_min", "subgroup_auc", "FairnessSubgroupAUC", "the model separates poorly within the group"],
	["bpsn_auc_min", "bpsn_auc", "FairnessBPSNAUC", "negative texts of the group score like positive ones: false positives"],
	["bnsp_auc_min", "bnsp_auc", "FairnessBNSPAUC", "positive texts of the group score like negative ones: false negatives"],
]

# bias_auc_worst(r, name) is the group with the lowest AUC, from the full
# details (bias_aucs.worst) or the compact ones (bias_auc_worst).
bias_auc_worst(r, name) := g if {
	g := detail(r, ["bias_aucs", "worst", name], null)
	is_string(g)
} else := g if {
	g := detail(r, ["bias_auc_worst", name], null)
	is_string(g)
} else := "?"

violations contains v if {
	some rule in bias_auc_rules
	[name, auc, code, meaning] := rule
	value := metric("fairness", name)
	minimum := threshold(name)
	value < minimum
	v := {
		"code": code,
		"message": sprintf("fairness: %s %v is below the minimum %v (%s): group %q (%s)", [
			name, shown(value), minimum, threshold_source(name),
			bias_auc_worst(report("fairness"), auc), meaning,
		]),
	}
}

violations contains v if {
	value := metric("counterfactual", "counterfactual_flip_rate")
	maximum := threshold("counterfactual_flip_rate_max")
	value > maximum
	v := {
		"code": "CounterfactualFlipRate",
		"message": sprintf("counterfactual: counterfactual_flip_rate %v exceeds the maximum %v (%s): swapping %s changes that share of the decisions", [
			shown(value), maximum, threshold_source("counterfactual_flip_rate_max"),
			detail(report("counterfactual"), "worst_flip_pair", "?"),
		]),
	}
}

violations contains v if {
	value := metric("counterfactual", "counterfactual_mean_abs_delta")
	maximum := threshold("counterfactual_mean_abs_delta_max")
	value > maximum
	v := {
		"code": "CounterfactualScoreDelta",
		"message": sprintf("counterfactual: counterfactual_mean_abs_delta %v exceeds the maximum %v (%s): swapping %s moves the score that much on average", [
			shown(value), maximum, threshold_source("counterfactual_mean_abs_delta_max"),
			detail(report("counterfactual"), "worst_pair", "?"),
		]),
	}
}

violations contains v if {
	value := metric("robustness", "attack_success_rate")
	maximum := threshold("attack_success_rate_max")
	value > maximum
	r := report("robustness")
	v := {
		"code": "RobustnessAttackSuccessRate",
		"message": sprintf("robustness: attack_success_rate %v exceeds the maximum %v (%s): that share of the correctly classified texts changes prediction with at most %v character edits", [
			shown(value), maximum, threshold_source("attack_success_rate_max"),
			object.get(object.get(r, "parameters", {}), "max_edits", "?"),
		]),
	}
}

violations contains v if {
	value := metric("robustness", "typo_accuracy")
	minimum := threshold("typo_accuracy_min")
	value < minimum
	r := report("robustness")
	v := {
		"code": "RobustnessTypoAccuracy",
		"message": sprintf("robustness: typo_accuracy %v is below the minimum %v (%s; clean_accuracy %v, typo rate %v)", [
			shown(value), minimum, threshold_source("typo_accuracy_min"),
			shown_or(object.get(r.metrics, "clean_accuracy", null)),
			object.get(object.get(r, "parameters", {}), "typo_rate", "?"),
		]),
	}
}

# shown_or(x) is shown(x) for a number, else x as it is.
shown_or(x) := shown(x) if is_number(x)

shown_or(x) := x if not is_number(x)
