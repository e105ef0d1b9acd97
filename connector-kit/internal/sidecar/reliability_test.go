package sidecar_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/internal/problem"

	"github.com/jobtech-dev/datahub/connector-kit/internal/sidecar"
	"github.com/jobtech-dev/datahub/connector-kit/kittest"
	"github.com/jobtech-dev/datahub/connector-kit/sink/webhook"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// waitDrained waits until the sidecar's outbox is empty.
func waitDrained(t testing.TB, url string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "/healthz")
		if err == nil {
			var h struct {
				Pending int `json:"outbox_pending"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&h)
			resp.Body.Close()
			if h.Pending == 0 {
				return
			}
		}
		time.Sleep(10 * time.Millisecond) // short: a benchmark times the drain
	}
	t.Fatalf("outbox not drained within %s", within)
}

// countByID reads the dataset and counts records per id.
func countByID(h *kittest.Hub, dataset string) map[string]int {
	m := map[string]int{}
	for _, e := range h.Records(dataset) {
		m[e.RecordID]++
	}
	return m
}

func TestHubKilledDuringSteadyPosts(t *testing.T) {
	t.Parallel()
	// forward_during_fsync sends records to the hub before their fsync:
	// the promise to the clients is the same.
	for _, during := range []bool{false, true} {
		t.Run(fmt.Sprintf("forward_during_fsync=%v", during), func(t *testing.T) {
			t.Parallel()
			hubKilledDuringSteadyPosts(t, during)
		})
	}
}

func hubKilledDuringSteadyPosts(t *testing.T, forwardDuringFsync bool) {
	h := kittest.Start(t, "")
	sc := startSidecar(t, h, "jobbland", func(c *sidecar.Config) {
		c.AckTimeout = 500 * time.Millisecond
		c.ForwardDuringFsync = forwardDuringFsync
	})
	ad := example(t, "valid", "small-ad.json")
	var mu sync.Mutex
	var acked []string
	statuses := map[int]int{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 5 * time.Second}
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Post(sc.URL()+"/v1/datasets/jobads/records", "application/json", bytes.NewReader(ad))
				if err != nil {
					continue
				}
				var r problem.LineResult
				_ = json.NewDecoder(resp.Body).Decode(&r)
				resp.Body.Close()
				mu.Lock()
				statuses[resp.StatusCode]++
				if resp.StatusCode/100 == 2 {
					acked = append(acked, r.ID)
				}
				mu.Unlock()
			}
		}()
	}
	time.Sleep(3 * time.Second)
	h.Kill() // SIGKILL: no goodbye
	time.Sleep(4 * time.Second)
	h.Restart()
	time.Sleep(4 * time.Second)
	close(stop)
	wg.Wait()
	waitDrained(t, sc.URL(), 30*time.Second)
	got := countByID(h, "jobads")
	mu.Lock()
	defer mu.Unlock()
	if statuses[http.StatusAccepted] == 0 || statuses[http.StatusCreated] == 0 {
		t.Fatalf("answers %v: want both stored (201) and queued (202) records", statuses)
	}
	missing, dup := 0, 0
	for _, id := range acked {
		switch got[id] {
		case 0:
			missing++
		case 1:
		default:
			dup++
		}
	}
	if missing > 0 || dup > 0 {
		t.Fatalf("%d records answered 2xx: %d missing, %d stored more than once (answers %v)", len(acked), missing, dup, statuses)
	}
	if len(got) != len(acked) {
		t.Fatalf("dataset has %d records, %d were answered 2xx", len(got), len(acked))
	}
	t.Logf("%d records over %v answers, hub killed for 4 s: all stored exactly once", len(acked), statuses)
}

// connectorProc runs the connector binary.
type connectorProc struct {
	cmd    *exec.Cmd
	url    string
	done   chan error
	log    *bytes.Buffer
	reaped sync.Once
}

func runConnector(t *testing.T, cfgPath string) *connectorProc {
	t.Helper()
	cmd := exec.Command(kittest.Bin(t, "connector"), "run", "-c", cfgPath)
	out, _ := cmd.StdoutPipe()
	p := &connectorProc{cmd: cmd, done: make(chan error, 1), log: &bytes.Buffer{}}
	cmd.Stderr = p.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "local" {
				found <- f[2]
			}
		}
		p.done <- cmd.Wait()
	}()
	select {
	case p.url = <-found:
	case err := <-p.done:
		t.Fatalf("connector exited: %v\n%s", err, p.log)
	case <-time.After(20 * time.Second):
		t.Fatal("connector not ready")
	}
	t.Cleanup(p.kill)
	return p
}

// kill SIGKILLs the connector and reaps it (once).
func (p *connectorProc) kill() {
	p.reaped.Do(func() { _ = p.cmd.Process.Kill(); <-p.done })
}

func TestSidecarKilledWithQueuedOutbox(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "connector.yaml")
	port := kittest.FreePort(t)
	cfg := fmt.Sprintf("hub:\n  url: %s\n  credentials: %s\nlisten: 127.0.0.1:%d\noutbox: %s\nstate: %s\nack_timeout: 300ms\nlog_level: warn\n",
		h.NATSURL(), h.Actor("jobbland"), port, filepath.Join(dir, "outbox"), filepath.Join(dir, "state"))
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	c := runConnector(t, cfgPath)
	h.Kill() // the hub is away: everything queues
	ad := example(t, "valid", "small-ad.json")
	var ids []string
	for i := 0; i < 50; i++ {
		code, body := post(t, c.url+"/v1/datasets/jobads/records", "application/json", ad)
		var r problem.LineResult
		_ = json.Unmarshal(body, &r)
		if code != http.StatusAccepted || r.Status != "queued" {
			t.Fatalf("POST while the hub is away: %d %s", code, body)
		}
		ids = append(ids, r.ID)
	}
	c.kill() // SIGKILL with 50 records queued
	h.Restart()
	c = runConnector(t, cfgPath)
	waitDrained(t, c.url, 30*time.Second)
	got := countByID(h, "jobads")
	for _, id := range ids {
		if got[id] != 1 {
			t.Fatalf("queued record %s stored %d times after the sidecar was killed", id, got[id])
		}
	}
}

func TestWebhookFailingHalfGetsEverything(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	secret := "s3cret"
	var calls atomic.Int64
	var mu sync.Mutex
	received := map[string]int{}
	var order []uint64
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if calls.Add(1)%2 == 0 {
			http.Error(w, "flaky", http.StatusServiceUnavailable)
			return
		}
		if err := webhook.Verify([]byte(secret), r.Header.Get("X-Hub-Timestamp"), r.Header.Get("X-Hub-Signature-256"), body, time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var env struct {
			ID  string `json:"id"`
			Seq uint64 `json:"seq"`
		}
		_ = json.Unmarshal(body, &env)
		mu.Lock()
		if received[env.ID] == 0 {
			order = append(order, env.Seq)
		}
		received[env.ID]++
		mu.Unlock()
	}))
	defer hook.Close()
	_ = startSidecar(t, h, "matchwise", func(c *sidecar.Config) {
		c.Outputs = []sidecar.PluginConfig{{Name: "matcher", Type: "webhook", Dataset: "jobads",
			Config: mapSlice("url", hook.URL, "secret", secret, "backoff_initial", "10ms", "backoff_max", "50ms")}}
	})
	pes := startSidecar(t, h, "arbetsformedlingen", nil)
	ad := example(t, "valid", "small-ad.json")
	const n = 40
	var batch [][]byte
	for i := 0; i < n; i++ {
		batch = append(batch, ad)
	}
	if code, body := post(t, pes.URL()+"/v1/datasets/jobads/records", "application/x-ndjson", bytes.Join(batch, []byte("\n"))); code != http.StatusOK {
		t.Fatalf("publish: %d %s", code, body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		k := len(received)
		mu.Unlock()
		if k == n {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(received) != n {
		t.Fatalf("webhook received %d distinct records of %d (after %d calls)", len(received), n, calls.Load())
	}
	for i, s := range order {
		if s != uint64(i+1) {
			t.Fatalf("delivery order %v: not in stream order", order)
		}
	}
}

func TestBatchWhileHubAwayIsQueuedPromptly(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	sc := startSidecar(t, h, "jobbland", func(c *sidecar.Config) { c.AckTimeout = 300 * time.Millisecond })
	h.Kill()
	ad := example(t, "valid", "small-ad.json")
	start := time.Now()
	code, body := post(t, sc.URL()+"/v1/datasets/jobads/records", "application/x-ndjson", bytes.Join([][]byte{ad, ad, ad, ad, ad}, []byte("\n")))
	if code != http.StatusAccepted || batchCounts(t, body)[wire.StatusQueued] != 5 {
		t.Fatalf("batch while the hub is away: %d %s", code, body)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("batch answer took %s", el)
	}
	h.Restart()
	waitDrained(t, sc.URL(), 30*time.Second)
	if n := len(h.Records("jobads")); n != 5 {
		t.Fatalf("%d records after the hub came back, want 5", n)
	}
}
