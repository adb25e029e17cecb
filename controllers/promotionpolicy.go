package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/report"
	"github.com/responsible-ai/rmodel-operator/policies"
)

// The platform's PromotionPolicies: cluster-scoped, so only the platform team
// writes them. They say what a model's owner may not change: required
// evaluations, threshold floors, the enforcement modes a model may use, and
// how privacy is bound to budgets. Several that select one model all apply,
// the strictest wins.

// Violation codes of the platform's rules; every one is blocking (no
// enforcement mode promotes past it).
const (
	// CodeEvaluationRequired: a PromotionPolicy requires an evaluation the
	// spec does not request.
	CodeEvaluationRequired = "EvaluationRequired"
	// CodeBudgetRequired: a PromotionPolicy requires a privacy evaluation
	// bound to a PrivacyBudget.
	CodeBudgetRequired = "BudgetRequired"
	// CodeBudgetMismatch: the PrivacyBudget does not protect the data the
	// model was trained on.
	CodeBudgetMismatch = "BudgetMismatch"
	// CodePolicyRefused: a namespace policy ConfigMap holds more than
	// threshold data.
	CodePolicyRefused = "PolicyRefused"
)

// platformThreshold is a platform floor and the policy it comes from.
type platformThreshold struct {
	Value  string `json:"value"`
	Source string `json:"source"`
}

// platformView is what the PromotionPolicies selecting one model require.
type platformView struct {
	// Policies select the model, by name.
	Policies []raiv1.PromotionPolicy
	// Required maps each required kind to the policies requiring it.
	Required map[report.Kind][]string
	// Thresholds are the strictest floors, by key.
	Thresholds map[string]platformThreshold
	// Allowed are the enforcement modes every selecting policy allows.
	Allowed []raiv1.EnforcementMode
	// RequireBudget, MatchDatasetDigest, RequireApproval and
	// IndependentApprover name the policies asking for it.
	RequireBudget, MatchDatasetDigest, RequireApproval, IndependentApprover []string
	// IntervalsInconclusive names the policies whose confidenceIntervals
	// is Inconclusive.
	IntervalsInconclusive []string
}

// Names lists the selecting policies.
func (v *platformView) Names() []string {
	out := make([]string, len(v.Policies))
	for i, p := range v.Policies {
		out[i] = p.Name
	}
	return out
}

// thresholdDirection is +1 when a larger value is stricter (a *_min, the
// certified radius), -1 when a smaller one is (*_max), 0 when unknown.
func thresholdDirection(key string) int {
	switch {
	case strings.HasSuffix(key, "_min"), key == "certified_radius":
		return 1
	case strings.HasSuffix(key, "_max"):
		return -1
	}
	return 0
}

// selects reports whether p selects a model with labels in a namespace
// with nsLabels.
func selects(p *raiv1.PromotionPolicy, nsLabels, modelLabels map[string]string) (bool, error) {
	for _, s := range []struct {
		sel *metav1.LabelSelector
		set map[string]string
	}{{p.Spec.NamespaceSelector, nsLabels}, {p.Spec.ModelSelector, modelLabels}} {
		if s.sel == nil {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(s.sel)
		if err != nil {
			return false, fmt.Errorf("PromotionPolicy %s: %w", p.Name, err)
		}
		if !sel.Matches(labels.Set(s.set)) {
			return false, nil
		}
	}
	return true, nil
}

// buildPlatformView combines the policies that select a model. Pure.
func buildPlatformView(selected []raiv1.PromotionPolicy) *platformView {
	v := &platformView{Required: map[report.Kind][]string{}, Thresholds: map[string]platformThreshold{}}
	v.Policies = slices.Clone(selected)
	slices.SortFunc(v.Policies, func(a, b raiv1.PromotionPolicy) int { return strings.Compare(a.Name, b.Name) })
	allowed := map[raiv1.EnforcementMode]bool{raiv1.EnforcementEnforce: true, raiv1.EnforcementWarn: true, raiv1.EnforcementDryRun: true}
	if len(v.Policies) == 0 {
		allowed = map[raiv1.EnforcementMode]bool{raiv1.EnforcementEnforce: true}
	}
	for _, p := range v.Policies {
		for _, k := range p.Spec.RequiredEvaluations {
			v.Required[report.Kind(k)] = append(v.Required[report.Kind(k)], p.Name)
		}
		modes := p.Spec.AllowedEnforcement
		if len(modes) == 0 {
			modes = []raiv1.EnforcementMode{raiv1.EnforcementEnforce}
		}
		for m := range allowed {
			if !slices.Contains(modes, m) {
				delete(allowed, m)
			}
		}
		if p.Spec.RequireApproval {
			v.RequireApproval = append(v.RequireApproval, p.Name)
		}
		if p.Spec.ConfidenceIntervals == raiv1.ConfidenceIntervalsInconclusive {
			v.IntervalsInconclusive = append(v.IntervalsInconclusive, p.Name)
		}
		if p.Spec.RequireIndependentApprover {
			v.IndependentApprover = append(v.IndependentApprover, p.Name)
		}
		if pr := p.Spec.Privacy; pr != nil {
			if pr.RequireBudget {
				v.RequireBudget = append(v.RequireBudget, p.Name)
			}
			if pr.MatchDatasetDigest {
				v.MatchDatasetDigest = append(v.MatchDatasetDigest, p.Name)
			}
		}
		for _, key := range slices.Sorted(maps.Keys(p.Spec.Thresholds)) {
			val := string(p.Spec.Thresholds[key])
			cur, ok := v.Thresholds[key]
			if !ok || stricter(key, val, cur.Value) {
				v.Thresholds[key] = platformThreshold{Value: val, Source: "PromotionPolicy " + p.Name}
			}
		}
	}
	// Enforce is always allowed: it is what a refused mode becomes.
	allowed[raiv1.EnforcementEnforce] = true
	for _, m := range []raiv1.EnforcementMode{raiv1.EnforcementEnforce, raiv1.EnforcementWarn, raiv1.EnforcementDryRun} {
		if allowed[m] {
			v.Allowed = append(v.Allowed, m)
		}
	}
	return v
}

// stricter reports whether threshold value a is stricter than b for key.
// With an unknown direction, or values that are not numbers, the first
// policy's value (by name) stays.
func stricter(key, a, b string) bool {
	x, errA := strconv.ParseFloat(a, 64)
	y, errB := strconv.ParseFloat(b, 64)
	if errA != nil || errB != nil {
		return false
	}
	switch thresholdDirection(key) {
	case 1:
		return x > y
	case -1:
		return x < y
	}
	return false
}

// effectiveEnforcement is the mode that applies: the spec's when the
// platform allows it, else Enforce.
func effectiveEnforcement(obj *raiv1.ResponsibleModel, v *platformView) raiv1.EnforcementMode {
	m := enforcement(obj)
	if slices.Contains(v.Allowed, m) {
		return m
	}
	return raiv1.EnforcementEnforce
}

// platformViolations are the platform's rules the operator checks itself.
// Pure.
func platformViolations(obj *raiv1.ResponsibleModel, v *platformView, kinds []report.Kind, budget *raiv1.PrivacyBudget, privacyReport *report.Report) []policies.Violation {
	var out []policies.Violation
	for _, k := range slices.Sorted(maps.Keys(v.Required)) {
		if !slices.Contains(kinds, k) {
			out = append(out, policies.Violation{Code: CodeEvaluationRequired, Message: fmt.Sprintf(
				"PromotionPolicy %s requires a %s evaluation; the spec requests none", strings.Join(v.Required[k], ", "), k)})
		}
	}
	p := obj.Spec.Evaluations.Privacy
	if len(v.RequireBudget) > 0 && (p == nil || p.BudgetRef == nil) {
		out = append(out, policies.Violation{Code: CodeBudgetRequired, Message: fmt.Sprintf(
			"PromotionPolicy %s requires a privacy evaluation bound to a PrivacyBudget (spec.evaluations.privacy.budgetRef)", strings.Join(v.RequireBudget, ", "))})
	}
	if len(v.MatchDatasetDigest) > 0 && budget != nil {
		by := strings.Join(v.MatchDatasetDigest, ", ")
		trained := ""
		if privacyReport != nil {
			trained = privacyReport.Parameters[paramTrainingDatasetSHA256]
		}
		switch {
		case budget.Spec.DatasetSHA256 == "":
			out = append(out, policies.Violation{Code: CodeBudgetMismatch, Message: fmt.Sprintf(
				"PromotionPolicy %s charges a model only to the budget of its training data, but PrivacyBudget %s names no spec.datasetSHA256", by, budget.Name)})
		case trained == "":
			out = append(out, policies.Violation{Code: CodeBudgetMismatch, Message: fmt.Sprintf(
				"PromotionPolicy %s charges a model only to the budget of its training data, but the model names no training data digest (rai.dataset.sha256 metadata)", by)})
		case trained != string(budget.Spec.DatasetSHA256):
			out = append(out, policies.Violation{Code: CodeBudgetMismatch, Message: fmt.Sprintf(
				"PromotionPolicy %s: the model was trained on data with sha256 %s, but PrivacyBudget %s protects %s", by, trained, budget.Name, budget.Spec.DatasetSHA256)})
		}
	}
	return out
}

// paramTrainingDatasetSHA256 is the privacy report parameter that names the
// training data's digest (runner.ParamTrainingDatasetSHA256; the manager
// does not import the runtime).
const paramTrainingDatasetSHA256 = "training_dataset_sha256"

// platformFor reads the PromotionPolicies that select the model.
func (r *ResponsibleModelReconciler) platformFor(ctx context.Context, obj *raiv1.ResponsibleModel) (*platformView, error) {
	list := &raiv1.PromotionPolicyList{}
	if err := r.List(ctx, list); err != nil {
		return nil, fmt.Errorf("list PromotionPolicies: %w", err)
	}
	if len(list.Items) == 0 {
		return buildPlatformView(nil), nil
	}
	ns := &corev1.Namespace{}
	if err := r.Get(ctx, client.ObjectKey{Name: obj.Namespace}, ns); err != nil {
		return nil, fmt.Errorf("read namespace %s for the PromotionPolicies' selectors: %w", obj.Namespace, err)
	}
	var selected []raiv1.PromotionPolicy
	for i := range list.Items {
		ok, err := selects(&list.Items[i], ns.Labels, obj.Labels)
		if err != nil {
			// A selector the API server accepted but that cannot be
			// parsed selects nothing; its status says so.
			continue
		}
		if ok {
			selected = append(selected, list.Items[i])
		}
	}
	return buildPlatformView(selected), nil
}

// promotionPolicyBundle is a PromotionPolicy's Rego and data, with module
// names prefixed by the policy's name so that two policies never collide.
func promotionPolicyBundle(p *raiv1.PromotionPolicy) (policies.Bundle, error) {
	files := map[string]string{}
	for name, src := range p.Spec.Modules {
		files[p.Name+"/"+name] = src
	}
	if strings.TrimSpace(p.Spec.Data) != "" {
		files[p.Name+"/data.json"] = p.Spec.Data
	}
	b, err := policies.BundleFromConfigMap(files)
	if err != nil {
		return policies.Bundle{}, fmt.Errorf("PromotionPolicy %s: %w", p.Name, err)
	}
	return b, nil
}

// tenantThresholds reads a namespace policy ConfigMap: only *.json keys
// holding {"rai": {"thresholds": {...}}} are accepted. Rego, or any other
// data, could loosen the platform's rules or hurt the shared manager; it
// comes only from PromotionPolicies.
func tenantThresholds(name string, data map[string]string) (map[string]any, error) {
	out := map[string]any{}
	for _, key := range slices.Sorted(maps.Keys(data)) {
		if !strings.HasSuffix(key, ".json") {
			return nil, fmt.Errorf("policy ConfigMap %s key %q: a namespace policy ConfigMap holds only threshold data (*.json); Rego comes from the platform's PromotionPolicies", name, key)
		}
		var doc map[string]map[string]map[string]any
		if err := json.Unmarshal([]byte(data[key]), &doc); err != nil {
			return nil, fmt.Errorf("policy ConfigMap %s key %q: want {\"rai\": {\"thresholds\": {...}}}: %v", name, key, err)
		}
		for top, inner := range doc {
			for k := range inner {
				if top != "rai" || k != "thresholds" {
					return nil, fmt.Errorf("policy ConfigMap %s key %q: %s.%s is not allowed; a namespace may set only rai.thresholds", name, key, top, k)
				}
			}
		}
		maps.Copy(out, doc["rai"]["thresholds"])
	}
	return out, nil
}

// PromotionPolicyReconciler keeps a PromotionPolicy's status: its digest,
// how many models it selects, and whether its Rego and data can be read.
type PromotionPolicyReconciler struct {
	client.Client
	Now func() time.Time
}

// +kubebuilder:rbac:groups=rai.responsible-ai.dev,resources=promotionpolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups=rai.responsible-ai.dev,resources=promotionpolicies/status,verbs=get;update;patch

// Reconcile recomputes the policy's status; it patches only on change.
func (r *PromotionPolicyReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	p := &raiv1.PromotionPolicy{}
	if err := r.Get(ctx, req.NamespacedName, p); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := p.DeepCopy()
	raw, _ := json.Marshal(p.Spec)
	sum := sha256.Sum256(raw)
	p.Status.Digest = "sha256:" + hex.EncodeToString(sum[:])
	p.Status.ObservedGeneration = p.Generation
	models := &raiv1.ResponsibleModelList{}
	if err := r.List(ctx, models); err != nil {
		return ctrl.Result{}, fmt.Errorf("list ResponsibleModels: %w", err)
	}
	nsLabels := map[string]map[string]string{}
	var matched int32
	var selErr error
	for _, m := range models.Items {
		if _, ok := nsLabels[m.Namespace]; !ok {
			ns := &corev1.Namespace{}
			if err := r.Get(ctx, client.ObjectKey{Name: m.Namespace}, ns); client.IgnoreNotFound(err) != nil {
				return ctrl.Result{}, fmt.Errorf("read namespace %s: %w", m.Namespace, err)
			}
			nsLabels[m.Namespace] = ns.Labels
		}
		ok, err := selects(p, nsLabels[m.Namespace], m.Labels)
		if err != nil {
			selErr = err
			break
		}
		if ok {
			matched++
		}
	}
	p.Status.MatchedModels = matched
	now := time.Now()
	if r.Now != nil {
		now = r.Now()
	}
	ready := metav1.Condition{Type: raiv1.ConditionReady, Status: metav1.ConditionTrue, Reason: "Valid",
		Message: fmt.Sprintf("selects %d models", matched), ObservedGeneration: p.Generation, LastTransitionTime: metav1.NewTime(now)}
	if _, err := promotionPolicyBundle(p); err != nil {
		ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, raiv1.ReasonInvalidSpec, err.Error()
	} else if selErr != nil {
		ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, raiv1.ReasonInvalidSpec, selErr.Error()
	}
	meta.SetStatusCondition(&p.Status.Conditions, ready)
	if equalPromotionPolicyStatus(before.Status, p.Status) {
		return ctrl.Result{}, nil
	}
	if err := r.Status().Update(ctx, p); err != nil {
		return ctrl.Result{}, fmt.Errorf("update PromotionPolicy %s status: %w", p.Name, err)
	}
	return ctrl.Result{}, nil
}

func equalPromotionPolicyStatus(a, b raiv1.PromotionPolicyStatus) bool {
	if a.ObservedGeneration != b.ObservedGeneration || a.MatchedModels != b.MatchedModels || a.Digest != b.Digest || len(a.Conditions) != len(b.Conditions) {
		return false
	}
	for _, c := range a.Conditions {
		d := meta.FindStatusCondition(b.Conditions, c.Type)
		if d == nil || d.Status != c.Status || d.Reason != c.Reason || d.Message != c.Message {
			return false
		}
	}
	return true
}

// SetupWithManager registers the reconciler; a model's labels or creation
// changes what policies match.
func (r *PromotionPolicyReconciler) SetupWithManager(mgr ctrl.Manager) error {
	all := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, _ client.Object) []ctrl.Request {
		list := &raiv1.PromotionPolicyList{}
		if err := r.List(ctx, list); err != nil {
			log.FromContext(ctx).Error(err, "list PromotionPolicies")
			return nil
		}
		out := make([]ctrl.Request, len(list.Items))
		for i := range list.Items {
			out[i] = ctrl.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])}
		}
		return out
	})
	return ctrl.NewControllerManagedBy(mgr).
		For(&raiv1.PromotionPolicy{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&raiv1.ResponsibleModel{}, all, builder.WithPredicates(labelsOrLifecycle())).
		Watches(&corev1.Namespace{}, all, builder.WithPredicates(predicate.LabelChangedPredicate{})).
		Named("promotionpolicy").
		Complete(r)
}

// labelsOrLifecycle passes creations, deletions and label changes.
func labelsOrLifecycle() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		return !maps.Equal(e.ObjectOld.GetLabels(), e.ObjectNew.GetLabels())
	}}
}
