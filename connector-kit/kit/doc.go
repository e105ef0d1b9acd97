// Package kit is the Go connector kit: what an actor's Go program imports to
// publish records to a JobTech Data Hub and to subscribe to its datasets.
//
// Dial connects with the actor's credentials file. Publish validates the
// record locally against the dataset's schema (fetched from the hub and
// cached), so most mistakes are caught before they travel, then returns only
// when the hub has stored it. Subscribe delivers records to a handler at
// least once: a record is acked when the handler returns nil and delivered
// again, with backoff, when it returns an error. Errors are typed: a
// *ValidationError lists the violations (ErrKeyOwned when another actor owns
// the record's key); ErrConflict says a record id was reused for other
// content; ErrForbidden, ErrUnknownDataset and ErrHubUnreachable say the
// rest. Record ids are the actor's own: the hub deduplicates per actor.
package kit
