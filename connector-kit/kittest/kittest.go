// Package kittest runs the real hub binary for tests of programs built on the
// connector kit (the kit's own, the examples, an actor's):
// built once per test binary, started on free loopback ports with a temp
// data dir, killed and restarted like a real deployment would be.
package kittest

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/internal/pemfile"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// RepoRoot is the repository root.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// JobTechData is the repository's folder of real JobTech data
// (testdata/jobtech, with its SOURCE.md).
func JobTechData() string { return filepath.Join(RepoRoot(), "testdata", "jobtech") }

// Main runs the tests and removes the binaries Bin built; call it from
// TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// Bin returns the path of a binary of the repository (hub or connector),
// building both once.
func Bin(t testing.TB, name string) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "datahub-bin")
		if buildErr != nil {
			return
		}
		for pkg, out := range map[string]string{"./hub/cmd/hub": "hub", "./connector-kit/cmd/connector": "connector"} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, out), pkg)
			cmd.Dir = RepoRoot()
			if b, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("build %s: %v\n%s", pkg, err, b)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, name)
}

// FreePort returns a free TCP port on 127.0.0.1.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Hub is a running hub process.
type Hub struct {
	t        testing.TB
	Data     string
	NATSPort int
	HTTPPort int
	Policies string
	TLS      TLS
	// Args are extra `hub serve` flags (StartArgs), kept for restarts.
	Args  []string
	httpc *http.Client
	cmd   *exec.Cmd
	done  chan error
	log   *bytes.Buffer
	mu    sync.Mutex
}

// TLS makes the hub serve TLS (hub serve --tls-cert, --tls-key,
// --tls-client-ca) and tells its clients what to trust and present.
type TLS struct {
	// Cert and Key are the hub's certificate and key (PEM files).
	Cert, Key string
	// ClientCA, if set, makes the hub require client certificates.
	ClientCA string
	// CA is what clients trust for the hub's certificate (--ca).
	CA string
	// ClientCert and ClientKey are what the CLI and Get present to a hub
	// requiring client certificates.
	ClientCert, ClientKey string
}

// NATSURL is where actors connect (tls://… when the hub serves TLS).
func (h *Hub) NATSURL() string {
	if h.TLS.Cert != "" {
		return fmt.Sprintf("tls://127.0.0.1:%d", h.NATSPort)
	}
	return fmt.Sprintf("nats://127.0.0.1:%d", h.NATSPort)
}

// HTTPURL is the admin API (https://… when the hub serves TLS).
func (h *Hub) HTTPURL() string {
	if h.TLS.Cert != "" {
		return fmt.Sprintf("https://127.0.0.1:%d", h.HTTPPort)
	}
	return fmt.Sprintf("http://127.0.0.1:%d", h.HTTPPort)
}

// Start runs a hub with the repository's schemas and policies (or
// policiesDir when not empty) on fixed free ports, so a restart keeps them.
func Start(t testing.TB, policiesDir string) *Hub {
	t.Helper()
	return StartWith(t, Options{Policies: policiesDir})
}

// StartArgs is Start with extra `hub serve` flags (for example
// "--max-record-bytes", "100000"), used again by Restart.
func StartArgs(t testing.TB, policiesDir string, args ...string) *Hub {
	t.Helper()
	return StartWith(t, Options{Policies: policiesDir, Args: args})
}

// Options are how StartWith runs the hub.
type Options struct {
	// Policies is the policy folder ("" = the repository's).
	Policies string
	// TLS, if its Cert is set, makes the hub serve TLS.
	TLS TLS
	// Args are extra `hub serve` flags, kept for restarts.
	Args []string
}

// StartWith is Start with more choices.
func StartWith(t testing.TB, o Options) *Hub {
	t.Helper()
	policiesDir := o.Policies
	if policiesDir == "" {
		policiesDir = filepath.Join(RepoRoot(), "policies")
	}
	h := &Hub{t: t, Data: t.TempDir(), Policies: policiesDir, TLS: o.TLS, Args: o.Args}
	// A free port can be taken by another process before the hub binds it:
	// try fresh ports a few times.
	for attempt := 0; ; attempt++ {
		h.NATSPort, h.HTTPPort = FreePort(t), FreePort(t)
		if err := h.tryStart(); err == nil {
			break
		} else if attempt == 4 || !strings.Contains(err.Error(), "address already in use") {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { h.Kill() })
	return h
}

func (h *Hub) start() {
	h.t.Helper()
	if err := h.tryStart(); err != nil {
		h.t.Fatal(err)
	}
}

func (h *Hub) tryStart() error {
	h.t.Helper()
	cmd := exec.Command(Bin(h.t, "hub"), append([]string{"serve", "--data", h.Data,
		"--schemas", filepath.Join(RepoRoot(), "schemas"), "--policies", h.Policies,
		"--nats-listen", fmt.Sprintf("127.0.0.1:%d", h.NATSPort), "--http-listen", fmt.Sprintf("127.0.0.1:%d", h.HTTPPort), "--log-level", "warn"}, h.Args...)...)
	if h.TLS.Cert != "" {
		cmd.Args = append(cmd.Args, "--tls-cert", h.TLS.Cert, "--tls-key", h.TLS.Key)
		if h.TLS.ClientCA != "" {
			cmd.Args = append(cmd.Args, "--tls-client-ca", h.TLS.ClientCA)
		}
	}
	out, _ := cmd.StdoutPipe()
	h.log = &bytes.Buffer{}
	cmd.Stderr = &lockedWriter{w: h.log, mu: &h.mu}
	if err := cmd.Start(); err != nil {
		return err
	}
	ready := make(chan struct{})
	h.done = make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		once := sync.Once{}
		for sc.Scan() {
			if strings.Contains(sc.Text(), "HTTP API:") {
				once.Do(func() { close(ready) })
			}
		}
		h.done <- cmd.Wait()
	}()
	select {
	case <-ready:
	case err := <-h.done:
		return fmt.Errorf("hub exited at start: %v\n%s", err, h.Log())
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		return fmt.Errorf("hub not ready\n%s", h.Log())
	}
	h.cmd = cmd
	return nil
}

// Log is what the hub wrote to stderr.
func (h *Hub) Log() string { h.mu.Lock(); defer h.mu.Unlock(); return h.log.String() }

// Kill SIGKILLs the hub (safe to call when stopped).
func (h *Hub) Kill() {
	if h.cmd == nil {
		return
	}
	_ = h.cmd.Process.Kill()
	<-h.done
	h.cmd = nil
}

// Restart starts the hub again on the same data dir and ports.
func (h *Hub) Restart() { h.t.Helper(); h.Kill(); h.start() }

// Token is the admin token.
func (h *Hub) Token() string {
	b, err := os.ReadFile(filepath.Join(h.Data, "admin.token"))
	if err != nil {
		h.t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// CLI runs the hub CLI against this hub and returns stdout; it fails the
// test on a non-zero exit.
func (h *Hub) CLI(args ...string) string {
	h.t.Helper()
	cmd := exec.Command(Bin(h.t, "hub"), append(append(args, "--hub-url", h.HTTPURL(), "--data", h.Data), h.tlsFlags()...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		h.t.Fatalf("hub %v: %v\n%s%s", args, err, out.String(), errb.String())
	}
	return out.String()
}

// tlsFlags are the hub CLI's flags for this hub's TLS.
func (h *Hub) tlsFlags() []string {
	var f []string
	if h.TLS.CA != "" {
		f = append(f, "--ca", h.TLS.CA)
	}
	if h.TLS.ClientCert != "" {
		f = append(f, "--client-cert", h.TLS.ClientCert, "--client-key", h.TLS.ClientKey)
	}
	return f
}

// HTTPClient is an HTTP client for the hub's API: it trusts TLS.CA and
// presents TLS.ClientCert when they are set.
func (h *Hub) HTTPClient() *http.Client {
	h.t.Helper()
	if h.TLS.Cert == "" {
		return http.DefaultClient
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.httpc != nil {
		return h.httpc
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if h.TLS.CA != "" {
		pool, err := pemfile.CertPool(h.TLS.CA)
		if err != nil {
			h.t.Fatal(err)
		}
		cfg.RootCAs = pool
	}
	if h.TLS.ClientCert != "" {
		pair, err := tls.LoadX509KeyPair(h.TLS.ClientCert, h.TLS.ClientKey)
		if err != nil {
			h.t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	tr := &http.Transport{TLSClientConfig: cfg}
	h.t.Cleanup(tr.CloseIdleConnections)
	h.httpc = &http.Client{Transport: tr}
	return h.httpc
}

// Actor creates an actor and returns its credentials file.
func (h *Hub) Actor(name string) string {
	h.t.Helper()
	path := filepath.Join(h.t.TempDir(), name+".nk")
	h.CLI("actor", "create", name, "--out", path, "--nats-url", h.NATSURL())
	return path
}

// Get calls the admin API and returns the body; status must be 200.
func (h *Hub) Get(path string) []byte {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.HTTPURL()+path, nil)
	req.Header.Set("Authorization", "Bearer "+h.Token())
	resp, err := h.HTTPClient().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return b
}

// Envelope is the part of a stored record's envelope tests look at.
type Envelope struct {
	ID        string          `json:"id"`
	RecordID  string          `json:"record_id"`
	Key       string          `json:"key"`
	Seq       uint64          `json:"seq"`
	Publisher string          `json:"publisher"`
	Data      json.RawMessage `json:"data"`
}

// Records reads every stored record of dataset.
func (h *Hub) Records(dataset string) []Envelope {
	h.t.Helper()
	var out []Envelope
	for _, l := range bytes.Split(h.Get("/api/v1/datasets/"+dataset+"/records"), []byte("\n")) {
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		var e Envelope
		if err := json.Unmarshal(l, &e); err != nil {
			h.t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// Signal sends sig to the hub process.
func (h *Hub) Signal(sig syscall.Signal) { _ = h.cmd.Process.Signal(sig) }

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
