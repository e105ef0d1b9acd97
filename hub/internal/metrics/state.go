package metrics

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/delivery"
)

// Descriptions of the figures read at scrape time.
var (
	descStoredRecords = prometheus.NewDesc("hub_dataset_records", "Records stored in a dataset's stream (every version kept by its retention).", []string{"dataset"}, nil)
	descStoredBytes   = prometheus.NewDesc("hub_dataset_bytes", "Bytes stored in a dataset's stream.", []string{"dataset"}, nil)
	descStoredKeys    = prometheus.NewDesc("hub_dataset_keys", "Distinct keys (stream subjects) of a dataset.", []string{"dataset"}, nil)
	descLastSeq       = prometheus.NewDesc("hub_dataset_last_sequence", "The last stream sequence of a dataset: it grows by one per record stored.", []string{"dataset"}, nil)
	descLag           = prometheus.NewDesc("hub_subscription_pending_records", "Records of the dataset not yet delivered to a subscription (its consumer's lag).", []string{"dataset", "actor", "consumer"}, nil)
	descAckPending    = prometheus.NewDesc("hub_subscription_ack_pending_records", "Records delivered to a subscription and not yet acknowledged.", []string{"dataset", "actor", "consumer"}, nil)
	descConns         = prometheus.NewDesc("hub_actor_connections", "Live NATS connections of an actor.", []string{"actor"}, nil)
	descPolicies      = prometheus.NewDesc("hub_policies", "Sharing policies in force, by layer (files: the applied policies folder; access-requests: approved access requests).", []string{"layer"}, nil)
	descAudit         = prometheus.NewDesc("hub_audit_entries", "Entries in the audit log (kept under its retention).", nil, nil)
	descAuditLast     = prometheus.NewDesc("hub_audit_last_sequence", "The audit log's last sequence: it grows by one per entry appended.", nil, nil)
	descNATSConns     = prometheus.NewDesc("hub_nats_connections", "Client connections of the embedded NATS server, the hub's own included.", nil, nil)
	descNATSTotal     = prometheus.NewDesc("hub_nats_connections_total", "Client connections the embedded NATS server accepted since it started.", nil, nil)
	descSlow          = prometheus.NewDesc("hub_nats_slow_consumers_total", "Clients the NATS server cut as slow consumers since it started.", nil, nil)
	descInMsgs        = prometheus.NewDesc("hub_nats_in_messages_total", "Messages the NATS server received.", nil, nil)
	descOutMsgs       = prometheus.NewDesc("hub_nats_out_messages_total", "Messages the NATS server sent.", nil, nil)
	descInBytes       = prometheus.NewDesc("hub_nats_in_bytes_total", "Bytes the NATS server received.", nil, nil)
	descOutBytes      = prometheus.NewDesc("hub_nats_out_bytes_total", "Bytes the NATS server sent.", nil, nil)
	descJSStore       = prometheus.NewDesc("hub_jetstream_storage_bytes", "Bytes JetStream holds on disk.", nil, nil)
	descJSMem         = prometheus.NewDesc("hub_jetstream_memory_bytes", "Bytes JetStream holds in memory.", nil, nil)
	descJSStreams     = prometheus.NewDesc("hub_jetstream_streams", "JetStream streams.", nil, nil)
	descJSConsumers   = prometheus.NewDesc("hub_jetstream_consumers", "JetStream consumers.", nil, nil)
	descJSMessages    = prometheus.NewDesc("hub_jetstream_messages", "Messages in all JetStream streams.", nil, nil)
	descScrapeErrors  = prometheus.NewDesc("hub_metrics_scrape_errors", "State the last scrape could not read (its figures are missing).", []string{"source"}, nil)
)

// stateCollector reads the hub's state when Prometheus scrapes.
type stateCollector struct{ src atomic.Pointer[Sources] }

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descStoredRecords, descStoredBytes, descStoredKeys, descLastSeq, descLag, descAckPending, descConns,
		descPolicies, descAudit, descAuditLast, descNATSConns, descNATSTotal, descSlow, descInMsgs, descOutMsgs, descInBytes, descOutBytes,
		descJSStore, descJSMem, descJSStreams, descJSConsumers, descJSMessages, descScrapeErrors} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	src := c.src.Load()
	if src == nil {
		return
	}
	ctx, cancel := context.WithTimeout(src.ctx, 5*time.Second)
	defer cancel()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	failed := map[string]float64{"streams": 0, "consumers": 0, "audit": 0, "nats": 0}
	if src.Registry != nil && src.JetStream != nil {
		for _, d := range src.Registry.List() {
			s, err := src.JetStream.Stream(ctx, wire.StreamName(d.Name))
			if err != nil {
				failed["streams"]++
				continue
			}
			info, err := s.Info(ctx)
			if err != nil {
				failed["streams"]++
				continue
			}
			gauge(descStoredRecords, float64(info.State.Msgs), d.Name)
			gauge(descStoredBytes, float64(info.State.Bytes), d.Name)
			gauge(descStoredKeys, float64(info.State.NumSubjects), d.Name)
			gauge(descLastSeq, float64(info.State.LastSeq), d.Name)
			cons := s.ListConsumers(ctx)
			for ci := range cons.Info() {
				actor := ci.Config.Metadata[delivery.MetaActor]
				if actor == "" {
					continue // the hub's own reads (ordered consumers), not a subscription
				}
				gauge(descLag, float64(ci.NumPending), d.Name, actor, ci.Name)
				gauge(descAckPending, float64(ci.NumAckPending), d.Name, actor, ci.Name)
			}
			if cons.Err() != nil {
				failed["consumers"]++
			}
		}
		if s, err := src.JetStream.Stream(ctx, audit.StreamName); err == nil {
			if info, err := s.Info(ctx); err == nil {
				gauge(descAudit, float64(info.State.Msgs))
				gauge(descAuditLast, float64(info.State.LastSeq))
			} else {
				failed["audit"]++
			}
		} else {
			failed["audit"]++
		}
	}
	if src.Connected != nil {
		for actor, n := range src.Connected() {
			gauge(descConns, float64(n), actor)
		}
	}
	if src.Policies != nil {
		for layer, n := range src.Policies() {
			gauge(descPolicies, float64(n), layer)
		}
	}
	if ns := src.NATS; ns != nil {
		if v, err := ns.Varz(&server.VarzOptions{}); err == nil {
			gauge(descNATSConns, float64(v.Connections))
			counter(descNATSTotal, float64(v.TotalConnections))
			counter(descSlow, float64(v.SlowConsumers))
			counter(descInMsgs, float64(v.InMsgs))
			counter(descOutMsgs, float64(v.OutMsgs))
			counter(descInBytes, float64(v.InBytes))
			counter(descOutBytes, float64(v.OutBytes))
		} else {
			failed["nats"]++
		}
		if j, err := ns.Jsz(&server.JSzOptions{}); err == nil {
			gauge(descJSStore, float64(j.Store))
			gauge(descJSMem, float64(j.Memory))
			gauge(descJSStreams, float64(j.Streams))
			gauge(descJSConsumers, float64(j.Consumers))
			gauge(descJSMessages, float64(j.Messages))
		} else {
			failed["nats"]++
		}
	}
	for src, n := range failed {
		gauge(descScrapeErrors, n, src)
	}
}
