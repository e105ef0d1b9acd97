// Package webhook delivers the hub's records to an actor's HTTP endpoint.
//
// Most actors already run a web server; a webhook is the cheapest way for
// them to receive records: the sink POSTs each record, as the envelope JSON
// every hub API uses ([wire.Envelope]), to a URL the actor chose. With
// batch > 1 a POST carries a JSON array of up to that many envelopes.
//
// # Signatures
//
// Every POST is signed so the receiver can tell it came from its sidecar and
// was not replayed later:
//
//	X-Hub-Timestamp:     <unix seconds when the attempt was sent>
//	X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>
//	X-Hub-Delivery:      <envelope id (origin:publisher:record id), or the first of a batch>
//	Content-Type:        application/json
//
// Receivers check both with [Verify]. X-Hub-Delivery is the same on every
// retry of the same record or batch, so a receiver deduplicates on it.
//
// # Delivery
//
// A 2xx answer means delivered. 408, 429, 5xx and network errors are retried
// inside Write with exponential backoff and full jitter (a Retry-After answer
// is honoured, up to backoff_max), so the records of one subscription stay in
// order. Any other answer is a permanent failure. A record that fails
// permanently or exhausts its retries is appended to the dead-letter file
// <StateDir>/webhook-deadletter.ndjson (see [DeadLetter]), logged at error
// level and counted, and Write returns nil: the record is acked so that one
// bad record does not block its subscription forever. A cancelled context
// stops the retries at once and Write returns the context's error without
// dead-lettering, so the record is delivered again after a restart.
package webhook
