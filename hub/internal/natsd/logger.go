package natsd

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
)

// slogAdapter routes the NATS server's own log lines into slog so the hub has
// one log stream with one format.
type slogAdapter struct {
	l *slog.Logger
	// violation, if set, is told about every permission violation the server
	// logs, with the client id parsed from the line.
	violation func(cid uint64, msg string)
	// storageFault, if set, is told about every storage write error the
	// server logs.
	storageFault func(msg string)
}

func (a slogAdapter) log(level slog.Level, format string, v ...any) {
	if !a.l.Enabled(context.Background(), level) {
		return
	}
	a.l.Log(context.Background(), level, fmt.Sprintf(format, v...))
}

// Noticef lines are the server's chatter (banner, limits, listening): debug,
// so the hub's own start-up lines stay readable.
func (a slogAdapter) Noticef(format string, v ...any) { a.log(slog.LevelDebug, format, v...) }
func (a slogAdapter) Warnf(format string, v ...any)   { a.log(slog.LevelWarn, format, v...) }
func (a slogAdapter) Fatalf(format string, v ...any)  { a.log(slog.LevelError, format, v...) }
func (a slogAdapter) Errorf(format string, v ...any) {
	if strings.HasPrefix(format, "Error trying to connect to route") {
		// Each try to reach a node that is not up (yet): the cluster's
		// state, not each try, is what the hub reports.
		a.log(slog.LevelDebug, format, v...)
		return
	}
	if a.storageFault != nil && strings.Contains(strings.ToLower(format), "critical write error") {
		a.storageFault(fmt.Sprintf(format, v...))
	}
	// nats-server (v2.15.3) reports a permission violation only as this
	// log line and as -ERR to the client: it publishes no $SYS event or
	// advisory for it and has no hook. TestPermissionViolationsReachTheHook
	// fails when the wording changes.
	if a.violation != nil && strings.Contains(format, "Violation") {
		msg := fmt.Sprintf(format, v...)
		if m := cidRE.FindStringSubmatch(msg); m != nil {
			cid, _ := strconv.ParseUint(m[1], 10, 64)
			a.violation(cid, msg)
		}
		a.log(slog.LevelWarn, format, v...)
		return
	}
	a.log(slog.LevelError, format, v...)
}

var cidRE = regexp.MustCompile(`cid:(\d+)`)

func (a slogAdapter) Debugf(format string, v ...any) { a.log(slog.LevelDebug, format, v...) }
func (a slogAdapter) Tracef(format string, v ...any) { a.log(slog.LevelDebug-4, format, v...) }
