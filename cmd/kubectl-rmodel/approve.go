package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
)

// newApprovalCmd is `approve` or `reject`: a ModelApproval of the
// candidate's current decision, in the caller's name. The API server's
// admission policy accepts it only from a user with the approve verb on the
// model who names themself as the approver.
func newApprovalCmd(connect connectFunc, decision raiv1.ApprovalDecision) *cobra.Command {
	var reason, version, approver string
	verb := strings.ToLower(string(decision))
	cmd := &cobra.Command{
		Use: verb + " NAME --reason TEXT [--version V]",
		Short: map[raiv1.ApprovalDecision]string{
			raiv1.ApprovalApprove:  "Approve the candidate's decision (a ModelApproval in your name; needs the approve verb on the model)",
			raiv1.ApprovalReject:   "Reject the candidate (a ModelApproval in your name; needs the approve verb on the model)",
			raiv1.ApprovalOverride: "Break glass: promote the denied candidate past the policy (needs the override verb; recorded, announced, non-compliant)",
		}[decision],
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(reason) == "" {
				return fmt.Errorf("--reason is required: it is recorded with the %s", map[raiv1.ApprovalDecision]string{raiv1.ApprovalApprove: "promotion", raiv1.ApprovalReject: "rejection", raiv1.ApprovalOverride: "override"}[decision])
			}
			s, err := connect(cmd)
			if err != nil {
				return err
			}
			m, err := s.getModel(cmd, args[0])
			if err != nil {
				return err
			}
			d := m.Status.LastDecision
			switch {
			case m.Status.CandidateVersion == "":
				return fmt.Errorf("%s/%s has no candidate: %s serves the spec", m.Namespace, m.Name, m.Status.StableVersion)
			case d == nil || d.Version != m.Status.CandidateVersion || d.ModelSHA256 != m.Status.CandidateModelSHA256:
				return fmt.Errorf("%s/%s: candidate %s has no decision yet: approve it once the policy has decided", m.Namespace, m.Name, m.Status.CandidateVersion)
			case version != "" && version != d.Version:
				return fmt.Errorf("%s/%s: the candidate is %s, not %s", m.Namespace, m.Name, d.Version, version)
			}
			if approver == "" {
				review := &authenticationv1.SelfSubjectReview{}
				if err := s.w.Create(ctx(cmd), review); err != nil {
					return fmt.Errorf("find out who you are (SelfSubjectReview): %w; give --approver", err)
				}
				approver = review.Status.UserInfo.Username
				if approver == "" {
					return fmt.Errorf("the API server did not say who you are; give --approver")
				}
			}
			a := &raiv1.ModelApproval{
				ObjectMeta: metav1.ObjectMeta{GenerateName: m.Name + "-" + d.Version + "-" + verb + "-", Namespace: m.Namespace},
				Spec: raiv1.ModelApprovalSpec{Model: m.Name, Version: d.Version, ModelSHA256: raiv1.SHA256(d.ModelSHA256), DecisionID: d.ID,
					Approver: approver, Decision: decision, Reason: reason},
			}
			if err := s.w.Create(ctx(cmd), a); err != nil {
				return fmt.Errorf("create the ModelApproval: %w", err)
			}
			done := map[raiv1.ApprovalDecision]string{raiv1.ApprovalApprove: "approved", raiv1.ApprovalReject: "rejected", raiv1.ApprovalOverride: "overrode the denial of"}[decision]
			_, err = fmt.Fprintf(s.out, "%s %s version %s of %s/%s (decision %s): ModelApproval %s\n", approver, done, d.Version, m.Namespace, m.Name, short(d.ID), a.Name)
			return err
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (required; recorded with the decision)")
	cmd.Flags().StringVar(&version, "version", "", "the candidate version you mean (refused when it is not the candidate)")
	cmd.Flags().StringVar(&approver, "approver", "", "your user name (default: who the API server says you are)")
	return cmd
}
