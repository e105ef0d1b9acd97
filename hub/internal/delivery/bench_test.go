package delivery_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/access"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
	"github.com/jobtech-dev/datahub/hub/internal/natsd"
	"github.com/jobtech-dev/datahub/hub/internal/node"
	"github.com/jobtech-dev/datahub/internal/publish"
	"github.com/jobtech-dev/datahub/internal/publish/publishtest"
)

// BenchmarkSubscribe measures the delivery of stored job ads to a connector
// kit subscription (kit.Subscribe as actor matchwise, authorized by the
// repository's policies) against a raw JetStream push consumer with the same
// settings the hub gives actors, on the same stream, in the same run, both
// consumed over TCP and acking every record. It reports both rates and their
// ratio (the bar: kit at least 0.8 of raw). ns/op is the kit's.
func BenchmarkSubscribe(b *testing.B) {
	small := hubtest.ReadFile(b, filepath.Join(hubtest.SchemasDir(), "jobads", "examples", "valid", "small-ad.json"))
	cases := []struct {
		name string
		recs func() [][]byte
	}{
		{"ad-1KiB", func() [][]byte { return [][]byte{small} }},
		{"real-ads", func() [][]byte { return benchRealAds(b) }},
	}
	for _, c := range cases {
		s := newSubBench(b, c.recs())
		b.Run(c.name, s.run)
		s.stop()
	}
}

// benchAuthorizer is the real access service, except for the raw client,
// which reads a deliver subject no actor can be granted.
type benchAuthorizer struct {
	*access.Service
	rawKey string
}

func (a benchAuthorizer) Authorize(ctx context.Context, c natsd.Conn) (natsd.Grant, error) {
	if c.PublicKey == a.rawKey {
		return natsd.Grant{Actor: "rawbench", Subscribe: []string{"rawbench.>", "_INBOX_rawbench.>"}, Responses: true}, nil
	}
	return a.Service.Authorize(ctx, c)
}

type subBench struct {
	n       *node.Node
	tmpls   []publishtest.Template
	pub     *publish.Publisher
	rawNC   *nats.Conn
	kc      *kit.Client
	stored  int
	runs    int
	stopped bool
}

func newSubBench(b *testing.B, recs [][]byte) *subBench {
	n := hubtest.StartNew(b)
	ctx := context.Background()
	pubActor := hubtest.NewActor(b, "jobbland")
	kitActor := hubtest.NewActor(b, "matchwise")
	rawActor := hubtest.NewActor(b, "rawbench")
	for _, a := range []hubtest.Actor{pubActor, kitActor} {
		if _, err := n.Access().CreateActor(ctx, a.Name, a.PublicKey(), "bench"); err != nil {
			b.Fatal(err)
		}
	}
	n.NATS().SetAuthorizer(benchAuthorizer{Service: n.Access(), rawKey: rawActor.PublicKey()})
	s := &subBench{n: n}
	for _, r := range recs {
		s.tmpls = append(s.tmpls, publishtest.NewTemplate(b, r))
	}
	var err error
	if s.pub, err = publish.New(hubtest.Connect(b, n, pubActor), pubActor.Name, publish.WithWindow(1024)); err != nil {
		b.Fatal(err)
	}
	s.rawNC = hubtest.Connect(b, n, rawActor)
	s.kc, err = kit.DialKey(ctx, n.NATSURL(), kitActor.Name, kitActor.PublicKey(), kitActor.Key.Sign, kit.WithName("bench-kit"))
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func (s *subBench) stop() {
	if s.stopped {
		return
	}
	s.stopped = true
	_ = s.pub.Close()
	_ = s.kc.Close()
	s.rawNC.Close()
}

// storeUpTo publishes records through the hub's ingest path until count are
// stored.
func (s *subBench) storeUpTo(b *testing.B, count int) {
	if s.stored >= count {
		return
	}
	from := s.stored
	if err := publishtest.StoreAll(context.Background(), s.pub, "jobads", count-from, func(k int) ([]byte, string) {
		i := from + k
		return s.tmpls[i%len(s.tmpls)].With("", int64(i)), "bench-" + strconv.Itoa(i)
	}); err != nil {
		b.Fatal(err)
	}
	s.stored = count
}

// raw consumes count records from the start of the stream with a push
// consumer configured as the hub configures actors' consumers.
func (s *subBench) raw(b *testing.B, count int) time.Duration {
	ctx := context.Background()
	s.runs++
	name := "rawbench_" + strconv.Itoa(s.runs)
	deliver := "rawbench." + name
	var got atomic.Int64
	done := make(chan struct{})
	sub, err := s.rawNC.Subscribe(deliver, func(m *nats.Msg) {
		if len(m.Data) == 0 && m.Header.Get("Status") == "100" {
			if m.Reply != "" {
				_ = m.Respond(nil) // flow control
			}
			return
		}
		_ = m.Ack()
		if got.Add(1) == int64(count) {
			close(done)
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	_ = sub.SetPendingLimits(-1, 256<<20)
	if err := s.rawNC.Flush(); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	_, err = s.n.JetStream().CreatePushConsumer(ctx, wire.StreamName("jobads"), jetstream.ConsumerConfig{
		Name:           name,
		DeliverSubject: deliver,
		FilterSubject:  wire.DataFilter("jobads"),
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        30 * time.Second,
		MaxAckPending:  1024,
		FlowControl:    true,
		IdleHeartbeat:  5 * time.Second,
	})
	if err != nil {
		b.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		b.Fatalf("raw consumer: %d of %d records", got.Load(), count)
	}
	d := time.Since(start)
	_ = sub.Unsubscribe()
	_ = s.n.JetStream().DeleteConsumer(ctx, wire.StreamName("jobads"), name)
	return d
}

// viaKit consumes count records from the start of the stream with
// kit.Subscribe.
func (s *subBench) viaKit(b *testing.B, count int) time.Duration {
	ctx := context.Background()
	var got atomic.Int64
	done := make(chan struct{})
	start := time.Now()
	sub, err := s.kc.Subscribe(ctx, "jobads", func(_ context.Context, d kit.Delivery) error {
		if got.Add(1) == int64(count) {
			close(done)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		b.Fatalf("kit subscription: %d of %d records", got.Load(), count)
	}
	d := time.Since(start)
	_ = sub.Stop()
	return d
}

func (s *subBench) run(b *testing.B) {
	b.StopTimer()
	if s.stored < max(b.N, 2000) {
		s.storeUpTo(b, max(b.N, 2000))
		// Read every stored record once so that neither side pays for
		// loading fresh blocks into the stream's cache.
		s.raw(b, s.stored)
	}
	s.raw(b, 2000) // warm both paths
	s.viaKit(b, 2000)
	b.ResetTimer()
	rawTime := s.raw(b, b.N)
	b.StartTimer()
	kitTime := s.viaKit(b, b.N)
	b.StopTimer()
	rawRate := float64(b.N) / rawTime.Seconds()
	kitRate := float64(b.N) / kitTime.Seconds()
	b.ReportMetric(kitRate, "kit-rec/s")
	b.ReportMetric(rawRate, "raw-rec/s")
	b.ReportMetric(kitRate/rawRate, "ratio")
	b.SetBytes(int64(s.tmpls[0].Len()))
}

// benchRealAds are the three real JobTech ads.
func benchRealAds(b testing.TB) [][]byte {
	var ads [][]byte
	for _, l := range bytes.Split(hubtest.ReadFile(b, filepath.Join(hubtest.JobTechData(), "job-ads.ndjson")), []byte("\n")) {
		if l = bytes.TrimSpace(l); len(l) > 0 {
			ads = append(ads, l)
		}
	}
	if len(ads) != 3 {
		b.Fatalf("want 3 real ads, got %d", len(ads))
	}
	return ads
}
