package node_test

import (
	"context"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
	"github.com/jobtech-dev/datahub/hub/internal/node"
)

// openFiles counts this process's open file descriptors, -1 where /proc
// is not there to read.
func openFiles() int {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(fds)
}

// TestFailedLateStartLeavesNothingRunning fails a start at its last step
// (the metrics listener's address is taken) and checks that the start undid
// everything it had started: no goroutine, no open file or listener, and
// the data dir free for the next hub. It does not run in parallel: it
// counts the whole process's goroutines and files.
func TestFailedLateStartLeavesNothingRunning(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := hubtest.Config(t.TempDir())
	cfg.MetricsListen = taken.Addr().String()

	ignore := goleak.IgnoreCurrent()
	files := openFiles()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	n, err := node.Start(ctx, cfg, hubtest.Logger(t))
	if err == nil {
		hubtest.Stop(t, n)
		t.Fatal("start with the metrics address taken: no error")
	}
	if !strings.Contains(err.Error(), "metrics listen") {
		t.Fatalf("start failed with %v, want the metrics listener's error (the last step)", err)
	}
	// regexp2 (the JSON Schema engine's patterns) keeps one clock
	// goroutine for the whole process, started on first use.
	goleak.VerifyNone(t, ignore, goleak.IgnoreAnyFunction("github.com/dlclark/regexp2.runClock"))
	if files >= 0 {
		// Closes may land a moment after the goroutines end.
		deadline := time.Now().Add(5 * time.Second)
		for openFiles() > files && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if now := openFiles(); now > files {
			t.Errorf("open files: %d before the failed start, %d after", files, now)
		}
	}
	// The data dir's lock went with the rest.
	cfg.MetricsListen = ""
	hubtest.Stop(t, hubtest.Start(t, cfg))
}

// stepLog records the node's "started" and "stopped" debug lines.
type stepLog struct {
	mu               sync.Mutex
	started, stopped []string
}

func (l *stepLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *stepLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *stepLog) WithGroup(string) slog.Handler            { return l }
func (l *stepLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "started" && r.Message != "stopped" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != "step" {
			return true
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if r.Message == "started" {
			l.started = append(l.started, a.Value.String())
		} else {
			l.stopped = append(l.stopped, a.Value.String())
		}
		return false
	})
	return nil
}

// TestShutdownStopsInReverseStartOrder reads the order in which a hub's
// pieces started and stopped from its log: shutdown is the start backwards,
// every piece stopped once.
func TestShutdownStopsInReverseStartOrder(t *testing.T) {
	t.Parallel()
	cfg := hubtest.Config(t.TempDir())
	cfg.MetricsListen = "127.0.0.1:0"
	rec := &stepLog{}
	n, err := node.Start(t.Context(), cfg, slog.New(rec))
	if err != nil {
		t.Fatal(err)
	}
	hubtest.Stop(t, n)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.started) < 20 {
		t.Fatalf("only %d steps logged as started: %v", len(rec.started), rec.started)
	}
	want := slices.Clone(rec.started)
	slices.Reverse(want)
	if !slices.Equal(rec.stopped, want) {
		t.Fatalf("stopped in the order\n%v\nwant the start's reverse\n%v", rec.stopped, want)
	}
	// The audit entries are written before the last anchor, and the
	// streams' state recorded after both (the order the audit chain needs).
	at := func(name string) int { return slices.Index(rec.stopped, name) }
	if !(at("audit writer") < at("audit anchorer") && at("audit anchorer") < at("stream-state record") && at("stream-state record") < at("nats server")) {
		t.Fatalf("audit writer, anchorer, stream-state record and nats server stopped out of order: %v", rec.stopped)
	}
}
