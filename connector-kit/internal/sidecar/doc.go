// Package sidecar is the connector an actor runs beside its own systems. Its
// applications, in any language, talk plain HTTP to it on localhost: they
// POST records and read datasets as NDJSON, server-sent events or JobTech
// JobStream's own format; configured sources feed the hub and configured
// sinks (webhooks, files) receive the actor's subscriptions.
//
// Every POSTed record is written durably to a local outbox before the answer
// and forwarded to the hub in order, so a hub outage or a sidecar crash loses
// nothing: while the hub is away, records are answered "queued" and sent when
// it is back; each carries a record id fixed before the first attempt, so the
// hub stores it once however often it is sent. Concurrent POSTs share one
// fsync (the outbox's group commit) and the forwarder sends records in batch
// requests; with forward_during_fsync it sends them while their fsync is
// still under way, so a POST waits for the longer of the two, not their
// sum, and is still answered only once its record is fsynced.
//
// What the hub will refuse is refused before it is queued: every record
// while the hub refuses the actor's key, records of a dataset whose records
// the hub refused on the current connection (rights), records over the
// hub's size limit. /healthz says which of these holds, and whether the
// oldest queued record is stuck. The local API is for the actor's own
// applications; on any address but loopback it requires an API token.
package sidecar
