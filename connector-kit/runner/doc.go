// Package runner runs connector plugins against a hub: a plugin.Source
// feeding a dataset, or a dataset feeding a plugin.Sink. It is the one place
// that keeps the promises the plugin interfaces make — Connect retried with
// backoff until it succeeds, ErrNotConnected answered by a reconnect, a
// BackoffError honoured, each record acked with its fate, Close called on
// the way out — so the connector sidecar and an actor's own program run the
// same plugins the same way.
//
// A source's records are published with the id the source gave them, so a
// record read again after a crash is stored once; a record the hub refuses
// for good is acked with a plugin.Permanent error and the source moves on,
// while one the hub could not take now is acked with a retryable error and
// read again. A sink receives a durable subscription's records in order; a
// record is acked to the hub only once the sink took it, so a restart
// resumes after the last record delivered.
package runner
