package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/access"
	"github.com/jobtech-dev/datahub/hub/internal/admintoken"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/backup"
	"github.com/jobtech-dev/datahub/hub/internal/datasets"
	"github.com/jobtech-dev/datahub/hub/internal/federation"
	"github.com/jobtech-dev/datahub/hub/internal/integrity"
	"github.com/jobtech-dev/datahub/hub/internal/owners"
	"github.com/jobtech-dev/datahub/hub/internal/registry"
	"github.com/jobtech-dev/datahub/internal/problem"
	"github.com/jobtech-dev/datahub/internal/publish"
)

// Deps are what the API serves from.
type Deps struct {
	Registry *registry.Registry
	// Datasets changes the registry: folders applied, schema versions
	// registered, datasets deleted.
	Datasets *datasets.Service
	// JetStream reads records and stream state.
	JetStream jetstream.JetStream
	// Publisher sends admin-published records through the ingest path, so
	// they are validated and stamped like any actor's.
	Publisher *publish.Publisher
	// Token guards /api/v1.
	Token string
	// Ready reports whether the hub serves (nil = ready).
	Ready func(ctx context.Context) error
	// MaxRecordBytes, MaxBatch and MaxBatchBytes bound a publish request.
	MaxRecordBytes int
	MaxBatch       int
	MaxBatchBytes  int64
	// BatchConcurrency bounds the batches worked on at once (default 8);
	// one more waits up to BatchWait (default 10s) for a turn, then is
	// answered 503. BatchInflightBytes bounds the bytes of their records
	// read but not yet answered (default 32 MiB).
	BatchConcurrency   int
	BatchWait          time.Duration
	BatchInflightBytes int64
	// Access manages actors and policies; Audit is the audit log.
	Access *access.Service
	Audit  *audit.Log
	// Anchors publishes the audit chain's head; verify compares with its
	// last anchor, and a seal is anchored at once.
	Anchors *audit.Anchorer
	// Owners keeps who owns the keys of datasets with key_scope: dataset;
	// Origin is this hub's name (the origin of keys an admin assigns).
	Owners *owners.Store
	Origin string
	// NATSURL is where actors connect, as the AsyncAPI document names it.
	NATSURL string
	// NATSConnected counts live connections per actor.
	NATSConnected func() map[string]int
	// Cluster, if set, is the state of the cluster this node belongs to
	// (nil when it runs alone), shown by the health checks.
	Cluster func() *ClusterHealth
	Logger  *slog.Logger
	// Damage is the record of data loss found (nil: none kept).
	Damage *integrity.Tracker
	// Tokens, when set, holds the admin token in force instead of Token,
	// and lets an admin rotate it.
	Tokens *admintoken.Keeper
	// Backups takes online backups (nil: none).
	Backups *backup.Source
	// Federation runs the links to peer hubs (nil: none).
	Federation *federation.Service
	// Metrics serves the Prometheus metrics at GET /api/v1/metrics (nil:
	// none).
	Metrics http.Handler
	// Web registers the public catalog's and the web pages' routes beside
	// the API (nil: none).
	Web WebRoutes
	// Extra holds the features added to the API by other packages: the
	// Jobstore, access requests, dead-letter re-drives (nil fields: none).
	Extra Extras
}

// WebRoutes is what serves the hub's web pages and public data endpoints:
// it registers each route with the registrar given.
type WebRoutes interface {
	Register(page func(rt Route, h http.Handler))
}

type api struct {
	Deps
	log     *slog.Logger
	batches *batchLimiter
}

// Handler is the hub's HTTP API.
type Handler struct {
	a      *api
	h      http.Handler
	routes []Route
}

// New returns the hub's HTTP handler.
func New(d Deps) *Handler {
	a := newAPI(d)
	h, routes := a.routes()
	return &Handler{a: a, h: h, routes: routes}
}

// Routes lists every endpoint registered, in registration order.
func (h *Handler) Routes() []Route { return slices.Clone(h.routes) }

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.h.ServeHTTP(w, r) }

// BatchBytes reports the bytes of batch records read but not yet answered:
// now, and the most at any moment so far. It never exceeds
// Deps.BatchInflightBytes.
func (h *Handler) BatchBytes() (now, peak int64) { return h.a.batches.inflight() }

func newAPI(d Deps) *api {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.MaxBatchBytes == 0 {
		d.MaxBatchBytes = 64 << 20
	}
	if d.BatchConcurrency <= 0 {
		d.BatchConcurrency = 8
	}
	if d.BatchInflightBytes <= 0 {
		d.BatchInflightBytes = 32 << 20
	}
	if d.BatchWait <= 0 {
		d.BatchWait = 10 * time.Second
	}
	a := &api{Deps: d, log: d.Logger.With("component", "api")}
	a.batches = newBatchLimiter(d.BatchConcurrency, max(d.BatchInflightBytes, int64(d.MaxRecordBytes)+recordSlack))
	return a
}

// routes builds the hub's HTTP handler from the route table: every
// endpoint is registered through one registrar, which records it, so the
// OpenAPI test can hold the document to exactly what is served.
func (a *api) routes() (http.Handler, []Route) {
	reg := &registrar{mux: http.NewServeMux(), v1: http.NewServeMux()}
	for _, rt := range a.table() {
		reg.api(rt, a.log)
	}
	if a.Web != nil {
		a.Web.Register(reg.page)
	}
	reg.mux.Handle("/api/", a.requireToken(problem.Mux(reg.v1)))
	reg.mux.HandleFunc("/", problem.Handle(a.log, func(w http.ResponseWriter, r *http.Request) error {
		if r.URL.Path == "/" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, err := w.Write([]byte("JobTech Data Hub\n\nGET /healthz, /readyz; admin API under /api/v1 (Authorization: Bearer <token from the data dir>)\n"))
			return err
		}
		return problem.New(wire.CodeNotFound, "nothing at "+quoteShort(r.URL.Path))
	}))
	return problem.Mux(reg.mux), reg.routes
}

// quoteShort quotes s for an error message, cut to 64 bytes: a name that a
// stranger sent can be anything, and is echoed back only as far as needed.
func quoteShort(s string) string {
	if len(s) > 64 {
		return strconv.Quote(s[:64]) + fmt.Sprintf("… (%d bytes)", len(s))
	}
	return strconv.Quote(s)
}

// requireToken refuses /api/v1 calls without the admin token; nothing behind
// it runs for them, and their body is never read: the connection closes
// after the answer, so a stranger cannot keep it busy sending one.
func (a *api) requireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !a.validToken(strings.TrimSpace(tok)) {
			detail := "send Authorization: Bearer <token>; the token is in the hub's data dir (admin.token)"
			if ok {
				detail = "the admin token is wrong"
			}
			a.log.Warn("admin API refused", "path", quoteShort(r.URL.Path), "remote", r.RemoteAddr)
			if r.ContentLength != 0 {
				// net/http drains up to 256 KiB of an unread body after
				// the answer; a second is all a stranger gets for it.
				w.Header().Set("Connection", "close")
				_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(time.Second))
			}
			problem.Write(w, r, problem.New(problem.CodeUnauthorized, detail))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// validToken reports whether tok is the admin token in force.
func (a *api) validToken(tok string) bool {
	if a.Tokens != nil {
		return a.Tokens.Valid(tok)
	}
	return admintoken.Equal(tok, a.Token)
}

func (a *api) healthz(w http.ResponseWriter, r *http.Request) error {
	return problem.WriteJSON(w, http.StatusOK, Health{Status: "ok", Cluster: a.cluster()})
}

// cluster is the cluster's state, nil outside a cluster.
func (a *api) cluster() *ClusterHealth {
	if a.Cluster == nil {
		return nil
	}
	return a.Cluster()
}

func (a *api) readyz(w http.ResponseWriter, r *http.Request) error {
	if a.Ready != nil {
		if err := a.Ready(r.Context()); err != nil {
			if d, ok := errors.AsType[*integrity.DegradedError](err); ok {
				return a.writeDegraded(w, r, d)
			}
			return problem.New(wire.CodeUnavailable, err.Error())
		}
	}
	return problem.WriteJSON(w, http.StatusOK, Health{Status: "ready", Cluster: a.cluster()})
}
