package runner

import (
	"context"
	"sync"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/connector-kit/plugin"
)

// batcher collects a sink's deliveries into batches for a BatchSink and
// acks them only once the batch was written, so batching keeps
// at-least-once delivery and order.
type batcher struct {
	st     *sinkState
	size   int
	linger time.Duration
	bo     Backoff
	cfg    SinkConfig

	mu      sync.Mutex
	pending []kit.Delivery
	full    chan struct{}
}

func newBatcher(st *sinkState, _ plugin.BatchSink, cfg SinkConfig) *batcher {
	linger := cfg.Linger
	if linger <= 0 {
		linger = 100 * time.Millisecond
	}
	return &batcher{st: st, size: cfg.Batch, linger: linger, bo: st.bo, cfg: cfg, full: make(chan struct{}, 1)}
}

// add takes one delivery (acked later, with its batch).
func (b *batcher) add(_ context.Context, d kit.Delivery) error {
	b.mu.Lock()
	b.pending = append(b.pending, d)
	n := len(b.pending)
	b.mu.Unlock()
	if n >= b.size {
		select {
		case b.full <- struct{}{}:
		default:
		}
	}
	return nil
}

// run writes a batch when it is full or has lingered long enough.
func (b *batcher) run(ctx context.Context) {
	t := time.NewTicker(b.linger)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return // unacked deliveries come again after a restart
		case <-t.C:
		case <-b.full:
		}
		for b.flush(ctx) {
		}
	}
}

// flush writes up to one batch; it reports whether a full batch remains.
func (b *batcher) flush(ctx context.Context) bool {
	b.mu.Lock()
	n := min(len(b.pending), b.size)
	batch := append([]kit.Delivery(nil), b.pending[:n]...)
	b.pending = b.pending[n:]
	more := len(b.pending) >= b.size
	b.mu.Unlock()
	if n == 0 {
		return false
	}
	recs := make([]plugin.Record, n)
	for i, d := range batch {
		recs[i] = recordOf(d)
	}
	if err := b.st.write(ctx, recs); err != nil {
		delay := waitFor(err, b.bo.Min)
		b.st.log.Warn("batch not delivered; will retry", "records", n, "in", delay, "err", err)
		for _, d := range batch {
			_ = d.Nak(delay)
		}
		return false
	}
	for _, d := range batch {
		_ = d.Ack()
	}
	if b.cfg.OnDelivered != nil {
		b.cfg.OnDelivered(n)
	}
	return more
}
