package ingest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
)

// soakWorkers is how many publishes are in flight at once in the soak.
const soakWorkers = 64

// TestSoak publishes job ads steadily for SOAK_DURATION (3 s in the normal
// suite; `make soak` runs 2 minutes) at SOAK_RATE records/s (default 200)
// through the kit to a real hub, while a kit subscription reads them: of
// every ten records seven are valid, two invalid (a number for the
// headline) and one is a retry, under the same record id, of a valid record
// already acknowledged. At the end every record acknowledged as stored is
// in the dataset's stream exactly once and was delivered to the
// subscriber, every retry was answered as a duplicate of its stored
// record, every rejected record is in the DEADLETTER stream under its
// record id, nothing else is in either stream, and the Go heap (the hub,
// in process, and the clients) is back near what it was before the soak.
func TestSoak(t *testing.T) {
	t.Parallel()
	duration := 3 * time.Second
	if s := os.Getenv("SOAK_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			t.Fatalf("SOAK_DURATION=%q: want a duration such as 2m", s)
		}
		duration = d
	}
	rate := 200
	if s := os.Getenv("SOAK_RATE"); s != "" {
		r, err := strconv.Atoi(s)
		if err != nil || r <= 0 {
			t.Fatalf("SOAK_RATE=%q: want records per second", s)
		}
		rate = r
	}
	n := hubtest.StartNew(t)
	ctx := context.Background()
	clients := map[string]*kit.Client{}
	for _, name := range []string{"jobbland", "matchwise"} {
		a := hubtest.NewActor(t, name)
		if _, err := n.Access().CreateActor(ctx, a.Name, a.PublicKey(), "soak"); err != nil {
			t.Fatal(err)
		}
		// Without the kit's local check, invalid records reach the hub.
		c, err := kit.DialKey(ctx, n.NATSURL(), a.Name, a.PublicKey(), a.Key.Sign, kit.WithName("soak-"+name), kit.WithLocalValidation(false))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		clients[name] = c
	}
	ad := example(t, "jobads", "valid", "small-ad.json")
	const adID, headline = `"id":"23187561"`, `"headline":"Java-utvecklare"`
	if !bytes.Contains(ad, []byte(adID)) || !bytes.Contains(ad, []byte(headline)) {
		t.Fatalf("small-ad.json no longer has %s and %s", adID, headline)
	}
	record := func(i int, valid bool) []byte {
		r := bytes.Replace(ad, []byte(adID), []byte(`"id":"soak-`+strconv.Itoa(i)+`"`), 1)
		if !valid {
			r = bytes.Replace(r, []byte(headline), []byte(`"headline":5`), 1)
		}
		return r
	}

	var (
		mu        sync.Mutex
		delivered = map[string]int{} // record id → deliveries
	)
	sub, err := clients["matchwise"].Subscribe(ctx, "jobads", func(_ context.Context, d kit.Delivery) error {
		mu.Lock()
		delivered[d.RecordID]++
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Stop() })

	// The outcome of every send, by kind; acked holds stored valid
	// records a retry may repeat.
	var (
		stored, rejected   = map[string]bool{}, map[string]bool{}
		retried            = map[string]bool{}
		acked              = make(chan int, 1<<16)
		sent, failures     atomic.Int64
		firstFailure       atomic.Value
		valid, bad, retrys atomic.Int64
	)
	fail := func(format string, args ...any) {
		if failures.Add(1) == 1 {
			firstFailure.Store(fmt.Errorf(format, args...))
		}
	}
	publish := func(i int) {
		pub := clients["jobbland"]
		kind := i % 10
		id, data, isValid := "soak-"+strconv.Itoa(i), record(i, kind < 7), kind < 7
		if kind == 9 {
			select {
			case j := <-acked:
				id, data, isValid = "soak-"+strconv.Itoa(j), record(j, true), true
			default:
				kind = 0 // nothing acknowledged yet: a valid record instead
			}
		}
		res, err := pub.PublishBatch(ctx, "jobads", []kit.BatchRecord{{ID: id, Data: data}})
		if err != nil {
			fail("publish %s: %v", id, err)
			return
		}
		r := res[0]
		var ve *kit.ValidationError
		mu.Lock()
		defer mu.Unlock()
		switch {
		case kind == 9:
			retrys.Add(1)
			if r.Err != nil || !r.Duplicate || !stored[id] {
				fail("retry of %s: %+v, want a duplicate of a stored record", id, r)
			}
			retried[id] = true
		case isValid:
			valid.Add(1)
			if r.Err != nil || r.Duplicate {
				fail("valid %s: %+v", id, r)
				return
			}
			stored[id] = true
			select {
			case acked <- i:
			default:
			}
		default:
			bad.Add(1)
			if !errors.As(r.Err, &ve) {
				fail("invalid %s: %+v, want a validation error", id, r)
			}
			rejected[id] = true
		}
	}

	// Warm up, then take the heap's baseline.
	for i := range 100 {
		publish(-1 - i*10) // valid (kind 0 of negative i is -1 % 10 = -1 < 7)
	}
	heapBase := heapAfterGC()

	start := time.Now()
	interval := time.Second / time.Duration(rate)
	work := make(chan int)
	var wg sync.WaitGroup
	for range soakWorkers {
		wg.Go(func() {
			for i := range work {
				publish(i)
			}
		})
	}
	var peak uint64
	for i := 0; time.Since(start) < duration; i++ {
		time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
		work <- i
		sent.Add(1)
		if i%1000 == 0 {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapAlloc)
		}
	}
	close(work)
	wg.Wait()
	if f := failures.Load(); f > 0 {
		t.Fatalf("%d failed sends, the first: %v", f, firstFailure.Load())
	}
	took := time.Since(start)

	// Every stored record delivered (polled: delivery runs behind).
	deadline := time.Now().Add(time.Minute)
	for {
		mu.Lock()
		missing := ""
		for id := range stored {
			if delivered[id] == 0 {
				missing = id
				break
			}
		}
		mu.Unlock()
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("record %s stored but not delivered after a minute", missing)
		}
		time.Sleep(20 * time.Millisecond)
	}

	inStream := streamRecordIDs(t, n.JetStream(), wire.StreamName("jobads"), "")
	inDead := streamRecordIDs(t, n.JetStream(), wire.DeadLetterStream, wire.DeadLetterSubject("jobads"))
	for id, c := range inStream {
		if c != 1 || !stored[id] {
			t.Errorf("record %s is in the stream %d times (acknowledged as stored: %v)", id, c, stored[id])
		}
	}
	for id := range stored {
		if inStream[id] == 0 {
			t.Errorf("record %s acknowledged as stored, not in the stream", id)
		}
	}
	for id, c := range inDead {
		if c != 1 || !rejected[id] {
			t.Errorf("record %s is in the dead letters %d times (rejected: %v)", id, c, rejected[id])
		}
	}
	for id := range rejected {
		if inDead[id] == 0 {
			t.Errorf("record %s rejected, not in the dead letters", id)
		}
	}
	if len(retried) == 0 || len(rejected) == 0 {
		t.Errorf("the soak sent %d retries and %d invalid records: each kind at least once", len(retried), len(rejected))
	}

	// The heap back near its baseline: within 16 MiB of it once caches
	// expire (given 30 s), and in any case within that plus what the hub
	// keeps by design per record (JetStream's and the hub's duplicate
	// windows: ids with a timestamp), 512 bytes a record.
	near := heapBase + 16<<20
	allowed := near + uint64(len(stored)+len(rejected))*512
	var heapEnd uint64
	for settle := time.Now().Add(30 * time.Second); ; {
		if heapEnd = heapAfterGC(); heapEnd <= near || time.Now().After(settle) {
			break
		}
		time.Sleep(250 * time.Millisecond) // polled: caches expire on their own timers
	}
	t.Logf("%s at %d rec/s (%.0f achieved): %d valid, %d invalid, %d retries; stream %d, dead letters %d; Go heap %d MiB before, %d MiB peak, %d MiB after",
		took.Round(time.Millisecond), rate, float64(sent.Load())/took.Seconds(), valid.Load(), bad.Load(), retrys.Load(),
		len(inStream), len(inDead), heapBase>>20, max(peak, heapEnd)>>20, heapEnd>>20)
	if heapEnd > allowed {
		t.Errorf("Go heap %d MiB after the soak, %d MiB before: more than the %d MiB allowed", heapEnd>>20, heapBase>>20, allowed>>20)
	}
}

// heapAfterGC is the live Go heap after two collections (the second
// drops what sync.Pools kept through the first: NATS's block buffers).
func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// streamRecordIDs counts the publisher record ids (Hub-Record-Id) of every
// message of stream (only those on subject filter when not "").
func streamRecordIDs(t *testing.T, js jetstream.JetStream, stream, filter string) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := jetstream.OrderedConsumerConfig{}
	if filter != "" {
		cfg.FilterSubjects = []string{filter}
	}
	c, err := js.OrderedConsumer(ctx, stream, cfg)
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for left := info.NumPending; left > 0; {
		batch, err := c.Fetch(int(min(left, 1000)), jetstream.FetchMaxWait(10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for m := range batch.Messages() {
			out[m.Headers().Get(wire.HeaderPublisherRecordID)]++
			got++
		}
		if batch.Error() != nil || got == 0 {
			t.Fatalf("read %s: %v after %d messages", stream, batch.Error(), len(out))
		}
		left -= uint64(got)
	}
	return out
}
