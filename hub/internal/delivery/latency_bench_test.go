package delivery_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
	"github.com/jobtech-dev/datahub/internal/publish/publishtest"
)

// latencyWorkers is how many kit.Publish calls run at once: enough that the
// hub, not the publisher's round trips, bounds the maximum rate.
const latencyWorkers = 256

// BenchmarkEndToEndLatency measures the time from a publish (kit.Publish as
// actor jobbland) to the record's delivery to a kit subscription (as actor
// matchwise), through the real hub, at half the hub's maximum rate: the
// maximum is measured first in the same run (LATENCY_BENCH_RECORDS 1 KiB
// ads, default 5000, published as fast as 256 concurrent Publish calls
// go), then records are published on a fixed schedule at half that rate
// for LATENCY_BENCH_SECONDS (default 5). A record's latency runs from its
// scheduled time (so a publisher falling behind counts) to its handler
// call. It reports the maximum and the paced rates, the share of the
// target rate achieved, and p50, p99 and max latency. Run it once
// (-benchtime 1x): b.N does not change its length.
func BenchmarkEndToEndLatency(b *testing.B) {
	records := envInt(b, "LATENCY_BENCH_RECORDS", 5000)
	seconds := envInt(b, "LATENCY_BENCH_SECONDS", 5)
	n := hubtest.StartNew(b)
	ctx := context.Background()
	pubActor, subActor := hubtest.NewActor(b, "jobbland"), hubtest.NewActor(b, "matchwise")
	clients := map[string]*kit.Client{}
	for _, a := range []hubtest.Actor{pubActor, subActor} {
		if _, err := n.Access().CreateActor(ctx, a.Name, a.PublicKey(), "bench"); err != nil {
			b.Fatal(err)
		}
		c, err := kit.DialKey(ctx, n.NATSURL(), a.Name, a.PublicKey(), a.Key.Sign, kit.WithName("latency-"+a.Name))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = c.Close() })
		clients[a.Name] = c
	}
	pub := clients["jobbland"]
	tmpl := publishtest.NewTemplate(b, hubtest.ReadFile(b, filepath.Join(hubtest.SchemasDir(), "jobads", "examples", "valid", "small-ad.json")))

	// The subscription sees every record; the paced ones (numbered from
	// records up) have a scheduled time to measure against.
	var (
		sched     []atomic.Int64 // unix ns, per paced record
		lat       []time.Duration
		delivered atomic.Int64
		paced     int
		allIn     = make(chan struct{})
		ready     atomic.Bool
	)
	sub, err := clients["matchwise"].Subscribe(ctx, "jobads", func(_ context.Context, d kit.Delivery) error {
		now := time.Now().UnixNano()
		i, err := strconv.Atoi(d.Key[strings.LastIndexByte(d.Key, '-')+1:])
		if err != nil || !ready.Load() || i < records {
			return nil
		}
		j := i - records
		if j < paced {
			lat[j] = time.Duration(now - sched[j].Load())
			if delivered.Add(1) == int64(paced) {
				close(allIn)
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sub.Stop() })

	// publishAll publishes recs[first:last) from latencyWorkers goroutines,
	// each record when its time (from at) comes.
	publishAll := func(first, last int, at func(i int) time.Time) {
		var (
			next = atomic.Int64{}
			wg   sync.WaitGroup
			errs = make(chan error, 1)
		)
		next.Store(int64(first))
		for range latencyWorkers {
			wg.Go(func() {
				for {
					i := int(next.Add(1) - 1)
					if i >= last {
						return
					}
					if t := at(i); !t.IsZero() {
						time.Sleep(time.Until(t))
					}
					if _, err := pub.Publish(ctx, "jobads", tmpl.With("", int64(i))); err != nil {
						select {
						case errs <- err:
						default:
						}
						return
					}
				}
			})
		}
		wg.Wait()
		select {
		case err := <-errs:
			b.Fatal(err)
		default:
		}
	}

	publishAll(0, min(500, records), func(int) time.Time { return time.Time{} }) // warm
	start := time.Now()
	publishAll(min(500, records), records, func(int) time.Time { return time.Time{} })
	maxRate := float64(records-min(500, records)) / time.Since(start).Seconds()
	rate := maxRate / 2
	paced = max(1, int(rate*float64(seconds)))
	sched = make([]atomic.Int64, paced)
	lat = make([]time.Duration, paced)
	interval := time.Duration(float64(time.Second) / rate)
	ready.Store(true)

	b.ResetTimer()
	begin := time.Now().Add(10 * time.Millisecond)
	publishAll(records, records+paced, func(i int) time.Time {
		t := begin.Add(time.Duration(i-records) * interval)
		sched[i-records].Store(t.UnixNano())
		return t
	})
	sent := time.Since(begin)
	select {
	case <-allIn:
	case <-time.After(2 * time.Minute):
		b.Fatalf("%d of %d paced records delivered", delivered.Load(), paced)
	}
	b.StopTimer()
	achieved := float64(paced) / sent.Seconds()
	b.ReportMetric(maxRate, "max-rec/s")
	b.ReportMetric(achieved, "paced-rec/s")
	b.ReportMetric(achieved/rate, "of-target")
	slices.Sort(lat)
	pct := func(q float64) float64 {
		return float64(lat[int(q*float64(len(lat)-1)+0.5)]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(pct(1), "max-ms")
	b.ReportMetric(float64(paced), "records")
}

// envInt is the positive integer in the environment variable name, or def.
func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}
