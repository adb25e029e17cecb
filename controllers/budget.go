package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/evaluation/privacy"
	"github.com/responsible-ai/rmodel-operator/internal/report"
	"github.com/responsible-ai/rmodel-operator/policies"
)

// The privacy budget. A PrivacyBudget's charges are the privacy that
// promoted versions spent; they compose by adding RDP curves where charges
// carry them (converted to epsilon at the budget's delta), plus plain
// epsilons for charges that do not (basic composition). An artifact is
// charged once, keyed by its model digest, before it rolls out, and never
// uncharged: the privacy was spent when it was trained, so releasing it again
// under another name or version costs nothing more, and another artifact
// under a name and version charged before is a new charge.

// privacyCost is one version's privacy: its epsilon and, when the report
// carried one, its RDP curve at privacy.DefaultOrders().
type privacyCost struct {
	Epsilon float64
	Delta   float64
	RDP     []float64
}

// composeEpsilon returns the epsilon of all costs together at delta.
func composeEpsilon(method raiv1.CompositionMethod, delta float64, costs []privacyCost) float64 {
	orders := privacy.DefaultOrders()
	var plain float64
	var curve []float64
	for _, c := range costs {
		if method != raiv1.CompositionBasic && len(c.RDP) == len(orders) {
			if curve == nil {
				curve = make([]float64, len(orders))
			}
			for i, v := range c.RDP {
				curve[i] += v
			}
			continue
		}
		plain += c.Epsilon
	}
	if curve == nil {
		return plain
	}
	eps, _ := privacy.EpsilonFromRDP(orders, curve, delta)
	return eps + plain
}

// costOfCharge reads a stored charge.
func costOfCharge(c raiv1.PrivacyCharge) (privacyCost, error) {
	eps, err := strconv.ParseFloat(c.Epsilon, 64)
	if err != nil {
		return privacyCost{}, fmt.Errorf("charge of %s/%s: epsilon %q: %w", c.Model, c.Version, c.Epsilon, err)
	}
	delta, _ := strconv.ParseFloat(c.Delta, 64)
	out := privacyCost{Epsilon: eps, Delta: delta}
	for _, s := range c.RDP {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return privacyCost{Epsilon: eps, Delta: delta}, nil // no usable curve: basic composition
		}
		out.RDP = append(out.RDP, v)
	}
	return out, nil
}

// costOfReport reads a privacy report's epsilon, delta and RDP curve. It
// returns false when the report gives no finite epsilon.
func costOfReport(rep *report.Report) (privacyCost, bool) {
	if rep == nil || rep.State != report.StateSucceeded {
		return privacyCost{}, false
	}
	eps := rep.Metrics["epsilon"]
	if eps == nil {
		return privacyCost{}, false
	}
	out := privacyCost{Epsilon: *eps}
	if d := rep.Metrics["delta"]; d != nil {
		out.Delta = *d
	}
	var details struct {
		RDP *struct {
			Orders []float64  `json:"orders"`
			RDP    []*float64 `json:"rdp"`
		} `json:"rdp"`
	}
	if len(rep.Details) == 0 || json.Unmarshal(rep.Details, &details) != nil || details.RDP == nil {
		// The compact report (a termination message) drops the curve: it
		// is recomputed from the DP-SGD parameters the report states, and
		// used only if it gives back the report's own epsilon.
		out.RDP = curveFromParameters(rep, out)
		return out, true
	}
	orders := privacy.DefaultOrders()
	if len(details.RDP.Orders) != len(orders) || len(details.RDP.RDP) != len(orders) {
		return out, true
	}
	curve := make([]float64, len(orders))
	for i, o := range orders {
		v := details.RDP.RDP[i]
		if v == nil || math.Abs(details.RDP.Orders[i]-o) > 1e-9 {
			return out, true
		}
		curve[i] = *v
	}
	out.RDP = curve
	return out, true
}

// curveFromParameters recomputes a privacy report's RDP curve from its
// noise_multiplier, sample_rate and steps metrics. It returns nil when they
// are missing or the curve does not reproduce the report's epsilon.
func curveFromParameters(rep *report.Report, cost privacyCost) []float64 {
	sigma, q, steps := rep.Metrics["noise_multiplier"], rep.Metrics["sample_rate"], rep.Metrics["steps"]
	if sigma == nil || q == nil || steps == nil || cost.Delta <= 0 || *steps != math.Trunc(*steps) || *steps < 0 {
		return nil
	}
	orders := privacy.DefaultOrders()
	curve := privacy.RDP(*q, *sigma, int(*steps), orders)
	eps, _ := privacy.EpsilonFromRDP(orders, curve, cost.Delta)
	if math.IsInf(eps, 0) || math.IsNaN(eps) || math.Abs(eps-cost.Epsilon) > 1e-6*math.Max(1, cost.Epsilon) {
		return nil
	}
	return curve
}

// budgetView is a budget as one candidate sees it.
type budgetView struct {
	Name  string
	Total float64
	// Delta is the budget's delta, as written in its spec.
	Delta string
	// Spent composes every charge but the candidate's own.
	Spent float64
	// WithCandidate composes them with the candidate's cost.
	WithCandidate float64
	// Candidate is the candidate's cost; Chargeable is false when the
	// candidate has no finite epsilon.
	Candidate  privacyCost
	Chargeable bool
	// Charged is true when the candidate's artifact is already charged.
	Charged bool
	// DatasetSHA256 is the data set the privacy report names, if any.
	DatasetSHA256 string
}

// Remaining is what the budget leaves for the candidate, never below 0.
func (b *budgetView) Remaining() float64 { return math.Max(0, b.Total-b.Spent) }

// chargedFor reports whether charge c is the charge of the artifact with
// digest. A charge recorded without a digest (before charges named one) is
// matched by model and version.
func chargedFor(c raiv1.PrivacyCharge, model, version, digest string) bool {
	if c.ModelSHA256 != "" {
		return c.ModelSHA256 == digest
	}
	return c.Model == model && c.Version == version
}

// viewBudget composes a budget's charges with a candidate's cost. Pure.
func viewBudget(b *raiv1.PrivacyBudget, model, version, digest string, candidate privacyCost, chargeable bool) (*budgetView, error) {
	total, err := strconv.ParseFloat(string(b.Spec.Epsilon), 64)
	if err != nil {
		return nil, fmt.Errorf("PrivacyBudget %s: epsilon %q: %w", b.Name, b.Spec.Epsilon, err)
	}
	delta, err := strconv.ParseFloat(string(b.Spec.Delta), 64)
	if err != nil {
		return nil, fmt.Errorf("PrivacyBudget %s: delta %q: %w", b.Name, b.Spec.Delta, err)
	}
	v := &budgetView{Name: b.Name, Total: total, Delta: string(b.Spec.Delta), Candidate: candidate, Chargeable: chargeable}
	var others []privacyCost
	for _, c := range b.Status.Charges {
		if chargedFor(c, model, version, digest) {
			v.Charged = true
			continue
		}
		cost, err := costOfCharge(c)
		if err != nil {
			return nil, fmt.Errorf("PrivacyBudget %s: %w", b.Name, err)
		}
		others = append(others, cost)
	}
	v.Spent = composeEpsilon(b.Spec.Composition, delta, others)
	v.WithCandidate = v.Spent
	if chargeable {
		v.WithCandidate = composeEpsilon(b.Spec.Composition, delta, append(others, candidate))
	}
	return v, nil
}

// budgetViolations are the operator's own verdicts on a budget: it denies
// over-spending even if a policy forgot to.
func budgetViolations(v *budgetView) []policies.Violation {
	switch {
	case !v.Chargeable:
		return []policies.Violation{{Code: CodeBudgetUnchargeable, Message: fmt.Sprintf(
			"privacy: PrivacyBudget %s is referenced but the candidate has no epsilon to charge to it", v.Name)}}
	case v.WithCandidate > v.Total:
		return []policies.Violation{{Code: policies.CodeBudgetExhausted, Message: fmt.Sprintf(
			"privacy: composed with the charges of PrivacyBudget %s, the candidate's epsilon %s would bring the spend from %s to %s, over the total %s (checked by the operator)",
			v.Name, formatEpsilon(v.Candidate.Epsilon), formatEpsilon(v.Spent), formatEpsilon(v.WithCandidate), formatEpsilon(v.Total))}}
	}
	return nil
}

// budgetForCandidate reads the candidate's budget. It returns nil and no
// violation when no budget is referenced.
func (r *ResponsibleModelReconciler) budgetForCandidate(ctx context.Context, obj *raiv1.ResponsibleModel, privacyReport *report.Report) (*budgetView, *raiv1.PrivacyBudget, []policies.Violation, error) {
	p := obj.Spec.Evaluations.Privacy
	if p == nil || p.BudgetRef == nil {
		return nil, nil, nil, nil
	}
	b := &raiv1.PrivacyBudget{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: obj.Namespace, Name: p.BudgetRef.Name}, b); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil, []policies.Violation{{Code: CodeBudgetNotFound, Message: fmt.Sprintf(
				"privacy: PrivacyBudget %s not found: the version's epsilon cannot be charged", p.BudgetRef.Name)}}, nil
		}
		return nil, nil, nil, fmt.Errorf("read PrivacyBudget %q: %w", p.BudgetRef.Name, err)
	}
	cost, ok := costOfReport(privacyReport)
	v, err := viewBudget(b, obj.Name, obj.Status.CandidateVersion, obj.Status.CandidateModelSHA256, cost, ok)
	if err != nil {
		return nil, b, []policies.Violation{{Code: policies.CodeInputInvalid, Message: err.Error()}}, nil
	}
	if privacyReport != nil && privacyReport.Dataset != nil {
		v.DatasetSHA256 = privacyReport.Dataset.SHA256
	}
	return v, b, budgetViolations(v), nil
}

// reconcileBudget charges the candidate's epsilon to its PrivacyBudget
// once, before it rolls out.
//
// It sets no condition. It returns an error (and the reconcile retries,
// deciding again) when the budget changed so that the charge no longer
// fits. It does nothing unless the candidate is promotable and references a
// budget.
func (r *ResponsibleModelReconciler) reconcileBudget(ctx context.Context, s *scope) (ctrl.Result, error) {
	obj := s.obj
	if !s.Promotable || s.budget == nil || s.budget.Charged {
		return ctrl.Result{}, nil
	}
	version := obj.Status.CandidateVersion
	key := client.ObjectKey{Namespace: obj.Namespace, Name: s.budget.Name}
	b := &raiv1.PrivacyBudget{}
	// The cache may lag behind a charge this manager made before a restart:
	// read the budget from the API server, and update it with an optimistic
	// lock so that two models never both spend the last of it.
	if err := r.APIReader.Get(ctx, key, b); err != nil {
		return ctrl.Result{}, fmt.Errorf("read PrivacyBudget %q to charge version %s: %w", key.Name, version, err)
	}
	digest := obj.Status.CandidateModelSHA256
	v, err := viewBudget(b, obj.Name, version, digest, s.budget.Candidate, s.budget.Chargeable)
	if err != nil {
		return ctrl.Result{}, err
	}
	if v.Charged {
		return ctrl.Result{}, nil
	}
	if vs := budgetViolations(v); len(vs) > 0 {
		s.Promotable = false
		return ctrl.Result{}, fmt.Errorf("charge version %s to PrivacyBudget %q: the budget changed since the decision: %s", version, key.Name, vs[0].Message)
	}
	charge := raiv1.PrivacyCharge{
		Model: obj.Name, Version: version, ModelSHA256: digest, DatasetSHA256: s.budget.DatasetSHA256,
		Epsilon: strconv.FormatFloat(v.Candidate.Epsilon, 'g', -1, 64),
		Delta:   strconv.FormatFloat(v.Candidate.Delta, 'g', -1, 64),
		Time:    metav1.NewTime(r.now()),
	}
	if obj.Status.LastDecision != nil {
		charge.DecisionID = obj.Status.LastDecision.ID
	}
	for _, x := range v.Candidate.RDP {
		charge.RDP = append(charge.RDP, strconv.FormatFloat(x, 'g', -1, 64))
	}
	b.Status.Charges = append(b.Status.Charges, charge)
	setBudgetStatus(b, r.now())
	if err := r.Status().Update(ctx, b); err != nil {
		return ctrl.Result{}, fmt.Errorf("charge version %s to PrivacyBudget %q: %w", version, key.Name, err)
	}
	s.budget.Charged = true
	log.FromContext(ctx).Info("privacy budget charged", "budget", key.Name, "version", version,
		"epsilon", charge.Epsilon, "spent", b.Status.Spent, "remaining", b.Status.Remaining, "decisionID", charge.DecisionID)
	r.Recorder.Eventf(obj, b, "Normal", "BudgetCharged", "Charge", "version %s charged epsilon %s to PrivacyBudget %s: %s spent, %s remaining",
		version, charge.Epsilon, key.Name, b.Status.Spent, b.Status.Remaining)
	return ctrl.Result{}, nil
}

// setBudgetStatus recomputes spent, remaining and the conditions from the
// charges. A charge that cannot be read counts as the whole budget.
func setBudgetStatus(b *raiv1.PrivacyBudget, now time.Time) {
	total, _ := strconv.ParseFloat(string(b.Spec.Epsilon), 64)
	delta, _ := strconv.ParseFloat(string(b.Spec.Delta), 64)
	var costs []privacyCost
	unreadable := false
	for _, c := range b.Status.Charges {
		cost, err := costOfCharge(c)
		if err != nil {
			unreadable = true
			continue
		}
		costs = append(costs, cost)
	}
	spent := composeEpsilon(b.Spec.Composition, delta, costs)
	if unreadable {
		spent = math.Max(spent, total)
	}
	remaining := math.Max(0, total-spent)
	b.Status.Spent, b.Status.Remaining = formatEpsilon(spent), formatEpsilon(remaining)
	b.Status.ObservedGeneration = b.Generation
	exhausted := metav1.Condition{Type: raiv1.ConditionExhausted, Status: metav1.ConditionFalse, Reason: raiv1.ReasonWithinBudget,
		Message: fmt.Sprintf("%s of %s spent by %d charges", b.Status.Spent, formatEpsilon(total), len(b.Status.Charges)), ObservedGeneration: b.Generation, LastTransitionTime: metav1.NewTime(now)}
	if remaining <= 0 {
		exhausted.Status, exhausted.Reason = metav1.ConditionTrue, raiv1.ReasonBudgetExhausted
	}
	meta.SetStatusCondition(&b.Status.Conditions, exhausted)
	meta.SetStatusCondition(&b.Status.Conditions, metav1.Condition{Type: raiv1.ConditionReady, Status: metav1.ConditionTrue, Reason: raiv1.ReasonWithinBudget,
		Message: "charges are composed", ObservedGeneration: b.Generation, LastTransitionTime: metav1.NewTime(now)})
	if unreadable {
		meta.SetStatusCondition(&b.Status.Conditions, metav1.Condition{Type: raiv1.ConditionReady, Status: metav1.ConditionFalse, Reason: raiv1.ReasonInvalidSpec,
			Message: "a charge cannot be read; the budget counts as spent", ObservedGeneration: b.Generation, LastTransitionTime: metav1.NewTime(now)})
	}
}

// formatEpsilon renders an epsilon for status and the policy: six
// significant digits.
func formatEpsilon(v float64) string {
	return strconv.FormatFloat(v, 'g', 6, 64)
}

// PrivacyBudgetReconciler keeps a PrivacyBudget's spent, remaining and
// conditions in step with its spec and charges.
type PrivacyBudgetReconciler struct {
	client.Client
	Now func() time.Time
}

// Reconcile recomputes the budget's status; it patches only on change.
func (r *PrivacyBudgetReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	b := &raiv1.PrivacyBudget{}
	if err := r.Get(ctx, req.NamespacedName, b); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := b.DeepCopy()
	now := time.Now()
	if r.Now != nil {
		now = r.Now()
	}
	setBudgetStatus(b, now)
	if statusEqualIgnoringTimes(before.Status, b.Status) {
		return ctrl.Result{}, nil
	}
	// Update, not patch: the charges list must not be overwritten by a
	// stale copy, so the resourceVersion guards the write.
	if err := r.Status().Update(ctx, b); err != nil {
		return ctrl.Result{}, fmt.Errorf("update PrivacyBudget %q status: %w", b.Name, err)
	}
	return ctrl.Result{}, nil
}

// SetupWithManager registers the PrivacyBudget reconciler.
func (r *PrivacyBudgetReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).For(&raiv1.PrivacyBudget{}).Named("privacybudget").Complete(r)
}

// budgetIndex indexes models by the PrivacyBudget they reference.
const budgetIndex = "spec.evaluations.privacy.budgetRef.name"

// modelsForBudget maps a PrivacyBudget to the models that reference it.
func (r *ResponsibleModelReconciler) modelsForBudget(ctx context.Context, o client.Object) []ctrl.Request {
	list := &raiv1.ResponsibleModelList{}
	if err := r.List(ctx, list, client.InNamespace(o.GetNamespace()), client.MatchingFields{budgetIndex: o.GetName()}); err != nil {
		log.FromContext(ctx).Error(err, "list models that use a PrivacyBudget", "budget", o.GetName())
		return nil
	}
	return requestsFor(list)
}

// statusEqualIgnoringTimes compares what a budget's status says, not when.
func statusEqualIgnoringTimes(a, b raiv1.PrivacyBudgetStatus) bool {
	if a.Spent != b.Spent || a.Remaining != b.Remaining || a.ObservedGeneration != b.ObservedGeneration || len(a.Conditions) != len(b.Conditions) {
		return false
	}
	for _, c := range a.Conditions {
		d := meta.FindStatusCondition(b.Conditions, c.Type)
		if d == nil || d.Status != c.Status || d.Reason != c.Reason || d.Message != c.Message || d.ObservedGeneration != c.ObservedGeneration {
			return false
		}
	}
	return true
}
