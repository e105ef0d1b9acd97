package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// stallAfter is how long a read waits for the next message before it asks
// the stream whether that message can be read at all; slowAfter is how long
// it keeps waiting for a message the stream can read before it starts a
// fresh consumer.
const (
	stallAfter = 250 * time.Millisecond
	slowAfter  = 5 * time.Second
)

// consume reads the audit stream in order from startSeq (0: the first
// entry) and calls fn with each message's data and sequence. Without
// follow it ends after stopAt (0: the stream's last sequence when it
// starts); with follow it keeps reading until ctx ends, then returns nil.
//
// A message the stream counts but cannot deliver — its bytes changed on
// disk so that JetStream's checksum fails, or it is missing from its block
// — makes an ordered consumer wait for it forever. So a read that gets no
// message for a moment asks the stream for the next sequences one by one:
// one that cannot be read, and is not a deletion the stream knows of, is
// passed to unreadable (nil: skipped), and the read goes on after it. A
// read therefore never hangs on a damaged entry; the JetStream API error
// is only returned for failing to talk to the stream at all.
func consume(ctx context.Context, js jetstream.JetStream, startSeq, stopAt uint64, follow bool,
	fn func(data []byte, seq uint64) error, unreadable func(seq uint64, err error) error) error {
	s, err := js.Stream(ctx, StreamName)
	if err != nil {
		return fmt.Errorf("audit stream %s: %w", StreamName, err)
	}
	next := max(startSeq, 1)
	if !follow && stopAt == 0 {
		info, err := s.Info(ctx)
		if err != nil {
			return fmt.Errorf("audit stream %s: %w", StreamName, err)
		}
		stopAt = info.State.LastSeq
	}
	r := &reader{js: js, s: s, fn: fn, unreadable: unreadable, follow: follow, stopAt: stopAt}
	for {
		if !follow && next > stopAt {
			return nil
		}
		var err error
		next, err = r.run(ctx, next)
		if err != nil {
			if follow && ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

type reader struct {
	js         jetstream.JetStream
	s          jetstream.Stream
	fn         func([]byte, uint64) error
	unreadable func(uint64, error) error
	follow     bool
	stopAt     uint64
}

// run reads with one ordered consumer from next and returns the sequence
// to go on from when that consumer is stuck, or when the read is done
// (then the sequence is past stopAt).
func (r *reader) run(ctx context.Context, next uint64) (uint64, error) {
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
	if next > 1 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, next
	}
	cons, err := r.js.OrderedConsumer(ctx, StreamName, cfg)
	if err != nil {
		return next, fmt.Errorf("read audit stream %s: %w", StreamName, err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(256))
	if err != nil {
		return next, fmt.Errorf("read audit stream %s: %w", StreamName, err)
	}
	defer it.Stop()
	var waited time.Duration
	for {
		if !r.follow && next > r.stopAt {
			return next, nil
		}
		m, err := it.Next(jetstream.NextMaxWait(stallAfter))
		if err == nil {
			meta, err := m.Metadata()
			if err != nil {
				return next, fmt.Errorf("read audit stream %s: %w", StreamName, err)
			}
			seq := meta.Sequence.Stream
			if !r.follow && seq > r.stopAt {
				return seq, nil
			}
			if err := r.fn(m.Data(), seq); err != nil {
				return next, err
			}
			next, waited = seq+1, 0
			continue
		}
		if ctx.Err() != nil {
			return next, ctx.Err()
		}
		if !errors.Is(err, nats.ErrTimeout) {
			return next, fmt.Errorf("read audit stream %s: %w", StreamName, err)
		}
		waited += stallAfter
		probed, err := r.probe(ctx, next)
		if err != nil {
			return next, err
		}
		switch {
		case probed > next:
			return probed, nil // skipped what cannot be read: a fresh consumer goes on
		case probed == next && waited >= slowAfter:
			return next, nil // readable but not coming: try a fresh consumer
		}
	}
}

// probe asks the stream for the messages from next on, up to the last one,
// after a read stalled. It hands the first readable one to fn and returns
// the sequence after it; it passes those that cannot be read to unreadable.
// It returns next itself when the message at next can be read (the consumer
// is only slow) or when there is nothing at or after next yet.
func (r *reader) probe(ctx context.Context, next uint64) (uint64, error) {
	info, err := r.s.Info(ctx, jetstream.WithDeletedDetails(true))
	if err != nil {
		return next, fmt.Errorf("audit stream %s: %w", StreamName, err)
	}
	last := info.State.LastSeq
	if !r.follow {
		last = min(last, r.stopAt)
	}
	deleted := info.State.Deleted
	slices.Sort(deleted)
	for seq := max(next, info.State.FirstSeq); seq <= last; seq++ {
		m, err := r.s.GetMsg(ctx, seq)
		switch {
		case err == nil:
			if seq == next {
				return next, nil
			}
			if err := r.fn(m.Data, seq); err != nil {
				return next, err
			}
			return seq + 1, nil
		case !errors.Is(err, jetstream.ErrMsgNotFound):
			return next, fmt.Errorf("audit stream %s: read entry %d: %w", StreamName, seq, err)
		}
		if _, isDeleted := slices.BinarySearch(deleted, seq); isDeleted {
			continue // a gap the stream knows of: the reader sees it as one
		}
		if r.unreadable != nil {
			if err := r.unreadable(seq, err); err != nil {
				return next, err
			}
		}
	}
	if last >= next {
		return last + 1, nil
	}
	return next, nil
}
