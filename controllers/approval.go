package controllers

import (
	"context"
	"fmt"
	"strings"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
	"github.com/responsible-ai/rmodel-operator/policies"
)

// Human approval. A PromotionPolicy with requireApproval holds an allowed
// candidate until a person approves its decision: a ModelApproval naming
// the model, version, digest and decision ID. Admission accepts one only
// from the user it names, holding the `approve` verb on the model
// (config/admission/model_approvals.yaml); the operator trusts that.

// reconcileApproval looks for the approval of the candidate's decision;
// why says what asks for one (a PromotionPolicy's requireApproval, or an
// inconclusive verdict). Without one, the candidate waits
// (s.AwaitingApproval); a rejection stops it (s.Rejected); an approval lets
// it roll out and is recorded with the promotion (s.ApprovedBy). Under four
// eyes (requireIndependentApprover), the approval of the user who last
// changed the spec does not count; a rejection always does.
func (r *ResponsibleModelReconciler) reconcileApproval(ctx context.Context, s *scope, platform *platformView, why string) error {
	obj, d := s.obj, s.obj.Status.LastDecision
	list := &raiv1.ModelApprovalList{}
	if err := r.List(ctx, list, client.InNamespace(obj.Namespace)); err != nil {
		return fmt.Errorf("list ModelApprovals: %w", err)
	}
	editor := obj.Annotations[raiv1.AnnotationSpecChangedBy]
	var found *raiv1.ModelApproval
	var discounted []string
	for i := range list.Items {
		a := &list.Items[i]
		if !approves(a, obj, d) || a.Spec.Decision == raiv1.ApprovalOverride {
			continue
		}
		if a.Spec.Decision == raiv1.ApprovalApprove && len(platform.IndependentApprover) > 0 && (editor == "" || a.Spec.Approver == editor) {
			discounted = append(discounted, a.Name)
			continue
		}
		// A rejection wins over an approval; else the newest counts.
		if found == nil || a.Spec.Decision == raiv1.ApprovalReject && found.Spec.Decision != raiv1.ApprovalReject ||
			a.Spec.Decision == found.Spec.Decision && found.CreationTimestamp.Before(&a.CreationTimestamp) {
			found = a
		}
	}
	switch {
	case found == nil:
		s.Promotable = false
		s.AwaitingApproval = fmt.Sprintf("%s: a ModelApproval naming version %s (sha256 %s) and decision %s, created by a user with the approve verb",
			why, d.Version, shortDigest(d.ModelSHA256), d.ID)
		if len(platform.IndependentApprover) > 0 {
			s.AwaitingApproval += fmt.Sprintf(", other than the last editor of the spec (%s; four eyes: PromotionPolicy %s)", orUnknown(editor), strings.Join(platform.IndependentApprover, ", "))
		}
		if len(discounted) > 0 {
			s.AwaitingApproval += fmt.Sprintf("; ModelApproval %s does not count: its approver last changed the spec, or admission did not record who did", strings.Join(discounted, ", "))
		}
	case found.Spec.Decision == raiv1.ApprovalReject:
		s.Promotable = false
		s.Rejected = fmt.Sprintf("%s rejected version %s (ModelApproval %s): %s", found.Spec.Approver, d.Version, found.Name, found.Spec.Reason)
	default:
		s.ApprovedBy = found.DeepCopy()
	}
	return nil
}

// orUnknown shows an empty name as "not recorded".
func orUnknown(name string) string {
	if name == "" {
		return "not recorded"
	}
	return name
}

// approves reports whether a names the decision d on obj's version, and
// was given during this candidacy: a version that comes back (a rollback)
// with the same evidence and policy has the same decision ID, and needs a
// person's word again.
func approves(a *raiv1.ModelApproval, obj *raiv1.ResponsibleModel, d *raiv1.DecisionStatus) bool {
	if since := obj.Status.CandidateSince; since != nil && a.CreationTimestamp.Before(since) {
		return false
	}
	return a.Spec.Model == obj.Name && a.Spec.Version == d.Version && string(a.Spec.ModelSHA256) == d.ModelSHA256 && a.Spec.DecisionID == d.ID
}

// unoverridableCodes deny past any override: privacy once spent cannot be
// given back, and a policy that could not be read judged nothing.
var unoverridableCodes = []string{policies.CodeBudgetExhausted, CodeBudgetNotFound, CodeBudgetUnchargeable, CodePolicyNotFound}

// overridable reports whether a break-glass override can promote past d.
func overridable(d *raiv1.DecisionStatus) bool {
	return d != nil && !d.Allowed && d.Enforcement != raiv1.EnforcementDryRun && !hasCode(d, unoverridableCodes...)
}

// reconcileOverride looks for a break-glass override of the candidate's
// denial: a ModelApproval with decision Override (admission requires the
// override verb). With one, the denied version rolls out (s.OverriddenBy);
// it is recorded, announced with a Warning, and stays non-compliant.
func (r *ResponsibleModelReconciler) reconcileOverride(ctx context.Context, s *scope) error {
	obj, d := s.obj, s.obj.Status.LastDecision
	list := &raiv1.ModelApprovalList{}
	if err := r.List(ctx, list, client.InNamespace(obj.Namespace)); err != nil {
		return fmt.Errorf("list ModelApprovals: %w", err)
	}
	for i := range list.Items {
		a := &list.Items[i]
		if a.Spec.Decision == raiv1.ApprovalOverride && approves(a, obj, d) && (s.OverriddenBy == nil || s.OverriddenBy.CreationTimestamp.Before(&a.CreationTimestamp)) {
			s.OverriddenBy = a.DeepCopy()
		}
	}
	if s.OverriddenBy != nil {
		s.Promotable = true
	}
	return nil
}

// modelsForApproval maps a ModelApproval to the model it names.
func (r *ResponsibleModelReconciler) modelsForApproval(_ context.Context, o client.Object) []ctrl.Request {
	a, ok := o.(*raiv1.ModelApproval)
	if !ok {
		return nil
	}
	return []ctrl.Request{{NamespacedName: client.ObjectKey{Namespace: a.Namespace, Name: a.Spec.Model}}}
}
