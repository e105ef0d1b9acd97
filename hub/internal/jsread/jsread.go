// Package jsread reads a JetStream stream in order — the records stored when
// the read starts, then optionally the live ones — with an ordered consumer.
// The dataset reads, the dead-letter reads and the audit log all read this
// way; one loop means one place for the subtle parts (knowing when the
// stored messages are done, ending cleanly when the caller leaves).
package jsread

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Options tune a read.
type Options struct {
	// Follow keeps reading live messages until ctx ends (then Read returns
	// nil); without it Read returns once the messages pending at its start
	// are read.
	Follow bool
	// StopAt, if not zero, also ends a read at this stream sequence.
	StopAt uint64
	// Batch is how many messages are fetched ahead (default 512).
	Batch int
}

// Read calls fn for each message of stream selected by cfg, in order. A
// non-nil error from fn stops the read and is returned.
func Read(ctx context.Context, js jetstream.JetStream, stream string, cfg jetstream.OrderedConsumerConfig, o Options, fn func(jetstream.Msg, *jetstream.MsgMetadata) error) error {
	cons, err := js.OrderedConsumer(ctx, stream, cfg)
	if err != nil {
		return fmt.Errorf("read stream %s: %w", stream, err)
	}
	if !o.Follow {
		info := cons.CachedInfo()
		if info == nil || info.NumPending == 0 {
			return nil
		}
	}
	batch := o.Batch
	if batch <= 0 {
		batch = 512
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(batch))
	if err != nil {
		return fmt.Errorf("read stream %s: %w", stream, err)
	}
	defer it.Stop()
	for {
		m, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				if o.Follow {
					return nil
				}
				return ctx.Err()
			}
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil
			}
			return fmt.Errorf("read stream %s: %w", stream, err)
		}
		meta, err := m.Metadata()
		if err != nil {
			return fmt.Errorf("read stream %s: %w", stream, err)
		}
		if err := fn(m, meta); err != nil {
			return err
		}
		if !o.Follow && (meta.NumPending == 0 || (o.StopAt > 0 && meta.Sequence.Stream >= o.StopAt)) {
			return nil
		}
	}
}
