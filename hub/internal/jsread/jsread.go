// Package jsread reads a JetStream stream in order — the records stored when
// the read starts, then optionally the live ones — with an ordered consumer.
// The dataset reads, the dead-letter reads, the audit log and the actors
// bucket all read this way; one loop means one place for the subtle parts
// (knowing when the stored messages are done, ending cleanly when the caller
// leaves, and getting past a message the store cannot load).
//
// # Damaged messages
//
// A message whose bytes on disk are damaged stops an ordered consumer in one
// of two ways, depending on where the damage is: the server fails to load it
// and retries for ever (the consumer stalls on it), or the store passes over
// it silently while still counting it, so the consumer's pending count never
// reaches zero and a read that waits for it never ends. Read bounds both: it
// ends a read that is not following at the stream's last sequence at its
// start, and when no message arrives within [Options.StallTimeout] while
// some are pending it reads on by sequence with direct gets, passing over
// what cannot be loaded, and then resumes the consumer after the damage.
// Whenever there is reason to think messages were passed over (a stall, or
// messages still pending at the end), the sequences the read went past are
// checked one by one; those that are neither deleted nor loadable are
// reported in an [*UnreadableError] once every readable message was handed
// to the callback.
package jsread

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Options tune a read.
type Options struct {
	// Follow keeps reading live messages until ctx ends (then Read returns
	// nil, or the *UnreadableError of what it passed over); without it Read
	// returns once the messages stored at its start are read.
	Follow bool
	// StopAt, if not zero, also ends a read at this stream sequence.
	StopAt uint64
	// Batch is how many messages are fetched ahead (default 512).
	Batch int
	// StallTimeout is how long a read waits for the next message while the
	// stream says more are pending before it reads on by sequence (default
	// 2s). A slow but healthy consumer that trips it costs only speed.
	StallTimeout time.Duration
	// OnUnreadable, if set, is told as soon as messages are found
	// unreadable (with their sequences), so a following read can report
	// them before it ends.
	OnUnreadable func(seqs []uint64)
}

// DefaultStallTimeout is the default of [Options.StallTimeout].
const DefaultStallTimeout = 2 * time.Second

// Read calls fn for each message of stream selected by cfg, in order. A
// non-nil error from fn stops the read and is returned. Messages the store
// cannot load are passed over; when there were some, Read returns an error
// wrapping [ErrUnreadable] (an [*UnreadableError] naming their sequences)
// after fn has seen every readable one. A message handed to fn after a stall
// is read with a direct get: its Ack and the like fail, and its metadata
// holds the stream, the stream sequence and the time only.
func Read(ctx context.Context, js jetstream.JetStream, stream string, cfg jetstream.OrderedConsumerConfig, o Options, fn func(jetstream.Msg, *jetstream.MsgMetadata) error) error {
	if o.Batch <= 0 {
		o.Batch = 512
	}
	if o.StallTimeout <= 0 {
		o.StallTimeout = DefaultStallTimeout
	}
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return fmt.Errorf("read stream %s: %w", stream, err)
	}
	r := &reader{s: s, stream: stream, cfg: cfg, o: o, fn: fn,
		lps: cfg.DeliverPolicy == jetstream.DeliverLastPerSubjectPolicy}
	if info := s.CachedInfo(); info != nil {
		r.end = info.State.LastSeq
	}
	if o.StopAt > 0 && (r.end == 0 || o.StopAt < r.end) {
		r.end = o.StopAt
	}
	if err := r.run(ctx); err != nil {
		return err
	}
	return r.result()
}

// errStalled ends a consumer pass that waited StallTimeout with messages
// pending; errStop ends a read that is done.
var (
	errStalled = errors.New("read stalled")
	errStop    = errors.New("read done")
)

// reader is one Read.
type reader struct {
	s      jetstream.Stream
	stream string
	cfg    jetstream.OrderedConsumerConfig
	o      Options
	fn     func(jetstream.Msg, *jetstream.MsgMetadata) error
	lps    bool   // last per subject: only each subject's newest message
	end    uint64 // without Follow: the last sequence to read

	next    uint64 // the next stream sequence to read; 0 until known
	suspect bool   // messages may have been passed over
	gaps    gapList
	bad     []uint64 // unreadable sequences found, ascending
	skipped int      // candidates left unchecked (budget spent)
}

// run alternates consumer passes and, after a stall, direct reads.
func (r *reader) run(ctx context.Context) error {
	cfg := r.cfg
	for {
		err := r.consume(ctx, cfg)
		switch {
		case err == nil || errors.Is(err, errStop):
			return r.check(ctx)
		case !errors.Is(err, errStalled):
			if ctx.Err() != nil && r.o.Follow {
				return nil // the caller left; what was found is reported
			}
			return err
		}
		r.suspect = true
		done, err := r.direct(ctx)
		if err != nil {
			if ctx.Err() != nil && r.o.Follow {
				return nil
			}
			return err
		}
		if err := r.check(ctx); err != nil {
			return err
		}
		if done {
			return nil
		}
		// Resume the consumer after what was read by sequence: every
		// subject's newest message up to there is read, so a read of the
		// newest per subject goes on with the messages stored since.
		cfg = r.cfg
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = r.next
		cfg.OptStartTime = nil
		r.lps = false
	}
}

// consume reads with an ordered consumer until the read is done (nil or
// errStop), it stalls (errStalled), ctx ends or fn fails.
func (r *reader) consume(ctx context.Context, cfg jetstream.OrderedConsumerConfig) error {
	if !r.o.Follow && r.next > r.end {
		return errStop
	}
	cons, err := r.s.OrderedConsumer(ctx, cfg)
	if err != nil {
		return fmt.Errorf("read stream %s: %w", r.stream, err)
	}
	info := cons.CachedInfo()
	var pending uint64
	if info != nil {
		pending = info.NumPending
		if r.next == 0 {
			r.next = info.Delivered.Stream + 1
		}
	}
	if !r.o.Follow && pending == 0 {
		return errStop
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(r.o.Batch))
	if err != nil {
		return fmt.Errorf("read stream %s: %w", r.stream, err)
	}
	defer it.Stop()
	for {
		wait, cancel := context.WithTimeout(ctx, r.o.StallTimeout)
		m, err := it.Next(jetstream.NextContext(wait))
		cancel()
		if err != nil {
			switch {
			case ctx.Err() != nil:
				return ctx.Err()
			case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, jetstream.ErrNoHeartbeat):
				if r.o.Follow && pending == 0 {
					continue // idle: nothing is due
				}
				return errStalled
			case errors.Is(err, jetstream.ErrMsgIteratorClosed):
				return errStop
			}
			return fmt.Errorf("read stream %s: %w", r.stream, err)
		}
		meta, err := m.Metadata()
		if err != nil {
			return fmt.Errorf("read stream %s: %w", r.stream, err)
		}
		seq := meta.Sequence.Stream
		r.passed(seq)
		pending = meta.NumPending
		if err := r.fn(m, meta); err != nil {
			return err
		}
		if r.o.Follow {
			continue
		}
		if pending == 0 || (r.o.StopAt > 0 && seq >= r.o.StopAt) {
			return errStop
		}
		if seq >= r.end {
			// The stream's last message at the start is read, yet the
			// server still counts some as pending: either they arrived
			// since, or the store passed over some it still counts.
			if r.pendingUnexplained(ctx, pending) {
				r.suspect = true
				r.gaps.add(r.next, r.end)
			}
			return errStop
		}
	}
}

// passed notes that the read got to seq: the sequences between the last one
// and seq are a gap (other subjects, deleted, or unreadable).
func (r *reader) passed(seq uint64) {
	if r.next != 0 && seq > r.next {
		r.gaps.add(r.next, seq-1)
	}
	r.next = seq + 1
}

// pendingUnexplained reports whether more messages are pending than were
// stored after the read's end.
func (r *reader) pendingUnexplained(ctx context.Context, pending uint64) bool {
	info, err := r.s.Info(ctx)
	if err != nil {
		return true
	}
	var since uint64
	if info.State.LastSeq > r.end {
		since = info.State.LastSeq - r.end
	}
	return pending > since
}

// result is the read's outcome once fn has seen every readable message.
func (r *reader) result() error {
	if len(r.bad) == 0 && r.skipped == 0 {
		return nil
	}
	return &UnreadableError{Stream: r.stream, Seqs: r.bad, Unchecked: r.skipped}
}
