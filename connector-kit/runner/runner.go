package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/connector-kit/plugin"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// Backoff bounds the waits between attempts: the first wait is Min, each
// failure doubles it up to Max, a success resets it.
type Backoff struct {
	Min, Max time.Duration
}

// DefaultBackoff is the backoff used when none is set.
var DefaultBackoff = Backoff{Min: 200 * time.Millisecond, Max: 30 * time.Second}

func (b Backoff) orDefault() Backoff {
	if b.Min <= 0 {
		b.Min = DefaultBackoff.Min
	}
	if b.Max < b.Min {
		b.Max = max(b.Min, DefaultBackoff.Max)
	}
	return b
}

// next doubles d within the bounds.
func (b Backoff) next(d time.Duration) time.Duration { return min(max(d*2, b.Min), b.Max) }

// SourceConfig says where a source's records go.
type SourceConfig struct {
	// Name names the input in logs.
	Name string
	// Dataset receives records whose source left Record.Dataset empty.
	Dataset string
	// Backoff paces reconnects and retries.
	Backoff Backoff
	// Logger receives the runner's log lines; nil discards them.
	Logger *slog.Logger
	// OnRecord, if set, is told each record's fate (nil: stored).
	OnRecord func(r plugin.Record, err error)
}

// RunSource reads src until it ends (plugin.ErrEndOfInput, then it returns
// nil) or ctx is done (it returns nil too: stopping is not a failure), and
// publishes each record through c. It always closes src before returning.
func RunSource(ctx context.Context, c *kit.Client, src plugin.Source, cfg SourceConfig) error {
	log := logger(cfg.Logger).With("input", cfg.Name)
	bo := cfg.Backoff.orDefault()
	defer closeWith(ctx, src.Close, log, "input")
	wait, connected := bo.Min, false
	for ctx.Err() == nil {
		if !connected {
			if err := src.Connect(ctx); err != nil {
				log.Warn("input connect failed; retrying", "in", wait, "err", err)
				sleep(ctx, waitFor(err, wait))
				wait = bo.next(wait)
				continue
			}
			connected, wait = true, bo.Min
		}
		rec, ack, err := src.Read(ctx)
		switch {
		case errors.Is(err, plugin.ErrEndOfInput):
			log.Info("input finished")
			return nil
		case errors.Is(err, plugin.ErrNotConnected):
			connected = false
			continue
		case err != nil:
			if ctx.Err() != nil {
				return nil
			}
			log.Warn("input read failed; retrying", "in", waitFor(err, time.Second), "err", err)
			sleep(ctx, waitFor(err, time.Second))
			continue
		}
		dataset := rec.Dataset
		if dataset == "" {
			dataset = cfg.Dataset
		}
		var opts []kit.PublishOption
		if rec.ID != "" {
			opts = append(opts, kit.WithRecordID(rec.ID))
		}
		_, perr := c.Publish(ctx, dataset, rec.Data, opts...)
		if perr != nil && !kit.IsRetryable(perr) {
			log.Error("record refused by the hub", "dataset", dataset, "id", rec.ID, "err", perr)
			perr = plugin.Permanent(perr)
		}
		if cfg.OnRecord != nil {
			cfg.OnRecord(rec, perr)
		}
		if err := ack(ctx, perr); err != nil {
			log.Warn("ack to the input failed", "id", rec.ID, "err", err)
		}
		if perr != nil && !plugin.IsPermanent(perr) {
			sleep(ctx, wait)
			wait = bo.next(wait)
		} else {
			wait = bo.Min
		}
	}
	return nil
}

// SinkConfig says which records a sink receives and how.
type SinkConfig struct {
	// Name names the output in logs; it is also the durable subscription's
	// name unless Durable is set.
	Name string
	// Dataset is the dataset the sink receives.
	Dataset string
	// Durable names the subscription so a restart resumes after the last
	// record delivered; default Name.
	Durable string
	// Start is where a new subscription starts: wire.StartAll (default),
	// wire.StartNew or wire.StartSnapshot.
	Start string
	// Batch, for a plugin.BatchSink, is how many records it is given at
	// once (default 1: one at a time); Linger is how long a batch waits to
	// fill (default 100ms).
	Batch  int
	Linger time.Duration
	// Backoff paces reconnects and redeliveries.
	Backoff Backoff
	// Logger receives the runner's log lines; nil discards them.
	Logger *slog.Logger
	// OnDelivered, if set, is told how many records the sink took.
	OnDelivered func(n int)
}

// RunSink subscribes to cfg.Dataset and writes its records to sink until ctx
// is done (then it returns nil). The sink is connected first, with backoff,
// and again whenever it answers plugin.ErrNotConnected; a record it fails is
// delivered again (after its BackoffError's wait, if it gave one). It always
// closes the sink before returning.
func RunSink(ctx context.Context, c *kit.Client, sink plugin.Sink, cfg SinkConfig) error {
	log := logger(cfg.Logger).With("output", cfg.Name)
	bo := cfg.Backoff.orDefault()
	defer closeWith(ctx, sink.Close, log, "output")
	st := &sinkState{sink: sink, log: log, bo: bo}
	durable := cfg.Durable
	if durable == "" {
		durable = cfg.Name
	}
	opts := []kit.SubscribeOption{kit.Durable(durable), kit.Backoff(bo.Min, bo.Max)}
	switch cfg.Start {
	case "", wire.StartAll:
	case wire.StartNew:
		opts = append(opts, kit.OnlyNew())
	case wire.StartSnapshot:
		opts = append(opts, kit.FromSnapshot())
	default:
		return fmt.Errorf("output %s: start %q: want all, new or snapshot", cfg.Name, cfg.Start)
	}
	handler := func(hctx context.Context, d kit.Delivery) error {
		if err := st.write(hctx, []plugin.Record{recordOf(d)}); err != nil {
			return err
		}
		if cfg.OnDelivered != nil {
			cfg.OnDelivered(1)
		}
		return nil
	}
	if bs, ok := sink.(plugin.BatchSink); ok && cfg.Batch > 1 {
		b := newBatcher(st, bs, cfg)
		handler = b.add
		opts = append(opts, kit.ManualAck(), kit.MaxAckPending(cfg.Batch*4))
		done := make(chan struct{})
		defer func() { <-done }()
		go func() { defer close(done); b.run(ctx) }()
	}
	// Connect before subscribing, so the first records do not all fail.
	st.connect(ctx)
	var sub *kit.Subscription
	wait := bo.Min
	for ctx.Err() == nil && sub == nil {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		var err error
		sub, err = c.Subscribe(sctx, cfg.Dataset, handler, opts...)
		cancel()
		if err != nil {
			log.Warn("output subscribe failed; retrying", "dataset", cfg.Dataset, "in", wait, "err", err)
			sleep(ctx, wait)
			wait = bo.next(wait)
		}
	}
	<-ctx.Done()
	if sub != nil {
		_ = sub.Stop()
	}
	return nil
}

// sinkState keeps a sink connected. Its methods run on one goroutine at a
// time: the subscription's handler, or the batcher's loop.
type sinkState struct {
	sink      plugin.Sink
	log       *slog.Logger
	bo        Backoff
	connected bool
	wait      time.Duration
}

// connect connects the sink, retrying with backoff until it succeeds or ctx
// is done.
func (s *sinkState) connect(ctx context.Context) bool {
	if s.wait == 0 {
		s.wait = s.bo.Min
	}
	for !s.connected && ctx.Err() == nil {
		if err := s.sink.Connect(ctx); err != nil {
			s.log.Warn("output connect failed; retrying", "in", s.wait, "err", err)
			sleep(ctx, waitFor(err, s.wait))
			s.wait = s.bo.next(s.wait)
			continue
		}
		s.connected, s.wait = true, s.bo.Min
	}
	return s.connected
}

// write gives recs to the sink (one record, or a batch to a BatchSink). An
// error means they were not delivered and come again: after the wait a
// BackoffError names, or after the subscription's backoff.
func (s *sinkState) write(ctx context.Context, recs []plugin.Record) error {
	if !s.connect(ctx) {
		return ctx.Err()
	}
	var err error
	if bs, ok := s.sink.(plugin.BatchSink); ok && len(recs) > 1 {
		err = bs.WriteBatch(ctx, recs)
	} else {
		for _, r := range recs {
			if err = s.sink.Write(ctx, r); err != nil {
				break
			}
		}
	}
	if errors.Is(err, plugin.ErrNotConnected) {
		s.connected = false
	}
	return err
}

func recordOf(d kit.Delivery) plugin.Record {
	env := d.Envelope
	return plugin.Record{Dataset: env.Dataset, ID: env.ID, Data: env.Data, Envelope: &env}
}

// waitFor is the wait a BackoffError asks for, else def.
func waitFor(err error, def time.Duration) time.Duration {
	var be *plugin.BackoffError
	if errors.As(err, &be) && be.Wait > 0 {
		return be.Wait
	}
	return def
}

// closeWith closes a plugin when its run ends, usually because ctx did:
// the close gets ctx's values, not its end, and a bound of its own.
func closeWith(ctx context.Context, close func(context.Context) error, log *slog.Logger, what string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := close(ctx); err != nil {
		log.Warn(what+" close failed", "err", err)
	}
}

func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
