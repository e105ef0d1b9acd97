package clustertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"
)

// sidecar is a running `connector run` for one publisher.
type sidecar struct {
	name string
	addr string
	proc *proc
}

// startSidecar runs the connector for actor name with its credentials;
// hub, when set, replaces the hub address the credentials name.
func (c *cluster) startSidecar(t testing.TB, name, credsFile, hub string) *sidecar {
	t.Helper()
	s := &sidecar{name: name, addr: freeAddr(t)}
	dir := filepath.Join(c.dir, "sidecar-"+name)
	args := []string{"run", "--credentials", credsFile, "--listen", s.addr, "--outbox", filepath.Join(dir, "outbox"),
		"--state", filepath.Join(dir, "state"), "--log-level", "warn"}
	if hub != "" {
		args = append(args, "--hub", hub)
	}
	s.proc = startProc(t, connectorBin, args...)
	eventually(t, 30*time.Second, "sidecar "+name+" connected", func() bool { return s.health(t)["status"] == "ok" })
	return s
}

func (s *sidecar) health(t testing.TB) map[string]any {
	resp, err := http.Get("http://" + s.addr + "/healthz")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var h map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&h)
	return h
}

// pending is how many records wait in the sidecar's outbox.
func (s *sidecar) pending(t testing.TB) int {
	h := s.health(t)
	n, ok := h["outbox_pending"].(float64)
	if !ok {
		return -1
	}
	return int(n)
}

// load is what one publisher sent and what its sidecar answered.
type load struct {
	mu       sync.Mutex
	sent     int         // records POSTed, n = 0..sent-1
	acked    map[int]int // n → HTTP status 201/202
	firstAck []time.Time // when each acked record was answered, in order
	ackTimes map[int]time.Time
}

// publish POSTs records n = 0, 1, … to the sidecar until stop closes, in
// NDJSON batches of batch records one after the other (the sidecar forwards
// a batch pipelined, so the hub has many records of one publisher in flight
// at once), pausing every between batches.
func (s *sidecar) publish(t testing.TB, stop <-chan struct{}, every time.Duration, batch int, l *load) {
	client := &http.Client{Timeout: 30 * time.Second}
	for n := 0; ; n += batch {
		select {
		case <-stop:
			return
		default:
		}
		var body bytes.Buffer
		for i := n; i < n+batch; i++ {
			fmt.Fprintf(&body, `{"id":"%s-k%d","n":%d,"pad":"%s"}`+"\n", s.name, i%64, i, s.name)
		}
		resp, err := client.Post("http://"+s.addr+"/v1/datasets/ticks/records", "application/x-ndjson", &body)
		var res struct {
			Results []struct {
				Line   int    `json:"line"`
				Status string `json:"status"`
			} `json:"results"`
		}
		if err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&res)
			resp.Body.Close()
		}
		l.mu.Lock()
		l.sent = n + batch
		for _, r := range res.Results {
			switch r.Status {
			case "stored", "duplicate", "queued":
				l.acked[n+r.Line-1] = resp.StatusCode
				l.ackTimes[n+r.Line-1] = time.Now()
			}
		}
		l.mu.Unlock()
		if every > 0 {
			time.Sleep(every)
		}
	}
}

// checkStored checks what a node reads against what each publisher was
// answered: every record answered 2xx stored exactly once, and each
// publisher's records stored in the order it sent them.
func checkStored(t testing.TB, recs []envelope, loads map[string]*load) {
	t.Helper()
	byPub := map[string][]int{}
	for _, r := range recs {
		byPub[r.Publisher] = append(byPub[r.Publisher], r.Data.N)
	}
	for name, l := range loads {
		ns := byPub[name]
		seen := map[int]bool{}
		for i, n := range ns {
			if seen[n] {
				t.Fatalf("%s: record n=%d stored twice", name, n)
			}
			seen[n] = true
			if i > 0 && n <= ns[i-1] {
				t.Fatalf("%s: record n=%d stored after n=%d: out of the order it was sent", name, n, ns[i-1])
			}
		}
		l.mu.Lock()
		var missing []int
		for n := range l.acked {
			if !seen[n] {
				missing = append(missing, n)
			}
		}
		sent, acked := l.sent, len(l.acked)
		l.mu.Unlock()
		sort.Ints(missing)
		if len(missing) > 0 {
			t.Fatalf("%s: %d records answered 2xx are not stored: %v", name, len(missing), missing)
		}
		t.Logf("%s: sent %d, answered 2xx %d, stored %d, in order, each once", name, sent, acked, len(ns))
	}
}

// TestNodeKilledUnderLoad: three publishers POST to their sidecars, which
// know every node; the node one of them is connected to is SIGKILLed under
// the load. Afterwards every record answered 2xx is stored exactly once, in
// each publisher's order, and the killed node, started again, catches up
// and serves the records stored while it was down.
func TestNodeKilledUnderLoad(t *testing.T) {
	rounds := 1
	if v, err := strconv.Atoi(os.Getenv("CLUSTER_SOAK")); err == nil && v > 0 {
		rounds = v
	}
	c := newCluster(t, 3)
	c.startAll()
	names := []string{"p0", "p1", "p2"}
	credsFiles := map[string]string{}
	for _, n := range names {
		credsFiles[n] = c.actor(0, n)
	}
	loads := map[string]*load{}
	for _, n := range names {
		loads[n] = &load{acked: map[int]int{}, ackTimes: map[int]time.Time{}}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	sidecars := map[string]*sidecar{}
	for round := range rounds {
		victim := round % len(c.nodes)
		if round == 0 {
			// p0 is told only the node that will die (it learns the others
			// from the cluster); p1 and p2 use the list in their
			// credentials file.
			for _, n := range names {
				hub := ""
				if n == "p0" {
					hub = "nats://" + c.nodes[victim].nats
				}
				sidecars[n] = c.startSidecar(t, n, credsFiles[n], hub)
			}
			for _, n := range names {
				wg.Add(1)
				go func() { defer wg.Done(); sidecars[n].publish(t, stop, 5*time.Millisecond, 20, loads[n]) }()
			}
		}
		time.Sleep(2 * time.Second) // steady load
		var leader string
		var info struct {
			Stats struct{ Leader string } `json:"stats"`
		}
		if st, b := c.api((victim+1)%3, "GET", "/api/v1/datasets/ticks", nil); st == 200 && json.Unmarshal(b, &info) == nil {
			leader = info.Stats.Leader
		}
		killed := time.Now()
		how := "killed (SIGKILL)"
		if round%2 == 1 {
			// A soak alternates a kill with an orderly stop (a rolling
			// upgrade), which hands the streams' leadership over.
			how = "stopped (SIGTERM)"
			go c.nodes[victim].proc.stop(t)
		} else {
			c.nodes[victim].proc.kill()
		}
		t.Logf("round %d: %s %s (the ticks stream's leader was %s)", round+1, how, c.nodes[victim].name, leader)
		// p0 moves to a surviving node by itself and is answered again.
		l := loads["p0"]
		eventually(t, 30*time.Second, "p0 answered 2xx after the kill", func() bool {
			l.mu.Lock()
			defer l.mu.Unlock()
			for _, at := range l.ackTimes {
				if at.After(killed.Add(100 * time.Millisecond)) {
					return true
				}
			}
			return false
		})
		var next time.Time
		l.mu.Lock()
		for _, at := range l.ackTimes {
			if at.After(killed) && (next.IsZero() || at.Before(next)) {
				next = at
			}
		}
		l.mu.Unlock()
		t.Logf("round %d: p0's next 2xx answer came %s after the kill", round+1, next.Sub(killed).Round(time.Millisecond))
		time.Sleep(2 * time.Second) // load on two nodes
		<-c.nodes[victim].proc.stopped()
		if took := time.Since(killed); took > 15*time.Second {
			t.Logf("round %d: %s took %s to stop:\n%s", round+1, c.nodes[victim].name, took.Round(time.Millisecond), c.nodes[victim].proc.out)
		}
		c.start(victim)
		c.waitReady(victim, 60*time.Second)
		t.Logf("round %d: %s back after %s", round+1, c.nodes[victim].name, time.Since(killed).Round(time.Millisecond))
	}
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	for _, n := range names {
		eventually(t, 60*time.Second, "sidecar "+n+"'s outbox forwarded", func() bool { return sidecars[n].pending(t) == 0 })
	}
	// Every node, the one killed last included, reads every record.
	eventually(t, 30*time.Second, "every node reads the same records", func() bool {
		n := len(c.records(0, "ticks"))
		return n > 0 && len(c.records(1, "ticks")) == n && len(c.records(2, "ticks")) == n
	})
	for i := range c.nodes {
		checkStored(t, c.records(i, "ticks"), loads)
	}
	for i := range c.nodes {
		st, b := c.api(i, "GET", "/api/v1/audit/verify", nil)
		if st != 200 || !bytes.Contains(b, []byte(`"ok":true`)) {
			t.Fatalf("audit verify on node %d after the kills: %d %s", i+1, st, b)
		}
	}
}
