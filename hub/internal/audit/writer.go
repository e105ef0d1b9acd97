package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// WriterOptions configure [NewWriter]. The zero value works.
type WriterOptions struct {
	// Interval is how long refusals are gathered into one entry per group
	// (default 5s).
	Interval time.Duration
	// MaxGroups bounds the groups (actors, or source addresses of unknown
	// keys) of one interval; refusals beyond go into one overflow entry per
	// kind (default 100). So an interval writes at most MaxGroups+2
	// refusal entries, whatever the flood.
	MaxGroups int
	// MaxAge, when above zero, is the retention: entries older than it are
	// removed under a signed checkpoint (see [Log.Trim]) at start and then
	// every TrimEvery (default 1h).
	MaxAge    time.Duration
	TrimEvery time.Duration
	// Logger gets write failures (default: discard).
	Logger *slog.Logger
}

// Writer is the one way the hub's services write to the audit log, so no
// entry that matters is dropped and no flood fills the log:
//
//   - [Writer.Record] stores a security-relevant entry before it returns
//     (an admin change is answered only after its entry is stored);
//   - [Writer.Submit] stores one in the background, retrying until it is
//     stored, for changes that have no caller to answer (expiries);
//   - [Writer.Refused] counts refusals into at most one entry per actor (or
//     per source address for unknown keys) and interval, with counts.
//
// It also runs the retention, if one is set.
type Writer struct {
	l   *Log
	o   WriterOptions
	log *slog.Logger

	mu    sync.Mutex
	queue []Entry // submitted, not yet stored, oldest first
	rs    *refusals

	wake     chan struct{}
	flushReq chan flushRequest
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once
	// ctx is the writer's own, from NewWriter to Close: the background
	// writes and trims run under it, each bounded by a timeout.
	ctx    context.Context
	cancel context.CancelFunc
}

type flushRequest struct {
	ctx  context.Context
	done chan error
}

// NewWriter starts the writer of l; call Close to write what is pending and
// stop it.
func NewWriter(ctx context.Context, l *Log, o WriterOptions) *Writer {
	if o.Interval <= 0 {
		o.Interval = 5 * time.Second
	}
	if o.MaxGroups <= 0 {
		o.MaxGroups = 100
	}
	if o.TrimEvery <= 0 {
		o.TrimEvery = time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	w := &Writer{l: l, o: o, log: o.Logger, rs: newRefusals(o.MaxGroups),
		wake: make(chan struct{}, 1), flushReq: make(chan flushRequest), stop: make(chan struct{}), done: make(chan struct{})}
	w.ctx, w.cancel = context.WithCancel(context.WithoutCancel(ctx))
	go w.loop()
	return w
}

// Record stores e now and returns it as stored. When it cannot be stored
// (the log unreachable, ctx ended) it is not dropped: it is queued, written
// in the background until stored, and Record returns the error so the
// caller can say its change is not audited yet. An entry that is invalid
// (ErrInvalidEntry) is not queued.
func (w *Writer) Record(ctx context.Context, e Entry) (Entry, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	stored, err := w.l.Append(ctx, e)
	if err == nil {
		return stored, nil
	}
	if errors.Is(err, ErrInvalidEntry) {
		return Entry{}, err
	}
	w.Submit(e)
	return Entry{}, fmt.Errorf("%w (the entry is queued and retried until it is stored)", err)
}

// Submit queues e to be stored in the background, retried until it is;
// Flush waits for it.
func (w *Writer) Submit(e Entry) {
	w.mu.Lock()
	w.queue = append(w.queue, e)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// SubmitOnce queues e like Submit, to be stored once however many writers
// submit an entry with the same key within a couple of minutes: the nodes of
// a cluster that each see the same event (a grant's end) write one entry,
// and none is dropped while any of them runs. The key names the event, e.g.
// "grant-expired:<policy>:<unix time>".
func (w *Writer) SubmitOnce(key string, e Entry) {
	e.once = key
	w.Submit(e)
}

// Refused counts a refusal into its group's entry of this interval. It
// never blocks and never writes itself.
func (w *Writer) Refused(r Refusal) {
	w.mu.Lock()
	w.rs.add(r, time.Now())
	w.mu.Unlock()
}

// Flush writes what is queued and the refusals counted so far, and returns
// once they are stored, or with the error that kept them from it (they
// stay queued).
func (w *Writer) Flush(ctx context.Context) error {
	req := flushRequest{ctx: ctx, done: make(chan error, 1)}
	select {
	case w.flushReq <- req:
	case <-w.done:
		return errors.New("audit writer closed")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close writes what is pending, stops the writer, and logs at ERROR, with
// their content, the entries it could not store by ctx's end: the last
// record of them there is.
func (w *Writer) Close(ctx context.Context) error {
	select {
	case <-w.done:
		return nil // closed before
	default:
	}
	err := w.Flush(ctx)
	w.once.Do(func() { close(w.stop); w.cancel() })
	select {
	case <-w.done:
	case <-ctx.Done():
		return errors.Join(err, fmt.Errorf("audit writer: stop: %w", ctx.Err()))
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	lost := w.queue
	for _, g := range w.rs.list() {
		lost = append(lost, g.entry())
	}
	for _, e := range lost {
		w.log.Error("audit entry NOT STORED at shutdown", "kind", e.Kind, "actor", e.Actor, "subject", e.Subject, "detail", string(e.Detail))
	}
	return err
}

func (w *Writer) loop() {
	defer close(w.done)
	tick := time.NewTicker(w.o.Interval)
	defer tick.Stop()
	var trim <-chan time.Time
	if w.o.MaxAge > 0 {
		t := time.NewTicker(w.o.TrimEvery)
		defer t.Stop()
		trim = t.C
		w.trim()
	}
	bg := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(w.ctx, 10*time.Second)
	}
	for {
		select {
		case <-w.stop:
			return
		case <-w.wake:
			ctx, cancel := bg()
			_ = w.writeQueue(ctx)
			cancel()
		case <-tick.C:
			ctx, cancel := bg()
			_ = errors.Join(w.writeQueue(ctx), w.writeRefusals(ctx))
			cancel()
		case <-trim:
			w.trim()
		case req := <-w.flushReq:
			req.done <- errors.Join(w.writeQueue(req.ctx), w.writeRefusals(req.ctx))
		}
	}
}

// writeQueue stores the queued entries in order; on a failure the rest
// stay queued for the next try.
func (w *Writer) writeQueue(ctx context.Context) error {
	for {
		w.mu.Lock()
		if len(w.queue) == 0 {
			w.mu.Unlock()
			return nil
		}
		e := w.queue[0]
		w.mu.Unlock()
		_, err := w.l.Append(ctx, e)
		if err != nil && !errors.Is(err, ErrInvalidEntry) {
			w.log.Error("audit entry not stored yet, retrying", "kind", e.Kind, "actor", e.Actor, "subject", e.Subject, "err", err)
			return err
		}
		if err != nil {
			w.log.Error("audit entry invalid, not stored", "kind", e.Kind, "err", err)
		}
		w.mu.Lock()
		w.queue = w.queue[1:]
		w.mu.Unlock()
	}
}

// writeRefusals stores this interval's refusal entries; what fails is put
// back into the next interval's groups.
func (w *Writer) writeRefusals(ctx context.Context) error {
	w.mu.Lock()
	if w.rs.empty() {
		w.mu.Unlock()
		return nil
	}
	gs := w.rs.list()
	w.rs = newRefusals(w.o.MaxGroups)
	w.mu.Unlock()
	for i, g := range gs {
		if _, err := w.l.Append(ctx, g.entry()); err != nil {
			w.log.Error("audit refusal entries not stored yet, retrying", "groups", len(gs)-i, "err", err)
			w.mu.Lock()
			w.rs.putBack(gs[i:])
			w.mu.Unlock()
			return err
		}
	}
	return nil
}

func (w *Writer) trim() {
	ctx, cancel := context.WithTimeout(w.ctx, 5*time.Minute)
	defer cancel()
	if _, err := w.l.Trim(ctx, time.Now().Add(-w.o.MaxAge)); err != nil {
		w.log.Error("audit retention: trim failed", "err", err)
	}
}
