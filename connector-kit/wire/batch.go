package wire

import (
	"errors"
	"fmt"
	"strconv"
)

// An ingest batch carries many records of one dataset in one request on the
// same ingest subject as a single record, so the same right governs it. The
// request has the header [HeaderBatch] with the number of records, and its
// body is each record framed as
//
//	<length> [<record id>]\n<record bytes>\n
//
// that is: the record's length in bytes (decimal), optionally a space and
// the publisher's record id (as [RequestRecordID]: printable ASCII without
// spaces), a newline, exactly that many bytes of record, and a newline. The
// hub checks and stores each record on its own, in order, exactly as if it
// had come alone, and answers once with a [BatchReply]: one [Reply] per
// record, in order, each sent only after its record (or its dead letter) is
// durable. Batching saves the request and the reply per record; it is not a
// transaction (see the README on batches).
const HeaderBatch = "Hub-Batch"

// MaxBatchRecords bounds the records of one ingest batch request; the
// request's size is bounded by the hub's NATS max_payload.
const MaxBatchRecords = 1024

// BatchFrameOverhead is the most a record's framing adds to its length in a
// batch body (length digits, the id and its space, two newlines).
const BatchFrameOverhead = 12 + 1 + MaxRecordIDLen + 2

// BatchReply answers an ingest batch: Replies holds one [Reply] per record,
// in the request's order. A batch that could not be read at all (bad
// framing, too many records) has no Replies and a Code and Error instead;
// none of its records was stored.
type BatchReply struct {
	Replies []Reply `json:"replies,omitempty"`
	Code    Code    `json:"code,omitempty"`
	Error   string  `json:"error,omitempty"`
}

// AppendBatchRecord appends one record, framed, to a batch body.
func AppendBatchRecord(b []byte, id string, data []byte) []byte {
	b = strconv.AppendInt(b, int64(len(data)), 10)
	if id != "" {
		b = append(b, ' ')
		b = append(b, id...)
	}
	b = append(b, '\n')
	b = append(b, data...)
	return append(b, '\n')
}

// ErrBadBatch is wrapped by [ReadBatch]'s errors: the body is not a batch of
// the count its header gives.
var ErrBadBatch = errors.New("bad ingest batch")

// ReadBatch calls fn with each record of a batch body and its record id ("" when
// none was given), in order, after checking the whole body's framing: count
// records (the [HeaderBatch] value), at most [MaxBatchRecords], each id a
// valid record id. data aliases body. An error wraps [ErrBadBatch] and says
// where; fn is then not called at all.
func ReadBatch(body []byte, count int, fn func(id string, data []byte)) error {
	if count < 1 || count > MaxBatchRecords {
		return fmt.Errorf("%w: %s %d: want 1 to %d records", ErrBadBatch, HeaderBatch, count, MaxBatchRecords)
	}
	for pass := 0; pass < 2; pass++ {
		off, n := 0, 0
		for off < len(body) {
			nl := off
			for nl < len(body) && body[nl] != '\n' && nl-off <= 13+MaxRecordIDLen {
				nl++
			}
			if nl >= len(body) || body[nl] != '\n' {
				return fmt.Errorf("%w: record %d (byte %d): a frame line \"<length> [<id>]\" ending in a newline", ErrBadBatch, n+1, off)
			}
			line := string(body[off:nl])
			lenText, id, hasID := cutSpace(line)
			size, err := strconv.Atoi(lenText)
			if err != nil || size < 0 || lenText[0] == '+' || lenText[0] == '-' {
				return fmt.Errorf("%w: record %d (byte %d): %q is not a record length", ErrBadBatch, n+1, off, lenText)
			}
			if hasID && !ValidRecordID(id) {
				return fmt.Errorf("%w: record %d (byte %d): record id %q: 1 to %d printable ASCII characters without spaces", ErrBadBatch, n+1, off, id, MaxRecordIDLen)
			}
			start := nl + 1
			end := start + size
			if size > len(body)-start || end >= len(body) || body[end] != '\n' {
				return fmt.Errorf("%w: record %d (byte %d): %d bytes and a newline do not follow", ErrBadBatch, n+1, off, size)
			}
			if n++; n > count {
				return fmt.Errorf("%w: more records than the %d of %s", ErrBadBatch, count, HeaderBatch)
			}
			if pass == 1 {
				fn(id, body[start:end])
			}
			off = end + 1
		}
		if n != count {
			return fmt.Errorf("%w: %d records, but %s says %d", ErrBadBatch, n, HeaderBatch, count)
		}
	}
	return nil
}

// cutSpace splits a frame line at its one space.
func cutSpace(line string) (before, after string, found bool) {
	for i := 0; i < len(line); i++ {
		if line[i] == ' ' {
			return line[:i], line[i+1:], true
		}
	}
	return line, "", false
}
