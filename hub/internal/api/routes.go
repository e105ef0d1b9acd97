package api

import (
	"log/slog"
	"net/http"

	"github.com/jobtech-dev/datahub/internal/problem"
)

// Route is one endpoint of the hub's HTTP server as it is registered. The
// list (Handler.Routes) is what the OpenAPI document is checked against.
type Route struct {
	// Pattern is the ServeMux pattern: method, space, path.
	Pattern string
	// Query lists the query parameters the route takes. An API route
	// refuses any other (400); a web page ignores them.
	Query []string
	// Access is who may call it: AccessAdmin (the admin token),
	// AccessPublic (anyone), AccessSession (a signed-in browser session).
	Access string
	handle problem.HandlerFunc
}

// Who may call a route.
const (
	AccessAdmin   = "admin"
	AccessPublic  = "public"
	AccessSession = "session"
)

// registrar registers every route through one place and records it.
type registrar struct {
	mux    *http.ServeMux // everything
	v1     *http.ServeMux // /api/v1, behind the admin token
	routes []Route
}

// api registers an API route: its handler renders errors as problems and
// refuses query parameters the route does not take.
func (r *registrar) api(rt Route, log *slog.Logger) {
	h := problem.Handle(log, checkQueryOf(rt.Query, rt.handle))
	if rt.Access == AccessAdmin {
		r.v1.HandleFunc(rt.Pattern, h)
	} else {
		r.mux.HandleFunc(rt.Pattern, h)
	}
	rt.handle = nil
	r.routes = append(r.routes, rt)
}

// page registers a route served by another package (the web pages and the
// public data endpoints), which does its own access checks.
func (r *registrar) page(rt Route, h http.Handler) {
	rt.handle = nil
	r.mux.Handle(rt.Pattern, h)
	r.routes = append(r.routes, rt)
}

// adminRoute is a route of the admin API (behind the token) taking query.
func adminRoute(pattern string, h problem.HandlerFunc, query ...string) Route {
	return Route{Pattern: pattern, Query: query, Access: AccessAdmin, handle: h}
}

// table is the admin API and the health checks, in the order they are
// documented.
func (a *api) table() []Route {
	admin := adminRoute
	rs := []Route{
		{Pattern: "GET /healthz", Access: AccessPublic, handle: a.healthz},
		{Pattern: "GET /readyz", Access: AccessPublic, handle: a.readyz},
		{Pattern: "GET /openapi.json", Access: AccessPublic, handle: a.openAPI},
		admin("GET /api/v1/datasets", a.listDatasets),
		admin("GET /api/v1/datasets/{dataset}", a.getDataset),
		admin("GET /api/v1/datasets/{dataset}/schema", a.getSchema),
		admin("PUT /api/v1/datasets", a.applyDatasets),
		admin("DELETE /api/v1/datasets/{dataset}", a.deleteDataset, "confirm"),
		admin("GET /api/v1/registry", a.registryState),
		admin("GET /api/v1/datasets/{dataset}/schemas", a.listSchemas),
		admin("POST /api/v1/datasets/{dataset}/schemas", a.addSchema),
		admin("POST /api/v1/datasets/{dataset}/schemas/check", a.checkSchema),
		admin("GET /api/v1/datasets/{dataset}/schemas/diff", a.diffSchemas, "from", "to"),
		admin("GET /api/v1/datasets/{dataset}/schemas/{version}", a.getSchemaVersion),
		admin("POST /api/v1/datasets/{dataset}/records", a.publishRecords, "id_from"),
		admin("GET /api/v1/datasets/{dataset}/records", a.readRecords, "after", "since", "snapshot", "follow"),
		admin("GET /api/v1/datasets/{dataset}/snapshot", a.readSnapshot),
		admin("GET /api/v1/datasets/{dataset}/deadletters", a.readDeadLetters, "after"),
		admin("GET /api/v1/datasets/{dataset}/owners/{key...}", a.getKeyOwner),
		admin("PUT /api/v1/datasets/{dataset}/owners/{key...}", a.transferKey),
		admin("GET /api/v1/actors", a.listActors),
		admin("POST /api/v1/actors", a.createActor),
		admin("DELETE /api/v1/actors/{actor}", a.revokeActor),
		admin("GET /api/v1/policies", a.getPolicies),
		admin("PUT /api/v1/policies", a.applyPolicies),
		admin("GET /api/v1/policies/check", a.checkPolicy, "actor", "action", "dataset", "ip", "at"),
		admin("GET /api/v1/policies/explain", a.explainPolicy, "actor", "dataset", "action"),
		admin("GET /api/v1/audit", a.tailAudit, "n", "follow"),
		admin("GET /api/v1/audit/verify", a.verifyAudit),
		admin("POST /api/v1/audit/verify", a.verifyAudit),
		admin("POST /api/v1/audit/seal", a.sealAudit),
		admin("GET /api/v1/audit/anchor", a.lastAnchor),
		admin("GET /api/v1/damage", a.listDamage),
		admin("POST /api/v1/damage/{name}/ack", a.ackDamage),
		admin("POST /api/v1/token/rotate", a.rotateToken),
		admin("POST /api/v1/backup", a.backup),
		admin("GET /api/v1/asyncapi.json", a.asyncAPI, "actor"),
	}
	rs = append(rs, a.peerRoutes()...)
	if a.Metrics != nil {
		rs = append(rs, admin("GET /api/v1/metrics", a.metrics))
	}
	return append(rs, a.extraRoutes()...)
}

// metrics serves the Prometheus metrics behind the admin token.
func (a *api) metrics(w http.ResponseWriter, r *http.Request) error {
	a.Metrics.ServeHTTP(w, r)
	return nil
}
