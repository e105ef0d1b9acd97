package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/hub/internal/access"
	"github.com/jobtech-dev/datahub/hub/internal/admintoken"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/backup"
	"github.com/jobtech-dev/datahub/hub/internal/integrity"
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
	// NATSConnected counts live connections per actor.
	NATSConnected func() map[string]int
	Logger        *slog.Logger
	// Damage is the record of data loss found (nil: none kept).
	Damage *integrity.Tracker
	// Tokens, when set, holds the admin token in force instead of Token,
	// and lets an admin rotate it.
	Tokens *admintoken.Keeper
	// Backups takes online backups (nil: none).
	Backups *backup.Source
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
	v1.HandleFunc("GET /api/v1/damage", h(a.listDamage))
	v1.HandleFunc("POST /api/v1/damage/{name}/ack", h(a.ackDamage))
	v1.HandleFunc("POST /api/v1/token/rotate", h(a.rotateToken))
	v1.HandleFunc("POST /api/v1/backup", h(a.backup))
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
		if !ok || !a.validToken(strings.TrimSpace(tok)) {
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

// validToken reports whether tok is the admin token in force.
func (a *api) validToken(tok string) bool {
	if a.Tokens != nil {
		return a.Tokens.Valid(tok)
	}
	return admintoken.Equal(tok, a.Token)
}

func (a *api) healthz(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (a *api) readyz(w http.ResponseWriter, r *http.Request) error {
	if a.Ready != nil {
		if err := a.Ready(r.Context()); err != nil {
			if d, ok := errors.AsType[*integrity.DegradedError](err); ok {
				return a.writeDegraded(w, r, d)
			}
			return newProblem(http.StatusServiceUnavailable, err.Error())
		}
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
