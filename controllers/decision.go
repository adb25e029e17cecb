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

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/internal/report"
	"github.com/responsible-ai/rmodel-operator/policies"
)

// Violation codes the operator adds to a policy's decision.
const (
	// CodeBudgetNotFound: the referenced PrivacyBudget does not exist.
	CodeBudgetNotFound = "BudgetNotFound"
	// CodeBudgetUnchargeable: a PrivacyBudget is referenced but the
	// candidate has no epsilon to charge to it.
	CodeBudgetUnchargeable = "BudgetUnchargeable"
	// CodePolicyNotFound: a policy ConfigMap the model depends on is missing
	// or unreadable.
	CodePolicyNotFound = "PolicyNotFound"
)

// blockingCodes deny in every enforcement mode: privacy once spent cannot
// be given back, and a policy that could not be read judged nothing.
var blockingCodes = []string{policies.CodeBudgetExhausted, CodeBudgetNotFound, CodeBudgetUnchargeable, CodePolicyNotFound,
	CodeEvaluationRequired, CodeBudgetRequired, CodeBudgetMismatch, CodePolicyRefused}

// policyInput is what buildPolicyInput needs besides the model.
type policyInput struct {
	// Version judged.
	Version string
	// Requested evaluation kinds.
	Requested []string
	// Reports by kind; a failed evaluation is a synthesized Error report.
	Reports map[string]*report.Report
	// Budget is the referenced budget's view, nil when none is referenced
	// or it is missing.
	Budget *budgetView
	// PreviousVersion and PreviousDecisionID describe the stable version.
	PreviousVersion, PreviousDecisionID string
	// Platform is what the selecting PromotionPolicies require.
	Platform *platformView
	// NamespaceThresholds are the thresholds of the model's namespace
	// policy ConfigMap (tenant data: they may only tighten).
	NamespaceThresholds map[string]any
	// Monitoring is a live monitoring report (rai.monitoring.report/v1),
	// judged by the monitoring rules; set only on a monitoring read.
	Monitoring map[string]any
}

// buildPolicyInput builds the policy's input document (docs/policies.md).
func buildPolicyInput(obj *raiv1.ResponsibleModel, in policyInput) (map[string]any, error) {
	var spec map[string]any
	raw, err := json.Marshal(obj.Spec)
	if err != nil {
		return nil, fmt.Errorf("encode spec for the policy: %w", err)
	}
	if err := json.Unmarshal(raw, &spec); err != nil {
		return nil, fmt.Errorf("decode spec for the policy: %w", err)
	}
	labels, annotations := map[string]any{}, map[string]any{}
	for k, v := range obj.Labels {
		labels[k] = v
	}
	for k, v := range obj.Annotations {
		annotations[k] = v
	}
	evaluations := map[string]any{}
	for kind, rep := range in.Reports {
		evaluations[kind] = rep
	}
	requested := make([]any, 0, len(in.Requested))
	for _, k := range in.Requested {
		requested = append(requested, k)
	}
	input := map[string]any{
		"model": map[string]any{
			"name": obj.Name, "namespace": obj.Namespace,
			"labels": labels, "annotations": annotations, "spec": spec,
		},
		"version":              in.Version,
		"requestedEvaluations": requested,
		"evaluations":          evaluations,
	}
	if len(obj.Spec.Policy.Thresholds) > 0 {
		th := map[string]any{}
		for k, v := range obj.Spec.Policy.Thresholds {
			th[k] = string(v)
		}
		input["thresholds"] = th
	}
	if p := obj.Spec.Evaluations.Privacy; p != nil {
		pr := map[string]any{"delta": string(p.Delta)}
		if p.MaxEpsilon != nil {
			pr["maxEpsilon"] = string(*p.MaxEpsilon)
		}
		input["privacy"] = pr
	}
	if b := in.Budget; b != nil {
		input["budget"] = map[string]any{
			"name":             b.Name,
			"epsilonTotal":     formatEpsilon(b.Total),
			"deltaTotal":       b.Delta,
			"epsilonSpent":     formatEpsilon(b.Spent),
			"epsilonRemaining": formatEpsilon(b.Remaining()),
			// epsilonMarginal is what the candidate adds to the composed
			// spend (RDP composition makes it less than its own epsilon);
			// epsilonComposed is the spend with the candidate.
			"epsilonMarginal": formatEpsilon(b.WithCandidate - b.Spent),
			"epsilonComposed": formatEpsilon(b.WithCandidate),
		}
	}
	if in.PreviousVersion != "" {
		input["previous"] = map[string]any{"version": in.PreviousVersion, "decisionID": in.PreviousDecisionID}
	}
	if in.Monitoring != nil {
		input["monitoring"] = in.Monitoring
	}
	if len(in.NamespaceThresholds) > 0 {
		input["namespaceThresholds"] = in.NamespaceThresholds
	}
	if p := in.Platform; p != nil {
		th := map[string]any{}
		for k, v := range p.Thresholds {
			th[k] = map[string]any{"value": v.Value, "source": v.Source}
		}
		names := make([]any, 0, len(p.Policies))
		for _, n := range p.Names() {
			names = append(names, n)
		}
		platform := map[string]any{"thresholds": th, "promotionPolicies": names}
		if len(p.IntervalsInconclusive) > 0 {
			platform["confidenceIntervals"] = string(raiv1.ConfidenceIntervalsInconclusive)
		}
		input["platform"] = platform
	}
	return input, nil
}

// failedReport stands for an evaluation in state Error: the policy sees a
// report whose state is Error and denies it (EvaluationFailed), the one path
// for every kind of failure.
func failedReport(e raiv1.EvaluationStatus) *report.Report {
	return &report.Report{
		SchemaVersion: report.SchemaVersion,
		Kind:          report.Kind(e.Kind),
		State:         report.StateError,
		Message:       e.Reason + ": " + e.Message,
	}
}

// policyBundle merges the platform's policy — the embedded default, the
// cluster policy ConfigMap and the selecting PromotionPolicies' Rego and
// data — and reads the tenant's: the model's namespace policy ConfigMap,
// whose threshold data may only tighten (tenantThresholds). A missing or
// unreadable ConfigMap, or one with more than threshold data, is a
// violation (the decision fails closed), not an error.
func (r *ResponsibleModelReconciler) policyBundle(ctx context.Context, obj *raiv1.ResponsibleModel, platform *platformView) (policies.Bundle, map[string]any, *policies.Violation, error) {
	bundles := []policies.Bundle{policies.Default()}
	read := func(ref types.NamespacedName) (*corev1.ConfigMap, *policies.Violation, error) {
		cm := &corev1.ConfigMap{}
		if err := r.Get(ctx, ref, cm); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, &policies.Violation{Code: CodePolicyNotFound,
					Message: fmt.Sprintf("policy ConfigMap %s not found: nothing is promoted until it exists", ref)}, nil
			}
			return nil, nil, fmt.Errorf("read policy ConfigMap %s: %w", ref, err)
		}
		return cm, nil, nil
	}
	if r.ClusterPolicy != nil {
		cm, v, err := read(*r.ClusterPolicy)
		if v != nil || err != nil {
			return policies.Bundle{}, nil, v, err
		}
		b, err := policies.BundleFromConfigMap(cm.Data)
		if err != nil {
			return policies.Bundle{}, nil, &policies.Violation{Code: CodePolicyNotFound, Message: fmt.Sprintf("policy ConfigMap %s: %v", *r.ClusterPolicy, err)}, nil
		}
		bundles = append(bundles, b)
	}
	if platform != nil {
		for i := range platform.Policies {
			b, err := promotionPolicyBundle(&platform.Policies[i])
			if err != nil {
				return policies.Bundle{}, nil, &policies.Violation{Code: policies.CodePolicyError, Message: err.Error()}, nil
			}
			bundles = append(bundles, b)
		}
	}
	var tenant map[string]any
	if ref := obj.Spec.Policy.ConfigMapRef; ref != nil {
		key := types.NamespacedName{Namespace: obj.Namespace, Name: ref.Name}
		cm, v, err := read(key)
		if v != nil || err != nil {
			return policies.Bundle{}, nil, v, err
		}
		if tenant, err = tenantThresholds(key.String(), cm.Data); err != nil {
			return policies.Bundle{}, nil, &policies.Violation{Code: CodePolicyRefused, Message: err.Error()}, nil
		}
	}
	merged, err := policies.Merge(bundles...)
	if err != nil {
		return policies.Bundle{}, nil, &policies.Violation{Code: policies.CodePolicyError, Message: err.Error()}, nil
	}
	return merged, tenant, nil, nil
}

// decide asks the policy about one version of the model. Problems reading
// the policy are denials; only API errors are returned.
func (r *ResponsibleModelReconciler) decide(ctx context.Context, obj *raiv1.ResponsibleModel, in policyInput, extra []policies.Violation) (policies.Decision, map[string]any, error) {
	bundle, tenant, unreadable, err := r.policyBundle(ctx, obj, in.Platform)
	if err != nil {
		return policies.Decision{}, nil, err
	}
	in.NamespaceThresholds = tenant
	input, err := buildPolicyInput(obj, in)
	if err != nil {
		return policies.Decision{}, nil, err
	}
	var d policies.Decision
	if unreadable != nil {
		raw, _ := json.Marshal(input)
		sum := sha256.Sum256(append([]byte(unreadable.Message+"\n"), raw...))
		d = policies.Decision{ID: hex.EncodeToString(sum[:]), PolicyDigest: "none", Violations: []policies.Violation{*unreadable}, Error: unreadable.Message}
	} else if d, err = r.Engine.Decide(ctx, bundle, input); err != nil {
		return d, nil, fmt.Errorf("decide on version %s: %w", in.Version, err)
	}
	return mergeViolations(d, extra), input, nil
}

// mergeViolations adds the operator's own violations to a decision, unless
// the policy already reported one with the same code.
func mergeViolations(d policies.Decision, extra []policies.Violation) policies.Decision {
	for _, v := range extra {
		if !slices.ContainsFunc(d.Violations, func(x policies.Violation) bool { return x.Code == v.Code }) {
			d.Violations = append(d.Violations, v)
		}
	}
	if len(d.Violations) > 0 {
		d.Allow = false
	}
	slices.SortFunc(d.Violations, func(a, b policies.Violation) int {
		if c := strings.Compare(a.Code, b.Code); c != 0 {
			return c
		}
		return strings.Compare(a.Message, b.Message)
	})
	return d
}

// decisionStatus records a decision for status.
func decisionStatus(d policies.Decision, version, digest string, mode raiv1.EnforcementMode, now metav1.Time) *raiv1.DecisionStatus {
	out := &raiv1.DecisionStatus{ID: d.ID, Version: version, ModelSHA256: digest, Allowed: d.Allow, Enforcement: mode, PolicyDigest: d.PolicyDigest, Time: now}
	for _, v := range d.Violations {
		out.Violations = append(out.Violations, raiv1.Violation{Code: v.Code, Message: v.Message})
	}
	for _, v := range d.Inconclusive {
		out.Inconclusive = append(out.Inconclusive, raiv1.Violation{Code: v.Code, Message: v.Message})
	}
	for _, k := range slices.Sorted(maps.Keys(d.Thresholds)) {
		t := d.Thresholds[k]
		out.Thresholds = append(out.Thresholds, raiv1.AppliedThreshold{Key: k, Value: strconv.FormatFloat(t.Value, 'g', -1, 64), Source: truncate(t.Source, 512)})
	}
	return out
}

// enforcement is the spec's mode, Enforce by default.
func enforcement(obj *raiv1.ResponsibleModel) raiv1.EnforcementMode {
	if m := obj.Spec.Policy.Enforcement; m != "" {
		return m
	}
	return raiv1.EnforcementEnforce
}

// reconcileDecision asks the policy whether the candidate may be promoted,
// once every evaluation has finished.
//
// It sets PolicyAllowed: True (PolicyAllowed); False with PolicyDenied,
// BudgetExhausted, BudgetNotFound, PolicyError or PolicyNotFound under
// Enforce (and for the blocking codes in every mode), PolicyWarned under
// Warn, DryRun under DryRun. Without a candidate it states the decision
// that promoted the stable version, or Unknown (NoCandidate) when the last
// decision was about an abandoned candidate. It records status.lastDecision, an Event, a
// log line and metrics only when the decision ID changes. It sets
// s.Promotable. It does nothing without a candidate or while evaluations
// run.
func (r *ResponsibleModelReconciler) reconcileDecision(ctx context.Context, s *scope) (ctrl.Result, error) {
	obj := s.obj
	if obj.Status.CandidateVersion == "" || !s.EvaluationsDone {
		return ctrl.Result{}, nil
	}
	version, digest := obj.Status.CandidateVersion, obj.Status.CandidateModelSHA256
	reports := s.candidateReports
	var requested []string
	for _, k := range requestedKinds(&obj.Spec) {
		requested = append(requested, string(k))
	}

	platform, err := r.platformFor(ctx, obj)
	if err != nil {
		return ctrl.Result{}, err
	}
	budget, budgetObj, extra, err := r.budgetForCandidate(ctx, obj, reports[string(report.KindPrivacy)])
	if err != nil {
		return ctrl.Result{}, err
	}
	extra = append(extra, platformViolations(obj, platform, s.Kinds, budgetObj, reports[string(report.KindPrivacy)])...)
	s.budget = budget
	in := policyInput{Version: version, Requested: requested, Reports: reports, Budget: budget, Platform: platform,
		PreviousVersion: obj.Status.StableVersion, PreviousDecisionID: promotionDecisionID(obj, obj.Status.StableVersion, obj.Status.StableModelSHA256)}
	d, input, err := r.decide(ctx, obj, in, extra)
	if err != nil {
		return ctrl.Result{}, err
	}
	mode := effectiveEnforcement(obj, platform)
	last := obj.Status.LastDecision
	if last == nil || last.ID != d.ID || last.Version != version || last.ModelSHA256 != digest || last.Enforcement != mode {
		if err := r.recordDecision(ctx, obj, d, input, version, digest, mode, platform); err != nil {
			return ctrl.Result{}, err
		}
	}
	s.Promotable = promotable(obj.Status.LastDecision)
	switch d := obj.Status.LastDecision; {
	case s.Promotable && len(platform.RequireApproval) > 0:
		why := fmt.Sprintf("PromotionPolicy %s requires a person to approve version %s", strings.Join(platform.RequireApproval, ", "), d.Version)
		if err := r.reconcileApproval(ctx, s, platform, why); err != nil {
			return ctrl.Result{}, err
		}
	case !s.Promotable && inconclusive(d) && d.Enforcement == raiv1.EnforcementEnforce:
		// Nothing failed, and nothing settled: a person decides.
		s.Promotable = true
		why := fmt.Sprintf("the policy found version %s inconclusive (%s)", d.Version, violationsMessage(d.Inconclusive))
		if err := r.reconcileApproval(ctx, s, platform, why); err != nil {
			return ctrl.Result{}, err
		}
	case !s.Promotable && overridable(obj.Status.LastDecision):
		if err := r.reconcileOverride(ctx, s); err != nil {
			return ctrl.Result{}, err
		}
	}
	return ctrl.Result{}, nil
}

// recordDecision writes a new decision to status, an Event, a log line,
// history and metrics.
func (r *ResponsibleModelReconciler) recordDecision(ctx context.Context, obj *raiv1.ResponsibleModel, d policies.Decision, input map[string]any, version, digest string, mode raiv1.EnforcementMode, platform *platformView) error {
	now := metav1.NewTime(r.now())
	first := obj.Status.LastDecision == nil || obj.Status.LastDecision.Version != version || obj.Status.LastDecision.ModelSHA256 != digest
	obj.Status.LastDecision = decisionStatus(d, version, digest, mode, now)
	obj.Status.LastDecision.PromotionPolicies = platform.Names()
	obj.Status.LastDecision.InputSHA256 = inputDigest(input)
	if requested := enforcement(obj); requested != mode {
		obj.Status.LastDecision.RequestedEnforcement = requested
	}
	cond := policyAllowedCondition(obj.Status.LastDecision)
	outcome := "allowed"
	switch {
	case inconclusive(obj.Status.LastDecision):
		outcome = "inconclusive"
	case !d.Allow:
		outcome = "denied"
	}
	if d.Error != "" {
		outcome = "error"
	}
	var since *metav1.Time
	if first {
		since = obj.Status.CandidateSince
	}
	afterStatusPatch(ctx, func() {
		decisionsTotal.WithLabelValues(outcome, string(mode)).Inc()
		if since != nil {
			candidateToDecisionSeconds.Observe(now.Sub(since.Time).Seconds())
		}
	})
	logAfterStatusPatch(ctx, "policy decision", "decisionID", d.ID, "version", version, "allowed", d.Allow,
		"enforcement", mode, "policyDigest", d.PolicyDigest, "violations", violationCodes(d.Violations), "reason", cond.Reason)
	if r.DecisionLog != nil {
		event := decisionEvent(obj, d, input, version, mode, now.Time)
		afterStatusPatch(ctx, func() { r.DecisionLog.Log(event) })
	}
	if d.Allow {
		r.eventAfterStatusPatch(ctx, obj, nil, corev1.EventTypeNormal, raiv1.ReasonPolicyAllowed, "Decide",
			"policy allowed version %s (decision %s, policy %s)", version, shortID(d.ID), d.PolicyDigest)
		return nil
	}
	if inconclusive(obj.Status.LastDecision) {
		r.eventAfterStatusPatch(ctx, obj, nil, corev1.EventTypeWarning, cond.Reason, "Decide",
			"policy found version %s inconclusive (decision %s, enforcement %s): %s", version, shortID(d.ID), mode, violationsMessage(obj.Status.LastDecision.Inconclusive))
		if mode == raiv1.EnforcementEnforce {
			// A person decides; the approval or rejection is recorded.
			return nil
		}
	} else {
		r.eventAfterStatusPatch(ctx, obj, nil, corev1.EventTypeWarning, cond.Reason, "Decide",
			"policy denied version %s (decision %s, enforcement %s): %s", version, shortID(d.ID), mode, violationsMessage(obj.Status.LastDecision.Violations))
	}
	if !promotable(obj.Status.LastDecision) {
		return r.recordAction(ctx, obj, raiv1.HistoryEntry{Version: version, ModelSHA256: digest, Action: raiv1.HistoryDenied, DecisionID: d.ID,
			Reason: cond.Reason, Message: truncate(violationsMessage(obj.Status.LastDecision.Violations), 1024), Time: now}, evidenceRecords(obj.Status.Evaluations))
	}
	return nil
}

// reconcileCompliance re-checks the stable version against the current
// policy with its stored reports.
//
// It sets Compliant: True (Compliant) or False (NonCompliant, with the
// violations; EvidenceTampered when a stored report is missing or differs
// from the digest recorded at promotion). A non-compliant stable version
// keeps serving: a human decides. It does nothing without a stable version.
func (r *ResponsibleModelReconciler) reconcileCompliance(ctx context.Context, s *scope) (ctrl.Result, error) {
	obj := s.obj
	stable := obj.Status.StableVersion
	if stable == "" {
		return ctrl.Result{}, nil
	}
	// Only the evidence recorded at promotion counts, and only while its
	// stored copy matches the recorded digest.
	reports, tampered, err := r.verifiedEvidence(ctx, obj.Namespace, obj.Status.StableEvidence)
	if err != nil {
		return ctrl.Result{}, err
	}
	requested := make([]string, 0, len(obj.Status.StableEvidence))
	for _, rec := range obj.Status.StableEvidence {
		requested = append(requested, rec.Kind)
		if rec.State != raiv1.EvaluationSucceeded {
			reports[rec.Kind] = failedReport(raiv1.EvaluationStatus{Kind: rec.Kind, Reason: raiv1.ReasonEvaluationFailed, Message: "the evaluation had failed when the version was promoted"})
		}
	}
	for _, t := range tampered {
		reports[t.Kind] = failedReport(raiv1.EvaluationStatus{Kind: t.Kind, Reason: raiv1.ReasonEvidenceTampered, Message: t.Message})
	}
	// The stable version's privacy was charged when it was promoted: the
	// re-check judges its evidence, not the budget again.
	platform, err := r.platformFor(ctx, obj)
	if err != nil {
		return ctrl.Result{}, err
	}
	var kinds []report.Kind
	for _, k := range requested {
		kinds = append(kinds, report.Kind(k))
	}
	in := policyInput{Version: stable, Requested: requested, Reports: reports, Platform: platform,
		PreviousVersion: obj.Status.PreviousVersion, PreviousDecisionID: promotionDecisionID(obj, obj.Status.PreviousVersion, "")}
	d, _, err := r.decide(ctx, obj, in, platformViolations(obj, platform, kinds, nil, nil))
	if err != nil {
		return ctrl.Result{}, err
	}
	s.Compliance = &complianceFacts{Decision: d, Tampered: tampered}
	prev := findCondition(obj, raiv1.ConditionCompliant)
	cond := complianceCondition(stable, d, tampered)
	if (prev == nil || prev.Status != cond.Status) && cond.Status == metav1.ConditionFalse {
		r.eventAfterStatusPatch(ctx, obj, nil, corev1.EventTypeWarning, raiv1.ReasonNonCompliant, "Recheck",
			"stable version %s no longer passes the current policy (decision %s); it keeps serving: %s", stable, shortID(d.ID), cond.Message)
		logAfterStatusPatch(ctx, "stable version non-compliant", "decisionID", d.ID, "version", stable, "violations", violationCodes(d.Violations))
	}
	return ctrl.Result{}, nil
}

// promotionDecisionID is the decision that promoted version (with model
// digest, when digest is not empty), from history.
func promotionDecisionID(obj *raiv1.ResponsibleModel, version, digest string) string {
	if version == "" {
		return ""
	}
	for i := len(obj.Status.History) - 1; i >= 0; i-- {
		h := obj.Status.History[i]
		if h.Version == version && (digest == "" || h.ModelSHA256 == digest) && h.Action == raiv1.HistoryPromoted {
			return h.DecisionID
		}
	}
	return ""
}

func violationCodes(vs []policies.Violation) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Code
	}
	return out
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// policyConfigMapIndex indexes models by the policy ConfigMap they name.
const policyConfigMapIndex = "spec.policy.configMapRef.name"

// modelsForPolicyConfigMap maps a ConfigMap to the models whose decision
// depends on it: all models for the cluster policy, else those in its
// namespace that reference it.
func (r *ResponsibleModelReconciler) modelsForPolicyConfigMap(ctx context.Context, o client.Object) []ctrl.Request {
	list := &raiv1.ResponsibleModelList{}
	opts := []client.ListOption{}
	if r.ClusterPolicy == nil || (types.NamespacedName{Namespace: o.GetNamespace(), Name: o.GetName()}) != *r.ClusterPolicy {
		opts = append(opts, client.InNamespace(o.GetNamespace()), client.MatchingFields{policyConfigMapIndex: o.GetName()})
	}
	if err := r.List(ctx, list, opts...); err != nil {
		log.FromContext(ctx).Error(err, "list models that use a policy ConfigMap", "configMap", o.GetName())
		return nil
	}
	return requestsFor(list)
}

// requestsFor returns a reconcile request for each model in list.
func requestsFor(list *raiv1.ResponsibleModelList) []ctrl.Request {
	out := make([]ctrl.Request, 0, len(list.Items))
	for _, m := range list.Items {
		out = append(out, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(&m)})
	}
	return out
}
