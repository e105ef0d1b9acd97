package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jobtech-dev/datahub/internal/dirlock"
)

// Outbox is a durable, ordered queue of records in one directory. It is safe
// for concurrent use by many appending goroutines and one reader (the
// forwarder calling Next, Ack and Rewind).
type Outbox struct {
	dir  string
	opts options
	log  *slog.Logger
	lock *dirlock.Lock

	mu        sync.Mutex
	closed    bool
	failed    error      // sticky write or fsync failure
	segments  []*segment // oldest first; the last one is appended to
	nextSeq   uint64     // next sequence number to assign
	durable   uint64     // highest fsynced sequence number
	pend      []byte     // frames appended, not yet written
	pendSizes []uint32   // frame sizes in pend
	pendFirst uint64     // sequence number of the first frame in pend
	batch     *batch     // what the appenders of pend wait for
	spare     []byte     // a drained pend buffer, reused
	floor     uint64     // acked floor: every seq <= floor is acked
	acked     map[uint64]struct{}
	sizes     []uint32 // frame size of seq floor+1, floor+2, ... nextSeq-1
	unacked   int64    // bytes of the records appended and not acked
	readSeq   uint64   // next sequence number Next considers
	handed    uint64   // highest sequence number Next handed out
	wake      chan struct{}
	stats     counters
	// early holds, with WithEarlyNext, copies of the records appended and
	// not yet fsynced (sequence numbers durable+1 ... nextSeq-1), which Next
	// hands out from memory.
	early []Entry

	// beforeSync, when set (tests only), runs before each fsync.
	beforeSync func()

	// Owned by the flusher goroutine (and Open/Close around it).
	active     *os.File
	activeSize int64 // bytes of records in active
	allocated  int64 // length of active's file: zeros from activeSize on

	kick chan struct{}
	stop chan struct{}
	wg   sync.WaitGroup

	readMu sync.Mutex
	cur    cursor

	floorMu   sync.Mutex    // serialises persistFloor
	persisted atomic.Uint64 // the acked floor on disk
}

type counters struct {
	appends   uint64
	fsyncs    uint64
	commits   uint64
	written   int64
	truncated int64
}

// batch is one group commit: its appenders wait for done, then read err.
type batch struct {
	done chan struct{}
	err  error
}

func newBatch() *batch { return &batch{done: make(chan struct{})} }

// Open opens the outbox in dir, creating the directory if needed, and
// recovers what a previous process left: a torn tail of the last segment is
// cut off and logged; any other damage is an error wrapping [ErrCorrupt].
// It returns an error wrapping [ErrLocked] when the directory is already
// open, and one wrapping [ErrInvalidOption] for a bad option.
func Open(dir string, opts ...Option) (*Outbox, error) {
	o := &Outbox{
		dir:   dir,
		opts:  defaultOptions(),
		acked: make(map[uint64]struct{}),
		wake:  make(chan struct{}),
		kick:  make(chan struct{}, 1),
		stop:  make(chan struct{}),
		batch: newBatch(),
	}
	for _, opt := range opts {
		if err := opt(&o.opts); err != nil {
			return nil, err
		}
	}
	o.log = o.opts.logger
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("outbox: create %s: %w", dir, err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	o.lock = lock
	if err := resumeRepair(dir); err != nil {
		o.closeFiles()
		return nil, err
	}
	if err := o.recover(); err != nil {
		o.closeFiles()
		return nil, err
	}
	o.wg.Add(2)
	go o.flushLoop()
	go o.floorLoop()
	return o, nil
}

// recover loads the floor and the segments and opens the last segment for
// appending.
func (o *Outbox) recover() error {
	floor, err := readFloor(o.dir)
	if err != nil {
		return err
	}
	// Temporary floor files a crash left behind (floor.tmp is an older
	// version's name).
	stale, _ := filepath.Glob(filepath.Join(o.dir, ".floor.*.tmp"))
	for _, f := range append(stale, filepath.Join(o.dir, "floor.tmp")) {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("outbox: remove stale floor file: %w", err)
		}
	}
	segs, err := listSegments(o.dir)
	if err != nil {
		return err
	}
	// Segments wholly acked whose deletion a crash interrupted.
	for len(segs) > 1 && segs[1].first-1 <= floor {
		if err := os.Remove(segs[0].path); err != nil {
			return fmt.Errorf("outbox: remove acked segment: %w", err)
		}
		segs = segs[1:]
	}
	next := floor + 1
	for i, seg := range segs {
		last := i == len(segs)-1
		if i == 0 && seg.first > floor+1 {
			return fmt.Errorf("outbox: segment %s starts at %d but the acked floor is %d (records missing): %w", seg.path, seg.first, floor, ErrCorrupt)
		}
		if i > 0 && seg.first != next {
			return fmt.Errorf("outbox: segment %s starts at %d, want %d (records missing): %w", seg.path, seg.first, next, ErrCorrupt)
		}
		res, err := scanSegment(seg, last)
		if err != nil {
			return err
		}
		if res.torn > 0 {
			lost, zero := tornRecord(seg.path, res.valid, res.torn, seg.first+uint64(len(res.sizes)))
			if err := truncate(seg.path, res.valid); err != nil {
				return err
			}
			o.stats.truncated += res.torn
			if zero {
				// The space kept ahead of the records (prealloc.go),
				// left by a crash or a kill: nothing was in it.
				o.log.Debug("outbox: cut zero-filled space after the last record",
					"file", seg.path, "offset", res.valid, "bytes", res.torn)
			} else {
				o.log.Warn("outbox: cut off torn tail left by a crash (a write never acknowledged to any client)",
					"file", seg.path, "offset", res.valid, "bytes", res.torn, "reason", res.reason, "lost", lost)
			}
		}
		seg.size = res.valid
		for j, sz := range res.sizes {
			if seq := seg.first + uint64(j); seq > floor {
				o.sizes = append(o.sizes, sz)
				o.unacked += int64(sz)
			}
		}
		next = seg.first + uint64(len(res.sizes))
	}
	if next <= floor {
		return fmt.Errorf("outbox: acked floor %d is past the last record %d: %w", floor, next-1, ErrCorrupt)
	}
	o.segments = segs
	o.floor = floor
	o.persisted.Store(floor)
	o.nextSeq, o.durable = next, next-1
	o.readSeq = floor + 1
	if len(segs) > 0 {
		last := segs[len(segs)-1]
		f, err := os.OpenFile(last.path, os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("outbox: open segment: %w", err)
		}
		o.active, o.activeSize, o.allocated = f, last.size, last.size
	}
	return nil
}

// tornRecord names the record a torn tail of n bytes at off held, seq,
// when its header survived; otherwise it says that it cannot be known. It
// reports whether the tail is all zeros (no record was in it).
func tornRecord(path string, off, n int64, seq uint64) (string, bool) {
	f, err := os.Open(path)
	if err != nil {
		return "cannot be known: " + err.Error(), false
	}
	defer f.Close()
	head := make([]byte, min(n, 4096))
	if _, err := f.ReadAt(head, off); err != nil {
		return "cannot be known: " + err.Error(), false
	}
	if allZero(head) && zeroFrom(f, off, n) {
		return fmt.Sprintf("none: %d zero bytes (space allocated ahead of the records)", n), true
	}
	if l := readable(head, seq); len(l) == 1 {
		l[0].Have = min(n, l[0].Want)
		return l[0].String(), false
	}
	return fmt.Sprintf("record %d, id cannot be known: %d bytes of a partial record header", seq, n), false
}

// zeroFrom reports whether f's n bytes at off are all zeros.
func zeroFrom(f *os.File, off, n int64) bool {
	buf := make([]byte, 64<<10)
	for n > 0 {
		k := min(n, int64(len(buf)))
		if _, err := f.ReadAt(buf[:k], off); err != nil || !allZero(buf[:k]) {
			return false
		}
		off, n = off+k, n-k
	}
	return true
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func truncate(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("outbox: cut torn tail: %w", err)
	}
	err = f.Truncate(size)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("outbox: cut torn tail of %s: %w", path, err)
	}
	return nil
}

// Close writes the records already appended, persists the acked floor,
// deletes wholly acked segments and releases the directory. A Next waiting
// returns [ErrClosed]. Closing twice is a no-op.
func (o *Outbox) Close() error {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return nil
	}
	o.closed = true
	o.notifyLocked()
	o.mu.Unlock()

	close(o.stop)
	o.wg.Wait()
	err := o.persistFloor()
	o.mu.Lock()
	failed := o.failed
	o.mu.Unlock()
	if failed == nil {
		if terr := o.trimActive(); err == nil {
			err = terr
		}
	}

	o.readMu.Lock()
	o.cur.close()
	o.readMu.Unlock()
	if cerr := o.closeFiles(); err == nil {
		err = cerr
	}
	return err
}

func (o *Outbox) closeFiles() error {
	var err error
	if o.active != nil {
		err = o.active.Close()
		o.active = nil
	}
	if o.lock != nil {
		if cerr := o.lock.Release(); err == nil {
			err = cerr
		}
		o.lock = nil
	}
	if err != nil {
		return fmt.Errorf("outbox: close: %w", err)
	}
	return nil
}

// notifyLocked wakes a waiting Next. o.mu must be held.
func (o *Outbox) notifyLocked() {
	close(o.wake)
	o.wake = make(chan struct{})
}

// Append stores e and returns its sequence number, which is higher than that
// of every record appended before. When Append returns nil the record is
// written and fsynced. Appends from concurrent goroutines share fsyncs.
//
// It returns an error wrapping [ErrInvalidEntry] for an entry without
// dataset or id, [ErrTooLarge] for a record over the maximum record size,
// [ErrFull] when the outbox holds the maximum bytes not yet acknowledged,
// [ErrClosed] after Close, and the write error once a write or fsync failed
// (the outbox must then be reopened). If ctx ends while the fsync is under
// way Append returns ctx's error, but the record may still be stored and
// forwarded: retry with the same id.
func (o *Outbox) Append(ctx context.Context, e Entry) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if e.Dataset == "" || e.ID == "" {
		return 0, fmt.Errorf("outbox: append: dataset and id are required: %w", ErrInvalidEntry)
	}
	plen := payloadSize(e)
	if plen > o.opts.maxRecordBytes {
		return 0, fmt.Errorf("outbox: append %s/%s: %d bytes encoded, at most %d: %w",
			e.Dataset, e.ID, plen, o.opts.maxRecordBytes, ErrTooLarge)
	}
	size := frameHeaderSize + plen

	o.mu.Lock()
	switch {
	case o.closed:
		o.mu.Unlock()
		return 0, ErrClosed
	case o.failed != nil:
		err := o.failed
		o.mu.Unlock()
		return 0, err
	case o.unacked+int64(size) > o.opts.maxBytes:
		o.mu.Unlock()
		return 0, fmt.Errorf("outbox: append %s/%s: %d bytes not yet forwarded, at most %d: %w",
			e.Dataset, e.ID, o.unacked, o.opts.maxBytes, ErrFull)
	}
	seq := o.nextSeq
	o.nextSeq++
	if len(o.pendSizes) == 0 {
		o.pendFirst = seq
	}
	o.pend = appendFrame(o.pend, seq, e, plen)
	o.pendSizes = append(o.pendSizes, uint32(size))
	o.sizes = append(o.sizes, uint32(size))
	o.unacked += int64(size)
	o.stats.appends++
	if o.opts.earlyNext {
		// A copy: the caller may reuse e.Data once Append returns, and
		// the forwarder may still hold it.
		o.early = append(o.early, Entry{Dataset: e.Dataset, ID: e.ID, Data: append([]byte(nil), e.Data...)})
		o.notifyLocked()
	}
	b := o.batch
	o.mu.Unlock()

	select {
	case o.kick <- struct{}{}:
	default:
	}
	select {
	case <-b.done:
		if b.err != nil {
			return 0, b.err
		}
		return seq, nil
	case <-ctx.Done():
		return 0, fmt.Errorf("outbox: append %s/%s: waiting for fsync of seq %d: %w", e.Dataset, e.ID, seq, ctx.Err())
	}
}

// flushLoop is the group-commit goroutine: it writes and fsyncs whatever
// was appended while the previous fsync ran.
func (o *Outbox) flushLoop() {
	defer o.wg.Done()
	for {
		select {
		case <-o.kick:
			// Let the appenders the last commit released enqueue their
			// next records, so that they join this commit.
			runtime.Gosched()
			o.flushOnce()
		case <-o.stop:
			for o.flushOnce() {
			}
			return
		}
	}
}

// flushOnce writes one batch and reports whether there was one.
func (o *Outbox) flushOnce() bool {
	o.mu.Lock()
	if len(o.pendSizes) == 0 {
		o.mu.Unlock()
		return false
	}
	buf, sizes, first, b := o.pend, o.pendSizes, o.pendFirst, o.batch
	o.pend, o.pendSizes, o.batch = o.spare[:0], nil, newBatch()
	o.spare = nil
	err := o.failed
	o.mu.Unlock()

	var touched []segSize
	var fsyncs int
	if err == nil {
		touched, fsyncs, err = o.writeBatch(buf, sizes, first)
	}

	o.mu.Lock()
	o.stats.fsyncs += uint64(fsyncs)
	if err != nil {
		if o.failed == nil {
			o.failed = err
			o.log.Error("outbox: write failed; appends fail until reopened", "dir", o.dir, "err", err)
		}
	} else {
		for _, t := range touched {
			t.seg.size = t.size
		}
		o.durable = first + uint64(len(sizes)) - 1
		if o.opts.earlyNext {
			// Written: Next reads these from their segment now.
			n := copy(o.early, o.early[len(sizes):])
			clear(o.early[n:])
			o.early = o.early[:n]
		}
		o.stats.commits++
		o.stats.written += int64(len(buf))
		o.notifyLocked()
	}
	if cap(buf) <= 4<<20 {
		o.spare = buf[:0]
	}
	o.mu.Unlock()
	b.err = err
	close(b.done)
	return true
}

type segSize struct {
	seg  *segment
	size int64
}

// writeBatch writes the frames in buf (of the given sizes, the first one
// with sequence number first) to the active segment, starting new segments
// as needed, and fsyncs. It returns the new durable size of each segment
// written to.
func (o *Outbox) writeBatch(buf []byte, sizes []uint32, first uint64) ([]segSize, int, error) {
	var (
		touched []segSize
		fsyncs  int
		start   int // start in buf of the run not yet written
		pos     int
	)
	o.mu.Lock()
	var seg *segment
	if len(o.segments) > 0 {
		seg = o.segments[len(o.segments)-1]
	}
	o.mu.Unlock()
	flush := func() error {
		grew := false
		if pos > start {
			if _, err := o.active.WriteAt(buf[start:pos], o.activeSize); err != nil {
				return fmt.Errorf("outbox: write %s: %w", seg.path, err)
			}
			o.activeSize += int64(pos - start)
			start = pos
			var err error
			if grew, err = o.reserve(o.activeSize); err != nil {
				return err
			}
		}
		if o.beforeSync != nil {
			o.beforeSync()
		}
		sync := datasync
		if grew {
			sync = (*os.File).Sync
		}
		if err := sync(o.active); err != nil {
			return fmt.Errorf("outbox: fsync %s: %w", seg.path, err)
		}
		fsyncs++
		touched = append(touched, segSize{seg, o.activeSize})
		return nil
	}
	for i, sz := range sizes {
		inRun := int64(pos - start)
		if o.active == nil || (o.activeSize+inRun > 0 && o.activeSize+inRun+int64(sz) > o.opts.segmentBytes) {
			if o.active != nil {
				if err := flush(); err != nil {
					return nil, fsyncs, err
				}
				if err := o.trimActive(); err != nil {
					return nil, fsyncs, err
				}
				if err := o.active.Close(); err != nil {
					return nil, fsyncs, fmt.Errorf("outbox: close %s: %w", seg.path, err)
				}
				o.active = nil
			}
			s, f, err := o.createSegment(first + uint64(i))
			if err != nil {
				return nil, fsyncs, err
			}
			seg, o.active, o.activeSize, o.allocated = s, f, 0, 0
		}
		pos += int(sz)
	}
	if err := flush(); err != nil {
		return nil, fsyncs, err
	}
	return touched, fsyncs, nil
}

// createSegment creates the segment starting at first, makes its directory
// entry durable and adds it to the list.
func (o *Outbox) createSegment(first uint64) (*segment, *os.File, error) {
	path := filepath.Join(o.dir, segmentName(first))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("outbox: create segment: %w", err)
	}
	if err := syncDir(o.dir); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("outbox: create segment %s: %w", path, err)
	}
	seg := &segment{first: first, path: path}
	o.mu.Lock()
	o.segments = append(o.segments, seg)
	o.mu.Unlock()
	return seg, f, nil
}

// floorLoop persists the acked floor every floor interval.
func (o *Outbox) floorLoop() {
	defer o.wg.Done()
	t := time.NewTicker(o.opts.floorInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := o.persistFloor(); err != nil {
				o.log.Error("outbox: persist acked floor", "dir", o.dir, "err", err)
			}
		case <-o.stop:
			return
		}
	}
}

// persistFloor writes the acked floor if it moved, then deletes the segments
// wholly at or below it (never the last one, which is appended to).
func (o *Outbox) persistFloor() error {
	o.floorMu.Lock()
	defer o.floorMu.Unlock()
	o.mu.Lock()
	// With WithEarlyNext records may be acked before their fsync: the
	// floor on disk never passes what is on disk.
	floor := min(o.floor, o.durable)
	o.mu.Unlock()
	if floor <= o.persisted.Load() {
		return nil
	}
	if err := writeFloor(o.dir, floor); err != nil {
		return err
	}
	o.persisted.Store(floor)
	o.mu.Lock()
	var dead []*segment
	for len(o.segments) > 1 && o.segments[1].first-1 <= floor {
		dead = append(dead, o.segments[0])
		o.segments = o.segments[1:]
	}
	o.mu.Unlock()
	for _, s := range dead {
		if err := os.Remove(s.path); err != nil {
			return fmt.Errorf("outbox: delete acked segment: %w", err)
		}
	}
	return nil
}

// segmentForLocked returns the segment holding seq. o.mu must be held and
// seq must be stored.
func (o *Outbox) segmentForLocked(seq uint64) *segment {
	i := sort.Search(len(o.segments), func(i int) bool { return o.segments[i].first > seq })
	return o.segments[i-1]
}
