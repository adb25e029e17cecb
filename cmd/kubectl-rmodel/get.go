package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/controller-runtime/pkg/client"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
)

func newGetCmd(connect connectFunc, allFlag func(*cobra.Command)) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "get [NAME]",
		Short: "List ResponsibleModels: stable and candidate versions, verdict, readiness, serving replicas, GPUs",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			s, err := connect(cmd)
			if err != nil {
				return err
			}
			var models []raiv1.ResponsibleModel
			if len(args) == 1 {
				m, err := s.getModel(cmd, args[0])
				if err != nil {
					return err
				}
				models = []raiv1.ResponsibleModel{*m}
			} else if models, err = s.listModels(cmd); err != nil {
				return err
			}
			if output != "" {
				if len(args) == 1 {
					return printStructured(s.out, output, &models[0])
				}
				list := &raiv1.ResponsibleModelList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "List"}, Items: models}
				return printStructured(s.out, output, list)
			}
			if len(models) == 0 {
				if s.all {
					fmt.Fprintln(s.out, "No ResponsibleModels found.")
				} else {
					fmt.Fprintf(s.out, "No ResponsibleModels found in namespace %s.\n", s.namespace)
				}
				return nil
			}
			return s.printModels(models)
		},
	}
	outputFlag(cmd, &output)
	allFlag(cmd)
	return cmd
}

var modelGVK = raiv1.GroupVersion.WithKind("ResponsibleModel")

func (s *session) getModel(cmd *cobra.Command, name string) (*raiv1.ResponsibleModel, error) {
	var m raiv1.ResponsibleModel
	if err := s.c.Get(ctx(cmd), client.ObjectKey{Namespace: s.namespace, Name: name}, &m); err != nil {
		return nil, fmt.Errorf("get ResponsibleModel %s/%s: %w", s.namespace, name, err)
	}
	m.SetGroupVersionKind(modelGVK)
	return &m, nil
}

func (s *session) listModels(cmd *cobra.Command) ([]raiv1.ResponsibleModel, error) {
	var list raiv1.ResponsibleModelList
	var opts []client.ListOption
	if !s.all {
		opts = append(opts, client.InNamespace(s.namespace))
	}
	if err := s.c.List(ctx(cmd), &list, opts...); err != nil {
		return nil, fmt.Errorf("list ResponsibleModels: %w", err)
	}
	slices.SortFunc(list.Items, func(a, b raiv1.ResponsibleModel) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	for i := range list.Items {
		list.Items[i].SetGroupVersionKind(modelGVK)
	}
	return list.Items, nil
}

func (s *session) printModels(models []raiv1.ResponsibleModel) error {
	w := newTable(s.out)
	if s.all {
		fmt.Fprint(w, "NAMESPACE\t")
	}
	fmt.Fprintln(w, "NAME\tSTABLE\tCANDIDATE\tVERDICT\tREADY\tSERVING\tGPU\tAGE")
	for i := range models {
		m := &models[i]
		if s.all {
			fmt.Fprintf(w, "%s\t", m.Namespace)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Name, orDash(m.Status.StableVersion), orDash(m.Status.CandidateVersion),
			verdict(m), readiness(m), serving(m), gpu(m), s.age(m.CreationTimestamp))
	}
	return w.Flush()
}

func (s *session) age(t metav1.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(s.now.Sub(t.Time))
}

// verdict is allowed, denied or pending: pending while the candidate has
// no decision of its own yet, else the last decision's verdict (the
// policy's, before enforcement; a mode other than Enforce is named).
func verdict(m *raiv1.ResponsibleModel) string {
	d := m.Status.LastDecision
	if decisionPending(m) {
		return "pending"
	}
	if d == nil {
		return "-"
	}
	v := "denied"
	switch {
	case d.Allowed:
		v = "allowed"
	case len(d.Violations) == 0 && len(d.Inconclusive) > 0:
		v = "inconclusive"
	}
	if d.Enforcement != "" && d.Enforcement != raiv1.EnforcementEnforce {
		v += "/" + string(d.Enforcement)
	}
	return v
}

// decisionPending: there is a candidate and the last decision is not about
// it, or the operator awaits a new one (evaluations run again).
func decisionPending(m *raiv1.ResponsibleModel) bool {
	st := &m.Status
	if c := meta.FindStatusCondition(st.Conditions, raiv1.ConditionPolicyAllowed); c != nil &&
		c.Status == metav1.ConditionUnknown && c.Reason == raiv1.ReasonAwaitingDecision {
		return true
	}
	if st.CandidateVersion == "" {
		return false
	}
	d := st.LastDecision
	return d == nil || d.Version != st.CandidateVersion ||
		(st.CandidateModelSHA256 != "" && d.ModelSHA256 != "" && d.ModelSHA256 != st.CandidateModelSHA256)
}

func readiness(m *raiv1.ResponsibleModel) string {
	if c := meta.FindStatusCondition(m.Status.Conditions, raiv1.ConditionReady); c != nil {
		return string(c.Status)
	}
	return "-"
}

func serving(m *raiv1.ResponsibleModel) string {
	sv := m.Status.Serving
	if sv == nil || (sv.Deployment == "" && sv.Replicas == 0 && sv.ReadyReplicas == 0) {
		return "-"
	}
	return fmt.Sprintf("%d/%d", sv.ReadyReplicas, sv.Replicas)
}

// gpu renders spec.serving.gpu: "1x NVIDIA-H100-80GB-HBM3", "mig-1g.10gb",
// or "-" on CPU.
func gpu(m *raiv1.ResponsibleModel) string {
	g := m.Spec.Serving.GPU
	if g == nil {
		return "-"
	}
	if g.MIGProfile != "" {
		return "mig-" + g.MIGProfile
	}
	n := int32(1)
	if g.Count != nil {
		n = *g.Count
	}
	if g.Product != "" {
		return fmt.Sprintf("%dx %s", n, g.Product)
	}
	return fmt.Sprintf("%d", n)
}
