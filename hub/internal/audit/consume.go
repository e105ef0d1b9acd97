package audit

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// consume runs an ordered consumer on the audit stream from startSeq (0: the
// first entry) and calls fn with each message's data and sequence until the
// messages pending at the start are read, or, with follow, until ctx ends
// (then it returns nil). stopAt > 0 also ends the read at that sequence.
func consume(ctx context.Context, js jetstream.JetStream, startSeq, stopAt uint64, follow bool, fn func(data []byte, seq uint64) error) error {
	cfg := jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{Subject},
		DeliverPolicy:  jetstream.DeliverAllPolicy,
	}
	if startSeq > 1 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = startSeq
	}
	cons, err := js.OrderedConsumer(ctx, StreamName, cfg)
	if err != nil {
		return fmt.Errorf("read audit stream %s: %w", StreamName, err)
	}
	if !follow {
		info := cons.CachedInfo()
		if info == nil || info.NumPending == 0 {
			return nil
		}
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(1024))
	if err != nil {
		return fmt.Errorf("read audit stream %s: %w", StreamName, err)
	}
	defer it.Stop()
	for {
		m, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				if follow {
					return nil
				}
				return ctx.Err()
			}
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil
			}
			return fmt.Errorf("read audit stream %s: %w", StreamName, err)
		}
		meta, err := m.Metadata()
		if err != nil {
			return fmt.Errorf("read audit stream %s: %w", StreamName, err)
		}
		if err := fn(m.Data(), meta.Sequence.Stream); err != nil {
			return err
		}
		if !follow && (meta.NumPending == 0 || (stopAt > 0 && meta.Sequence.Stream >= stopAt)) {
			return nil
		}
	}
}
