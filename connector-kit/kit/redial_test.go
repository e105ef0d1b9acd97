package kit_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/connector-kit/kittest"
)

// waitFor polls cond for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A connection the server closes for good (here on a control line over its
// limit, as a 5,000-character subject makes) is dialled again by the
// client, and its subscriptions resume on the new connection.
func TestClientDialsAgainAfterTheServerClosesIt(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	pub := dial(t, h, "arbetsformedlingen")
	var mu sync.Mutex
	var states []kit.ConnState
	match, err := kit.Dial(ctxT(t), h.NATSURL(), h.Actor("matchwise"), kit.WithStateHandler(func(s kit.ConnState) {
		mu.Lock()
		states = append(states, s)
		mu.Unlock()
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { match.Close() })
	got := make(chan uint64, 10)
	sub, err := match.Subscribe(ctxT(t), "jobads", func(_ context.Context, d kit.Delivery) error {
		got <- d.Seq
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop()
	ads := realAds(t)
	if _, err := pub.Publish(ctxT(t), "jobads", ads[0]); err != nil {
		t.Fatal(err)
	}
	receive := func(want uint64) {
		t.Helper()
		select {
		case seq := <-got:
			if seq != want {
				t.Fatalf("received seq %d, want %d", seq, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("record %d not received", want)
		}
	}
	receive(1)

	// A name that is not a dataset's never reaches a subject.
	long := strings.Repeat("a", 5000)
	if _, err := pub.Publish(ctxT(t), long, ads[1]); !errors.Is(err, kit.ErrUnknownDataset) {
		t.Fatalf("publish to a 5,000-character dataset: %v, want ErrUnknownDataset", err)
	}
	if _, err := match.Subscribe(ctxT(t), "jobads\x00", func(context.Context, kit.Delivery) error { return nil }); !errors.Is(err, kit.ErrUnknownDataset) {
		t.Fatalf("subscribe to a name with NUL: %v, want ErrUnknownDataset", err)
	}
	if g := pub.State().Generation; g != 1 || !pub.State().Connected {
		t.Fatalf("publisher state after refused names: %+v", pub.State())
	}

	// The server closes both connections for good.
	for _, c := range []*kit.Client{pub, match} {
		nc := c.Conn()
		_ = nc.Publish("ingest."+long+".x", nil)
		_ = nc.Flush()
		waitFor(t, 5*time.Second, "server closes the connection", nc.IsClosed)
	}
	for _, c := range []*kit.Client{pub, match} {
		waitFor(t, 10*time.Second, "dialled again", func() bool { st := c.State(); return st.Connected && st.Generation == 2 })
	}
	if _, err := pub.Publish(ctxT(t), "jobads", ads[1]); err != nil {
		t.Fatalf("publish after the re-dial: %v", err)
	}
	receive(2)
	mu.Lock()
	defer mu.Unlock()
	var down, up int
	for _, s := range states {
		if s.Connected {
			up++
		} else {
			down++
		}
	}
	if down == 0 || up != 2 || !states[0].Connected || !states[len(states)-1].Connected {
		t.Fatalf("state changes %+v: want connected, losses, then one return", states)
	}
}

func TestRevokedKeyIsUnauthorized(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	creds := h.Actor("jobbland")
	c, err := kit.Dial(ctxT(t), h.NATSURL(), creds)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	h.CLI("actor", "revoke", "jobbland")
	waitFor(t, 10*time.Second, "unauthorized", func() bool { st := c.State(); return !st.Connected && st.Unauthorized })
	if _, err := kit.Dial(ctxT(t), h.NATSURL(), creds); !errors.Is(err, kit.ErrUnauthorized) {
		t.Fatalf("dial with a revoked key: %v, want ErrUnauthorized", err)
	}
}
