package datasets_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/api"
	"github.com/jobtech-dev/datahub/hub/internal/datasets"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
	"github.com/jobtech-dev/datahub/hub/internal/node"
	"github.com/jobtech-dev/datahub/hub/internal/registry"
	"github.com/jobtech-dev/datahub/internal/problem"
)

// gigSchema is version 1 of the gigs test dataset's schema: titles of at
// most 80 characters.
const gigSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["id", "title"],
  "properties": {
    "id": {"type": "string"},
    "title": {"type": "string", "maxLength": 80}
  }
}`

const gigDecl = `name: gigs
title: Gig assignments
owner: gigplatform
key: id
schema: gig.schema.json
`

// gigSchemaWith is gigSchema with title's maxLength n.
func gigSchemaWith(n int) string {
	return strings.Replace(gigSchema, `"maxLength": 80`, `"maxLength": `+itoa(n), 1)
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// schemasCopy copies the repository's schemas folder (what the registry
// reads of it) to a temp dir, adds files (path under it → content; "" deletes)
// and returns the folder.
func schemasCopy(t *testing.T, files map[string]string) string {
	t.Helper()
	all, err := registry.ReadDir(hubtest.SchemasDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for p, b := range all {
		writeFile(t, filepath.Join(dir, p), string(b))
	}
	for p, c := range files {
		if c == "" {
			_ = os.Remove(filepath.Join(dir, p))
			continue
		}
		writeFile(t, filepath.Join(dir, p), c)
	}
	return dir
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// withGigs is the repository's schemas plus the gigs dataset.
func withGigs(t *testing.T) string {
	return schemasCopy(t, map[string]string{"gigs/dataset.yaml": gigDecl, "gigs/gig.schema.json": gigSchema})
}

// client calls a hub's admin API.
type client struct {
	t    *testing.T
	base string
	tok  string
}

func newClient(t *testing.T, n *node.Node) *client {
	return &client{t: t, base: n.HTTPURL(), tok: n.Token()}
}

func (c *client) do(method, path, ctype string, body []byte) (*http.Response, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.tok)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// json calls path and decodes a status answer into v.
func (c *client) json(method, path string, body any, status int, v any) {
	c.t.Helper()
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			c.t.Fatal(err)
		}
	}
	resp, got := c.do(method, path, "application/json", b)
	if resp.StatusCode != status {
		c.t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, status, got)
	}
	if v != nil {
		if err := json.Unmarshal(got, v); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, path, err, got)
		}
	}
}

// problem calls path and returns the problem answered with status.
func (c *client) problem(method, path, ctype string, body []byte, status int) problem.Problem {
	c.t.Helper()
	resp, got := c.do(method, path, ctype, body)
	var p problem.Problem
	if resp.StatusCode != status || json.Unmarshal(got, &p) != nil || p.Status != status {
		c.t.Fatalf("%s %s: %d %s, want a problem with status %d", method, path, resp.StatusCode, got, status)
	}
	return p
}

// apply applies the folder dir through the API.
func (c *client) apply(dir string, prune bool) (*http.Response, []byte) {
	c.t.Helper()
	files, err := registry.ReadDir(dir)
	if err != nil {
		c.t.Fatal(err)
	}
	req := api.ApplyDatasetsRequest{Files: map[string]string{}, Source: dir, Prune: prune}
	for k, v := range files {
		req.Files[k] = string(v)
	}
	b, _ := json.Marshal(req)
	return c.do(http.MethodPut, "/api/v1/datasets", "application/json", b)
}

// applyOK applies dir and returns the result.
func (c *client) applyOK(dir string, prune bool) api.ApplyDatasetsResult {
	c.t.Helper()
	resp, body := c.apply(dir, prune)
	var res api.ApplyDatasetsResult
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &res) != nil {
		c.t.Fatalf("apply %s: %d %s", dir, resp.StatusCode, body)
	}
	return res
}

// publish posts one record to dataset through the admin API.
func (c *client) publish(dataset, record string) (*http.Response, []byte) {
	c.t.Helper()
	return c.do(http.MethodPost, "/api/v1/datasets/"+dataset+"/records", "application/json", []byte(record))
}

// records reads every record of dataset.
func (c *client) records(dataset string) []wire.Envelope {
	c.t.Helper()
	resp, body := c.do(http.MethodGet, "/api/v1/datasets/"+dataset+"/records?after=0", "", nil)
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("read %s: %d %s", dataset, resp.StatusCode, body)
	}
	var out []wire.Envelope
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var e wire.Envelope
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			c.t.Fatalf("read %s: %v", dataset, err)
		}
		out = append(out, e)
	}
	return out
}

// auditKinds reads the audit log's entries of kind.
func (c *client) audit(kind string) []map[string]any {
	c.t.Helper()
	resp, body := c.do(http.MethodGet, "/api/v1/audit", "", nil)
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("audit: %d %s", resp.StatusCode, body)
	}
	var out []map[string]any
	for line := range bytes.Lines(body) {
		var e map[string]any
		if json.Unmarshal(line, &e) == nil && e["kind"] == kind {
			out = append(out, e)
		}
	}
	return out
}

// shipped is the number of datasets the repository's schemas/ declares (the
// state of a hub started with it).
func shipped(t *testing.T) int {
	t.Helper()
	ds, err := registry.LoadDir(hubtest.SchemasDir())
	if err != nil {
		t.Fatal(err)
	}
	return len(ds)
}

// change is res's change of dataset name (the zero Change if none).
func change(res datasets.ApplyResult, name string) datasets.Change {
	for _, c := range res.Datasets {
		if c.Dataset == name {
			return c
		}
	}
	return datasets.Change{}
}
