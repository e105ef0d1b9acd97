// Package outbox keeps records an actor's applications handed to the
// connector until the hub has stored them, on the actor's own disk, so a hub
// outage or a connector crash loses nothing.
//
// The sidecar answers a POST only after [Outbox.Append] has returned: by then
// the record is written and fsynced. A forwarder reads the records back in
// order with [Outbox.Next], sends them to the hub and calls [Outbox.Ack] for
// each one the hub stored. When forwarding fails it calls [Outbox.Rewind] and
// the un-acknowledged records are handed out again, oldest first. Delivery is
// at least once: after a crash everything above the last persisted acked
// floor is handed out again, so the hub deduplicates by the record id the
// caller chose (stable across retries).
//
// # Group commit
//
// Appends from many goroutines are gathered into batches: one goroutine
// writes a batch with a single write and a single fsync while the next batch
// fills up, so concurrent appenders share fsyncs. [Stats] reports appends
// and fsyncs.
//
// # Acknowledgement
//
// Acks may arrive out of order (a pipelining forwarder). The acked floor is
// the highest sequence number such that every record at or below it is
// acked. The floor is written to the file "floor" (atomically, through a
// temporary file and a rename) at most every floor interval and on Close.
// Segments wholly at or below the persisted floor are deleted.
//
// # Files
//
// A directory holds:
//
//	LOCK                     held with flock while open (one process at a time)
//	floor                    8-byte little-endian acked floor + CRC-32C of those 8 bytes
//	00000000000000000001.seg segment files, named by the sequence number of
//	                         their first record (20 decimal digits)
//
// Segments are append-only. A new one is started when the next record would
// take the current one past the segment size (64 MiB by default); a segment
// always holds at least one record. The segment being appended to is kept
// zero-filled up to 4 MiB ahead of its records, so a commit overwrites
// blocks the file already has and is flushed with fdatasync, which does not
// commit the file system's journal (and with it every other process's
// metadata); it is cut back to its records before the next segment starts
// and on Close. Records in a segment have consecutive
// sequence numbers, and each segment continues where the previous one ended.
// Each record is framed as
//
//	len     uint32 little-endian: length of payload in bytes
//	crc     uint32 little-endian: CRC-32C (Castagnoli) of payload
//	payload len bytes:
//	  version  1 byte, 1
//	  seq      uint64 little-endian, the record's sequence number
//	  dsLen    uvarint, then dsLen bytes: dataset
//	  idLen    uvarint, then idLen bytes: record id
//	  data     the remaining bytes
//
// # Recovery
//
// Open reads every remaining segment and checks every record: frame,
// checksum, payload structure and sequence number. In the last segment a torn
// tail — a partial header or record, a checksum mismatch in the final record,
// or a zero-filled remainder — is the trace of a crash during a write that
// was never acknowledged to anyone, so it is cut off (and logged; zeros
// alone, the space kept ahead of the records, at debug level). Anything
// else that does not check out, in any segment, is an error wrapping
// [ErrCorrupt] that names the file and the offset: data is never dropped
// silently. The cut of a torn tail is logged with the record it held (its
// id when its header survived).
//
// # Check and repair
//
// [Check] reads every segment and lists each damaged span: since every
// record is framed with its length and CRC, a scan resynchronises at the
// next whole record, and the sequence numbers around a span tell which
// records it held. [Repair] copies each damaged span to <dir>.quarantine/
// (with a report) and rewrites the intact records above the floor into new
// segments in the subdirectory repair.tmp, then commits them with a mark
// listing them; [Open] finishes a committed repair (moves the new segments
// in, deletes the others) and discards an uncommitted one, so a crash
// during a repair never mixes old and new. Record ids do not change; the
// sequence numbers, which are the outbox's own, are renumbered from the
// floor on.
package outbox
