package sidecar_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/internal/problem"

	"github.com/jobtech-dev/datahub/connector-kit/builtin"
	"github.com/jobtech-dev/datahub/connector-kit/internal/sidecar"
	"github.com/jobtech-dev/datahub/connector-kit/kittest"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

func TestMain(m *testing.M) { kittest.Main(m) }

func realAds(t testing.TB) [][]byte {
	b := readFile(t, filepath.Join(kittest.JobTechData(), "job-ads.ndjson"))
	var ads [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if l = bytes.TrimSpace(l); len(l) > 0 {
			ads = append(ads, l)
		}
	}
	return ads
}

func example(t *testing.T, kind, file string) []byte {
	return readFile(t, filepath.Join(kittest.RepoRoot(), "schemas", "jobads", "examples", kind, file))
}

// startSidecar runs a sidecar in-process for actor against h.
func startSidecar(t testing.TB, h *kittest.Hub, actor string, mod func(*sidecar.Config)) *sidecar.Sidecar {
	t.Helper()
	return startSidecarCreds(t, h, h.Actor(actor), mod)
}

// startSidecarCreds runs a sidecar with the credentials file creds; the hub
// may be away.
func startSidecarCreds(t testing.TB, h *kittest.Hub, creds string, mod func(*sidecar.Config)) *sidecar.Sidecar {
	t.Helper()
	cfg := sidecar.DefaultConfig()
	cfg.Hub.URL = h.NATSURL()
	cfg.Hub.Credentials = creds
	cfg.Listen = "127.0.0.1:0"
	dir := t.TempDir()
	cfg.Outbox, cfg.State = filepath.Join(dir, "outbox"), filepath.Join(dir, "state")
	cfg.LogLevel = "warn"
	if mod != nil {
		mod(&cfg)
	}
	env, err := builtin.Environment()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := sidecar.Start(ctx, cfg, env, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s
}

func post(t *testing.T, url, ctype string, body []byte) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url, ctype, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func get(t *testing.T, url string, hdr ...string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func lines(b []byte) [][]byte {
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		if l := bytes.TrimSpace(sc.Bytes()); len(l) > 0 {
			out = append(out, append([]byte(nil), l...))
		}
	}
	return out
}

func TestLocalAPI(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	pes := startSidecar(t, h, "arbetsformedlingen", nil)
	base := pes.URL() + "/v1/datasets/jobads"

	code, body := post(t, base+"/records?id_from=id", "application/json", realAds(t)[0])
	var one problem.LineResult
	_ = json.Unmarshal(body, &one)
	if code != http.StatusCreated || one.Status != wire.StatusStored || !strings.HasPrefix(one.ID, "jobads:22884504:") {
		t.Fatalf("POST one: %d %s", code, body)
	}
	batch := bytes.Join([][]byte{realAds(t)[1], realAds(t)[2], example(t, "valid", "tombstone-22884504.json")}, []byte("\n"))
	code, body = post(t, base+"/records", "application/x-ndjson", batch)
	var b problem.Batch
	if err := json.Unmarshal(body, &b); err != nil || code != http.StatusOK || b.Counts[wire.StatusStored] != 3 || len(b.Results) != 3 {
		t.Fatalf("POST batch: %d %s", code, body)
	}

	// A batch is judged line by line: the bad lines are refused with their
	// violations, the good ones stored (here: the first ad again, with the
	// same content id, so it is a duplicate and stored once).
	bad := bytes.Join([][]byte{realAds(t)[0], []byte(`{"id": "x", "headline": 5}`), []byte("not json")}, []byte("\n"))
	code, body = post(t, base+"/records?id_from=id", "application/x-ndjson", bad)
	var p problem.Problem
	_ = json.Unmarshal(body, &p)
	if code != http.StatusUnprocessableEntity || p.Code != wire.CodeInvalid || p.Batch == nil || len(p.Results) != 3 ||
		p.Results[0].Status != wire.StatusDuplicate || p.Results[0].ID != one.ID ||
		p.Results[1].Status != wire.StatusRejected || p.Results[1].Line != 2 || len(p.Results[1].Violations) == 0 ||
		p.Results[2].Status != wire.StatusRejected || p.Results[2].Line != 3 || p.Results[2].Violations[0].Keyword != "json" {
		t.Fatalf("batch with bad lines: %d %s", code, body)
	}
	for _, tc := range []struct {
		name, url, ctype string
		body             []byte
		want             int
	}{
		{"not json", base + "/records", "application/json", []byte("{nope"), 422},
		{"schema", base + "/records", "application/json", example(t, "invalid", "headline-not-string.json"), 422},
		{"content type", base + "/records", "text/csv", []byte("a,b"), 415},
		{"huge", base + "/records", "application/json", bytes.Repeat([]byte("x"), 2<<20), 413},
		{"unknown dataset", pes.URL() + "/v1/datasets/nosuch/records", "application/json", []byte(`{"id":"1"}`), 404},
		{"forbidden dataset", pes.URL() + "/v1/datasets/taxonomy-concepts/records", "application/json", []byte(`{"id":"vrDq_rUY_7PX","label":"x","type":"region"}`), 201},
	} {
		code, body := post(t, tc.url, tc.ctype, tc.body)
		if code != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, code, body, tc.want)
		}
		if code >= 400 && !json.Valid(body) {
			t.Errorf("%s: not a problem document: %s", tc.name, body)
		}
	}
	board := startSidecar(t, h, "jobbland", nil)
	code, body = post(t, board.URL()+"/v1/datasets/taxonomy-concepts/records", "application/json", []byte(`{"id":"vrDq_rUY_7PX","label":"x","type":"region"}`))
	if code != http.StatusForbidden {
		t.Fatalf("job board posting the taxonomy: %d %s", code, body)
	}
	if code, body := get(t, pes.URL()+"/healthz"); code != 200 || !bytes.Contains(body, []byte(`"ok"`)) {
		t.Fatalf("healthz after bad input: %d %s", code, body)
	}

	// Reading as the matching service.
	match := startSidecar(t, h, "matchwise", nil)
	code, body = get(t, match.URL()+"/v1/datasets/jobads/records?follow=false")
	envs := lines(body)
	if code != 200 || len(envs) != 4 {
		t.Fatalf("GET records: %d, %d lines", code, len(envs))
	}
	var e wire.Envelope
	_ = json.Unmarshal(envs[0], &e)
	if e.Publisher != "arbetsformedlingen" || e.Seq != 1 || e.Key != "22884504" {
		t.Fatalf("envelope %+v", e)
	}
	_, body = get(t, match.URL()+"/v1/datasets/jobads/records?follow=false&after=2")
	if len(lines(body)) != 2 {
		t.Fatalf("after=2: %s", body)
	}
	_, body = get(t, match.URL()+"/v1/datasets/jobads/snapshot")
	if n := len(lines(body)); n != 2 {
		t.Fatalf("snapshot has %d records, want 2 (ad 22884504 removed)", n)
	}
	code, _ = get(t, match.URL()+"/v1/datasets/jobads/records?since=yesterday")
	if code != 400 {
		t.Fatalf("bad since: %d", code)
	}
	school := startSidecar(t, h, "yrkeshogskolan", nil)
	if code, body := get(t, school.URL()+"/v1/datasets/jobads/records?follow=false"); code != 403 {
		t.Fatalf("education provider reading job ads: %d %s", code, body)
	}

	// JobStream compatibility: a JSON array with one entry per ad (4 records
	// of 3 ads), the removal standing for the ad removed.
	for _, path := range []string{"/stream?date=2000-01-01T00:00:00", "/v2/stream?updated-after=2000-01-01T00:00:00"} {
		code, body = get(t, match.URL()+path)
		var ads []map[string]any
		if err := json.Unmarshal(body, &ads); code != 200 || err != nil || len(ads) != 3 {
			t.Fatalf("%s: %d %v, want 3 entries for 3 ads: %s", path, code, err, body)
		}
		if ads[2]["removed"] != true || ads[2]["id"] != "22884504" {
			t.Fatalf("%s: last entry %v, want the removal of 22884504", path, ads[2])
		}
	}
	if code, _ := get(t, match.URL()+"/v2/stream?date=2000-01-01T00:00:00"); code != 400 {
		t.Fatalf("/v2/stream with v1's date: %d, want 400", code)
	}
	var ads []map[string]any
	code, body = get(t, match.URL()+"/snapshot")
	if err := json.Unmarshal(body, &ads); code != 200 || err != nil || len(ads) != 2 {
		t.Fatalf("/snapshot: %d %v %s", code, err, body)
	}
	code, body = get(t, match.URL()+"/v2/snapshot?location-concept-id=no-such-place")
	if err := json.Unmarshal(body, &ads); code != 200 || err != nil || len(ads) != 0 {
		t.Fatalf("/v2/snapshot filtered to no place: %d %v %s", code, err, body)
	}
	if code, _ := get(t, match.URL()+"/stream"); code != 400 {
		t.Fatalf("/stream without date: %d", code)
	}

	// Live following over SSE.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, match.URL()+"/v1/datasets/jobads/records?after=4", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("SSE content type %q", resp.Header.Get("Content-Type"))
	}
	// A tombstone: it names no taxonomy concept, and the taxonomy now holds
	// the one region posted above, so a real ad's references would be
	// checked against it (and fail).
	live := example(t, "valid", "tombstone-22884504.json")
	posted := make(chan string, 1)
	go func() {
		resp, err := http.Post(base+"/records", "application/json", bytes.NewReader(live))
		if err != nil {
			posted <- err.Error()
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		posted <- fmt.Sprintf("%d %s", resp.StatusCode, body)
	}()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<24)
	got := ""
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "data: ") {
			got = sc.Text()
			break
		}
	}
	if !strings.Contains(got, `"seq":5`) {
		t.Fatalf("SSE event %q, want the live record seq 5 (the post answered: %s)", got, <-posted)
	}
	if code, body := get(t, pes.URL()+"/metrics"); code != 200 || !bytes.Contains(body, []byte("connector_records_posted_total")) {
		t.Fatalf("metrics: %d", code)
	}
}

func TestBatchRetryIsIdempotentWithIDFrom(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	s := startSidecar(t, h, "jobbland", nil)
	batch := bytes.Join(realAds(t), []byte("\n"))
	url := s.URL() + "/v1/datasets/jobads/records?id_from=id"
	for run, want := range []string{"stored", "duplicate"} {
		code, body := post(t, url, "application/x-ndjson", batch)
		if code != http.StatusOK || batchCounts(t, body)[wire.Status(want)] != 3 {
			t.Fatalf("run %d: %d %s, want 3 %s", run+1, code, body, want)
		}
	}
	if n := len(h.Records("jobads")); n != 3 {
		t.Fatalf("a retried batch stored %d records, want 3", n)
	}
	if code, body := post(t, s.URL()+"/v1/datasets/jobads/records?id_from=/employer/nosuch", "application/x-ndjson", realAds(t)[0]); code != http.StatusUnprocessableEntity || !bytes.Contains(body, []byte("id_from")) {
		t.Fatalf("id_from naming no value: %d %s", code, body)
	}
}

// batchCounts decodes a batch answer (a result or a problem document) and
// returns its counts per outcome.
func batchCounts(t *testing.T, body []byte) map[wire.Status]int {
	t.Helper()
	var b problem.Batch
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatalf("batch answer %s: %v", body, err)
	}
	return b.Counts
}
