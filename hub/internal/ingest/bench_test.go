package ingest_test

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/hub/internal/natsd"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/connector-kit/publish"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
	"github.com/jobtech-dev/datahub/hub/internal/store"
)

// window is how many records each side keeps in flight: the same for raw
// JetStream async publish and for the hub's ingest requests.
const window = 1024

// variants spreads records over this many keys, each with its own id.
const variants = 4096

// BenchmarkIngest measures the hub's full ingest path (request over TCP,
// decode, validate, stamp, JetStream publish, reply after the ack) against
// raw JetStream async publish of the same payloads into an identical stream,
// in the same run, and reports both rates and their ratio.
func BenchmarkIngest(b *testing.B) {
	small := example(b, "jobads", "valid", "small-ad.json")
	payloads := map[string][][]byte{
		"ad-1KiB":  withIDs(b, [][]byte{small}),
		"real-ads": withIDs(b, realAds(b)),
	}
	for _, name := range []string{"ad-1KiB", "real-ads"} {
		recs := payloads[name]
		b.Run(name, func(b *testing.B) {
			n := hubtest.StartNew(b)
			benchActor := hubtest.NewActor(b, "bench")
			hubtest.Allow(b, n, map[hubtest.Actor]natsd.Grant{benchActor: {
				Actor:     "bench",
				Publish:   []string{"ingest.jobads.bench", "bench.raw.>"},
				Subscribe: []string{"_INBOX_bench.>"},
			}})
			d, _ := n.Registry().Get("jobads")
			rawCfg := store.StreamConfig(d, 1)
			rawCfg.Name, rawCfg.Subjects = "BENCH_RAW", []string{"bench.raw.>"}
			ctx := context.Background()
			if _, err := n.JetStream().CreateStream(ctx, rawCfg); err != nil {
				b.Fatal(err)
			}
			// Two TCP connections, as an actor's process would have.
			rawNC := hubtest.Connect(b, n, benchActor)
			hubNC := hubtest.Connect(b, n, benchActor)
			js, err := jetstream.New(rawNC, jetstream.WithPublishAsyncMaxPending(window))
			if err != nil {
				b.Fatal(err)
			}
			p, err := publish.New(hubNC, "bench", publish.WithWindow(window))
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			keys := make([]string, len(recs))
			for i, r := range recs {
				keys[i] = "bench.raw." + wire.EncodeKey(keyOf(b, r))
			}
			var seq int
			raw := func(count int) time.Duration {
				start := time.Now()
				for i := 0; i < count; i++ {
					seq++
					m := &nats.Msg{Subject: keys[seq%len(recs)], Data: recs[seq%len(recs)], Header: nats.Header{wire.HeaderRecordID: {"raw-" + strconv.Itoa(seq)}}}
					if _, err := js.PublishMsgAsync(m); err != nil {
						b.Fatal(err)
					}
				}
				select {
				case <-js.PublishAsyncComplete():
				case <-time.After(time.Minute):
					b.Fatal("raw publishes not acknowledged")
				}
				return time.Since(start)
			}
			hub := func(count int) time.Duration {
				start := time.Now()
				futs := make(chan *publish.Future, window*2)
				errc := make(chan error, 1)
				go func() {
					defer close(errc)
					for f := range futs {
						r, err := f.Result(ctx)
						if err != nil || r.Status != wire.StatusStored {
							errc <- fmt.Errorf("record not stored: %+v %v", r, err)
							for range futs {
							}
							return
						}
					}
				}()
				for i := 0; i < count; i++ {
					seq++
					f, err := p.Send(ctx, "jobads", recs[seq%len(recs)], "hub-"+strconv.Itoa(seq))
					if err != nil {
						b.Fatal(err)
					}
					futs <- f
				}
				close(futs)
				if err := <-errc; err != nil {
					b.Fatal(err)
				}
				return time.Since(start)
			}
			raw(2000) // warm both paths
			hub(2000)
			b.ResetTimer()
			b.StopTimer()
			rawTime := raw(b.N)
			b.StartTimer()
			hubTime := hub(b.N)
			b.StopTimer()
			rawRate := float64(b.N) / rawTime.Seconds()
			hubRate := float64(b.N) / hubTime.Seconds()
			b.ReportMetric(hubRate, "hub-rec/s")
			b.ReportMetric(rawRate, "raw-rec/s")
			b.ReportMetric(hubRate/rawRate, "ratio")
			b.SetBytes(int64(len(recs[0])))
		})
	}
}

// withIDs makes `variants` copies of the records, each with its own id (and
// so its own key), so the streams see many keys as in real use.
func withIDs(b testing.TB, base [][]byte) [][]byte {
	out := make([][]byte, 0, variants)
	for i := 0; i < variants; i++ {
		rec := base[i%len(base)]
		id := keyOf(b, rec)
		out = append(out, bytes.Replace(rec, []byte(`"id": "`+id+`"`), []byte(`"id": "`+id+"-"+strconv.Itoa(i)+`"`), 1))
		if bytes.Equal(out[i], rec) {
			out[i] = bytes.Replace(rec, []byte(`"id":"`+id+`"`), []byte(`"id":"`+id+"-"+strconv.Itoa(i)+`"`), 1)
		}
		if bytes.Equal(out[i], rec) {
			b.Fatalf("could not vary the id of a record")
		}
	}
	return out
}

func keyOf(b testing.TB, rec []byte) string {
	var v struct{ ID string }
	if err := jsonUnmarshal(rec, &v); err != nil || v.ID == "" {
		b.Fatalf("record without id: %v", err)
	}
	return v.ID
}
