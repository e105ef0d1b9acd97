package federation

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/ingest"
	"github.com/jobtech-dev/datahub/hub/internal/registry"
)

// Auditor is what the service needs of the audit log (*audit.Writer is
// one): entries stored before a change is answered, and entries stored in
// the background.
type Auditor interface {
	Record(ctx context.Context, e audit.Entry) (audit.Entry, error)
	Submit(e audit.Entry)
}

// Deps are what the service works with.
type Deps struct {
	// JS holds the federation state; NC answers peers' anchor exchanges
	// (both the hub's own in-process identity).
	JS jetstream.JetStream
	NC *nats.Conn
	// Registry names the local datasets links may take into.
	Registry *registry.Registry
	// Ingest stores what links take (its federated entry), and tells how
	// long local publishers' records wait, which the links yield to
	// (LocalLoad; nil: they never yield).
	Ingest *ingest.Service
	Audit  Auditor
	// Anchors is this hub's audit anchorer: its last anchor is handed to
	// peers (nil: none).
	Anchors *audit.Anchorer
	// Hub is this hub's name (its records' origin); Node names this node
	// of the hub, for the lease of each link.
	Hub, Node string
	// Replicas is the replication of the federation bucket.
	Replicas int
	Logger   *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// leaseTTL is how long a node's hold on a link lasts without renewal: a
// node that died gives its links up to another after this.
const leaseTTL = 10 * time.Second

// statusEvery is how often a running link's status is stored.
const statusEvery = 2 * time.Second

// Service runs this hub's federation: the links it takes datasets over
// (each on exactly one node of the hub, the holder of its lease), and the
// audit anchor exchange with peers that take from it.
type Service struct {
	d   Deps
	st  *state
	log *slog.Logger
	hub string
	// node names this node in leases.
	node string

	// yield bounds what the links take while local publishers are busy.
	yield *yielder

	// ctx is the service's own, from New to Stop: the links, the bound and
	// the anchor exchanges run under it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // the supervisor and the bound's control loop

	mu      sync.Mutex
	running map[string]*link
	wake    chan struct{}
	sub     *nats.Subscription
}

// New opens the federation state; Start runs it. The service's context
// carries ctx's values, not its end: Stop ends it.
func New(ctx context.Context, d Deps) (*Service, error) {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Node == "" {
		d.Node = d.Hub
	}
	st, err := openState(ctx, d.JS, d.Replicas)
	if err != nil {
		return nil, err
	}
	s := &Service{d: d, st: st, log: d.Logger.With("component", "federation"), hub: d.Hub, node: d.Node,
		running: map[string]*link{}, wake: make(chan struct{}, 1)}
	var load func() (uint64, time.Duration)
	if d.Ingest != nil {
		load = d.Ingest.LocalLoad
	}
	s.yield = newYielder(load)
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	return s, nil
}

func (s *Service) now() time.Time { return s.d.Now() }

// Start answers peers' anchor exchanges and starts running the links this
// node holds the lease of.
func (s *Service) Start() error {
	if s.d.NC != nil {
		sub, err := s.d.NC.QueueSubscribe(wire.AnchorPrefix+".*", "hub-federation", s.answerAnchor)
		if err != nil {
			return fmt.Errorf("subscribe %s.*: %w", wire.AnchorPrefix, err)
		}
		s.sub = sub
	}
	s.wg.Add(2)
	go func() { defer s.wg.Done(); s.supervise(s.ctx) }()
	go func() { defer s.wg.Done(); s.yield.run(s.ctx) }()
	return nil
}

// Stop stops every link this node runs (records in flight are delivered
// again by the peers), stores their status and gives their leases up
// within ctx. No goroutine of the service outlives it.
func (s *Service) Stop(ctx context.Context) {
	if s.sub != nil {
		// Anchor exchanges in progress finish (their answers are quick);
		// none starts after.
		_ = s.sub.Drain()
		for s.sub.IsValid() && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
	}
	s.cancel()
	s.wg.Wait()
	s.mu.Lock()
	running := s.running
	s.running = map[string]*link{}
	s.mu.Unlock()
	for name, l := range running {
		l.stop(ctx, nil)
		_ = s.st.putStatus(ctx, name, l.snapshot())
		s.st.dropLease(ctx, name, s.node)
	}
}

func (s *Service) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// supervise keeps the links this node runs in line with the bucket: it
// takes (and renews) the lease of each link, starts those it holds, stops
// those it lost or that were removed, restarts those that changed, and
// stores their status.
func (s *Service) supervise(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var lastStatus time.Time
	for {
		s.reconcile(ctx)
		if time.Since(lastStatus) >= statusEvery {
			lastStatus = time.Now()
			s.storeStatus(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		}
	}
}

func (s *Service) reconcile(ctx context.Context) {
	links, err := s.st.links(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("read federation links", "err", err)
		}
		return
	}
	want := map[string]Link{}
	for _, l := range links {
		held, err := s.st.takeLease(ctx, l.Name, s.node, leaseTTL, s.now())
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("lease of federation link", "peer", l.Name, "err", err)
			}
			continue
		}
		if held {
			want[l.Name] = l
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, r := range s.running {
		cfg, ok := want[name]
		switch {
		case !ok:
			// Removed (give its subscriptions on the peer up), or its
			// lease is another node's now (keep them).
			var drop []string
			if _, exists, _ := s.st.link(ctx, name); !exists {
				drop = remotes(r.cfg.Datasets)
			}
			r.stop(ctx, drop)
			delete(s.running, name)
			s.log.Info("federation link stopped on this node", "peer", name, "removed", drop != nil)
		case !sameLink(cfg, r.cfg):
			var drop []string
			for _, d := range r.cfg.Datasets {
				if !slices.ContainsFunc(cfg.Datasets, func(m DatasetMap) bool { return m.Remote == d.Remote }) {
					drop = append(drop, d.Remote)
				}
			}
			r.stop(ctx, drop)
			prev := r.snapshot()
			_ = s.st.putStatus(ctx, name, prev)
			nl := newLink(s, cfg, prev)
			s.running[name] = nl
			nl.start(ctx)
			s.log.Info("federation link restarted with its new settings", "peer", name)
		}
	}
	for name, cfg := range want {
		if _, ok := s.running[name]; ok {
			continue
		}
		prev, _ := s.st.status(ctx, name)
		l := newLink(s, cfg, prev)
		s.running[name] = l
		l.start(ctx)
		s.log.Info("federation link started on this node", "peer", name, "url", cfg.URL, "datasets", len(cfg.Datasets))
	}
}

func remotes(ms []DatasetMap) []string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.Remote)
	}
	return out
}

func sameLink(a, b Link) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func (s *Service) storeStatus(ctx context.Context) {
	s.mu.Lock()
	running := make(map[string]*link, len(s.running))
	for k, v := range s.running {
		running[k] = v
	}
	s.mu.Unlock()
	for name, l := range running {
		if err := s.st.putStatus(ctx, name, l.snapshot()); err != nil && ctx.Err() == nil {
			s.log.Warn("store federation link status", "peer", name, "err", err)
		}
	}
}

// LinkView is how the API shows a link: its settings (never its
// credentials) and its status.
type LinkView struct {
	Name      string       `json:"name"`
	URL       string       `json:"url"`
	Identity  string       `json:"identity"`
	TLSCA     bool         `json:"tls_ca"`
	Datasets  []DatasetMap `json:"datasets"`
	Forward   bool         `json:"forward"`
	Rate      int          `json:"rate"`
	NoYield   bool         `json:"no_yield,omitempty"`
	CreatedAt time.Time    `json:"created_at"`
	By        string       `json:"by,omitempty"`
	Status    Status       `json:"status"`
}

func (s *Service) view(ctx context.Context, l Link) LinkView {
	v := LinkView{Name: l.Name, URL: l.URL, Identity: wire.DisplayName(l.Identity), TLSCA: l.CA != "", Datasets: l.Datasets,
		Forward: l.Forward, Rate: l.Rate, NoYield: l.NoYield, CreatedAt: l.CreatedAt, By: l.By}
	s.mu.Lock()
	r, ok := s.running[l.Name]
	s.mu.Unlock()
	switch {
	case ok:
		v.Status = r.snapshot()
	default:
		st, found := s.st.status(ctx, l.Name)
		if !found {
			st = Status{State: "starting"}
		} else if st.UpdatedAt.Before(s.now().Add(-leaseTTL)) {
			st.State, st.Error = "stale", "no node has reported this link for "+s.now().Sub(st.UpdatedAt).Round(time.Second).String()
		}
		v.Status = st
	}
	return v
}

// Links lists the links, by name.
func (s *Service) Links(ctx context.Context) ([]LinkView, error) {
	links, err := s.st.links(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]LinkView, 0, len(links))
	for _, l := range links {
		out = append(out, s.view(ctx, l))
	}
	return out, nil
}

// Add stores a link (replacing the one of that name with replace, keeping
// its positions) and audits it; the link runs within a second, on the node
// that takes its lease. Errors wrap ErrInvalidLink (bad settings, or a
// local dataset this hub does not declare) or ErrLinkExists.
func (s *Service) Add(ctx context.Context, l Link, replace bool, by string) (LinkView, error) {
	if err := l.validate(); err != nil {
		return LinkView{}, err
	}
	if l.Name == s.hub {
		return LinkView{}, fmt.Errorf("%w: %q is this hub's own name: a hub does not link to itself (and records from a peer of that name would all be refused as this hub's own)", ErrInvalidLink, l.Name)
	}
	for _, d := range l.Datasets {
		if _, ok := s.d.Registry.Get(d.Local); !ok {
			return LinkView{}, fmt.Errorf("%w: local dataset %q is not declared on this hub (map it with --dataset %s=LOCAL)", ErrInvalidLink, d.Local, d.Remote)
		}
	}
	old, exists, err := s.st.link(ctx, l.Name)
	if err != nil {
		return LinkView{}, err
	}
	l.CreatedAt, l.By = s.now().UTC(), by
	if replace && exists {
		l.CreatedAt = old.CreatedAt
	}
	if err := s.st.putLink(ctx, l, !replace); err != nil {
		return LinkView{}, err
	}
	s.poke()
	entry := audit.Entry{Kind: audit.KindPeerLinkAdd, Actor: by, Subject: l.Name, Detail: mustJSON(map[string]any{
		"url": l.URL, "identity": wire.DisplayName(l.Identity), "datasets": l.Datasets, "forward": l.Forward, "rate": l.Rate, "no_yield": l.NoYield, "tls_ca": l.CA != "", "replaced": replace && exists})}
	if _, err := s.d.Audit.Record(ctx, entry); err != nil {
		return s.view(ctx, l), fmt.Errorf("link to %s added, but its audit entry is not stored yet: %w", l.Name, err)
	}
	s.log.Info("federation link added", "peer", l.Name, "url", l.URL, "datasets", l.Datasets, "by", by, "replaced", replace && exists)
	return s.view(ctx, l), nil
}

// Remove deletes a link: the node running it stops within a second and
// deletes its subscriptions on the peer. Records already taken stay.
func (s *Service) Remove(ctx context.Context, name, by string) (LinkView, error) {
	l, exists, err := s.st.link(ctx, name)
	if err != nil {
		return LinkView{}, err
	}
	if !exists {
		return LinkView{}, fmt.Errorf("link to %s: %w", name, ErrNoLink)
	}
	v := s.view(ctx, l)
	if err := s.st.deleteLink(ctx, name); err != nil {
		return v, err
	}
	s.poke()
	if _, err := s.d.Audit.Record(ctx, audit.Entry{Kind: audit.KindPeerLinkRemove, Actor: by, Subject: name,
		Detail: mustJSON(map[string]any{"url": l.URL, "datasets": l.Datasets, "status": v.Status.Datasets})}); err != nil {
		return v, fmt.Errorf("link to %s removed, but its audit entry is not stored yet: %w", name, err)
	}
	s.log.Info("federation link removed", "peer", name, "by", by)
	return v, nil
}

// Anchor is the last audit anchor peer name handed to this hub (a peer
// taking from it) or answered with (a peer it takes from): proof, kept
// where that peer's admins cannot reach it, of that peer's audit log.
func (s *Service) Anchor(ctx context.Context, name string) (audit.Anchor, error) {
	a, ok := s.st.anchor(ctx, name)
	if !ok {
		return audit.Anchor{}, fmt.Errorf("peer %s: %w", name, ErrNoAnchor)
	}
	return a, nil
}

// Anchors lists the anchors held, by peer name.
func (s *Service) Anchors(ctx context.Context, names []string) map[string]audit.Anchor {
	out := map[string]audit.Anchor{}
	for _, n := range names {
		if a, ok := s.st.anchor(ctx, n); ok {
			out[n] = a
		}
	}
	return out
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(`null`)
	}
	return b
}
