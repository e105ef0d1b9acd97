package api_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/api"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
	"github.com/jobtech-dev/datahub/hub/internal/node"
	"github.com/jobtech-dev/datahub/hub/internal/store"
	"github.com/jobtech-dev/datahub/internal/problem"
)

type client struct {
	t     *testing.T
	base  string
	token string
}

func newClient(t *testing.T, n *node.Node) *client {
	return &client{t: t, base: n.HTTPURL(), token: n.Token()}
}

func (c *client) do(method, path, ctype string, body []byte) (*http.Response, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
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

func example(t *testing.T, dataset, kind, file string) []byte {
	return hubtest.ReadFile(t, filepath.Join(hubtest.SchemasDir(), dataset, "examples", kind, file))
}

func problemOf(t *testing.T, resp *http.Response, body []byte, status int) problem.Problem {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json", ct)
	}
	var p problem.Problem
	if err := json.Unmarshal(body, &p); err != nil || p.Status != status || p.Title == "" || p.Type == "" {
		t.Fatalf("problem %s: %v", body, err)
	}
	return p
}

func ndjson[T any](t *testing.T, body []byte) []T {
	t.Helper()
	var out []T
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, v)
	}
	return out
}

func TestAdminTokenRequired(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	ad := example(t, "jobads", "valid", "small-ad.json")
	for _, tok := range []string{"", "wrong", n.Token() + "x"} {
		c := &client{t: t, base: n.HTTPURL(), token: tok}
		for _, r := range []struct{ method, path string }{
			{"GET", "/api/v1/datasets"},
			{"POST", "/api/v1/datasets/jobads/records"},
			{"GET", "/api/v1/datasets/jobads/records"},
			{"GET", "/api/v1/nosuch"},
		} {
			resp, body := c.do(r.method, r.path, "application/json", ad)
			problemOf(t, resp, body, http.StatusUnauthorized)
			if resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		}
	}
	if st, _ := store.DatasetStats(t.Context(), n.JetStream(), "jobads"); st.Records != 0 {
		t.Fatalf("%d records stored by unauthenticated requests", st.Records)
	}
	// Health checks need no token.
	c := &client{t: t, base: n.HTTPURL()}
	for _, p := range []string{"/healthz", "/readyz"} {
		if resp, body := c.do("GET", p, "", nil); resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", p, resp.StatusCode, body)
		}
	}
}

func TestListDatasets(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	c := newClient(t, n)
	resp, body := c.do("GET", "/api/v1/datasets", "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var list []api.DatasetInfo
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, d := range list {
		names = append(names, d.Name)
		if d.Stats == nil || d.Owner == "" || d.Key == "" || d.SchemaVersion < 1 {
			t.Errorf("dataset %+v incomplete", d)
		}
		if d.Validator != "fast" {
			t.Errorf("dataset %s: validator %q, want the one-pass validator for every shipped schema", d.Name, d.Validator)
		}
	}
	if strings.Join(names, ",") != "education-offerings,gig-assignments,job-postings,jobads,taxonomy-concepts" {
		t.Fatalf("datasets %v", names)
	}
	resp, body = c.do("GET", "/api/v1/datasets/jobads/schema", "", nil)
	if resp.StatusCode != 200 || !json.Valid(body) || !bytes.Contains(body, []byte(`"$id"`)) {
		t.Fatalf("schema: %d %s", resp.StatusCode, body)
	}
	c.problem("GET", "/api/v1/datasets/nosuch", "", nil, http.StatusNotFound)
}

func (c *client) problem(method, path, ctype string, body []byte, status int) problem.Problem {
	c.t.Helper()
	resp, b := c.do(method, path, ctype, body)
	return problemOf(c.t, resp, b, status)
}

func TestPublishErrors(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	c := newClient(t, n)
	p := c.problem("POST", "/api/v1/datasets/jobads/records", "application/json", example(t, "jobads", "invalid", "headline-not-string.json"), 422)
	if len(p.Violations) == 0 || p.Violations[0].Pointer != "/headline" {
		t.Fatalf("violations %+v", p.Violations)
	}
	c.problem("POST", "/api/v1/datasets/jobads/records", "text/plain", []byte("hello"), 415)
	c.problem("POST", "/api/v1/datasets/nosuch/records", "application/json", []byte(`{}`), 404)
	c.problem("POST", "/api/v1/datasets/jobads/records", "application/json", bytes.Repeat([]byte("a"), 2<<20), 413)
	// Slightly over the limit still reaches the validator: 413 with the violation.
	over := []byte(`{"id":"1","x":"` + strings.Repeat("a", 1<<20) + `"}`)
	p = c.problem("POST", "/api/v1/datasets/jobads/records", "application/json", over, 413)
	if len(p.Violations) == 0 || p.Violations[0].Keyword != "maxBytes" {
		t.Fatalf("violations %+v", p.Violations)
	}
	c.problem("GET", "/api/v1/datasets/jobads/records?after=x", "", nil, 400)
	c.problem("GET", "/api/v1/datasets/jobads/records?since=yesterday", "", nil, 400)
	c.problem("GET", "/api/v1/datasets/jobads/records?after=1&snapshot=true", "", nil, 400)
	if st, _ := store.DatasetStats(t.Context(), n.JetStream(), "jobads"); st.Records != 0 {
		t.Fatalf("%d records stored from bad input", st.Records)
	}
}

func TestPublishAndRead(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	c := newClient(t, n)
	var batch bytes.Buffer
	// Ad 23174210 is under invalid/: five of its concept ids and its country
	// code are not in the real taxonomy snapshot; this hub has no taxonomy
	// loaded, so it stores it.
	for _, f := range []string{"valid/ad-22884504.json", "invalid/ad-23174210.json", "valid/ad-23187561.json"} {
		dir, name, _ := strings.Cut(f, "/")
		batch.Write(bytes.TrimSpace(example(t, "jobads", dir, name)))
		batch.WriteByte('\n')
	}
	batch.WriteString("{not json\n")
	resp, body := c.do("POST", "/api/v1/datasets/jobads/records", "application/x-ndjson", batch.Bytes())
	if resp.StatusCode != 422 {
		t.Fatalf("batch with a bad line: %d %s", resp.StatusCode, body)
	}
	var res problem.Batch
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	if res.Counts[wire.StatusStored] != 3 || res.Refused() != 1 || res.Results[3].Line != 4 || res.Results[3].Violations[0].Keyword != "json" {
		t.Fatalf("batch result %+v", res)
	}
	mid := time.Now()
	time.Sleep(10 * time.Millisecond)
	// A later version of ad 22884504, then its tombstone.
	resp, body = c.do("POST", "/api/v1/datasets/jobads/records", "application/json", example(t, "jobads", "valid", "tombstone-22884504.json"))
	if resp.StatusCode != 201 {
		t.Fatalf("tombstone: %d %s", resp.StatusCode, body)
	}
	resp, body = c.do("GET", "/api/v1/datasets/jobads/records", "", nil)
	all := ndjson[wire.Envelope](t, body)
	if resp.StatusCode != 200 || len(all) != 4 {
		t.Fatalf("read all: %d, %d records", resp.StatusCode, len(all))
	}
	for i, e := range all {
		if e.Seq != uint64(i+1) || e.Publisher != wire.AdminActor || e.Dataset != "jobads" || e.ID == "" || len(e.Data) == 0 {
			t.Fatalf("envelope %d: %+v", i, e)
		}
	}
	if !all[3].Tombstone || all[3].Key != "22884504" {
		t.Fatalf("last record %+v should be the tombstone of 22884504", all[3])
	}
	_, body = c.do("GET", "/api/v1/datasets/jobads/records?after=2", "", nil)
	if got := ndjson[wire.Envelope](t, body); len(got) != 2 || got[0].Seq != 3 {
		t.Fatalf("after=2: %+v", got)
	}
	_, body = c.do("GET", "/api/v1/datasets/jobads/records?since="+mid.UTC().Format(time.RFC3339Nano), "", nil)
	if got := ndjson[wire.Envelope](t, body); len(got) != 1 || got[0].Seq != 4 {
		t.Fatalf("since: %+v", got)
	}
	_, body = c.do("GET", "/api/v1/datasets/jobads/snapshot", "", nil)
	snap := ndjson[wire.Envelope](t, body)
	keys := []string{}
	for _, e := range snap {
		keys = append(keys, e.Key)
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != "23174210,23187561" {
		t.Fatalf("snapshot keys %v, want the two ads not removed", keys)
	}
	_, body = c.do("GET", "/api/v1/datasets/jobads/deadletters", "", nil)
	dl := ndjson[wire.DeadLetter](t, body)
	if len(dl) != 1 || dl[0].Publisher != wire.AdminActor || !strings.Contains(dl[0].Reason, "JSON") && !strings.Contains(dl[0].Reason, "json") {
		t.Fatalf("dead letters %+v", dl)
	}
	// An empty dataset reads as nothing, not an error.
	resp, body = c.do("GET", "/api/v1/datasets/taxonomy-concepts/records", "", nil)
	if resp.StatusCode != 200 || len(body) != 0 {
		t.Fatalf("empty dataset: %d %q", resp.StatusCode, body)
	}
}

func TestAdminBodiesAreStrict(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	c := newClient(t, n)
	c.problem("PUT", "/api/v1/policies", "application/json", []byte(`{}`), http.StatusBadRequest)
	c.problem("PUT", "/api/v1/policies", "application/json", []byte(`{"files":{}} trailing`), http.StatusBadRequest)
	c.problem("POST", "/api/v1/actors", "application/json", []byte(`{"name":"x","public_key":"SUAB"}`), http.StatusBadRequest)
	p := c.problem("PUT", "/api/v1/policies", "application/json", []byte(`{"files":{"a.json":"[{\"id\":\"x\"}]"}}`), http.StatusUnprocessableEntity)
	if p.Code != wire.CodeInvalid || !strings.Contains(p.Title, "Policy files rejected") || !strings.Contains(p.Detail, "a.json") {
		t.Fatalf("policy problem %+v", p)
	}
	if n.Access().Policies().Len() == 0 {
		t.Fatal("a rejected apply changed the policies")
	}
	p = c.problem("PUT", "/api/v1/policies", "application/json", []byte(`{"files":{},"source":"dir\u001b[2J"}`), http.StatusBadRequest)
	if !strings.Contains(p.Detail, "source") {
		t.Fatalf("source with a control character: %+v", p)
	}
}

func TestPoliciesSayHowTheyWereApplied(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	c := newClient(t, n)
	origin := func() map[string]any {
		t.Helper()
		resp, body := c.do("GET", "/api/v1/policies", "", nil)
		var got struct {
			Origin map[string]any `json:"origin"`
		}
		if resp.StatusCode != 200 || json.Unmarshal(body, &got) != nil {
			t.Fatalf("GET policies: %d %s", resp.StatusCode, body)
		}
		return got.Origin
	}
	if o := origin(); o["route"] != "folder" || o["by"] != "hub-start" || !strings.HasSuffix(o["source"].(string), "policies") {
		t.Fatalf("origin after start %v, want the policies folder", o)
	}
	body := []byte(`{"files":{"a.json":"{\"id\":\"x\",\"description\":\"x\",\"subjects\":[\"actor:a\"],\"resources\":[\"dataset:jobads\"],\"actions\":[\"publish\"],\"effect\":\"allow\"}"},"source":"/srv/policies"}`)
	if resp, b := c.do("PUT", "/api/v1/policies", "application/json", body); resp.StatusCode != 200 {
		t.Fatalf("apply: %d %s", resp.StatusCode, b)
	}
	if o := origin(); o["route"] != "api" || o["by"] != "admin" || o["source"] != "/srv/policies" {
		t.Fatalf("origin after an API apply %v", o)
	}
}

func TestWrongMethodAndPath(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	c := newClient(t, n)
	resp, body := c.do("DELETE", "/api/v1/datasets", "", nil)
	p := problemOf(t, resp, body, http.StatusMethodNotAllowed)
	if resp.Header.Get("Allow") == "" || !strings.Contains(p.Detail, "GET") {
		t.Fatalf("405 without Allow: %+v %v", p, resp.Header)
	}
	c.problem("GET", "/api/v1/nosuch", "", nil, http.StatusNotFound)
}
