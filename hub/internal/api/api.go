package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/hub/internal/access"
	"github.com/jobtech-dev/datahub/hub/internal/admintoken"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/registry"
	"github.com/jobtech-dev/datahub/internal/publish"
)

// Deps are what the API serves from.
type Deps struct {
	Registry *registry.Registry
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
	// Access manages actors and policies; Audit is the audit log.
	Access *access.Service
	Audit  *audit.Log
	// Anchors publishes the audit chain's head; verify compares with its
	// last anchor, and a seal is anchored at once.
	Anchors *audit.Anchorer
	// NATSConnected counts live connections per actor.
	NATSConnected func() map[string]int
	// Cluster, if set, is the state of the cluster this node belongs to
	// (nil when it runs alone), shown by the health checks.
	Cluster func() any
	Logger  *slog.Logger
}

type api struct {
	Deps
	log *slog.Logger
}

// New returns the hub's HTTP handler.
func New(d Deps) http.Handler {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.MaxBatchBytes == 0 {
		d.MaxBatchBytes = 64 << 20
	}
	a := &api{Deps: d, log: d.Logger.With("component", "api")}
	mux := http.NewServeMux()
	h := func(fn handlerFunc) http.HandlerFunc { return handle(a.log, fn) }
	mux.HandleFunc("GET /healthz", h(a.healthz))
	mux.HandleFunc("GET /readyz", h(a.readyz))
	v1 := http.NewServeMux()
	v1.HandleFunc("GET /api/v1/datasets", h(a.listDatasets))
	v1.HandleFunc("GET /api/v1/datasets/{dataset}", h(a.getDataset))
	v1.HandleFunc("GET /api/v1/datasets/{dataset}/schema", h(a.getSchema))
	v1.HandleFunc("POST /api/v1/datasets/{dataset}/records", h(a.publishRecords))
	v1.HandleFunc("GET /api/v1/datasets/{dataset}/records", h(a.readRecords))
	v1.HandleFunc("GET /api/v1/datasets/{dataset}/snapshot", h(a.readSnapshot))
	v1.HandleFunc("GET /api/v1/datasets/{dataset}/deadletters", h(a.readDeadLetters))
	v1.HandleFunc("GET /api/v1/actors", h(a.listActors))
	v1.HandleFunc("POST /api/v1/actors", h(a.createActor))
	v1.HandleFunc("DELETE /api/v1/actors/{actor}", h(a.revokeActor))
	v1.HandleFunc("GET /api/v1/policies", h(a.getPolicies))
	v1.HandleFunc("PUT /api/v1/policies", h(a.applyPolicies))
	v1.HandleFunc("GET /api/v1/policies/check", h(a.checkPolicy))
	v1.HandleFunc("GET /api/v1/policies/explain", h(a.explainPolicy))
	v1.HandleFunc("GET /api/v1/audit", h(a.tailAudit))
	v1.HandleFunc("GET /api/v1/audit/verify", h(a.verifyAudit))
	v1.HandleFunc("POST /api/v1/audit/verify", h(a.verifyAudit))
	v1.HandleFunc("POST /api/v1/audit/seal", h(a.sealAudit))
	v1.HandleFunc("GET /api/v1/audit/anchor", h(a.lastAnchor))
	mux.Handle("/api/", a.requireToken(problemsFor(a.log, v1)))
	mux.HandleFunc("/", h(func(w http.ResponseWriter, r *http.Request) error {
		if r.URL.Path == "/" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, err := w.Write([]byte("JobTech Data Hub\n\nGET /healthz, /readyz; admin API under /api/v1 (Authorization: Bearer <token from the data dir>)\n"))
			return err
		}
		return newProblem(http.StatusNotFound, "nothing at "+r.URL.Path)
	}))
	return mux
}

// requireToken refuses /api/v1 calls without the admin token; nothing behind
// it runs for them.
func (a *api) requireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !admintoken.Equal(strings.TrimSpace(tok), a.Token) {
			detail := "send Authorization: Bearer <token>; the token is in the hub's data dir (admin.token)"
			if ok {
				detail = "the admin token is wrong"
			}
			a.log.Warn("admin API refused", "path", r.URL.Path, "remote", r.RemoteAddr)
			writeError(a.log, w, r, newProblem(http.StatusUnauthorized, detail))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (a *api) healthz(w http.ResponseWriter, r *http.Request) error {
	out := map[string]any{"status": "ok"}
	if c := a.cluster(); c != nil {
		out["cluster"] = c
	}
	return writeJSON(w, http.StatusOK, out)
}

// cluster is the cluster's state, nil outside a cluster.
func (a *api) cluster() any {
	if a.Cluster == nil {
		return nil
	}
	return a.Cluster()
}

func (a *api) readyz(w http.ResponseWriter, r *http.Request) error {
	if a.Ready != nil {
		if err := a.Ready(r.Context()); err != nil {
			return newProblem(http.StatusServiceUnavailable, err.Error())
		}
	}
	out := map[string]any{"status": "ready"}
	if c := a.cluster(); c != nil {
		out["cluster"] = c
	}
	return writeJSON(w, http.StatusOK, out)
}
