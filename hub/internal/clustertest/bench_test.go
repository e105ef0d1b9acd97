package clustertest

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
)

// benchRecord is a ~1 KiB ticks record.
func benchRecord(n int) []byte {
	pad := make([]byte, 960)
	for i := range pad {
		pad[i] = 'a' + byte(i%26)
	}
	return []byte(fmt.Sprintf(`{"id":"k%d","n":%d,"pad":"%s"}`, n%4096, n, pad))
}

// ingestRate publishes total records from publishers actors (spread over
// the nodes, each with batches of batch records pipelined) and returns the
// records stored per second.
func ingestRate(b *testing.B, c *cluster, publishers, total, batch int) float64 {
	b.Helper()
	ctx := ctxFor(b, 5*time.Minute)
	clients := make([]*kit.Client, publishers)
	for i := range clients {
		creds := c.actor(0, fmt.Sprintf("p%d", i))
		node := c.nodes[i%len(c.nodes)]
		cl, err := dial(ctx, "nats://"+node.nats, creds)
		if err != nil {
			b.Fatal(err)
		}
		defer cl.Close()
		clients[i] = cl
	}
	// One warm-up batch each (schema fetched, streams' leaders settled).
	for i, cl := range clients {
		if _, err := cl.Publish(ctx, "ticks", benchRecord(i)); err != nil {
			b.Fatalf("warm-up: %v", err)
		}
	}
	per := total / publishers
	var stored atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, publishers)
	start := time.Now()
	for p, cl := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sent := 0; sent < per; sent += batch {
				recs := make([]kit.BatchRecord, 0, batch)
				for i := sent; i < min(sent+batch, per); i++ {
					recs = append(recs, kit.BatchRecord{Data: benchRecord(p*per + i), ID: uuid.NewString()})
				}
				for len(recs) > 0 {
					res, err := cl.PublishBatch(ctx, "ticks", recs)
					if err != nil {
						errs <- err
						return
					}
					// Send again, in order, from the first record not stored.
					retry := len(recs)
					for i, r := range res {
						if r.Err != nil {
							retry = i
							break
						}
					}
					stored.Add(int64(retry))
					recs = recs[retry:]
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return float64(stored.Load()) / took.Seconds()
}

// BenchmarkClusterIngest measures the ingest rate of a three-node cluster
// keeping three copies of every record against one node alone and against
// three nodes keeping one copy, in the same run, with many publishers and
// with one. It reports records/s of each and the ratios (R3/1node,
// R3/3nodesR1).
func BenchmarkClusterIngest(b *testing.B) {
	total := 20000
	if v, err := strconv.Atoi(os.Getenv("CLUSTER_BENCH_RECORDS")); err == nil && v > 0 {
		total = v
	}
	for _, pubs := range []int{12, 1} {
		n := total
		if pubs == 1 {
			n = total / 4
		}
		b.Run(fmt.Sprintf("publishers-%d", pubs), func(b *testing.B) {
			rates := map[string]float64{}
			for _, setup := range []struct {
				name      string
				nodes     int
				clustered bool
				extra     []string
			}{
				{"1node-R1", 1, false, nil},
				{"3nodes-R1", 3, true, []string{"--replicas", "1"}},
				{"3nodes-R3", 3, true, nil},
			} {
				c := newCluster(b, setup.nodes, setup.extra...)
				if setup.clustered {
					c.startAll()
				} else {
					c.startWith(0, c.args(0, false)...)
					c.waitReady(0, 30*time.Second)
				}
				rates[setup.name] = ingestRate(b, c, pubs, n, 256)
				for _, nd := range c.nodes {
					nd.proc.stop(b)
				}
				b.ReportMetric(rates[setup.name], setup.name+"-rec/s")
			}
			b.ReportMetric(rates["3nodes-R3"]/rates["1node-R1"], "R3/1node")
			b.ReportMetric(rates["3nodes-R3"]/rates["3nodes-R1"], "R3/3nodesR1")
		})
	}
}

// BenchmarkFailover measures how long an actor's publishing stops when the
// node it is connected to is SIGKILLed: from the kill to its next record
// the hub acknowledges as stored, over repeated kills (CLUSTER_FAILOVER_KILLS,
// default 5), reporting p50 and p99, and separately the kills of a node
// that also led the dataset's stream (JetStream must elect a new leader,
// which its RAFT does after an election timeout of 4 to 9 s) and of one
// that did not (the client only moves to another node).
func BenchmarkFailover(b *testing.B) {
	kills := 5
	if v, err := strconv.Atoi(os.Getenv("CLUSTER_FAILOVER_KILLS")); err == nil && v > 0 {
		kills = v
	}
	c := newCluster(b, 3)
	c.startAll()
	ctx := ctxFor(b, 30*time.Minute)
	credsFile := c.actor(0, "p0")
	cl, err := dial(ctx, c.natsURLs(), credsFile)
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	// acks are the stored records: when the attempt that stored each began,
	// and when it was answered.
	type ack struct{ sent, at time.Time }
	var mu sync.Mutex
	var acks []ack
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for n := 0; ; n++ {
			id := uuid.NewString()
			var sent time.Time
			for {
				select {
				case <-stop:
					return
				default:
				}
				sent = time.Now()
				pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				_, err := cl.Publish(pctx, "ticks", benchRecord(n), kit.WithRecordID(id))
				cancel()
				if err == nil {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			mu.Lock()
			acks = append(acks, ack{sent: sent, at: time.Now()})
			mu.Unlock()
		}
	}()
	var all, leaderKills, otherKills []time.Duration
	for k := range kills {
		time.Sleep(time.Second)
		name := cl.Conn().ConnectedServerName()
		victim := -1
		for i, nd := range c.nodes {
			if nd.name == name {
				victim = i
			}
		}
		if victim < 0 {
			b.Fatalf("the client is connected to %q, not a node", name)
		}
		var leads bool
		if h := c.health((victim + 1) % 3); h != nil {
			if st, ok := h["cluster"].(map[string]any)["streams"].(map[string]any)["DS_ticks"].(map[string]any); ok {
				leads = st["leader"] == name
			}
		}
		killed := time.Now()
		c.nodes[victim].proc.kill()
		var next time.Time
		// The first record sent after the kill and stored: one answered
		// just after the kill but sent before it says nothing of failover.
		eventually(b, time.Minute, "a record sent after the kill stored", func() bool {
			mu.Lock()
			defer mu.Unlock()
			for i := len(acks) - 1; i >= 0 && acks[i].at.After(killed); i-- {
				if acks[i].sent.After(killed) && (i == 0 || !acks[i-1].sent.After(killed)) {
					next = acks[i].at
					return true
				}
			}
			return false
		})
		d := next.Sub(killed)
		all = append(all, d)
		if leads {
			leaderKills = append(leaderKills, d)
		} else {
			otherKills = append(otherKills, d)
		}
		b.Logf("kill %d: %s (led the stream: %v): next stored record after %s", k+1, name, leads, d.Round(time.Millisecond))
		c.start(victim)
		c.waitReady(victim, time.Minute)
	}
	close(stop)
	<-done
	report := func(name string, ds []time.Duration) {
		if len(ds) == 0 {
			return
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		p := func(q float64) time.Duration { return ds[min(len(ds)-1, int(q*float64(len(ds))))] }
		b.ReportMetric(float64(p(0.5).Milliseconds()), name+"-p50-ms")
		b.ReportMetric(float64(p(0.99).Milliseconds()), name+"-p99-ms")
	}
	report("failover", all)
	report("leader-failover", leaderKills)
	report("follower-failover", otherKills)
	b.ReportMetric(float64(len(all)), "kills")
}
