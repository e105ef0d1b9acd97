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
// hub stores it once however often it is sent.
package sidecar
