package sidecar

import (
	"log/slog"
	"sync"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
)

// logEvery is how often, at most, a lasting problem (the hub away, a stuck
// outbox head) is logged again.
const logEvery = 30 * time.Second

// connLog turns the kit's connection state changes into log lines an
// operator can read: an outage is logged once when it starts, then at most
// every interval while it lasts (with how long and how many attempts), and
// once when it ends. nats.go retries four times a second; logging each try
// buries everything else.
type connLog struct {
	log   *slog.Logger
	hub   string
	every time.Duration
	now   func() time.Time

	mu       sync.Mutex
	down     bool
	since    time.Time
	lastLog  time.Time
	attempts int
	kind     string // what was last logged: "unreachable" or "unauthorized"
}

func newConnLog(log *slog.Logger, hub string, every time.Duration) *connLog {
	return &connLog{log: log, hub: hub, every: every, now: time.Now}
}

// observe logs what a state change means, if it is news.
func (l *connLog) observe(st kit.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if st.Connected {
		if l.down {
			l.log.Info("hub connection back", "hub", l.hub, "after", now.Sub(l.since).Round(time.Millisecond), "attempts", l.attempts)
		}
		l.down, l.attempts, l.kind = false, 0, ""
		return
	}
	if !l.down {
		l.down, l.since, l.attempts = true, now, 0
	} else {
		l.attempts++
	}
	kind := "unreachable"
	if st.Unauthorized {
		kind = "unauthorized"
	}
	if kind == l.kind && now.Sub(l.lastLog) < l.every {
		return
	}
	first := l.kind == ""
	l.kind, l.lastLog = kind, now
	switch {
	case kind == "unauthorized":
		l.log.Error("the hub refuses this actor's key (revoked, or not this hub's); records wait in the outbox and POSTs are refused",
			"hub", l.hub, "down_for", now.Sub(l.since).Round(time.Second), "err", st.Err)
	case first:
		l.log.Warn("hub connection lost; records queue in the outbox", "hub", l.hub, "err", st.Err)
	default:
		l.log.Warn("hub still unreachable; records queue in the outbox", "hub", l.hub,
			"down_for", now.Sub(l.since).Round(time.Second), "attempts", l.attempts, "err", st.Err)
	}
}
