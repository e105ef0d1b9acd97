package sidecar

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/connector-kit/plugin"
)

// batcher collects an output's deliveries into batches for a BatchSink and
// acks them only once the batch was written, so batching keeps
// at-least-once delivery and order.
type batcher struct {
	sink   plugin.BatchSink
	name   string
	size   int
	linger time.Duration
	m      *metrics
	log    *slog.Logger

	mu      sync.Mutex
	pending []kit.Delivery
	full    chan struct{}
}

func newBatcher(sink plugin.BatchSink, out PluginConfig, m *metrics, log *slog.Logger) *batcher {
	linger := out.Linger
	if linger <= 0 {
		linger = 100 * time.Millisecond
	}
	return &batcher{sink: sink, name: out.Name, size: out.Batch, linger: linger, m: m, log: log, full: make(chan struct{}, 1)}
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
		env := d.Envelope
		recs[i] = plugin.Record{Dataset: env.Dataset, ID: env.ID, Data: env.Data, Envelope: &env}
	}
	if err := b.sink.WriteBatch(ctx, recs); err != nil {
		b.log.Warn("batch not delivered; will retry", "output", b.name, "records", n, "err", err)
		for _, d := range batch {
			_ = d.Nak(time.Second)
		}
		return false
	}
	for _, d := range batch {
		_ = d.Ack()
	}
	b.m.delivered.WithLabelValues(b.name).Add(float64(n))
	return more
}
