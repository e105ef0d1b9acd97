package sidecar

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
)

// An outage is logged when it starts, then at most every interval, and when
// it ends; a change of kind (the key refused) is logged at once.
func TestConnLogRateLimits(t *testing.T) {
	var buf bytes.Buffer
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	l := newConnLog(slog.New(slog.NewTextHandler(&buf, nil)), "nats://hub:4222", 30*time.Second)
	l.now = func() time.Time { return now }
	refused := kit.ConnState{Err: errors.New("connection refused")}
	count := func() int { return strings.Count(buf.String(), "\n") }

	l.observe(kit.ConnState{Connected: true, Generation: 1}) // up at start: nothing to say
	if count() != 0 {
		t.Fatalf("logged a normal start: %s", buf.String())
	}
	for range 4 * 29 { // four attempts a second for 29 s
		l.observe(refused)
		now = now.Add(250 * time.Millisecond)
	}
	if count() != 1 || !strings.Contains(buf.String(), "hub connection lost") {
		t.Fatalf("first 29 s of an outage: %s", buf.String())
	}
	now = now.Add(time.Second)
	l.observe(refused)
	if count() != 2 || !strings.Contains(buf.String(), "hub still unreachable") || !strings.Contains(buf.String(), "attempts=116") {
		t.Fatalf("after 30 s: %s", buf.String())
	}
	l.observe(kit.ConnState{Unauthorized: true, Err: errors.New("nats: authorization violation")})
	if count() != 3 || !strings.Contains(buf.String(), "refuses this actor's key") {
		t.Fatalf("the key refused: %s", buf.String())
	}
	l.observe(kit.ConnState{Unauthorized: true})
	if count() != 3 {
		t.Fatalf("the same refusal logged again at once: %s", buf.String())
	}
	l.observe(kit.ConnState{Connected: true, Generation: 2})
	if count() != 4 || !strings.Contains(buf.String(), "hub connection back") {
		t.Fatalf("the return: %s", buf.String())
	}
}
