// Package audit keeps the hub's tamper-evident record of who changed what and
// who was refused: an append-only JetStream stream where each entry carries the
// hash of the previous one.
//
// Why a hash chain in a stream: admins of competing organisations must be able
// to trust that the record of actor, policy and dataset changes, of refused
// attempts and of expired grants was not quietly edited afterwards. The stream
// [StreamName] is created with DenyDelete and DenyPurge, so the JetStream API
// cannot remove an entry, and only the hub's own identity has JetStream access
// at all. Someone who edits the files on disk, or who got hold of the hub's
// identity before the flags were set, is still caught by the chain: every entry
// names the SHA-256 hash of the entry before it, so [Log.Verify] finds a
// changed entry (its hash no longer matches), a removed one (a gap in the
// stream sequences, or a prev that matches nothing) and a reordered or forged
// one (a prev that names the wrong entry).
//
// # Canonical encoding
//
// An entry's hash is the lower-case hex SHA-256 of its canonical bytes: the
// compact JSON object
//
//	{"time":T,"kind":K,"actor":A,"subject":S,"detail":D,"prev":P}
//
// with exactly these six keys in this order, written as Go's json.Marshal
// writes a struct: no whitespace, strings escaped the encoding/json way
// (including its HTML escaping of <, > and & as \u003c, \u003e, \u0026, and
// of U+2028 and U+2029), also inside D. T is the entry's time in UTC formatted
// as time.RFC3339Nano (trailing zeros of the fraction removed, e.g.
// "2026-01-02T15:04:05.123456789Z"); K, A and S are the kind, actor and
// subject; D is the detail as compacted JSON (insignificant whitespace
// removed, key order kept as given), or null when there is none; P is the
// hash of the previous entry, "" for the first one. The entry's own hash and
// its stream sequence are not part of the canonical bytes. [Canonical]
// produces them; [Log.Append] first replaces invalid UTF-8 in K, A and S by
// U+FFFD so an entry hashes the same after its JSON round trip.
//
// A stored message is the JSON of [Entry] without "seq" (the stream sequence is
// the message's own, filled in when an entry is read).
//
// # Writers
//
// [Log.Append] serialises appends in the process and publishes with JetStream's
// expected-last-sequence check, so a second writer (another hub node) cannot
// fork the chain: the loser of a race re-reads the last entry and retries.
//
// The hub's services write through one [Writer], which owns the queue and the
// flood control: security-relevant entries are stored before an admin call
// answers ([Writer.Record]) or retried in the background until stored
// ([Writer.Submit]), never dropped; refusals are counted into at most one
// entry per actor (or source address) and interval ([Writer.Refused]), so a
// flood costs a few entries, not one each.
//
// # Seals, anchors and checkpoints
//
// Three kinds of statement are signed with the anchor key, an Ed25519 nkey
// kept outside the data dir, because the chain alone cannot prove what is
// no longer there: someone who can edit the stored log can recompute every
// hash, delete the stream, or cut its end.
//
//   - An [Anchor] states the chain's head (sequence and hash) at a moment. The
//     [Anchorer] publishes one periodically and at shutdown to an anchor file,
//     a log line and any [AnchorSink]; [Log.Verify] with [Against] reports a
//     log that no longer passes through it as truncated, deleted or replaced.
//   - A seal entry ([Log.Seal]) acknowledges the breaks present when an admin
//     made it, each with the SHA-256 of the bytes concerned, so the chain can
//     be trusted again from there while the evidence stays; Verify lists them
//     as sealed breaks, and fails on anything else.
//   - A checkpoint entry ([Log.Trim]) accounts for the prefix retention
//     removed: Verify checks the chain from the first entry kept, which the
//     checkpoint names by its hash.
//
// A damaged message that JetStream counts but cannot deliver would make an
// ordered consumer wait forever; every read of the log asks the stream for
// the sequence it waits on and reports it as unreadable instead.
package audit
