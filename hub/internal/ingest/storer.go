package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// storer publishes records to JetStream asynchronously and hands each
// acknowledgement to a callback. It speaks JetStream's publish protocol over
// core NATS — a message with a reply subject, answered there by the stream
// with a PubAck — instead of the jetstream package's asynchronous publisher,
// which keeps a future and a timer per message and decodes each ack by
// reflection. Here the acks arrive on one subscription, are matched to their
// records by a counter in the reply subject, and are parsed by hand (the
// server writes them from a template).
type storer struct {
	nc      *nats.Conn
	prefix  string // reply subjects: prefix + counter in base 36
	sub     *nats.Subscription
	onAck   func(*job, pubAck)
	slots   chan struct{} // the window of publishes in flight
	timeout uint32        // in ticks of tickEvery

	mu      sync.Mutex
	pending map[uint64]*job
	next    uint64
	closed  bool
	idle    chan struct{} // closed when pending empties, while someone waits
	// calls counts the acks taken from pending whose callback has not
	// returned yet, so drain also waits for those.
	calls sync.WaitGroup

	tick atomic.Uint32
	stop chan struct{}
	done chan struct{}
}

// tickEvery is the storer's clock for ack timeouts.
const tickEvery = time.Second

// pubAck is JetStream's answer to one publish.
type pubAck struct {
	stream    string
	seq       uint64
	duplicate bool
	err       error // not stored
}

// errAckTimeout: JetStream did not answer within the timeout.
var errAckTimeout = errors.New("JetStream did not acknowledge the write in time")

// newStorer starts a storer on nc with window publishes in flight at most;
// a publish not acknowledged within timeout fails.
func newStorer(nc *nats.Conn, window int, timeout time.Duration, onAck func(*job, pubAck)) (*storer, error) {
	st := &storer{nc: nc, onAck: onAck, slots: make(chan struct{}, window), pending: make(map[uint64]*job, window),
		timeout: uint32(max(timeout/tickEvery, 1)) + 1, stop: make(chan struct{}), done: make(chan struct{})}
	st.prefix = nc.NewInbox() + "."
	sub, err := nc.Subscribe(st.prefix+"*", st.onMsg)
	if err != nil {
		return nil, fmt.Errorf("subscribe for JetStream acks: %w", err)
	}
	// Acks are small and bounded by the window.
	_ = sub.SetPendingLimits(-1, -1)
	st.sub = sub
	go st.clock()
	return st, nil
}

// publish sends m (whose Reply it sets) for j, waiting while the window is
// full. On error nothing is in flight for j.
func (st *storer) publish(j *job, m *nats.Msg) error {
	st.slots <- struct{}{}
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		<-st.slots
		return errors.New("ingest stopped")
	}
	st.next++
	id := st.next
	st.pending[id] = j
	j.sent = st.tick.Load()
	st.mu.Unlock()
	var buf [24]byte
	m.Reply = st.prefix + string(strconv.AppendUint(buf[:0], id, 36))
	if err := st.nc.PublishMsg(m); err != nil {
		if st.take(id) != nil {
			<-st.slots
			st.calls.Done()
		}
		return err
	}
	return nil
}

// take removes and returns the job waiting for ack id, nil if none is; the
// caller calls st.calls.Done once it has handled it.
func (st *storer) take(id uint64) *job {
	st.mu.Lock()
	defer st.mu.Unlock()
	j := st.pending[id]
	if j != nil {
		st.calls.Add(1)
		delete(st.pending, id)
		if len(st.pending) == 0 && st.idle != nil {
			close(st.idle)
			st.idle = nil
		}
	}
	return j
}

// onMsg takes one ack.
func (st *storer) onMsg(m *nats.Msg) {
	id, err := strconv.ParseUint(m.Subject[len(st.prefix):], 36, 64)
	if err != nil {
		return
	}
	j := st.take(id)
	if j == nil {
		return // timed out already
	}
	<-st.slots
	defer st.calls.Done()
	st.onAck(j, parsePubAck(m))
}

// clock advances the tick and fails the publishes that have waited longer
// than the timeout.
func (st *storer) clock() {
	defer close(st.done)
	t := time.NewTicker(tickEvery)
	defer t.Stop()
	for {
		select {
		case <-st.stop:
			return
		case <-t.C:
		}
		now := st.tick.Add(1)
		var late []*job
		st.mu.Lock()
		for id, j := range st.pending {
			if now-j.sent >= st.timeout {
				late = append(late, j)
				st.calls.Add(1)
				delete(st.pending, id)
			}
		}
		if len(st.pending) == 0 && st.idle != nil {
			close(st.idle)
			st.idle = nil
		}
		st.mu.Unlock()
		for _, j := range late {
			<-st.slots
			st.onAck(j, pubAck{err: errAckTimeout})
			st.calls.Done()
		}
	}
}

// drain waits until every publish in flight is acknowledged (or timed
// out) and its callback has returned, or ctx ends.
func (st *storer) drain(ctx context.Context) error {
	st.mu.Lock()
	if len(st.pending) > 0 {
		if st.idle == nil {
			st.idle = make(chan struct{})
		}
		idle := st.idle
		st.mu.Unlock()
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	} else {
		st.mu.Unlock()
	}
	called := make(chan struct{})
	go func() { st.calls.Wait(); close(called) }()
	select {
	case <-called:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close stops the storer: later publishes fail; acks still in flight are
// no longer awaited.
func (st *storer) close() {
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return
	}
	st.closed = true
	st.mu.Unlock()
	close(st.stop)
	<-st.done
	_ = st.sub.Unsubscribe()
}

// parsePubAck reads JetStream's answer to a publish. The server writes a
// success from a template, {"stream":"S","seq":N} with "domain" before
// "seq" when the stream has one and ,"duplicate": true after it, which is
// read here without decoding; anything else (an error, another shape) is
// decoded as JSON.
func parsePubAck(m *nats.Msg) pubAck {
	d := m.Data
	if len(d) == 0 {
		if m.Header.Get("Status") == "503" {
			return pubAck{err: nats.ErrNoResponders}
		}
		return pubAck{err: errors.New("empty JetStream answer")}
	}
	const streamTag, seqTag = `{"stream":"`, `,"seq":`
	if bytes.HasPrefix(d, []byte(streamTag)) && !bytes.Contains(d, []byte(`"error"`)) {
		rest := d[len(streamTag):]
		q := bytes.IndexByte(rest, '"')
		s := bytes.Index(d, []byte(seqTag))
		if q > 0 && s > 0 {
			digits := d[s+len(seqTag):]
			n := 0
			for n < len(digits) && digits[n] >= '0' && digits[n] <= '9' {
				n++
			}
			// Only the two endings the server writes from its template are
			// read here; anything else is left to encoding/json.
			tail := digits[n:]
			dup := bytes.Equal(tail, []byte(`,"duplicate": true}`))
			plain := (n == 1 || digits[0] != '0') && (dup || bytes.Equal(tail, []byte(`}`)))
			if seq, err := strconv.ParseUint(string(digits[:n]), 10, 64); plain && err == nil && seq > 0 {
				return pubAck{stream: string(rest[:q]), seq: seq, duplicate: dup}
			}
		}
	}
	var r struct {
		Error *struct {
			Code        int    `json:"code"`
			ErrCode     uint16 `json:"err_code"`
			Description string `json:"description"`
		} `json:"error"`
		Stream    string `json:"stream"`
		Seq       uint64 `json:"seq"`
		Duplicate bool   `json:"duplicate"`
	}
	if err := json.Unmarshal(d, &r); err != nil {
		return pubAck{err: fmt.Errorf("JetStream answer %q: %w", truncate(d, 200), err)}
	}
	if r.Error != nil {
		return pubAck{err: fmt.Errorf("JetStream: %s (code %d, error code %d)", r.Error.Description, r.Error.Code, r.Error.ErrCode)}
	}
	if r.Seq == 0 {
		return pubAck{err: fmt.Errorf("JetStream answer %q has no sequence", truncate(d, 200))}
	}
	return pubAck{stream: r.Stream, seq: r.Seq, duplicate: r.Duplicate}
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
