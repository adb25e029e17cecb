package monitoring

import "time"

// Flags of `rai serve` that turn monitoring on and shape it (serving.MonitoringConfig binds
// them). The operator builds serving command lines with these names.
const (
	FlagMonitoring     = "monitoring"
	FlagWindow         = "monitoring-window"
	FlagWindows        = "monitoring-windows"
	FlagGroupParameter = "monitoring-group-parameter"
	FlagGroupFeature   = "monitoring-group-feature"
	FlagMaxGroups      = "monitoring-max-groups"
	FlagThreshold      = "monitoring-threshold"
	FlagFeedbackRows   = "monitoring-feedback-rows"
	FlagSketchK        = "monitoring-sketch-k"
	FlagMinRows        = "monitoring-min-rows"
	FlagMaxFeatures    = "monitoring-max-features"
)

// Defaults of those flags.
const (
	// DefaultEnabled: monitoring is off unless asked for (data minimisation: a server keeps no
	// aggregates of its inputs nobody looks at; the operator turns it on for a model whose
	// spec.monitoring is set).
	DefaultEnabled = false
	// DefaultWindow and DefaultWindows: one-minute windows, the last hour kept.
	DefaultWindow  = time.Minute
	DefaultWindows = 60
	// DefaultGroupParameter is the request parameter holding the sensitive group:
	// {"parameters": {"group": "female"}, "inputs": [...]}.
	DefaultGroupParameter = "group"
	// DefaultMaxGroups bounds the distinct groups counted (and the group label's values).
	DefaultMaxGroups = 32
	// DefaultThreshold: P(favorable) ≥ 0.5 is a positive prediction, as in the evaluations.
	DefaultThreshold = 0.5
	// DefaultFeedbackRows is how many predicted rows stay open to feedback (the oldest go first).
	DefaultFeedbackRows = 100_000
	// DefaultMinRows: a window of fewer rows answers no feature summaries.
	DefaultMinRows = 20
	// DefaultMaxFeatures bounds the input columns sketched (the first ones, in input order).
	DefaultMaxFeatures = 64
)
