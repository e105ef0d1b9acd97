package ingest

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Why one record at a time per publisher in a cluster.
//
// A single hub publishes to JetStream asynchronously, a window of records
// in flight, in arrival order: its server stores one connection's publishes
// in the order they came, and with no stream leader to change a record
// fails only with the ones after it.
//
// In a cluster that is not so. A stream's leader can change (a node dies,
// a rolling upgrade steps it down) and a route can drop while records are
// in flight: record N sent to the old leader is lost while N+1, sent a
// moment later, reaches the new leader and is stored. The publisher sends N
// again and it lands after N+1: one publisher's records out of the order
// it sent them, for good.
//
// So a cluster node keeps, per publisher and dataset (one ingest subject),
// one record in flight to JetStream: N+1 is published only once N is
// stored. If N fails, the records of that publisher already waiting behind
// it fail too, without being sent, and so do later ones until N itself
// comes again (the kit and the sidecar resend from the first record not
// stored, with the same record id), for at most blockFor. Records of other
// publishers and datasets go on meanwhile. The cost is one JetStream round
// trip per record per publisher and dataset (see the README's cluster
// figures); the gain is that an acknowledged order is never undone.

// blockFor is how long a publisher's later records are refused after one
// of its records was not stored, unless that record comes again.
const blockFor = 10 * time.Second

// errEarlierNotStored refuses a record sent after one of the same publisher
// that was not stored: storing it first would put it out of order.
var errEarlierNotStored = errors.New("an earlier record of this publisher and dataset was not stored; send again from that one")

// chains serialises the JetStream publishes of each ingest subject.
type chains struct {
	publish func(*nats.Msg) (jetstream.PubAckFuture, error)
	now     func() time.Time

	mu sync.Mutex
	m  map[string]*chain
}

// chain is one publisher's records of one dataset on their way to
// JetStream.
type chain struct {
	busy         bool    // a record is in flight
	queue        []*link // waiting behind it, in arrival order
	blocked      string  // the record id that failed: the next one to store
	blockedUntil time.Time
}

// link is one record in a chain.
type link struct {
	msg *nats.Msg
	id  string
	// retried says the publisher chose the record id, so it will send the
	// record again under it; a record whose id the hub made cannot come
	// again, and no later record waits for it.
	retried bool
	fut     *chainedFuture
}

func newChains(publish func(*nats.Msg) (jetstream.PubAckFuture, error)) *chains {
	return &chains{publish: publish, now: time.Now, m: map[string]*chain{}}
}

// send queues msg (record id, chosen by the publisher when retried) on the
// chain key and returns the future of its publish.
func (c *chains) send(key string, msg *nats.Msg, id string, retried bool) jetstream.PubAckFuture {
	l := &link{msg: msg, id: id, retried: retried, fut: newChainedFuture(msg)}
	c.mu.Lock()
	ch := c.m[key]
	if ch == nil {
		ch = &chain{}
		c.m[key] = ch
	}
	if ch.busy {
		ch.queue = append(ch.queue, l)
		c.mu.Unlock()
		return l.fut
	}
	if c.refused(ch, l) {
		c.mu.Unlock()
		l.fut.complete(nil, errEarlierNotStored)
		return l.fut
	}
	ch.busy = true
	c.mu.Unlock()
	c.start(key, ch, l)
	return l.fut
}

// refused reports whether l must wait for an earlier record that failed.
// c.mu is held.
func (c *chains) refused(ch *chain, l *link) bool {
	if ch.blocked == "" {
		return false
	}
	if !c.now().Before(ch.blockedUntil) {
		ch.blocked = ""
		return false
	}
	return l.id != ch.blocked
}

// start publishes l and moves the chain on when JetStream answers.
func (c *chains) start(key string, ch *chain, l *link) {
	fut, err := c.publish(l.msg)
	if err != nil {
		c.finish(key, ch, l, nil, err)
		return
	}
	go func() {
		select {
		case ack := <-fut.Ok():
			c.finish(key, ch, l, ack, nil)
		case err := <-fut.Err():
			c.finish(key, ch, l, nil, err)
		}
	}()
}

// finish records l's outcome and publishes the next record of the chain,
// failing those that must wait for a record that was not stored.
func (c *chains) finish(key string, ch *chain, l *link, ack *jetstream.PubAck, err error) {
	l.fut.complete(ack, err)
	var failed []*link
	c.mu.Lock()
	switch {
	case err != nil && l.retried:
		ch.blocked, ch.blockedUntil = l.id, c.now().Add(blockFor)
	case err == nil && ch.blocked == l.id:
		ch.blocked = ""
	}
	var next *link
	for len(ch.queue) > 0 {
		n := ch.queue[0]
		ch.queue = ch.queue[1:]
		if c.refused(ch, n) {
			failed = append(failed, n)
			continue
		}
		next = n
		break
	}
	if next == nil {
		ch.busy = false
		if ch.blocked == "" {
			delete(c.m, key)
		}
	}
	c.mu.Unlock()
	for _, f := range failed {
		f.fut.complete(nil, errEarlierNotStored)
	}
	if next != nil {
		c.start(key, ch, next)
	}
}

// chainedFuture is the future of a record that may wait in its chain
// before it is published.
type chainedFuture struct {
	msg *nats.Msg
	ok  chan *jetstream.PubAck
	err chan error
}

var _ jetstream.PubAckFuture = (*chainedFuture)(nil)

func newChainedFuture(m *nats.Msg) *chainedFuture {
	return &chainedFuture{msg: m, ok: make(chan *jetstream.PubAck, 1), err: make(chan error, 1)}
}

func (f *chainedFuture) complete(ack *jetstream.PubAck, err error) {
	switch {
	case err != nil:
		f.err <- err
	case ack == nil:
		f.err <- fmt.Errorf("no acknowledgement")
	default:
		f.ok <- ack
	}
}

// Ok is where the acknowledgement arrives.
func (f *chainedFuture) Ok() <-chan *jetstream.PubAck { return f.ok }

// Err is where a failure arrives.
func (f *chainedFuture) Err() <-chan error { return f.err }

// Msg is the record.
func (f *chainedFuture) Msg() *nats.Msg { return f.msg }
