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

# Inconclusive findings: a metric that meets its threshold while its
# confidence interval (the report's bootstrap interval) reaches past it. The
# evidence cannot say the version passes, nor that it fails: with no
# violation, the decision waits for a person (AwaitingApproval). A point
# estimate past its threshold is a violation whatever its interval says.

# The rules apply when the platform asks for them: a PromotionPolicy with
# confidenceIntervals: Inconclusive (input.platform.confidenceIntervals), or
# the cluster policy's data (data.rai.settings.confidence_intervals).
# Otherwise the point estimate alone judges.
judge_intervals if input.platform.confidenceIntervals == "Inconclusive"

judge_intervals if data.rai.settings.confidence_intervals == "Inconclusive"

# interval(kind, name) is a metric's confidence interval, when both bounds
# are numbers and intervals are judged.
interval(kind, name) := iv if {
	judge_intervals
	iv := report(kind).intervals[name]
	is_number(iv.lower)
	is_number(iv.upper)
}

# interval_shown(iv) renders an interval for a message.
interval_shown(iv) := sprintf("%v%% confidence interval [%v, %v]", [round(object.get(iv, "level", 0.95) * 100), shown(iv.lower), shown(iv.upper)])

inconclusive contains f if {
	some name, key in {
		"demographic_parity_ratio": "demographic_parity_ratio_min",
		"disparate_impact_ratio": "disparate_impact_ratio_min",
	}
	value := metric("fairness", name)
	minimum := threshold(key)
	value >= minimum
	iv := interval("fairness", name)
	iv.lower < minimum
	f := {
		"code": inconclusive_codes[name],
		"message": sprintf("fairness: %s %v meets the minimum %v (%s), but its %s reaches below it: approve only if the margin is enough", [name, shown(value), minimum, threshold_source(key), interval_shown(iv)]),
	}
}

inconclusive contains f if {
	some name, key in {
		"disparate_impact_ratio": "disparate_impact_ratio_max",
		"equalized_odds_difference": "equalized_odds_difference_max",
	}
	value := metric("fairness", name)
	maximum := threshold(key)
	value <= maximum
	iv := interval("fairness", name)
	iv.upper > maximum
	f := {
		"code": inconclusive_codes[name],
		"message": sprintf("fairness: %s %v is within the maximum %v (%s), but its %s reaches above it: approve only if the margin is enough", [name, shown(value), maximum, threshold_source(key), interval_shown(iv)]),
	}
}

inconclusive contains f if {
	value := metric("fairness", "statistical_parity_difference")
	maximum := threshold("statistical_parity_difference_max")
	abs(value) <= maximum
	iv := interval("fairness", "statistical_parity_difference")
	max([abs(iv.lower), abs(iv.upper)]) > maximum
	f := {
		"code": "FairnessStatisticalParity",
		"message": sprintf("fairness: |statistical_parity_difference| %v is within the maximum %v (%s), but its %s reaches past ±%v: approve only if the margin is enough", [shown(abs(value)), maximum, threshold_source("statistical_parity_difference_max"), interval_shown(iv), maximum]),
	}
}

inconclusive_codes := {
	"demographic_parity_ratio": "FairnessDemographicParity",
	"disparate_impact_ratio": "FairnessDisparateImpact",
	"equalized_odds_difference": "FairnessEqualizedOdds",
}
