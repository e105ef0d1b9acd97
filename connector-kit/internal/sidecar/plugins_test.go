package sidecar_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/builtin"
	"github.com/jobtech-dev/datahub/connector-kit/internal/sidecar"
	"github.com/jobtech-dev/datahub/connector-kit/jobstream/jobstreamtest"
	"github.com/jobtech-dev/datahub/connector-kit/kittest"
)

// run starts a sidecar with cfg (the caller keeps the folders, so a restart
// with the same cfg resumes).
func run(t *testing.T, cfg sidecar.Config) *sidecar.Sidecar {
	t.Helper()
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
	return s
}

func baseConfig(t *testing.T, h *kittest.Hub, actor string) sidecar.Config {
	cfg := sidecar.DefaultConfig()
	cfg.Hub.URL, cfg.Hub.Credentials = h.NATSURL(), h.Actor(actor)
	cfg.Listen = "127.0.0.1:0"
	dir := t.TempDir()
	cfg.Outbox, cfg.State, cfg.LogLevel = filepath.Join(dir, "outbox"), filepath.Join(dir, "state"), "warn"
	return cfg
}

func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return cond()
}

func TestJobStreamInputFeedsTheHub(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	ads, err := jobstreamtest.LoadAds(filepath.Join(kittest.JobTechData(), "job-ads.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	js := jobstreamtest.NewServer(t, jobstreamtest.Options{Ads: ads})
	cfg := baseConfig(t, h, "arbetsformedlingen")
	cfg.Inputs = []sidecar.PluginConfig{{Name: "platsbanken", Type: "jobstream", Dataset: "jobads",
		Config: mapSlice("url", js.URL, "interval", "200ms")}}
	s := run(t, cfg)
	if !eventually(15*time.Second, func() bool { return len(h.Records("jobads")) == 3 }) {
		t.Fatalf("hub has %d job ads from the JobStream input, want 3", len(h.Records("jobads")))
	}
	for _, e := range h.Records("jobads") {
		if e.Publisher != "arbetsformedlingen" {
			t.Fatalf("publisher %q", e.Publisher)
		}
	}
	if err := js.Remove("22884504"); err != nil {
		t.Fatal(err)
	}
	snapshotKeys := func() int {
		var n int
		for _, l := range lines(h.Get("/api/v1/datasets/jobads/snapshot")) {
			var e struct{ Key string }
			_ = json.Unmarshal(l, &e)
			n++
		}
		return n
	}
	if !eventually(15*time.Second, func() bool { return snapshotKeys() == 2 }) {
		t.Fatalf("the removal did not end the ad: snapshot has %d ads", snapshotKeys())
	}
	// A restart on the same state reads nothing twice.
	before := len(h.Records("jobads"))
	_ = s.Shutdown(context.Background())
	s = run(t, cfg)
	defer s.Shutdown(context.Background())
	time.Sleep(time.Second)
	if after := len(h.Records("jobads")); after != before {
		t.Fatalf("restart re-published: %d records, was %d", after, before)
	}
}

func TestWebhookOutputResumesAfterRestart(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	var mu sync.Mutex
	seen := map[string]int{}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var env struct{ ID string }
		_ = json.Unmarshal(b, &env)
		mu.Lock()
		seen[env.ID]++
		mu.Unlock()
	}))
	defer hook.Close()
	cfg := baseConfig(t, h, "matchwise")
	cfg.Outputs = []sidecar.PluginConfig{{Name: "matcher", Type: "webhook", Dataset: "jobads", Config: mapSlice("url", hook.URL, "secret", "x")}}
	s := run(t, cfg)
	pes := startSidecar(t, h, "arbetsformedlingen", nil)
	publish := func(n int) {
		for i := 0; i < n; i++ {
			if code, body := post(t, pes.URL()+"/v1/datasets/jobads/records", "application/json", example(t, "valid", "small-ad.json")); code != 201 {
				t.Fatalf("publish: %d %s", code, body)
			}
		}
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(seen) }
	publish(5)
	if !eventually(10*time.Second, func() bool { return count() == 5 }) {
		t.Fatalf("webhook got %d of 5", count())
	}
	time.Sleep(300 * time.Millisecond) // acks land
	_ = s.Shutdown(context.Background())
	publish(5)
	s = run(t, cfg)
	defer s.Shutdown(context.Background())
	if !eventually(10*time.Second, func() bool { return count() == 10 }) {
		t.Fatalf("after restart the webhook got %d distinct records, want 10", count())
	}
	mu.Lock()
	defer mu.Unlock()
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("record %s delivered %d times across the restart", id, n)
		}
	}
}

func TestWebhookBatches(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	var mu sync.Mutex
	var sizes []int
	var seqs []uint64
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var envs []struct{ Seq uint64 }
		if err := json.Unmarshal(b, &envs); err != nil {
			http.Error(w, "want an array", http.StatusBadRequest)
			return
		}
		mu.Lock()
		sizes = append(sizes, len(envs))
		for _, e := range envs {
			seqs = append(seqs, e.Seq)
		}
		mu.Unlock()
	}))
	defer hook.Close()
	pes := startSidecar(t, h, "arbetsformedlingen", nil)
	var batch []string
	for i := 0; i < 35; i++ {
		batch = append(batch, string(example(t, "valid", "small-ad.json")))
	}
	if code, body := post(t, pes.URL()+"/v1/datasets/jobads/records", "application/x-ndjson", []byte(strings.Join(batch, "\n"))); code != http.StatusOK {
		t.Fatalf("publish: %d %s", code, body)
	}
	cfg := baseConfig(t, h, "matchwise")
	cfg.Outputs = []sidecar.PluginConfig{{Name: "batched", Type: "webhook", Dataset: "jobads", Batch: 10,
		Config: mapSlice("url", hook.URL, "secret", "x", "batch", "10")}}
	s := run(t, cfg)
	defer s.Shutdown(context.Background())
	if !eventually(10*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(seqs) == 35 }) {
		t.Fatalf("got %d of 35 records", len(seqs))
	}
	mu.Lock()
	defer mu.Unlock()
	for i, s := range seqs {
		if s != uint64(i+1) {
			t.Fatalf("batched delivery out of order: %v", seqs)
		}
	}
	if sizes[0] != 10 || len(sizes) > 6 {
		t.Fatalf("batch sizes %v, want batches of up to 10", sizes)
	}
}

func TestFailingEndpointDoesNotBlockOtherOutputs(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer down.Close()
	var mu sync.Mutex
	got := map[string]bool{}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var env struct{ ID string }
		_ = json.Unmarshal(b, &env)
		mu.Lock()
		got[env.ID] = true
		mu.Unlock()
	}))
	defer up.Close()
	cfg := baseConfig(t, h, "matchwise")
	cfg.Outputs = []sidecar.PluginConfig{
		{Name: "broken", Type: "webhook", Dataset: "jobads", Config: mapSlice("url", down.URL, "secret", "x", "max_retries", "1000", "backoff_initial", "50ms", "backoff_max", "100ms")},
		{Name: "healthy", Type: "webhook", Dataset: "jobads", Config: mapSlice("url", up.URL, "secret", "x")},
	}
	s := run(t, cfg)
	defer s.Shutdown(context.Background())
	pes := startSidecar(t, h, "arbetsformedlingen", nil)
	for i := 0; i < 10; i++ {
		if code, body := post(t, pes.URL()+"/v1/datasets/jobads/records", "application/json", example(t, "valid", "small-ad.json")); code != 201 {
			t.Fatalf("publish: %d %s", code, body)
		}
	}
	if !eventually(10*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 10 }) {
		t.Fatalf("the healthy output got %d of 10 while the other endpoint is down", len(got))
	}
}

func TestOutputForUnknownDatasetFailsStart(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	cfg := baseConfig(t, h, "matchwise")
	cfg.Outputs = []sidecar.PluginConfig{{Name: "oops", Type: "stdout", Dataset: "nosuch"}}
	env, err := builtin.Environment()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := sidecar.Start(ctx, cfg, env, logger(t))
	if err == nil {
		_ = s.Shutdown(context.Background())
		t.Fatal("started with an output for a dataset the hub does not have")
	}
	if !strings.Contains(err.Error(), "nosuch") || !strings.Contains(err.Error(), "oops") {
		t.Fatalf("error %v does not name the output and the dataset", err)
	}
}

// TestInputDatasetIsTheOuterOne: the input's own `dataset:` is what counts;
// a file source configured without one inside config starts and feeds it,
// and a different one inside config is refused at start.
func TestInputDatasetIsTheOuterOne(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	cfg := baseConfig(t, h, "arbetsformedlingen")
	cfg.Inputs = []sidecar.PluginConfig{{Name: "ads", Type: "ndjson_file", Dataset: "jobads",
		Config: mapSlice("path", filepath.Join(kittest.JobTechData(), "job-ads.ndjson"))}}
	s := run(t, cfg)
	defer s.Shutdown(context.Background())
	if !eventually(15*time.Second, func() bool { return len(h.Records("jobads")) == 3 }) {
		t.Fatalf("input with the outer dataset only stored %d records, want 3", len(h.Records("jobads")))
	}

	bad := cfg
	dir := t.TempDir()
	bad.Outbox, bad.State = filepath.Join(dir, "outbox"), filepath.Join(dir, "state")
	bad.Inputs = []sidecar.PluginConfig{{Name: "ads", Type: "ndjson_file", Dataset: "jobads",
		Config: mapSlice("path", filepath.Join(kittest.JobTechData(), "job-ads.ndjson"), "dataset", "taxonomy-concepts")}}
	env, err := builtin.Environment()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if s, err := sidecar.Start(ctx, bad, env, logger(t)); err == nil || !strings.Contains(err.Error(), "differs from the input's dataset") {
		if s != nil {
			_ = s.Shutdown(ctx)
		}
		t.Fatalf("two datasets for one input: %v", err)
	}
}
