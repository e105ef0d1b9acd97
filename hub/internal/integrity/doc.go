// Package integrity notices when the hub's stored data was lost or damaged
// behind its back, and keeps saying so until an admin acknowledges it.
//
// JetStream recovers from damaged files by itself: a deleted stream folder
// becomes an empty stream, a deleted message block a stream whose first
// sequence jumped, a torn block a stream whose last sequence went back — each
// with no more than a NATS-level warning, while the hub comes up ready. So
// the hub keeps its own record of what every stream held (first and last
// sequence, message count, bytes, subjects, newest time, and whether the
// stream's limits let messages go), and compares each stream with it at
// every start and periodically while it runs. Loss the stream's limits do not
// explain becomes a [Finding]: an ERROR log line naming the dataset (or
// bucket, or stream) and the sequence range lost, an audit entry, and a
// readiness check that answers "degraded" with the findings, until an admin
// acknowledges them (`hub damage ack NAME`, audited). Messages that reads
// find unreadable (see package jsread) become findings too.
//
// # Where the record lives, and why
//
// JetStream's own files are what gets damaged, so the record is kept outside
// them: a file in the data dir next to the jetstream folder ([FileName]),
// replaced atomically and fsynced (internal/atomicfile), with a checksum that
// catches a damaged record. A copy goes into a small KV bucket ([Bucket]),
// so that losing the file alone loses nothing; at start the newer of the two
// (by generation) is used. When both are gone and the streams hold data, the
// start cannot tell what was lost before it: it says so (WARN and an audit
// entry, [audit.KindDamageUnverified]) and records the streams as they are
// from then on; it does not claim damage it cannot show.
//
// The record is written at every start (after the comparison), every
// [Options.Interval] while the hub runs, and at a clean shutdown. Streams
// only grow between records, so a record older than the streams after a
// crash is no false alarm. A stream that holds less than the record says —
// after a power loss, JetStream may lose writes it had not yet synced to
// disk — is reported: those records were acknowledged to their publishers.
//
// What is compared: a stream that is gone, or whose last sequence went back,
// lost its tail; in a stream whose limits never remove messages (no age,
// size, count or per-subject limit: datasets by default, the audit log) a
// first sequence that moved up lost its head, and fewer messages than the
// record plus the ones added since lost the missing sequences in between; in
// a stream with per-subject limits only (KV buckets, datasets with
// max_per_key) fewer subjects means keys lost; in a stream with a max age,
// losing the newest recorded message while it was still young is loss.
package integrity
