// Package demo builds the artifacts the demo and the end-to-end tests use: the synthetic lending
// data set's splits and one ONNX model per verdict the operator can reach, each trained (or, for
// the brittle model, constructed) to earn exactly the verdict it is named for, plus a manifest,
// models.json, that lists every artifact with its sha256, its recipe, the numbers the trainer
// measured and the verdicts it was made for. Under text/ it adds the two demo text models
// (internal/demo/textdemo: an intent classifier and an NER tagger), their tokenizer.json and
// their evaluation data, listed in the manifest's "text" section.
//
// Everything is seeded: Build writes the same bytes on every run (on one architecture).
package demo

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/responsible-ai/rmodel-operator/internal/demo/dataset"
	"github.com/responsible-ai/rmodel-operator/internal/demo/textdemo"
	"github.com/responsible-ai/rmodel-operator/internal/demo/train"
)

// Verdicts a demo model is made for, by evaluation kind.
const (
	Pass = "pass"
	Fail = "fail"
)

// Budget is the demo's privacy policy: the ε a model may claim at δ. dp-over-budget is trained
// to exceed it many times over; the DP models within it leave room for an upgrade.
var Budget = struct {
	MaxEpsilon float64 `json:"maxEpsilon"`
	Delta      float64 `json:"delta"`
}{MaxEpsilon: 3, Delta: 1e-5}

// Thresholds the fairness and robustness verdicts are made for: the default policy's.
const (
	MinDemographicParityRatio  = 0.8
	MaxEqualizedOddsDifference = 0.1
	CertifiedRadius            = 0.25
	SmoothingSigma             = 0.25
	MinCertifiedAccuracy       = 0.6
)

// ModelSpec is one demo model: how it is made and what it is made to show.
type ModelSpec struct {
	Name        string
	Description string
	Recipe      train.Recipe
	// BrittleOf, when set, names the model this one wraps with train.Brittle instead of
	// training (on the feature BrittleFeature, half-width BrittleHalfWidth).
	BrittleOf        string
	BrittleFeature   string
	BrittleHalfWidth float64
	// Intended verdicts by kind: "fairness", "privacy", "robustness".
	Intended map[string]string
}

func dpRecipe(seed uint64, epochs, sigma float64, reweigh bool) train.Recipe {
	r := train.Recipe{
		Model: train.LogisticRegression, Epochs: epochs, LearningRate: 1, SampleRate: 0.05, Seed: seed,
		DP: &train.DP{NoiseMultiplier: sigma, ClippingNorm: 1, Delta: Budget.Delta},
	}
	if reweigh {
		r.Reweighing, r.ReweighingAttribute = true, dataset.SexColumn
	}
	return r
}

// Models are the demo's models, in build order (a brittle model after its base).
func Models() []ModelSpec {
	verdicts := func(fairness, privacy, robustness string) map[string]string {
		return map[string]string{"fairness": fairness, "privacy": privacy, "robustness": robustness}
	}
	return []ModelSpec{
		{
			Name:        "fair-dp",
			Description: "logistic regression, DP-SGD (σ = 2, q = 0.05, 100 steps), reweighing by sex: passes every policy",
			Recipe:      dpRecipe(1, 5, 2, true),
			Intended:    verdicts(Pass, Pass, Pass),
		},
		{
			Name:        "fair-dp-v2",
			Description: "the upgrade: a small MLP (8 ReLU units) with fair-dp's DP-SGD and reweighing for 160 steps, also passing; its ε and fair-dp's together stay within the demo budget",
			Recipe: func() train.Recipe {
				r := dpRecipe(2, 8, 2, true)
				r.Model, r.Hidden, r.LearningRate = train.MLP, []int{8}, 0.5
				return r
			}(),
			Intended: verdicts(Pass, Pass, Pass),
		},
		{
			Name:        "biased",
			Description: "fair-dp's recipe without reweighing: learns the historical bias through region_score and fails fairness",
			Recipe:      dpRecipe(1, 5, 2, false),
			Intended:    verdicts(Fail, Pass, Pass),
		},
		{
			Name:        "no-dp",
			Description: "logistic regression with reweighing, trained without DP: no rai.dp.* metadata, so no privacy guarantee",
			Recipe: train.Recipe{Model: train.LogisticRegression, Epochs: 5, LearningRate: 0.5, SampleRate: 0.01, Seed: 1,
				Reweighing: true, ReweighingAttribute: dataset.SexColumn},
			Intended: verdicts(Pass, Fail, Pass),
		},
		{
			Name:        "dp-over-budget",
			Description: "DP-SGD with σ = 1 for 4,000 steps (200 epochs): a real guarantee, but ε ≈ 27, far above the demo budget",
			Recipe:      dpRecipe(1, 200, 1, true),
			Intended:    verdicts(Pass, Fail, Pass),
		},
		{
			Name:             "brittle",
			Description:      "fair-dp wrapped so that its decision flips when employment_salaried leaves {0, 1} by more than 0.02: same clean predictions, fails randomized-smoothing certification",
			BrittleOf:        "fair-dp",
			BrittleFeature:   "employment_salaried",
			BrittleHalfWidth: 0.02,
			Intended:         verdicts(Pass, Pass, Fail),
		},
	}
}

// Manifest is models.json: what Build wrote. Paths are relative to the output directory.
type Manifest struct {
	SchemaVersion string         `json:"schemaVersion"`
	DataSet       dataset.Config `json:"dataSet"`
	Budget        any            `json:"budget"`
	Thresholds    map[string]any `json:"thresholds"`
	// Evaluations are the evaluator settings the intended verdicts were made for (the flags
	// of rai evaluate <kind>); paths are relative to the output directory.
	Evaluations map[string]map[string]any `json:"evaluations"`
	DataSets    []DataSetEntry            `json:"dataSets"`
	Models      []ModelEntry              `json:"models"`
	// Text lists the text models and their data, written under TextDir (internal/demo/textdemo).
	Text *textdemo.Manifest `json:"text"`
}

// DataSetEntry is one written split.
type DataSetEntry struct {
	Name   string `json:"name"`
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	Rows   int    `json:"rows"`
}

// ModelEntry is one written model.
type ModelEntry struct {
	Name        string            `json:"name"`
	File        string            `json:"file"`
	SHA256      string            `json:"sha256"`
	Description string            `json:"description"`
	Intended    map[string]string `json:"intended"`
	Recipe      train.Recipe      `json:"recipe"`
	// BrittleOf names the model this one wraps, if any.
	BrittleOf string `json:"brittleOf,omitempty"`
	// Epsilon is ε at Budget.Delta; absent for a model without DP.
	Epsilon *float64 `json:"epsilon,omitempty"`
	// Eval is the trainer's own check on the eval split, grouped by sex.
	Eval train.Summary `json:"eval"`
	// Metadata is the model's metadata_props.
	Metadata map[string]string `json:"metadata"`
}

// Paths inside the output directory.
const (
	DataDir      = "data"
	ModelsDir    = "models"
	ManifestFile = "models.json"
	// TextDir holds the text models, their tokenizer.json and their data.
	TextDir = "text"
	// RobustnessFile, in DataDir, holds the first RobustnessRows rows of the eval split.
	RobustnessFile = "robustness.csv"
	RobustnessRows = 1000
)

// Build generates the default data set and every model of Models into dir (created if needed),
// and writes the manifest. logf, if not nil, receives one line per artifact. version is the
// producer version stamped into the models.
func Build(dir, version string, logf func(format string, args ...any)) (*Manifest, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	start := time.Now()
	cfg := dataset.DefaultConfig()
	splits, err := dataset.Generate(cfg)
	if err != nil {
		return nil, err
	}
	sums, err := dataset.WriteDir(filepath.Join(dir, DataDir), splits)
	if err != nil {
		return nil, fmt.Errorf("write demo data set: %w", err)
	}
	man := &Manifest{
		SchemaVersion: "rai.demo/v1",
		DataSet:       cfg,
		Budget:        Budget,
		Thresholds: map[string]any{
			"demographic_parity_ratio_min":  MinDemographicParityRatio,
			"equalized_odds_difference_max": MaxEqualizedOddsDifference,
			"certified_radius":              CertifiedRadius,
			"smoothing_sigma":               SmoothingSigma,
			"certified_accuracy_min":        MinCertifiedAccuracy,
		},
		Evaluations: map[string]map[string]any{
			"fairness": {"data": filepath.Join(DataDir, dataset.EvalFile), "label": dataset.LabelColumn,
				"sensitive": []string{dataset.SexColumn, dataset.AgeGroupColumn}, "privileged": dataset.SexColumn + "=" + dataset.Male, "favorable": "1"},
			"privacy": {"members": filepath.Join(DataDir, dataset.MembersFile), "nonMembers": filepath.Join(DataDir, dataset.NonMembersFile),
				"label": dataset.LabelColumn, "delta": Budget.Delta},
			"robustness": {"data": filepath.Join(DataDir, RobustnessFile), "label": dataset.LabelColumn,
				"sigma": SmoothingSigma, "radii": []float64{0.1, CertifiedRadius, 0.5}, "n0": 100, "n": 1000, "alpha": 0.001},
		},
	}
	// Randomized smoothing costs n model calls per row: the robustness sample keeps the
	// evaluation Job short (1,000 rows × the default n = 100,000 is about 20 s on one core).
	robustness := splits.Eval.Slice(0, min(RobustnessRows, splits.Eval.Len()))
	var b strings.Builder
	if err := robustness.WriteCSV(&b); err != nil {
		return nil, fmt.Errorf("write robustness sample: %w", err)
	}
	if sums[RobustnessFile], err = dataset.WriteWithChecksum(filepath.Join(dir, DataDir, RobustnessFile), []byte(b.String())); err != nil {
		return nil, err
	}
	for _, s := range []struct {
		name string
		t    *dataset.Table
	}{{dataset.TrainFile, splits.Train}, {dataset.EvalFile, splits.Eval}, {dataset.MembersFile, splits.Members}, {dataset.NonMembersFile, splits.NonMembers}, {RobustnessFile, robustness}} {
		man.DataSets = append(man.DataSets, DataSetEntry{Name: s.name[:len(s.name)-len(".csv")], File: filepath.Join(DataDir, s.name), SHA256: sums[s.name], Rows: s.t.Len()})
	}
	logf("data set: %d train, %d eval, %d members, %d non-members rows (bias %.2f)", splits.Train.Len(), splits.Eval.Len(), splits.Members.Len(), splits.NonMembers.Len(), cfg.Bias)

	if err := os.MkdirAll(filepath.Join(dir, ModelsDir), 0o755); err != nil {
		return nil, fmt.Errorf("create models directory: %w", err)
	}
	trained := map[string]*train.Model{}
	recipes := map[string]train.Recipe{}
	for _, spec := range Models() {
		var m *train.Model
		recipe := spec.Recipe
		if spec.BrittleOf != "" {
			base, ok := trained[spec.BrittleOf]
			if !ok {
				return nil, fmt.Errorf("demo model %s wraps %s, which is not built before it", spec.Name, spec.BrittleOf)
			}
			j := slices.Index(dataset.FeatureNames, spec.BrittleFeature)
			if m, err = train.Brittle(base, j, spec.BrittleHalfWidth); err != nil {
				return nil, fmt.Errorf("demo model %s: %w", spec.Name, err)
			}
			// The wrapper post-processes the base's weights: the base's recipe, and with it its
			// DP guarantee, carries over.
			recipe = recipes[spec.BrittleOf]
			recipe.Construction = fmt.Sprintf("train.Brittle(%s, feature %s, half-width %g)", spec.BrittleOf, spec.BrittleFeature, spec.BrittleHalfWidth)
		} else if m, _, err = train.Train(recipe, splits.Train); err != nil {
			return nil, fmt.Errorf("demo model %s: %w", spec.Name, err)
		}
		trained[spec.Name], recipes[spec.Name] = m, recipe
		exp, err := train.ExportONNX(m, recipe, train.Provenance{
			Name: spec.Name, Features: dataset.FeatureNames, Label: dataset.LabelColumn, Sensitive: dataset.SensitiveColumns,
			DatasetSHA256: sums[dataset.TrainFile], Encoding: dataset.Encoding, Version: version,
		})
		if err != nil {
			return nil, fmt.Errorf("demo model %s: %w", spec.Name, err)
		}
		file := filepath.Join(ModelsDir, spec.Name+".onnx")
		sum, err := dataset.WriteWithChecksum(filepath.Join(dir, file), exp.ONNX)
		if err != nil {
			return nil, fmt.Errorf("demo model %s: %w", spec.Name, err)
		}
		summary, err := train.Summarize(m, splits.Eval, dataset.SexColumn)
		if err != nil {
			return nil, fmt.Errorf("demo model %s: %w", spec.Name, err)
		}
		if !finite(summary) {
			return nil, fmt.Errorf("demo model %s: a group of the eval split lacks positives or negatives, so its rates are undefined", spec.Name)
		}
		entry := ModelEntry{Name: spec.Name, File: file, SHA256: sum, Description: spec.Description, Intended: spec.Intended,
			Recipe: recipe, BrittleOf: spec.BrittleOf, Eval: summary, Metadata: exp.Metadata}
		if recipe.DP != nil {
			eps := exp.Epsilon
			entry.Epsilon = &eps
		}
		man.Models = append(man.Models, entry)
		epsText := "none"
		if entry.Epsilon != nil {
			epsText = fmt.Sprintf("%.3f", *entry.Epsilon)
		}
		logf("%-15s accuracy %.3f  DP ratio %.3f  EO difference %.3f  ε %s", spec.Name, summary.Accuracy, summary.DemographicParityRatio, summary.EqualizedOddsDifference, epsText)
	}
	if man.Text, err = textdemo.Build(dir, TextDir, version, logf); err != nil {
		return nil, err
	}
	data, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	if _, err := dataset.WriteWithChecksum(filepath.Join(dir, ManifestFile), append(data, '\n')); err != nil {
		return nil, fmt.Errorf("write manifest: %w", err)
	}
	logf("wrote %s in %v", filepath.Join(dir, ManifestFile), time.Since(start).Round(time.Millisecond))
	return man, nil
}

// finite reports whether every number in the summary is finite (JSON has no NaN).
func finite(s train.Summary) bool {
	ok := !math.IsNaN(s.Accuracy) && !math.IsNaN(s.DemographicParityRatio) && !math.IsNaN(s.EqualizedOddsDifference)
	for _, g := range s.Groups {
		ok = ok && !math.IsNaN(g.SelectionRate+g.TPR+g.FPR+g.Accuracy)
	}
	return ok
}
