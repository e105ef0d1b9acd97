package datasets_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/api"
	"github.com/jobtech-dev/datahub/hub/internal/datasets"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
)

// A dataset applied while the hub runs is served at once: its stream
// exists, records are validated against its schema, stored and read back,
// without a restart; the apply is audited.
func TestApplyAddsDatasetServedAtOnce(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	c := newClient(t, n)
	res := c.applyOK(withGigs(t), false)
	if !res.Changed || res.Count(datasets.ActionAdded) != 1 || change(res.ApplyResult, "gigs").Action != datasets.ActionAdded || change(res.ApplyResult, "gigs").Version != 1 {
		t.Fatalf("apply: %+v", res)
	}
	if res.Count(datasets.ActionUnchanged) != shipped(t) || res.Origin.Route != "api" {
		t.Fatalf("apply: %+v", res)
	}
	if resp, body := c.publish("gigs", `{"id":"g1","title":"Paint a fence in Solna"}`); resp.StatusCode != http.StatusCreated {
		t.Fatalf("publish to the new dataset: %d %s", resp.StatusCode, body)
	}
	if resp, body := c.publish("gigs", `{"id":"g2"}`); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), "title") {
		t.Fatalf("invalid record for the new dataset: %d %s", resp.StatusCode, body)
	}
	recs := c.records("gigs")
	if len(recs) != 1 || recs[0].Key != "g1" || recs[0].SchemaVersion != 1 || recs[0].Dataset != "gigs" {
		t.Fatalf("records: %+v", recs)
	}
	var info api.DatasetInfo
	c.json(http.MethodGet, "/api/v1/datasets/gigs", nil, http.StatusOK, &info)
	if info.Compatibility != "BACKWARD" || len(info.Versions) != 1 || info.Versions[0].Route != "api" {
		t.Fatalf("dataset: %+v", info)
	}
	entries := c.audit("dataset.apply")
	last := entries[len(entries)-1]
	if !strings.Contains(mustString(last["detail"]), `"gigs"`) || last["actor"] != "admin" {
		t.Fatalf("audit entry: %v", last)
	}
	// The same folder again is no change, and is not audited again.
	if res := c.applyOK(withGigs(t), false); res.Changed {
		t.Fatalf("the same folder again: %+v", res)
	}
	if again := c.audit("dataset.apply"); len(again) != len(entries) {
		t.Fatalf("an apply that changed nothing was audited: %d entries, then %d", len(entries), len(again))
	}
}

func mustString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// A folder with mistakes changes nothing, and the error names every
// mistake: file, line and field; a schema its mode refuses is named with
// its breaking changes.
func TestApplyBadFolderChangesNothing(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	c := newClient(t, n)
	var before api.RegistryState
	c.json(http.MethodGet, "/api/v1/registry", nil, http.StatusOK, &before)

	jobads := string(hubtest.ReadFile(t, hubtest.SchemasDir()+"/jobads/dataset.yaml"))
	dir := schemasCopy(t, map[string]string{
		"gigs/dataset.yaml":    gigDecl + "colour: blue\n",
		"gigs/gig.schema.json": gigSchema,
		"jobads/dataset.yaml":  strings.Replace(jobads, "retention: 0", "retention: a year", 1),
	})
	resp, body := c.apply(dir, false)
	var p struct {
		Status int    `json:"status"`
		Code   string `json:"code"`
		Title  string `json:"title"`
		Detail string `json:"detail"`
	}
	if resp.StatusCode != http.StatusUnprocessableEntity || json.Unmarshal(body, &p) != nil || p.Code != "invalid" {
		t.Fatalf("bad folder: %d %s", resp.StatusCode, body)
	}
	for _, want := range []string{"gigs/dataset.yaml:6:1", `unknown field "colour"`, "jobads/dataset.yaml:", `retention: "a year" is not a Go duration`, "nothing changed"} {
		if !strings.Contains(p.Detail+p.Title, want) {
			t.Errorf("the refusal lacks %q:\n%s\n%s", want, p.Title, p.Detail)
		}
	}

	var after api.RegistryState
	c.json(http.MethodGet, "/api/v1/registry", nil, http.StatusOK, &after)
	if after.Digest != before.Digest || after.Datasets != shipped(t) {
		t.Fatalf("a refused folder changed the registry: %+v → %+v", before, after)
	}
	if _, err := n.JetStream().Stream(t.Context(), "DS_gigs"); err != jetstream.ErrStreamNotFound {
		t.Fatalf("a refused folder made a stream: %v", err)
	}

	// A schema the dataset's mode refuses: every breaking change, with the
	// file and both pointers.
	dir = schemasCopy(t, map[string]string{"gigs/dataset.yaml": gigDecl, "gigs/gig.schema.json": gigSchema})
	c.applyOK(dir, false)
	c.json(http.MethodGet, "/api/v1/registry", nil, http.StatusOK, &before)
	writeFile(t, dir+"/gigs/gig.schema.json", strings.Replace(gigSchemaWith(40), `"required": ["id", "title"]`, `"required": ["id", "title", "pay"]`, 1))
	resp, body = c.apply(dir, false)
	if resp.StatusCode != http.StatusUnprocessableEntity || json.Unmarshal(body, &p) != nil {
		t.Fatalf("incompatible schema in a folder: %d %s", resp.StatusCode, body)
	}
	for _, want := range []string{"gigs/dataset.yaml", "version 2 refused under BACKWARD: 2 breaking changes",
		"backward MAX_LENGTH_DECREASED", "new: /properties/title/maxLength", "backward REQUIRED_PROPERTY_ADDED"} {
		if !strings.Contains(p.Detail, want) {
			t.Errorf("the refusal lacks %q:\n%s", want, p.Detail)
		}
	}

	c.json(http.MethodGet, "/api/v1/registry", nil, http.StatusOK, &after)
	if after.Digest != before.Digest || after.Datasets != shipped(t)+1 {
		t.Fatalf("a refused folder changed the registry: %+v → %+v", before, after)
	}
	var versions wire.SchemaVersions
	c.json(http.MethodGet, "/api/v1/datasets/gigs/schemas", nil, http.StatusOK, &versions)
	if versions.Latest != 1 || len(versions.Versions) != 1 {
		t.Fatalf("versions after a refused folder: %+v", versions)
	}
}

// A dataset left out of a folder applied with prune is retired: its records
// can still be read, publishes are refused with the code retired; delete
// with the name confirmed removes it, and a restart reports no data lost.
func TestPruneRetiresAndDeleteRemoves(t *testing.T) {
	t.Parallel()
	cfg := hubtest.Config(t.TempDir())
	n := hubtest.Start(t, cfg)
	c := newClient(t, n)
	c.applyOK(withGigs(t), false)
	for _, id := range []string{"g1", "g2"} {
		if resp, body := c.publish("gigs", `{"id":"`+id+`","title":"Walk a dog"}`); resp.StatusCode != http.StatusCreated {
			t.Fatalf("publish: %d %s", resp.StatusCode, body)
		}
	}
	// Without prune, a dataset left out is kept, with a warning.
	res := c.applyOK(schemasCopy(t, nil), false)
	if res.Changed || res.Count(datasets.ActionKept) != 1 || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "gigs") {
		t.Fatalf("apply without gigs: %+v", res)
	}
	res = c.applyOK(schemasCopy(t, nil), true)
	if !res.Changed || res.Count(datasets.ActionRetired) != 1 {
		t.Fatalf("apply --prune without gigs: %+v", res)
	}
	p := c.problem(http.MethodPost, "/api/v1/datasets/gigs/records", "application/json", []byte(`{"id":"g3","title":"x"}`), http.StatusGone)
	if p.Code != wire.CodeRetired || !strings.Contains(p.Detail, "retired") {
		t.Fatalf("publish to a retired dataset: %+v", p)
	}
	if recs := c.records("gigs"); len(recs) != 2 {
		t.Fatalf("records of a retired dataset: %d", len(recs))
	}
	var info api.DatasetInfo
	c.json(http.MethodGet, "/api/v1/datasets/gigs", nil, http.StatusOK, &info)
	if info.Retired == nil || info.Retired.By != "admin" {
		t.Fatalf("retired dataset: %+v", info)
	}
	c.problem(http.MethodDelete, "/api/v1/datasets/gigs", "", nil, http.StatusBadRequest)
	c.problem(http.MethodDelete, "/api/v1/datasets/gigs?confirm=jobads", "", nil, http.StatusBadRequest)
	if p := c.problem(http.MethodDelete, "/api/v1/datasets/jobads?confirm=jobads", "", nil, http.StatusConflict); !strings.Contains(p.Detail, "--prune") {
		t.Fatalf("delete a dataset in force: %+v", p)
	}
	var del datasets.DeleteResult
	c.json(http.MethodDelete, "/api/v1/datasets/gigs?confirm=gigs", nil, http.StatusOK, &del)
	if del.Records != 2 || del.Versions != 1 {
		t.Fatalf("delete: %+v", del)
	}
	c.problem(http.MethodGet, "/api/v1/datasets/gigs", "", nil, http.StatusNotFound)
	if _, err := n.JetStream().Stream(t.Context(), "DS_gigs"); err != jetstream.ErrStreamNotFound {
		t.Fatalf("stream of a deleted dataset: %v", err)
	}
	if len(c.audit("dataset.delete")) != 1 {
		t.Fatal("delete not audited")
	}
	// A restart compares the streams with the hub's record: a deleted
	// dataset is not data lost.
	hubtest.Stop(t, n)
	n = hubtest.Start(t, cfg)
	c = newClient(t, n)
	resp, body := c.do(http.MethodGet, "/readyz", "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("readyz after deleting a dataset and a restart: %d %s", resp.StatusCode, body)
	}
	if _, ok := n.Registry().Get("gigs"); ok {
		t.Fatal("a deleted dataset is back after a restart")
	}
}
