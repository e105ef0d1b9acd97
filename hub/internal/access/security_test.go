package access_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/delivery"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
	"github.com/jobtech-dev/datahub/hub/internal/node"
	"github.com/jobtech-dev/datahub/hub/internal/policy"
	"github.com/jobtech-dev/datahub/hub/internal/store"
	"github.com/jobtech-dev/datahub/internal/publish"
)

func ctxT(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// actor registers name on n (as an admin would) and returns its key.
func actor(t *testing.T, n *node.Node, name string) nkeys.KeyPair {
	t.Helper()
	kp, _ := nkeys.CreateUser()
	pub, _ := kp.PublicKey()
	if _, err := n.Access().CreateActor(ctxT(t), name, pub, "admin"); err != nil {
		t.Fatal(err)
	}
	return kp
}

// client is a raw NATS connection of an actor that records the server's
// asynchronous errors (permission violations).
type client struct {
	*nats.Conn
	mu   sync.Mutex
	errs []string
}

func (c *client) violations() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.errs, "\n")
}

func dial(t *testing.T, n *node.Node, name string, kp nkeys.KeyPair, opts ...nats.Option) (*client, error) {
	t.Helper()
	c := &client{}
	pub, _ := kp.PublicKey()
	nc, err := nats.Connect(n.NATSURL(), append([]nats.Option{
		nats.Nkey(pub, kp.Sign),
		nats.CustomInboxPrefix(wire.InboxPrefix(name)),
		nats.ReconnectWait(50 * time.Millisecond),
		nats.MaxReconnects(-1),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			c.mu.Lock()
			c.errs = append(c.errs, err.Error())
			c.mu.Unlock()
		}),
	}, opts...)...)
	if err != nil {
		return nil, err
	}
	c.Conn = nc
	t.Cleanup(nc.Close)
	return c, nil
}

func mustDial(t *testing.T, n *node.Node, name string, kp nkeys.KeyPair) *client {
	t.Helper()
	c, err := dial(t, n, name, kp)
	if err != nil {
		t.Fatalf("%s cannot connect: %v", name, err)
	}
	return c
}

func smallAd(t *testing.T) []byte {
	return hubtest.ReadFile(t, filepath.Join(hubtest.SchemasDir(), "jobads", "examples", "valid", "small-ad.json"))
}

func records(t *testing.T, n *node.Node, dataset string) uint64 {
	t.Helper()
	st, err := store.DatasetStats(ctxT(t), n.JetStream(), dataset)
	if err != nil {
		t.Fatal(err)
	}
	return st.Records
}

// eventually polls cond for up to d.
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cond()
}

// subscription asks the hub for a subscription over raw NATS and collects
// what arrives on the deliver subject, acking records and answering flow
// control as any NATS client would.
type subscription struct {
	mu   sync.Mutex
	got  []wire.Envelope
	sub  *nats.Subscription
	from string
}

func (s *subscription) count() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.got) }

func subscribe(t *testing.T, c *client, actor, dataset string, req wire.SubscribeRequest) (*subscription, error) {
	t.Helper()
	b, _ := json.Marshal(req)
	m, err := c.Request(wire.ServiceSubject(wire.SubscribePrefix, dataset, actor), b, 2*time.Second)
	if err != nil {
		return nil, err
	}
	var rep wire.SubscribeReply
	if err := json.Unmarshal(m.Data, &rep); err != nil || rep.Error != "" {
		return nil, fmt.Errorf("subscribe: %s %v", rep.Error, err)
	}
	s := &subscription{from: rep.DeliverSubject}
	s.sub, err = c.Subscribe(rep.DeliverSubject, func(m *nats.Msg) {
		if len(m.Data) == 0 && m.Header.Get("Status") == "100" {
			if m.Reply != "" {
				_ = m.Respond(nil) // flow control
			}
			return
		}
		meta, err := m.Metadata()
		if err != nil {
			return
		}
		e, err := wire.EnvelopeFromMsg(m.Header, m.Data, meta.Sequence.Stream, meta.Timestamp)
		if err != nil {
			return
		}
		s.mu.Lock()
		s.got = append(s.got, e)
		s.mu.Unlock()
		_ = m.Ack()
	})
	if err != nil {
		return nil, err
	}
	return s, c.Flush()
}

func publisher(t *testing.T, c *client, actor string) *publish.Publisher {
	p, err := publish.New(c.Conn, actor)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func auditKinds(t *testing.T, n *node.Node) map[string]int {
	t.Helper()
	_ = n.Access().Flush(ctxT(t))
	kinds := map[string]int{}
	_ = n.Audit().Tail(ctxT(t), 0, false, func(e audit.Entry) error { kinds[e.Kind]++; return nil })
	return kinds
}

// deniedCount sums the counts of the access.denied entries.
func deniedCount(t *testing.T, n *node.Node) int {
	t.Helper()
	_ = n.Access().Flush(ctxT(t))
	total := 0
	_ = n.Audit().Tail(ctxT(t), 0, false, func(e audit.Entry) error {
		if e.Kind == audit.KindAccessDenied {
			var d struct{ Count int }
			_ = json.Unmarshal(e.Detail, &d)
			total += d.Count
		}
		return nil
	})
	return total
}

func TestPublishOnlyWhatPoliciesAllow(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	board := mustDial(t, n, "jobbland", actor(t, n, "jobbland"))
	p := publisher(t, board, "jobbland")
	r, err := p.Publish(ctxT(t), "jobads", smallAd(t), "")
	if err != nil || r.Status != wire.StatusStored {
		t.Fatalf("job board publishing a job ad: %+v %v", r, err)
	}
	// The taxonomy is the public employment service's: refused by the server.
	concept := []byte(`{"id":"vrDq_rUY_7PX","label":"Ospecificerad","legacyAmsTaxonomyId":"90","type":"region"}`)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	_, err = p.Publish(ctx, "taxonomy-concepts", concept, "")
	cancel()
	if err == nil {
		t.Fatal("job board published to the taxonomy")
	}
	// Impersonating the public employment service on its ingest subject.
	_ = board.Publish(wire.IngestSubject("jobads", "arbetsformedlingen"), smallAd(t))
	_ = board.Flush()
	if !eventually(2*time.Second, func() bool {
		v := board.violations()
		return strings.Contains(v, "ingest.taxonomy-concepts.jobbland") && strings.Contains(v, "ingest.jobads.arbetsformedlingen")
	}) {
		t.Fatalf("violations not reported: %s", board.violations())
	}
	if records(t, n, "taxonomy-concepts") != 0 || records(t, n, "jobads") != 1 {
		t.Fatal("a refused publish landed")
	}
	// Forged publisher header: the hub stamps the authenticated actor.
	m := nats.NewMsg(wire.IngestSubject("jobads", "jobbland"))
	m.Data = smallAd(t)
	m.Header.Set(wire.HeaderPublisher, "arbetsformedlingen")
	resp, err := board.RequestMsg(m, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var rep wire.Reply
	_ = json.Unmarshal(resp.Data, &rep)
	var pubs []string
	_ = store.Read(ctxT(t), n.JetStream(), "jobads", store.Position{}, store.ReadOptions{}, func(e wire.Envelope) error {
		pubs = append(pubs, e.Publisher)
		return nil
	})
	if strings.Join(pubs, ",") != "jobbland,jobbland" {
		t.Fatalf("publishers %v: forged or wrong", pubs)
	}
	if auditKinds(t, n)[audit.KindAccessDenied] == 0 {
		t.Fatal("refused publishes were not audited")
	}
}

func TestRawClientAttacksRefused(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	afKey := actor(t, n, "arbetsformedlingen")
	af := mustDial(t, n, "arbetsformedlingen", afKey)
	if r, err := publisher(t, af, "arbetsformedlingen").Publish(ctxT(t), "jobads", smallAd(t), ""); err != nil || !r.OK() {
		t.Fatalf("seed: %+v %v", r, err)
	}
	// A matching service may read job ads, nothing else: it attacks.
	evil := mustDial(t, n, "matchwise", actor(t, n, "matchwise"))
	got := make(chan *nats.Msg, 100)
	for _, subj := range []string{">", "data.>", "data.jobads.>", "deadletter.>", "audit.>", "ingest.>", "$JS.>", "$JS.API.>",
		"$SYS.>", "$KV.>", "_INBOX.>", "_INBOX_arbetsformedlingen.>", "deliver.arbetsformedlingen.>", "deliver.>", "hub.>"} {
		if _, err := evil.ChanSubscribe(subj, got); err != nil {
			t.Fatal(err)
		}
	}
	_ = evil.Flush()
	for _, subj := range []string{"data.jobads.22884504", "deadletter.jobads", "audit.entries", "ingest.jobads.matchwise",
		"$JS.API.STREAM.LIST", "$JS.API.STREAM.NAMES", "$JS.API.STREAM.INFO.DS_jobads", "$JS.API.CONSUMER.CREATE.DS_jobads",
		"$JS.API.CONSUMER.DURABLE.CREATE.DS_jobads.x", "$JS.API.DIRECT.GET.DS_jobads", "$JS.API.STREAM.MSG.GET.DS_jobads",
		"$JS.API.STREAM.PURGE.DS_jobads", "$JS.API.STREAM.DELETE.DS_jobads", "$KV.hub_actors.evil", "$SYS.REQ.SERVER.PING"} {
		body := []byte(`{"seq":1,"last_by_subj":"data.jobads.22884504"}`)
		if strings.HasPrefix(subj, "data.") || strings.HasPrefix(subj, "ingest.") {
			body = smallAd(t)
		}
		if m, err := evil.Request(subj, body, 300*time.Millisecond); err == nil {
			t.Errorf("request to %s answered: %s", subj, m.Data)
		}
	}
	// The publisher keeps publishing: nothing of it may reach the attacker.
	if r, err := publisher(t, af, "arbetsformedlingen").Publish(ctxT(t), "jobads", smallAd(t), ""); err != nil || !r.OK() {
		t.Fatalf("publish during attack: %+v %v", r, err)
	}
	select {
	case m := <-got:
		t.Fatalf("attacker received %s: %q", m.Subject, m.Data)
	case <-time.After(500 * time.Millisecond):
	}
	v := evil.violations()
	for _, want := range []string{`Subscription to ">"`, `Subscription to "$JS.API.>"`, `Subscription to "_INBOX_arbetsformedlingen.>"`, `Publish to "$JS.API.STREAM.LIST"`, `Publish to "data.jobads.22884504"`} {
		if !strings.Contains(v, want) {
			t.Errorf("no violation for %s in:\n%s", want, v)
		}
	}
	if records(t, n, "jobads") != 2 {
		t.Fatalf("jobads has %d records: an attack landed", records(t, n, "jobads"))
	}
	info, err := n.JetStream().Stream(ctxT(t), wire.StreamName("jobads"))
	if err != nil {
		t.Fatal(err)
	}
	if c := info.CachedInfo().State.Consumers; c != 0 {
		t.Fatalf("%d consumers exist: an attacker created one", c)
	}
}

func TestConnectionsRefused(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	known := actor(t, n, "jobfinder")
	stranger, _ := nkeys.CreateUser()
	knownPub, _ := known.PublicKey()
	strangerPub, _ := stranger.PublicKey()
	for name, opts := range map[string][]nats.Option{
		"no credentials":  nil,
		"password":        {nats.UserInfo("jobfinder", "secret")},
		"unknown key":     {nats.Nkey(strangerPub, stranger.Sign)},
		"wrong signature": {nats.Nkey(knownPub, stranger.Sign)},
	} {
		if nc, err := nats.Connect(n.NATSURL(), append(opts, nats.NoReconnect())...); err == nil {
			nc.Close()
			t.Errorf("%s: connected", name)
		}
	}
	c := mustDial(t, n, "jobfinder", known)
	closed := make(chan struct{})
	c.SetClosedHandler(func(*nats.Conn) { close(closed) })
	c.SetReconnectHandler(func(*nats.Conn) { t.Error("revoked actor reconnected") })
	if _, err := n.Access().RevokeActor(ctxT(t), "jobfinder", "admin"); err != nil {
		t.Fatal(err)
	}
	if !eventually(time.Second, func() bool { return !c.IsConnected() }) {
		t.Fatal("revoked actor still connected after a second")
	}
	c.Close()
	if nc, err := nats.Connect(n.NATSURL(), nats.Nkey(knownPub, known.Sign), nats.NoReconnect()); err == nil {
		nc.Close()
		t.Fatal("revoked actor connected again")
	}
	k := auditKinds(t, n)
	if k[audit.KindAccessDenied] < 2 || k[audit.KindActorRevoke] != 1 || k[audit.KindActorCreate] != 1 {
		t.Fatalf("audit kinds %v", k)
	}
	// Refusals are counted into one entry per actor (the known key with a
	// wrong signature) or per address (unknown keys, the revoked one): all
	// five attempts are in the counts (and the revoked client's own
	// reconnect attempts, if it made some before it was closed).
	if got := deniedCount(t, n); got < 5 {
		t.Fatalf("refused connections counted in the audit log: %d, want at least 5", got)
	}
}

func TestReadOnlyWhatPoliciesAllow(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	af := mustDial(t, n, "arbetsformedlingen", actor(t, n, "arbetsformedlingen"))
	p := publisher(t, af, "arbetsformedlingen")
	if r, err := p.Publish(ctxT(t), "jobads", smallAd(t), ""); err != nil || !r.OK() {
		t.Fatal(r, err)
	}
	concept := []byte(`{"id":"vrDq_rUY_7PX","label":"Ospecificerad","legacyAmsTaxonomyId":"90","type":"region"}`)
	if r, err := p.Publish(ctxT(t), "taxonomy-concepts", concept, ""); err != nil || !r.OK() {
		t.Fatal(r, err)
	}
	school := mustDial(t, n, "yrkeshogskolan", actor(t, n, "yrkeshogskolan"))
	if _, err := subscribe(t, school, "yrkeshogskolan", "jobads", wire.SubscribeRequest{}); err == nil {
		t.Fatal("education provider got a job-ad subscription (explicit deny)")
	}
	s, err := subscribe(t, school, "yrkeshogskolan", "taxonomy-concepts", wire.SubscribeRequest{Durable: "main"})
	if err != nil {
		t.Fatalf("taxonomy subscription: %v", err)
	}
	if !eventually(3*time.Second, func() bool { return s.count() == 1 }) {
		t.Fatalf("got %d taxonomy records, want 1", s.count())
	}
	if s.got[0].Publisher != "arbetsformedlingen" || s.got[0].Key != "vrDq_rUY_7PX" {
		t.Fatalf("record %+v", s.got[0])
	}
	// Its acks reach JetStream: the consumer has nothing pending.
	cons, err := n.JetStream().PushConsumer(ctxT(t), wire.StreamName("taxonomy-concepts"), "yrkeshogskolan_main")
	if err != nil {
		t.Fatal(err)
	}
	if !eventually(3*time.Second, func() bool {
		info, err := cons.Info(ctxT(t))
		return err == nil && info.AckFloor.Stream == 1 && info.NumAckPending == 0
	}) {
		t.Fatal("acks did not advance the consumer")
	}
	// Another actor's deliveries are out of reach.
	if _, err := school.SubscribeSync("deliver.matchwise.>"); err == nil {
		_ = school.Flush()
		if !eventually(time.Second, func() bool { return strings.Contains(school.violations(), "deliver.matchwise.>") }) {
			t.Fatal("subscribing to another actor's deliveries was not refused")
		}
	}
}

// applyWithout applies the repository policies minus the named policy.
func applyWithout(t *testing.T, n *node.Node, drop string) {
	t.Helper()
	files := map[string][]byte{}
	entries, _ := os.ReadDir(filepath.Join(hubtest.RepoRoot(), "policies"))
	for _, e := range entries {
		b := hubtest.ReadFile(t, filepath.Join(hubtest.RepoRoot(), "policies", e.Name()))
		if strings.HasSuffix(e.Name(), ".json") {
			var ps []map[string]any
			if err := json.Unmarshal(b, &ps); err != nil {
				var one map[string]any
				if json.Unmarshal(b, &one) != nil {
					t.Fatalf("%s: %v", e.Name(), err)
				}
				ps = []map[string]any{one}
			}
			kept := ps[:0]
			for _, p := range ps {
				if p["id"] != drop {
					kept = append(kept, p)
				}
			}
			b, _ = json.Marshal(kept)
		}
		files[e.Name()] = b
	}
	set, err := policy.LoadFiles(files)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Access().Apply(ctxT(t), set, "admin"); err != nil {
		t.Fatal(err)
	}
}

func TestPolicyChangeReachesLiveSubscription(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	af := mustDial(t, n, "arbetsformedlingen", actor(t, n, "arbetsformedlingen"))
	p := publisher(t, af, "arbetsformedlingen")
	match := mustDial(t, n, "matchwise", actor(t, n, "matchwise"))
	s, err := subscribe(t, match, "matchwise", "jobads", wire.SubscribeRequest{Durable: "ads"})
	if err != nil {
		t.Fatal(err)
	}
	publishN := func(k int) {
		for i := 0; i < k; i++ {
			if r, err := p.Publish(ctxT(t), "jobads", smallAd(t), ""); err != nil || !r.OK() {
				t.Fatal(r, err)
			}
		}
	}
	publishN(3)
	if !eventually(3*time.Second, func() bool { return s.count() == 3 }) {
		t.Fatalf("live subscription got %d of 3", s.count())
	}
	// The matching service loses job ads while subscribed.
	start := time.Now()
	applyWithout(t, n, "matchwise-subscribes-jobads-and-taxonomy")
	publishN(3)
	time.Sleep(time.Second)
	if s.count() != 3 {
		t.Fatalf("revoked subscription delivered %d more records", s.count()-3)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("apply took too long")
	}
	if _, err := subscribe(t, match, "matchwise", "jobads", wire.SubscribeRequest{Durable: "ads2"}); err == nil {
		t.Fatal("new job-ad subscription allowed after revoke")
	}
	// The consumer stays, paused, keeping its place for the grace period.
	if c, err := n.JetStream().PushConsumer(ctxT(t), wire.StreamName("jobads"), "matchwise_ads"); err != nil || !c.CachedInfo().Paused {
		t.Fatalf("the subscription that lost its right is not kept paused: %v", err)
	}
	// The right comes back: usable on the live connection within a second.
	applyWithout(t, n, "none")
	var s2 *subscription
	if !eventually(time.Second, func() bool {
		s2, err = subscribe(t, match, "matchwise", "jobads", wire.SubscribeRequest{Durable: "ads"})
		return err == nil
	}) {
		t.Fatalf("restored right not usable within a second: %v", err)
	}
	// The subscription resumes after the last acked record: the 3 records
	// published meanwhile arrive (on the old subscription, re-established
	// by the client's reconnect, or the new one), the first 3 not again.
	seqs := func() map[uint64]int {
		m := map[uint64]int{}
		for _, x := range []*subscription{s, s2} {
			x.mu.Lock()
			for _, e := range x.got {
				m[e.Seq]++
			}
			x.mu.Unlock()
		}
		return m
	}
	if !eventually(3*time.Second, func() bool { m := seqs(); return len(m) == 6 && m[4] > 0 && m[5] > 0 && m[6] > 0 }) {
		t.Fatalf("received sequences %v, want 1-6: the 3 missed ones after the right came back", seqs())
	}
	if m := seqs(); m[1] != 1 || m[2] != 1 || m[3] != 1 {
		t.Fatalf("records acked before the right was lost were delivered again: %v", m)
	}
}

func TestExpiringGrantStopsDelivery(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	until := time.Now().Add(2500 * time.Millisecond).UTC().Truncate(time.Second).Add(time.Second)
	files := map[string][]byte{
		"research.json": []byte(fmt.Sprintf(`[{"id":"ifau-short","description":"a short study","subjects":["actor:ifau"],"resources":["dataset:jobads"],
			"actions":["subscribe"],"effect":"allow","conditions":{"time":{"type":"TimeWindowCondition","options":{"until":%q}}}},
			{"id":"af-publishes","description":"x","subjects":["actor:arbetsformedlingen"],"resources":["dataset:jobads"],"actions":["publish"],"effect":"allow"}]`,
			until.Format(time.RFC3339))),
	}
	set, err := policy.LoadFiles(files)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Access().Apply(ctxT(t), set, "admin"); err != nil {
		t.Fatal(err)
	}
	af := mustDial(t, n, "arbetsformedlingen", actor(t, n, "arbetsformedlingen"))
	p := publisher(t, af, "arbetsformedlingen")
	ifau := mustDial(t, n, "ifau", actor(t, n, "ifau"))
	s, err := subscribe(t, ifau, "ifau", "jobads", wire.SubscribeRequest{Durable: "study"})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := p.Publish(ctxT(t), "jobads", smallAd(t), ""); err != nil || !r.OK() {
		t.Fatal(r, err)
	}
	if !eventually(2*time.Second, func() bool { return s.count() == 1 }) {
		t.Fatal("grant in force but nothing delivered")
	}
	time.Sleep(time.Until(until) + 1500*time.Millisecond)
	if r, err := p.Publish(ctxT(t), "jobads", smallAd(t), ""); err != nil || !r.OK() {
		t.Fatal(r, err)
	}
	time.Sleep(time.Second)
	if s.count() != 1 {
		t.Fatalf("delivery went on after the grant expired: %d records", s.count())
	}
	if !eventually(3*time.Second, func() bool { return auditKinds(t, n)[audit.KindGrantExpired] == 1 }) {
		t.Fatalf("grant expiry not audited: %v", auditKinds(t, n))
	}
	// The grant's end suspends the subscription as an apply would: paused,
	// its place kept for the grace period.
	if !eventually(3*time.Second, func() bool { i := consumerInfo(t, n, "ifau", "study"); return i != nil && i.Paused }) {
		t.Fatal("subscription not suspended when its grant expired")
	}
	var sus []delivery.Subscription
	eventually(2*time.Second, func() bool { sus = subscriptionEntries(t, n, audit.KindSubscriptionSuspended); return len(sus) > 0 })
	if len(sus) != 1 || sus[0].Actor != "ifau" || sus[0].AckFloor != 1 {
		t.Fatalf("suspension at the grant's end audited as %+v", sus)
	}
}

func TestSourceNetworkCondition(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	apply := func(cidr string) {
		set, err := policy.LoadFiles(map[string][]byte{"net.json": []byte(`{"id":"board-from-office","description":"only from the office network",
			"subjects":["actor:jobbland"],"resources":["dataset:jobads"],"actions":["publish"],"effect":"allow",
			"conditions":{"remote_ip":{"type":"CIDRCondition","options":{"cidr":"` + cidr + `"}}}}`)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := n.Access().Apply(ctxT(t), set, "admin"); err != nil {
			t.Fatal(err)
		}
	}
	kp := actor(t, n, "jobbland")
	apply("10.0.0.0/8")
	c := mustDial(t, n, "jobbland", kp)
	p := publisher(t, c, "jobbland")
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	if _, err := p.Publish(ctx, "jobads", smallAd(t), ""); err == nil {
		t.Fatal("published from outside the allowed network")
	}
	cancel()
	apply("127.0.0.0/8")
	var r wire.Reply
	if !eventually(2*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		var err error
		r, err = p.Publish(ctx, "jobads", smallAd(t), "")
		return err == nil && r.OK()
	}) {
		t.Fatalf("publishing from the allowed network refused: %+v", r)
	}
}

func TestAuditChainVerifies(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	actor(t, n, "jobfinder")
	applyWithout(t, n, "ifau-subscribes-jobads-2026")
	_ = n.Access().Flush(ctxT(t))
	rep, err := n.Audit().Verify(ctxT(t))
	if err != nil || !rep.OK || rep.Entries < 3 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}

func TestRestartDoesNotReapplyUnchangedPolicies(t *testing.T) {
	t.Parallel()
	cfg := hubtest.Config(t.TempDir())
	n := hubtest.Start(t, cfg)
	hubtest.Stop(t, n)
	n = hubtest.Start(t, cfg)
	if k := auditKinds(t, n); k[audit.KindPolicyApply] != 1 {
		t.Fatalf("policy.apply entries after a restart with unchanged policies: %d, want 1", k[audit.KindPolicyApply])
	}
	// Without the folder, the set last applied stays in force.
	cfg.Policies = filepath.Join(t.TempDir(), "none")
	hubtest.Stop(t, n)
	n = hubtest.Start(t, cfg)
	if d := n.Access().Policies().Decide(policy.Request{Actor: "jobbland", Action: "publish", Dataset: "jobads", Time: time.Now()}); !d.Allowed {
		t.Fatalf("policies lost across a restart without the folder: %+v", d)
	}
}

func TestHubAnswersOnlyOnTheAskersInbox(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	victimKey := actor(t, n, "jobfinder")
	board := mustDial(t, n, "jobbland", actor(t, n, "jobbland"))
	evil := mustDial(t, n, "nobody", actor(t, n, "nobody"))
	// Requests whose reply subject points into the hub's own families.
	for _, m := range []*nats.Msg{
		{Subject: wire.CatalogSubject("nobody"), Reply: "data.jobads.pwned"},
		{Subject: wire.ServiceSubject(wire.SchemaPrefix, "jobads", "nobody"), Reply: "$KV.hub_actors.jobfinder"},
		{Subject: wire.ServiceSubject(wire.SchemaPrefix, "jobads", "nobody"), Reply: "hub.subscribe.jobads.jobfinder"},
		{Subject: wire.ServiceSubject(wire.SchemaPrefix, "jobads", "nobody"), Reply: "$JS.API.STREAM.PURGE.DS_jobads"},
	} {
		if err := evil.PublishMsg(m); err != nil {
			t.Fatal(err)
		}
	}
	ad := smallAd(t)
	if err := board.PublishMsg(&nats.Msg{Subject: wire.IngestSubject("jobads", "jobbland"), Reply: "data.jobads.23187561", Data: ad}); err != nil {
		t.Fatal(err)
	}
	_ = evil.Flush()
	_ = board.Flush()
	time.Sleep(500 * time.Millisecond)
	var subjects []string
	_ = store.Read(ctxT(t), n.JetStream(), "jobads", store.Position{}, store.ReadOptions{}, func(e wire.Envelope) error {
		subjects = append(subjects, e.Key+"/"+e.Publisher)
		return nil
	})
	if strings.Join(subjects, ",") != "23187561/jobbland" {
		t.Fatalf("jobads holds %v: the hub answered onto a stream subject", subjects)
	}
	victimPub, _ := victimKey.PublicKey()
	if a, ok := n.Access().Actors.ByKey(victimPub); !ok || a.Name != "jobfinder" {
		t.Fatal("actor registry changed")
	}
	kv, err := n.JetStream().KeyValue(ctxT(t), "hub_actors")
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(ctxT(t), "jobfinder")
	if err != nil || !strings.Contains(string(e.Value()), victimPub) {
		t.Fatalf("actor entry overwritten: %s %v", e.Value(), err)
	}
	st, _ := n.JetStream().Stream(ctxT(t), wire.StreamName("jobads"))
	for info := range st.ListConsumers(ctxT(t)).Info() {
		if info.Config.Metadata["hub.actor"] != "" {
			t.Fatalf("consumer %s created for %s by someone else", info.Name, info.Config.Metadata["hub.actor"])
		}
	}
}

func TestOverlongKeyRejectedAndHubKeepsWorking(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	board := mustDial(t, n, "jobbland", actor(t, n, "jobbland"))
	p := publisher(t, board, "jobbland")
	var ad map[string]any
	_ = json.Unmarshal(smallAd(t), &ad)
	ad["id"] = strings.Repeat("~", 3000)
	b, _ := json.Marshal(ad)
	r, err := p.Publish(ctxT(t), "jobads", b, "")
	if err != nil || r.Status != wire.StatusRejected || r.Violations[0].Keyword != "key" {
		t.Fatalf("overlong key: %+v %v", r, err)
	}
	for i := 0; i < 3; i++ {
		if r, err := p.Publish(ctxT(t), "jobads", smallAd(t), ""); err != nil || r.Status != wire.StatusStored {
			t.Fatalf("after an overlong key the hub stores nothing: %+v %v", r, err)
		}
	}
	if err := n.Ready(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

func TestSubscriptionsPerActorAreBounded(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	match := mustDial(t, n, "matchwise", actor(t, n, "matchwise"))
	var refused error
	for i := 0; i < 70 && refused == nil; i++ {
		_, refused = subscribe(t, match, "matchwise", "jobads", wire.SubscribeRequest{Durable: fmt.Sprintf("d%d", i), AckWait: time.Millisecond, MaxAckPending: 1 << 30})
	}
	if refused == nil || !strings.Contains(refused.Error(), "too many subscriptions") {
		t.Fatalf("70 subscriptions allowed: %v", refused)
	}
	c, err := n.JetStream().PushConsumer(ctxT(t), wire.StreamName("jobads"), "matchwise_d0")
	if err != nil {
		t.Fatal(err)
	}
	if cfg := c.CachedInfo().Config; cfg.AckWait < time.Second || cfg.MaxAckPending > 10000 {
		t.Fatalf("asked bounds were not clamped: ack wait %s, max ack pending %d", cfg.AckWait, cfg.MaxAckPending)
	}
}
