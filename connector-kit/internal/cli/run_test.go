package cli_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/kittest"
)

// connector is a `connector run` process.
type connector struct {
	cmd    *exec.Cmd
	url    string // the local API, once ready
	done   chan struct{}
	err    error // the exit, once done
	mu     sync.Mutex
	stderr bytes.Buffer
}

func (c *connector) log() string { c.mu.Lock(); defer c.mu.Unlock(); return c.stderr.String() }

type lockedBuffer struct{ c *connector }

func (l lockedBuffer) Write(p []byte) (int, error) {
	l.c.mu.Lock()
	defer l.c.mu.Unlock()
	return l.c.stderr.Write(p)
}

// startConnector runs `connector run args...` and waits until it is ready
// or has exited.
func startConnector(t *testing.T, args ...string) *connector {
	t.Helper()
	c := &connector{cmd: exec.Command(kittest.Bin(t, "connector"), append([]string{"run"}, args...)...), done: make(chan struct{})}
	out, _ := c.cmd.StdoutPipe()
	c.cmd.Stderr = lockedBuffer{c}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "local" {
				ready <- f[2]
			}
		}
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() { _ = c.cmd.Process.Kill(); <-c.done })
	select {
	case c.url = <-ready:
	case <-c.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("connector neither ready nor gone:\n%s", c.log())
	}
	return c
}

func (c *connector) exitCode(t *testing.T) int {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("connector still running:\n%s", c.log())
	}
	if ee, ok := c.err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return 0
}

func httpDo(t *testing.T, method, url, token string, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// The local API on every interface needs a token; without one the
// connector refuses to start.
func TestRunBeyondLoopbackNeedsAToken(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	creds := h.Actor("jobbland")
	dir := t.TempDir()
	common := func(port int) []string {
		return []string{"--hub", h.NATSURL(), "--credentials", creds, "--listen", fmt.Sprintf("0.0.0.0:%d", port),
			"--outbox", filepath.Join(dir, "outbox"), "--state", filepath.Join(dir, "state")}
	}
	c := startConnector(t, common(kittest.FreePort(t))...)
	if code := c.exitCode(t); code != 2 || !strings.Contains(c.log(), "api_token") {
		t.Fatalf("run --listen 0.0.0.0 without a token: exit %d, want 2 naming api_token:\n%s", code, c.log())
	}
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte("short\n"), 0o600)
	c = startConnector(t, append(common(kittest.FreePort(t)), "--api-token-file", tokenFile)...)
	if code := c.exitCode(t); code != 2 || !strings.Contains(c.log(), "easy to guess") {
		t.Fatalf("run with a 5-character token: exit %d:\n%s", code, c.log())
	}

	token := "0123456789abcdef0123456789abcdef"
	os.WriteFile(tokenFile, []byte(token+"\n"), 0o600)
	port := kittest.FreePort(t)
	c = startConnector(t, append(common(port), "--api-token-file", tokenFile)...)
	if c.url == "" {
		t.Fatalf("connector with a token did not start:\n%s", c.log())
	}
	// stderr is copied by its own goroutine: the warning may trail the
	// ready line on stdout a little.
	warned := func() bool {
		return strings.Contains(c.log(), "level=WARN") && strings.Contains(c.log(), "beyond this machine")
	}
	for deadline := time.Now().Add(5 * time.Second); !warned() && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if !warned() {
		t.Fatalf("no warning about the open address:\n%s", c.log())
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	ad, _ := os.ReadFile(filepath.Join(kittest.RepoRoot(), "schemas", "jobads", "examples", "valid", "small-ad.json"))
	for _, tc := range []struct {
		method, path, token string
		body                []byte
		want                int
	}{
		{"GET", "/healthz", "", nil, 200},
		{"GET", "/v1/rejected", "", nil, 401},
		{"GET", "/v1/rejected", "wrong-token-wrong-token", nil, 401},
		{"GET", "/metrics", "", nil, 401},
		{"POST", "/v1/datasets/jobads/records", "", ad, 401},
		{"GET", "/v1/rejected", token, nil, 200},
		{"POST", "/v1/datasets/jobads/records", token, ad, 201},
	} {
		code, body := httpDo(t, tc.method, base+tc.path, tc.token, tc.body)
		if code != tc.want {
			t.Errorf("%s %s with token %q: %d %s, want %d", tc.method, tc.path, tc.token, code, body, tc.want)
		}
		if code == 401 && !bytes.Contains(body, []byte(`"unauthorized"`)) {
			t.Errorf("401 is not a problem document: %s", body)
		}
	}
	if n := len(h.Records("jobads")); n != 1 {
		t.Fatalf("hub has %d records, want only the authorized one", n)
	}
}

// frameEnd returns the offset after the n-th record (0-based) of a
// segment: each record is a little-endian length, a CRC and the payload.
func frameEnd(b []byte, n int) int {
	off := 0
	for range n + 1 {
		off += 8 + int(binary.LittleEndian.Uint32(b[off:]))
	}
	return off
}

// One flipped byte in the outbox stopped the connector for good; now it
// names the commands that check and repair it, and a repair keeps every
// intact record.
func TestOutboxCheckAndRepair(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	creds := h.Actor("jobbland")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "connector.yaml")
	ob := filepath.Join(dir, "outbox")
	os.WriteFile(cfg, []byte(fmt.Sprintf("hub: {url: %s, credentials: %s}\nlisten: 127.0.0.1:%d\noutbox: %s\nstate: %s\nack_timeout: 100ms\n",
		h.NATSURL(), creds, kittest.FreePort(t), ob, filepath.Join(dir, "state"))), 0o600)
	h.Kill() // the records stay in the outbox
	c := startConnector(t, "-c", cfg)
	ads, _ := os.ReadFile(filepath.Join(kittest.JobTechData(), "job-ads.ndjson"))
	var ids []string
	for _, ad := range bytes.Split(bytes.TrimSpace(ads), []byte("\n")) {
		for i := range 2 {
			var m map[string]any
			json.Unmarshal(ad, &m)
			m["headline"] = fmt.Sprintf("%v (%d)", m["headline"], i)
			rec, _ := json.Marshal(m)
			code, body := httpDo(t, "POST", c.url+"/v1/datasets/jobads/records", "", rec)
			var r struct{ ID string }
			json.Unmarshal(body, &r)
			if code != 202 {
				t.Fatalf("POST while the hub is away: %d %s", code, body)
			}
			ids = append(ids, r.ID)
		}
	}
	_ = c.cmd.Process.Kill()
	<-c.done

	segs, _ := filepath.Glob(filepath.Join(ob, "*.seg"))
	if len(segs) != 1 {
		t.Fatalf("segments %v", segs)
	}
	b, _ := os.ReadFile(segs[0])
	b[frameEnd(b, 2)-3] ^= 0x20 // the third record's data
	os.WriteFile(segs[0], b, 0o600)

	c = startConnector(t, "-c", cfg)
	if code := c.exitCode(t); code == 0 || !strings.Contains(c.log(), "connector outbox check --outbox "+ob) || !strings.Contains(c.log(), "connector outbox repair --outbox "+ob) {
		t.Fatalf("start on a damaged outbox: exit %d, want the commands named:\n%s", code, c.log())
	}
	cli := func(args ...string) (string, int) {
		cmd := exec.Command(kittest.Bin(t, "connector"), args...)
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}
	out, code := cli("outbox", "check", "-c", cfg)
	if code != 1 || !strings.Contains(out, "checksum mismatch; record 3 lost") || !strings.Contains(out, "id "+ids[2]) {
		t.Fatalf("outbox check: exit %d\n%s", code, out)
	}
	out, code = cli("outbox", "repair", "--outbox", ob)
	if code != 0 || !strings.Contains(out, "5 records kept") || !strings.Contains(out, ob+".quarantine") {
		t.Fatalf("outbox repair: exit %d\n%s", code, out)
	}
	if out, code = cli("outbox", "check", "--outbox", ob); code != 0 || !strings.Contains(out, "intact") {
		t.Fatalf("check after the repair: exit %d\n%s", code, out)
	}
	h.Restart()
	c = startConnector(t, "-c", cfg)
	if c.url == "" {
		t.Fatalf("connector after the repair:\n%s", c.log())
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := map[string]bool{}
		for _, e := range h.Records("jobads") {
			got[e.RecordID] = true
		}
		if len(got) == 5 {
			for i, id := range ids {
				if got[id] != (i != 2) {
					t.Fatalf("record %d (%s) stored %v after the repair", i, id, got[id])
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("hub has %d of the 5 kept records", len(got))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
