package clustertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jobtech-dev/datahub/connector-kit/creds"
	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// TestThreeNodesAreOneHub: three nodes form one hub. An actor connected to
// node 1 publishes and a subscriber connected to node 3 receives; the
// dataset's stream and the hub's state are kept by all three; an apply made
// through node 2 cuts a connection on node 3 within a second, and an actor
// revoked through node 3 can no longer connect to node 1; the one audit
// chain verifies on every node.
func TestThreeNodesAreOneHub(t *testing.T) {
	c := newCluster(t, 3)
	c.startAll()
	ctx := ctxFor(t, 2*time.Minute)

	pubCreds := c.actor(0, "p0")
	subCreds := c.actor(1, "sub")
	pub, err := dial(ctx, "nats://"+c.nodes[0].nats, pubCreds)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	sub, err := dial(ctx, "nats://"+c.nodes[2].nats, subCreds)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	got := make(chan kit.Delivery, 100)
	s, err := sub.Subscribe(ctx, "ticks", func(_ context.Context, d kit.Delivery) error { got <- d; return nil })
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Stop() }()
	for i := range 20 {
		if _, err := pub.Publish(ctx, "ticks", []byte(fmt.Sprintf(`{"id":"k%d","n":%d}`, i%5, i))); err != nil {
			t.Fatalf("publish %d through node 1: %v", i, err)
		}
	}
	for i := range 20 {
		select {
		case d := <-got:
			var v struct{ N int }
			_ = json.Unmarshal(d.Data, &v)
			if v.N != i || d.Publisher != "p0" || d.Origin != "hub" {
				t.Fatalf("delivery %d on node 3: n=%d publisher=%s origin=%s", i, v.N, d.Publisher, d.Origin)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("node 3's subscriber got %d of 20 records", i)
		}
	}

	// Every node keeps a copy of the dataset and of the hub's state.
	eventually(t, 30*time.Second, "the ticks stream and the hub's state at 3 copies, caught up", func() bool {
		var info struct {
			Stats struct{ Replicas, Current int } `json:"stats"`
		}
		if st, b := c.api(1, "GET", "/api/v1/datasets/ticks", nil); st != 200 || json.Unmarshal(b, &info) != nil || info.Stats.Replicas != 3 || info.Stats.Current != 3 {
			return false
		}
		h := c.health(2)
		streams, _ := h["cluster"].(map[string]any)["streams"].(map[string]any)
		for _, name := range []string{"AUDIT", "KV_hub_actors", "KV_hub_policies", "DEADLETTER", "DS_ticks"} {
			if st, _ := streams[name].(map[string]any); st == nil || st["replicas"] != float64(3) {
				return false
			}
		}
		return true
	})
	// Every node reads the same records.
	for i := range c.nodes {
		if recs := c.records(i, "ticks"); len(recs) != 20 {
			t.Fatalf("node %d reads %d records, want 20", i+1, len(recs))
		}
	}

	// A watcher connected to node 3 may subscribe; an apply through node 2
	// that takes the right away cuts its connection on node 3.
	watcherCreds := c.actor(0, "watcher")
	cr, kp, err := creds.Read(watcherCreds, nil)
	if err != nil {
		t.Fatal(err)
	}
	wpub, _ := kp.PublicKey()
	var mu sync.Mutex
	var cutAt time.Time
	nc, err := nats.Connect("nats://"+c.nodes[2].nats, nats.Nkey(wpub, kp.Sign), nats.CustomInboxPrefix(wire.InboxPrefix(cr.Actor)),
		nats.DisconnectErrHandler(func(*nats.Conn, error) {
			mu.Lock()
			if cutAt.IsZero() {
				cutAt = time.Now()
			}
			mu.Unlock()
		}), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond), nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}))
	if err != nil {
		t.Fatalf("watcher refused on node 3: %v", err)
	}
	defer nc.Close()
	narrower := `[{"id":"ticks-publishers","subjects":["actor:<p[0-9]+|sub>"],"resources":["dataset:ticks"],"actions":["publish","subscribe","read-schema"],"effect":"allow"}]`
	applied := time.Now()
	if st, b := c.api(1, "PUT", "/api/v1/policies", map[string]any{"files": map[string]string{"ticks.json": narrower}, "source": "test"}); st != 200 {
		t.Fatalf("apply through node 2: %d %s", st, b)
	}
	eventually(t, 5*time.Second, "the watcher's connection on node 3 cut", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return !cutAt.IsZero()
	})
	mu.Lock()
	took := cutAt.Sub(applied)
	mu.Unlock()
	t.Logf("apply through node 2 cut the connection on node 3 after %s", took.Round(time.Millisecond))
	if took > time.Second {
		t.Fatalf("the connection on node 3 was cut %s after the apply on node 2, want within 1s", took)
	}
	// It comes back without the right: node 3 refuses its subscribe request.
	eventually(t, 5*time.Second, "the watcher back on node 3", nc.IsConnected)
	if _, err := nc.Request(wire.ServiceSubject(wire.SubscribePrefix, "ticks", "watcher"), []byte(`{}`), time.Second); err == nil {
		t.Fatal("the watcher may still subscribe on node 3 after the apply on node 2")
	}

	// An actor revoked through node 3 can no longer connect to node 1.
	if st, b := c.api(2, "DELETE", "/api/v1/actors/watcher", nil); st != 200 && st != 204 {
		t.Fatalf("revoke through node 3: %d %s", st, b)
	}
	revoked := time.Now()
	eventually(t, 2*time.Second, "node 1 refuses the revoked key", func() bool {
		nc1, err := nats.Connect("nats://"+c.nodes[0].nats, nats.Nkey(wpub, kp.Sign), nats.NoReconnect(), nats.Timeout(time.Second),
			nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}))
		if err != nil {
			return true
		}
		nc1.Close()
		return false
	})
	t.Logf("node 1 refused the key revoked on node 3 after %s", time.Since(revoked).Round(time.Millisecond))

	// The one audit chain verifies on every node, and holds the apply made
	// through node 2 and the revoke made through node 3.
	for i := range c.nodes {
		st, b := c.api(i, "GET", "/api/v1/audit/verify", nil)
		var rep struct {
			OK      bool `json:"ok"`
			Entries int  `json:"entries"`
		}
		if st != 200 || json.Unmarshal(b, &rep) != nil || !rep.OK {
			t.Fatalf("audit verify on node %d: %d %s", i+1, st, b)
		}
	}
	st, b := c.api(0, "GET", "/api/v1/audit?n=100", nil)
	if st != http.StatusOK {
		t.Fatalf("audit tail: %d %s", st, b)
	}
	for _, want := range []string{`"kind":"policy.apply"`, `"kind":"actor.revoke"`} {
		if !strings.Contains(string(b), want) {
			t.Fatalf("node 1's audit log lacks %s:\n%s", want, b)
		}
	}

	// The health output names the cluster's state.
	out, err := exec.Command(hubBin, "status", "--hub-url", "http://"+c.nodes[1].http).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "quorum true, 3 nodes") || !strings.Contains(string(out), "DS_ticks") || !strings.Contains(string(out), "3 copies") {
		t.Fatalf("hub status: %v\n%s", err, out)
	}

	// Node 3 restarting with its policies folder, which the apply through
	// node 2 replaced, does not overwrite it silently: a WARN and a
	// policy.override entry say what the folder drops and adds.
	c.nodes[2].proc.stop(t)
	c.start(2)
	c.waitReady(2, time.Minute)
	if log := c.nodes[2].proc.out.String(); !strings.Contains(log, "policies folder replaces the set applied through the admin API/CLI") {
		t.Fatalf("node 3 restarted with a stale folder without a WARN:\n%s", log)
	}
	st, b = c.api(0, "GET", "/api/v1/audit?n=5", nil)
	if st != http.StatusOK || !strings.Contains(string(b), `"kind":"policy.override"`) || !strings.Contains(string(b), "ticks-all") {
		t.Fatalf("no policy.override entry after node 3's start: %d %s", st, b)
	}
}
