package access_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
	"github.com/jobtech-dev/datahub/hub/internal/node"
)

// auditEntries reads the whole audit log.
func auditEntries(t *testing.T, n *node.Node) []audit.Entry {
	t.Helper()
	if err := n.Access().Flush(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	var es []audit.Entry
	if err := n.Audit().Tail(ctxT(t), 0, false, func(e audit.Entry) error { es = append(es, e); return nil }); err != nil {
		t.Fatal(err)
	}
	return es
}

// denied sums the refusal entries (actor "" = any) and their counts.
func denied(es []audit.Entry, actor string) (entries, count int) {
	for _, e := range es {
		if e.Kind != audit.KindAccessDenied || (actor != "" && e.Actor != actor) {
			continue
		}
		var d struct{ Count int }
		_ = json.Unmarshal(e.Detail, &d)
		entries++
		count += d.Count
	}
	return entries, count
}

// An actor floods denied publishes to distinct subjects while an admin
// creates 20 actors: every admin entry is stored before its call returns,
// the flood becomes a few counted entries, and the chain verifies, also
// after a restart.
func TestAdminEntriesKeptDuringARefusalFlood(t *testing.T) {
	t.Parallel()
	cfg := hubtest.Config(t.TempDir())
	n := hubtest.Start(t, cfg)
	evil := mustDial(t, n, "matchwise", actor(t, n, "matchwise"))

	var sent atomic.Int64
	var adminDone atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				if adminDone.Load() && sent.Load() >= 10000 {
					return
				}
			default:
			}
			_ = evil.Publish(fmt.Sprintf("ingest.jobads.forged%d", i), []byte("x"))
			if sent.Add(1)%1000 == 0 {
				_ = evil.Flush()
			}
		}
	})
	if !eventually(30*time.Second, func() bool { return sent.Load() > 2000 }) {
		t.Fatal("flood did not start")
	}
	start := time.Now()
	for i := range 20 {
		kp, _ := nkeys.CreateUser()
		pub, _ := kp.PublicKey()
		if _, err := n.Access().CreateActor(ctxT(t), fmt.Sprintf("board-%02d", i), pub, "admin"); err != nil {
			t.Fatalf("actor.create %d during the flood: %v", i, err)
		}
	}
	took := time.Since(start)
	adminDone.Store(true)
	close(stop)
	wg.Wait()
	_ = evil.Flush()
	// The server reports violations asynchronously: wait until the counts
	// stop growing.
	var entries, count int
	eventually(30*time.Second, func() bool {
		prev := count
		entries, count = denied(auditEntries(t, n), "matchwise")
		return count > 0 && count == prev
	})
	t.Logf("%d denied publishes sent, %d counted in %d entries; 20 actor.create took %s", sent.Load(), count, entries, took)

	check := func(n *node.Node) {
		es := auditEntries(t, n)
		created := map[string]bool{}
		for _, e := range es {
			if e.Kind == audit.KindActorCreate {
				created[e.Subject] = true
			}
		}
		for i := range 20 {
			if name := fmt.Sprintf("board-%02d", i); !created[name] {
				t.Errorf("actor.create %s missing from the audit log", name)
			}
		}
		rep, err := n.Audit().Verify(ctxT(t))
		if err != nil || !rep.OK {
			t.Fatalf("verify: %+v %v", rep, err)
		}
	}
	check(n)
	if count < 10000 {
		t.Fatalf("only %d of %d denied publishes counted", count, sent.Load())
	}
	if entries > 10 {
		t.Fatalf("%d refusal entries for one actor's flood of %s: not bounded", entries, took)
	}
	hubtest.Stop(t, n)
	check(hubtest.Start(t, cfg))
}

// Connection attempts with random keys from one address become one entry
// per interval with the count, not one entry each.
func TestRandomKeyConnectionFloodIsBounded(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	// A refused connection costs the server ~1.6 ms (~40 ms under the race
	// detector): 200 attempts keep the normal suite fast and prove the
	// bound (200 attempts, at most a few entries); `make flood` runs the
	// full 5,000 (about 8 s without the race detector).
	attempts := 200
	if os.Getenv("HUB_FLOOD") == "full" {
		attempts = 5000
	}
	var connected atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	next := make(chan int)
	for range 16 {
		wg.Go(func() {
			for range next {
				kp, _ := nkeys.CreateUser()
				pub, _ := kp.PublicKey()
				nc, err := nats.Connect(n.NATSURL(), nats.Nkey(pub, kp.Sign), nats.NoReconnect(), nats.Timeout(10*time.Second))
				if err == nil {
					connected.Add(1)
					nc.Close()
				}
			}
		})
	}
	for i := range attempts {
		next <- i
	}
	close(next)
	wg.Wait()
	took := time.Since(start)
	if connected.Load() > 0 {
		t.Fatalf("%d random keys connected", connected.Load())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var entries, count int
	for ctx.Err() == nil {
		if entries, count = denied(auditEntries(t, n), audit.ActorUnknown); count >= attempts {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	// One group (the address) per 5 s interval: the bound is the number
	// of intervals the flood spans, plus the flush.
	bound := int(took/(5*time.Second)) + 2
	t.Logf("%d connection attempts with random keys in %s: %d counted in %d entries (bound %d)", attempts, took.Round(time.Millisecond), count, entries, bound)
	if count != attempts {
		t.Fatalf("%d of %d refused connections counted", count, attempts)
	}
	if entries > bound {
		t.Fatalf("%d refusal entries, want at most %d", entries, bound)
	}
	if rep, err := n.Audit().Verify(ctxT(t)); err != nil || !rep.OK {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}
