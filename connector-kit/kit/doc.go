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
// content; ErrForbidden, ErrUnknownDataset, ErrUnauthorized and
// ErrHubUnreachable say the rest. Record ids are the actor's own: the hub
// deduplicates per actor.
//
// A dataset's schema has numbered, append-only versions. Publish validates
// against the latest unless WithSchemaVersion pins another (the hub checks
// the same pin, and the stored record names the version). SchemaVersions
// and SchemaVersion list and fetch versions for an actor with read-schema;
// RegisterSchema registers the next version for one with register-schema,
// if it passes the dataset's compatibility mode (else an *IncompatibleError
// lists every breaking change).
//
// A hub serving TLS (tls://host:port) is verified against the system's CAs
// or the one WithCA names, host name included; ErrTLS says what failed and
// how to fix it. Dial with an empty URL connects to the hub the credentials
// file names, and refuses a credentials file other users can read.
//
// A clustered hub is several nodes: give their URLs comma-separated (in
// Dial's url or the credentials file's "# hub:" line) and the client moves
// to another node when the one it uses fails; what it publishes keeps its
// order and is stored once (see Publish).
//
// A Client keeps itself connected: nats.go reconnects after a network loss,
// and when the connection is closed for good by anything but Close, the
// client dials again with backoff and re-opens its subscriptions. State and
// WithStateHandler report the connection, so a program can tell a hub that
// is away from one that refuses its key.
package kit
