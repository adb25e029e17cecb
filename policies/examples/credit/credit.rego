# Credit models need enough evaluation data. A model labelled
# policy.example.com/domain=credit is promoted only when its fairness
# evaluation ran on at least 5,000 rows and every sensitive group in it had
# at least 100 rows: fairness numbers from small groups are noise. Both
# numbers are thresholds, so a model can raise (never lower) them in
# spec.policy.thresholds and the platform can set them in policy data.
#
# A plain comment, not a METADATA block: the default policy's promotion.rego
# holds the package's one package-scoped annotation, and a second one makes
# `opa test` and `opa check` fail with "package annotation redeclared".
package rai.promotion

threshold_defaults["credit_evaluation_rows_min"] := 5000

threshold_defaults["credit_group_rows_min"] := 100

credit_model if input.model.labels["policy.example.com/domain"] == "credit"

violations contains v if {
	credit_model
	not "fairness" in requested
	v := {
		"code": "CreditFairnessRequired",
		"message": "credit: credit models need a fairness evaluation (spec.evaluations)",
	}
}

violations contains v if {
	credit_model
	r := report("fairness")
	rows := object.get(r, ["dataset", "rows"], 0)
	minimum := threshold("credit_evaluation_rows_min")
	rows < minimum
	v := {
		"code": "CreditEvaluationRows",
		"message": sprintf("credit: the fairness evaluation used %v rows; credit models need at least %v (%s)", [rows, minimum, threshold_source("credit_evaluation_rows_min")]),
	}
}

violations contains v if {
	credit_model
	r := report("fairness")
	minimum := threshold("credit_group_rows_min")
	some group in object.get(r, ["details", "groups"], [])
	group.count < minimum
	v := {
		"code": "CreditGroupRows",
		"message": sprintf("credit: sensitive group %s has %v rows; every group needs at least %v (%s)", [group.name, group.count, minimum, threshold_source("credit_group_rows_min")]),
	}
}

# A compact report may list only some groups; min_group_count covers the rest.
violations contains v if {
	credit_model
	r := report("fairness")
	minimum := threshold("credit_group_rows_min")
	smallest := r.details.min_group_count
	smallest < minimum
	every group in object.get(r, ["details", "groups"], []) {
		group.count >= minimum
	}
	v := {
		"code": "CreditGroupRows",
		"message": sprintf("credit: the smallest sensitive group has %v rows; every group needs at least %v (%s)", [smallest, minimum, threshold_source("credit_group_rows_min")]),
	}
}
