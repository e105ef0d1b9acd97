package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/api"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
	"github.com/jobtech-dev/datahub/internal/problem"
	"github.com/jobtech-dev/datahub/internal/recordid"
)

func TestUnknownQueryParametersAreRefused(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	c := newClient(t, n)
	ad := example(t, "jobads", "valid", "small-ad.json")
	for _, tc := range []struct {
		method, path, ctype string
		body                []byte
		param, takes        string
	}{
		{"POST", "/api/v1/datasets/jobads/records?id_form=id", "application/json", ad, "id_form", "takes id_from"},
		{"POST", "/api/v1/datasets/jobads/records?id_from=id&dry_run=1", "application/x-ndjson", ad, "dry_run", "takes id_from"},
		{"GET", "/api/v1/datasets/jobads/records?from=3", "", nil, "from", "takes after, since, snapshot, follow"},
		{"GET", "/api/v1/datasets/jobads/snapshot?follow=true", "", nil, "follow", "takes no query parameters"},
		{"GET", "/api/v1/datasets/jobads/deadletters?since=2026-01-01T00:00:00Z", "", nil, "since", "takes after"},
		{"GET", "/api/v1/datasets?limit=1", "", nil, "limit", "takes no query parameters"},
		{"GET", "/api/v1/policies/check?actor=jobbland&action=publish&dataset=jobads&when=now", "", nil, "when", "takes actor, action, dataset, ip, at"},
		{"GET", "/api/v1/audit?lines=3", "", nil, "lines", "takes n, follow"},
		{"GET", "/healthz?verbose=1", "", nil, "verbose", "takes no query parameters"},
	} {
		resp, body := c.do(tc.method, tc.path, tc.ctype, tc.body)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s %s: %d, want 400: %s", tc.method, tc.path, resp.StatusCode, body)
			continue
		}
		p := problemOf(t, resp, body, http.StatusBadRequest)
		if !strings.Contains(p.Detail, `unknown query parameter "`+tc.param+`"`) || !strings.Contains(p.Detail, tc.takes) {
			t.Errorf("%s %s: detail %q should name %q and say the route %s", tc.method, tc.path, p.Detail, tc.param, tc.takes)
		}
	}
	if got := len(readAll(t, c, "jobads")); got != 0 {
		t.Fatalf("%d records stored by refused requests", got)
	}
	// What a route takes still works.
	if resp, body := c.do("GET", "/api/v1/datasets/jobads/records?after=0", "", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET records?after=0: %d %s", resp.StatusCode, body)
	}
}

func readAll(t *testing.T, c *client, dataset string) []wire.Envelope {
	t.Helper()
	resp, body := c.do("GET", "/api/v1/datasets/"+dataset+"/records", "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("read %s: %d %s", dataset, resp.StatusCode, body)
	}
	return ndjson[wire.Envelope](t, body)
}

// The hub API takes ?id_from= as the sidecar does: the record id is made
// from the field and the record's content, so a resent batch is stored once.
func TestIDFromOnTheHubAPI(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	c := newClient(t, n)
	ads := bytes.TrimSpace(hubtest.ReadFile(t, filepath.Join(hubtest.JobTechData(), "job-ads.ndjson")))
	lines := bytes.Split(ads, []byte("\n"))

	// A batch, sent twice: stored once, every id from the ad's id.
	for round, want := range []wire.Status{wire.StatusStored, wire.StatusDuplicate} {
		resp, body := c.do("POST", "/api/v1/datasets/jobads/records?id_from=id", "application/x-ndjson", ads)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("round %d: %d %s", round, resp.StatusCode, body)
		}
		var res problem.Batch
		if err := json.Unmarshal(body, &res); err != nil {
			t.Fatal(err)
		}
		for i, o := range res.Results {
			wantID, err := recordid.FromField("jobads", "id", lines[i])
			if err != nil {
				t.Fatal(err)
			}
			if o.Status != want || o.ID != wantID {
				t.Fatalf("round %d line %d: %s id=%s, want %s id=%s", round, o.Line, o.Status, o.ID, want, wantID)
			}
		}
	}
	// One record, with a JSON pointer: the same id as the sidecar's.
	one := example(t, "jobads", "valid", "small-ad.json")
	resp, body := c.do("POST", "/api/v1/datasets/jobads/records?id_from=/employer/name", "application/json", one)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("single record with id_from: %d %s", resp.StatusCode, body)
	}
	var r wire.Reply
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	if want, _ := recordid.FromField("jobads", "/employer/name", one); r.ID != want {
		t.Fatalf("id %q, want %q", r.ID, want)
	}
	if got := len(readAll(t, c, "jobads")); got != 4 {
		t.Fatalf("%d records stored, want 4 (three ads once, one small ad)", got)
	}
	// A record without the field is refused, naming it, and not stored.
	resp, body = c.do("POST", "/api/v1/datasets/jobads/records?id_from=nosuchfield", "application/json", one)
	p := problemOf(t, resp, body, http.StatusUnprocessableEntity)
	if !strings.Contains(p.Detail, "/nosuchfield") || len(p.Violations) != 1 || p.Violations[0].Keyword != "id_from" {
		t.Fatalf("record without the id_from field: %+v", p)
	}
	resp, body = c.do("POST", "/api/v1/datasets/jobads/records?id_from=nosuchfield", "application/x-ndjson", ads)
	var res problem.Batch
	if err := json.Unmarshal(body, &res); err != nil || resp.StatusCode != http.StatusUnprocessableEntity || res.Refused() != 3 {
		t.Fatalf("batch without the id_from field: %d %s", resp.StatusCode, body)
	}
	if got := len(readAll(t, c, "jobads")); got != 4 {
		t.Fatalf("%d records stored after refused ones, want 4", got)
	}
}

func TestPolicyCheckRefusesUnknownNames(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	c := newClient(t, n)
	for _, tc := range []struct {
		path   string
		status int
		want   string
	}{
		{"/api/v1/policies/check?actor=jobbland&action=pubish&dataset=jobads", http.StatusBadRequest, `unknown action "pubish": the actions are publish, subscribe, read-schema, register-schema`},
		{"/api/v1/policies/check?actor=jobbland&action=publish&dataset=jobadz", http.StatusNotFound, `dataset "jobadz" is not declared on this hub (its datasets: education-offerings, gig-assignments, job-postings, jobads, taxonomy-concepts)`},
		{"/api/v1/policies/check?actor=Job_Bland&action=publish&dataset=jobads", http.StatusBadRequest, `actor "Job_Bland" is not an actor name`},
		{"/api/v1/policies/explain?actor=ifau&dataset=jobadz", http.StatusNotFound, `dataset "jobadz" is not declared`},
		{"/api/v1/policies/explain?actor=ifau&action=read", http.StatusBadRequest, `unknown action "read"`},
	} {
		resp, body := c.do("GET", tc.path, "", nil)
		if p := problemOf(t, resp, body, tc.status); !strings.Contains(p.Detail, tc.want) {
			t.Errorf("%s: %q, want %q", tc.path, p.Detail, tc.want)
		}
	}
	// A known question is answered; an actor not registered yet is
	// answered with a warning.
	resp, body := c.do("GET", "/api/v1/policies/check?actor=jobbland&action=publish&dataset=jobads", "", nil)
	var res api.CheckResult
	if err := json.Unmarshal(body, &res); err != nil || resp.StatusCode != 200 || !res.Allowed || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], `"jobbland" is not registered`) {
		t.Fatalf("check for an actor not registered: %d %s", resp.StatusCode, body)
	}
	resp, body = c.do("GET", "/api/v1/policies/explain?actor=ifau&dataset=jobads&action=subscribe", "", nil)
	var lines []api.ExplainLine
	if err := json.Unmarshal(body, &lines); err != nil || resp.StatusCode != 200 || len(lines) != 1 || lines[0].PolicyID != "ifau-subscribes-jobads-2026" {
		t.Fatalf("explain filtered to one dataset and action: %d %s", resp.StatusCode, body)
	}
}

func TestPolicyApplyWarnsOfUnknownActorsAndDatasets(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	c := newClient(t, n)
	a := hubtest.NewActor(t, "jobbland")
	if resp, body := c.do("POST", "/api/v1/actors", "application/json", []byte(`{"name":"jobbland","public_key":"`+a.PublicKey()+`"}`)); resp.StatusCode != http.StatusCreated {
		t.Fatalf("create actor: %d %s", resp.StatusCode, body)
	}
	req, _ := json.Marshal(api.ApplyPoliciesRequest{Files: map[string]string{
		"grants.json": `[{"id":"known","description":"x","subjects":["actor:jobbland"],"resources":["dataset:jobads"],"actions":["publish"],"effect":"allow"},
		 {"id":"typos","description":"x","subjects":["actor:jobblnd","group:boards","actor:<job.*>"],"resources":["dataset:jobadz","dataset:<.*>"],"actions":["subscribe"],"effect":"allow"}]`,
		"groups.yaml": "groups:\n  boards: [jobbland, jobfinder]\n",
	}})
	resp, body := c.do("PUT", "/api/v1/policies", "application/json", req)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("apply: %d %s", resp.StatusCode, body)
	}
	var res api.ApplyPoliciesResult
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`policy "typos" (grants.json) names actor "jobblnd", which is not registered on this hub`,
		`policy "typos" (grants.json) names dataset "jobadz", which is not declared on this hub`,
		`groups.yaml: group "boards" names actor "jobfinder", which is not registered on this hub`,
	}
	if strings.Join(res.Warnings, "\n") != strings.Join(want, "\n") || !res.Changed || len(res.Policies) != 2 {
		t.Fatalf("apply answer %s\nwant warnings:\n%s", body, strings.Join(want, "\n"))
	}
	if n.Access().Policies().Len() != 2 {
		t.Fatal("an apply with warnings did not apply")
	}
}
