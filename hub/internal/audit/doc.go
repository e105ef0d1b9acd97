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
package audit
