# METADATA
# title: Promotion gate
# description: |
#   Decides whether a model version may be promoted from its evaluation
#   reports. The operator queries `allow` and `violations`; a version is
#   promoted only when `allow` is true and `violations` is empty.
#   Custom policies add rules to `violations` in this package.
#   The rules are in fairness.rego, privacy.rego, robustness.rego and
#   text.rego (text models), the thresholds in thresholds.rego.
package rai.promotion

# allow is true when no rule reported a violation. Custom modules must not
# define allow: they add to violations, which always deny.
default allow := false

allow if count(violations) == 0

# requested is the set of evaluation kinds the model asked for.
requested := {kind | some kind in object.get(input, "requestedEvaluations", [])}

# report(kind) is the evaluation report of that kind, when it succeeded.
# Rules judge only succeeded reports; a missing or failed report is a
# violation of its own (EvaluationMissing, EvaluationFailed).
report(kind) := r if {
	r := input.evaluations[kind]
	is_object(r)
	r.state == "Succeeded"
}

# metric(kind, name) is a metric of a succeeded report, when it is a number.
metric(kind, name) := v if {
	v := report(kind).metrics[name]
	is_number(v)
}

# number(x) converts a JSON number or a numeric string ("0.8", "1e-5") to a
# number; it is undefined for anything else (the spec holds no floats, so
# thresholds and budgets arrive as strings).
number(x) := x if is_number(x)

number(x) := to_number(trim_space(x)) if {
	is_string(x)
	regex.match(`^\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$`, x)
}

# undefined_reason(r, name) is the report's reason for a null metric.
undefined_reason(r, name) := object.get(r, ["undefined", name], "no reason given")

violations contains v if {
	some kind in requested
	not is_object(object.get(input, ["evaluations", kind], null))
	v := {
		"code": "EvaluationMissing",
		"message": sprintf("%s: the requested evaluation has no report", [kind]),
	}
}

violations contains v if {
	some kind in requested
	r := input.evaluations[kind]
	is_object(r)
	state := object.get(r, "state", "")
	state != "Succeeded"
	v := {
		"code": "EvaluationFailed",
		"message": sprintf("%s: the evaluation did not succeed (state %q): %s", [kind, state, object.get(r, "message", "no message")]),
	}
}

# report_task(r) is the task of the model a report evaluated: the evaluator's
# parameters.task, else the model's spec.model.task, else
# binary-classification (a tabular classifier, the default).
report_task(r) := t if {
	t := r.parameters.task
	is_string(t)
} else := t if {
	t := input.model.spec.model.task
	is_string(t)
} else := "binary-classification"

# tabular_report(kind) is report(kind) of a binary-classification model.
tabular_report(kind) := r if {
	r := report(kind)
	report_task(r) == "binary-classification"
}

# needed_metrics lists, by task and kind, the metrics that the default rules
# read. A succeeded report that lacks one, or reports it as null, denies: a
# rule that cannot be checked does not pass. (Privacy's epsilon has its own
# rule, PrivacyNoGuarantee.) Text models: docs/evaluations.md, "Text models".
needed_metrics := {
	"binary-classification": {
		"fairness": [
			"demographic_parity_ratio",
			"statistical_parity_difference",
			"disparate_impact_ratio",
			"equalized_odds_difference",
		],
		"robustness": ["abstain_rate"],
	},
	"text-classification": {
		"fairness": [
			"demographic_parity_ratio",
			"statistical_parity_difference",
			"disparate_impact_ratio",
			"equalized_odds_difference",
		],
		"robustness": ["attack_success_rate", "typo_accuracy"],
		"counterfactual": ["counterfactual_flip_rate", "counterfactual_mean_abs_delta"],
	},
	"token-classification": {"fairness": ["entity_f1_gap"]},
}

# bias_auc_metrics are the Borkan et al. AUC minima of a text classifier with
# two labels (parameters.num_labels "2"; with the parameters trimmed from a
# compact report, when any of them is reported).
bias_auc_metrics := ["subgroup_auc_min", "bpsn_auc_min", "bnsp_auc_min"]

two_label_text(r) if {
	report_task(r) == "text-classification"
	r.parameters.num_labels == "2"
}

two_label_text(r) if {
	report_task(r) == "text-classification"
	some name in bias_auc_metrics
	name in object.keys(object.get(r, "metrics", {}))
}

# needed(kind) are the metrics the rules read from report(kind).
needed(kind) := names if {
	r := report(kind)
	two_label_text(r)
	kind == "fairness"
	names := array.concat(needed_metrics["text-classification"].fairness, bias_auc_metrics)
} else := object.get(needed_metrics, [report_task(report(kind)), kind], [])

needed_by_kind[kind] := needed(kind) if some kind, _ in input.evaluations

violations contains v if {
	some kind, names in needed_by_kind
	r := report(kind)
	some name in names
	not name in object.keys(object.get(r, "metrics", {}))
	v := {
		"code": "MetricMissing",
		"message": sprintf("%s: the report has no %s metric, so its rule cannot be checked", [kind, name]),
	}
}

violations contains v if {
	some kind, names in needed_by_kind
	r := report(kind)
	some name in names
	r.metrics[name] == null
	v := {
		"code": "MetricUndefined",
		"message": sprintf("%s: %s is undefined (%s), so its rule cannot be checked", [kind, name, undefined_reason(r, name)]),
	}
}

violations contains v if {
	some kind, names in needed_by_kind
	r := report(kind)
	some name in names
	value := r.metrics[name]
	value != null
	not is_number(value)
	v := {
		"code": "MetricUndefined",
		"message": sprintf("%s: %s is %v, not a number, so its rule cannot be checked", [kind, name, value]),
	}
}

# shown(x) is a measured value as messages show it: rounded to four
# decimal places, enough to compare with a threshold, unless that would
# hide a small value.
shown(x) := round(x * 10000) / 10000 if abs(x) >= 0.001

shown(x) := x if abs(x) < 0.001
