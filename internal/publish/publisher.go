package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// ErrClosed is returned by calls on a closed Publisher.
var ErrClosed = errors.New("publisher closed")

// ErrTooMany is returned by SendBatch for more records than the window or a
// batch request can hold.
var ErrTooMany = errors.New("too many records for one batch request")

// Option configures a Publisher.
type Option func(*options) error

type options struct {
	window int
}

// ErrInvalidOption wraps every invalid option.
var ErrInvalidOption = errors.New("invalid publisher option")

// WithWindow bounds the records in flight (default 1024); Send and
// SendBatch block while the window is full.
func WithWindow(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("%w: window %d < 1", ErrInvalidOption, n)
		}
		o.window = n
		return nil
	}
}

// Publisher sends records for one actor.
type Publisher struct {
	nc     *nats.Conn
	actor  string
	prefix string
	sub    *nats.Subscription
	slots  chan struct{} // one per record in flight
	window int
	multi  sync.Mutex // serialises batches taking many slots, so two cannot each hold part of the window
	next   atomic.Uint64
	// bodies recycles this publisher's batch request bodies (the connection
	// copies what it sends): owned here, not by the package, so publishers
	// of different sizes (a kit, a benchmark) do not share them.
	bodies sync.Pool

	mu       sync.Mutex
	waiting  map[uint64]waiter
	subjects map[string]string // dataset → ingest subject
	closed   bool
}

// waiter is a request waiting for its answer: a Future or a BatchFuture.
type waiter interface {
	// answer ends the wait with the reply m (nil with err) and returns the
	// slots it held.
	answer(m *nats.Msg, err error) int
	subject() string
}

// New returns a publisher that sends as actor over nc. The server decides
// whether nc may use actor's ingest subjects; the hub records actor as the
// publisher of what it stores.
func New(nc *nats.Conn, actor string, opts ...Option) (*Publisher, error) {
	o := options{window: 1024}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	p := &Publisher{nc: nc, actor: actor, slots: make(chan struct{}, o.window), window: o.window, waiting: map[uint64]waiter{}, subjects: map[string]string{}}
	p.prefix = nc.NewInbox() + "."
	sub, err := nc.Subscribe(p.prefix+"*", p.onReply)
	if err != nil {
		return nil, fmt.Errorf("subscribe for ingest replies: %w", err)
	}
	_ = sub.SetPendingLimits(-1, -1)
	p.sub = sub
	return p, nil
}

// Future is the outcome of one sent record.
type Future struct {
	done  chan struct{}
	subj  string
	reply wire.Reply
	err   error
}

// Done is closed when the outcome is known.
func (f *Future) Done() <-chan struct{} { return f.done }

// Result waits for the outcome. A rejected record is a Reply with status
// rejected, not an error; errors mean the outcome is unknown.
func (f *Future) Result(ctx context.Context) (wire.Reply, error) {
	select {
	case <-f.done:
		return f.reply, f.err
	case <-ctx.Done():
		return wire.Reply{}, ctx.Err()
	}
}

func (f *Future) subject() string { return f.subj }

func (f *Future) answer(m *nats.Msg, err error) int {
	if err == nil {
		f.reply, err = decodeReply(m)
	}
	f.err = err
	close(f.done)
	return 1
}

// SendOption tunes one record's request.
type SendOption func(*nats.Msg)

// WithSchemaVersion pins the schema version the hub validates the record
// against (the dataset's latest when not given).
func WithSchemaVersion(n int) SendOption {
	return func(m *nats.Msg) {
		if m.Header == nil {
			m.Header = nats.Header{}
		}
		m.Header.Set(wire.RequestSchemaVersion, strconv.Itoa(n))
	}
}

// Send starts publishing one record to dataset. id may be empty (the hub
// assigns a UUIDv7); giving one makes retries safe. It blocks while the
// window is full.
func (p *Publisher) Send(ctx context.Context, dataset string, data []byte, id string, opts ...SendOption) (*Future, error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	f := &Future{done: make(chan struct{})}
	var h nats.Header
	if id != "" {
		h = nats.Header{wire.RequestRecordID: {id}}
	}
	if len(opts) > 0 {
		m := &nats.Msg{Header: h}
		for _, o := range opts {
			o(m)
		}
		h = m.Header
	}
	if err := p.send(dataset, f, data, h); err != nil {
		return nil, err
	}
	return f, nil
}

// send registers w and publishes its request. On error w holds no slot.
func (p *Publisher) send(dataset string, w waiter, data []byte, h nats.Header) error {
	tok := p.next.Add(1)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.release(w.answer(nil, ErrClosed))
		return ErrClosed
	}
	subject, ok := p.subjects[dataset]
	if !ok {
		subject = wire.IngestSubject(dataset, p.actor)
		p.subjects[dataset] = subject
	}
	switch f := w.(type) {
	case *Future:
		f.subj = subject
	case *BatchFuture:
		f.subj = subject
	}
	p.waiting[tok] = w
	p.mu.Unlock()
	var buf [16]byte
	m := &nats.Msg{Subject: subject, Reply: p.prefix + string(strconv.AppendUint(buf[:0], tok, 36)), Data: data, Header: h}
	if err := p.nc.PublishMsg(m); err != nil {
		err = fmt.Errorf("publish to %s: %w", subject, err)
		p.finish(tok, nil, err)
		return err
	}
	return nil
}

// Publish sends one record and waits for its outcome.
func (p *Publisher) Publish(ctx context.Context, dataset string, data []byte, id string, opts ...SendOption) (wire.Reply, error) {
	f, err := p.Send(ctx, dataset, data, id, opts...)
	if err != nil {
		return wire.Reply{}, err
	}
	r, err := f.Result(ctx)
	if err != nil {
		p.abandon(f)
	}
	return r, err
}

// Abandon gives up waiting for f (e.g. after a timeout), freeing its slot.
func (p *Publisher) Abandon(f *Future) { p.abandon(f) }

func (p *Publisher) abandon(w waiter) {
	p.mu.Lock()
	for tok, g := range p.waiting {
		if g == w {
			delete(p.waiting, tok)
			p.mu.Unlock()
			switch f := w.(type) {
			case *Future:
				p.release(1)
			case *BatchFuture:
				p.release(len(f.replies))
			}
			return
		}
	}
	p.mu.Unlock()
}

func (p *Publisher) release(n int) {
	for range n {
		<-p.slots
	}
}

func (p *Publisher) onReply(m *nats.Msg) {
	tok, err := strconv.ParseUint(m.Subject[len(p.prefix):], 36, 64)
	if err != nil {
		return
	}
	if len(m.Data) == 0 && m.Header.Get("Status") == "503" {
		p.finish(tok, nil, fmt.Errorf("no hub is listening for %s: %w", m.Subject, nats.ErrNoResponders))
		return
	}
	p.finish(tok, m, nil)
}

func (p *Publisher) finish(tok uint64, m *nats.Msg, err error) {
	p.mu.Lock()
	w, ok := p.waiting[tok]
	delete(p.waiting, tok)
	p.mu.Unlock()
	if ok {
		p.release(w.answer(m, err))
	}
}

// FailSubject ends every outstanding future sent to subject with err: the
// caller learned that the server refused that subject (a permission
// violation), so no answer will come.
func (p *Publisher) FailSubject(subject string, err error) {
	p.mu.Lock()
	var toks []uint64
	for tok, w := range p.waiting {
		if w.subject() == subject {
			toks = append(toks, tok)
		}
	}
	p.mu.Unlock()
	for _, tok := range toks {
		p.finish(tok, nil, err)
	}
}

// FailAll ends every outstanding future with err: the connection they were
// sent on is lost, and the node that would have answered may be gone with
// it. A record whose answer is lost this way may have been stored: sending
// it again with its id stores it once.
func (p *Publisher) FailAll(err error) {
	p.mu.Lock()
	toks := make([]uint64, 0, len(p.waiting))
	for tok := range p.waiting {
		toks = append(toks, tok)
	}
	p.mu.Unlock()
	for _, tok := range toks {
		p.finish(tok, nil, err)
	}
}

// Close stops waiting for replies; outstanding futures end with ErrClosed.
func (p *Publisher) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	w := p.waiting
	p.waiting = map[uint64]waiter{}
	p.mu.Unlock()
	for _, f := range w {
		f.answer(nil, ErrClosed)
	}
	return p.sub.Unsubscribe()
}

// decodeReply reads the hub's answer to one record.
func decodeReply(m *nats.Msg) (wire.Reply, error) {
	if r, ok := parseReply(m.Data); ok {
		return r, nil
	}
	var r wire.Reply
	if err := json.Unmarshal(m.Data, &r); err != nil {
		return wire.Reply{}, fmt.Errorf("decode ingest reply: %w", err)
	}
	return r, nil
}
