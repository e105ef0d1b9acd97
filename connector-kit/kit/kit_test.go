package kit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/connector-kit/kittest"
)

func TestMain(m *testing.M) { kittest.Main(m) }

func ctxT(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func realAds(t *testing.T) [][]byte {
	b, err := readFile(filepath.Join(kittest.JobTechData(), "job-ads.ndjson"))
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
	c, err := kit.Dial(ctxT(t), h.NATSURL(), h.Actor(actor))
	if err != nil {
		t.Fatalf("dial as %s: %v", actor, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestPublishSubscribeAtLeastOnce(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	pes := dial(t, h, "arbetsformedlingen")
	match := dial(t, h, "matchwise")
	var ids []string
	for _, ad := range realAds(t) {
		id, err := pes.Publish(ctxT(t), "jobads", ad)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	var mu sync.Mutex
	seen := map[uint64]int{}
	var order []uint64
	failedOnce := false
	sub, err := match.Subscribe(ctxT(t), "jobads", func(_ context.Context, d kit.Delivery) error {
		mu.Lock()
		defer mu.Unlock()
		if d.Seq == 2 && !failedOnce {
			failedOnce = true
			return errors.New("downstream busy")
		}
		seen[d.Seq]++
		order = append(order, d.Seq)
		if d.Publisher != "arbetsformedlingen" || d.Dataset != "jobads" || d.RecordID != ids[d.Seq-1] || d.ID != "hub:arbetsformedlingen:"+ids[d.Seq-1] {
			t.Errorf("delivery %+v", d.Envelope)
		}
		if d.Seq == 2 && d.Attempt != 2 {
			t.Errorf("record 2 handled at attempt %d, want 2", d.Attempt)
		}
		return nil
	}, kit.Durable("matcher"), kit.Backoff(50*time.Millisecond, 200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n == 3 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 3 || seen[1] != 1 || seen[2] != 1 || seen[3] != 1 || !failedOnce {
		t.Fatalf("seen %v (failed once: %v), want each of 3 records handled once", seen, failedOnce)
	}
	if sub.Failed() != 1 {
		t.Fatalf("failed = %d", sub.Failed())
	}
}

func TestDurableResumes(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	pes := dial(t, h, "arbetsformedlingen")
	match := dial(t, h, "matchwise")
	ads := realAds(t)
	publish := func(ad []byte) {
		if _, err := pes.Publish(ctxT(t), "jobads", ad); err != nil {
			t.Fatal(err)
		}
	}
	publish(ads[0])
	got := make(chan uint64, 10)
	handler := func(_ context.Context, d kit.Delivery) error { got <- d.Seq; return nil }
	sub, err := match.Subscribe(ctxT(t), "jobads", handler, kit.Durable("resume"))
	if err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != 1 {
		t.Fatalf("first delivery seq %d", s)
	}
	time.Sleep(200 * time.Millisecond) // let the ack land
	if err := sub.Stop(); err != nil {
		t.Fatal(err)
	}
	publish(ads[1])
	publish(ads[2])
	sub, err = match.Subscribe(ctxT(t), "jobads", handler, kit.Durable("resume"))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe(ctxT(t))
	for _, want := range []uint64{2, 3} {
		select {
		case s := <-got:
			if s != want {
				t.Fatalf("resumed delivery seq %d, want %d", s, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no delivery of seq %d after resume", want)
		}
	}
}

func TestTypedErrors(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	pes := dial(t, h, "arbetsformedlingen")
	board := dial(t, h, "jobbland")
	school := dial(t, h, "yrkeshogskolan")

	var bad map[string]any
	_ = json.Unmarshal(realAds(t)[0], &bad)
	bad["headline"] = 42
	b, _ := json.Marshal(bad)
	_, err := pes.Publish(ctxT(t), "jobads", b)
	var ve *kit.ValidationError
	if !errors.As(err, &ve) || !ve.Local || ve.Violations[0].Pointer != "/headline" {
		t.Fatalf("invalid record: %v, want a local ValidationError at /headline", err)
	}
	// Without the local check the hub says the same.
	noLocal, err := kit.Dial(ctxT(t), h.NATSURL(), h.Actor("jobfinder"), kit.WithLocalValidation(false))
	if err != nil {
		t.Fatal(err)
	}
	defer noLocal.Close()
	_, err = noLocal.Publish(ctxT(t), "jobads", b)
	if !errors.As(err, &ve) || ve.Local || ve.Violations[0].Pointer != "/headline" {
		t.Fatalf("invalid record at the hub: %v", err)
	}

	start := time.Now()
	concept := []byte(`{"id":"vrDq_rUY_7PX","label":"Ospecificerad","legacyAmsTaxonomyId":"90","type":"region"}`)
	if _, err := board.Publish(ctxT(t), "taxonomy-concepts", concept); !errors.Is(err, kit.ErrForbidden) {
		t.Fatalf("job board publishing the taxonomy: %v, want ErrForbidden", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Fatal("ErrForbidden took a timeout to arrive")
	}
	if _, err := school.Subscribe(ctxT(t), "jobads", func(context.Context, kit.Delivery) error { return nil }); !errors.Is(err, kit.ErrForbidden) {
		t.Fatalf("denied subscription: %v, want ErrForbidden", err)
	}
	if _, err := pes.Publish(ctxT(t), "nosuch", []byte(`{"id":"1"}`)); !errors.Is(err, kit.ErrUnknownDataset) {
		t.Fatalf("unknown dataset: %v, want ErrUnknownDataset", err)
	}
	id, err := pes.Publish(ctxT(t), "jobads", realAds(t)[0], kit.WithRecordID("ad-1"))
	if err != nil || id != "ad-1" {
		t.Fatalf("publish with id: %q %v", id, err)
	}
	res, err := pes.PublishBatch(ctxT(t), "jobads", []kit.BatchRecord{{ID: "ad-1", Data: realAds(t)[0]}, {Data: realAds(t)[1]}, {Data: b}})
	if err != nil || !res[0].Duplicate || res[1].Err != nil || !errors.As(res[2].Err, &ve) {
		t.Fatalf("batch: %+v %v", res, err)
	}

	h.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := pes.Publish(ctx, "jobads", realAds(t)[0], kit.WithRecordID("ad-9")); !errors.Is(err, kit.ErrHubUnreachable) {
		t.Fatalf("hub down: %v, want ErrHubUnreachable", err)
	}
	if _, err := pes.Publish(ctx, "jobads", realAds(t)[0]); !kit.IsRetryable(err) {
		t.Fatalf("%v is not retryable", err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel2()
	if _, err := kit.DialKey(ctx2, "nats://127.0.0.1:1", "x", "UA", nil); !errors.Is(err, kit.ErrHubUnreachable) {
		t.Fatalf("dial to nowhere: %v, want ErrHubUnreachable", err)
	}
}
