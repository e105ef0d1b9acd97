package clustertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
)

// TestSingleHubGrowsIntoACluster: a hub that ran alone, holding records,
// an actor, its policies, an audit log and a subscriber's position, is
// started again as the first node of a cluster with two new nodes. Every
// record is there on every node with its sequence, the actor connects, the
// subscriber resumes where it stopped, the audit chain still verifies, and
// the streams end up with three copies.
func TestSingleHubGrowsIntoACluster(t *testing.T) {
	c := newCluster(t, 3)
	ctx := ctxFor(t, 3*time.Minute)

	// The single hub: node 1's data dir, no cluster flags.
	c.startWith(0, c.args(0, false)...)
	c.waitReady(0, 30*time.Second)
	credsFile := c.actor(0, "p0")
	subCreds := c.actor(0, "sub")
	pub, err := dial(ctx, "nats://"+c.nodes[0].nats, credsFile)
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	for i := range n {
		if _, err := pub.Publish(ctx, "ticks", []byte(fmt.Sprintf(`{"id":"k%d","n":%d}`, i%40, i))); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	pub.Close()
	sub, err := dial(ctx, "nats://"+c.nodes[0].nats, subCreds)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan int, n)
	s, err := sub.Subscribe(ctx, "ticks", func(_ context.Context, d kit.Delivery) error {
		var v struct{ N int }
		_ = json.Unmarshal(d.Data, &v)
		if v.N >= 100 {
			return fmt.Errorf("stop here") // not acked: delivered again later
		}
		got <- v.N
		return nil
	}, kit.Durable("reader"))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the subscriber acked 100 records", func() bool { return len(got) == 100 })
	_ = s.Stop()
	sub.Close()
	before := c.records(0, "ticks")
	c.nodes[0].proc.stop(t)

	// The same data dir as the first node of a cluster, with two new nodes.
	grown := time.Now()
	c.startAll()
	t.Logf("the cluster of three served %s after the single hub stopped", time.Since(grown).Round(time.Millisecond))
	if out := c.nodes[0].proc.out.String(); !bytes.Contains([]byte(out), []byte("exporting its streams")) {
		t.Fatalf("node 1 did not say it brought the single hub's streams:\n%s", out)
	}
	kept, _ := filepath.Glob(filepath.Join(c.nodes[0].data, "jetstream-standalone-*"))
	if len(kept) != 1 {
		t.Fatalf("the single hub's files are not kept aside: %v", kept)
	}
	if _, err := os.Stat(filepath.Join(c.nodes[0].data, "standalone-export")); !os.IsNotExist(err) {
		t.Fatalf("the export was not removed after the import: %v", err)
	}
	for i := range c.nodes {
		recs := c.records(i, "ticks")
		if len(recs) != len(before) {
			t.Fatalf("node %d reads %d records, the single hub held %d", i+1, len(recs), len(before))
		}
		for j := range recs {
			if recs[j].ID != before[j].ID || recs[j].Seq != before[j].Seq {
				t.Fatalf("node %d, record %d: id %s seq %d, the single hub had id %s seq %d", i+1, j, recs[j].ID, recs[j].Seq, before[j].ID, before[j].Seq)
			}
		}
		st, b := c.api(i, "GET", "/api/v1/audit/verify", nil)
		if st != 200 || !bytes.Contains(b, []byte(`"ok":true`)) {
			t.Fatalf("audit verify on node %d: %d %s", i+1, st, b)
		}
	}
	// The actor is known to every node, under the policies the hub had.
	pub, err = dial(ctx, "nats://"+c.nodes[2].nats, credsFile)
	if err != nil {
		t.Fatalf("the single hub's actor refused by a new node: %v", err)
	}
	defer pub.Close()
	if _, err := pub.Publish(ctx, "ticks", []byte(`{"id":"after","n":300}`)); err != nil {
		t.Fatalf("publish through a new node: %v", err)
	}
	// The subscriber resumes after its last acked record.
	sub, err = dial(ctx, "nats://"+c.nodes[1].nats, subCreds)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	first := make(chan int, 1)
	s, err = sub.Subscribe(ctx, "ticks", func(_ context.Context, d kit.Delivery) error {
		var v struct{ N int }
		_ = json.Unmarshal(d.Data, &v)
		select {
		case first <- v.N:
		default:
		}
		return nil
	}, kit.Durable("reader"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Stop() }()
	select {
	case v := <-first:
		if v != 100 {
			t.Fatalf("the durable subscription resumed at n=%d, want 100", v)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the durable subscription delivered nothing after the move")
	}
	// The streams and the hub's state end up with three copies.
	eventually(t, 60*time.Second, "every stream at 3 copies, caught up", func() bool {
		streams, _ := c.health(1)["cluster"].(map[string]any)["streams"].(map[string]any)
		if len(streams) < 6 {
			return false
		}
		for _, v := range streams {
			st, _ := v.(map[string]any)
			if st["replicas"] != float64(3) || st["lagging"] != nil || st["offline"] != nil {
				return false
			}
		}
		return true
	})
}
