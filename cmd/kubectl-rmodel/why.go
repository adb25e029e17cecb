package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
)

// whyReport is what `why` shows, and its -o json|yaml.
type whyReport struct {
	Namespace        string `json:"namespace"`
	Model            string `json:"model"`
	StableVersion    string `json:"stableVersion,omitempty"`
	CandidateVersion string `json:"candidateVersion,omitempty"`
	// Verdict is allowed, inconclusive, denied or pending (see get).
	Verdict string `json:"verdict"`
	// Note says when the decision shown is not about the candidate.
	Note        string                   `json:"note,omitempty"`
	Decision    *raiv1.DecisionStatus    `json:"decision,omitempty"`
	WouldPass   []wouldPass              `json:"wouldPass,omitempty"`
	Evaluations []raiv1.EvaluationStatus `json:"evaluations,omitempty"`
	// Monitoring is the last read of the stable version's live traffic.
	Monitoring *raiv1.MonitoringStatus `json:"monitoring,omitempty"`
	// Conditions are Stalled, Compliant (with monitoring) and Ready.
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// wouldPass is what one threshold violation needs to pass.
type wouldPass struct {
	Code      string `json:"code"`
	Threshold string `json:"threshold"`
	Metric    string `json:"metric"`
	// Operator is >= for a *_min threshold, <= for a *_max one.
	Operator string `json:"operator"`
	Value    string `json:"value"`
	Source   string `json:"source,omitempty"`
	// Measured is the metric in status.evaluations, when it is there.
	Measured string `json:"measured,omitempty"`
	// Qualifier narrows the metric, e.g. "at radius 0.25".
	Qualifier string `json:"qualifier,omitempty"`
}

func (p wouldPass) String() string {
	s := fmt.Sprintf("needs %s %s %s", p.Metric, p.Operator, p.Value)
	if p.Qualifier != "" {
		s += " " + p.Qualifier
	}
	if p.Measured != "" {
		s += fmt.Sprintf(" (measured %s)", p.Measured)
	}
	return s
}

func newWhyCmd(connect connectFunc) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "why NAME",
		Short: "Explain the decision on the candidate (or the stable version): violations, thresholds, what would pass",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			s, err := connect(cmd)
			if err != nil {
				return err
			}
			m, err := s.getModel(cmd, args[0])
			if err != nil {
				return err
			}
			r := explain(m)
			if output != "" {
				return printStructured(s.out, output, r)
			}
			printWhy(s, r)
			return nil
		},
	}
	outputFlag(cmd, &output)
	return cmd
}

func explain(m *raiv1.ResponsibleModel) *whyReport {
	st := &m.Status
	r := &whyReport{Namespace: m.Namespace, Model: m.Name, StableVersion: st.StableVersion, CandidateVersion: st.CandidateVersion,
		Verdict: verdict(m), Decision: st.LastDecision, Evaluations: st.Evaluations, Monitoring: st.Monitoring}
	d := st.LastDecision
	switch {
	case d == nil && st.CandidateVersion != "":
		r.Note = fmt.Sprintf("candidate %s has no decision yet: its evaluations have not finished", st.CandidateVersion)
	case d == nil:
		r.Note = "no decision recorded"
	case st.CandidateVersion != "" && decisionPending(m):
		r.Note = fmt.Sprintf("candidate %s has no decision yet; the last decision, shown, was on %s", st.CandidateVersion, d.Version)
	}
	if d != nil {
		r.WouldPass = whatWouldPass(d, st.Evaluations)
	}
	types := []string{raiv1.ConditionStalled, raiv1.ConditionReady}
	if st.Monitoring != nil {
		types = []string{raiv1.ConditionStalled, raiv1.ConditionCompliant, raiv1.ConditionReady}
	}
	for _, t := range types {
		if c := meta.FindStatusCondition(st.Conditions, t); c != nil {
			r.Conditions = append(r.Conditions, *c)
		}
	}
	return r
}

// whatWouldPass pairs each violation with the applied *_min or *_max
// threshold it names: its metric (the key without the suffix) appears in
// the message with the matching wording ("below the minimum", "exceeds" or
// "above the maximum").
func whatWouldPass(d *raiv1.DecisionStatus, evals []raiv1.EvaluationStatus) []wouldPass {
	var radius string
	for _, t := range d.Thresholds {
		if t.Key == "certified_radius" {
			radius = t.Value
		}
	}
	var out []wouldPass
	for _, v := range d.Violations {
		msg := strings.ToLower(v.Message)
		for _, t := range d.Thresholds {
			var metric, op string
			var words []string
			switch {
			case strings.HasSuffix(t.Key, "_min"):
				metric, op, words = strings.TrimSuffix(t.Key, "_min"), ">=", []string{"below the minimum", "below minimum", "less than"}
			case strings.HasSuffix(t.Key, "_max"):
				metric, op, words = strings.TrimSuffix(t.Key, "_max"), "<=", []string{"exceeds the maximum", "above the maximum", "exceeds maximum", "greater than"}
			default:
				continue
			}
			if !containsWord(msg, metric) || !slices.ContainsFunc(words, func(w string) bool { return strings.Contains(msg, w) }) {
				continue
			}
			p := wouldPass{Code: v.Code, Threshold: t.Key, Metric: metric, Operator: op, Value: t.Value, Source: t.Source, Measured: measured(evals, metric)}
			if strings.Contains(msg, "|"+metric+"|") {
				p.Metric = "|" + metric + "|"
			}
			if metric == "certified_accuracy" && radius != "" {
				p.Qualifier = "at radius " + radius
			}
			out = append(out, p)
		}
	}
	return out
}

// containsWord: word occurs in s not as part of a longer identifier.
func containsWord(s, word string) bool {
	ident := func(b byte) bool { return b == '_' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' }
	for i := 0; ; {
		j := strings.Index(s[i:], word)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(word)
		if (start == 0 || !ident(s[start-1])) && (end == len(s) || !ident(s[end])) {
			return true
		}
		i = start + 1
	}
}

// measured finds metric among the evaluations' headline numbers.
func measured(evals []raiv1.EvaluationStatus, metric string) string {
	for _, e := range evals {
		if v, ok := e.Metrics[metric]; ok {
			return v
		}
	}
	return ""
}

func printWhy(s *session, r *whyReport) {
	out := s.out
	w := newTable(out)
	fmt.Fprintf(w, "Model:\t%s/%s\n", r.Namespace, r.Model)
	fmt.Fprintf(w, "Stable:\t%s\n", orDash(r.StableVersion))
	fmt.Fprintf(w, "Candidate:\t%s\n", orDash(r.CandidateVersion))
	fmt.Fprintf(w, "Verdict:\t%s\n", r.Verdict)
	if d := r.Decision; d != nil {
		fmt.Fprintf(w, "Decision:\t%s\n", d.ID)
		fmt.Fprintf(w, "  On:\t%s (model sha256 %s)\n", d.Version, orDash(d.ModelSHA256))
		fmt.Fprintf(w, "  Time:\t%s\n", formatTime(d.Time.Time))
		fmt.Fprintf(w, "  Allowed:\t%t\n", d.Allowed)
		enf := orDash(string(d.Enforcement))
		if d.RequestedEnforcement != "" {
			enf += fmt.Sprintf(" (requested %s: not allowed by the PromotionPolicies)", d.RequestedEnforcement)
		}
		fmt.Fprintf(w, "  Enforcement:\t%s\n", enf)
		fmt.Fprintf(w, "  Policy digest:\t%s\n", orDash(d.PolicyDigest))
		if d.InputSHA256 != "" {
			fmt.Fprintf(w, "  Input sha256:\t%s\n", d.InputSHA256)
		}
		fmt.Fprintf(w, "  PromotionPolicies:\t%s\n", orDash(strings.Join(d.PromotionPolicies, ", ")))
	}
	w.Flush()
	if r.Note != "" {
		fmt.Fprintf(out, "Note: %s\n", r.Note)
	}
	if d := r.Decision; d != nil {
		fmt.Fprintln(out)
		if len(d.Violations) == 0 {
			fmt.Fprintln(out, "Violations: none")
		} else {
			fmt.Fprintf(out, "Violations (%d):\n", len(d.Violations))
			for _, v := range d.Violations {
				fmt.Fprintf(out, "  %s: %s\n", v.Code, v.Message)
			}
		}
		if len(d.Inconclusive) > 0 {
			fmt.Fprintf(out, "\nInconclusive (%d): a person with the approve verb decides (kubectl rmodel approve|reject %s --reason ...):\n", len(d.Inconclusive), r.Model)
			for _, v := range d.Inconclusive {
				fmt.Fprintf(out, "  %s: %s\n", v.Code, v.Message)
			}
		}
		if len(r.WouldPass) > 0 {
			fmt.Fprintln(out, "\nWhat would pass:")
			for _, p := range r.WouldPass {
				fmt.Fprintf(out, "  %s: %s\n", p.Code, p)
			}
		}
		if len(d.Thresholds) > 0 {
			fmt.Fprintln(out, "\nThresholds applied:")
			w := newTable(out)
			fmt.Fprintln(w, "  KEY\tVALUE\tSOURCE")
			for _, t := range d.Thresholds {
				fmt.Fprintf(w, "  %s\t%s\t%s\n", t.Key, t.Value, t.Source)
			}
			w.Flush()
		}
	}
	if len(r.Evaluations) > 0 {
		fmt.Fprintln(out, "\nEvaluations:")
		w := newTable(out)
		fmt.Fprintln(w, "  KIND\tVERSION\tSTATE\tREASON\tMETRICS")
		for _, e := range r.Evaluations {
			fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t%s\n", e.Kind, e.Version, e.State, orDash(e.Reason), orDash(formatMetrics(e.Metrics)))
		}
		w.Flush()
		for _, e := range r.Evaluations {
			if e.State == raiv1.EvaluationError && e.Message != "" {
				fmt.Fprintf(out, "  %s: %s\n", e.Kind, e.Message)
			}
		}
	}
	if mon := r.Monitoring; mon != nil {
		replicas := "replicas"
		if mon.Replicas == 1 {
			replicas = "replica"
		}
		fmt.Fprintf(out, "\nLive monitoring of %s, read %s: %d rows from %d %s\n", mon.Version, formatTime(mon.Time.Time), mon.Rows, mon.Replicas, replicas)
		if mon.Summary != "" {
			fmt.Fprintf(out, "  %s\n", mon.Summary)
		}
		if mon.Message != "" {
			fmt.Fprintf(out, "  could not judge: %s\n", mon.Message)
		}
		for _, v := range mon.Violations {
			fmt.Fprintf(out, "  %s: %s\n", v.Code, v.Message)
		}
	}
	if len(r.Conditions) > 0 {
		fmt.Fprintln(out, "\nConditions:")
		for _, c := range r.Conditions {
			fmt.Fprintf(out, "  %s=%s %s", c.Type, c.Status, c.Reason)
			if c.Message != "" {
				fmt.Fprintf(out, ": %s", c.Message)
			}
			fmt.Fprintln(out)
		}
	}
}

// formatMetrics renders headline metrics as name=value, by name.
func formatMetrics(m map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, " ")
}
