# Monitoring rules: the live traffic of a promoted version, summarized by
# its serving replicas and compared with the evaluation data's reference
# (input.monitoring, a rai.monitoring.report/v1; docs/operator.md). The
# operator asks the policy on each read with no evaluations, so only these
# rules (and custom ones on input.monitoring) can fire.
#
# - DriftPSI: a feature's population stability index over the reference's
#   decile bins exceeds drift_psi_max (0.25, the usual "significant shift").
# - DriftKS: a feature's two-sample Kolmogorov–Smirnov p-value, Holm-adjusted
#   over the features tested (and computed at the statistic less the
#   sketch's error bound, so never overstated), is below drift_ks_p_value_min
#   (0.01).
# - LiveDemographicParity: the live demographic parity ratio, over the groups
#   with enough predictions, is below live_demographic_parity_ratio_min (0.8)
#   and so is the upper end of its confidence interval: the live counts
#   establish it, noise does not.
#
# A feature or measurement whose status is not "ok" (too few rows, not
# monitored) judges nothing.
#
# The package's one METADATA block is in promotion.rego.
package rai.promotion

monitored_features contains f if {
	some f in input.monitoring.drift.features
	f.status == "ok"
}

violations contains v if {
	some f in monitored_features
	is_number(f.psi)
	maximum := threshold("drift_psi_max")
	f.psi > maximum
	v := {
		"code": "DriftPSI",
		"message": sprintf("monitoring: feature %s drifted: PSI %v exceeds the maximum %v (%s; live mean %v, reference mean %v, %v live rows)", [f.name, shown(f.psi), maximum, threshold_source("drift_psi_max"), shown_or_null(f.live_mean), shown(f.reference_mean), f.live_count]),
	}
}

violations contains v if {
	some f in monitored_features
	p := f.ks.p_value_holm
	is_number(p)
	minimum := threshold("drift_ks_p_value_min")
	p < minimum
	v := {
		"code": "DriftKS",
		"message": sprintf("monitoring: feature %s drifted: KS D=%v, Holm-adjusted p-value %v is below the minimum %v (%s)", [f.name, shown(f.ks.statistic), shown(p), minimum, threshold_source("drift_ks_p_value_min")]),
	}
}

violations contains v if {
	dp := input.monitoring.fairness.demographic_parity_ratio
	dp.status == "ok"
	is_number(dp.value)
	minimum := threshold("live_demographic_parity_ratio_min")
	dp.value < minimum
	upper := object.get(dp, ["ci", 1], dp.value)
	upper < minimum
	v := {
		"code": "LiveDemographicParity",
		"message": sprintf("monitoring: live demographic_parity_ratio %v (%s vs %s, confidence interval up to %v) is below the minimum %v (%s)", [shown(dp.value), dp.min_group, dp.max_group, shown(upper), minimum, threshold_source("live_demographic_parity_ratio_min")]),
	}
}

# shown_or_null(x) shows a number, or null.
shown_or_null(x) := shown(x) if is_number(x)

shown_or_null(x) := "null" if not is_number(x)
