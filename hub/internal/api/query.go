package api

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/internal/problem"
)

// queryParams lists the query parameters each route takes, by its mux
// pattern. A parameter a route does not take is refused rather than
// ignored: a misspelt ?id_form= that is silently dropped stores records
// under other ids than the client meant. A route missing here takes none.
var queryParams = map[string][]string{
	"POST /api/v1/datasets/{dataset}/records":     {"id_from"},
	"GET /api/v1/datasets/{dataset}/records":      {"after", "since", "snapshot", "follow"},
	"GET /api/v1/datasets/{dataset}/deadletters":  {"after"},
	"GET /api/v1/policies/check":                  {"actor", "action", "dataset", "ip", "at"},
	"GET /api/v1/policies/explain":                {"actor", "dataset", "action"},
	"GET /api/v1/audit":                           {"n", "follow"},
	"DELETE /api/v1/datasets/{dataset}":           {"confirm"},
	"GET /api/v1/datasets/{dataset}/schemas/diff": {"from", "to"},
	"GET /api/v1/asyncapi.json":                   {"actor"},
}

// checkQuery refuses a request with a query parameter its route does not
// take, naming the parameter and the ones the route takes.
func checkQuery(next problem.HandlerFunc) problem.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		q := r.URL.Query()
		if len(q) == 0 {
			return next(w, r)
		}
		takes := queryParams[r.Pattern]
		names := make([]string, 0, len(q))
		for k := range q {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			if slices.Contains(takes, k) {
				continue
			}
			route := r.Method + " " + r.URL.Path
			if len(takes) == 0 {
				return problem.New(wire.CodeBadRequest, fmt.Sprintf("unknown query parameter %q: %s takes no query parameters", k, route))
			}
			return problem.New(wire.CodeBadRequest, fmt.Sprintf("unknown query parameter %q: %s takes %s", k, route, strings.Join(takes, ", ")))
		}
		return next(w, r)
	}
}
