package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/jobtech-dev/datahub/hub/internal/accessreq"
	"github.com/jobtech-dev/datahub/hub/internal/api"
	"github.com/jobtech-dev/datahub/hub/internal/config"
	"github.com/jobtech-dev/datahub/hub/internal/jobstore"
	"github.com/jobtech-dev/datahub/hub/internal/metrics"
	"github.com/jobtech-dev/datahub/hub/internal/redrive"
	"github.com/jobtech-dev/datahub/internal/httpserve"
	"github.com/jobtech-dev/datahub/internal/problem"
)

// serveMetrics serves /metrics alone on cfg.MetricsListen, when set, within
// the same limits as the API. It is plain HTTP: the address is meant for a
// monitoring network, not for the world.
func (n *Node) serveMetrics(cfg config.Config, limits httpserve.Config) error {
	if cfg.MetricsListen == "" {
		return nil
	}
	ln, err := net.Listen("tcp", cfg.MetricsListen)
	if err != nil {
		return fmt.Errorf("metrics listen %s: %w", cfg.MetricsListen, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", n.metrics.Handler())
	n.metricsLn = ln
	n.metricsHTTP = httpserve.New(problem.Mux(mux), limits, n.log.With("component", "metrics-http"))
	go func() {
		if err := n.metricsHTTP.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("metrics server stopped", "err", err)
		}
	}()
	n.undo.push("metrics server", func(ctx context.Context) error {
		_ = ln.Close() // in case Serve had not taken it yet
		return n.metricsHTTP.Shutdown(ctx)
	})
	return nil
}

// MetricsURL is the base URL of the metrics listener, "" when there is none.
func (n *Node) MetricsURL() string {
	if n.metricsLn == nil {
		return ""
	}
	return "http://" + n.metricsLn.Addr().String()
}

// Metrics is the hub's Prometheus instrumentation.
func (n *Node) Metrics() *metrics.Metrics { return n.metrics }

// Routes lists every HTTP route the hub registered.
func (n *Node) Routes() []api.Route { return n.apiHandler.Routes() }

// Services is the Jobstore.
func (n *Node) Services() *jobstore.Store { return n.services }

// Requests are the actors' access requests.
func (n *Node) Requests() *accessreq.Service { return n.requests }

// Redrive re-drives dead letters.
func (n *Node) Redrive() *redrive.Service { return n.redrive }
