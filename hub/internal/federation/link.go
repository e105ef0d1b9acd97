package federation

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nkeys"
	"golang.org/x/time/rate"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/ingest"
)

// Durable is the name of a link's subscriptions on the giving hub: one
// durable consumer per dataset, hub_<name>_federation, which keeps the
// link's place while it is away.
const Durable = "federation"

// minAckWait is the least time the giving hub waits for a record's ack
// before it delivers it again (see link.ackWait).
const minAckWait = 10 * time.Second

// probeEvery is how often a link asks the giving hub again for the
// datasets it does not take now (refused, or not yet subscribed), and
// checks those it takes are still granted.
const probeEvery = 5 * time.Second

// link takes datasets from one peer hub: a connection to it as this hub's
// identity there, one durable subscription per dataset, each record
// handed to this hub's ingest (SubmitFederated) and acked to the peer only
// once its outcome here is durable.
type link struct {
	cfg Link
	svc *Service
	log *slog.Logger
	lim *rate.Limiter

	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	status Status // State, Error, Since, PeerServer
	client *kit.Client
	ds     []*dsLink
}

// dsLink is one dataset taken over a link.
type dsLink struct {
	m   DatasetMap
	sub *kit.Subscription // nil until subscribed

	mu       sync.Mutex
	st       DatasetStatus
	inflight []uint64 // sequences handed to ingest, not yet answered, sorted
	highest  uint64   // the highest sequence handled
	pending  uint64   // the peer's records after the last one delivered
}

// newLink prepares a link; prev is its last status (counters and positions
// carry on from it).
func newLink(svc *Service, cfg Link, prev Status) *link {
	l := &link{cfg: cfg, svc: svc, log: svc.log.With("peer", cfg.Name), done: make(chan struct{}),
		status: Status{State: "connecting", Since: svc.now()}}
	l.lim = rate.NewLimiter(rate.Inf, 1)
	if cfg.Rate > 0 {
		l.lim = rate.NewLimiter(rate.Limit(cfg.Rate), max(1, cfg.Rate/20))
	}
	for _, m := range cfg.Datasets {
		ds := &dsLink{m: m, st: DatasetStatus{Remote: m.Remote, Local: m.Local, State: "waiting"}}
		for _, p := range prev.Datasets {
			if p.Remote == m.Remote {
				ds.st = p
				ds.st.Local, ds.st.State, ds.st.Error = m.Local, "waiting", ""
				ds.highest = p.LastSeq
			}
		}
		l.ds = append(l.ds, ds)
	}
	return l
}

// start runs the link until stop, or until ctx (the service's) ends.
func (l *link) start(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	l.cancel = cancel
	go func() { defer close(l.done); l.run(ctx) }()
}

// stop ends the link and waits for it; drop names the peer's datasets whose
// subscriptions are deleted on the peer (the link no longer takes them),
// within ctx. Records in flight are not acked: the peer delivers them
// again.
func (l *link) stop(ctx context.Context, drop []string) {
	l.cancel()
	<-l.done
	l.mu.Lock()
	c := l.client
	l.client = nil
	l.mu.Unlock()
	if c == nil {
		return
	}
	for _, ds := range l.ds {
		if ds.sub == nil {
			continue
		}
		if slices.Contains(drop, ds.m.Remote) {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if err := ds.sub.Unsubscribe(ctx); err != nil {
				l.log.Warn("subscription on the peer not removed: its admin can (hub peer revoke)", "dataset", ds.m.Remote, "err", err)
			}
			cancel()
		} else {
			_ = ds.sub.Stop()
		}
	}
	_ = c.Close()
}

func (l *link) run(ctx context.Context) {
	wait := 500 * time.Millisecond
	for ctx.Err() == nil {
		c, err := l.dial(ctx)
		if err != nil {
			state := "unreachable"
			if errors.Is(err, kit.ErrUnauthorized) {
				state = "unauthorized"
			}
			l.setState(state, err.Error(), "")
			l.log.Warn("link to peer hub down", "state", state, "err", err, "retry_in", wait)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			wait = min(2*wait, 30*time.Second)
			continue
		}
		wait = 500 * time.Millisecond
		l.mu.Lock()
		l.client = c
		l.mu.Unlock()
		l.serve(ctx, c)
		return
	}
}

// dial connects to the peer as this hub's identity there.
func (l *link) dial(ctx context.Context) (*kit.Client, error) {
	kp, err := nkeys.FromSeed([]byte(l.cfg.Seed))
	if err != nil {
		return nil, fmt.Errorf("credentials of link %s: %w", l.cfg.Name, err)
	}
	pub, _ := kp.PublicKey()
	opts := []kit.Option{kit.WithName("hub " + l.svc.hub + " federation link"), kit.WithLogger(l.log), kit.WithLocalValidation(false)}
	if l.cfg.CA != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(l.cfg.CA)) {
			return nil, fmt.Errorf("%w: the CA of link %s holds no PEM certificate", ErrInvalidLink, l.cfg.Name)
		}
		opts = append(opts, kit.WithTLSConfig(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}))
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return kit.DialKey(dctx, l.cfg.URL, l.cfg.Identity, pub, kp.Sign, opts...)
}

// serve subscribes the datasets and keeps the status until ctx ends.
func (l *link) serve(ctx context.Context, c *kit.Client) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var gen uint64
	lastProbe := time.Time{}
	for {
		st := c.State()
		switch {
		case st.Connected:
			l.setState("connected", "", c.Conn().ConnectedServerName())
		case st.Unauthorized:
			l.setState("unauthorized", errString(st.Err), "")
		default:
			l.setState("unreachable", errString(st.Err), "")
		}
		if !st.Connected {
			// Subscribed again once connected, after the last record
			// taken: the kit would open a subscription again as it was
			// first asked for, and the peer may have lost the link's
			// position meanwhile (its identity revoked and created again).
			l.unsubscribeLocal()
		}
		if st.Connected && (st.Generation != gen || time.Since(lastProbe) >= probeEvery) {
			if st.Generation != gen {
				l.svc.exchangeAnchor(ctx, l, c)
			}
			gen, lastProbe = st.Generation, time.Now()
			for _, ds := range l.ds {
				l.take(ctx, c, ds)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// take subscribes ds when it is not yet, and otherwise asks the peer again
// whether it still grants it (a durable subscription is kept as it is, so
// asking again changes nothing on the peer).
func (l *link) take(ctx context.Context, c *kit.Client, ds *dsLink) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ds.mu.Lock()
	after := ds.st.LastSeq
	ds.mu.Unlock()
	if ds.sub == nil {
		opts := []kit.SubscribeOption{kit.Durable(Durable), kit.ManualAck(), kit.MaxAckPending(l.window()), kit.AckWait(l.ackWait())}
		if after > 0 {
			// Used only when the peer holds no position for the link (a
			// first link, or one whose identity was revoked and created
			// again): resume after the last record taken.
			opts = append(opts, kit.StartAfter(after))
		}
		sub, err := c.Subscribe(ctx, ds.m.Remote, l.handler(ds), opts...)
		if err != nil {
			ds.refused(err)
			return
		}
		ds.sub = sub
		ds.taking()
		l.log.Info("taking dataset from peer hub", "dataset", ds.m.Remote, "local", ds.m.Local, "after", after)
		return
	}
	req := wire.SubscribeRequest{Durable: Durable}
	if after > 0 {
		req.Start, req.AfterSeq = wire.StartAfterSeq, after
	}
	body, _ := json.Marshal(req)
	m, err := c.Conn().RequestWithContext(ctx, wire.ServiceSubject(wire.SubscribePrefix, ds.m.Remote, l.cfg.Identity), body)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return // unknown: keep the state
		}
		ds.refused(fmt.Errorf("%w: %v", kit.ErrForbidden, err))
		return
	}
	var rep wire.SubscribeReply
	if err := json.Unmarshal(m.Data, &rep); err != nil {
		return
	}
	if err := rep.Err(); err != nil {
		ds.refused(err)
		return
	}
	ds.taking()
}

// unsubscribeLocal stops the link's subscriptions here, keeping their
// positions on the peer.
func (l *link) unsubscribeLocal() {
	for _, ds := range l.ds {
		if ds.sub != nil {
			_ = ds.sub.Stop()
			ds.sub = nil
			ds.mu.Lock()
			ds.st.State = "waiting"
			ds.mu.Unlock()
		}
	}
}

// window is how many records may be delivered and not yet acked: enough
// for the rate over a few seconds, never so many that they wait out the
// ack wait behind the rate limit (or behind the least bound of a link
// that yields to local publishers: yieldWindow).
func (l *link) window() int {
	w := 2048
	if l.cfg.Rate > 0 {
		w = min(w, max(64, l.cfg.Rate*5))
	}
	if !l.cfg.NoYield {
		w = min(w, yieldWindow)
	}
	return w
}

// ackWait is how long the giving hub waits for a record's ack before it
// delivers it again. Records in flight when a link is cut (or when its
// subscription is stopped under them) come again only after it, naks
// lost with the connection, so it is short: 10s, or twice the time the
// window takes to pass the rate limit when that is longer.
func (l *link) ackWait() time.Duration {
	w := minAckWait
	if l.cfg.Rate > 0 {
		w = max(w, 2*time.Duration(l.window())*time.Second/time.Duration(l.cfg.Rate))
	}
	return w
}

// handler takes one record of ds from the peer.
func (l *link) handler(ds *dsLink) kit.Handler {
	hub := l.svc.hub
	return func(ctx context.Context, d kit.Delivery) error {
		if err := l.lim.Wait(ctx); err != nil {
			return err // stopping: the peer delivers it again
		}
		if !l.cfg.NoYield {
			if err := l.svc.yield.wait(ctx); err != nil {
				return err
			}
		}
		ds.begin(d.Seq, d.Pending)
		path := d.Path
		if len(path) == 0 {
			path = []string{d.Origin}
		}
		switch {
		case d.Origin == hub || slices.Contains(path, hub):
			ds.finish(d.Seq, d.PublishedAt, func(st *DatasetStatus) { st.Echoes++ })
			return d.Ack()
		case !l.cfg.Forward && len(path) > 1:
			ds.finish(d.Seq, d.PublishedAt, func(st *DatasetStatus) { st.NotForwarded++ })
			return d.Ack()
		}
		err := l.svc.d.Ingest.SubmitFederated(ingest.Federated{
			Dataset: ds.m.Local, Data: d.Data, RecordID: d.RecordID, Publisher: d.Publisher, Origin: d.Origin,
			Path: path, Peer: l.cfg.Name, Redelivered: d.Attempt > 1,
		}, func(rep wire.Reply) {
			var count func(*DatasetStatus)
			switch rep.Status {
			case wire.StatusStored:
				count = func(st *DatasetStatus) { st.Received++ }
			case wire.StatusDuplicate:
				count = func(st *DatasetStatus) { st.Duplicates++ }
			case wire.StatusUnavailable:
				// Not stored here now: the peer delivers it again.
				l.log.Warn("federated record not stored; the peer delivers it again", "dataset", ds.m.Local, "seq", d.Seq, "err", rep.Error)
				_ = d.Nak(time.Second)
				return
			default: // kept in the dead letters with the reason
				count = func(st *DatasetStatus) { st.DeadLettered++ }
			}
			ds.finish(d.Seq, d.PublishedAt, count)
			_ = d.Ack()
		})
		if err != nil {
			ds.abandon(d.Seq)
		}
		return err
	}
}

func (l *link) setState(state, why, server string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.status.State != state {
		l.status.Since = l.svc.now()
		if state == "connected" {
			l.log.Info("link to peer hub up", "server", server)
		}
	}
	l.status.State, l.status.Error = state, why
	if server != "" {
		l.status.PeerServer = server
	}
}

// snapshot is the link's status now.
func (l *link) snapshot() Status {
	l.mu.Lock()
	st := l.status
	l.mu.Unlock()
	st.Node, st.UpdatedAt = l.svc.node, l.svc.now()
	st.Bound = l.bound()
	now := l.svc.now()
	for _, ds := range l.ds {
		st.Datasets = append(st.Datasets, ds.snapshot(now))
	}
	return st
}

// bound is the records a second the link may take now (0: no bound): its
// --rate, or the shared bound while it yields to local publishers.
func (l *link) bound() int {
	b := l.cfg.Rate
	if !l.cfg.NoYield {
		if y := int(l.svc.yield.current()); y > 0 && (b == 0 || y < b) {
			b = y
		}
	}
	return b
}

// conn is the link's connection, nil while it has none.
func (l *link) conn() *kit.Client {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.client
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func (ds *dsLink) refused(err error) {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	ds.st.State, ds.st.Error = "refused", err.Error()
}

func (ds *dsLink) taking() {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	ds.st.State, ds.st.Error = "taking", ""
}

// begin notes that the record at seq was delivered and is being handled.
func (ds *dsLink) begin(seq, pending uint64) {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	ds.st.State, ds.st.Error = "taking", ""
	ds.pending = pending
	if seq > ds.highest {
		ds.highest = seq
	}
	i := sort.Search(len(ds.inflight), func(i int) bool { return ds.inflight[i] >= seq })
	if i < len(ds.inflight) && ds.inflight[i] == seq {
		return // delivered again
	}
	ds.inflight = slices.Insert(ds.inflight, i, seq)
}

// finish notes the outcome of the record at seq (count updates the
// counters) and moves LastSeq up to the highest sequence below which every
// record was handled.
func (ds *dsLink) finish(seq uint64, published time.Time, count func(*DatasetStatus)) {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	count(&ds.st)
	ds.drop(seq)
	floor := ds.highest
	if len(ds.inflight) > 0 {
		floor = ds.inflight[0] - 1
	}
	if floor > ds.st.LastSeq {
		ds.st.LastSeq = floor
		if seq <= floor {
			ds.st.LastPublishedAt = published
		}
	}
}

// abandon forgets the record at seq, not handed to ingest: the peer
// delivers it again.
func (ds *dsLink) abandon(seq uint64) {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	ds.drop(seq)
}

func (ds *dsLink) drop(seq uint64) {
	if i, ok := slices.BinarySearch(ds.inflight, seq); ok {
		ds.inflight = slices.Delete(ds.inflight, i, i+1)
	}
}

func (ds *dsLink) snapshot(now time.Time) DatasetStatus {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	st := ds.st
	st.LagRecords = ds.pending + uint64(len(ds.inflight))
	if st.LagRecords > 0 && !st.LastPublishedAt.IsZero() {
		st.LagSeconds = max(0, now.Sub(st.LastPublishedAt).Seconds())
	} else {
		st.LagSeconds = 0
	}
	return st
}
