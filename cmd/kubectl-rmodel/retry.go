package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
)

// newRetryCmd sets the retry annotation to a new value: the operator runs
// the candidate's failed evaluations again and lets a rolled-back candidate
// roll out again.
func newRetryCmd(connect connectFunc) *cobra.Command {
	return &cobra.Command{
		Use:   "retry NAME",
		Short: "Run the candidate's failed evaluations again (and let a rolled-back candidate try again): sets the retry annotation",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := connect(cmd)
			if err != nil {
				return err
			}
			m, err := s.getModel(cmd, args[0])
			if err != nil {
				return err
			}
			next := strconv.FormatInt(s.now.Unix(), 10)
			if m.Annotations[raiv1.AnnotationRetryEvaluations] == next {
				next += "-1"
			}
			patch := client.MergeFrom(m.DeepCopy())
			if m.Annotations == nil {
				m.Annotations = map[string]string{}
			}
			m.Annotations[raiv1.AnnotationRetryEvaluations] = next
			if err := s.w.Patch(ctx(cmd), m, patch); err != nil {
				return fmt.Errorf("set %s on %s/%s: %w", raiv1.AnnotationRetryEvaluations, m.Namespace, m.Name, err)
			}
			_, err = fmt.Fprintf(s.out, "%s/%s: %s=%s; the operator runs the failed evaluations of %s again\n", m.Namespace, m.Name, raiv1.AnnotationRetryEvaluations, next, m.Spec.Version)
			return err
		},
	}
}
