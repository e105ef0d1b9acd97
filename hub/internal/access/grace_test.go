package access_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/delivery"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
	"github.com/jobtech-dev/datahub/hub/internal/node"
)

// matchwiseJobads is the policy that lets matchwise subscribe to job ads.
const matchwiseJobads = "matchwise-subscribes-jobads-and-taxonomy"

// kitSubscriber is a kit client subscribed to job ads with a durable name,
// recording the stream sequence of every record its handler acked.
type kitSubscriber struct {
	c   *kit.Client
	sub *kit.Subscription
	mu  sync.Mutex
	got []uint64
}

func subscribeKit(t *testing.T, n *node.Node, actor string, kp nkeys.KeyPair, durable string) *kitSubscriber {
	t.Helper()
	pub, _ := kp.PublicKey()
	c, err := kit.DialKey(ctxT(t), n.NATSURL(), actor, pub, kp.Sign, kit.WithLogger(hubtest.Logger(t)))
	if err != nil {
		t.Fatalf("kit dial as %s: %v", actor, err)
	}
	t.Cleanup(func() { c.Close() })
	k := &kitSubscriber{c: c}
	k.sub, err = c.Subscribe(ctxT(t), "jobads", func(_ context.Context, d kit.Delivery) error {
		k.mu.Lock()
		k.got = append(k.got, d.Seq)
		k.mu.Unlock()
		return nil
	}, kit.Durable(durable))
	if err != nil {
		t.Fatalf("kit subscribe: %v", err)
	}
	return k
}

func (k *kitSubscriber) seqs() []uint64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.got)
}

// waitFor waits until the subscriber has handled want records and the
// hub has all their acks (so a cut connection cannot leave one unsent).
func (k *kitSubscriber) waitFor(t *testing.T, n *node.Node, actor, durable string, want int) {
	t.Helper()
	if !eventually(5*time.Second, func() bool { return len(k.seqs()) == want }) {
		t.Fatalf("kit subscriber got %v, want %d records", k.seqs(), want)
	}
	waitAcked(t, n, actor, durable, uint64(want))
}

// seqRange is from, from+1, …, to.
func seqRange(from, to uint64) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

// publishAds stores k real job ads as arbetsformedlingen.
func publishAds(t *testing.T, n *node.Node, af *client, k int) {
	t.Helper()
	p := publisher(t, af, "arbetsformedlingen")
	ads := bytes.Split(bytes.TrimSpace(hubtest.ReadFile(t, filepath.Join(hubtest.JobTechData(), "job-ads.ndjson"))), []byte("\n"))
	for i := 0; i < k; i++ {
		if r, err := p.Publish(ctxT(t), "jobads", ads[i%len(ads)], ""); err != nil || !r.OK() {
			t.Fatalf("publish ad %d: %+v %v", i, r, err)
		}
	}
}

// consumerInfo is the hub-side state of actor's durable on job ads; nil
// when it does not exist.
func consumerInfo(t *testing.T, n *node.Node, actor, durable string) *jetstream.ConsumerInfo {
	t.Helper()
	c, err := n.JetStream().PushConsumer(ctxT(t), wire.StreamName("jobads"), delivery.ConsumerName(actor, durable))
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return c.CachedInfo()
}

// waitAcked waits until the durable's acked floor reaches seq, so a cut
// connection cannot leave an ack unsent.
func waitAcked(t *testing.T, n *node.Node, actor, durable string, seq uint64) {
	t.Helper()
	if !eventually(5*time.Second, func() bool {
		i := consumerInfo(t, n, actor, durable)
		return i != nil && i.AckFloor.Stream == seq
	}) {
		t.Fatalf("acked floor of %s did not reach %d", durable, seq)
	}
}

// subscriptionEntries are the audit entries of kind about subscriptions.
func subscriptionEntries(t *testing.T, n *node.Node, kind string) []delivery.Subscription {
	t.Helper()
	_ = n.Access().Flush(ctxT(t))
	var out []delivery.Subscription
	_ = n.Audit().Tail(ctxT(t), 0, false, func(e audit.Entry) error {
		if e.Kind == kind {
			var s delivery.Subscription
			if err := json.Unmarshal(e.Detail, &s); err != nil {
				t.Fatalf("%s detail %s: %v", kind, e.Detail, err)
			}
			out = append(out, s)
		}
		return nil
	})
	return out
}

func TestLostRightKeepsSubscriptionPosition(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	af := mustDial(t, n, "arbetsformedlingen", actor(t, n, "arbetsformedlingen"))
	k := subscribeKit(t, n, "matchwise", actor(t, n, "matchwise"), "ads")
	publishAds(t, n, af, 5)
	k.waitFor(t, n, "matchwise", "ads", 5)

	// The right goes: delivery stops at once, the consumer stays, paused.
	applyWithout(t, n, matchwiseJobads)
	info := consumerInfo(t, n, "matchwise", "ads")
	if info == nil || !info.Paused || info.Config.Metadata[delivery.MetaSuspendedUntil] == "" {
		t.Fatalf("subscription without its right not kept paused: %+v", info)
	}
	if left := info.PauseRemaining; left < 7*24*time.Hour-time.Minute || left > 7*24*time.Hour+time.Minute {
		t.Fatalf("kept for %s, want the default grace period of 7 days", left)
	}
	publishAds(t, n, af, 4)
	time.Sleep(time.Second) // a delivery would take milliseconds
	if got := k.seqs(); len(got) != 5 {
		t.Fatalf("delivery went on without the right: %v", got)
	}

	// The right comes back: delivery resumes after the last acked record,
	// on the same kit subscription, and nothing acked comes again.
	applyWithout(t, n, "none")
	if !eventually(10*time.Second, func() bool { return len(k.seqs()) >= 9 }) {
		t.Fatalf("after the right came back the kit subscriber has %v, want 1-9", k.seqs())
	}
	time.Sleep(300 * time.Millisecond) // room for a wrong redelivery to show
	if got := k.seqs(); !slices.Equal(got, seqRange(1, 9)) {
		t.Fatalf("received %v, want 1-9 once each in order", got)
	}
	if i := consumerInfo(t, n, "matchwise", "ads"); i.Paused || i.Config.Metadata[delivery.MetaSuspendedUntil] != "" {
		t.Fatalf("resumed subscription still marked suspended: %+v", i)
	}
	sus, res := subscriptionEntries(t, n, audit.KindSubscriptionSuspended), subscriptionEntries(t, n, audit.KindSubscriptionResumed)
	if len(sus) != 1 || sus[0].Actor != "matchwise" || sus[0].Dataset != "jobads" || sus[0].Durable != "ads" || sus[0].AckFloor != 5 || sus[0].Until.IsZero() {
		t.Fatalf("suspension audited as %+v", sus)
	}
	if len(res) != 1 || res[0].Durable != "ads" {
		t.Fatalf("resumption audited as %+v", res)
	}
}

func TestSubscriptionGraceExpires(t *testing.T) {
	t.Parallel()
	cfg := hubtest.Config(t.TempDir())
	cfg.SubscriptionGrace = time.Second
	n := hubtest.Start(t, cfg)
	af := mustDial(t, n, "arbetsformedlingen", actor(t, n, "arbetsformedlingen"))
	k := subscribeKit(t, n, "matchwise", actor(t, n, "matchwise"), "ads")
	publishAds(t, n, af, 2)
	k.waitFor(t, n, "matchwise", "ads", 2)
	applyWithout(t, n, matchwiseJobads)
	if consumerInfo(t, n, "matchwise", "ads") == nil {
		t.Fatal("subscription removed at once: want it kept for the grace period")
	}
	// The grace period ends without the right coming back: removed, audited.
	if !eventually(5*time.Second, func() bool { return consumerInfo(t, n, "matchwise", "ads") == nil }) {
		t.Fatal("subscription kept after its grace period ended")
	}
	var exp []delivery.Subscription
	eventually(2*time.Second, func() bool { exp = subscriptionEntries(t, n, audit.KindSubscriptionExpired); return len(exp) > 0 })
	if len(exp) != 1 || exp[0].Actor != "matchwise" || exp[0].Dataset != "jobads" || exp[0].Durable != "ads" || exp[0].Consumer != "matchwise_ads" || exp[0].AckFloor != 2 {
		t.Fatalf("expiry audited as %+v", exp)
	}
}

func TestSubscriptionSuspensionSurvivesRestart(t *testing.T) {
	t.Parallel()
	cfg := hubtest.Config(t.TempDir())
	n := hubtest.Start(t, cfg)
	afKey, matchKey := actor(t, n, "arbetsformedlingen"), actor(t, n, "matchwise")
	k := subscribeKit(t, n, "matchwise", matchKey, "ads")
	publishAds(t, n, mustDial(t, n, "arbetsformedlingen", afKey), 3)
	k.waitFor(t, n, "matchwise", "ads", 3)
	applyWithout(t, n, matchwiseJobads)
	until := consumerInfo(t, n, "matchwise", "ads").Config.Metadata[delivery.MetaSuspendedUntil]
	k.c.Close()
	hubtest.Stop(t, n)

	// Restarted keeping the applied set (no folder): still suspended, with
	// the same end, and paused.
	cfg.Policies = ""
	n = hubtest.Start(t, cfg)
	info := consumerInfo(t, n, "matchwise", "ads")
	if info == nil || !info.Paused || info.Config.Metadata[delivery.MetaSuspendedUntil] != until || info.AckFloor.Stream != 3 {
		t.Fatalf("suspension lost across a restart (end was %s): %+v", until, info)
	}
	publishAds(t, n, mustDial(t, n, "arbetsformedlingen", afKey), 2)
	applyWithout(t, n, "none")
	k = subscribeKit(t, n, "matchwise", matchKey, "ads")
	if p := k.sub.InitialPending(); p != 2 {
		t.Fatalf("resumed subscription has %d records to deliver, want the 2 published since", p)
	}
	if !eventually(5*time.Second, func() bool { return len(k.seqs()) >= 2 }) {
		t.Fatalf("resumed subscription got %v, want 4 and 5", k.seqs())
	}
	time.Sleep(300 * time.Millisecond)
	if got := k.seqs(); !slices.Equal(got, []uint64{4, 5}) {
		t.Fatalf("after a restart the subscription delivered %v, want only 4 and 5", got)
	}
}

func TestSubscriptionGraceEndsWhileHubIsDown(t *testing.T) {
	t.Parallel()
	cfg := hubtest.Config(t.TempDir())
	cfg.SubscriptionGrace = 3 * time.Second
	n := hubtest.Start(t, cfg)
	match := mustDial(t, n, "matchwise", actor(t, n, "matchwise"))
	if _, err := subscribe(t, match, "matchwise", "jobads", wire.SubscribeRequest{Durable: "ads"}); err != nil {
		t.Fatal(err)
	}
	applyWithout(t, n, matchwiseJobads)
	until, err := time.Parse(time.RFC3339, consumerInfo(t, n, "matchwise", "ads").Config.Metadata[delivery.MetaSuspendedUntil])
	if err != nil {
		t.Fatal(err)
	}
	match.Close()
	hubtest.Stop(t, n)
	time.Sleep(time.Until(until) + 100*time.Millisecond)
	cfg.Policies = ""
	n = hubtest.Start(t, cfg)
	// The start removes it (before it serves anyone) and audits it.
	if consumerInfo(t, n, "matchwise", "ads") != nil {
		t.Fatal("subscription whose grace period ended while the hub was down is still there")
	}
	if exp := subscriptionEntries(t, n, audit.KindSubscriptionExpired); len(exp) != 1 || exp[0].Durable != "ads" {
		t.Fatalf("expiry at start audited as %+v", exp)
	}
}

// A revoked actor's subscriptions go at once, whatever the grace period.
func TestRevokedActorLosesSubscriptionsAtOnce(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	match := mustDial(t, n, "matchwise", actor(t, n, "matchwise"))
	if _, err := subscribe(t, match, "matchwise", "jobads", wire.SubscribeRequest{Durable: "ads"}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Access().RevokeActor(ctxT(t), "matchwise", "admin"); err != nil {
		t.Fatal(err)
	}
	if consumerInfo(t, n, "matchwise", "ads") != nil {
		t.Fatal("revoked actor's subscription kept")
	}
}
