package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// AnchorSink receives each anchor an [Anchorer] publishes: the federation
// can hand anchors to peer hubs this way. A sink's error is logged; it does
// not stop the others.
type AnchorSink interface {
	PublishAnchor(ctx context.Context, a Anchor) error
}

// AnchorFunc is a function as an [AnchorSink].
type AnchorFunc func(ctx context.Context, a Anchor) error

// PublishAnchor calls f.
func (f AnchorFunc) PublishAnchor(ctx context.Context, a Anchor) error { return f(ctx, a) }

// AnchorerOptions configure [NewAnchorer].
type AnchorerOptions struct {
	// Hub is the hub's name, stamped into each anchor.
	Hub string
	// File is the anchor file: one JSON anchor per line, appended (and
	// fsynced) before an anchor goes anywhere else. Its last valid line is
	// the last anchor when the hub starts. Empty: no file.
	File string
	// Interval is how often the head is anchored when it moved (default 1m).
	Interval time.Duration
	// Logger gets an "audit anchor" line per anchor (for journald) and the
	// errors (default: discard).
	Logger *slog.Logger
}

// Anchorer publishes the audit chain's signed head: periodically while it
// moves, on demand, and at Close. Each anchor goes to the anchor file, to a
// log line and to the sinks added. It refuses to anchor a log that no
// longer passes through the last anchor (truncated, deleted, rewritten)
// until a seal acknowledges it: a new anchor must never hide the old one.
type Anchorer struct {
	l   *Log
	o   AnchorerOptions
	log *slog.Logger

	mu       sync.Mutex // serialises Publish and guards the fields below
	last     *Anchor
	sinks    []AnchorSink
	diverged uint64 // the stream's last sequence when a divergence was last reported

	stop, done chan struct{}
	once       sync.Once
	started    atomic.Bool
	cancel     context.CancelFunc // ends the periodic anchoring's context; set by Start, guarded by mu
}

// NewAnchorer returns the anchorer of l, which must have an anchor key, and
// reads the last anchor from the anchor file. Call Start, and Close at
// shutdown.
func NewAnchorer(l *Log, o AnchorerOptions) (*Anchorer, error) {
	if l.opts.key == nil {
		return nil, fmt.Errorf("anchorer: %w", ErrNoKey)
	}
	if o.Interval <= 0 {
		o.Interval = time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Anchorer{l: l, o: o, log: o.Logger, stop: make(chan struct{}), done: make(chan struct{})}
	if o.File != "" {
		last, skipped, err := ReadLastAnchor(o.File, l.publicKey())
		switch {
		case errors.Is(err, os.ErrNotExist):
		case errors.Is(err, ErrNoAnchor):
			a.log.Warn("audit anchor file holds no valid anchor", "file", o.File, "skipped_lines", skipped)
		case err != nil:
			return nil, err
		default:
			a.last = &last
			if skipped > 0 {
				a.log.Error("audit anchor file: lines after the last valid anchor do not parse or are not signed by this hub's anchor key: changed by someone else, or torn by a crash", "file", o.File, "skipped_lines", skipped, "last_valid", last.String())
			}
		}
	}
	return a, nil
}

// AddSink adds a place each later anchor goes to.
func (a *Anchorer) AddSink(s AnchorSink) {
	a.mu.Lock()
	a.sinks = append(a.sinks, s)
	a.mu.Unlock()
}

// Last is the last anchor published, or read from the anchor file at start.
func (a *Anchorer) Last() (Anchor, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.last == nil {
		return Anchor{}, false
	}
	return *a.last, true
}

// Start runs the periodic anchoring until Close, under a context of its
// own derived from ctx without its end (ctx usually bounds a start), which
// Close cancels.
func (a *Anchorer) Start(ctx context.Context) {
	if !a.started.CompareAndSwap(false, true) {
		return
	}
	life, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.mu.Lock()
	a.cancel = cancel
	a.mu.Unlock()
	go func() {
		defer close(a.done)
		t := time.NewTicker(a.o.Interval)
		defer t.Stop()
		for {
			select {
			case <-a.stop:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(life, a.o.Interval)
				_, _, _ = a.Publish(ctx)
				cancel()
			}
		}
	}()
}

// Close stops the periodic anchoring and anchors the final head.
func (a *Anchorer) Close(ctx context.Context) error {
	var stopErr error
	a.once.Do(func() {
		close(a.stop)
		a.mu.Lock()
		cancel := a.cancel
		a.mu.Unlock()
		if cancel != nil {
			cancel()
		}
		if a.started.Load() {
			select {
			case <-a.done:
			case <-ctx.Done():
				stopErr = fmt.Errorf("audit anchorer: stop: %w", ctx.Err())
			}
		}
	})
	if stopErr != nil {
		return stopErr
	}
	_, _, err := a.Publish(ctx)
	return err
}

// Publish anchors the chain's head now if it moved since the last anchor,
// and reports whether it did. It returns an error wrapping [ErrDiverged]
// when the log does not pass through the last anchor and no seal
// acknowledges that; the error says what [Log.Verify] found.
func (a *Anchorer) Publish(ctx context.Context) (Anchor, bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, err := a.l.js.Stream(ctx, StreamName)
	if err != nil {
		return Anchor{}, false, fmt.Errorf("anchor: audit stream %s: %w", StreamName, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return Anchor{}, false, fmt.Errorf("anchor: audit stream %s: %w", StreamName, err)
	}
	last := info.State.LastSeq
	if last == 0 && a.last == nil {
		return Anchor{}, false, nil
	}
	if a.last != nil && a.last.Seq == last && a.headIs(ctx, s, last, a.last.Head) {
		return *a.last, false, nil
	}
	if a.last != nil && !a.headIs(ctx, s, a.last.Seq, a.last.Head) {
		if err := a.acknowledged(ctx, last); err != nil {
			return Anchor{}, false, err
		}
	}
	if last == 0 {
		return Anchor{}, false, nil
	}
	m, err := s.GetMsg(ctx, last)
	if err != nil {
		return Anchor{}, false, fmt.Errorf("anchor: read the last entry %d: %w", last, err)
	}
	e, err := decode(m.Data, last)
	if err != nil {
		return Anchor{}, false, fmt.Errorf("anchor: the last entry: %w", err)
	}
	an, err := signAnchor(a.l.opts.key, Anchor{Hub: a.o.Hub, Time: time.Now(), Seq: last, Head: e.Hash})
	if err != nil {
		return Anchor{}, false, err
	}
	if err := a.writeFile(an); err != nil {
		a.log.ErrorContext(ctx, "audit anchor not written to the anchor file", "file", a.o.File, "err", err)
		return Anchor{}, false, err
	}
	a.last = &an
	line, _ := json.Marshal(an)
	a.log.InfoContext(ctx, "audit anchor", "seq", an.Seq, "head", an.Head, "anchor", string(line))
	for _, sink := range a.sinks {
		if err := sink.PublishAnchor(ctx, an); err != nil {
			a.log.WarnContext(ctx, "audit anchor sink failed", "err", err)
		}
	}
	return an, true, nil
}

// headIs reports whether entry seq of s is there with hash head.
func (a *Anchorer) headIs(ctx context.Context, s jetstream.Stream, seq uint64, head string) bool {
	m, err := s.GetMsg(ctx, seq)
	if err != nil {
		return false
	}
	e, err := decode(m.Data, seq)
	return err == nil && e.Hash == head
}

// acknowledged checks, with a full verify, whether the log's departure from
// the last anchor is fine (trimmed under a checkpoint) or sealed. a.mu is
// held; last is the stream's last sequence, so a divergence is logged once
// per state of the log.
func (a *Anchorer) acknowledged(ctx context.Context, last uint64) error {
	rep, err := a.l.Verify(ctx, Against(*a.last))
	if err != nil {
		return fmt.Errorf("anchor: verify against the last anchor: %w", err)
	}
	if rep.Anchor != nil && rep.Anchor.Status != AnchorBroken {
		return nil
	}
	why := "see audit verify"
	for _, p := range rep.Problems {
		if p.Seq == a.last.Seq || p.Code == ProblemAnchor {
			why = p.Message
		}
	}
	if a.diverged != last+1 {
		a.diverged = last + 1
		a.log.ErrorContext(ctx, "audit log does not pass through its last anchor: no new anchor until an admin seals the break (hub audit seal --reason ...)",
			"anchor", a.last.String(), "problem", why)
	}
	return fmt.Errorf("%w: %s", ErrDiverged, why)
}

func (a *Anchorer) writeFile(an Anchor) error {
	if a.o.File == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(a.o.File), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(a.o.File, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	line, _ := json.Marshal(an)
	_, err = f.Write(append(line, '\n'))
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
