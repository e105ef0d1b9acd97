//go:build linux

package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
)

// serveWithFileLimit starts `hub serve` on a fresh data dir with the YAML
// config conf, under a file descriptor limit of nofile from its start.
func serveWithFileLimit(t *testing.T, nofile int, conf string) (*hubProc, string) {
	t.Helper()
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "hub.yaml")
	if err := os.WriteFile(cfgFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	cmd := exec.Command(os.Args[0], append([]string{hubBin}, serveArgs(data, "--config", cfgFile)...)...)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", fileLimitEnv, nofile))
	p := startServe(t, cmd)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("hub log:\n%s", p.stderr)
		}
	})
	token := strings.TrimSpace(string(hubtest.ReadFile(t, filepath.Join(data, "admin.token"))))
	return p, token
}

// openFDs counts the descriptors process pid has open.
func openFDs(pid int) int {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return -1
	}
	return len(ents)
}

// keptAlive is an HTTP client on one kept-alive connection, opened before a
// flood so it keeps working while the hub can accept no new one.
type keptAlive struct {
	t     *testing.T
	c     *http.Client
	base  string
	token string
}

func newKeptAlive(t *testing.T, base, token string) *keptAlive {
	tr := &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1, IdleConnTimeout: time.Minute}
	t.Cleanup(tr.CloseIdleConnections)
	k := &keptAlive{t: t, c: &http.Client{Transport: tr, Timeout: 5 * time.Second}, base: base, token: token}
	if code, body := k.get("/readyz"); code != 200 {
		t.Fatalf("readyz before the flood: %d %s", code, body)
	}
	return k
}

func (k *keptAlive) do(method, path string, body []byte) (int, string) {
	req, _ := http.NewRequest(method, k.base+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+k.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := k.c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (k *keptAlive) get(path string) (int, string) { return k.do("GET", path, nil) }

// publishAd publishes the small example ad under id and returns the status.
func (k *keptAlive) publishAd(id string) (int, string) {
	ad := bytes.Replace(hubtest.ReadFile(k.t, filepath.Join(hubtest.SchemasDir(), "jobads", "examples", "valid", "small-ad.json")),
		[]byte(`"id":"23187561"`), fmt.Appendf(nil, `"id":%q`, id), 1)
	return k.do("POST", "/api/v1/datasets/jobads/records", ad)
}

// flood opens n TCP connections to addr and holds them until the test ends
// or release is called.
func flood(t *testing.T, addr string, n int) (release func()) {
	t.Helper()
	var mu sync.Mutex
	var conns []net.Conn
	for range n {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
	}
	release = func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
		conns = nil
	}
	t.Cleanup(release)
	return release
}

func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// When a flood takes every file descriptor, JetStream fails to write its
// streams' files and refuses every write from then on. The hub says so on
// /readyz, and once the flood is gone reloads the streams itself: publishing
// works again without a restart. The caps are lifted here so the flood can
// reach the limit; the next test shows they keep it from doing so.
func TestHubRecoversFromDescriptorExhaustion(t *testing.T) {
	t.Parallel()
	const nofile = 128
	p, token := serveWithFileLimit(t, nofile, "log_level: warn\nhttp_max_conns: -1\nhttp_max_conns_per_ip: -1\nnats_max_conns: -1\n"+
		"http_read_header_timeout: 60s\nhttp_idle_timeout: 60s\njetstream_sync_interval: 200ms\n")
	pid := p.cmd.Process.Pid
	k := newKeptAlive(t, p.httpURL, token)
	if code, body := k.publishAd("before"); code != 201 {
		t.Fatalf("publish before the flood: %d %s", code, body)
	}
	var mu sync.Mutex
	var notReady []string
	stop := make(chan struct{})
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if code, body := k.get("/readyz"); code == 503 {
				mu.Lock()
				notReady = append(notReady, body)
				mu.Unlock()
			}
		}
	}()

	release := flood(t, strings.TrimPrefix(p.httpURL, "http://"), 2*nofile)
	waitUntil(t, 10*time.Second, "descriptors exhausted", func() bool { return openFDs(pid) >= nofile-1 })
	waitUntil(t, 10*time.Second, "a stream write failing", func() bool {
		return strings.Contains(strings.ToLower(p.stderr.String()), "critical write error")
	})
	release()

	// Recovered without a restart: publishing works and the hub is ready.
	waitUntil(t, 15*time.Second, "publish after the flood", func() bool {
		code, _ := k.publishAd(fmt.Sprintf("after-%d", time.Now().UnixNano()))
		return code == 201
	})
	waitUntil(t, 5*time.Second, "ready after the flood", func() bool { code, _ := k.get("/readyz"); return code == 200 })
	close(stop)
	<-polled
	mu.Lock()
	defer mu.Unlock()
	said := strings.Join(notReady, "\n")
	// Either reason names the cause: the descriptor check while the table
	// is full, or the storage failure it left behind once descriptors are
	// free again (the storage watch clears that within a second, so a
	// 50 ms poll may see only the first).
	if !strings.Contains(said, "too many open files") && !strings.Contains(said, "file descriptors nearly exhausted") {
		t.Fatalf("/readyz never said why the hub was not ready during the failure; it said:\n%s", said)
	}
	if !strings.Contains(p.stderr.String(), "jetstream storage recovered") {
		t.Fatalf("no recovery logged:\n%s", p.stderr)
	}
	var rec struct{ Key string }
	_, body := k.get("/api/v1/datasets/jobads/records?after=1")
	if err := json.NewDecoder(strings.NewReader(body)).Decode(&rec); err != nil || !strings.HasPrefix(rec.Key, "after-") {
		t.Fatalf("records after the recovery: %q %v", body, err)
	}
	// The audit log, whose stream failed too, takes entries again and its
	// chain is intact.
	actor := hubtest.NewActor(t, "after-flood")
	if code, body := k.do("POST", "/api/v1/actors", fmt.Appendf(nil, `{"name":%q,"public_key":%q}`, actor.Name, actor.PublicKey())); code != 201 {
		t.Fatalf("create an actor after the recovery: %d %s", code, body)
	}
	var rep struct {
		OK      bool
		Entries int
	}
	if code, body := k.get("/api/v1/audit/verify"); code != 200 || json.Unmarshal([]byte(body), &rep) != nil || !rep.OK || rep.Entries == 0 {
		t.Fatalf("audit verify after the recovery: %d %s", code, body)
	}
	p.stop(t)
}

// With the caps derived from the descriptor limit, the same flood (on HTTP
// and on NATS) meets a cap long before the hub runs out of descriptors: it
// stays ready and keeps storing records throughout.
func TestConnectionCapsKeepDescriptorsForStorage(t *testing.T) {
	t.Parallel()
	const nofile = 512
	p, token := serveWithFileLimit(t, nofile, "log_level: warn\njetstream_sync_interval: 200ms\n")
	pid := p.cmd.Process.Pid
	k := newKeptAlive(t, p.httpURL, token)
	release := flood(t, strings.TrimPrefix(p.httpURL, "http://"), nofile)
	defer release()
	defer flood(t, strings.TrimPrefix(strings.TrimPrefix(p.natsURL(t), "nats://"), "tls://"), nofile)()
	most := 0
	for i := range 15 {
		most = max(most, openFDs(pid))
		if code, body := k.get("/readyz"); code != 200 {
			t.Fatalf("not ready during the flood: %d %s", code, body)
		}
		if code, body := k.publishAd(fmt.Sprintf("flood-%d", i)); code != 201 {
			t.Fatalf("publish %d during the flood: %d %s", i, code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if strings.Contains(strings.ToLower(p.stderr.String()), "critical write error") {
		t.Fatalf("a stream failed to write during the flood (%d of %d descriptors open at most):\n%s", most, nofile, p.stderr)
	}
	// The caps hold 192 connections here; a connection over a cap is
	// accepted and then closed, so refused ones hold a descriptor for a
	// moment too. Without the caps the flood takes all 512.
	if most > nofile-64 {
		t.Fatalf("the hub had %d of %d descriptors open during the flood", most, nofile)
	}
	p.stop(t)
}
