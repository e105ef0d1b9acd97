package node_test

import (
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/jobtech-dev/datahub/connector-kit/builtin"
	"github.com/jobtech-dev/datahub/connector-kit/plugin"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/accessreq"
	"github.com/jobtech-dev/datahub/hub/internal/actors"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/delivery"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
	"github.com/jobtech-dev/datahub/hub/internal/integrity"
	"github.com/jobtech-dev/datahub/hub/internal/jobstore"
	"github.com/jobtech-dev/datahub/hub/internal/metrics"
	"github.com/jobtech-dev/datahub/hub/internal/natsd"
	"github.com/jobtech-dev/datahub/hub/internal/node"
	"github.com/jobtech-dev/datahub/hub/internal/owners"
	"github.com/jobtech-dev/datahub/internal/httpserve"
	"github.com/jobtech-dev/datahub/internal/problem"
	"github.com/jobtech-dev/datahub/internal/taxonomy"
)

// TestNilLoggerMeansDiscard builds each piece that takes a *slog.Logger
// (as an argument, an option or a field) with a nil one, and uses it: a nil
// logger discards, it never panics.
func TestNilLoggerMeansDiscard(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	js, reg := n.JetStream(), n.Registry()
	nc, err := n.NATS().Connect("nil-logger-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	var nilLog *slog.Logger
	tests := []struct {
		name string
		use  func(t *testing.T, ctx context.Context)
	}{
		{"node.Start", func(t *testing.T, ctx context.Context) {
			m, err := node.Start(ctx, hubtest.Config(t.TempDir()), nilLog)
			if err != nil {
				t.Fatal(err)
			}
			hubtest.Stop(t, m)
		}},
		{"natsd.Start", func(t *testing.T, ctx context.Context) {
			s, err := natsd.Start(ctx, natsd.Config{StoreDir: filepath.Join(t.TempDir(), "js"), Logger: nilLog})
			if err != nil {
				t.Fatal(err)
			}
			_ = s.Shutdown(ctx)
		}},
		{"delivery.New", func(t *testing.T, ctx context.Context) {
			d := delivery.New(nc, js, reg, nilLog)
			if err := d.Start(ctx); err != nil {
				t.Fatal(err)
			}
			d.Stop()
		}},
		{"owners.Open and NewService", func(t *testing.T, ctx context.Context) {
			st, err := owners.Open(ctx, js, 1, nilLog)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			s := owners.NewService(nc, reg, st, n.Audit(), "hub", nilLog)
			if err := s.Start(ctx); err != nil {
				t.Fatal(err)
			}
			s.Stop()
		}},
		{"actors.Open", func(t *testing.T, ctx context.Context) {
			st, err := actors.Open(ctx, js, actors.Options{Logger: nilLog})
			if err != nil {
				t.Fatal(err)
			}
			st.Close()
		}},
		{"audit options, writer and anchorer", func(t *testing.T, ctx context.Context) {
			l, err := audit.Open(ctx, js, audit.WithLogger(nilLog))
			if err != nil {
				t.Fatal(err)
			}
			w := audit.NewWriter(ctx, l, audit.WriterOptions{Logger: nilLog})
			if err := w.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := audit.NewAnchorer(n.Audit(), audit.AnchorerOptions{Logger: nilLog}); err != nil {
				t.Fatal(err)
			}
		}},
		{"integrity.Open", func(t *testing.T, ctx context.Context) {
			if _, err := integrity.Open(ctx, t.TempDir(), js, integrity.Options{Logger: nilLog}); err != nil {
				t.Fatal(err)
			}
		}},
		{"jobstore and accessreq", func(t *testing.T, ctx context.Context) {
			w := audit.NewWriter(ctx, n.Audit(), audit.WriterOptions{})
			defer w.Close(ctx)
			if _, err := jobstore.Open(ctx, js, w, func(string) bool { return true }, nilLog); err != nil {
				t.Fatal(err)
			}
			if _, err := accessreq.Open(ctx, js, n.Access(), reg, w, nilLog); err != nil {
				t.Fatal(err)
			}
		}},
		{"metrics.Watch", func(t *testing.T, ctx context.Context) {
			m := metrics.New()
			m.Watch(ctx, metrics.Sources{Registry: reg, JetStream: js, Logger: nilLog})
			if _, err := m.Gatherer().Gather(); err != nil {
				t.Fatal(err)
			}
		}},
		{"taxonomy.NewFollower", func(t *testing.T, ctx context.Context) {
			src := func(context.Context, uint64, bool, func(wire.Envelope) error) error { return nil }
			if err := taxonomy.NewFollower(taxonomy.NewIndex(), src, nilLog).Load(ctx); err != nil {
				t.Fatal(err)
			}
		}},
		{"httpserve.New and problem.Handle", func(t *testing.T, _ context.Context) {
			h := problem.Handle(nilLog, func(http.ResponseWriter, *http.Request) error { return nil })
			_ = httpserve.New(h, httpserve.Config{}, nilLog)
		}},
		{"plugin resources", func(t *testing.T, _ context.Context) {
			env := plugin.NewEnvironment()
			if err := builtin.Register(env); err != nil {
				t.Fatal(err)
			}
			conf := []byte("path: " + filepath.Join(t.TempDir(), "none.ndjson") + "\ndataset: taxonomy\n")
			src, err := env.NewSource("ndjson_file", conf, plugin.Resources{StateDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			_ = src.Connect(t.Context()) // logs that the file is missing
			_ = src.Close(t.Context())
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.use(t, t.Context()) })
	}
}
