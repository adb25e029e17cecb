// Package contract is the pod contract that the operator and the rai runtime
// share: the serving port and probe paths, the name, type and default of
// every flag the operator passes to `rai serve` and `rai evaluate <kind>`,
// and the defaults the CRD states for the same settings. The operator builds
// its command lines from these names; rai registers its cobra flags with
// them. It imports nothing, so both binaries can.
//
// Three tests hold the parts together: controllers checks that every
// argument list its builders produce parses against Commands; cmd/rai checks
// that every flag of Commands is registered on the right subcommand with the
// same type and default; this package checks the CRD's default markers
// against the constants below.
package contract

import (
	"slices"
	"strconv"
	"time"
)

// Serving: the port `rai serve` listens on and the Open Inference Protocol
// v2 health endpoints the serving pod's probes ask.
const (
	// DefaultServingPort is spec.serving.port's default and `rai serve --port`'s.
	DefaultServingPort = 8080
	// LivenessPath answers 200 as soon as the server listens.
	LivenessPath = "/v2/health/live"
	// ReadinessPath answers 200 once the model loaded and answered a warm-up.
	ReadinessPath = "/v2/health/ready"
	// DefaultGRPCPort is `rai serve --grpc-port`'s default: 0, the OIP v2
	// gRPC API (inference.GRPCInferenceService) off, so that several servers
	// on one network (tests, the demo's local node) never collide on it.
	DefaultGRPCPort = 0
	// GRPCPortOffset places the serving pods' gRPC port: the operator passes
	// --grpc-port spec.serving.port+GRPCPortOffset (9080 for the default
	// 8080), spec.serving.port-GRPCPortOffset where that passes 65535.
	GRPCPortOffset = 1000
)

// Defaults both sides state: the CRD as kubebuilder default markers
// (literals, checked by this package's tests), rai as its flag defaults.
const (
	// DefaultMaxBatchSize is spec.serving.maxBatchSize's default and
	// `rai serve --max-batch-size`'s.
	DefaultMaxBatchSize = 32
	// DefaultMaxBatchDelay is spec.serving.maxBatchDelay's default and
	// `rai serve --max-batch-delay`'s.
	DefaultMaxBatchDelay = 2 * time.Millisecond
	// DefaultDevice is where `rai serve` runs a model without a GPU.
	DefaultDevice = "cpu"
	// DeviceCUDA is the device of a serving pod that asks for a GPU.
	DeviceCUDA = "cuda"
	// DefaultServedName is `rai serve --name`'s default.
	DefaultServedName = "model"

	// DefaultFavorableLabel is datasets' favorableLabel default and `--favorable`'s.
	DefaultFavorableLabel = "1"
	// DefaultPredictionThreshold is fairness.predictionThreshold's default
	// and `--threshold`'s.
	DefaultPredictionThreshold = 0.5

	// DefaultSelectionSamples (Cohen et al.'s n0) is
	// robustness.selectionSamples' default and `--n0`'s.
	DefaultSelectionSamples = 100
	// DefaultCertificationSamples (Cohen et al.'s n) is
	// robustness.certificationSamples' default and `--n`'s.
	DefaultCertificationSamples = 10000
	// DefaultAlpha is robustness.alpha's default and `--alpha`'s.
	DefaultAlpha = 0.001
	// DefaultRadii are the L2 radii rai reports when robustness.radii is empty.
	DefaultRadii = "0.1,0.25,0.5"

	// DefaultExplainSamples is how many rows `rai evaluate explain` samples
	// from the data for permutation importance and as the Shapley
	// background (`--samples`). The CRD has no field for it: the operator
	// passes it only to make room for more Shapley rows.
	DefaultExplainSamples = 1000
	// DefaultShapleyRows is explanations.samples' default and
	// `--shapley-rows`'s: how many sampled rows get Shapley values.
	DefaultShapleyRows = 200

	// DefaultTerminationLog is where Kubernetes reads a container's
	// termination message, and `--termination-log`'s default.
	DefaultTerminationLog = "/dev/termination-log"
)

// Command and subcommand names.
const (
	CommandServe    = "serve"
	CommandEvaluate = "evaluate"
	// CommandMerge is `rai evaluate merge`, which combines shard reports.
	CommandMerge = "merge"
	// Evaluation kinds, the subcommands of `rai evaluate`; they are the
	// report kinds of internal/report.
	KindFairness   = "fairness"
	KindPrivacy    = "privacy"
	KindRobustness = "robustness"
	KindExplain    = "explain"
	KindReference  = "reference"
	// KindCounterfactual is counterfactual token fairness of a text
	// classifier.
	KindCounterfactual = "counterfactual"
)

// Live monitoring flags of `rai serve` (internal/monitoring names them
// too; cmd/rai checks they are registered).
const (
	FlagMonitoring             = "monitoring"
	FlagMonitoringWindow       = "monitoring-window"
	FlagMonitoringWindows      = "monitoring-windows"
	FlagMonitoringGroupFeature = "monitoring-group-feature"
	// DefaultMonitoringWindow and DefaultMonitoringWindows are rai
	// serve's; spec.monitoring's defaults are the operator's.
	DefaultMonitoringWindow  = time.Minute
	DefaultMonitoringWindows = 60
)

// Flags of `rai serve`.
const (
	FlagModelURI      = "model-uri"
	FlagSHA256        = "sha256"
	FlagName          = "name"
	FlagModelVersion  = "model-version"
	FlagPort          = "port"
	FlagGRPCPort      = "grpc-port"
	FlagDevice        = "device"
	FlagAuditLog      = "audit-log"
	FlagMaxBatchSize  = "max-batch-size"
	FlagMaxBatchDelay = "max-batch-delay"
)

// The inference audit log's head: `rai serve --audit-log` answers it at
// AuditHeadPath as JSON {"count":N,"hash":"…","genesis":"…"} (404 without
// an audit log), the state to anchor outside the pod.
const AuditHeadPath = "/v2/audit/head"

// FlagAuditLogRotateBroken is `rai serve --audit-log-rotate-broken`: a bool,
// off by default, that moves an existing audit log that does not verify
// aside and starts a new chain instead of refusing to start.
const FlagAuditLogRotateBroken = "audit-log-rotate-broken"

// Flags of `rai evaluate <kind>` (FlagSHA256 and FlagModelVersion too).
const (
	FlagModel            = "model"
	FlagModelName        = "model-name"
	FlagReport           = "report"
	FlagTerminationLog   = "termination-log"
	FlagData             = "data"
	FlagDataSHA256       = "data-sha256"
	FlagShard            = "shard"
	FlagLabel            = "label"
	FlagFavorable        = "favorable"
	FlagThreshold        = "threshold"
	FlagSensitive        = "sensitive"
	FlagPrivileged       = "privileged"
	FlagOutput           = "output"
	FlagDelta            = "delta"
	FlagNoiseMultiplier  = "noise-multiplier"
	FlagSampleRate       = "sample-rate"
	FlagSteps            = "steps"
	FlagMembers          = "members"
	FlagMembersSHA256    = "members-sha256"
	FlagNonMembers       = "non-members"
	FlagNonMembersSHA256 = "non-members-sha256"
	FlagSigma            = "sigma"
	FlagN0               = "n0"
	FlagN                = "n"
	FlagAlpha            = "alpha"
	FlagRadii            = "radii"
	FlagSamples          = "samples"
	FlagShapleyRows      = "shapley-rows"
	FlagPartSHA256       = "part-sha256"
)

// Flags of text models, on `rai serve` and every `rai evaluate <kind>`
// (docs/models.md, "Text models").
const (
	// FlagTask is spec.model.task: binary-classification (the default),
	// text-classification or token-classification.
	FlagTask = "task"
	// FlagTokenizer and FlagTokenizerSHA256 locate and pin the model's
	// Hugging Face tokenizer.json (a path or URI, as the model's).
	FlagTokenizer       = "tokenizer"
	FlagTokenizerSHA256 = "tokenizer-sha256"
	// FlagLabels is spec.model.labels, comma-separated, in logit order.
	FlagLabels = "labels"
	// FlagMaxLength is spec.model.maxLength (0: the model's metadata,
	// the tokenizer file, else 128).
	FlagMaxLength = "max-length"
	// FlagTextColumn is the dataset column holding the text (for
	// token-classification: words separated by single spaces, the label
	// column one IOB2 tag per word).
	FlagTextColumn = "text-column"
	// FlagTermPairs and FlagTermPairsSHA256 locate the identity-term pairs
	// of `rai evaluate counterfactual`.
	FlagTermPairs       = "term-pairs"
	FlagTermPairsSHA256 = "term-pairs-sha256"
	// FlagMaxEdits is the word-edit budget of the text attack.
	FlagMaxEdits = "max-edits"
	// FlagTypoRate is the per-word typo probability of accuracy under typos.
	FlagTypoRate = "typo-rate"
)

// Tasks (spec.model.task).
const (
	TaskBinaryClassification = "binary-classification"
	TaskTextClassification   = "text-classification"
	TaskTokenClassification  = "token-classification"
	// DefaultTextColumn is dataset.textColumn's default and --text-column's.
	DefaultTextColumn = "text"
	// DefaultMaxLength is the sequence length when neither the spec, the
	// model's metadata nor the tokenizer file states one.
	DefaultMaxLength = 128
	// DefaultMaxEdits and DefaultTypoRate are robustness.maxEdits' and
	// robustness.typoRate's defaults and the flags'.
	DefaultMaxEdits = 3
	DefaultTypoRate = 0.1
)

// Arg is the command-line form of a flag name: "--" + name.
func Arg(name string) string { return "--" + name }

// Flag types, as pflag's Value.Type names them.
const (
	TypeString      = "string"
	TypeInt         = "int"
	TypeFloat64     = "float64"
	TypeDuration    = "duration"
	TypeStringArray = "stringArray"
	TypeBool        = "bool"
)

// Flag is one flag the operator may pass: its name, its pflag type, and the
// default rai uses when the flag is absent, written as pflag prints it
// (its DefValue).
type Flag struct {
	Name    string
	Type    string
	Default string
}

// Command is one rai command line the operator builds.
type Command struct {
	// Path is the subcommand path below rai, for example
	// ["evaluate", "fairness"].
	Path []string
	// Flags are every flag the operator may pass on this command line.
	Flags []Flag
}

// Lookup returns the flag named name, if the command has it.
func (c Command) Lookup(name string) (Flag, bool) {
	for _, f := range c.Flags {
		if f.Name == name {
			return f, true
		}
	}
	return Flag{}, false
}

func str(name string) Flag             { return Flag{name, TypeString, ""} }
func strDefault(name, def string) Flag { return Flag{name, TypeString, def} }
func integer(name string, def int) Flag {
	return Flag{name, TypeInt, strconv.Itoa(def)}
}
func float(name string, def float64) Flag {
	return Flag{name, TypeFloat64, strconv.FormatFloat(def, 'g', -1, 64)}
}

// evaluateCommon are the flags the operator passes to every `rai evaluate <kind>`.
func evaluateCommon() []Flag {
	return []Flag{str(FlagModel), str(FlagSHA256), str(FlagModelName), str(FlagModelVersion),
		str(FlagReport), strDefault(FlagTerminationLog, DefaultTerminationLog)}
}

// evaluateData are the flags of the kinds that read the evaluation data.
func evaluateData() []Flag {
	return []Flag{str(FlagData), str(FlagDataSHA256), str(FlagLabel), strDefault(FlagFavorable, DefaultFavorableLabel)}
}

// textModel are the flags that describe a text model, on `rai serve` and
// every `rai evaluate <kind>`.
func textModel() []Flag {
	return []Flag{strDefault(FlagTask, TaskBinaryClassification), str(FlagTokenizer), str(FlagTokenizerSHA256),
		str(FlagLabels), integer(FlagMaxLength, 0)}
}

// textData is the flag of the kinds that read a text data set.
func textData() []Flag { return []Flag{strDefault(FlagTextColumn, DefaultTextColumn)} }

// Commands lists every rai command line the operator builds, each with
// every flag it may pass. A new flag in a builder belongs here first.
func Commands() []Command {
	join := func(groups ...[]Flag) []Flag {
		var out []Flag
		for _, g := range groups {
			out = append(out, g...)
		}
		return out
	}
	return []Command{
		{Path: []string{CommandServe}, Flags: []Flag{
			str(FlagModelURI), str(FlagSHA256), strDefault(FlagName, DefaultServedName), str(FlagModelVersion),
			integer(FlagPort, DefaultServingPort), integer(FlagGRPCPort, DefaultGRPCPort), strDefault(FlagDevice, DefaultDevice), str(FlagAuditLog),
			integer(FlagMaxBatchSize, DefaultMaxBatchSize), {FlagMaxBatchDelay, TypeDuration, DefaultMaxBatchDelay.String()},
			{FlagMonitoring, TypeBool, "false"}, {FlagMonitoringWindow, TypeDuration, DefaultMonitoringWindow.String()},
			integer(FlagMonitoringWindows, DefaultMonitoringWindows), str(FlagMonitoringGroupFeature),
			strDefault(FlagTask, TaskBinaryClassification), str(FlagTokenizer), str(FlagTokenizerSHA256),
			str(FlagLabels), integer(FlagMaxLength, 0),
		}},
		{Path: []string{CommandEvaluate, KindFairness}, Flags: join(evaluateCommon(), evaluateData(), textModel(), textData(), []Flag{
			str(FlagShard), str(FlagSensitive), str(FlagPrivileged), float(FlagThreshold, DefaultPredictionThreshold), str(FlagOutput),
			strDefault(FlagDevice, DefaultDevice),
		})},
		{Path: []string{CommandEvaluate, KindPrivacy}, Flags: join(evaluateCommon(), textModel(), textData(), []Flag{
			float(FlagDelta, 0), float(FlagNoiseMultiplier, 0), float(FlagSampleRate, 0), integer(FlagSteps, 0),
			str(FlagMembers), str(FlagMembersSHA256), str(FlagNonMembers), str(FlagNonMembersSHA256),
			str(FlagLabel), strDefault(FlagFavorable, DefaultFavorableLabel),
		})},
		{Path: []string{CommandEvaluate, KindRobustness}, Flags: join(evaluateCommon(), evaluateData(), textModel(), textData(), []Flag{
			str(FlagShard), float(FlagSigma, 0), integer(FlagN0, DefaultSelectionSamples), integer(FlagN, DefaultCertificationSamples),
			float(FlagAlpha, DefaultAlpha), strDefault(FlagRadii, DefaultRadii), float(FlagThreshold, DefaultPredictionThreshold),
			integer(FlagMaxEdits, DefaultMaxEdits), float(FlagTypoRate, DefaultTypoRate), strDefault(FlagDevice, DefaultDevice),
		})},
		{Path: []string{CommandEvaluate, KindCounterfactual}, Flags: join(evaluateCommon(), evaluateData(), textModel(), textData(), []Flag{
			str(FlagTermPairs), str(FlagTermPairsSHA256), float(FlagThreshold, DefaultPredictionThreshold),
		})},
		{Path: []string{CommandEvaluate, KindExplain}, Flags: join(evaluateCommon(), evaluateData(), textModel(), textData(), []Flag{
			integer(FlagSamples, DefaultExplainSamples), integer(FlagShapleyRows, DefaultShapleyRows),
		})},
		{Path: []string{CommandEvaluate, KindReference}, Flags: join(evaluateCommon(), evaluateData(), []Flag{
			str(FlagSensitive), float(FlagThreshold, DefaultPredictionThreshold), str(FlagOutput),
		})},
		{Path: []string{CommandEvaluate, CommandMerge}, Flags: []Flag{
			str(FlagReport), strDefault(FlagTerminationLog, DefaultTerminationLog), {FlagPartSHA256, TypeStringArray, "[]"},
		}},
	}
}

// Find returns the command whose path is path.
func Find(path ...string) (Command, bool) {
	for _, c := range Commands() {
		if slices.Equal(c.Path, path) {
			return c, true
		}
	}
	return Command{}, false
}
