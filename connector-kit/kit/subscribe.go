package kit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// Delivery is one record handed to a Handler.
type Delivery struct {
	wire.Envelope
	// Attempt counts deliveries of this record: 1 the first time.
	Attempt int
	// Pending is how many records were stored after this one when it was
	// delivered: 0 means the subscription has caught up.
	Pending uint64

	msg *nats.Msg
}

// Ack acknowledges the record; only for subscriptions with ManualAck.
func (d Delivery) Ack() error { return d.msg.Ack() }

// Nak has the record delivered again after delay; only with ManualAck.
func (d Delivery) Nak(delay time.Duration) error { return d.msg.NakWithDelay(delay) }

// Handler processes one record. Returning nil acks it; an error has it
// delivered again after a backoff (or after the wait the error names, when
// it has a RetryAfter() time.Duration method, as plugin.BackoffError does).
// Records of one subscription are handled one at a time, in order.
type Handler func(ctx context.Context, d Delivery) error

// SubscribeOption tunes Subscribe.
type SubscribeOption func(*subOptions)

type subOptions struct {
	manual     bool
	req        wire.SubscribeRequest
	backoffMin time.Duration
	backoffMax time.Duration
}

// Durable names the subscription: after a restart, Subscribe with the same
// name resumes after the last acked record.
func Durable(name string) SubscribeOption { return func(o *subOptions) { o.req.Durable = name } }

// StartAt delivers records published at or after t.
func StartAt(t time.Time) SubscribeOption {
	return func(o *subOptions) { o.req.Start, o.req.Since = wire.StartSince, t }
}

// StartAfter delivers records after stream sequence seq.
func StartAfter(seq uint64) SubscribeOption {
	return func(o *subOptions) { o.req.Start, o.req.AfterSeq = wire.StartAfterSeq, seq }
}

// FromSnapshot delivers the latest record per key, then live records.
func FromSnapshot() SubscribeOption { return func(o *subOptions) { o.req.Start = wire.StartSnapshot } }

// OnlyNew delivers only records published from now on.
func OnlyNew() SubscribeOption { return func(o *subOptions) { o.req.Start = wire.StartNew } }

// MaxAckPending bounds records delivered but not yet acked.
func MaxAckPending(n int) SubscribeOption { return func(o *subOptions) { o.req.MaxAckPending = n } }

// AckWait is how long the hub waits for a handler before delivering again.
func AckWait(d time.Duration) SubscribeOption { return func(o *subOptions) { o.req.AckWait = d } }

// ManualAck leaves acking to the handler (Delivery.Ack, Delivery.Nak): a
// handler that returns nil has taken the record but not yet acked it, so it
// can collect a batch. Use MaxAckPending to allow the batch size.
func ManualAck() SubscribeOption { return func(o *subOptions) { o.manual = true } }

// Backoff sets the delay before a failed record is delivered again: it
// doubles per attempt from min up to max, with jitter.
func Backoff(min, max time.Duration) SubscribeOption {
	return func(o *subOptions) { o.backoffMin, o.backoffMax = min, max }
}

// Subscription is a running subscription.
type Subscription struct {
	c       *Client
	dataset string
	opts    subOptions
	h       Handler
	ctx     context.Context
	cancel  context.CancelFunc

	mu       sync.Mutex
	sub      *nats.Subscription
	deliver  string
	consumer string
	pending  uint64

	kick      chan struct{} // re-open now: the client dialled again
	lastSeen  atomic.Int64  // unix nanos of the last message or heartbeat
	lastSeq   atomic.Uint64 // stream sequence of the last record handled
	handled   atomic.Uint64
	failed    atomic.Uint64
	watchDone chan struct{}
}

// Subscribe asks the hub for a subscription to dataset and calls h for each
// record. It returns ErrForbidden when the actor may not subscribe to
// dataset, ErrUnknownDataset, or ErrHubUnreachable.
func (c *Client) Subscribe(ctx context.Context, dataset string, h Handler, opts ...SubscribeOption) (*Subscription, error) {
	if err := checkDataset(dataset); err != nil {
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	o := subOptions{backoffMin: 500 * time.Millisecond, backoffMax: time.Minute}
	for _, opt := range opts {
		opt(&o)
	}
	// The subscription's own context: ctx's values, not its end (ctx
	// bounds this request); Stop cancels it.
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &Subscription{c: c, dataset: dataset, opts: o, h: h, ctx: sctx, cancel: cancel, watchDone: make(chan struct{}), kick: make(chan struct{}, 1)}
	if err := s.open(ctx); err != nil {
		cancel()
		return nil, c.refine(ctx, dataset, err)
	}
	c.track(s)
	go s.watch()
	return s, nil
}

// open asks the hub for the consumer and subscribes to its deliver subject.
func (s *Subscription) open(ctx context.Context) error {
	s.mu.Lock()
	body, _ := json.Marshal(s.opts.req)
	s.mu.Unlock()
	m, err := s.c.request(ctx, wire.ServiceSubject(wire.SubscribePrefix, s.dataset, s.c.actor), body)
	var fe *forbiddenError
	if errors.As(err, &fe) {
		return err // it says what was refused
	}
	if err != nil {
		return fmt.Errorf("subscribe to %s: %w", s.dataset, err)
	}
	var rep wire.SubscribeReply
	if err := json.Unmarshal(m.Data, &rep); err != nil {
		return fmt.Errorf("subscribe to %s: bad answer: %w", s.dataset, err)
	}
	if err := rep.Err(); err != nil {
		return fmt.Errorf("subscribe to %s: %w", s.dataset, fromWire(s.dataset, err.(*wire.Error), nil))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sub != nil && s.deliver == rep.DeliverSubject && s.sub.IsValid() {
		return nil
	}
	if s.sub != nil {
		_ = s.sub.Unsubscribe()
	}
	nc := s.c.Conn()
	sub, err := nc.Subscribe(rep.DeliverSubject, s.onMsg)
	if err != nil {
		return fmt.Errorf("subscribe to %s: %w", rep.DeliverSubject, err)
	}
	_ = sub.SetPendingLimits(-1, 256<<20)
	if old := s.consumer; old != "" && old != rep.Consumer && s.opts.req.Durable == "" {
		// The ephemeral consumer this one replaces delivers to nobody now.
		go s.c.endConsumer(s.ctx, s.dataset, old)
	}
	s.sub, s.deliver, s.consumer = sub, rep.DeliverSubject, rep.Consumer
	if s.pending == 0 {
		s.pending = rep.Pending
	}
	s.lastSeen.Store(time.Now().UnixNano())
	return nc.Flush()
}

func (s *Subscription) onMsg(m *nats.Msg) {
	s.lastSeen.Store(time.Now().UnixNano())
	if len(m.Data) == 0 && m.Header.Get("Status") == "100" {
		if m.Reply != "" {
			_ = m.Respond(nil) // flow control: keep records coming
		}
		return
	}
	meta, err := m.Metadata()
	if err != nil {
		return
	}
	env, err := wire.EnvelopeFromMsg(m.Header, m.Data, meta.Sequence.Stream, meta.Timestamp)
	if err != nil {
		s.c.opts.log.Error("undecodable record", "dataset", s.dataset, "seq", meta.Sequence.Stream, "err", err)
		_ = m.Term()
		return
	}
	d := Delivery{Envelope: env, Attempt: int(meta.NumDelivered), Pending: meta.NumPending, msg: m}
	if err := s.safeHandle(d); err != nil {
		s.failed.Add(1)
		delay := s.backoff(d.Attempt)
		var ra interface{ RetryAfter() time.Duration }
		if errors.As(err, &ra) && ra.RetryAfter() > 0 {
			delay = ra.RetryAfter() // the handler knows better (plugin.BackoffError)
		}
		s.c.opts.log.Warn("record handler failed; will retry", "dataset", s.dataset, "seq", env.Seq, "attempt", d.Attempt, "retry_in", delay, "err", err)
		_ = m.NakWithDelay(delay)
		return
	}
	s.handled.Add(1)
	s.lastSeq.Store(env.Seq)
	if !s.opts.manual {
		_ = m.Ack()
	}
}

// Backoff is the delay before attempt of a failed record is delivered again.
func (s *Subscription) Backoff(attempt int) time.Duration { return s.backoff(attempt) }

func (s *Subscription) safeHandle(d Delivery) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panicked: %v", r)
		}
	}()
	return s.h(s.ctx, d)
}

func (s *Subscription) backoff(attempt int) time.Duration {
	d := s.opts.backoffMin
	for i := 1; i < attempt && d < s.opts.backoffMax; i++ {
		d *= 2
	}
	if d > s.opts.backoffMax {
		d = s.opts.backoffMax
	}
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// watch re-opens the subscription when the hub has gone quiet for three
// heartbeats (the consumer was removed, or rights changed).
func (s *Subscription) watch() {
	defer close(s.watchDone)
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.kick:
		case <-t.C:
			if time.Since(time.Unix(0, s.lastSeen.Load())) < 16*time.Second || !s.c.Conn().IsConnected() {
				continue
			}
		}
		// A durable subscription resumes on the hub; an ephemeral one starts
		// again after the last record handled, neither replaying nor skipping.
		if s.opts.req.Durable == "" {
			if seq := s.lastSeq.Load(); seq > 0 {
				s.mu.Lock()
				s.opts.req.Start, s.opts.req.AfterSeq = wire.StartAfterSeq, seq
				s.mu.Unlock()
			}
		}
		ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
		if err := s.open(ctx); err != nil {
			s.c.opts.log.Warn("re-subscribe", "dataset", s.dataset, "err", err)
		}
		cancel()
	}
}

// reopen has the subscription opened again at once, on the client's new
// connection.
func (s *Subscription) reopen() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Handled counts records acked; Failed counts handler errors.
func (s *Subscription) Handled() uint64 { return s.handled.Load() }

// Failed counts handler errors (each is retried).
func (s *Subscription) Failed() uint64 { return s.failed.Load() }

// InitialPending is how many stored records the subscription had to deliver
// when it started (0: nothing stored yet at its start position).
func (s *Subscription) InitialPending() uint64 { s.mu.Lock(); defer s.mu.Unlock(); return s.pending }

// Consumer names the hub-side consumer.
func (s *Subscription) Consumer() string { s.mu.Lock(); defer s.mu.Unlock(); return s.consumer }

// Stop stops delivery. A durable subscription keeps its place on the hub:
// Subscribe with the same Durable name resumes after the last acked record.
// An ephemeral subscription's consumer is deleted on the hub at once (it
// would otherwise count against the actor's limit of subscriptions until
// the hub removes it after 5 minutes unused).
func (s *Subscription) Stop() error {
	s.cancel()
	<-s.watchDone
	s.c.untrack(s)
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	if s.sub != nil {
		err = s.sub.Drain()
	}
	if s.opts.req.Durable == "" && s.consumer != "" {
		s.c.endConsumer(s.ctx, s.dataset, s.consumer)
		s.consumer = ""
	}
	return err
}

// endConsumer asks the hub to delete an ephemeral consumer of this actor,
// briefly and at most once: when the hub is away, it removes the consumer
// itself after 5 minutes unused. It runs as a subscription stops, so it
// takes ctx's values, not its end.
func (c *Client) endConsumer(ctx context.Context, dataset, consumer string) {
	if !c.Conn().IsConnected() {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	body, _ := json.Marshal(wire.UnsubscribeRequest{Consumer: consumer})
	m, err := c.request(ctx, wire.ServiceSubject(wire.UnsubscribePrefix, dataset, c.actor), body)
	if err != nil {
		c.opts.log.Debug("end subscription", "dataset", dataset, "consumer", consumer, "err", err)
		return
	}
	var rep wire.SubscribeReply
	_ = json.Unmarshal(m.Data, &rep)
	if err := rep.Err(); err != nil && wire.CodeOf(err) != wire.CodeNotFound {
		c.opts.log.Debug("end subscription", "dataset", dataset, "consumer", consumer, "err", err)
	}
}

// Unsubscribe stops delivery and deletes a durable subscription on the hub.
func (s *Subscription) Unsubscribe(ctx context.Context) error {
	if err := s.Stop(); err != nil {
		return err
	}
	if s.opts.req.Durable == "" {
		return nil
	}
	body, _ := json.Marshal(wire.UnsubscribeRequest{Durable: s.opts.req.Durable})
	m, err := s.c.request(ctx, wire.ServiceSubject(wire.UnsubscribePrefix, s.dataset, s.c.actor), body)
	if err != nil {
		return err
	}
	var rep wire.SubscribeReply
	_ = json.Unmarshal(m.Data, &rep)
	if err := rep.Err(); err != nil {
		return fmt.Errorf("unsubscribe %s: %w", s.opts.req.Durable, fromWire(s.dataset, err.(*wire.Error), nil))
	}
	return nil
}
