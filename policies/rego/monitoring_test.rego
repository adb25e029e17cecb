package rai.promotion_test

feature(name, psi, p) := {
	"name": name, "status": "ok", "reference_count": 20000, "live_count": 1200,
	"reference_mean": 0.1, "live_mean": 0.9, "psi": psi,
	"ks": {"statistic": 0.3, "p_value_holm": p},
}

live(features, dp) := {
	"model": {"name": "credit-local", "version": "v1"},
	"monitoring": {
		"schema_version": "rai.monitoring.report/v1",
		"drift": {"features": features, "tested": count(features)},
		"fairness": {"demographic_parity_ratio": dp},
	},
	"version": "v1",
	"requestedEvaluations": [],
	"evaluations": {},
}

dp_ok := {"status": "ok", "value": 0.93, "ci": [0.85, 1], "min_group": "female", "max_group": "male"}

test_monitoring_quiet_traffic_allows if {
	inp := live([feature("income", 0.01, 0.6)], dp_ok)
	allowed(inp)
}

test_monitoring_psi_names_the_feature if {
	inp := live([feature("income", 0.01, 0.6), feature("region_score", 0.8912, 0.5)], dp_ok)
	codes(inp) == {"DriftPSI"}
	messages(inp, "DriftPSI") == {"monitoring: feature region_score drifted: PSI 0.8912 exceeds the maximum 0.25 (policy default; live mean 0.9, reference mean 0.1, 1200 live rows)"}
}

test_monitoring_ks_uses_the_holm_adjusted_p_value if {
	inp := live([feature("income", 0.1, 0.0001)], dp_ok)
	codes(inp) == {"DriftKS"}
}

test_monitoring_insufficient_data_judges_nothing if {
	f := object.union(feature("income", 3, 0), {"status": "insufficient_data"})
	allowed(live([f], {"status": "insufficient_data", "value": null}))
}

test_monitoring_live_parity_needs_the_interval_below_too if {
	noisy := {"status": "ok", "value": 0.7, "ci": [0.5, 0.95], "min_group": "female", "max_group": "male"}
	allowed(live([], noisy))
	clear := {"status": "ok", "value": 0.6, "ci": [0.52, 0.71], "min_group": "female", "max_group": "male"}
	messages(live([], clear), "LiveDemographicParity") == {"monitoring: live demographic_parity_ratio 0.6 (female vs male, confidence interval up to 0.71) is below the minimum 0.8 (policy default)"}
}

test_monitoring_thresholds_tighten_only if {
	base := live([feature("income", 0.2, 0.6)], dp_ok)
	allowed(base)
	stricter := object.union(base, {"thresholds": {"drift_psi_max": "0.1"}})
	codes(stricter) == {"DriftPSI"}
	looser := object.union(live([feature("income", 0.3, 0.6)], dp_ok), {"thresholds": {"drift_psi_max": "0.5"}})
	codes(looser) == {"DriftPSI"}
}
