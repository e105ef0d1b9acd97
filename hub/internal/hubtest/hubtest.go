// Package hubtest gives tests a real hub: an embedded NATS server with
// JetStream on a free loopback port, the repository's datasets, a temp data
// dir, and helpers to connect to it as an actor with real nkey credentials.
package hubtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/jobtech-dev/datahub/hub/internal/config"
	"github.com/jobtech-dev/datahub/hub/internal/natsd"
	"github.com/jobtech-dev/datahub/hub/internal/node"
)

// RepoRoot is the repository's root folder.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}

// SchemasDir is the repository's schemas folder.
func SchemasDir() string { return filepath.Join(RepoRoot(), "schemas") }

// JobTechData is the repository's folder of real JobTech data
// (testdata/jobtech, with its SOURCE.md).
func JobTechData() string { return filepath.Join(RepoRoot(), "testdata", "jobtech") }

// Config returns a config for a test hub in dir: free ports, repo schemas.
func Config(dir string) config.Config {
	c := config.Default()
	c.Data = dir
	c.NATSListen = "127.0.0.1:0"
	c.HTTPListen = "127.0.0.1:0"
	c.Schemas = SchemasDir()
	c.Policies = filepath.Join(RepoRoot(), "policies")
	c.LogLevel = "warn"
	return c
}

// Logger logs to the test when -v is given, else discards.
func Logger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// Start starts a hub with cfg (see Config) and stops it when the test ends.
func Start(t testing.TB, cfg config.Config) *node.Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := node.Start(ctx, cfg, Logger(t))
	if err != nil {
		t.Fatalf("start hub: %v", err)
	}
	t.Cleanup(func() { Stop(t, n) })
	return n
}

// StartNew starts a hub in a fresh temp data dir.
func StartNew(t testing.TB) *node.Node {
	t.Helper()
	return Start(t, Config(t.TempDir()))
}

// Stop shuts n down; safe to call twice.
func Stop(t testing.TB, n *node.Node) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = n.Shutdown(ctx)
}

// Actor is a test identity with a real nkey.
type Actor struct {
	Name string
	Key  nkeys.KeyPair
}

// NewActor makes an actor identity.
func NewActor(t testing.TB, name string) Actor {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	return Actor{Name: name, Key: kp}
}

// PublicKey is the actor's nkey public key.
func (a Actor) PublicKey() string { pk, _ := a.Key.PublicKey(); return pk }

// IngestOnly are the rights an actor needs to publish to datasets and read
// its replies: its own ingest subjects and its own inbox.
func IngestOnly(actor string, datasets ...string) natsd.Grant {
	g := natsd.Grant{Actor: actor, Subscribe: []string{"_INBOX_" + actor + ".>"}}
	for _, d := range datasets {
		g.Publish = append(g.Publish, "ingest."+d+"."+actor)
	}
	return g
}

// Authorizer is a fixed table of grants by public key, for tests that do not
// exercise the sharing policies.
type Authorizer struct {
	mu      sync.Mutex
	grants  map[string]natsd.Grant
	refused []string
}

// Authorize implements natsd.Authorizer.
func (a *Authorizer) Authorize(_ context.Context, c natsd.Conn) (natsd.Grant, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	g, ok := a.grants[c.PublicKey]
	if !ok {
		return natsd.Grant{}, errors.New("unknown actor")
	}
	return g, nil
}

// Refused implements natsd.Authorizer.
func (a *Authorizer) Refused(_ natsd.Conn, reason string) {
	a.mu.Lock()
	a.refused = append(a.refused, reason)
	a.mu.Unlock()
}

// Refusals lists the reasons of refused connections so far.
func (a *Authorizer) Refusals() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.refused...)
}

// Allow makes n accept actors with their grants (and no others).
func Allow(t testing.TB, n *node.Node, grants map[Actor]natsd.Grant) *Authorizer {
	t.Helper()
	a := &Authorizer{grants: map[string]natsd.Grant{}}
	for act, g := range grants {
		a.grants[act.PublicKey()] = g
	}
	n.NATS().SetAuthorizer(a)
	return a
}

// Connect connects to n over TCP as a with an inbox prefix of its own.
func Connect(t testing.TB, n *node.Node, a Actor, opts ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(n.NATSURL(), append([]nats.Option{
		nats.Nkey(a.PublicKey(), a.Key.Sign),
		nats.CustomInboxPrefix("_INBOX_" + a.Name),
		nats.Name(a.Name),
	}, opts...)...)
	if err != nil {
		t.Fatalf("connect as %s: %v", a.Name, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// RealAds returns count NDJSON lines of the real JobTech ads of
// testdata/jobtech, in turn, each under its own ad id prefix<i>.
func RealAds(t testing.TB, prefix string, count int) []byte {
	t.Helper()
	var ads []map[string]any
	for line := range bytes.Lines(ReadFile(t, filepath.Join(JobTechData(), "job-ads.ndjson"))) {
		var ad map[string]any
		if err := json.Unmarshal(line, &ad); err != nil {
			t.Fatalf("job-ads.ndjson: %v", err)
		}
		ads = append(ads, ad)
	}
	var buf bytes.Buffer
	for i := range count {
		ad := ads[i%len(ads)]
		ad["id"] = prefix + strconv.Itoa(i)
		b, err := json.Marshal(ad)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

// ReadFile reads a file or fails the test.
func ReadFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
