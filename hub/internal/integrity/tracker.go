package integrity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/jsread"
)

// Options tune a [Tracker]. The zero value works.
type Options struct {
	// Interval is how often the record is compared and written while the
	// hub runs (default 10s).
	Interval time.Duration
	// Logger receives the ERROR lines of findings (nil: discard).
	Logger *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Replicas is the copies of the record's bucket in a cluster (default 1).
	Replicas int
}

// Tracker keeps the record of a data dir's streams and the findings not yet
// acknowledged. Its methods are safe for concurrent use.
type Tracker struct {
	dir  string
	js   jetstream.JetStream
	log  *slog.Logger
	opts Options

	mu         sync.Mutex // guards the fields below
	rec        Record
	recorded   bool                   // a record was found at Open
	unverified map[string]StreamState // streams that held data with no record to compare; audited once
	deleting   map[string]time.Time   // streams deleted on purpose: zero while in progress, then when done
	audit      *audit.Log
	kv         jetstream.KeyValue

	stop    func()        // ends the periodic record
	done    chan struct{} // closed when it ended
	writeMu sync.Mutex    // one write of the record at a time
}

// Open reads the record of dataDir: the file, or its copy in the bucket when
// that is newer or the file is missing or damaged.
func Open(ctx context.Context, dataDir string, js jetstream.JetStream, o Options) (*Tracker, error) {
	if o.Interval <= 0 {
		o.Interval = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	t := &Tracker{dir: dataDir, js: js, log: o.Logger.With("component", "integrity"), opts: o,
		rec: Record{Version: recordVersion, Streams: map[string]StreamState{}}}
	file, ferr := readFile(dataDir)
	cp, cerr := readCopy(ctx, js)
	switch {
	case ferr == nil && (cerr != nil || cp.Generation <= file.Generation):
		t.rec, t.recorded = file, true
	case cerr == nil:
		t.rec, t.recorded = cp, true
		if ferr != nil {
			t.log.Warn("stream-state record file unusable, using its copy in JetStream", "file", FileName, "bucket", Bucket, "err", ferr)
		}
	}
	if ferr != nil && !errors.Is(ferr, fs.ErrNotExist) && !t.recorded {
		t.log.Warn("stream-state record file unusable and no copy in JetStream", "file", FileName, "err", ferr)
	}
	if cerr != nil && !errors.Is(cerr, fs.ErrNotExist) {
		t.log.Warn("stream-state record copy unusable", "bucket", Bucket, "err", cerr)
	}
	return t, nil
}

// Check compares every stream with the record, reads every KV bucket
// through once (they are small, and a damaged entry there changes who may
// do what), and records what it finds; the streams as they are become the
// state the next check compares with. Call it at start before the streams
// are created or changed, then [Tracker.Attach] once the audit log is open.
func (t *Tracker) Check(ctx context.Context) ([]Finding, error) {
	found, err := t.compare(ctx)
	if err != nil {
		return found, err
	}
	scanned, err := t.scanBuckets(ctx)
	return append(found, scanned...), err
}

// compare compares the streams with the record in memory, adds what is new
// to the findings and makes the current states the record.
func (t *Tracker) compare(ctx context.Context) ([]Finding, error) {
	began := t.opts.Now()
	cur, err := CurrentStates(ctx, t.js)
	if err != nil {
		return nil, fmt.Errorf("stream-state check: %w", err)
	}
	now := t.opts.Now()
	t.mu.Lock()
	t.passOverDeleted(cur, began)
	if !t.recorded {
		defer t.mu.Unlock()
		t.recorded = true
		for name, st := range cur {
			if st.Msgs > 0 {
				if t.unverified == nil {
					t.unverified = map[string]StreamState{}
				}
				t.unverified[name] = st
			}
		}
		if len(t.unverified) > 0 {
			t.log.Warn("no record of what the streams held before this start (the file "+FileName+" and its copy in JetStream are both missing): "+
				"loss before this start cannot be detected; recording the streams as they are now", "streams", len(t.unverified))
		}
		t.rec.Streams = cur
		return nil, nil
	}
	recorded := t.rec.Streams
	t.rec.Streams = cur
	t.mu.Unlock()
	// Compare without the lock: listing deleted sequences asks the server.
	var loss []Finding
	for name, r := range recorded {
		var c *StreamState
		if st, ok := cur[name]; ok {
			c = &st
		}
		loss = append(loss, compare(name, r, c, now, func() ([]uint64, error) { return t.deleted(ctx, name) })...)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var found []Finding
	for _, f := range loss {
		if t.addLocked(f) {
			found = append(found, f)
		}
	}
	return found, nil
}

// deleted lists the sequences stream reports deleted.
func (t *Tracker) deleted(ctx context.Context, stream string) ([]uint64, error) {
	s, err := t.js.Stream(ctx, stream)
	if err != nil {
		return nil, err
	}
	info, err := s.Info(ctx, jetstream.WithDeletedDetails(true))
	if err != nil {
		return nil, err
	}
	d := slices.Clone(info.State.Deleted)
	slices.Sort(d)
	return d, nil
}

// scanBuckets reads every KV bucket's stream through and reports what
// cannot be read.
func (t *Tracker) scanBuckets(ctx context.Context) ([]Finding, error) {
	t.mu.Lock()
	var names []string
	for name := range t.rec.Streams {
		if strings.HasPrefix(name, "KV_") {
			names = append(names, name)
		}
	}
	t.mu.Unlock()
	slices.Sort(names)
	var found []Finding
	for _, name := range names {
		err := jsread.Read(ctx, t.js, name, jetstream.OrderedConsumerConfig{}, jsread.Options{},
			func(jetstream.Msg, *jetstream.MsgMetadata) error { return nil })
		var ue *jsread.UnreadableError
		switch {
		case errors.As(err, &ue):
			found = append(found, t.report(name, ue.Seqs)...)
		case err != nil:
			return found, fmt.Errorf("stream-state check: read %s: %w", name, err)
		}
	}
	return found, nil
}

// addLocked adds f unless a finding with its ID is known; it logs the
// finding's ERROR line. t.mu is held.
func (t *Tracker) addLocked(f Finding) bool {
	for _, g := range t.rec.Findings {
		if g.ID == f.ID {
			return false
		}
	}
	t.rec.Findings = append(t.rec.Findings, f)
	attrs := []any{"stream", f.Stream, "kind", f.Kind, "sequences", f.Range()}
	if f.Dataset != "" {
		attrs = append(attrs, "dataset", f.Dataset)
	}
	if f.Bucket != "" {
		attrs = append(attrs, "bucket", f.Bucket)
	}
	if f.Count > 0 {
		attrs = append(attrs, "count", f.Count)
	}
	t.log.Error("data lost: "+f.String()+"; readiness says degraded until an admin runs 'hub damage ack "+f.Name()+"'", attrs...)
	return true
}

// Report records messages of stream that a read found unreadable. Sequences
// already reported are left out. The findings are audited and written at
// once when the audit log is attached.
func (t *Tracker) Report(ctx context.Context, stream string, seqs []uint64) {
	if len(t.report(stream, seqs)) > 0 {
		t.sync(ctx, false, false)
	}
}

func (t *Tracker) report(stream string, seqs []uint64) []Finding {
	now := t.opts.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	known := map[uint64]bool{}
	for _, f := range t.rec.Findings {
		if f.Stream == stream && f.Kind == KindUnreadable {
			for s := f.From; s <= f.To && s-f.From < 1<<16; s++ {
				known[s] = true
			}
		}
	}
	var fresh []uint64
	for _, s := range seqs {
		if !known[s] {
			fresh = append(fresh, s)
		}
	}
	slices.Sort(fresh)
	fresh = slices.Compact(fresh)
	var found []Finding
	for _, g := range ranges(fresh, 0) {
		f := newFinding(stream, KindUnreadable, g[0], g[1], g[1]-g[0]+1,
			"the stream counts these messages but the server cannot load them (damaged on disk); reads pass over them", now)
		if t.addLocked(f) {
			found = append(found, f)
		}
	}
	return found
}

// Attach gives the tracker the audit log, audits what the start found, and
// writes the record (creating the bucket for its copy).
func (t *Tracker) Attach(ctx context.Context, log *audit.Log) error {
	kv, err := t.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: Bucket,
		Description: "the hub's record of what its streams held (a copy of " + FileName + ")", History: 1, Storage: jetstream.FileStorage,
		Replicas: max(t.opts.Replicas, 1)})
	if err != nil {
		return fmt.Errorf("open stream-state bucket %s: %w", Bucket, err)
	}
	t.mu.Lock()
	t.audit, t.kv = log, kv
	t.mu.Unlock()
	// Compare again: the streams the start created or changed become the
	// record at once.
	return t.sync(ctx, true, false)
}

// Start compares and writes the record every Interval until [Tracker.Close].
// It runs under its own context, derived from ctx without its end (ctx
// usually bounds a start), which Close cancels.
func (t *Tracker) Start(ctx context.Context) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	t.mu.Lock()
	t.stop, t.done = cancel, done
	t.mu.Unlock()
	go func() {
		defer close(done)
		tick := time.NewTicker(t.opts.Interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if err := t.sync(ctx, true, false); err != nil && ctx.Err() == nil {
					t.log.Warn("stream-state record not written", "err", err)
				}
			}
		}
	}()
}

// Close stops the periodic record and compares and writes it a last time,
// marked clean; call it at shutdown while JetStream still runs.
func (t *Tracker) Close(ctx context.Context) error {
	t.mu.Lock()
	stop, done := t.stop, t.done
	t.stop = nil
	t.mu.Unlock()
	if stop != nil {
		stop()
		select {
		case <-done:
		case <-ctx.Done():
			return fmt.Errorf("stop the stream-state record: %w", ctx.Err())
		}
	}
	// Bounded: a cluster node stopping with the others has no quorum for
	// the record's copy, and its shutdown must not wait for one. A record
	// not written clean makes the next start check everything, which is safe.
	ctx, cancel := context.WithTimeout(ctx, closeTimeout)
	defer cancel()
	return t.sync(ctx, true, true)
}

// closeTimeout bounds the last comparison and write at Close.
const closeTimeout = 5 * time.Second

// sync audits what is not audited yet, optionally compares the streams with
// the record first, and writes the record.
func (t *Tracker) sync(ctx context.Context, check, clean bool) error {
	if check {
		if _, err := t.compare(ctx); err != nil {
			return err
		}
	}
	t.auditPending(ctx)
	return t.write(ctx, clean)
}

// auditPending appends the audit entries not yet stored: one per finding,
// and one for a start with no record.
func (t *Tracker) auditPending(ctx context.Context) {
	t.mu.Lock()
	log := t.audit
	var pending []Finding
	for _, f := range t.rec.Findings {
		if !f.Audited {
			pending = append(pending, f)
		}
	}
	unverified := t.unverified
	t.mu.Unlock()
	if log == nil {
		return
	}
	if len(unverified) > 0 {
		if t.auditUnverified(ctx, log, unverified) {
			t.mu.Lock()
			t.unverified = nil
			t.mu.Unlock()
		}
	}
	for _, f := range pending {
		if !t.auditFound(ctx, log, f) {
			continue
		}
		t.mu.Lock()
		for i := range t.rec.Findings {
			if t.rec.Findings[i].ID == f.ID {
				t.rec.Findings[i].Audited = true
			}
		}
		t.mu.Unlock()
	}
}

// auditFound appends the entry of a finding.
func (t *Tracker) auditFound(ctx context.Context, log *audit.Log, f Finding) bool {
	_, err := log.Append(ctx, audit.Entry{Kind: audit.KindDamageFound, Actor: "hub", Subject: f.Name(), Detail: detail(f)})
	if err != nil {
		t.log.Error("audit a data loss", "finding", f.ID, "err", err)
		return false
	}
	return true
}

// auditUnverified appends the entry of a start that had no record to
// compare the streams with.
func (t *Tracker) auditUnverified(ctx context.Context, log *audit.Log, streams map[string]StreamState) bool {
	_, err := log.Append(ctx, audit.Entry{Kind: audit.KindDamageUnverified, Actor: "hub", Subject: FileName,
		Detail: detail(map[string]any{"reason": "no record of the streams (file and copy missing); loss before this start cannot be detected", "streams": streams})})
	if err != nil {
		t.log.Error("audit a start without a stream-state record", "err", err)
		return false
	}
	return true
}

// write stores the record in the file, then its copy in the bucket.
func (t *Tracker) write(ctx context.Context, clean bool) error {
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	t.mu.Lock()
	t.rec.Generation++
	t.rec.WrittenAt = t.opts.Now().UTC()
	t.rec.Clean = clean
	rec := t.rec
	rec.Streams = make(map[string]StreamState, len(t.rec.Streams))
	for k, v := range t.rec.Streams {
		rec.Streams[k] = v
	}
	rec.Findings = slices.Clone(t.rec.Findings)
	kv := t.kv
	t.mu.Unlock()
	if err := WriteFile(t.dir, rec); err != nil {
		return fmt.Errorf("stream-state record: %w", err)
	}
	if kv == nil {
		return nil
	}
	b, err := encodeRecord(rec)
	if err != nil {
		return err
	}
	if _, err := kv.Put(ctx, recordKey, b); err != nil {
		return fmt.Errorf("stream-state record copy in bucket %s: %w", Bucket, err)
	}
	return nil
}

// Findings are the losses not yet acknowledged, oldest first.
func (t *Tracker) Findings() []Finding {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.rec.Findings)
}

// Ready reports a *DegradedError while findings are not acknowledged.
func (t *Tracker) Ready() error {
	if f := t.Findings(); len(f) > 0 {
		return &DegradedError{Findings: f}
	}
	return nil
}

// Acknowledge removes the findings about name (a dataset, a bucket or a
// stream) once an admin (by) has dealt with them, with an audit entry
// giving reason. It returns the findings removed, or an error wrapping
// [ErrNothingToAcknowledge].
func (t *Tracker) Acknowledge(ctx context.Context, name, by, reason string) ([]Finding, error) {
	t.mu.Lock()
	var acked, kept []Finding
	for _, f := range t.rec.Findings {
		if f.Name() == name || f.Stream == name {
			acked = append(acked, f)
		} else {
			kept = append(kept, f)
		}
	}
	log := t.audit
	t.mu.Unlock()
	if len(acked) == 0 {
		return nil, fmt.Errorf("%w about %q", ErrNothingToAcknowledge, name)
	}
	if log != nil {
		// The acknowledgement is stored before the findings go.
		if _, err := log.Append(ctx, audit.Entry{Kind: audit.KindDamageAcknowledged, Actor: by, Subject: name,
			Detail: detail(map[string]any{"reason": reason, "findings": acked})}); err != nil {
			return nil, fmt.Errorf("audit the acknowledgement: %w", err)
		}
	}
	t.mu.Lock()
	ids := map[string]bool{}
	for _, f := range acked {
		ids[f.ID] = true
	}
	t.rec.Findings = slices.DeleteFunc(t.rec.Findings, func(f Finding) bool { return ids[f.ID] })
	t.mu.Unlock()
	t.log.Warn("data loss acknowledged", "name", name, "by", by, "reason", reason, "findings", len(acked))
	if err := t.write(ctx, false); err != nil {
		return acked, err
	}
	return acked, nil
}

// detail is an audit entry's detail; the values are plain data that always
// marshal.
func detail(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}
