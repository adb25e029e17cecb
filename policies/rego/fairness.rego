# Fairness rules: group fairness of a succeeded fairness report: the
# four-fifths rule on Fairlearn's demographic parity ratio, TrustyAI's bounds
# on AIF360's statistical parity difference and disparate impact ratio, and
# Fairlearn's equalized odds difference.
#
# The package's one METADATA block is in promotion.rego: OPA allows a single
# package-scoped annotation per package across all its files.
package rai.promotion

violations contains v if {
	value := metric("fairness", "demographic_parity_ratio")
	minimum := threshold("demographic_parity_ratio_min")
	value < minimum
	v := {
		"code": "FairnessDemographicParity",
		"message": sprintf("fairness: demographic_parity_ratio %v is below the minimum %v (%s; the four-fifths rule)", [shown(value), minimum, threshold_source("demographic_parity_ratio_min")]),
	}
}

violations contains v if {
	value := metric("fairness", "statistical_parity_difference")
	maximum := threshold("statistical_parity_difference_max")
	abs(value) > maximum
	v := {
		"code": "FairnessStatisticalParity",
		"message": sprintf("fairness: |statistical_parity_difference| %v exceeds the maximum %v (%s)", [shown(abs(value)), maximum, threshold_source("statistical_parity_difference_max")]),
	}
}

violations contains v if {
	value := metric("fairness", "disparate_impact_ratio")
	minimum := threshold("disparate_impact_ratio_min")
	value < minimum
	v := {
		"code": "FairnessDisparateImpact",
		"message": sprintf("fairness: disparate_impact_ratio %v is below the minimum %v (%s)", [shown(value), minimum, threshold_source("disparate_impact_ratio_min")]),
	}
}

violations contains v if {
	value := metric("fairness", "disparate_impact_ratio")
	maximum := threshold("disparate_impact_ratio_max")
	value > maximum
	v := {
		"code": "FairnessDisparateImpact",
		"message": sprintf("fairness: disparate_impact_ratio %v is above the maximum %v (%s)", [shown(value), maximum, threshold_source("disparate_impact_ratio_max")]),
	}
}

violations contains v if {
	value := metric("fairness", "equalized_odds_difference")
	maximum := threshold("equalized_odds_difference_max")
	value > maximum
	v := {
		"code": "FairnessEqualizedOdds",
		"message": sprintf("fairness: equalized_odds_difference %v exceeds the maximum %v (%s)", [shown(value), maximum, threshold_source("equalized_odds_difference_max")]),
	}
}
