package controllers

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	raiv1 "github.com/responsible-ai/rmodel-operator/api/v1alpha1"
)

// Prometheus metrics, registered with controller-runtime's registry and
// served on the manager's metrics endpoint.
var (
	evaluationsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rai_evaluations_total",
		Help: "Evaluations that reached a final state, by kind and outcome (Succeeded, or the Error reason: JobFailed, DeadlineExceeded, JobDeleted, ReportMissing, ReportInvalid, ReportMismatch, EvaluatorError).",
	}, []string{"kind", "outcome"})
	decisionsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rai_policy_decisions_total",
		Help: "Policy decisions on candidate versions, by outcome (allowed, inconclusive, denied, error) and enforcement mode. Counted once per decision ID.",
	}, []string{"outcome", "enforcement"})
	promotionsTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "rai_promotions_total",
		Help: "Candidate versions that completed their rollout and became stable.",
	})
	rollbacksTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "rai_rollbacks_total",
		Help: "Rollouts rolled back to the previous stable version.",
	})
	candidateToDecisionSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "rai_candidate_to_decision_seconds",
		Help:    "Time from a candidate version first being seen to its first policy decision.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 14), // 1 s to about 4.5 h
	})
)

func init() {
	metrics.Registry.MustRegister(evaluationsTotal, decisionsTotal, promotionsTotal, rollbacksTotal, candidateToDecisionSeconds)
}

// recordEvaluationTransition counts an evaluation that reached a final state.
func recordEvaluationTransition(e raiv1.EvaluationStatus) {
	switch e.State {
	case raiv1.EvaluationSucceeded:
		evaluationsTotal.WithLabelValues(e.Kind, string(e.State)).Inc()
	case raiv1.EvaluationError:
		evaluationsTotal.WithLabelValues(e.Kind, e.Reason).Inc()
	}
}
