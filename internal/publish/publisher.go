package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// ErrClosed is returned by calls on a closed Publisher.
var ErrClosed = errors.New("publisher closed")

// Option configures a Publisher.
type Option func(*options) error

type options struct {
	window int
}

// ErrInvalidOption wraps every invalid option.
var ErrInvalidOption = errors.New("invalid publisher option")

// WithWindow bounds the requests in flight (default 1024); Send blocks when
// the window is full.
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
	slots  chan struct{}
	next   atomic.Uint64

	mu      sync.Mutex
	waiting map[string]*Future
	closed  bool
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
	p := &Publisher{nc: nc, actor: actor, slots: make(chan struct{}, o.window), waiting: map[string]*Future{}}
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
	done    chan struct{}
	subject string
	reply   wire.Reply
	err     error
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
	subject := wire.IngestSubject(dataset, p.actor)
	f := &Future{done: make(chan struct{}), subject: subject}
	tok := strconv.FormatUint(p.next.Add(1), 36)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.slots
		return nil, ErrClosed
	}
	p.waiting[tok] = f
	p.mu.Unlock()
	m := &nats.Msg{Subject: subject, Reply: p.prefix + tok, Data: data}
	if id != "" {
		m.Header = nats.Header{wire.RequestRecordID: {id}}
	}
	for _, o := range opts {
		o(m)
	}
	if err := p.nc.PublishMsg(m); err != nil {
		p.finish(tok, wire.Reply{}, fmt.Errorf("publish to %s: %w", m.Subject, err))
		return nil, fmt.Errorf("publish to %s: %w", m.Subject, err)
	}
	return f, nil
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

func (p *Publisher) abandon(f *Future) {
	p.mu.Lock()
	for tok, g := range p.waiting {
		if g == f {
			delete(p.waiting, tok)
			p.mu.Unlock()
			<-p.slots
			return
		}
	}
	p.mu.Unlock()
}

func (p *Publisher) onReply(m *nats.Msg) {
	tok := strings.TrimPrefix(m.Subject, p.prefix)
	var r wire.Reply
	var err error
	if len(m.Data) == 0 && m.Header.Get("Status") == "503" {
		err = fmt.Errorf("no hub is listening for %s: %w", m.Subject, nats.ErrNoResponders)
	} else if e := json.Unmarshal(m.Data, &r); e != nil {
		err = fmt.Errorf("decode ingest reply: %w", e)
	}
	p.finish(tok, r, err)
}

func (p *Publisher) finish(tok string, r wire.Reply, err error) {
	p.mu.Lock()
	f, ok := p.waiting[tok]
	delete(p.waiting, tok)
	p.mu.Unlock()
	if !ok {
		return
	}
	f.reply, f.err = r, err
	close(f.done)
	<-p.slots
}

// FailSubject ends every outstanding future sent to subject with err: the
// caller learned that the server refused that subject (a permission
// violation), so no answer will come.
func (p *Publisher) FailSubject(subject string, err error) {
	p.mu.Lock()
	var toks []string
	for tok, f := range p.waiting {
		if f.subject == subject {
			toks = append(toks, tok)
		}
	}
	p.mu.Unlock()
	for _, tok := range toks {
		p.finish(tok, wire.Reply{}, err)
	}
}

// FailAll ends every outstanding future with err: the connection they were
// sent on is lost, and the node that would have answered may be gone with
// it. A record whose answer is lost this way may have been stored: sending
// it again with its id stores it once.
func (p *Publisher) FailAll(err error) {
	p.mu.Lock()
	toks := make([]string, 0, len(p.waiting))
	for tok := range p.waiting {
		toks = append(toks, tok)
	}
	p.mu.Unlock()
	for _, tok := range toks {
		p.finish(tok, wire.Reply{}, err)
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
	p.waiting = map[string]*Future{}
	p.mu.Unlock()
	for _, f := range w {
		f.err = ErrClosed
		close(f.done)
	}
	return p.sub.Unsubscribe()
}
