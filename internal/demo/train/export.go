package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/responsible-ai/rmodel-operator/internal/evaluation/privacy"
	"github.com/responsible-ai/rmodel-operator/internal/onnxwriter"
)

// ONNX metadata_props keys. They are a contract with the evaluators and with teams that label
// models trained elsewhere (docs/models.md): keep them exactly.
const (
	// KeyFeatures: the feature column names, comma-separated, in model input order.
	KeyFeatures = "rai.features"
	// KeyLabel: the label column; its value 1 is the favorable outcome the model's output is
	// the probability of.
	KeyLabel = "rai.label"
	// KeyDatasetSHA256: lowercase hex sha256 of the training data file.
	KeyDatasetSHA256 = "rai.dataset.sha256"
	// KeyEncoding: how raw attributes became the numeric features (free text or JSON).
	KeyEncoding = "rai.encoding"
	// KeyRecipe: the training Recipe as JSON.
	KeyRecipe = "rai.recipe"
	// KeySensitive: the sensitive columns of the training data, comma-separated (not features).
	KeySensitive = "rai.sensitive"

	// DP-SGD parameters, decimal strings, present only for DP training. A model without them
	// claims no differential-privacy guarantee.
	KeyDPNoiseMultiplier = "rai.dp.noise_multiplier"
	KeyDPSampleRate      = "rai.dp.sample_rate"
	KeyDPSteps           = "rai.dp.steps"
	KeyDPDelta           = "rai.dp.delta"
	KeyDPClippingNorm    = "rai.dp.clipping_norm"
	// KeyDPEpsilon: ε at rai.dp.delta from the project's RDP accountant (Opacus' defaults).
	KeyDPEpsilon = "rai.dp.epsilon"
	// KeyDPAccountant names the accountant that computed rai.dp.epsilon ("rdp").
	KeyDPAccountant = "rai.dp.accountant"
)

// Provenance is what the exported model says about its data.
type Provenance struct {
	// Name becomes the ONNX graph name.
	Name string
	// Features and Label name the model's input columns (in order) and its label column.
	Features []string
	Label    string
	// Sensitive names the data's sensitive columns, recorded for evaluators.
	Sensitive []string
	// DatasetSHA256 is the training file's lowercase hex sha256.
	DatasetSHA256 string
	// Encoding is the value of rai.encoding.
	Encoding string
	// Version is the producer version (the rai build).
	Version string
}

// Export is a model ready to write: the ONNX bytes, the metadata they carry, and the ε when
// trained with DP.
type Export struct {
	ONNX     []byte
	Metadata map[string]string
	// Epsilon is the (ε, rai.dp.delta) guarantee; 0 without DP.
	Epsilon float64
}

// ExportONNX writes m as an ONNX binary classifier (input "features" float32 [N, F], output
// "probability" float32 [N, 1] = P(label = 1)) whose metadata_props record the recipe r and the
// provenance p. For DP recipes it computes ε for r's noise multiplier, sample rate and steps at
// r.DP.Delta with the project's RDP accountant and records it with the parameters.
func ExportONNX(m *Model, r Recipe, p Provenance) (*Export, error) {
	switch {
	case len(p.Features) != m.Features():
		return nil, fmt.Errorf("export model: %d feature names for a model of %d inputs", len(p.Features), m.Features())
	case p.Label == "":
		return nil, errors.New("export model: no label column name")
	case len(p.DatasetSHA256) != 64 || strings.Trim(p.DatasetSHA256, "0123456789abcdef") != "":
		return nil, fmt.Errorf("export model: dataset sha256 %q is not 64 lowercase hex digits", p.DatasetSHA256)
	}
	for _, f := range p.Features {
		if f == "" || strings.Contains(f, ",") {
			return nil, fmt.Errorf("export model: feature name %q is empty or has a comma", f)
		}
	}
	recipe, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("export model: encode recipe: %w", err)
	}
	md := map[string]string{
		KeyFeatures:      strings.Join(p.Features, ","),
		KeyLabel:         p.Label,
		KeyDatasetSHA256: p.DatasetSHA256,
		KeyEncoding:      p.Encoding,
		KeyRecipe:        string(recipe),
	}
	if len(p.Sensitive) > 0 {
		md[KeySensitive] = strings.Join(p.Sensitive, ",")
	}
	out := &Export{Metadata: md}
	if r.DP != nil {
		steps := r.Steps()
		eps, err := epsilon(r.DP.NoiseMultiplier, r.SampleRate, steps, r.DP.Delta)
		if err != nil {
			return nil, fmt.Errorf("export model: account for DP-SGD: %w", err)
		}
		out.Epsilon = eps
		md[KeyDPNoiseMultiplier] = decimal(r.DP.NoiseMultiplier)
		md[KeyDPSampleRate] = decimal(r.SampleRate)
		md[KeyDPSteps] = strconv.Itoa(steps)
		md[KeyDPDelta] = decimal(r.DP.Delta)
		md[KeyDPClippingNorm] = decimal(r.DP.ClippingNorm)
		md[KeyDPEpsilon] = decimal(eps)
		md[KeyDPAccountant] = "rdp"
	}
	mlp, err := m.Export()
	if err != nil {
		return nil, err
	}
	doc := fmt.Sprintf("%s trained by rai model train; P(%s = 1) from %d features", r.Model, p.Label, m.Features())
	if r.DP != nil {
		doc += fmt.Sprintf("; DP-SGD (ε = %.3g at δ = %g)", out.Epsilon, r.DP.Delta)
	}
	out.ONNX, err = mlp.Marshal(onnxwriter.ModelInfo{GraphName: p.Name, ProducerVersion: p.Version, ModelVersion: 1, DocString: doc, Metadata: md})
	if err != nil {
		return nil, fmt.Errorf("export model: write ONNX: %w", err)
	}
	return out, nil
}

// decimal formats v as a plain decimal string (no exponent), exactly enough digits to read back
// the same float64.
func decimal(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// accountantTimeout bounds the accountant. Its series for fractional orders converges very
// slowly for some parameters (seen with σ ≤ 1 at q ≥ 0.1, and σ < 1 at q = 0.05), and a
// demo build must fail with a message rather than hang.
const accountantTimeout = 30 * time.Second

// epsilon is privacy.Epsilon with a time limit. On timeout the computation is abandoned (its
// goroutine runs on until it returns; the caller is expected to exit).
func epsilon(sigma, q float64, steps int, delta float64) (float64, error) {
	type result struct {
		eps float64
		err error
	}
	done := make(chan result, 1)
	go func() {
		eps, _, err := privacy.Epsilon(sigma, q, steps, delta)
		done <- result{eps, err}
	}()
	select {
	case r := <-done:
		return r.eps, r.err
	case <-time.After(accountantTimeout):
		return 0, fmt.Errorf("the RDP accountant did not finish within %v for noise multiplier %v, sample rate %v, %d steps: choose a larger noise multiplier or a smaller sample rate", accountantTimeout, sigma, q, steps)
	}
}
