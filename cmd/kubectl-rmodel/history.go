package main

import (
	"fmt"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
)

// historyReport is what `history` shows, and its -o json|yaml.
type historyReport struct {
	Namespace     string                   `json:"namespace"`
	Model         string                   `json:"model"`
	History       []raiv1.HistoryEntry     `json:"history"`
	DecisionChain *raiv1.DecisionChainHead `json:"decisionChain,omitempty"`
}

func newHistoryCmd(connect connectFunc) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "history NAME",
		Short: "Show a model's promotions, denials and rollbacks (status.history) and its decision chain's head",
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
			r := &historyReport{Namespace: m.Namespace, Model: m.Name, History: m.Status.History, DecisionChain: m.Status.DecisionChain}
			if r.History == nil {
				r.History = []raiv1.HistoryEntry{}
			}
			if output != "" {
				return printStructured(s.out, output, r)
			}
			return printHistory(s, r)
		},
	}
	outputFlag(cmd, &output)
	return cmd
}

func printHistory(s *session, r *historyReport) error {
	if len(r.History) == 0 {
		fmt.Fprintf(s.out, "No history for %s/%s.\n", r.Namespace, r.Model)
	} else {
		w := newTable(s.out)
		fmt.Fprintln(w, "TIME\tVERSION\tACTION\tREASON\tDECISION")
		for _, h := range r.History {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", formatTime(h.Time.Time), h.Version, h.Action, orDash(h.Reason), orDash(h.DecisionID))
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	if h := r.DecisionChain; h != nil {
		fmt.Fprintf(s.out, "\nDecision records: %d, head %s (hash %s)", h.Count, h.Last, h.Hash)
		if p := h.PrunedThrough; p != nil {
			fmt.Fprintf(s.out, "; records through sequence %d were removed for retention", p.Sequence)
		}
		fmt.Fprintf(s.out, "\nVerify them with: kubectl rmodel verify %s -n %s\n", r.Model, r.Namespace)
	}
	return nil
}

func newCardCmd(connect connectFunc) *cobra.Command {
	return &cobra.Command{
		Use:   "card NAME",
		Short: "Print the stable version's model card (Markdown, from the ConfigMap in status.modelCardRef)",
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
			ref := m.Status.ModelCardRef
			if ref == nil || ref.Name == "" {
				return fmt.Errorf("%s/%s has no model card: status.modelCardRef is empty (the operator writes one when a version is promoted)", m.Namespace, m.Name)
			}
			var cm corev1.ConfigMap
			if err := s.c.Get(ctx(cmd), client.ObjectKey{Namespace: m.Namespace, Name: ref.Name}, &cm); err != nil {
				return fmt.Errorf("get the model card ConfigMap %s/%s: %w", m.Namespace, ref.Name, err)
			}
			card, ok := cm.Data[modelCardKey]
			if !ok {
				return fmt.Errorf("ConfigMap %s/%s has no key %s", m.Namespace, ref.Name, modelCardKey)
			}
			_, err = fmt.Fprint(s.out, card)
			if err == nil && len(card) > 0 && card[len(card)-1] != '\n' {
				_, err = fmt.Fprintln(s.out)
			}
			return err
		},
	}
}

// modelCardKey is the model card's key in its ConfigMap.
const modelCardKey = "model-card.md"
