package sidecar

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the sidecar's Prometheus metrics, on its own registry (no
// global state), served at /metrics.
type metrics struct {
	reg       *prometheus.Registry
	posted    *prometheus.CounterVec // records POSTed, by outcome
	forwarded *prometheus.CounterVec // records forwarded from the outbox, by outcome
	delivered *prometheus.CounterVec // records delivered to sinks, by output
	pending   prometheus.GaugeFunc
	latency   prometheus.Histogram
}

func newMetrics(pending func() float64) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		posted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "connector_records_posted_total",
			Help: "Records received on the local API, by answer."}, []string{"status"}),
		forwarded: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "connector_records_forwarded_total",
			Help: "Records forwarded from the outbox to the hub, by outcome."}, []string{"outcome"}),
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "connector_records_delivered_total",
			Help: "Records delivered to sinks, by output."}, []string{"output"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "connector_post_seconds",
			Help: "Time to answer a POST of records.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}),
	}
	m.pending = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "connector_outbox_pending",
		Help: "Records in the outbox not yet stored by the hub."}, pending)
	m.reg.MustRegister(m.posted, m.forwarded, m.delivered, m.pending, m.latency,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}
