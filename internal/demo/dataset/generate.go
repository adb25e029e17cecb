// Package dataset generates the project's synthetic credit-lending data set and reads and writes
// it as CSV.
//
// The data set exists to demonstrate and test the operator's verdicts, so it is built to be
// understood: every row is drawn from a small, documented generative model (see Generate), the
// same Config always yields the same bytes, and one knob (Config.Bias) sets how strongly the
// label and a proxy feature depend on the sensitive attribute `sex`.
//
// A CSV row holds the model features first, already numeric (standardized numbers, a count and a
// one-hot block: see Encoding), then the label, then the sensitive columns. The sensitive columns
// are never model features: evaluators read them to form groups.
package dataset

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Column names shared with the trainer, the evaluators and the ONNX metadata.
const (
	// LabelColumn holds 1 when the loan was repaid (the favorable outcome) and 0 otherwise.
	LabelColumn = "label"
	// SexColumn is the sensitive attribute the bias knob acts on: "female" or "male".
	SexColumn = "sex"
	// AgeGroupColumn is a second sensitive attribute, for intersectional groups: "under_25",
	// "25_to_59" or "60_plus".
	AgeGroupColumn = "age_group"
)

// Values of the sensitive columns. Male is the privileged group: the bias knob lowers the
// chance of a favorable label for women.
const (
	Female = "female"
	Male   = "male"

	AgeUnder25  = "under_25"
	Age25To59   = "25_to_59"
	Age60OrMore = "60_plus"
)

// FeatureNames are the model's input columns, in model input order.
var FeatureNames = []string{
	"income",                   // standardized log income
	"debt_to_income",           // standardized debt-to-income ratio
	"credit_history",           // standardized length of credit history
	"late_payments",            // count of late payments in the last two years (0, 1, 2, ...)
	"loan_amount",              // standardized requested amount
	"employment_salaried",      // one-hot employment, 1 of 3
	"employment_self_employed", // one-hot employment, 2 of 3
	"employment_unemployed",    // one-hot employment, 3 of 3
	"region_score",             // standardized score of the applicant's region: the proxy for sex
}

// SensitiveColumns are the group columns every CSV carries after the label.
var SensitiveColumns = []string{SexColumn, AgeGroupColumn}

// Encoding describes, as the JSON value of the rai.encoding metadata key, how the raw applicant
// attributes became the numeric feature columns.
const Encoding = `{"standardized":["income","debt_to_income","credit_history","loan_amount","region_score"],` +
	`"count":["late_payments"],` +
	`"one_hot":{"employment":{"salaried":"employment_salaried","self_employed":"employment_self_employed","unemployed":"employment_unemployed"}},` +
	`"not_features":["sex","age_group"]}`

// Config sets what Generate draws. The zero value is not valid; start from DefaultConfig.
type Config struct {
	// Seed seeds every random draw (math/rand/v2 PCG): the same Config gives the same rows.
	Seed uint64 `json:"seed"`
	// Bias in [0, 1] is how strongly the label and the proxy feature region_score depend on
	// sex. 0: neither does; 1: being female lowers the log-odds of a favorable label by
	// LabelBiasLogOdds and region_score is 0.97-correlated with sex, nearly a copy of it.
	Bias float64 `json:"bias"`
	// TrainRows, EvalRows and AuditRows are the sizes of the training split, the evaluation
	// split, and each of the two membership-audit samples (members are the first AuditRows
	// training rows; non-members are drawn apart from every other split).
	TrainRows int `json:"trainRows"`
	EvalRows  int `json:"evalRows"`
	AuditRows int `json:"auditRows"`
}

// LabelBiasLogOdds is the drop in the log-odds of a favorable label for women at Bias = 1.
const LabelBiasLogOdds = 1.5

// signalScale multiplies the legitimate score: it sets how predictable repayment is (a logistic
// regression reaches about 0.8 accuracy), which in turn sets how far most rows lie from a good
// model's decision boundary.
const signalScale = 1.5

// proxyCorrelation is the correlation of region_score with "is male" (±1) at Bias = 1.
const proxyCorrelation = 0.97

// DefaultConfig is the demo's data set: 20,000 training rows, 20,000 evaluation rows (enough
// that even the six intersectional groups' rates are known to about ±0.015), audit samples of
// 2,000, and a bias of 0.85: strong enough that an unmitigated model fails a demographic-parity
// ratio of 0.8 by sex (about 0.72), mild enough that reweighing brings it back near 0.88 with an
// equalized-odds difference under 0.1.
func DefaultConfig() Config {
	return Config{Seed: 1, Bias: 0.85, TrainRows: 20000, EvalRows: 20000, AuditRows: 2000}
}

// Validate reports the first field outside its domain.
func (c Config) Validate() error {
	switch {
	case math.IsNaN(c.Bias) || c.Bias < 0 || c.Bias > 1:
		return fmt.Errorf("bias %v is outside [0, 1]", c.Bias)
	case c.TrainRows < 1:
		return fmt.Errorf("train rows %d: want at least 1", c.TrainRows)
	case c.EvalRows < 1:
		return fmt.Errorf("eval rows %d: want at least 1", c.EvalRows)
	case c.AuditRows < 1:
		return fmt.Errorf("audit rows %d: want at least 1", c.AuditRows)
	case c.AuditRows > c.TrainRows:
		return fmt.Errorf("audit rows %d exceed train rows %d: members are a subset of the training split", c.AuditRows, c.TrainRows)
	}
	return nil
}

// Splits are the four tables of one generated data set.
type Splits struct {
	Train      *Table // what models are trained on
	Eval       *Table // held out: fairness, robustness and accuracy are measured here
	Members    *Table // the first AuditRows rows of Train, for the membership-inference audit
	NonMembers *Table // AuditRows rows from the same distribution that no model saw
}

// Per-split PCG streams: each split has its own stream so that changing one split's size never
// changes another split's rows.
const (
	streamTrain      = 0x7261692d74726169 // "rai-trai"
	streamEval       = 0x7261692d6576616c // "rai-eval"
	streamNonMembers = 0x7261692d6e6f6e6d // "rai-nonm"
)

// Generate draws the data set described by c.
//
// Each row is drawn independently:
//
//	sex        female or male with probability 1/2 each
//	age_group  under_25 0.2, 25_to_59 0.6, 60_plus 0.2
//	income           ~ N(0, 1)
//	debt_to_income   ~ N(0, 1)
//	credit_history   ~ N(0, 1)
//	late_payments    ~ Poisson(0.6)
//	loan_amount      = 0.3·income + N(0, 0.95²)
//	employment       salaried 0.65, self_employed 0.20, unemployed 0.15 (one-hot)
//	region_score     = ρ·m + √(1−ρ²)·N(0, 1),  m = +1 male, −1 female, ρ = 0.97·Bias
//	label            ~ Bernoulli(σ(s − 1.5·Bias·[female])) with the legitimate score
//	s = 1.5·(0.6 + 1.0·income − 0.9·debt_to_income + 0.7·credit_history − 0.6·late_payments
//	    − 0.4·loan_amount + 0.3·salaried − 0.2·self_employed − 1.2·unemployed)
//
// region_score has no effect of its own on the label: a model that leans on it learns sex.
// age_group affects nothing: it is there to form intersectional groups, and a model that is fair
// by sex stays fair on sex × age_group up to sampling noise.
// Features are rounded to 4 decimals, so the CSV holds exactly the values generated.
func Generate(c Config) (Splits, error) {
	if err := c.Validate(); err != nil {
		return Splits{}, fmt.Errorf("generate data set: %w", err)
	}
	train := draw(c, streamTrain, c.TrainRows)
	return Splits{
		Train:      train,
		Eval:       draw(c, streamEval, c.EvalRows),
		Members:    train.Slice(0, c.AuditRows),
		NonMembers: draw(c, streamNonMembers, c.AuditRows),
	}, nil
}

func draw(c Config, stream uint64, rows int) *Table {
	rng := rand.New(rand.NewPCG(c.Seed, stream))
	t := &Table{
		FeatureNames: FeatureNames,
		X:            make([][]float64, rows),
		Y:            make([]int, rows),
		Sensitive:    map[string][]string{SexColumn: make([]string, rows), AgeGroupColumn: make([]string, rows)},
	}
	rho := proxyCorrelation * c.Bias
	for i := range rows {
		female := rng.Float64() < 0.5
		var age string
		switch u := rng.Float64(); {
		case u < 0.2:
			age = AgeUnder25
		case u < 0.8:
			age = Age25To59
		default:
			age = Age60OrMore
		}
		income := rng.NormFloat64()
		dti := rng.NormFloat64()
		history := rng.NormFloat64()
		late := float64(poisson(rng, 0.6))
		loan := 0.3*income + 0.95*rng.NormFloat64()
		var salaried, self, unemployed float64
		switch u := rng.Float64(); {
		case u < 0.65:
			salaried = 1
		case u < 0.85:
			self = 1
		default:
			unemployed = 1
		}
		m := 1.0
		if female {
			m = -1
		}
		region := rho*m + math.Sqrt(1-rho*rho)*rng.NormFloat64()

		x := []float64{income, dti, history, late, loan, salaried, self, unemployed, region}
		for j := range x {
			x[j] = round4(x[j])
		}
		s := signalScale * (0.6 + 1.0*x[0] - 0.9*x[1] + 0.7*x[2] - 0.6*x[3] - 0.4*x[4] + 0.3*x[5] - 0.2*x[6] - 1.2*x[7])
		if female {
			s -= LabelBiasLogOdds * c.Bias
		}
		y := 0
		if rng.Float64() < sigmoid(s) {
			y = 1
		}
		sex := Male
		if female {
			sex = Female
		}
		t.X[i], t.Y[i] = x, y
		t.Sensitive[SexColumn][i] = sex
		t.Sensitive[AgeGroupColumn][i] = age
	}
	return t
}

// poisson draws from Poisson(lambda) by Knuth's multiplication method (lambda is small).
func poisson(rng *rand.Rand, lambda float64) int {
	limit, k, p := math.Exp(-lambda), 0, rng.Float64()
	for p > limit {
		k++
		p *= rng.Float64()
	}
	return k
}

func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }
