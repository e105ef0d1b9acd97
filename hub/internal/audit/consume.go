package audit

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/hub/internal/jsread"
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
	err := jsread.Read(ctx, js, StreamName, cfg, jsread.Options{Follow: follow, StopAt: stopAt, Batch: 1024}, func(m jetstream.Msg, meta *jetstream.MsgMetadata) error {
		return fn(m.Data(), meta.Sequence.Stream)
	})
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("audit: %w", err)
	}
	return err
}
