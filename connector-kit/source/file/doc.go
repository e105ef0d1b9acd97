// Package file reads records from a JSON or NDJSON file into a dataset: the
// simplest way for an actor to publish what its systems already export, and
// with follow: true a way to publish what they append to a log.
//
// Files are read as package recordfile reads them everywhere on the
// platform: .ndjson and .jsonl hold one record per line, any other file is a
// JSON document holding one record or an array of records.
//
// # At-least-once, resumable
//
// The source remembers, in a small file in its state folder that is
// replaced atomically, how far every record has been acked: the line (and
// byte offset) of the longest acked prefix of the file. After a restart it
// resumes right after that line, so a record read but not acked before a
// crash is read again. Records acked after the unacked one are read again
// too; that is safe because each record gets a stable id, which the hub
// deduplicates on: by default "<file base>:<line>:<16 hex of the SHA-256 of
// the record's bytes>", or, with id_from, "<dataset>:<value>:<16 hex of the
// SHA-256>" with the value of a field of the record (a JSON pointer such as
// /id, or a top-level field name) — the same ids the sidecar's ?id_from=
// makes, so a record read by either is stored once.
//
// A nacked record (an ack with an error that is not plugin.Permanent) is
// handed out again by Read after redeliver_after; one acked with a
// permanent error is skipped.
//
// # Follow
//
// With follow: true, Read waits at the end of the file for more lines
// instead of returning plugin.ErrEndOfInput, polling every poll_interval. A
// last line is only read once its newline is written. A file that shrinks
// or is replaced is read again from its start.
package file
