package node_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
	"github.com/jobtech-dev/datahub/hub/internal/node"
	"github.com/jobtech-dev/datahub/internal/dirlock"
)

// BenchmarkStartEmpty measures a hub's start on an empty data dir, up to
// ready (streams created, validators subscribed, HTTP listening), and its
// shutdown.
func BenchmarkStartEmpty(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		cfg := hubtest.Config(b.TempDir())
		b.StartTimer()
		n, err := node.Start(context.Background(), cfg, hubtest.Logger(b))
		if err != nil {
			b.Fatal(err)
		}
		if err := n.Ready(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		hubtest.Stop(b, n)
		b.StartTimer()
	}
}

func TestRestartKeepsRecordsAndToken(t *testing.T) {
	t.Parallel()
	cfg := hubtest.Config(t.TempDir())
	n := hubtest.Start(t, cfg)
	tok := n.Token()
	hubtest.Stop(t, n)
	n2 := hubtest.Start(t, cfg)
	if n2.Token() != tok {
		t.Fatal("admin token changed across a restart")
	}
	if err := n2.Ready(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestSecondHubOnTheSameDataDirRefused(t *testing.T) {
	t.Parallel()
	cfg := hubtest.Config(t.TempDir())
	n := hubtest.Start(t, cfg)
	_, err := node.Start(t.Context(), cfg, hubtest.Logger(t))
	if !errors.Is(err, dirlock.ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("process %d", os.Getpid())) {
		t.Fatalf("second hub on %s: %v, want refused naming process %d", cfg.Data, err, os.Getpid())
	}
	// The refused start touched nothing: the first hub still serves.
	if err := n.Ready(t.Context()); err != nil {
		t.Fatalf("first hub after the refused start: %v", err)
	}
	hubtest.Stop(t, n)
	n2 := hubtest.Start(t, cfg)
	if err := n2.Ready(t.Context()); err != nil {
		t.Fatal(err)
	}
}
