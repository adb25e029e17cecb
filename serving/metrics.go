package serving

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the server's Prometheus metrics, registered on their own registry (served at
// /metrics) together with the Go runtime and process collectors (which give the resident memory).
type metrics struct {
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
