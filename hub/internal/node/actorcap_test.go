package node_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
)

// An actor with no rights at all cannot open connections without end: past
// max_conns_per_actor the hub refuses it with the reason, and the refusal is
// in the audit log.
func TestActorConnectionsAreCappedAndRefusalsAudited(t *testing.T) {
	t.Parallel()
	cfg := hubtest.Config(t.TempDir())
	cfg.MaxConnsPerActor = 5
	n := hubtest.Start(t, cfg)
	greedy := hubtest.NewActor(t, "greedy")
	if _, err := n.Access().CreateActor(t.Context(), greedy.Name, greedy.PublicKey(), "admin"); err != nil {
		t.Fatal(err)
	}
	connect := func() (*nats.Conn, error) {
		return nats.Connect(n.NATSURL(), nats.Nkey(greedy.PublicKey(), greedy.Key.Sign), nats.NoReconnect())
	}
	for i := range 5 {
		nc, err := connect()
		if err != nil {
			t.Fatalf("connection %d: %v", i+1, err)
		}
		t.Cleanup(nc.Close)
	}
	for range 20 {
		if nc, err := connect(); err == nil {
			nc.Close()
			t.Fatal("a connection past the cap was accepted")
		}
	}
	if got := n.NATS().Connected()["greedy"]; got != 5 {
		t.Fatalf("greedy has %d connections, want 5", got)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := n.Access().Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var refusals []audit.Entry
	err := n.Audit().Tail(ctx, 0, false, func(e audit.Entry) error {
		if e.Kind == audit.KindAccessDenied && e.Actor == "greedy" && strings.Contains(string(e.Detail), "too many connections") {
			refusals = append(refusals, e)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(refusals) == 0 {
		t.Fatal("no audit entry for the refused connections")
	}
	if !strings.Contains(string(refusals[0].Detail), "max_conns_per_actor") {
		t.Fatalf("refusal %s does not name the setting", refusals[0].Detail)
	}
}
