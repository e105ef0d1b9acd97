package natsd_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jobtech-dev/datahub/hub/internal/natsd"
)

func startWith(t *testing.T, cfg natsd.Config) *natsd.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg.Listen, cfg.StoreDir, cfg.Logger = "127.0.0.1:0", t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := natsd.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s
}

// An actor gets its share of connections, not the hub's memory: past the
// cap the callout refuses it with the reason, which the authorizer is told
// (and audits), and a closed connection gives its place back. Another
// actor is not affected.
func TestConnectionsPerActorAreCapped(t *testing.T) {
	t.Parallel()
	s := startWith(t, natsd.Config{MaxConnsPerActor: 3})
	greedy, other := user(t), user(t)
	tbl := &table{grants: map[string]natsd.Grant{
		pub(greedy): {Actor: "greedy"}, // no rights at all still connects
		pub(other):  {Actor: "other"},
	}}
	s.SetAuthorizer(tbl)
	connect := func(kp interface {
		PublicKey() (string, error)
		Sign([]byte) ([]byte, error)
	}) (*nats.Conn, error) {
		pk, _ := kp.PublicKey()
		return nats.Connect(s.ClientURL(), nats.Nkey(pk, kp.Sign), nats.NoReconnect())
	}
	var held []*nats.Conn
	for i := range 3 {
		nc, err := connect(greedy)
		if err != nil {
			t.Fatalf("connection %d refused: %v", i+1, err)
		}
		held = append(held, nc)
		t.Cleanup(nc.Close)
	}
	if nc, err := connect(greedy); err == nil {
		nc.Close()
		t.Fatal("a fourth connection was accepted")
	}
	tbl.mu.Lock()
	refused := strings.Join(tbl.refused, "|")
	tbl.mu.Unlock()
	if !strings.Contains(refused, "too many connections: actor greedy already has 3 open") {
		t.Fatalf("refusals %q", refused)
	}
	nc, err := connect(other)
	if err != nil {
		t.Fatalf("another actor refused: %v", err)
	}
	nc.Close()
	held[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		nc, err := connect(greedy)
		if err == nil {
			nc.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a closed connection did not give its place back: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The total cap holds for connections that never authenticate.
func TestTotalConnectionsAreCapped(t *testing.T) {
	t.Parallel()
	s := startWith(t, natsd.Config{MaxConns: 4})
	a := user(t)
	s.SetAuthorizer(&table{grants: map[string]natsd.Grant{pub(a): {Actor: "a"}}})
	accepted := 0
	for range 8 {
		nc, err := nats.Connect(s.ClientURL(), nats.Nkey(pub(a), a.Sign), nats.NoReconnect())
		if err != nil {
			continue // the server closes at once: the client may only see the pipe break
		}
		accepted++
		t.Cleanup(nc.Close)
	}
	// The hub's own in-process connection counts too.
	if accepted != 3 {
		t.Fatalf("%d of 8 connections accepted under a cap of 4 (one is the hub's)", accepted)
	}
}
