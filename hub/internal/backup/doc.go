// Package backup takes online backups of a running hub and restores them
// into a fresh data dir.
//
// A backup is a JetStream snapshot of every stream the hub keeps — each
// dataset's stream, the dead letters, the KV buckets (actors, policies and
// any other), with the durable consumers (subscriptions and their
// positions), and the audit log last — taken through the JetStream API
// ($JS.API.STREAM.SNAPSHOT, as `nats stream backup` does) over the hub's own
// in-process connection while the hub keeps serving writes. nats.go has no
// snapshot API, and the embedded server's snapshot function is not exported,
// so the package speaks the API's small chunk-and-ack protocol itself; the
// server types (server.JSApiStreamSnapshotRequest and friends) keep it
// exact. Each snapshot holds the stream as it was when that snapshot began,
// so every record acknowledged before a backup began is in it. The hub's
// record of its own streams (package integrity) is left out: it describes
// the data dir it was written in, and a restore writes a fresh one.
//
// Over HTTP a backup is one multipart/mixed body: a part per stream (the
// snapshot bytes, S2-compressed as JetStream writes them), then a manifest
// part naming every stream with its configuration, its state at the
// snapshot and the SHA-256 of its part. A body without the manifest is an
// incomplete backup. [Receive] writes it to a folder:
//
//	DIR/manifest.json
//	DIR/streams/<STREAM>.snap
//
// [Restore] checks every file against the manifest first, then starts an
// embedded NATS server on the new data dir with no listener anyone can use
// (every client but the restorer's in-process identity is refused), sends
// each snapshot through $JS.API.STREAM.RESTORE, checks each stream's
// message count and last sequence against the manifest, and writes the
// integrity record so the first start compares with the restored state.
// The admin token is not part of a backup: the first start of the restored
// hub creates a new one.
package backup
