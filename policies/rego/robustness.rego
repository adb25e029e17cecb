# Robustness rules: randomized-smoothing certification of a succeeded
# robustness report of a tabular (binary-classification) model: certified
# accuracy at the configured radius and the abstain rate. Text classifiers'
# robustness (the typo attack) is judged in text.rego.
#
# The package's one METADATA block is in promotion.rego: OPA allows a single
# package-scoped annotation per package across all its files.
package rai.promotion

# radii(r) are the report's per-radius results that carry a numeric radius.
radii(r) := [e |
	some e in object.get(r, ["details", "radii"], [])
	is_number(e.radius)
]

# certified_at(r, radius) is the per-radius result used for `radius`: the
# one at the smallest reported radius at or above it. Certified accuracy
# does not increase with the radius, so a result at a larger radius is a
# conservative (lower) bound for the configured one.
certified_at(r, radius) := e if {
	above := [x | some x in radii(r); x.radius >= radius]
	smallest := min([x.radius | some x in above])
	some e in above
	e.radius == smallest
}

truncated_note(r) := " (the report's details were truncated)" if {
	r.truncated == true
} else := ""

violations contains v if {
	r := tabular_report("robustness")
	radius := threshold("certified_radius")
	not certified_at(r, radius)
	v := {
		"code": "MetricMissing",
		"message": sprintf("robustness: no certified accuracy is reported at radius %v or above (reported radii: %v)%s", [radius, [x.radius | some x in radii(r)], truncated_note(r)]),
	}
}

violations contains v if {
	r := tabular_report("robustness")
	e := certified_at(r, threshold("certified_radius"))
	not is_number(object.get(e, "certified_accuracy", null))
	v := {
		"code": "MetricUndefined",
		"message": sprintf("robustness: certified_accuracy at radius %v is undefined, so its rule cannot be checked", [e.radius]),
	}
}

violations contains v if {
	r := tabular_report("robustness")
	radius := threshold("certified_radius")
	minimum := threshold("certified_accuracy_min")
	e := certified_at(r, radius)
	is_number(e.certified_accuracy)
	e.certified_accuracy < minimum
	v := {
		"code": "RobustnessCertifiedAccuracy",
		"message": sprintf("robustness: certified_accuracy %v at radius %v is below the minimum %v (%s)%s", [shown(e.certified_accuracy), e.radius, minimum, threshold_source("certified_accuracy_min"), radius_note(e.radius, radius)]),
	}
}

radius_note(measured, wanted) := "" if {
	measured == wanted
} else := sprintf("; measured at the smallest reported radius above %v", [wanted])

violations contains v if {
	value := metric("robustness", "abstain_rate")
	maximum := threshold("abstain_rate_max")
	value > maximum
	v := {
		"code": "RobustnessAbstainRate",
		"message": sprintf("robustness: abstain_rate %v exceeds the maximum %v (%s)", [shown(value), maximum, threshold_source("abstain_rate_max")]),
	}
}
