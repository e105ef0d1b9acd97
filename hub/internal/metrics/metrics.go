package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/natsd"
	"github.com/jobtech-dev/datahub/hub/internal/registry"
)

// Sources are where the scrape-time figures come from. Any nil field leaves
// its figures out.
type Sources struct {
	// Registry lists the datasets whose streams are measured.
	Registry *registry.Registry
	// JetStream reads stream and consumer state.
	JetStream jetstream.JetStream
	// NATS is the embedded server, for its Varz and Jsz figures.
	NATS *server.Server
	// Connected counts live connections per actor.
	Connected func() map[string]int
	// Policies counts the policies in force, by layer ("files" for the
	// applied files).
	Policies func() map[string]int
	Logger   *slog.Logger

	ctx context.Context // set by Watch
}

// Metrics holds the hub's collectors in a registry of its own (no global
// state: a test can make as many hubs as it likes).
type Metrics struct {
	state     *stateCollector
	reg       *prometheus.Registry
	records   *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	decisions *prometheus.CounterVec
	refusals  *prometheus.CounterVec
}

// New returns the hub's metrics. The counters count from now on; the
// figures read at scrape time appear once Watch gives their sources.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), state: &stateCollector{}}
	m.records = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hub_records_total",
		Help: "Records the ingest path answered, by dataset, outcome (stored, duplicate, conflict, rejected, too_large, unknown_dataset, unavailable) and reason (the keyword of a refused record's first violation).",
	}, []string{"dataset", "outcome", "reason"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "hub_ingest_duration_seconds",
		Help:    "Time from a record's arrival at the validators to its answer (after JetStream stored it), by dataset.",
		Buckets: prometheus.ExponentialBuckets(0.00025, 2, 15), // 0.25 ms … 4 s
	}, []string{"dataset"})
	m.decisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hub_policy_decisions_total",
		Help: "Connection decisions of the auth callout: allow (rights compiled from the policies) or deny (unknown or revoked key, at the actor's connection cap, rights changing).",
	}, []string{"decision"})
	m.refusals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hub_permission_refusals_total",
		Help: "Publishes and subscribes the NATS server refused an actor's connection because its rights do not allow them, by actor.",
	}, []string{"actor"})
	m.reg.MustRegister(m.records, m.latency, m.decisions, m.refusals,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.state)
	return m
}

// Watch sets where the scrape-time figures are read from. A scrape's reads
// run under ctx (the hub's lifetime: a scrape in flight when it stops is
// cut short), each scrape bounded by a timeout.
func (m *Metrics) Watch(ctx context.Context, src Sources) {
	if src.Logger == nil {
		src.Logger = slog.New(slog.DiscardHandler)
	}
	src.ctx = ctx
	m.state.src.Store(&src)
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Gatherer is the registry, for tests that read the figures directly.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// ObserveRecord implements ingest.Observer. A dataset the hub does not
// declare is counted as "_unknown", so strangers cannot grow the series.
func (m *Metrics) ObserveRecord(dataset string, status wire.Status, reason string, took time.Duration) {
	if dataset == "" || !wire.ValidName(dataset) || status == wire.StatusUnknownDataset {
		dataset = "_unknown"
	}
	m.records.WithLabelValues(dataset, string(status), boundedReason(reason)).Inc()
	m.latency.WithLabelValues(dataset).Observe(took.Seconds())
}

// boundedReason keeps the reason label to short keyword-like values.
func boundedReason(r string) string {
	if len(r) > 32 {
		return "other"
	}
	for _, c := range r {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return "other"
		}
	}
	return r
}

// Violation counts a publish or subscribe the server refused actor.
func (m *Metrics) Violation(actor string) {
	if !wire.ValidName(actor) {
		actor = "_unknown"
	}
	m.refusals.WithLabelValues(actor).Inc()
}

// Authorizer wraps a, counting its decisions.
func (m *Metrics) Authorizer(a natsd.Authorizer) natsd.Authorizer {
	return &countingAuthorizer{a: a, m: m}
}

type countingAuthorizer struct {
	a natsd.Authorizer
	m *Metrics
}

func (c *countingAuthorizer) Authorize(ctx context.Context, conn natsd.Conn) (natsd.Grant, error) {
	g, err := c.a.Authorize(ctx, conn)
	if err == nil {
		c.m.decisions.WithLabelValues("allow").Inc()
	}
	return g, err
}

func (c *countingAuthorizer) Refused(conn natsd.Conn, reason string) {
	c.m.decisions.WithLabelValues("deny").Inc()
	c.a.Refused(conn, reason)
}
