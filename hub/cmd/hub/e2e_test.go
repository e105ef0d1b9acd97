package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
)

var hubBin string

func TestMain(m *testing.M) {
	execWithFileLimitIfAsked()
	dir, err := os.MkdirTemp("", "hub-e2e-bin")
	if err != nil {
		panic(err)
	}
	hubBin = filepath.Join(dir, "hub")
	build := exec.Command("go", "build", "-o", hubBin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build hub:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// hubProc is a running `hub serve`.
type hubProc struct {
	cmd     *exec.Cmd
	httpURL string
	nats    string
	stderr  *lockedBuffer
	done    chan error
}

var (
	httpLine = regexp.MustCompile(`HTTP API:\s+(https?://\S+)`)
	natsRE   = regexp.MustCompile(natsLine)
)

// natsURL is where actors connect to the hub.
func (p *hubProc) natsURL(t *testing.T) string {
	t.Helper()
	if p.nats == "" {
		t.Fatal("hub printed no NATS URL")
	}
	return p.nats
}

// serve starts `hub serve` on data with the repository's schemas and
// policies; extra flags come last and win.
func serve(t *testing.T, data string, extra ...string) *hubProc {
	t.Helper()
	return startServe(t, exec.Command(hubBin, serveArgs(data, extra...)...))
}

// serveArgs are the arguments of `hub serve` on data with the repository's
// datasets and policies and free ports; more flags come last and win.
func serveArgs(data string, more ...string) []string {
	return append([]string{"serve", "--data", data, "--schemas", hubtest.SchemasDir(), "--policies", filepath.Join(hubtest.RepoRoot(), "policies"),
		"--nats-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"}, more...)
}

// startServe starts cmd, a `hub serve`, and waits until it prints its URLs.
func startServe(t *testing.T, cmd *exec.Cmd) *hubProc {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &hubProc{cmd: cmd, stderr: &lockedBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := natsRE.FindStringSubmatch(sc.Text()); m != nil {
				p.nats = m[1]
			}
			if m := httpLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		p.done <- cmd.Wait()
	}()
	select {
	case p.httpURL = <-found:
	case err := <-p.done:
		t.Fatalf("hub exited at start: %v\n%s", err, p.stderr)
	case <-time.After(20 * time.Second):
		t.Fatalf("hub not ready\n%s", p.stderr)
	}
	return p
}

// lockedBuffer is a buffer a running process writes to and a test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// stop sends SIGTERM and expects a clean exit.
func (p *hubProc) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("hub exited with %v after SIGTERM\n%s", err, p.stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("hub did not stop on SIGTERM\n%s", p.stderr)
	}
}

// run runs the hub CLI and returns its stdout, stderr and exit code.
func run(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(hubBin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func envelopes(t *testing.T, out string) []wire.Envelope {
	t.Helper()
	var es []wire.Envelope
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var e wire.Envelope
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("not an envelope: %q: %v", l, err)
		}
		es = append(es, e)
	}
	return es
}

func TestEndToEnd(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	h := serve(t, data)
	if fi, err := os.Stat(filepath.Join(data, "admin.token")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin token: %v %v, want mode 0600", fi, err)
	}

	// The three real ads, every invalid example, then a tombstone.
	var in bytes.Buffer
	in.Write(bytes.TrimSpace(hubtest.ReadFile(t, filepath.Join(hubtest.JobTechData(), "job-ads.ndjson"))))
	in.WriteByte('\n')
	invalid, _ := filepath.Glob(filepath.Join(hubtest.SchemasDir(), "jobads", "examples", "invalid", "*.json"))
	// Ad 23174210 is invalid only against the real taxonomy, which this hub
	// has not loaded (taxonomy_e2e_test.go publishes it first).
	invalid = slices.DeleteFunc(invalid, func(f string) bool { return filepath.Base(f) == "ad-23174210.json" })
	for _, f := range invalid {
		var c bytes.Buffer
		if err := json.Compact(&c, hubtest.ReadFile(t, f)); err != nil {
			t.Fatal(err)
		}
		in.Write(c.Bytes())
		in.WriteByte('\n')
	}
	in.WriteString("this is not json\n")
	in.Write(hubtest.ReadFile(t, filepath.Join(hubtest.SchemasDir(), "jobads", "examples", "valid", "tombstone-22884504.json")))
	file := filepath.Join(t.TempDir(), "ads.ndjson")
	if err := os.WriteFile(file, in.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	common := []string{"--hub-url", h.httpURL, "--data", data}
	out, errOut, code := run(t, nil, append([]string{"publish", "--dataset", "jobads", file}, common...)...)
	if code != 1 {
		t.Fatalf("publish with invalid records: exit %d, want 1\n%s%s", code, out, errOut)
	}
	wantBad := len(invalid) + 1
	if !strings.Contains(out, fmt.Sprintf("4 stored, 0 duplicates, %d not stored", wantBad)) {
		t.Fatalf("publish summary:\n%s", out)
	}
	if !strings.Contains(out, "ads.ndjson:4: rejected: ") || !strings.Contains(out, "/headline") {
		t.Fatalf("publish output lacks per-record rejections with pointers:\n%s", out)
	}

	// A wrong token changes nothing.
	_, errOut, code = run(t, []string{"HUB_TOKEN=wrong"}, append([]string{"publish", "--dataset", "jobads", file}, common...)...)
	if code == 0 || !strings.Contains(errOut, "401") {
		t.Fatalf("wrong token: exit %d, %s", code, errOut)
	}

	h.stop(t)
	h = serve(t, data)
	common = []string{"--hub-url", h.httpURL, "--data", data}

	out, errOut, code = run(t, nil, append([]string{"read", "--dataset", "jobads"}, common...)...)
	all := envelopes(t, out)
	if code != 0 || len(all) != 4 {
		t.Fatalf("read after restart: exit %d, %d records\n%s%s", code, len(all), out, errOut)
	}
	wantKeys := []string{"22884504", "23174210", "23187561", "22884504"}
	for i, e := range all {
		if e.Key != wantKeys[i] || e.Seq != uint64(i+1) || e.Publisher != "admin" || e.Origin != "hub" || e.SchemaVersion != 1 {
			t.Fatalf("record %d after restart: %+v", i, e)
		}
	}
	if !bytes.Contains(all[1].Data, []byte(`"Java-utvecklare"`)) {
		t.Fatal("payload not kept")
	}
	out, _, _ = run(t, nil, append([]string{"read", "--dataset", "jobads", "--after", "2"}, common...)...)
	if es := envelopes(t, out); len(es) != 2 || es[0].Seq != 3 {
		t.Fatalf("read --after 2: %+v", es)
	}
	out, _, _ = run(t, nil, append([]string{"read", "--dataset", "jobads", "--since", all[3].PublishedAt.Format(time.RFC3339Nano)}, common...)...)
	if es := envelopes(t, out); len(es) != 1 || !es[0].Tombstone {
		t.Fatalf("read --since: %+v", es)
	}
	out, _, _ = run(t, nil, append([]string{"read", "--dataset", "jobads", "--snapshot"}, common...)...)
	var keys []string
	for _, e := range envelopes(t, out) {
		keys = append(keys, e.Key)
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != "23174210,23187561" {
		t.Fatalf("snapshot keys %v: ad 22884504 was removed by its tombstone", keys)
	}
	out, _, code = run(t, nil, append([]string{"deadletters", "--dataset", "jobads", "-o", "json"}, common...)...)
	var dls []wire.DeadLetter
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var d wire.DeadLetter
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatalf("dead letter %q: %v", l, err)
		}
		dls = append(dls, d)
	}
	if code != 0 || len(dls) != wantBad {
		t.Fatalf("dead letters after restart: %d, want %d", len(dls), wantBad)
	}
	for _, d := range dls {
		if d.Reason == "" || d.Publisher != "admin" || d.RejectedAt.IsZero() || len(d.Data) == 0 {
			t.Fatalf("dead letter incomplete: %+v", d)
		}
	}
	out, _, code = run(t, nil, append([]string{"datasets"}, common...)...)
	if code != 0 || !strings.Contains(out, "jobads") || !strings.Contains(out, "taxonomy-concepts") || !strings.Contains(out, "VALIDATOR") || !strings.Contains(out, "fast") {
		t.Fatalf("datasets: %s", out)
	}
	h.stop(t)
}

func TestValidateOffline(t *testing.T) {
	t.Parallel()
	valid, _ := filepath.Glob(filepath.Join(hubtest.SchemasDir(), "jobads", "examples", "valid", "*.json"))
	out, _, code := run(t, nil, append([]string{"validate", "--dataset", "jobads", "--schemas", hubtest.SchemasDir()}, valid...)...)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("%d valid, 0 invalid", len(valid))) {
		t.Fatalf("valid examples: exit %d\n%s", code, out)
	}
	bad := filepath.Join(hubtest.SchemasDir(), "jobads", "examples", "invalid", "headline-not-string.json")
	out, _, code = run(t, nil, "validate", "--dataset", "jobads", "--schemas", hubtest.SchemasDir(), bad)
	if code != 1 || !strings.Contains(out, "/headline") || !strings.Contains(out, "type") {
		t.Fatalf("invalid example: exit %d\n%s", code, out)
	}
	out, _, code = run(t, nil, "validate", "--schema", filepath.Join(hubtest.SchemasDir(), "taxonomy-concepts", "concept.schema.json"),
		filepath.Join(hubtest.SchemasDir(), "taxonomy-concepts", "examples", "valid", "concepts.ndjson"))
	if code != 0 || !strings.Contains(out, "0 invalid") {
		t.Fatalf("--schema with NDJSON: exit %d\n%s", code, out)
	}
	_, errOut, code := run(t, nil, "validate", "--dataset", "nosuch", "--schemas", hubtest.SchemasDir(), bad)
	if code != 2 || !strings.Contains(errOut, "nosuch") {
		t.Fatalf("unknown dataset: exit %d %s", code, errOut)
	}
}

func TestServeRefusesBadSchemas(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "broken"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "broken", "dataset.yaml"), []byte("name: broken\nowner: x\nkey: id\nschema_version: 1\nschema: nope.json\ncolour: red\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := run(t, nil, "serve", "--data", t.TempDir(), "--schemas", dir, "--nats-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0")
	if code == 0 || !strings.Contains(errOut, "dataset.yaml") || !strings.Contains(errOut, "colour") {
		t.Fatalf("bad declaration: exit %d, %s", code, errOut)
	}
}

func TestCLIRefusesWhatIsNotAHub(t *testing.T) {
	t.Parallel()
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html><body>Welcome</body></html>")
	}))
	defer web.Close()
	for _, args := range [][]string{{"actor", "revoke", "zed"}, {"read", "--dataset", "jobads"}, {"datasets"}} {
		out, errOut, code := run(t, []string{"HUB_TOKEN=x"}, append(args, "--hub-url", web.URL)...)
		if code == 0 || !strings.Contains(errOut, "is not a JobTech Data Hub API") {
			t.Errorf("%v against a web page: exit %d, out %q, err %q", args, code, out, errOut)
		}
	}
	empty := t.TempDir()
	_, errOut, code := run(t, []string{"HUB_TOKEN=x"}, "policy", "apply", "-f", empty, "--hub-url", web.URL)
	if code == 0 || !strings.Contains(errOut, "--allow-empty") {
		t.Fatalf("applying an empty policy folder: exit %d, %s", code, errOut)
	}
}

func TestServeFailsFastOnBusyPort(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	start := time.Now()
	_, errOut, code := run(t, nil, "serve", "--data", t.TempDir(), "--schemas", hubtest.SchemasDir(), "--nats-listen", ln.Addr().String(), "--http-listen", "127.0.0.1:0")
	if code == 0 || !strings.Contains(errOut, "address already in use") || time.Since(start) > 10*time.Second {
		t.Fatalf("busy NATS port: exit %d after %s: %s", code, time.Since(start), errOut)
	}
}
