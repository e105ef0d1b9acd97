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

// checkQuery refuses a request with a query parameter its route does not
// take, naming the parameter and the ones the route takes.
// A parameter a route does not take is refused rather than ignored: a
// misspelt ?id_form= that is silently dropped stores records under other ids
// than the client meant.
func checkQueryOf(takes []string, next problem.HandlerFunc) problem.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		q := r.URL.Query()
		if len(q) == 0 {
			return next(w, r)
		}
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
