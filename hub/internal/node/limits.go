package node

import (
	"time"

	"github.com/jobtech-dev/datahub/hub/internal/config"
	"github.com/jobtech-dev/datahub/internal/httpserve"
)

// connLimits are the connection caps in force.
type connLimits struct {
	natsMax, natsPerActor int
	http                  httpserve.Config
}

// Defaults where the config says 0.
const (
	defaultConnsPerActor = 100
	natsDefaultMaxConn   = 64 << 10 // nats-server's own default
	httpDefaultMaxConns  = 4096
)

// limitsFor turns the config's caps into the caps in force. A total cap
// left at 0 comes from the process's file descriptor limit: connections may
// take what is left after a reserve (a quarter of the limit, at least 320)
// that stays for JetStream's files — some twenty streams and state buckets
// on a hub with the shipped datasets, each keeping files open — and the
// hub's own connections; NATS gets three quarters, HTTP one. A flood of connections then meets a cap before
// JetStream meets "too many open files". -1 means no cap.
func limitsFor(cfg config.Config, fdLimit int) connLimits {
	natsMax, httpMax := natsDefaultMaxConn, httpDefaultMaxConns
	if fdLimit > 0 {
		usable := fdLimit - max(320, fdLimit/4)
		natsMax = min(natsMax, max(16, usable*3/4))
		httpMax = min(httpMax, max(8, usable/4))
	}
	l := connLimits{natsMax: natsMax, natsPerActor: defaultConnsPerActor}
	switch {
	case cfg.NATSMaxConns > 0:
		l.natsMax = cfg.NATSMaxConns
	case cfg.NATSMaxConns < 0:
		l.natsMax = 1 << 30
	}
	switch {
	case cfg.MaxConnsPerActor > 0:
		l.natsPerActor = cfg.MaxConnsPerActor
	case cfg.MaxConnsPerActor < 0:
		l.natsPerActor = 0
	}
	l.http = httpserve.Config{
		ReadHeaderTimeout: cfg.HTTPReadHeaderTimeout,
		ReadTimeout:       cfg.HTTPReadTimeout,
		WriteTimeout:      cfg.HTTPWriteTimeout,
		IdleTimeout:       cfg.HTTPIdleTimeout,
		MaxHeaderBytes:    cfg.HTTPMaxHeaderBytes,
		MaxConnsPerIP:     cfg.HTTPMaxConnsPerIP,
		MaxConns:          cfg.HTTPMaxConns,
		RetryAfter:        time.Second,
	}
	if cfg.HTTPMaxConns == 0 {
		l.http.MaxConns = httpMax
	}
	return l
}
