package datasets

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/registry"
)

// folderOf writes a schemas folder with one dataset per name (the gigs
// shape) and returns it.
func folderOf(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		files := map[string]string{
			"dataset.yaml":  "name: " + n + "\ntitle: Test " + n + "\nowner: gigplatform\nkey: id\nschema: s.schema.json\n",
			"s.schema.json": `{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}`,
		}
		for f, c := range files {
			p := filepath.Join(dir, n, f)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// openService opens a service of its own (as a cluster node has) on js.
func openService(t *testing.T, js jetstream.JetStream) *Service {
	t.Helper()
	l, err := audit.Open(t.Context(), js)
	if err != nil {
		t.Fatal(err)
	}
	w := audit.NewWriter(context.Background(), l, audit.WriterOptions{})
	t.Cleanup(func() { _ = w.Close(context.Background()) })
	s, err := Open(t.Context(), Deps{JS: js, Registry: registry.New(), Audit: w})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A start that loses the race for the registry's head to another node
// starting at the same moment reads the state again and applies its
// folder over it, instead of failing (a three-node cluster test saw a node
// exit with "the dataset registry changed meanwhile; retry").
func TestStartThatLosesTheRaceForTheHeadAppliesAgain(t *testing.T) {
	t.Parallel()
	srv, err := server.NewServer(&server.Options{Port: -1, Host: "127.0.0.1", JetStream: true, StoreDir: t.TempDir(), NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}

	a, b := openService(t, js), openService(t, js)
	var once sync.Once
	raced := false
	a.beforeHead = func() {
		// Between a's read of the state and its write of the head,
		// another node's start writes the head first.
		once.Do(func() {
			if err := b.LoadInitial(t.Context(), folderOf(t, "gigs", "tasks")); err != nil {
				t.Errorf("the other start: %v", err)
			}
			raced = true
		})
	}
	if err := a.LoadInitial(t.Context(), folderOf(t, "gigs")); err != nil {
		t.Fatalf("the start that lost the race: %v", err)
	}
	if !raced {
		t.Fatal("the race was not staged")
	}
	for _, name := range []string{"gigs", "tasks"} {
		if _, ok := a.Registry.Get(name); !ok {
			t.Errorf("dataset %s not in force after the start", name)
		}
	}
}
