package kit

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/internal/publish"
)

// ConnState is what a Client knows about its connection to the hub.
type ConnState struct {
	// Connected is true while the connection is up.
	Connected bool
	// Unauthorized is true when the hub refused this actor's key at the
	// last attempt to connect: the actor was revoked, or the key is not
	// the hub's. The client keeps trying, slowly, in case it is restored.
	Unauthorized bool
	// Err is why the connection is down (nil while Connected).
	Err error
	// Since is when Connected last changed.
	Since time.Time
	// Generation counts the connections made: it grows each time the
	// connection comes (back) up. The hub decides an actor's rights each
	// time it connects, so what a caller learned about its rights holds
	// for one generation.
	Generation uint64
}

// maxRedialWait bounds the pause between two attempts to dial again.
const maxRedialWait = 30 * time.Second

// State reports the connection's state now.
func (c *Client) State() ConnState {
	c.stmu.Lock()
	defer c.stmu.Unlock()
	return c.state
}

// HubMaxRecordBytes is the largest record the hub accepts, learned from the
// hub when the client connected (its NATS max_payload less
// wire.PayloadHeadroom); 0 until the client has connected once. A record
// above it can never be stored, however often it is sent.
func (c *Client) HubMaxRecordBytes() int { return wire.HubMaxRecordBytes(c.maxPayload.Load()) }

// isAuthError reports whether err says the server refused the key.
func isAuthError(err error) bool {
	return errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrAuthRevoked)
}

// upKey names one establishment of a connection: the same up event can be
// reported twice (by Dial and by the handler), but counts once.
type upKey struct {
	nc         *nats.Conn
	reconnects uint64
}

// handlers are the NATS options through which the client follows its
// connection. They come last, so they stay in force; the application's own
// handlers given with WithNATSOptions are called after the client's.
func (c *Client) handlers(user []nats.Option) []nats.Option {
	var u nats.Options
	for _, o := range user {
		_ = o(&u)
	}
	return []nats.Option{
		nats.ErrorHandler(func(nc *nats.Conn, sub *nats.Subscription, err error) {
			c.onAsyncError(nc, sub, err)
			if isAuthError(err) {
				c.attemptFailed(nc, err)
			}
			if u.AsyncErrorCB != nil {
				u.AsyncErrorCB(nc, sub, err)
			}
		}),
		nats.ConnectHandler(func(nc *nats.Conn) {
			c.up(nc)
			if u.ConnectedCB != nil {
				u.ConnectedCB(nc)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			c.up(nc)
			if u.ReconnectedCB != nil {
				u.ReconnectedCB(nc)
			}
		}),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			c.down(nc, err)
			if u.DisconnectedErrCB != nil {
				u.DisconnectedErrCB(nc, err)
			}
		}),
		nats.ReconnectErrHandler(func(nc *nats.Conn, err error) {
			c.attemptFailed(nc, err)
			if u.ReconnectErrCB != nil {
				u.ReconnectErrCB(nc, err)
			}
		}),
		nats.ClosedHandler(func(nc *nats.Conn) {
			c.onClosed(nc)
			if u.ClosedCB != nil {
				u.ClosedCB(nc)
			}
		}),
	}
}

// current reports whether nc is the client's connection now; events of a
// connection already replaced are ignored.
func (c *Client) current(nc *nats.Conn) bool {
	c.cmu.RLock()
	defer c.cmu.RUnlock()
	return c.nc == nc
}

// change applies fn to the state and tells the state handler, in order;
// after Close the handler hears nothing more (closing is not an outage).
func (c *Client) change(fn func(*ConnState) bool) {
	c.hmu.Lock()
	defer c.hmu.Unlock()
	c.stmu.Lock()
	changed := fn(&c.state)
	st := c.state
	c.stmu.Unlock()
	c.cmu.RLock()
	closed := c.closed
	c.cmu.RUnlock()
	if changed && !closed && c.opts.onState != nil {
		c.opts.onState(st)
	}
}

// up records that nc is connected: a new generation of rights.
func (c *Client) up(nc *nats.Conn) {
	if !c.current(nc) || !nc.IsConnected() {
		return
	}
	c.maxPayload.Store(nc.MaxPayload())
	key := upKey{nc, nc.Stats().Reconnects}
	c.change(func(s *ConnState) bool {
		if c.lastUp == key {
			return false
		}
		c.lastUp = key
		s.Generation++
		s.Connected, s.Unauthorized, s.Err, s.Since = true, false, nil, time.Now()
		return true
	})
}

// down records that nc lost its connection; nats.go is reconnecting.
func (c *Client) down(nc *nats.Conn, err error) {
	if !c.current(nc) {
		return
	}
	if err == nil {
		err = errors.New("disconnected")
	}
	c.change(func(s *ConnState) bool {
		if s.Connected {
			s.Since = time.Now()
		}
		s.Connected, s.Err = false, err
		return true
	})
	// Records in flight on the lost connection get no answer if the node
	// that took them is gone (a cluster node that failed): say so now, so
	// the caller sends them again (with their ids: stored once) through the
	// node the client moves to, instead of waiting out its timeout.
	if p := c.publisher(); p != nil {
		p.FailAll(fmt.Errorf("connection to the hub lost before the answer: %v", err))
	}
}

// attemptFailed records a failed attempt to connect.
func (c *Client) attemptFailed(nc *nats.Conn, err error) {
	if nc != nil && !c.current(nc) {
		return
	}
	c.change(func(s *ConnState) bool {
		if s.Connected {
			s.Since = time.Now()
		}
		s.Connected, s.Err, s.Unauthorized = false, err, isAuthError(err)
		return true
	})
}

// onClosed dials again when the connection was closed by anything but
// Close: nats.go gives up for good after the same authorization error twice
// and after some protocol errors (a control line over the server's limit).
func (c *Client) onClosed(nc *nats.Conn) {
	c.cmu.Lock()
	if c.nc != nc {
		c.cmu.Unlock()
		return
	}
	if c.closed {
		c.cmu.Unlock()
		c.change(func(s *ConnState) bool {
			s.Connected, s.Err = false, ErrClosed
			return true
		})
		return
	}
	start := !c.redialing
	c.redialing = true
	c.cmu.Unlock()
	err := nc.LastError()
	if err == nil {
		err = nats.ErrConnectionClosed
	}
	c.opts.log.Warn("hub connection closed; dialling again", "err", err)
	c.attemptFailed(nil, err)
	if start {
		go c.redial()
	}
}

// redial dials until it has a connection again, then swaps it in and
// re-opens the subscriptions.
func (c *Client) redial() {
	wait := c.opts.reconnectMin
	for {
		t := time.NewTimer(wait/2 + rand.N(wait/2+1))
		select {
		case <-c.done:
			t.Stop()
			c.cmu.Lock()
			c.redialing = false
			c.cmu.Unlock()
			return
		case <-t.C:
		}
		wait = min(wait*2, maxRedialWait)
		nc, err := nats.Connect(c.url, append(c.nopts, nats.RetryOnFailedConnect(false))...)
		if err != nil {
			c.opts.log.Debug("dial the hub again", "err", err)
			c.attemptFailed(nil, err)
			continue
		}
		pub, err := publish.New(nc, c.actor, publish.WithWindow(c.opts.window))
		if err != nil {
			nc.Close()
			c.attemptFailed(nil, fmt.Errorf("after dialling again: %w", err))
			continue
		}
		c.cmu.Lock()
		if c.closed {
			c.redialing = false
			c.cmu.Unlock()
			_ = pub.Close()
			nc.Close()
			return
		}
		old := c.pub
		c.nc, c.pub = nc, pub
		c.redialing = false
		subs := make([]*Subscription, 0, len(c.subs))
		for s := range c.subs {
			subs = append(subs, s)
		}
		c.cmu.Unlock()
		_ = old.Close() // its outstanding sends end: their callers retry
		c.opts.log.Info("hub connection dialled again", "hub", c.url)
		c.up(nc)
		for _, s := range subs {
			s.reopen()
		}
		if nc.IsClosed() { // closed before it was swapped in: its event was ignored
			c.onClosed(nc)
		}
		return
	}
}

// track and untrack keep the subscriptions a re-dial must re-open.
func (c *Client) track(s *Subscription) {
	c.cmu.Lock()
	c.subs[s] = struct{}{}
	c.cmu.Unlock()
}

func (c *Client) untrack(s *Subscription) {
	c.cmu.Lock()
	delete(c.subs, s)
	c.cmu.Unlock()
}
