// Package file writes the hub's records as NDJSON: to a file an actor's
// batch jobs pick up ("ndjson_file"), or to a stream such as standard output
// for piping and debugging ("stdout").
//
// Each record is one line: the envelope JSON every hub API uses
// ([wire.Envelope]), or with data_only just the record's own JSON, compacted
// to one line. The file sink appends, so restarting a connector continues
// the same file; since a redelivered record is written again, readers
// deduplicate on the envelope id.
package file
