package access

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/actors"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/delivery"
	"github.com/jobtech-dev/datahub/hub/internal/natsd"
	"github.com/jobtech-dev/datahub/hub/internal/policy"
	"github.com/jobtech-dev/datahub/hub/internal/registry"
)

// PolicyBucket keeps the last applied policy files, so a hub started without
// a policies folder keeps the rules in force.
const PolicyBucket = "hub_policies"

const policyKey = "files"

// Auditor is what the service needs of the audit log (*audit.Writer is
// one): entries stored before a change is answered (Record), entries
// stored in the background without loss (Submit), and refusals counted
// into bounded entries (Refused).
type Auditor interface {
	Record(ctx context.Context, e audit.Entry) (audit.Entry, error)
	Submit(e audit.Entry)
	SubmitOnce(key string, e audit.Entry)
	Refused(r audit.Refusal)
	Flush(ctx context.Context) error
}

// Deps are what the service works with.
type Deps struct {
	Actors   *actors.Store
	Registry *registry.Registry
	Audit    Auditor
	NATS     *natsd.Server
	JS       jetstream.JetStream
	Logger   *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// SubscriptionGrace is how long a subscription whose actor lost the
	// right to it keeps its position (paused) before it is removed; 0
	// removes it at once. Revoking the actor removes it at once always.
	SubscriptionGrace time.Duration
	// Replicas is the policy bucket's number of copies in a cluster
	// (default 1).
	Replicas int
	// Node names this cluster node in how a policy set was applied ("" on
	// a single hub).
	Node string
	// Leader, in a cluster, reports whether this node runs the work that
	// time alone triggers (subscriptions whose grace period ended), so one
	// node does it; nil means this node always does (a single hub).
	Leader func() bool
}

// Service decides and changes who may do what.
type Service struct {
	Deps
	log *slog.Logger
	kv  jetstream.KeyValue
	set atomic.Pointer[policy.Set]

	wake      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	// ctx is the service's own, from New to Close: the watch and the
	// background reconciliations run under it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	applyMu   sync.Mutex             // serialises ApplyFrom
	origin    atomic.Pointer[Origin] // how the set in force was applied
	rev       atomic.Uint64          // the policy bucket revision of the set in force
	watch     jetstream.KeyWatcher   // follows applies made through other nodes
	watchEnd  chan struct{}
	graceMu   sync.Mutex // serialises reconcileSubscriptions
	graceNext time.Time  // earliest end of a running grace period
	graceWake chan struct{}
	graceOnce sync.Once

	layers map[string]map[string][]byte // layer name → its files; guarded by applyMu
}

// New opens the policy bucket and starts auditing grant expiries; call Close.
func New(ctx context.Context, d Deps) (*Service, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	kv, err := d.JS.CreateOrUpdateKeyValue(ctx, PolicyBucketConfig(d.Replicas))
	if err != nil {
		return nil, fmt.Errorf("open policy bucket: %w", err)
	}
	s := &Service{Deps: d, log: d.Logger.With("component", "access"), kv: kv,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	empty, err := policy.LoadFiles(nil)
	if err != nil {
		return nil, fmt.Errorf("empty policy set: %w", err)
	}
	s.set.Store(empty)
	s.graceWake = make(chan struct{}, 1)
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.expiryLoop() }()
	return s, nil
}

// PolicyBucketConfig is the policy bucket with replicas copies.
func PolicyBucketConfig(replicas int) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{Bucket: PolicyBucket, Description: "the sharing policy files last applied", History: 10, Storage: jetstream.FileStorage, Replicas: max(replicas, 1)}
}

// Close stops the background work. The audit writer, which may still hold
// entries, is closed by its owner after this.
func (s *Service) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.cancel()
		s.stopFollowing()
		s.wg.Wait()
	})
}

// Policies is the policy set in force.
func (s *Service) Policies() *policy.Set { return s.set.Load() }

// LoadInitial puts the start-up policies in force: the set last applied,
// then the files of dir when dir is not "" and exists (an unchanged folder
// is not a change and is not audited again). When the folder would replace
// a set applied another way since (through the API or CLI, or from another
// folder), the start says so in a WARN naming the policies dropped and
// added, and audits it ([audit.KindPolicyOverride]); with dir "" the set
// last applied stays, whoever applied it.
//
// It then brings the subscriptions in line with the rules in force (a grace
// period may have ended while the hub was down) and keeps them so as time
// passes, until Close.
func (s *Service) LoadInitial(ctx context.Context, dir string) error {
	if err := s.loadInitial(ctx, dir); err != nil {
		return err
	}
	if s.leader() {
		s.auditSubscriptions(s.reconcileSubscriptions(ctx), ByStart)
	}
	s.startGraceLoop()
	return s.follow()
}

// ApplyResult says what an apply did.
type ApplyResult struct {
	Changed  bool     `json:"changed"`
	Digest   string   `json:"digest"`
	Policies []string `json:"policies"`
	// Recut counts live connections whose rights changed and were cut so
	// they reconnect under the new rules.
	Recut int `json:"recut"`
	// SubscriptionsSuspended counts subscriptions no network can use any
	// more: paused, their position kept for the grace period.
	SubscriptionsSuspended int `json:"subscriptions_suspended"`
	// SubscriptionsResumed counts suspended subscriptions whose right is back.
	SubscriptionsResumed int `json:"subscriptions_resumed"`
	// SubscriptionsRemoved counts subscriptions removed (a grace period of
	// 0, or one that had ended).
	SubscriptionsRemoved int `json:"subscriptions_removed"`
	// Diff says which policies and groups the apply added, removed or changed.
	Diff policy.Diff `json:"diff"`
}

// Apply puts set in force as applied through the admin API by by; see
// ApplyFrom.
func (s *Service) Apply(ctx context.Context, set *policy.Set, by string) (ApplyResult, error) {
	return s.ApplyFrom(ctx, set, Origin{Route: RouteAPI, By: by, Node: s.Node})
}

// ApplyFrom puts set in force: persisted with how it was applied (o; its
// Digest and At are filled in), audited, and live connections whose rights
// change are cut within the call. Subscriptions the actor may no longer use
// from any network are suspended, those whose right is back resumed. The set
// was validated as a whole when it was loaded, so an apply is all or nothing.
func (s *Service) ApplyFrom(ctx context.Context, set *policy.Set, o Origin) (ApplyResult, error) {
	// One apply at a time: the files, their origin and the set in force
	// must describe the same apply.
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	by := o.By
	if o.Node == "" {
		o.Node = s.Node
	}
	res := ApplyResult{Digest: set.Digest(), Policies: set.PolicyIDs()}
	old := s.set.Load().Base()
	res.Diff = policy.DiffSets(old, set)
	if old.Digest() == res.Digest {
		return res, nil
	}
	// The layers (approved access requests) stay in force over the new files.
	effective, err := s.withLayers(set.Base())
	if err != nil {
		return res, err
	}
	b, err := json.Marshal(set.Files())
	if err != nil {
		return res, fmt.Errorf("encode policies: %w", err)
	}
	rev, err := s.kv.Put(ctx, policyKey, b)
	if err != nil {
		return res, fmt.Errorf("persist policies: %w", err)
	}
	s.seen(rev)
	o.Digest, o.At = res.Digest, s.Now().UTC()
	if err := s.writeOrigin(ctx, o); err != nil {
		// The files are in force at the next start whatever happens here;
		// only how they came is then unknown.
		s.log.Warn("policies applied but how could not be recorded", "err", err)
	}
	s.set.Store(effective)
	res.Changed = true
	// The server refuses an actor that lost a right at once: its live
	// connections are cut here and come back without it.
	res.Recut = s.reevaluate()
	// Its subscriptions are paused, keeping their place for the grace
	// period, so a right restored within it resumes after the last acked
	// record instead of delivering the dataset again from the start.
	ch := s.reconcileSubscriptions(ctx)
	res.SubscriptionsSuspended, res.SubscriptionsResumed, res.SubscriptionsRemoved = len(ch.Suspended), len(ch.Resumed), len(ch.Expired)
	s.auditSubscriptions(ch, by)
	s.poke()
	s.pokeGrace()
	s.log.Info("policies applied", "by", by, "route", o.Route, "policies", len(res.Policies), "recut", res.Recut,
		"subscriptions_suspended", res.SubscriptionsSuspended, "subscriptions_resumed", res.SubscriptionsResumed, "subscriptions_removed", res.SubscriptionsRemoved)
	if err := s.recordNow(ctx, audit.Entry{Kind: audit.KindPolicyApply, Actor: by, Subject: res.Digest[:12],
		Detail: mustJSON(map[string]any{"digest": res.Digest, "policies": res.Policies, "previous": old.Digest(), "recut": res.Recut,
			"route": o.Route, "source": o.Source, "added": res.Diff.Added, "removed": res.Diff.Removed, "changed": res.Diff.Changed, "groups_changed": res.Diff.Groups,
			"subscriptions_suspended": res.SubscriptionsSuspended, "subscriptions_resumed": res.SubscriptionsResumed, "subscriptions_removed": res.SubscriptionsRemoved})}); err != nil {
		return res, fmt.Errorf("policies %s applied, but %w", res.Digest[:12], err)
	}
	return res, nil
}

// Authorize implements natsd.Authorizer.
func (s *Service) Authorize(_ context.Context, c natsd.Conn) (natsd.Grant, error) {
	a, ok := s.Actors.ByKey(c.PublicKey)
	if !ok {
		return natsd.Grant{}, errors.New("unknown or revoked actor key")
	}
	set := s.set.Load()
	g := GrantFor(a.Name, set.Rights(a.Name, s.datasets(), s.Now(), c.RemoteIP))
	if !g.Expires.IsZero() && !g.Expires.After(s.Now()) {
		return natsd.Grant{}, errors.New("rights changing now, retry")
	}
	// The grant is recorded in the server's registry of live connections
	// now, not once the server let the client in: a revoke or an apply
	// may have run while this grant was computed. It changed its state
	// before scanning the connections, so checking again after recording
	// this one means one of the two always sees the other.
	s.NATS.Conns().Add(c, g)
	if _, still := s.Actors.ByKey(c.PublicKey); !still || s.set.Load() != set {
		s.NATS.Conns().Remove(c.ID)
		return natsd.Grant{}, errors.New("rights changing now, retry")
	}
	return g, nil
}

func (s *Service) grantFor(actor, ip string) natsd.Grant {
	return GrantFor(actor, s.set.Load().Rights(actor, s.datasets(), s.Now(), ip))
}

// Rights are actor's effective rights from ip now.
func (s *Service) Rights(actor, ip string) policy.Rights {
	return s.set.Load().Rights(actor, s.datasets(), s.Now(), ip)
}

func (s *Service) datasets() []string {
	var out []string
	for _, d := range s.Registry.List() {
		out = append(out, d.Name)
	}
	return out
}

// Refused implements natsd.Authorizer: every refused connection is
// audited, counted into one entry per actor (per source address for keys
// no actor has) and interval.
func (s *Service) Refused(c natsd.Conn, reason string) {
	r := audit.Refusal{Kind: audit.RefusedConnect, RemoteIP: c.RemoteIP, NKey: c.PublicKey, Reason: reason}
	if a, ok := s.Actors.ByKey(c.PublicKey); ok {
		r.Actor = wire.DisplayName(a.Name)
	}
	s.Audit.Refused(r)
}

// Violation audits a publish or subscribe the server refused an actor,
// counted like refused connections.
func (s *Service) Violation(actor string, _ uint64, msg string) {
	s.Audit.Refused(audit.Refusal{Kind: audit.RefusedPermission, Actor: wire.DisplayName(actor), Reason: msg})
}

// reevaluate re-judges every live actor connection under the rules now in
// force and cuts those whose rights changed. It returns how many it cut.
func (s *Service) reevaluate() int {
	return s.NATS.Conns().Cut(func(l natsd.Live) bool {
		return !sameGrant(l.Grant, s.grantFor(l.Grant.Actor, l.Conn.RemoteIP))
	})
}

// CreateActor registers an actor's public key.
func (s *Service) CreateActor(ctx context.Context, name, publicKey, by string) (actors.Actor, error) {
	a, err := s.Actors.Create(ctx, name, publicKey)
	if err != nil {
		return a, err
	}
	if err := s.recordNow(ctx, audit.Entry{Kind: audit.KindActorCreate, Actor: by, Subject: name, Detail: mustJSON(map[string]string{"public_key": publicKey})}); err != nil {
		return a, fmt.Errorf("actor %s created, but %w", name, err)
	}
	return a, nil
}

// RevokeActor removes an actor: its live connections are cut at once, its
// subscriptions deleted, and its key refused from then on. Unlike a lost
// right, a revocation keeps no subscription for a grace period: the
// identity itself is gone (a leaked key, a partner that left), there is no
// one to resume for, and a new actor of the same name must not inherit the
// old one's positions.
func (s *Service) RevokeActor(ctx context.Context, name, by string) (actors.Actor, error) {
	a, err := s.Actors.Revoke(ctx, name)
	if err != nil {
		return a, err
	}
	cut := s.NATS.Kick(name)
	removed, _ := delivery.RemoveActor(ctx, s.JS, s.Registry, name, "")
	if err := s.recordNow(ctx, audit.Entry{Kind: audit.KindActorRevoke, Actor: by, Subject: name,
		Detail: mustJSON(map[string]any{"public_key": a.PublicKey, "connections_cut": cut, "subscriptions_removed": removed})}); err != nil {
		return a, fmt.Errorf("actor %s revoked, but %w", name, err)
	}
	return a, nil
}

// recordNow stores a security-relevant entry before the change it records
// is answered. The error, if any, says the change stands but its entry is
// not stored yet (the writer keeps retrying it).
func (s *Service) recordNow(ctx context.Context, e audit.Entry) error {
	if _, err := s.Audit.Record(ctx, e); err != nil {
		s.log.Error("audit entry not stored before answering", "kind", e.Kind, "actor", e.Actor, "subject", e.Subject, "err", err)
		return fmt.Errorf("its audit entry is not stored yet: %w", err)
	}
	return nil
}

// record stores a security-relevant entry that no caller waits for (an
// expiry): in the background, never dropped.
func (s *Service) record(e audit.Entry) { s.Audit.Submit(e) }

// Flush waits until every audit entry queued so far, and the refusals
// counted so far, are written (for tests and orderly shutdown).
func (s *Service) Flush(ctx context.Context) error { return s.Audit.Flush(ctx) }

func (s *Service) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// expiryLoop audits each grant expiry when it happens. The connections
// themselves are closed by the server at the same moment (their credentials
// expire), so the audit is the only thing the hub has to do.
func (s *Service) expiryLoop() {
	after := s.Now()
	for {
		var next time.Time
		var due []policy.Expiry
		for _, e := range s.set.Load().Expiries(after) {
			if next.IsZero() || e.Until.Before(next) {
				next, due = e.Until, nil
			}
			if e.Until.Equal(next) {
				due = append(due, e)
			}
		}
		var timer <-chan time.Time
		var t *time.Timer
		if !next.IsZero() {
			t = time.NewTimer(time.Until(next))
			timer = t.C
		}
		stop := func() {
			if t != nil {
				t.Stop()
			}
		}
		select {
		case <-s.done:
			stop()
			return
		case <-s.wake:
			stop()
			continue
		case <-timer:
			for _, e := range due {
				// Every node of a cluster sees the grant end; the entry is
				// stored once.
				s.Audit.SubmitOnce(fmt.Sprintf("grant-expired:%s:%d", e.PolicyID, e.Until.UnixNano()),
					audit.Entry{Kind: audit.KindGrantExpired, Actor: "hub", Subject: e.PolicyID,
						Detail: mustJSON(map[string]any{"policy": e.PolicyID, "subjects": e.Subjects, "until": e.Until, "effect": e.Effect})})
				s.log.Info("grant expired", "policy", e.PolicyID, "subjects", e.Subjects)
			}
			after = next
		}
	}
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(`null`)
	}
	return b
}
