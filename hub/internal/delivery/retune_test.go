package delivery_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/delivery"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
	"github.com/jobtech-dev/datahub/hub/internal/natsd"
)

// A durable subscription resumed with another ack wait or window gets
// them: a federation link made when links waited a minute for acks waits
// what links wait now once it starts again.
func TestDurableResumedGetsTheAckWaitAndWindowAskedNow(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	a := hubtest.NewActor(t, "matchwise")
	subject := wire.ServiceSubject(wire.SubscribePrefix, "jobads", a.Name)
	hubtest.Allow(t, n, map[hubtest.Actor]natsd.Grant{a: {Actor: a.Name, Publish: []string{subject}, Subscribe: []string{wire.InboxPrefix(a.Name) + ".>"}}})
	nc := hubtest.Connect(t, n, a)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	subscribe := func(req wire.SubscribeRequest) {
		t.Helper()
		body, _ := json.Marshal(req)
		m, err := nc.RequestWithContext(ctx, subject, body)
		if err != nil {
			t.Fatal(err)
		}
		var rep wire.SubscribeReply
		if err := json.Unmarshal(m.Data, &rep); err != nil || rep.Err() != nil {
			t.Fatalf("subscribe %+v: %s (%v)", req, m.Data, err)
		}
	}
	config := func() (time.Duration, int) {
		t.Helper()
		c, err := n.JetStream().PushConsumer(ctx, wire.StreamName("jobads"), delivery.ConsumerName(a.Name, "federation"))
		if err != nil {
			t.Fatal(err)
		}
		cfg := c.CachedInfo().Config
		return cfg.AckWait, cfg.MaxAckPending
	}

	subscribe(wire.SubscribeRequest{Durable: "federation", AckWait: time.Minute, MaxAckPending: 2048})
	if w, p := config(); w != time.Minute || p != 2048 {
		t.Fatalf("created with ack wait %s, window %d", w, p)
	}
	subscribe(wire.SubscribeRequest{Durable: "federation", AckWait: 10 * time.Second, MaxAckPending: 512})
	if w, p := config(); w != 10*time.Second || p != 512 {
		t.Fatalf("resumed with ack wait 10s and window 512: the consumer has %s and %d", w, p)
	}
	// A request that names neither (a link asking whether it is still
	// granted) changes nothing.
	subscribe(wire.SubscribeRequest{Durable: "federation", Start: wire.StartAfterSeq, AfterSeq: 3})
	if w, p := config(); w != 10*time.Second || p != 512 {
		t.Fatalf("a plain resume changed the consumer to %s and %d", w, p)
	}
}
