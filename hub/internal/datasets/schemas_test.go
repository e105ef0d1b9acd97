package datasets_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/api"
	"github.com/jobtech-dev/datahub/hub/internal/compat"
	"github.com/jobtech-dev/datahub/hub/internal/datasets"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
)

// A compatible schema becomes version 2 and records are validated against
// it; a publisher that pins version 1 is still validated against version
// 1; every stored record names its version. An incompatible schema is
// refused with every breaking change and changes nothing; check registers
// nothing; diff shows the changes; any version can be read back.
func TestSchemaVersionsAddPinAndRefuse(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	c := newClient(t, n)
	c.applyOK(withGigs(t), false)
	long := strings.Repeat("x", 100) // over version 1's maxLength 80

	// check registers nothing, and says whether add would.
	var rep compat.Report
	c.json(http.MethodPost, "/api/v1/datasets/gigs/schemas/check", json.RawMessage(gigSchemaWith(120)), http.StatusOK, &rep)
	if !rep.Compatible || rep.Version != 2 || len(rep.Checked) != 1 {
		t.Fatalf("check of a compatible schema: %+v", rep)
	}
	c.json(http.MethodPost, "/api/v1/datasets/gigs/schemas/check", json.RawMessage(gigSchemaWith(40)), http.StatusOK, &rep)
	if rep.Compatible || len(rep.Breaking) != 1 || rep.Breaking[0].Type != compat.MaxLengthDecreased {
		t.Fatalf("check of an incompatible schema: %+v", rep)
	}

	var add datasets.AddResult
	c.json(http.MethodPost, "/api/v1/datasets/gigs/schemas", json.RawMessage(gigSchemaWith(120)), http.StatusCreated, &add)
	if add.Version != 2 || !add.Changed || !add.Report.Compatible {
		t.Fatalf("add: %+v", add)
	}
	// The same schema again registers nothing.
	c.json(http.MethodPost, "/api/v1/datasets/gigs/schemas", json.RawMessage(gigSchemaWith(120)), http.StatusOK, &add)
	if add.Version != 2 || add.Changed {
		t.Fatalf("add the latest again: %+v", add)
	}

	if resp, body := c.publish("gigs", `{"id":"g1","title":"`+long+`"}`); resp.StatusCode != http.StatusCreated {
		t.Fatalf("a record only version 2 accepts: %d %s", resp.StatusCode, body)
	}
	pin := func(v, record string) (*http.Response, []byte) {
		req, _ := http.NewRequest(http.MethodPost, c.base+"/api/v1/datasets/gigs/records", strings.NewReader(record))
		req.Header.Set("Authorization", "Bearer "+c.tok)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(wire.RequestSchemaVersion, v)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b json.RawMessage
		_ = json.NewDecoder(resp.Body).Decode(&b)
		return resp, b
	}
	if resp, body := pin("1", `{"id":"g2","title":"`+long+`"}`); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), "maxLength") {
		t.Fatalf("pinned to version 1, a title of 100: %d %s", resp.StatusCode, body)
	}
	if resp, body := pin("1", `{"id":"g3","title":"Short"}`); resp.StatusCode != http.StatusCreated {
		t.Fatalf("pinned to version 1: %d %s", resp.StatusCode, body)
	}
	if resp, body := pin("9", `{"id":"g4","title":"Short"}`); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), "schemaVersion") {
		t.Fatalf("pinned to a version that does not exist: %d %s", resp.StatusCode, body)
	}
	versions := map[string]int{}
	for _, e := range c.records("gigs") {
		versions[e.Key] = e.SchemaVersion
	}
	if len(versions) != 2 || versions["g1"] != 2 || versions["g3"] != 1 {
		t.Fatalf("stored records' schema versions: %v", versions)
	}

	// Refused: 409 with every breaking change, its direction and both
	// pointers; nothing registered, nothing audited.
	registered := len(c.audit("schema.register"))
	bad := strings.Replace(gigSchemaWith(40), `"required": ["id", "title"]`, `"required": ["id", "title", "pay"]`, 1)
	p := c.problem(http.MethodPost, "/api/v1/datasets/gigs/schemas", "application/schema+json", []byte(bad), http.StatusConflict)
	if p.Code != wire.CodeIncompatible || p.Compatibility == nil || p.Compatibility.Compatible || len(p.Compatibility.Breaking) != 2 {
		t.Fatalf("incompatible schema: %+v", p)
	}
	for _, ch := range p.Compatibility.Breaking {
		if ch.Breaks != "backward" || ch.Version != 2 || ch.NewPointer == "" || ch.Message == "" {
			t.Errorf("breaking change: %+v", ch)
		}
	}
	for _, want := range []string{"version 3 refused under BACKWARD: 2 breaking changes (checked against version 2)",
		"backward MAX_LENGTH_DECREASED, against version 2", "old: /properties/title/maxLength", "new: /properties/title/maxLength",
		"backward REQUIRED_PROPERTY_ADDED"} {
		if !strings.Contains(p.Detail, want) {
			t.Errorf("the refusal lacks %q:\n%s", want, p.Detail)
		}
	}
	var list wire.SchemaVersions
	c.json(http.MethodGet, "/api/v1/datasets/gigs/schemas", nil, http.StatusOK, &list)
	if list.Latest != 2 || len(list.Versions) != 2 || list.Versions[1].Route != "api" || list.Compatibility != "BACKWARD" {
		t.Fatalf("versions: %+v", list)
	}
	if got := len(c.audit("schema.register")); got != registered {
		t.Fatalf("schema.register entries: %d, then %d after a refusal", registered, got)
	}
	if resp, body := c.publish("gigs", `{"id":"g5","title":"`+long+`"}`); resp.StatusCode != http.StatusCreated {
		t.Fatalf("after a refusal, version 2 still applies: %d %s", resp.StatusCode, body)
	}

	// Any version reads back as registered; diff shows what changed.
	resp, body := c.do(http.MethodGet, "/api/v1/datasets/gigs/schemas/1", "", nil)
	if resp.StatusCode != http.StatusOK || string(body) != gigSchema || resp.Header.Get(wire.HeaderSchemaVersion) != "1" || resp.Header.Get(wire.HeaderSchemaLatest) != "2" {
		t.Fatalf("version 1: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	c.problem(http.MethodGet, "/api/v1/datasets/gigs/schemas/3", "", nil, http.StatusNotFound)
	var diff api.SchemaDiff
	c.json(http.MethodGet, "/api/v1/datasets/gigs/schemas/diff?from=1&to=2", nil, http.StatusOK, &diff)
	if len(diff.Changes) != 1 || diff.Changes[0].Type != compat.MaxLengthIncreased || diff.Changes[0].Breaks != compat.DirForward {
		t.Fatalf("diff: %+v", diff)
	}

	// A folder whose schema_version disagrees with the registry is refused,
	// naming both.
	dir := withGigs(t)
	writeFile(t, dir+"/gigs/dataset.yaml", gigDecl+"schema_version: 1\n")
	writeFile(t, dir+"/gigs/gig.schema.json", gigSchemaWith(150))
	resp, body = c.apply(dir, false)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), "gigs/dataset.yaml:6:17: schema_version: 1, but the registry's latest version of dataset gigs is 2") ||
		!strings.Contains(string(body), "registered as version 3") {
		t.Fatalf("schema_version that disagrees: %d %s", resp.StatusCode, body)
	}
	// Without schema_version, the changed schema becomes version 3.
	writeFile(t, dir+"/gigs/dataset.yaml", gigDecl)
	res := c.applyOK(dir, false)
	if len(res.Datasets) != shipped(t)+1 || change(res.ApplyResult, "gigs").Version != 3 {
		t.Fatalf("apply of a changed schema: %+v", res)
	}
}
