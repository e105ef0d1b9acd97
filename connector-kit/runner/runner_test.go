package runner_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/connector-kit/kittest"
	"github.com/jobtech-dev/datahub/connector-kit/plugin"
	"github.com/jobtech-dev/datahub/connector-kit/runner"
)

func TestMain(m *testing.M) { kittest.Main(m) }

func realAds(t *testing.T) [][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(kittest.JobTechData(), "job-ads.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	var ads [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if l = bytes.TrimSpace(l); len(l) > 0 {
			ads = append(ads, l)
		}
	}
	return ads
}

func dial(t *testing.T, h *kittest.Hub, actor string) *kit.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := kit.Dial(ctx, h.NATSURL(), h.Actor(actor))
	if err != nil {
		t.Fatalf("dial as %s: %v", actor, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// flakySource fails its first Connect, asks for a reconnect after its
// first record, and asks for a pause once: every promise of the runner is
// exercised on the way to handing out its records.
type flakySource struct {
	mu       sync.Mutex
	recs     [][]byte
	next     int
	connects int
	reads    int
	acks     map[string]error
	closed   bool
}

func (s *flakySource) Connect(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.connects++
	if s.connects == 1 {
		return &plugin.BackoffError{Wait: 10 * time.Millisecond, Err: errors.New("upstream not ready")}
	}
	return nil
}

func (s *flakySource) Read(ctx context.Context) (plugin.Record, plugin.AckFunc, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	switch {
	case s.reads == 2 && s.connects == 2:
		return plugin.Record{}, nil, plugin.ErrNotConnected
	case s.reads == 3:
		return plugin.Record{}, nil, &plugin.BackoffError{Wait: 10 * time.Millisecond, Err: errors.New("rate limited")}
	case s.next == len(s.recs):
		return plugin.Record{}, nil, plugin.ErrEndOfInput
	}
	i := s.next
	s.next++
	id := fmt.Sprintf("flaky:%d", i)
	return plugin.Record{ID: id, Data: s.recs[i]}, func(_ context.Context, err error) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.acks[id] = err
		return nil
	}, nil
}

func (s *flakySource) Close(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

func TestSourceRecoversFromConnectFailureAndReconnect(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	c := dial(t, h, "arbetsformedlingen")
	ads := realAds(t)
	bad := []byte(`{"id":"1","headline":5}`)
	src := &flakySource{recs: append(append([][]byte{}, ads...), bad), acks: map[string]error{}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := runner.RunSource(ctx, c, src, runner.SourceConfig{Name: "flaky", Dataset: "jobads"}); err != nil {
		t.Fatal(err)
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	if src.connects != 3 || !src.closed {
		t.Fatalf("connects %d (want 3: a failure, the first, a reconnect), closed %v", src.connects, src.closed)
	}
	for i := range ads {
		if err, ok := src.acks[fmt.Sprintf("flaky:%d", i)]; !ok || err != nil {
			t.Fatalf("ad %d acked %v (%v), want stored", i, err, ok)
		}
	}
	if err := src.acks[fmt.Sprintf("flaky:%d", len(ads))]; !plugin.IsPermanent(err) {
		t.Fatalf("invalid record acked with %v, want a permanent error", err)
	}
	if n := len(h.Records("jobads")); n != len(ads) {
		t.Fatalf("%d records stored, want %d", n, len(ads))
	}
}

// flakySink fails its first Connect, then drops the connection on its
// second write and asks for a pause on its third.
type flakySink struct {
	mu       sync.Mutex
	connects int
	writes   int
	got      []string
	closed   bool
}

func (s *flakySink) Connect(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.connects++
	if s.connects == 1 {
		return errors.New("receiver down")
	}
	return nil
}

func (s *flakySink) Write(_ context.Context, r plugin.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	switch s.writes {
	case 2:
		return fmt.Errorf("connection reset: %w", plugin.ErrNotConnected)
	case 3:
		return &plugin.BackoffError{Wait: 20 * time.Millisecond, Err: errors.New("429")}
	}
	var ad struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(r.Data, &ad)
	s.got = append(s.got, ad.ID)
	return nil
}

func (s *flakySink) Close(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

func TestSinkRecoversAndDeliversInOrder(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	pub := dial(t, h, "arbetsformedlingen")
	var want []string
	for _, ad := range realAds(t) {
		if _, err := pub.Publish(context.Background(), "jobads", ad); err != nil {
			t.Fatal(err)
		}
		var a struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(ad, &a)
		want = append(want, a.ID)
	}
	sink := &flakySink{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runner.RunSink(ctx, dial(t, h, "matchwise"), sink, runner.SinkConfig{Name: "flaky", Dataset: "jobads",
			Backoff: runner.Backoff{Min: 20 * time.Millisecond, Max: 100 * time.Millisecond}})
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		sink.mu.Lock()
		n := len(sink.got)
		sink.mu.Unlock()
		if n >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if fmt.Sprint(sink.got) != fmt.Sprint(want) {
		t.Fatalf("sink got %v, want %v in order", sink.got, want)
	}
	if sink.connects != 3 || !sink.closed {
		t.Fatalf("connects %d (want 3: a failure, the first, after ErrNotConnected), closed %v", sink.connects, sink.closed)
	}
}

// TestExamplePluginsRun runs the plugins of the examples against a real hub.
func TestExamplePluginsRun(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	var recs []plugin.Record
	for i, ad := range realAds(t) {
		recs = append(recs, plugin.Record{ID: fmt.Sprintf("example-%d", i), Data: ad})
	}
	src := &sliceSource{records: recs}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := runner.RunSource(ctx, dial(t, h, "arbetsformedlingen"), src, runner.SourceConfig{Name: "memory", Dataset: "jobads"}); err != nil || src.stored != len(recs) {
		t.Fatalf("source: %v, %d of %d stored", err, src.stored, len(recs))
	}
	var out bytes.Buffer
	sink := &printSink{w: &out}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- runner.RunSink(sctx, dial(t, h, "matchwise"), sink, runner.SinkConfig{Name: "printer", Dataset: "jobads"})
	}()
	for ctx.Err() == nil {
		sink.mu.Lock()
		n := sink.count
		sink.mu.Unlock()
		if n == len(recs) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if want := "jobads hub:arbetsformedlingen:example-0\njobads hub:arbetsformedlingen:example-1\njobads hub:arbetsformedlingen:example-2\n"; out.String() != want {
		t.Fatalf("sink printed %q, want %q", out.String(), want)
	}
}
