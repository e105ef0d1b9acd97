package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
)

// openAPIPath is a route's path as OpenAPI writes it: ServeMux's {$} (the
// exact root) is the root, and a rest-of-path wildcard {key...} is {key}.
func openAPIPath(p string) string {
	p = strings.ReplaceAll(p, "{$}", "")
	p = strings.ReplaceAll(p, "...}", "}")
	if p == "" {
		return "/"
	}
	return p
}

// TestOpenAPIDescribesEveryRoute holds the served OpenAPI document to the
// routes the hub registers: no route undocumented, no documented route
// missing, each with the query parameters it takes and its path
// parameters, and the access (tag) it is registered with.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	t.Parallel()
	n := hubtest.Start(t, hubtest.Config(t.TempDir()))
	resp, err := http.Get(n.HTTPURL() + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /openapi.json: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	type param struct {
		Name string `json:"name"`
		In   string `json:"in"`
	}
	type operation struct {
		OperationID string   `json:"operationId"`
		Summary     string   `json:"summary"`
		Tags        []string `json:"tags"`
		Parameters  []param  `json:"parameters"`
	}
	var doc struct {
		OpenAPI string                          `json:"openapi"`
		Paths   map[string]map[string]operation `json:"paths"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi: %q, want 3.1.0", doc.OpenAPI)
	}
	documented := map[string]operation{}
	ids := map[string]string{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			key := strings.ToUpper(method) + " " + path
			documented[key] = op
			if op.OperationID == "" || op.Summary == "" {
				t.Errorf("%s: operationId and summary are required", key)
			}
			if prev, dup := ids[op.OperationID]; dup {
				t.Errorf("operationId %s of %s is also %s's", op.OperationID, key, prev)
			}
			ids[op.OperationID] = key
		}
	}
	registered := map[string]bool{}
	for _, rt := range n.Routes() {
		method, path, _ := strings.Cut(rt.Pattern, " ")
		key := method + " " + openAPIPath(path)
		registered[key] = true
		op, ok := documented[key]
		if !ok {
			t.Errorf("route %s (%s) is not in the OpenAPI document", rt.Pattern, rt.Access)
			continue
		}
		if !slices.Contains(op.Tags, rt.Access) {
			t.Errorf("%s: tags %v, want the route's access %q", key, op.Tags, rt.Access)
		}
		var query, pathParams []string
		for _, p := range op.Parameters {
			switch p.In {
			case "query":
				query = append(query, p.Name)
			case "path":
				pathParams = append(pathParams, p.Name)
			}
		}
		want := slices.Clone(rt.Query)
		sort.Strings(want)
		sort.Strings(query)
		if !slices.Equal(query, want) {
			t.Errorf("%s: documented query parameters %v, the route takes %v", key, query, want)
		}
		for _, seg := range strings.Split(openAPIPath(path), "/") {
			if strings.HasPrefix(seg, "{") && !slices.Contains(pathParams, strings.Trim(seg, "{}")) {
				t.Errorf("%s: path parameter %s not documented", key, seg)
			}
		}
	}
	for key := range documented {
		if !registered[key] {
			t.Errorf("the OpenAPI document describes %s, which the hub does not serve", key)
		}
	}
}
