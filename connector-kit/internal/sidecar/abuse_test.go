package sidecar_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/internal/sidecar"
	"github.com/jobtech-dev/datahub/connector-kit/kittest"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/internal/problem"
)

// health is the part of /healthz the tests look at.
type health struct {
	Status   string `json:"status"`
	Pending  int    `json:"outbox_pending"`
	Datasets map[string]struct {
		Publish string `json:"publish"`
	} `json:"datasets"`
	Head *struct {
		ID       string `json:"id"`
		Attempts int    `json:"attempts"`
	} `json:"queue_head"`
}

func healthOf(t *testing.T, base string) health {
	t.Helper()
	code, body := get(t, base+"/healthz")
	var h health
	if err := json.Unmarshal(body, &h); code != 200 || err != nil {
		t.Fatalf("healthz: %d %v %s", code, err, body)
	}
	return h
}

// waitHealth polls /healthz until cond holds.
func waitHealth(t *testing.T, base string, within time.Duration, what string, cond func(health) bool) health {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		h := healthOf(t, base)
		if cond(h) {
			return h
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthz never showed %s within %s; last: %+v", what, within, h)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func problemOf(t *testing.T, code int, body []byte) problem.Problem {
	t.Helper()
	var p problem.Problem
	if err := json.Unmarshal(body, &p); err != nil || p.Status != code {
		t.Fatalf("not a problem document for %d: %s", code, body)
	}
	return p
}

// A 5,000-character dataset name once made nats.go close the hub connection
// for good ("maximum control line exceeded"); afterwards every POST answered
// 202 and nothing was forwarded.
func TestLongDatasetNameCannotDisconnect(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	s := startSidecar(t, h, "jobbland", nil)
	long := strings.Repeat("a", 5000)
	for _, path := range []string{
		"/v1/datasets/" + long + "/records?follow=false",
		"/v1/datasets/" + long + "/snapshot",
	} {
		start := time.Now()
		code, body := get(t, s.URL()+path)
		if code != http.StatusNotFound || time.Since(start) > 2*time.Second {
			t.Fatalf("GET a 5,000-character dataset: %d after %s: %.200s", code, time.Since(start), body)
		}
		problemOf(t, code, body)
	}
	code, body := post(t, s.URL()+"/v1/datasets/"+long+"/records", "application/json", []byte(`{"id":"1"}`))
	if code != http.StatusNotFound {
		t.Fatalf("POST to a 5,000-character dataset: %d %.200s", code, body)
	}
	code, body = post(t, s.URL()+"/v1/datasets/jobads/records", "application/json", realAds(t)[0])
	if code != http.StatusCreated {
		t.Fatalf("POST after the long name: %d %s (want 201 stored)", code, body)
	}
	if n := len(h.Records("jobads")); n != 1 {
		t.Fatalf("hub has %d records, want 1", n)
	}
}

// Whatever closes the hub connection, the kit dials again by itself: here
// the very request that used to kill it, sent on the sidecar's own
// connection.
func TestSidecarRedialsAfterTheConnectionIsClosed(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	s := startSidecar(t, h, "jobbland", nil)
	nc := s.Client().Conn()
	_ = nc.Publish("ingest."+strings.Repeat("b", 5000)+".jobbland", []byte("{}"))
	_ = nc.Flush()
	deadline := time.Now().Add(5 * time.Second)
	for !nc.IsClosed() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !nc.IsClosed() {
		t.Fatal("the hub did not close the connection on a 5,000-character subject (test premise)")
	}
	code, body := post(t, s.URL()+"/v1/datasets/jobads/records", "application/json", realAds(t)[1])
	if code != http.StatusCreated && code != http.StatusAccepted {
		t.Fatalf("POST after the close: %d %s", code, body)
	}
	waitDrained(t, s.URL(), 15*time.Second)
	if n := len(h.Records("jobads")); n != 1 {
		t.Fatalf("hub has %d records after the re-dial, want 1", n)
	}
	waitHealth(t, s.URL(), 5*time.Second, "ok", func(h health) bool { return h.Status == "ok" })
}

// Plain reads used to leave their consumers on the hub for 5 minutes, so the
// 65th read within that time failed.
func TestReadsEndTheirConsumers(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	pub := startSidecar(t, h, "arbetsformedlingen", nil)
	post(t, pub.URL()+"/v1/datasets/jobads/records", "application/json", realAds(t)[0])
	s := startSidecar(t, h, "matchwise", nil)
	for i := range 80 {
		path := "/v1/datasets/jobads/records?follow=false"
		switch i % 3 {
		case 1:
			path = "/v1/datasets/jobads/snapshot"
		case 2:
			path = "/snapshot"
		}
		code, body := get(t, s.URL()+path)
		if code != 200 {
			t.Fatalf("read %d (%s): %d %s", i+1, path, code, body)
		}
	}
}

// A limit of the hub answers 429 with Retry-After, never 500.
func TestReadLimitAnswers429(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	s := startSidecar(t, h, "matchwise", nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	open := 0
	for open < 70 {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+"/v1/datasets/jobads/records", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == http.StatusOK {
			open++
			wg.Add(1)
			go func() { defer wg.Done(); _, _ = io.Copy(io.Discard, resp.Body); resp.Body.Close() }()
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("follower %d: %d (Retry-After %q) %s, want 429 with Retry-After", open+1, resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
		if p := problemOf(t, resp.StatusCode, body); p.Code != wire.CodeRateLimited {
			t.Fatalf("429 with code %q", p.Code)
		}
		break
	}
	if open >= 70 {
		t.Fatal("70 followers open: no limit reached")
	}
	cancel()
	wg.Wait()
	// The followers are gone, and so are their consumers.
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := get(t, s.URL()+"/v1/datasets/jobads/records?follow=false")
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("read after the followers left: %d %s", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestBadReadInput(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	s := startSidecar(t, h, "matchwise", nil)
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/v1/datasets/jobads/records?after=18446744073709551615", 400},
		{"/v1/datasets/jobads/records?after=18446744073709551616", 400},
		{"/v1/datasets/jobads/records?after=-1", 400},
		{"/v1/datasets/job%00ads/records?follow=false", 404},
		{"/v1/datasets/job%00ads/snapshot", 404},
		{"/v1/datasets/Jobads/records?follow=false", 404},
		{"/v1/datasets/jobads/records?follow=maybe", 400},
		{"/v1/datasets/../../healthz", 400},
		{"/v1/datasets/jobads/./records", 400},
	} {
		start := time.Now()
		code, body := get(t, s.URL()+tc.path)
		if code != tc.want || time.Since(start) > 2*time.Second {
			t.Errorf("GET %s: %d after %s, want %d at once: %s", tc.path, code, time.Since(start), tc.want, body)
			continue
		}
		problemOf(t, code, body)
	}
}

// bigAd is a valid job ad of about n bytes.
func bigAd(t *testing.T, id string, n int) []byte {
	t.Helper()
	var ad map[string]any
	if err := json.Unmarshal(example(t, "valid", "small-ad.json"), &ad); err != nil {
		t.Fatal(err)
	}
	ad["id"] = id
	ad["description"] = map[string]any{"text": strings.Repeat("Lorem ipsum ", n/12)}
	b, _ := json.Marshal(ad)
	return b
}

// The hub's NATS payload limit was once below the sidecar's record limit: a
// record between the two blocked the outbox forever, healthz said ok and
// nothing was logged.
func TestRecordOverTheHubsLimit(t *testing.T) {
	t.Parallel()
	h := kittest.StartArgs(t, "", "--max-record-bytes", "100000")
	creds := h.Actor("jobbland")
	s := startSidecarCreds(t, h, creds, func(c *sidecar.Config) { c.AckTimeout = 300 * time.Millisecond })
	big := bigAd(t, "big-1", 300_000)
	code, body := post(t, s.URL()+"/v1/datasets/jobads/records", "application/json", big)
	if code != http.StatusRequestEntityTooLarge {
		t.Fatalf("POST of 300 KB to a hub that takes 100 KB: %d %s, want 413", code, body)
	}
	problemOf(t, code, body)
	batch := bytes.Join([][]byte{realAds(t)[0], bigAd(t, "big-2", 300_000)}, []byte("\n"))
	code, body = post(t, s.URL()+"/v1/datasets/jobads/records", "application/x-ndjson", batch)
	// The good line is stored, or queued when the hub's answer takes longer
	// than the 300 ms ack timeout (a loaded machine): either way it is kept.
	if c := batchCounts(t, body); code != http.StatusRequestEntityTooLarge || c[wire.StatusStored]+c[wire.StatusQueued] != 1 || c[wire.StatusTooLarge] != 1 {
		t.Fatalf("batch with one oversized line: %d %s", code, body)
	}

	// A record queued before the limit was known (the hub away at start)
	// is refused when forwarded, and the records behind it go through.
	h.Kill()
	s2 := startSidecarCreds(t, h, creds, func(c *sidecar.Config) { c.AckTimeout = 300 * time.Millisecond })
	for i, rec := range [][]byte{bigAd(t, "big-3", 300_000), realAds(t)[1], realAds(t)[2]} {
		if code, body := post(t, s2.URL()+"/v1/datasets/jobads/records", "application/json", rec); code != http.StatusAccepted {
			t.Fatalf("POST %d while the hub is away: %d %s", i, code, body)
		}
	}
	h.Restart()
	waitDrained(t, s2.URL(), 20*time.Second)
	if n := len(h.Records("jobads")); n != 3 {
		t.Fatalf("hub has %d records, want 3 (the oversized one refused)", n)
	}
	_, body = get(t, s2.URL()+"/v1/rejected")
	rej := lines(body)
	if len(rej) != 1 || !bytes.Contains(rej[0], []byte(`"too_large"`)) || !bytes.Contains(rej[0], []byte(`"big-3"`)) {
		t.Fatalf("rejected: %s", body)
	}
	if hl := healthOf(t, s2.URL()); hl.Status != "ok" {
		t.Fatalf("healthz %+v", hl)
	}
}

var concept = []byte(`{"id":"vrDq_rUY_7PX","label":"x","type":"region"}`)

// A revoked actor's sidecar said hub-unreachable and kept answering 202.
func TestRevokedActorIsUnauthorized(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	s := startSidecar(t, h, "jobbland", nil)
	if code, body := post(t, s.URL()+"/v1/datasets/jobads/records", "application/json", realAds(t)[0]); code != 201 {
		t.Fatalf("POST before the revocation: %d %s", code, body)
	}
	h.CLI("actor", "revoke", "jobbland")
	waitHealth(t, s.URL(), 15*time.Second, "unauthorized", func(h health) bool { return h.Status == "unauthorized" })
	code, body := post(t, s.URL()+"/v1/datasets/jobads/records", "application/json", realAds(t)[1])
	if code != http.StatusForbidden {
		t.Fatalf("POST of a revoked actor: %d %s, want 403", code, body)
	}
	if p := problemOf(t, code, body); !strings.Contains(p.Detail, "revoked") {
		t.Fatalf("403 does not say why: %s", body)
	}
	if hl := healthOf(t, s.URL()); hl.Pending != 0 {
		t.Fatalf("a refused POST was queued: %+v", hl)
	}
}

// A dataset the actor may not publish is learned from the hub's refusal and
// refused at POST time, even while other records wait in the outbox; only
// records refused after they were queued go to /v1/rejected.
func TestForbiddenDatasetIsLearned(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	creds := h.Actor("jobbland")
	s := startSidecarCreds(t, h, creds, func(c *sidecar.Config) { c.AckTimeout = 300 * time.Millisecond })
	taxonomy := s.URL() + "/v1/datasets/taxonomy-concepts/records"
	jobads := s.URL() + "/v1/datasets/jobads/records"

	// Answered 403 straight away: the client knows, so it is not kept.
	if code, body := post(t, taxonomy, "application/json", concept); code != http.StatusForbidden {
		t.Fatalf("POST a forbidden dataset: %d %s", code, body)
	}
	if _, body := get(t, s.URL()+"/v1/rejected"); len(lines(body)) != 0 {
		t.Fatalf("a record answered 403 is in /v1/rejected: %s", body)
	}
	hl := waitHealth(t, s.URL(), 5*time.Second, "forbidden", func(h health) bool { return h.Status == "forbidden" })
	if hl.Datasets["taxonomy-concepts"].Publish != "forbidden" {
		t.Fatalf("healthz does not name the dataset: %+v", hl)
	}

	// While the hub is away, records queue, and the forbidden dataset is
	// still refused at once.
	h.Kill()
	if code, body := post(t, jobads, "application/json", realAds(t)[0]); code != http.StatusAccepted {
		t.Fatalf("POST while the hub is away: %d %s", code, body)
	}
	start := time.Now()
	code, body := post(t, taxonomy, "application/json", concept)
	if code != http.StatusForbidden || time.Since(start) > time.Second {
		t.Fatalf("POST a forbidden dataset with records queued: %d after %s %s, want 403 at once", code, time.Since(start), body)
	}
	if hl := healthOf(t, s.URL()); hl.Pending != 1 {
		t.Fatalf("outbox holds %d records, want 1", hl.Pending)
	}

	// A fresh sidecar does not know yet: it queues, and the hub refuses
	// the record after it was queued: that one is kept.
	s2 := startSidecarCreds(t, h, creds, func(c *sidecar.Config) { c.AckTimeout = 300 * time.Millisecond })
	if code, body := post(t, s2.URL()+"/v1/datasets/taxonomy-concepts/records", "application/json", concept); code != http.StatusAccepted {
		t.Fatalf("POST while the hub is away, rights unknown: %d %s", code, body)
	}
	h.Restart()
	waitDrained(t, s.URL(), 20*time.Second)
	waitDrained(t, s2.URL(), 20*time.Second)
	_, body = get(t, s2.URL()+"/v1/rejected")
	if rej := lines(body); len(rej) != 1 || !bytes.Contains(rej[0], []byte(`"forbidden"`)) {
		t.Fatalf("rejected after the hub refused a queued record: %s", body)
	}
	if code, body := post(t, s2.URL()+"/v1/datasets/taxonomy-concepts/records", "application/json", concept); code != http.StatusForbidden {
		t.Fatalf("POST after the refusal was learned: %d %s", code, body)
	}
	if _, body := get(t, s2.URL()+"/v1/rejected"); len(lines(body)) != 1 {
		t.Fatalf("/v1/rejected grew with a record answered 403: %s", body)
	}
	if n := len(h.Records("jobads")); n != 1 {
		t.Fatalf("hub has %d job ads, want 1", n)
	}
}

// A record the hub does not take, on a live connection, is reported as a
// stuck head of the queue (here the hub is frozen: the connection stays up
// and nothing answers).
func TestStuckHeadIsReported(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	s := startSidecar(t, h, "jobbland", func(c *sidecar.Config) {
		c.AckTimeout = 200 * time.Millisecond
		c.StuckAfter = time.Second
	})
	if code, body := post(t, s.URL()+"/v1/datasets/jobads/records", "application/json", realAds(t)[0]); code != 201 {
		t.Fatalf("POST: %d %s", code, body)
	}
	h.Signal(syscall.SIGSTOP)
	t.Cleanup(func() { h.Signal(syscall.SIGCONT) })
	code, body := post(t, s.URL()+"/v1/datasets/jobads/records", "application/json", realAds(t)[1])
	var r problem.LineResult
	if err := json.Unmarshal(body, &r); err != nil || code != http.StatusAccepted {
		t.Fatalf("POST to a frozen hub: %d %s", code, body)
	}
	hl := waitHealth(t, s.URL(), 10*time.Second, "stuck", func(h health) bool { return h.Status == "stuck" })
	if hl.Head == nil || hl.Head.ID != r.ID || hl.Head.Attempts < 1 {
		t.Fatalf("stuck head %+v, want record %s", hl.Head, r.ID)
	}
	h.Signal(syscall.SIGCONT)
	waitDrained(t, s.URL(), 20*time.Second)
	waitHealth(t, s.URL(), 5*time.Second, "ok", func(h health) bool { return h.Status == "ok" })
	if n := len(h.Records("jobads")); n != 2 {
		t.Fatalf("hub has %d records, want 2", n)
	}
}
