package examples_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/kittest"
	"github.com/jobtech-dev/datahub/connector-kit/sink/webhook"
)

// wait bounds every wait for a process's output; the tests take seconds.
const wait = 30 * time.Second

func TestMain(m *testing.M) { kittest.Main(m) }

// TestJobBoardToMatcher runs jobbland's job board publishing the real ads
// and a tombstone through its sidecar, and matchwise's matcher receiving
// them through its own sidecar's webhook output, each exactly once.
func TestJobBoardToMatcher(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	bin := build(t, "jobboard", "matcher")

	const secret = "matchwise-test-secret"
	// Port 0: the matcher and the sidecars print the address they got, so
	// no other process can take a port between its choice and its use.
	matcher := start(t, nil, bin["matcher"], "--listen", "127.0.0.1:0", "--secret", secret)
	_, hook, _ := strings.Cut(matcher.waitFor(t, "matcher listening on "), " on ")
	matcherURL := strings.TrimSuffix(hook, "/hub/jobads")

	// matchwise's sidecar runs the example's own connector.yaml, pointed at
	// this test's hub and matcher.
	conf, err := os.ReadFile("matcher/connector.yaml")
	if err != nil {
		t.Fatal(err)
	}
	conf = bytes.ReplaceAll(conf, []byte("http://127.0.0.1:8282"), []byte(matcherURL))
	connector(t, h, "matchwise", string(conf), "MATCHER_SECRET="+secret)
	jobbland := connector(t, h, "jobbland", "")

	ads := filepath.Join(kittest.JobTechData(), "job-ads.ndjson")
	out := run(t, bin["jobboard"], "--sidecar", jobbland, "--file", ads, "--remove", "22884504")
	t.Logf("jobboard:\n%s", out)
	lineRE := regexp.MustCompile(`^(ad|removed) (\d+): stored id=(\S+) seq=(\d+)$`)
	want := []string{"ad 22884504", "ad 23174210", "ad 23187561", "removed 22884504"}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(want) {
		t.Fatalf("jobboard printed %d lines, want %d:\n%s", len(lines), len(want), out)
	}
	printed := map[string]bool{}
	for i, l := range lines {
		m := lineRE.FindStringSubmatch(l)
		if m == nil || m[1]+" "+m[2] != want[i] {
			t.Fatalf("jobboard line %d = %q, want %q: stored id=… seq=…", i+1, l, want[i])
		}
		printed[m[3]] = true
	}
	recs := h.Records("jobads")
	if len(recs) != 4 {
		t.Fatalf("jobads has %d records, want 3 ads and a tombstone", len(recs))
	}
	for _, r := range recs {
		if r.Publisher != "jobbland" || !printed[r.RecordID] {
			t.Errorf("stored record %s (key %s) published by %q: want one of the printed ids, by jobbland", r.ID, r.Key, r.Publisher)
		}
	}

	// The matcher prints each record once, in the order they were stored.
	for i, w := range []string{
		"ad 22884504: Trafikledare sökes till växande transportföretag i Abisko/Kiruna området | occupation: Trafikledare, vägtrafik",
		"ad 23174210: Java-utvecklare | occupation: Backend-utvecklare",
		"ad 23187561: Java-utvecklare | occupation: Systemutvecklare/Programmerare",
		"removed 22884504",
	} {
		if got := matcher.next(t); got != w {
			t.Fatalf("matcher line %d = %q, want %q", i+1, got, w)
		}
	}

	// At least once: a delivery sent again is acknowledged and ignored; an
	// unsigned one is refused. The next new delivery is the next line, so
	// neither printed anything.
	first, _ := json.Marshal(map[string]any{"id": recs[0].ID, "key": recs[0].Key, "data": recs[0].Data})
	if code := deliver(t, matcherURL, secret, recs[0].ID, first); code != http.StatusNoContent {
		t.Errorf("repeated delivery answered %d, want 204", code)
	}
	if code := deliver(t, matcherURL, "wrong-secret", "forged-1", first); code != http.StatusUnauthorized {
		t.Errorf("badly signed delivery answered %d, want 401", code)
	}
	fresh := []byte(`{"id":"d2","key":"99999999","data":{"id":"99999999","headline":"Testare","occupation":{"label":"Testare"}}}`)
	if code := deliver(t, matcherURL, secret, "d2", fresh); code != http.StatusNoContent {
		t.Errorf("new delivery answered %d, want 204", code)
	}
	if got, w := matcher.next(t), "ad 99999999: Testare | occupation: Testare"; got != w {
		t.Errorf("after a repeated and a forged delivery the matcher printed %q, want %q", got, w)
	}
}

// TestTaxonomyFeed publishes the first 500 taxonomy concepts with the Go kit
// and checks that a re-run stores nothing twice.
func TestTaxonomyFeed(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	bin := build(t, "taxonomyfeed")
	args := []string{"--hub", h.NATSURL(), "--credentials", h.Actor("arbetsformedlingen"),
		"--file", filepath.Join(kittest.JobTechData(), "taxonomy-concepts.json"), "--limit", "500", "--chunk", "200"}

	if got, w := strings.TrimSpace(run(t, bin["taxonomyfeed"], args...)), "taxonomy-concepts: 500 concepts: 500 stored, 0 duplicates, 0 rejected"; got != w {
		t.Errorf("first run printed %q, want %q", got, w)
	}
	if got, w := strings.TrimSpace(run(t, bin["taxonomyfeed"], args...)), "taxonomy-concepts: 500 concepts: 0 stored, 500 duplicates, 0 rejected"; got != w {
		t.Errorf("re-run printed %q, want %q", got, w)
	}
	recs := h.Records("taxonomy-concepts")
	if len(recs) != 500 {
		t.Fatalf("taxonomy-concepts has %d records, want 500", len(recs))
	}
	if recs[0].Key != "vrDq_rUY_7PX" {
		t.Errorf("first record has key %q, want the file's first concept vrDq_rUY_7PX", recs[0].Key)
	}
	keys := map[string]bool{}
	for _, r := range recs {
		if r.RecordID != r.Key || r.Publisher != "arbetsformedlingen" {
			t.Errorf("record %s (key %s) published by %q: want id = concept id, by arbetsformedlingen", r.ID, r.Key, r.Publisher)
		}
		keys[r.Key] = true
	}
	if len(keys) != 500 {
		t.Errorf("%d distinct concepts stored, want 500", len(keys))
	}
}

// build compiles the named examples into a temp dir and returns their paths.
func build(t *testing.T, names ...string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	paths := map[string]string{}
	for _, n := range names {
		args = append(args, "./"+n)
		paths[n] = filepath.Join(dir, n)
	}
	if b, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return paths
}

// run runs a command to completion and returns its stdout.
func run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", filepath.Base(bin), strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// connector runs a connector sidecar for actor and returns its local API's
// URL. It runs conf, a connector.yaml, with the hub, credentials, address and
// folders of this test given as flags (they win over the file); with conf ""
// it writes a connector.yaml of just those.
func connector(t *testing.T, h *kittest.Hub, actor, conf string, env ...string) string {
	t.Helper()
	dir := t.TempDir()
	settings := []string{
		"--hub", h.NATSURL(),
		"--credentials", h.Actor(actor),
		"--listen", "127.0.0.1:0",
		"--outbox", filepath.Join(dir, "outbox"),
		"--state", filepath.Join(dir, "state"),
	}
	if conf == "" {
		// ack_timeout: a slow machine still answers "stored", not "queued".
		conf = fmt.Sprintf("hub:\n  url: %s\n  credentials: %s\nlisten: %s\noutbox: %s\nstate: %s\nack_timeout: 20s\n",
			settings[1], settings[3], settings[5], settings[7], settings[9])
	}
	file := filepath.Join(dir, "connector.yaml")
	if err := os.WriteFile(file, []byte(conf+"\nlog_level: warn\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, env, kittest.Bin(t, "connector"), append([]string{"run", "-c", file}, settings...)...)
	_, url, _ := strings.Cut(p.waitFor(t, "local API:"), "local API:")
	return strings.TrimSpace(url)
}

// deliver POSTs body to the matcher as a sidecar would, signed with secret.
func deliver(t *testing.T, url, secret, delivery string, body []byte) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/hub/jobads", bytes.NewReader(body))
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhook.HeaderTimestamp, ts)
	req.Header.Set(webhook.HeaderSignature, webhook.Sign([]byte(secret), ts, body))
	req.Header.Set(webhook.HeaderDelivery, delivery)
	resp, err := (&http.Client{Timeout: wait}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// proc is a running process whose stdout lines are read one by one.
type proc struct {
	name   string
	mu     sync.Mutex
	lines  []string
	read   int
	more   chan struct{} // closed and replaced when a line arrives or stdout ends
	ended  bool
	stderr bytes.Buffer
}

// start runs bin with extra environment variables; it is killed when the
// test ends.
func start(t *testing.T, env []string, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: filepath.Base(bin), more: make(chan struct{})}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = t.TempDir()
	cmd.Stderr = &lockedWriter{p: p}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.add(sc.Text(), false)
		}
		p.add("", true)
		_ = cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("%s stdout:\n%s\n%s stderr:\n%s", p.name, strings.Join(p.lines, "\n"), p.name, p.stderr.String())
		}
	})
	return p
}

func (p *proc) add(line string, end bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if end {
		p.ended = true
	} else {
		p.lines = append(p.lines, line)
	}
	close(p.more)
	p.more = make(chan struct{})
}

// next returns the next stdout line not returned yet.
func (p *proc) next(t *testing.T) string {
	t.Helper()
	deadline := time.After(wait)
	for {
		p.mu.Lock()
		if p.read < len(p.lines) {
			l := p.lines[p.read]
			p.read++
			p.mu.Unlock()
			return l
		}
		ended, more := p.ended, p.more
		p.mu.Unlock()
		if ended {
			t.Fatalf("%s exited; stderr:\n%s", p.name, p.stderr.String())
		}
		select {
		case <-more:
		case <-deadline:
			t.Fatalf("%s printed no line within %s", p.name, wait)
		}
	}
}

// waitFor skips stdout lines until one contains s and returns it.
func (p *proc) waitFor(t *testing.T, s string) string {
	t.Helper()
	for {
		if l := p.next(t); strings.Contains(l, s) {
			return l
		}
	}
}

type lockedWriter struct{ p *proc }

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.stderr.Write(b)
}
