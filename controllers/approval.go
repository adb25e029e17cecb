package controllers

import (
	"context"
	"fmt"
	"strings"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
)

// Human approval. A PromotionPolicy with requireApproval holds an allowed
// candidate until a person approves its decision: a ModelApproval naming
// the model, version, digest and decision ID. Admission accepts one only
// from the user it names, holding the `approve` verb on the model
// (config/admission/model_approvals.yaml); the operator trusts that.

// reconcileApproval looks for the approval of the candidate's decision.
// Without one, the candidate waits (s.AwaitingApproval); a rejection stops
// it (s.Rejected); an approval lets it roll out and is recorded with the
// promotion (s.ApprovedBy).
func (r *ResponsibleModelReconciler) reconcileApproval(ctx context.Context, s *scope, platform *platformView) error {
	obj, d := s.obj, s.obj.Status.LastDecision
	list := &raiv1.ModelApprovalList{}
	if err := r.List(ctx, list, client.InNamespace(obj.Namespace)); err != nil {
		return fmt.Errorf("list ModelApprovals: %w", err)
	}
	var found *raiv1.ModelApproval
	for i := range list.Items {
		a := &list.Items[i]
		if a.Spec.Model != obj.Name || a.Spec.Version != d.Version || string(a.Spec.ModelSHA256) != d.ModelSHA256 || a.Spec.DecisionID != d.ID {
			continue
		}
		// A rejection wins over an approval; else the newest counts.
		if found == nil || a.Spec.Decision == raiv1.ApprovalReject && found.Spec.Decision != raiv1.ApprovalReject ||
			a.Spec.Decision == found.Spec.Decision && found.CreationTimestamp.Before(&a.CreationTimestamp) {
			found = a
		}
	}
	by := strings.Join(platform.RequireApproval, ", ")
	switch {
	case found == nil:
		s.Promotable = false
		s.AwaitingApproval = fmt.Sprintf("PromotionPolicy %s requires a person to approve version %s (sha256 %s, decision %s): a ModelApproval naming it, created by a user with the approve verb",
			by, d.Version, shortDigest(d.ModelSHA256), d.ID)
	case found.Spec.Decision == raiv1.ApprovalReject:
		s.Promotable = false
		s.Rejected = fmt.Sprintf("%s rejected version %s (ModelApproval %s): %s", found.Spec.Approver, d.Version, found.Name, found.Spec.Reason)
	default:
		s.ApprovedBy = found.DeepCopy()
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
