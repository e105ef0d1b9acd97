// Package metrics is the hub's Prometheus instrumentation: what an operator
// needs to see the hub work without reading its logs. Records accepted and
// refused per dataset and reason, and how long each took, are counted as
// they happen (the ingest service reports them); connection decisions and
// refused publishes and subscribes are counted by wrapping the NATS
// authorizer. Everything that is state — records and bytes stored per
// dataset, each subscription's lag, connections per actor, audit entries,
// and the embedded NATS server's own figures (connections, slow consumers,
// JetStream storage) — is read when Prometheus scrapes, from the stream and
// server state, so a scrape costs a few in-process calls and no record is
// ever read.
//
// The handler belongs on the admin side: the admin API serves it behind the
// admin token (GET /api/v1/metrics), and `hub serve --metrics-listen`
// serves it alone on its own address. The public catalog never does.
package metrics
