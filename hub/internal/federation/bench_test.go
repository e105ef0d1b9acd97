package federation_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
)

// benchRecords is how many ads the catch-up benchmark publishes while the
// link is not there (FEDERATION_BENCH_RECORDS; the figure is
// 100,000).
func benchRecords() int {
	if v, err := strconv.Atoi(os.Getenv("FEDERATION_BENCH_RECORDS")); err == nil && v > 0 {
		return v
	}
	return 20000
}

// benchSeconds is how long the paced publish and the local-alone phase run
// (FEDERATION_BENCH_SECONDS, default 5).
func benchSeconds() time.Duration {
	if v, err := strconv.Atoi(os.Getenv("FEDERATION_BENCH_SECONDS")); err == nil && v > 0 {
		return time.Duration(v) * time.Second
	}
	return 5 * time.Second
}

// batchOf makes n ads of ids prefix0… as a batch under record ids prefix0….
func batchOf(prefix string, n int) []kit.BatchRecord {
	recs := ads(prefix, n)
	out := make([]kit.BatchRecord, n)
	for i, r := range recs {
		out[i] = kit.BatchRecord{ID: fmt.Sprintf("%s%d", prefix, i), Data: r}
	}
	return out
}

// publishAll publishes batch on c and fails on any refusal.
func publishAll(tb testing.TB, c *kit.Client, batch []kit.BatchRecord) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	res, err := c.PublishBatch(ctx, "jobads", batch)
	if err != nil {
		tb.Fatal(err)
	}
	for i, r := range res {
		if r.Err != nil {
			tb.Fatalf("record %d (%s): %v", i, batch[i].ID, r.Err)
		}
	}
}

// linked starts hubs a and b, with b taking jobads from a with the extra
// `peer add` flags when link is true (else b gets the credentials only).
func linked(b *testing.B, link bool, flags ...string) (ha, hb *hub, creds string) {
	ha = startHub(b, "a", grants(map[string][]string{"b": {"jobads"}}))
	hb = startHub(b, "b", grants(nil))
	creds = ha.give("b")
	if link {
		hb.take("a", ha.NATSURL(), creds, []string{"jobads"}, flags...)
	}
	return ha, hb, creds
}

// received is how many records b's link to a has stored of jobads, and
// the bound in force on the link (0: none).
func received(hb *hub) (uint64, int) {
	for _, p := range hb.peers() {
		if p.Link == nil {
			continue
		}
		for _, d := range p.Link.Status.Datasets {
			if d.Remote == "jobads" {
				return d.Received, p.Link.Status.Bound
			}
		}
	}
	return 0, 0
}

// BenchmarkFederationLag measures the time from a record's publish on hub
// a to its storage on hub b (each hub's own JetStream stored time, one
// clock: both run on this machine) while a publisher keeps half of a's
// maximum ingest rate, measured first in the same run with the link in
// place. The link has its default settings: no fixed ceiling, and it
// yields to b's publishers, which have none here, so it is not bounded.
func BenchmarkFederationLag(b *testing.B) {
	ha, hb, _ := linked(b, true)
	pub := ha.actor()

	burst := 10000
	start := time.Now()
	publishAll(b, pub, batchOf("burst-", burst))
	maxRate := float64(burst) / time.Since(start).Seconds()
	eventually(b, 5*time.Minute, "the burst on b", func() (bool, string) {
		n := hb.count("jobads")
		return n == burst, fmt.Sprintf("%d of %d", n, burst)
	})

	rate := maxRate / 2
	dur := benchSeconds()
	sent := 0
	start = time.Now()
	for time.Since(start) < dur {
		due := int(rate * time.Since(start).Seconds())
		if due <= sent {
			time.Sleep(time.Millisecond)
			continue
		}
		n := min(due-sent, 512)
		publishAll(b, pub, batchOf(fmt.Sprintf("paced%d-", sent), n))
		sent += n
	}
	achieved := float64(sent) / time.Since(start).Seconds()
	total := burst + sent
	eventually(b, 5*time.Minute, "the paced records on b", func() (bool, string) {
		n := hb.count("jobads")
		return n == total, fmt.Sprintf("%d of %d", n, total)
	})

	onA := map[string]time.Time{}
	for _, e := range ha.records("jobads") {
		if strings.HasPrefix(e.RecordID, "paced") {
			onA[e.ID] = e.PublishedAt
		}
	}
	var lags []time.Duration
	for _, e := range hb.records("jobads") {
		if at, ok := onA[e.ID]; ok {
			lags = append(lags, e.PublishedAt.Sub(at))
		}
	}
	if len(lags) != sent {
		b.Fatalf("%d paced records matched on both hubs, want %d", len(lags), sent)
	}
	slices.Sort(lags)
	ms := func(q float64) float64 {
		return float64(lags[min(len(lags)-1, int(q*float64(len(lags))))]) / float64(time.Millisecond)
	}
	b.ReportMetric(maxRate, "a-max-rec/s")
	b.ReportMetric(achieved, "paced-rec/s")
	b.ReportMetric(ms(0.50), "lag-p50-ms")
	b.ReportMetric(ms(0.99), "lag-p99-ms")
	b.ReportMetric(float64(lags[len(lags)-1])/float64(time.Millisecond), "lag-max-ms")
	b.Logf("a's max ingest %.0f rec/s (burst of %d with the link in place); %d records at %.0f rec/s: lag p50 %.1f ms, p99 %.1f ms",
		maxRate, burst, sent, achieved, ms(0.50), ms(0.99))
}

// localLoad publishes batches of 256 ads on c at full speed until stopped,
// counting what the hub acknowledged.
type localLoad struct {
	acked atomic.Int64
	stop  chan struct{}
	wg    sync.WaitGroup
}

func startLocal(tb testing.TB, c *kit.Client, prefix string) *localLoad {
	l := &localLoad{stop: make(chan struct{})}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		for n := 0; ; n++ {
			select {
			case <-l.stop:
				return
			default:
			}
			batch := batchOf(fmt.Sprintf("%s%d-", prefix, n), 256)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			res, err := c.PublishBatch(ctx, "jobads", batch)
			cancel()
			if err != nil {
				tb.Errorf("local publish: %v", err)
				return
			}
			for _, r := range res {
				if r.Err == nil {
					l.acked.Add(1)
				}
			}
		}
	}()
	return l
}

// end stops the load and returns how many records it stored.
func (l *localLoad) end() int64 {
	close(l.stop)
	l.wg.Wait()
	return l.acked.Load()
}

// every is each nth of xs.
func every(xs []int, n int) []int {
	var out []int
	for i := 0; i < len(xs); i += n {
		out = append(out, xs[i])
	}
	return out
}

// BenchmarkFederationCatchUp publishes FEDERATION_BENCH_RECORDS ads on
// hub a before hub b links to it, then adds the link and measures how fast
// b catches up while a local publisher on b publishes at full speed; and
// b's local ingest rate alone, measured before and after in the same run
// (the mean of both: the machine is shared, its load drifts). The ratio
// local-during/local-alone is the bar (at least 0.7). Runs with
// the link's default settings (it yields to b's publishers) and, as the
// reference, unbounded (--no-yield, no --rate).
func BenchmarkFederationCatchUp(b *testing.B) {
	for _, c := range []struct {
		name  string
		flags []string
	}{{"yield", nil}, {"unbounded", []string{"--no-yield"}}} {
		b.Run(c.name, func(b *testing.B) { catchUp(b, c.name, c.flags) })
	}
}

func catchUp(b *testing.B, name string, flags []string) {
	m := benchRecords()
	ha, hb, creds := linked(b, false)
	remote, local := ha.actor(), hb.actor()

	aloneFor := func(prefix string) (float64, int64) {
		alone := startLocal(b, local, prefix)
		start := time.Now()
		time.Sleep(benchSeconds())
		n := alone.end()
		return float64(n) / time.Since(start).Seconds(), n
	}
	beforeRate, _ := aloneFor("alone-")
	before := hb.count("jobads")

	for i := 0; i < m; i += 1000 {
		publishAll(b, remote, batchOf(fmt.Sprintf("cut%d-", i), min(1000, m-i)))
	}

	during := startLocal(b, local, "during-")
	start := time.Now()
	hb.take("a", ha.NATSURL(), creds, []string{"jobads"}, flags...)
	var bounds []int
	eventually(b, 30*time.Minute, "the catch-up", func() (bool, string) {
		r, bound := received(hb)
		bounds = append(bounds, bound)
		return r >= uint64(m), fmt.Sprintf("%d of %d", r, m)
	})
	took := time.Since(start)
	nDuring := during.end()
	elapsed := time.Since(start)
	catchRate := float64(m) / took.Seconds()
	duringRate := float64(nDuring) / elapsed.Seconds()

	if got, want := hb.count("jobads"), before+m+int(nDuring); got != want {
		b.Fatalf("b holds %d records after the catch-up, want %d", got, want)
	}
	// Local ingest alone again, the link caught up: the machine is shared,
	// so the reference is the mean of before and after.
	afterRate, _ := aloneFor("after-")
	aloneRate := (beforeRate + afterRate) / 2
	b.ReportMetric(catchRate, "catchup-rec/s")
	b.ReportMetric(beforeRate, "local-before-rec/s")
	b.ReportMetric(afterRate, "local-after-rec/s")
	b.ReportMetric(aloneRate, "local-alone-rec/s")
	b.ReportMetric(duringRate, "local-during-rec/s")
	b.ReportMetric(duringRate/aloneRate, "during/alone")
	b.Logf("%s: bound in force while it ran (rec/s, 0: none), one in 10 polls: %v", name, every(bounds, 10))
	b.Logf("%s: %d records caught up in %s (%.0f rec/s); b's local ingest %.0f rec/s alone (%.0f before, %.0f after), %.0f rec/s during (%.2f)",
		name, m, took.Round(time.Millisecond), catchRate, aloneRate, beforeRate, afterRate, duringRate, duringRate/aloneRate)
}
