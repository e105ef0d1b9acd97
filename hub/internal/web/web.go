package web

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/hub/internal/access"
	"github.com/jobtech-dev/datahub/hub/internal/accessreq"
	"github.com/jobtech-dev/datahub/hub/internal/admintoken"
	"github.com/jobtech-dev/datahub/hub/internal/api"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/jobstore"
	"github.com/jobtech-dev/datahub/hub/internal/redrive"
	"github.com/jobtech-dev/datahub/hub/internal/registry"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Deps are what the pages read and change.
type Deps struct {
	Registry  *registry.Registry
	JetStream jetstream.JetStream
	Access    *access.Service
	Audit     *audit.Log
	Anchors   *audit.Anchorer
	Services  *jobstore.Store
	Requests  *accessreq.Service
	Redrive   *redrive.Service
	Tokens    *admintoken.Keeper
	// Connected counts live NATS connections per actor.
	Connected func() map[string]int
	// Origin is the hub's name.
	Origin string
	// SessionMaxAge bounds a sign-in (0 = 8h).
	SessionMaxAge time.Duration
	// DownloadsPerMinute bounds the open-data downloads one client address
	// may start a minute (0 = 30).
	DownloadsPerMinute int
	// SignInsPerMinute bounds the sign-in attempts (admin token, actor
	// login) of one client address a minute (0 = 10).
	SignInsPerMinute int
	// Versions, when set, lists a dataset's registered schema versions,
	// oldest first; the page shows each and the changes between them. Nil
	// (or an empty answer): the one version the registry holds.
	Versions func(dataset string) []SchemaVersion
	Logger   *slog.Logger
}

// Web serves the pages.
type Web struct {
	Deps
	log       *slog.Logger
	pages     map[string]*template.Template
	sessions  *sessions
	downloads *limiter
	signins   *limiter
	logins    *logins
	rates     *rates
	schemas   sync.Map // *registry.Dataset → schemaView
}

// New returns the pages; register them with Register.
func New(d Deps) (*Web, error) {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.DownloadsPerMinute <= 0 {
		d.DownloadsPerMinute = 30
	}
	if d.SignInsPerMinute <= 0 {
		d.SignInsPerMinute = 10
	}
	w := &Web{Deps: d, log: d.Logger.With("component", "web"), sessions: newSessions(d.SessionMaxAge),
		downloads: newLimiter(d.DownloadsPerMinute), signins: newLimiter(d.SignInsPerMinute), logins: newLogins(), rates: newRates()}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	w.pages = pages
	return w, nil
}

var funcs = template.FuncMap{
	"date": func(v any) string {
		var t time.Time
		switch x := v.(type) {
		case time.Time:
			t = x
		case *time.Time:
			if x != nil {
				t = *x
			}
		}
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"day":  func(t time.Time) string { return t.UTC().Format(time.DateOnly) },
	"join": strings.Join,
	"json": func(v any) string {
		b, _ := json.MarshalIndent(v, "", "  ")
		return string(b)
	},
	"rawjson": func(b []byte) string {
		var buf bytes.Buffer
		if json.Indent(&buf, b, "", "  ") != nil {
			return string(b)
		}
		return buf.String()
	},
	"count": func(n uint64) string { return groupDigits(n) },
}

// groupDigits writes n with thin spaces between thousands.
func groupDigits(n uint64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteRune(' ')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// parsePages parses each page template with the layout.
func parsePages() (map[string]*template.Template, error) {
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/adminnav.html")
	if err != nil {
		return nil, fmt.Errorf("web templates: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" || base == "adminnav.html" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, fmt.Errorf("web template %s: %w", base, err)
		}
		out[strings.TrimSuffix(base, ".html")] = t
	}
	return out, nil
}

// page is what every template gets.
type page struct {
	Title   string
	Hub     string
	Admin   bool   // signed in as admin
	Actor   string // signed in as this actor
	CSRF    string
	Flash   string
	Error   string
	Section string
	Data    any
}

// render writes a page with status.
func (w *Web) render(rw http.ResponseWriter, r *http.Request, status int, name string, p page) {
	t := w.pages[name]
	if t == nil {
		http.Error(rw, "no page "+name, http.StatusInternalServerError)
		return
	}
	p.Hub = w.Origin
	if ss := w.sessions.get(r, ""); ss != nil {
		p.Admin = ss.kind == kindAdmin
		if ss.kind == kindActor {
			p.Actor = ss.actor
		}
		if p.CSRF == "" {
			p.CSRF = ss.csrf
		}
	}
	if f := r.URL.Query().Get("done"); f != "" && p.Flash == "" {
		p.Flash = flashText(f)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		w.log.Error("render page", "page", name, "err", err)
		http.Error(rw, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	headers(rw)
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	rw.WriteHeader(status)
	_, _ = rw.Write(buf.Bytes())
}

// flashText turns a ?done= code into a sentence (never echoing input).
func flashText(code string) string {
	return map[string]string{
		"requested": "Your request was sent. An admin will approve or decline it; its state is shown below.",
		"published": "The service description was published.",
		"approved":  "Request approved: the grant is in force now.",
		"declined":  "Request declined.",
		"created":   "Actor created.",
		"revoked":   "Actor revoked: its connections were cut.",
		"redriven":  "Dead letter re-driven and stored.",
		"signedout": "You are signed out.",
	}[code]
}

// headers are sent with every page: only the hub's own script and style
// may run, no framing, no sniffing.
func headers(rw http.ResponseWriter) {
	h := rw.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
}

// notFound answers a page that does not exist.
func (w *Web) notFound(rw http.ResponseWriter, r *http.Request, what string) {
	w.render(rw, r, http.StatusNotFound, "error", page{Title: "Not found", Error: what})
}

// fail answers a request that cannot be done, with why.
func (w *Web) fail(rw http.ResponseWriter, r *http.Request, status int, why string) {
	w.render(rw, r, status, "error", page{Title: http.StatusText(status), Error: why})
}

// Register registers every route with the hub's registrar.
func (w *Web) Register(reg func(rt api.Route, h http.Handler)) {
	pub := func(pattern string, h http.HandlerFunc, query ...string) {
		reg(api.Route{Pattern: pattern, Query: query, Access: api.AccessPublic}, h)
	}
	sess := func(pattern string, h http.HandlerFunc, query ...string) {
		reg(api.Route{Pattern: pattern, Query: query, Access: api.AccessSession}, h)
	}
	pub("GET /{$}", w.home)
	pub("GET /assets/{file}", w.asset)
	pub("GET /datasets/{dataset}", w.datasetPage)
	pub("GET /datasets/{dataset}/stats.json", w.datasetStats)
	pub("GET /services", w.servicesPage, "q", "category", "dataset")
	pub("GET /services/{actor}/{service}", w.servicePage)
	// Open data.
	pub("GET /open/{dataset}/snapshot.ndjson", w.openSnapshot)
	pub("GET /open/{dataset}/changes.ndjson", w.openChanges, "since")
	pub("GET /jobstream/{dataset}/stream", w.jobStream, "date", "updated-before-date", "occupation-concept-id", "location-concept-id")
	pub("GET /jobstream/{dataset}/snapshot", w.jobSnapshot, "occupation-concept-id", "location-concept-id")
	pub("GET /jobstream/{dataset}/v2/stream", w.jobStream, "updated-after", "updated-before", "occupation-concept-id", "location-concept-id")
	pub("GET /jobstream/{dataset}/v2/snapshot", w.jobSnapshot, "occupation-concept-id", "location-concept-id")
	// Actors' sign-in and pages.
	pub("GET /login", w.loginPage)
	pub("POST /login/challenge", w.loginChallenge)
	pub("POST /login/token", w.loginToken)
	pub("GET /login/ticket/{ticket}", w.loginTicket)
	pub("POST /logout", w.logout)
	sess("GET /me", w.mePage)
	sess("POST /me/requests", w.meRequest)
	sess("POST /me/services", w.meService)
	// Admin.
	pub("GET /admin/login", w.adminLoginPage)
	pub("POST /admin/login", w.adminLogin)
	sess("GET /admin", w.adminHome)
	sess("GET /admin/requests", w.adminRequests)
	sess("POST /admin/requests/{id}/approve", w.adminApprove)
	sess("POST /admin/requests/{id}/decline", w.adminDecline)
	sess("GET /admin/actors", w.adminActors)
	sess("POST /admin/actors", w.adminCreateActor)
	sess("POST /admin/actors/{actor}/revoke", w.adminRevokeActor)
	sess("GET /admin/policies", w.adminPolicies, "actor", "action", "dataset")
	sess("GET /admin/deadletters", w.adminDeadLetters, "dataset")
	sess("POST /admin/deadletters/{dataset}/{seq}/redrive", w.adminRedrive)
	sess("GET /admin/audit", w.adminAudit)
}

// asset serves an embedded file.
func (w *Web) asset(rw http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	b, err := assetFS.ReadFile("assets/" + name)
	if err != nil || strings.Contains(name, "/") {
		http.NotFound(rw, r)
		return
	}
	switch path.Ext(name) {
	case ".css":
		rw.Header().Set("Content-Type", "text/css; charset=utf-8")
	case ".js":
		rw.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	}
	rw.Header().Set("X-Content-Type-Options", "nosniff")
	rw.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = rw.Write(b)
}

// requestCtx bounds the work of a page.
func requestCtx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), 10*time.Second)
}
