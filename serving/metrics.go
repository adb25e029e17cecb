package serving

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the server's Prometheus metrics, registered on their own registry (served at
// /metrics) together with the Go runtime and process collectors (which give the resident memory).
type metrics struct {
	model    string
	registry *prometheus.Registry
	requests *prometheus.CounterVec   // by code
	errors   *prometheus.CounterVec   // by code and reason
	latency  *prometheus.HistogramVec // by code
	batch    prometheus.Histogram     // rows per onnxruntime run
	ready    prometheus.Gauge
}

func newMetrics(model string) *metrics {
	labels := prometheus.Labels{"model": model}
	m := &metrics{
		model:    model,
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rai_inference_requests_total", Help: "Inference requests by HTTP status code.", ConstLabels: labels,
		}, []string{"code"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rai_inference_errors_total", Help: "Failed inference requests by HTTP status code and reason.", ConstLabels: labels,
		}, []string{"code", "reason"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "rai_inference_request_duration_seconds", Help: "Inference request latency, from the request read to the response written.",
			ConstLabels: labels, Buckets: prometheus.ExponentialBuckets(50e-6, 2, 18), // 50µs to 6.5s
		}, []string{"code"}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "rai_inference_batch_rows", Help: "Rows per onnxruntime run (dynamic batches and single requests).",
			ConstLabels: labels, Buckets: prometheus.ExponentialBuckets(1, 2, 14), // 1 to 8192
		}),
		ready: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rai_model_ready", Help: "1 when the model is loaded and warmed up.", ConstLabels: labels,
		}),
	}
	m.registry.MustRegister(m.requests, m.errors, m.latency, m.batch, m.ready,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// monitorMetrics are the monitoring series (rai serve --monitoring): counters by group, with one
// label value per group the server counts (at most --monitoring-max-groups, plus "(none)" and
// "(other)"), and gauges a collector computes at scrape time from the last complete window (one
// per monitored feature, at most --monitoring-max-features).
type monitorMetrics struct {
	model                                     string
	predictionsVec, positivesVec, outcomesVec *prometheus.CounterVec
	feedback                                  *prometheus.CounterVec // by result
	// By group index (see monitor); outcomes by tp, fp, tn, fn.
	predictions, positives []prometheus.Counter
	outcomes               [][4]prometheus.Counter
}

// Feedback outcomes, the outcome label's values in index order.
var outcomeLabels = [4]string{"tp", "fp", "tn", "fn"}

// The gauges the monitor's collector answers.
var (
	descFeatureMean = prometheus.NewDesc("rai_monitoring_feature_mean",
		"Mean of a monitored input column over the last complete monitoring window.", []string{"model", "feature"}, nil)
	descFeatureQuantile = prometheus.NewDesc("rai_monitoring_feature_quantile",
		"Sketch-estimated quantile of a monitored input column over the last complete monitoring window.", []string{"model", "feature", "quantile"}, nil)
	descSketchBytes = prometheus.NewDesc("rai_monitoring_sketch_bytes",
		"Memory held by the kept windows' feature sketches.", []string{"model"}, nil)
	descRememberedIDs = prometheus.NewDesc("rai_monitoring_feedback_ids",
		"Inference IDs open to feedback.", []string{"model"}, nil)
	descWindows = prometheus.NewDesc("rai_monitoring_windows", "Monitoring windows kept.", []string{"model"}, nil)
)

// registerMonitoring registers the monitoring series and the monitor's collector.
func (m *metrics) registerMonitoring(c prometheus.Collector) *monitorMetrics {
	labels := prometheus.Labels{"model": m.model}
	mm := &monitorMetrics{
		model: m.model,
		predictionsVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rai_monitoring_predictions_total", Help: "Predicted rows by sensitive group.", ConstLabels: labels,
		}, []string{"group"}),
		positivesVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rai_monitoring_positive_predictions_total", Help: "Rows predicted favorable (P ≥ --monitoring-threshold) by sensitive group.", ConstLabels: labels,
		}, []string{"group"}),
		outcomesVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rai_monitoring_feedback_rows_total", Help: "Rows labelled by feedback, by group and outcome (tp, fp, tn, fn).", ConstLabels: labels,
		}, []string{"group", "outcome"}),
		feedback: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rai_monitoring_feedback_total", Help: "Feedback items by result (accepted, unknown, duplicate, invalid).", ConstLabels: labels,
		}, []string{"result"}),
	}
	m.registry.MustRegister(mm.predictionsVec, mm.positivesVec, mm.outcomesVec, mm.feedback, c)
	mm.addGroup("(none)")
	mm.addGroup("(other)")
	return mm
}

// addGroup makes the counters of the next group index.
func (mm *monitorMetrics) addGroup(name string) {
	mm.predictions = append(mm.predictions, mm.predictionsVec.WithLabelValues(name))
	mm.positives = append(mm.positives, mm.positivesVec.WithLabelValues(name))
	var o [4]prometheus.Counter
	for i, l := range outcomeLabels {
		o[i] = mm.outcomesVec.WithLabelValues(name, l)
	}
	mm.outcomes = append(mm.outcomes, o)
}
