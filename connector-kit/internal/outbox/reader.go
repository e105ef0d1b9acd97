package outbox

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
)

// Next returns the next record to forward: the oldest one after the last
// handed out that is not acked yet. It blocks until such a record is stored
// durably, ctx ends (returning ctx's error) or the outbox is closed
// ([ErrClosed]). It returns an error wrapping [ErrCorrupt] if a stored record
// no longer checks out. Next is meant for one reader at a time.
func (o *Outbox) Next(ctx context.Context) (Item, error) {
	o.readMu.Lock()
	defer o.readMu.Unlock()
	for {
		o.mu.Lock()
		if o.closed {
			o.mu.Unlock()
			return Item{}, ErrClosed
		}
		s := o.readSeq
		last := o.durable // the last record Next may hand out
		if o.opts.earlyNext && o.failed == nil {
			last = o.nextSeq - 1
		}
		for s <= last && o.ackedLocked(s) {
			s++
		}
		o.readSeq = s
		if s > o.durable && s <= last {
			// Appended, not yet fsynced (WithEarlyNext).
			e := o.early[s-o.durable-1]
			o.readSeq = s + 1
			o.handed = max(o.handed, s)
			o.mu.Unlock()
			return Item{Seq: s, Entry: e}, nil
		}
		if s <= o.durable {
			seg := o.segmentForLocked(s)
			limit := seg.size
			o.mu.Unlock()
			e, err := o.cur.read(seg, s, limit)
			if err != nil {
				return Item{}, err
			}
			o.mu.Lock()
			if o.readSeq == s {
				o.readSeq = s + 1
			}
			if s > o.handed {
				o.handed = s
			}
			o.mu.Unlock()
			return Item{Seq: s, Entry: e}, nil
		}
		wake := o.wake
		o.mu.Unlock()
		select {
		case <-ctx.Done():
			return Item{}, ctx.Err()
		case <-wake:
		}
	}
}

func (o *Outbox) ackedLocked(seq uint64) bool {
	if seq <= o.floor {
		return true
	}
	_, ok := o.acked[seq]
	return ok
}

// Ack marks the record seq as forwarded (stored by the hub). Acks may come
// in any order; acking a record twice is a no-op. The acked floor moves when
// every record at or below it is acked; it is persisted at most every floor
// interval and on Close. Ack returns an error wrapping [ErrUnknownSeq] for a
// record Next has not handed out since Open, and [ErrClosed] after Close.
func (o *Outbox) Ack(seq uint64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return ErrClosed
	}
	if seq == 0 || seq > o.handed {
		return fmt.Errorf("outbox: ack %d (last handed out %d): %w", seq, o.handed, ErrUnknownSeq)
	}
	if o.ackedLocked(seq) {
		return nil
	}
	o.unacked -= int64(o.sizes[seq-o.floor-1])
	if seq != o.floor+1 {
		o.acked[seq] = struct{}{}
		return nil
	}
	k := uint64(1)
	for {
		if _, ok := o.acked[o.floor+1+k]; !ok {
			break
		}
		delete(o.acked, o.floor+1+k)
		k++
	}
	o.floor += k
	o.sizes = o.sizes[k:]
	return nil
}

// Rewind makes Next start again from the oldest record not acked, so a
// forwarder whose send failed re-delivers in order. Records acked out of
// order are skipped. It returns [ErrClosed] after Close.
func (o *Outbox) Rewind() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return ErrClosed
	}
	o.readSeq = o.floor + 1
	o.notifyLocked()
	return nil
}

// cursor reads records from segment files for Next, with a read-ahead
// window. It only reads below a segment's durable size, which never changes
// once written.
type cursor struct {
	seg    *segment
	f      *os.File
	off    int64  // offset of record seq in seg
	seq    uint64 // sequence number of the record at off
	buf    []byte // window backing store
	win    []byte // file bytes [winOff, winOff+len(win))
	winOff int64
}

const readWindow = 256 << 10

func (c *cursor) close() {
	if c.f != nil {
		c.f.Close()
	}
	*c = cursor{buf: c.buf}
}

// read returns the record seq from seg, whose durable size is limit.
func (c *cursor) read(seg *segment, seq uint64, limit int64) (Entry, error) {
	if c.seg != seg || c.seq > seq {
		c.close()
		f, err := os.Open(seg.path)
		if err != nil {
			return Entry{}, fmt.Errorf("outbox: open segment: %w", err)
		}
		c.seg, c.f, c.off, c.seq = seg, f, 0, seg.first
	}
	for {
		hdr, err := c.bytes(c.off, frameHeaderSize, limit)
		if err != nil {
			return Entry{}, err
		}
		plen := int64(binary.LittleEndian.Uint32(hdr[0:4]))
		sum := binary.LittleEndian.Uint32(hdr[4:8])
		if plen < minPayloadSize || plen > maxPayloadSize || c.off+frameHeaderSize+plen > limit {
			return Entry{}, c.corrupt(fmt.Sprintf("bad record length %d", plen))
		}
		if c.seq < seq {
			c.off += frameHeaderSize + plen
			c.seq++
			continue
		}
		p, err := c.bytes(c.off+frameHeaderSize, int(plen), limit)
		if err != nil {
			return Entry{}, err
		}
		if checksum(p) != sum {
			return Entry{}, c.corrupt("checksum mismatch")
		}
		got, e, err := decodePayload(p)
		if err != nil {
			return Entry{}, c.corrupt(err.Error())
		}
		if got != seq {
			return Entry{}, c.corrupt(fmt.Sprintf("sequence number %d, want %d", got, seq))
		}
		c.off += frameHeaderSize + plen
		c.seq++
		return e, nil
	}
}

func (c *cursor) corrupt(reason string) error {
	return fmt.Errorf("outbox: segment %s offset %d: %s: %w", c.seg.path, c.off, reason, ErrCorrupt)
}

// bytes returns n bytes of the file at off, which must end at or below
// limit. The result is valid until the next call.
func (c *cursor) bytes(off int64, n int, limit int64) ([]byte, error) {
	if off >= c.winOff && off+int64(n) <= c.winOff+int64(len(c.win)) {
		return c.win[off-c.winOff:][:n], nil
	}
	if off+int64(n) > limit {
		return nil, c.corrupt("record runs past the stored data")
	}
	m := int64(readWindow)
	if m < int64(n) {
		m = int64(n)
	}
	if limit-off < m {
		m = limit - off
	}
	if int64(cap(c.buf)) < m {
		c.buf = make([]byte, m)
	}
	c.win = c.buf[:m]
	c.winOff = off
	if _, err := c.f.ReadAt(c.win, off); err != nil {
		c.win = nil
		if err == io.EOF {
			return nil, c.corrupt("segment shorter than stored data")
		}
		return nil, fmt.Errorf("outbox: read segment %s: %w", c.seg.path, err)
	}
	return c.win[:n], nil
}

// Pending returns the number of records appended and not yet acked, and
// their size in bytes (as framed on disk).
func (o *Outbox) Pending() (count int, bytes int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.pendingLocked(), o.unacked
}

func (o *Outbox) pendingLocked() int {
	return int(o.nextSeq-1-o.floor) - len(o.acked)
}

// Stats is a snapshot of an outbox's state and counters, for metrics.
type Stats struct {
	// LastSeq is the highest sequence number assigned.
	LastSeq uint64
	// DurableSeq is the highest sequence number written and fsynced.
	DurableSeq uint64
	// AckedFloor is the highest sequence number at and below which every
	// record is acked; PersistedFloor is its value on disk.
	AckedFloor, PersistedFloor uint64
	// Pending and PendingBytes count the records not yet acked (see Pending).
	Pending      int
	PendingBytes int64
	// Segments and DiskBytes describe the segment files.
	Segments  int
	DiskBytes int64
	// Appends, Commits and Fsyncs count, since Open, records appended,
	// group commits (one write of a batch) and fsyncs of segment files;
	// Appends/Fsyncs is the records each fsync carried.
	Appends, Commits, Fsyncs uint64
	// WrittenBytes counts the bytes written to segments since Open.
	WrittenBytes int64
	// TruncatedBytes is the size of the torn tail Open cut off.
	TruncatedBytes int64
}

// Stats returns a snapshot of the outbox's state and counters.
func (o *Outbox) Stats() Stats {
	persisted := o.persisted.Load()
	o.mu.Lock()
	defer o.mu.Unlock()
	s := Stats{
		LastSeq:        o.nextSeq - 1,
		DurableSeq:     o.durable,
		AckedFloor:     o.floor,
		PersistedFloor: persisted,
		Pending:        o.pendingLocked(),
		PendingBytes:   o.unacked,
		Segments:       len(o.segments),
		Appends:        o.stats.appends,
		Commits:        o.stats.commits,
		Fsyncs:         o.stats.fsyncs,
		WrittenBytes:   o.stats.written,
		TruncatedBytes: o.stats.truncated,
	}
	for _, seg := range o.segments {
		s.DiskBytes += seg.size
	}
	return s
}
