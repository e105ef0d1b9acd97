package clustertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/creds"
	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
)

var hubBin, connectorBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "clustertest-bin")
	if err != nil {
		panic(err)
	}
	hubBin, connectorBin = filepath.Join(dir, "hub"), filepath.Join(dir, "connector")
	for out, pkg := range map[string]string{hubBin: "./hub/cmd/hub", connectorBin: "./connector-kit/cmd/connector"} {
		build := exec.Command("go", "build", "-o", out, pkg)
		build.Dir = hubtest.RepoRoot()
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build", pkg, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// lockedBuffer collects a process's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// proc is a running program.
type proc struct {
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan error

	once   sync.Once
	exited chan struct{}
	err    error
}

func startProc(t testing.TB, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), out: &lockedBuffer{}, done: make(chan error, 1)}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { p.kill() })
	return p
}

// kill ends the process at once (SIGKILL), as a machine loss would.
func (p *proc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.stopped()
}

// stopped is closed once the process has exited.
func (p *proc) stopped() <-chan struct{} {
	p.once.Do(func() {
		p.exited = make(chan struct{})
		go func() { p.err = <-p.done; close(p.exited) }()
	})
	return p.exited
}

// stop asks the process to end (SIGTERM) and waits.
func (p *proc) stop(t testing.TB) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.stopped():
	case <-time.After(30 * time.Second):
		// SIGQUIT makes a Go program print where each goroutine is.
		_ = p.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-p.stopped():
		case <-time.After(5 * time.Second):
			p.kill()
		}
		t.Errorf("%s did not stop on SIGTERM within 30s:\n%s", p.cmd.Path, p.out)
	}
}

// node is one hub node: fixed addresses, so a restart rejoins as itself.
type node struct {
	name                    string
	data, nats, http, route string
	proc                    *proc
}

// cluster is a hub of n nodes sharing a secret, an anchor key and an admin
// token, with a test dataset "ticks" and policies for test actors.
type cluster struct {
	t        testing.TB
	dir      string
	schemas  string
	policies string
	secret   string
	anchor   string
	token    string
	tokenF   string
	nodes    []*node
	extra    []string // more `hub serve` flags for every node
	client   *http.Client
}

// ticksSchema is the test dataset: small records with a key and a counter.
const ticksSchema = `{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object",
"required":["id","n"],"properties":{"id":{"type":"string"},"n":{"type":"integer"},"pad":{"type":"string"}}}`

// testPolicies lets every test actor (p0…p9, sub, watcher) publish and
// subscribe to ticks.
const testPolicies = `[{"id":"ticks-all","subjects":["actor:<p[0-9]+|sub|watcher>"],"resources":["dataset:ticks"],"actions":["publish","subscribe","read-schema"],"effect":"allow"}]`

func newCluster(t testing.TB, n int, extra ...string) *cluster {
	t.Helper()
	dir := t.TempDir()
	c := &cluster{t: t, dir: dir, extra: extra, client: &http.Client{Timeout: 30 * time.Second}}
	c.schemas = filepath.Join(dir, "schemas")
	c.policies = filepath.Join(dir, "policies")
	write := func(path, content string, mode os.FileMode) {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(c.schemas, "ticks", "dataset.yaml"), "name: ticks\ntitle: Ticks\nowner: p0\nkey: id\nschema_version: 1\nschema: ticks.schema.json\n", 0o600)
	write(filepath.Join(c.schemas, "ticks", "ticks.schema.json"), ticksSchema, 0o600)
	write(filepath.Join(c.policies, "ticks.json"), testPolicies, 0o600)
	c.secret = filepath.Join(dir, "cluster.secret")
	write(c.secret, "test-cluster-secret-0123456789abcdef\n", 0o600)
	c.token = "test-admin-token-0123456789abcdef"
	c.tokenF = filepath.Join(dir, "admin.token")
	write(c.tokenF, c.token+"\n", 0o600)
	c.anchor = filepath.Join(dir, "keys", "anchor.nk")
	if _, _, err := audit.LoadOrCreateKey(c.anchor); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		c.nodes = append(c.nodes, &node{name: fmt.Sprintf("n%d", i+1), data: filepath.Join(dir, fmt.Sprintf("n%d", i+1), "data"),
			nats: freeAddr(t), http: freeAddr(t), route: freeAddr(t)})
	}
	return c
}

// routes lists every node's route address.
func (c *cluster) routes() string {
	var rs []string
	for _, n := range c.nodes {
		rs = append(rs, n.route)
	}
	return strings.Join(rs, ",")
}

// natsURLs lists every node's client URL, as a clustered hub's credentials
// file does.
func (c *cluster) natsURLs() string {
	var us []string
	for _, n := range c.nodes {
		us = append(us, "nats://"+n.nats)
	}
	return strings.Join(us, ",")
}

// args are node i's `hub serve` flags; clustered adds the cluster's.
func (c *cluster) args(i int, clustered bool) []string {
	n := c.nodes[i]
	a := []string{"serve", "--name", "hub", "--data", n.data, "--nats-listen", n.nats, "--http-listen", n.http,
		"--schemas", c.schemas, "--policies", c.policies, "--admin-token-file", c.tokenF,
		"--audit-anchor-key", c.anchor, "--audit-anchor-file", filepath.Join(c.dir, n.name, "anchors.ndjson"), "--log-level", "info"}
	if clustered {
		a = append(a, "--node-name", n.name, "--cluster-listen", n.route, "--routes", c.routes(), "--cluster-secret-file", c.secret)
	}
	return append(a, c.extra...)
}

// start starts node i (clustered) without waiting for it.
func (c *cluster) start(i int) {
	c.startWith(i, c.args(i, true)...)
}

func (c *cluster) startWith(i int, args ...string) {
	c.t.Helper()
	c.nodes[i].proc = startProc(c.t, hubBin, args...)
}

// startAll starts every node and waits until each is ready.
func (c *cluster) startAll() {
	c.t.Helper()
	for i := range c.nodes {
		c.start(i)
	}
	for i := range c.nodes {
		c.waitReady(i, 90*time.Second)
	}
}

// waitReady waits until node i answers /readyz with 200.
func (c *cluster) waitReady(i int, within time.Duration) {
	c.t.Helper()
	n := c.nodes[i]
	deadline := time.Now().Add(within)
	for {
		select {
		case <-n.proc.stopped():
			c.t.Fatalf("node %s exited at start: %v\n%s", n.name, n.proc.err, n.proc.out)
		default:
		}
		resp, err := c.client.Get("http://" + n.http + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("node %s not ready after %s\n%s", n.name, within, n.proc.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// api calls node i's admin API and returns the status and body.
func (c *cluster) api(i int, method, path string, body any) (int, []byte) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+c.nodes[i].http+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.client.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s on %s: %v", method, path, c.nodes[i].name, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// actor creates an actor through node i and writes its credentials file,
// naming every node of the cluster.
func (c *cluster) actor(i int, name string) string {
	c.t.Helper()
	cr, pub, err := creds.New(name, c.natsURLs())
	if err != nil {
		c.t.Fatal(err)
	}
	path := filepath.Join(c.dir, name+".nk")
	if err := cr.WriteFile(path); err != nil {
		c.t.Fatal(err)
	}
	if st, b := c.api(i, "POST", "/api/v1/actors", map[string]string{"name": name, "public_key": pub}); st != http.StatusCreated && st != http.StatusOK {
		c.t.Fatalf("create actor %s on %s: %d %s", name, c.nodes[i].name, st, b)
	}
	return path
}

// records reads every record of dataset through node i.
func (c *cluster) records(i int, dataset string) []envelope {
	c.t.Helper()
	st, b := c.api(i, "GET", "/api/v1/datasets/"+dataset+"/records?after=0&follow=false", nil)
	if st != http.StatusOK {
		c.t.Fatalf("read %s on %s: %d %s", dataset, c.nodes[i].name, st, b)
	}
	var out []envelope
	dec := json.NewDecoder(bytes.NewReader(b))
	for dec.More() {
		var e envelope
		if err := dec.Decode(&e); err != nil {
			c.t.Fatalf("read %s on %s: %v", dataset, c.nodes[i].name, err)
		}
		out = append(out, e)
	}
	return out
}

// envelope is a stored record as the API returns it.
type envelope struct {
	ID        string `json:"id"`
	Seq       uint64 `json:"seq"`
	Publisher string `json:"publisher"`
	Data      struct {
		ID string `json:"id"`
		N  int    `json:"n"`
	} `json:"data"`
}

// health reads node i's /healthz.
func (c *cluster) health(i int) map[string]any {
	c.t.Helper()
	resp, err := c.client.Get("http://" + c.nodes[i].http + "/healthz")
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var h map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&h)
	return h
}

// eventually polls cond every 20 ms until it holds or within passes.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ctxFor returns a context ending after d, cancelled when the test ends.
func ctxFor(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// dial connects a kit client as the actor of credsFile, quietly.
func dial(ctx context.Context, url, credsFile string) (*kit.Client, error) {
	return kit.Dial(ctx, url, credsFile, kit.WithLogger(slog.New(slog.DiscardHandler)))
}
