package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/hub/internal/natsd"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/access"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
	"github.com/jobtech-dev/datahub/hub/internal/node"
	"github.com/jobtech-dev/datahub/hub/internal/policy"
	"github.com/jobtech-dev/datahub/hub/internal/store"
	"github.com/jobtech-dev/datahub/internal/publish"
	"github.com/jobtech-dev/datahub/internal/publish/publishtest"
	"github.com/jobtech-dev/datahub/internal/recordfile"
	"github.com/jobtech-dev/datahub/internal/taxonomy"
)

// window is how many records each side keeps in flight: the same for raw
// JetStream async publish and for the hub's ingest requests.
const window = 1024

// variants spreads records over this many keys, each with its own id.
const variants = 4096

// BenchmarkIngest measures the hub's full ingest path (request over TCP,
// decode, validate, stamp, JetStream publish, reply after the ack) against
// raw JetStream async publish of the same payloads into an identical stream,
// in the same run, and reports both rates and their ratio. The publishing
// actor is authorized by the real sharing policies (the repository's, plus
// its own grant).
//
// The shipped job-ad dataset scopes keys by publisher; the "owned-keys"
// variants declare it key_scope: dataset, so every record is checked against
// its key's owner (a map lookup once the key is known: the warm-up claims
// every key the run uses). Record ids are deduplicated per publisher in all.
func BenchmarkIngest(b *testing.B) {
	small := example(b, "jobads", "valid", "small-ad.json")
	b.Run("ad-1KiB", func(b *testing.B) { benchIngest(b, withIDs(b, [][]byte{small}), 0) })
	b.Run("real-ads", func(b *testing.B) { benchIngest(b, withIDs(b, realAds(b)), 0) })
	b.Run("ad-1KiB-owned-keys", func(b *testing.B) { benchIngestIn(b, withIDs(b, [][]byte{small}), 0, ownedJobAds(b)) })
	b.Run("real-ads-owned-keys", func(b *testing.B) { benchIngestIn(b, withIDs(b, realAds(b)), 0, ownedJobAds(b)) })
	// The taxonomy keyword off (x-taxonomy taken out of the job-ad schema)
	// and on (the shipped schema, the real concept snapshot loaded), on the
	// same records: the 1 KiB ad, and the two real ads that name only
	// concepts of the snapshot (ad 23174210 names five it lacks).
	valid := realAds(b)
	valid = [][]byte{valid[0], valid[2]}
	b.Run("ad-1KiB-taxonomy-off", func(b *testing.B) { benchIngestIn(b, withIDs(b, [][]byte{small}), 0, withoutTaxonomy(b)) })
	b.Run("ad-1KiB-taxonomy-on", func(b *testing.B) { benchIngestIn(b, withIDs(b, [][]byte{small}), 0, "", loadTaxonomy) })
	b.Run("real-ads-taxonomy-off", func(b *testing.B) { benchIngestIn(b, withIDs(b, valid), 0, withoutTaxonomy(b)) })
	b.Run("real-ads-taxonomy-on", func(b *testing.B) { benchIngestIn(b, withIDs(b, valid), 0, "", loadTaxonomy) })
	b.Run("schema.org-postings", func(b *testing.B) { benchIngestDataset(b, "job-postings", postings(b), 0) })
}

// withoutTaxonomy is the repository's datasets with the taxonomy keyword
// taken out of the job-ad schema.
func withoutTaxonomy(b *testing.B) string {
	dir := b.TempDir()
	if err := os.CopyFS(dir, os.DirFS(hubtest.SchemasDir())); err != nil {
		b.Fatal(err)
	}
	file := filepath.Join(dir, "jobads", "jobad.schema.json")
	var doc any
	if err := json.Unmarshal(hubtest.ReadFile(b, file), &doc); err != nil {
		b.Fatal(err)
	}
	var strip func(any)
	strip = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			delete(x, schema.TaxonomyKeyword)
			for _, y := range x {
				strip(y)
			}
		case []any:
			for _, y := range x {
				strip(y)
			}
		}
	}
	strip(doc)
	out, err := json.Marshal(doc)
	if err != nil || bytes.Contains(out, []byte(`"`+schema.TaxonomyKeyword+`":`)) { // the keyword, not the description naming it
		b.Fatalf("strip x-taxonomy: %v", err)
	}
	if err := os.WriteFile(file, out, 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

// loadTaxonomy puts the real concept snapshot into the hub's taxonomy index,
// as its follower does from the taxonomy dataset.
func loadTaxonomy(b *testing.B, n *node.Node) {
	err := recordfile.ReadFileWith(filepath.Join(hubtest.JobTechData(), "taxonomy-concepts.json"), recordfile.Options{MapKey: "id"}, func(r recordfile.Record) error {
		c, err := taxonomy.ParseConcept(r.Data)
		if err == nil {
			n.Taxonomy().Put(c)
		}
		return err
	})
	if err != nil || n.Taxonomy().Len() != 12496 {
		b.Fatalf("load taxonomy: %v (%d concepts)", err, n.Taxonomy().Len())
	}
}

// BenchmarkIngestBatch is BenchmarkIngest with the hub's records sent in
// batch requests (wire.HeaderBatch), as the kit's PublishBatch sends them:
// up to 256 records or 512 KiB a request, the same 1024 records in flight.
// Raw JetStream publishes record by record as before: it has no batches
// with an answer per record.
func BenchmarkIngestBatch(b *testing.B) {
	small := example(b, "jobads", "valid", "small-ad.json")
	b.Run("ad-1KiB", func(b *testing.B) { benchIngestBatch(b, withIDs(b, [][]byte{small})) })
	b.Run("real-ads", func(b *testing.B) { benchIngestBatch(b, withIDs(b, realAds(b))) })
	b.Run("schema.org-postings", func(b *testing.B) { benchIngestDataset(b, "job-postings", postings(b), batchOf(postings(b))) })
}

// BenchmarkIngestWith200Policies is BenchmarkIngest's 1 KiB case with 200
// policies in force: policies are compiled into connection permissions, so
// the ratio should not move.
func BenchmarkIngestWith200Policies(b *testing.B) {
	small := example(b, "jobads", "valid", "small-ad.json")
	benchIngest(b, withIDs(b, [][]byte{small}), 200)
}

// benchAuthorizer is the real access service, except for the raw-JetStream
// client, which needs stream subjects no actor can be granted.
type benchAuthorizer struct {
	*access.Service
	rawKey string
}

func (a benchAuthorizer) Authorize(ctx context.Context, c natsd.Conn) (natsd.Grant, error) {
	if c.PublicKey == a.rawKey {
		return natsd.Grant{Actor: "bench-raw", Publish: []string{"bench.raw.>"}, Subscribe: []string{"_INBOX_bench-raw.>"}}, nil
	}
	return a.Service.Authorize(ctx, c)
}

// benchPolicies are the repository's policies, the bench actor's grant, and
// generated ones up to total.
func benchPolicies(b *testing.B, total int) *policy.Set {
	dir := filepath.Join(hubtest.RepoRoot(), "policies")
	files := map[string][]byte{}
	entries, _ := os.ReadDir(dir)
	count := 0
	for _, e := range entries {
		bs := hubtest.ReadFile(b, filepath.Join(dir, e.Name()))
		files[e.Name()] = bs
		count += bytes.Count(bs, []byte(`"id"`))
	}
	var gen []string
	gen = append(gen, `{"id":"bench-publishes","description":"benchmark","subjects":["actor:bench"],"resources":["dataset:jobads","dataset:job-postings"],"actions":["publish"],"effect":"allow"}`)
	count++
	for i := 0; count < total; i++ {
		gen = append(gen, fmt.Sprintf(`{"id":"gen-%d","description":"generated","subjects":["actor:org-%d","group:job-boards"],"resources":["dataset:<jobads|taxonomy-concepts>"],"actions":["<subscribe|read-schema>"],"effect":"%s","conditions":{"time":{"type":"TimeWindowCondition","options":{"from":"2026-01-01T00:00:00Z","until":"2030-01-01T00:00:00Z"}}}}`,
			i, i, map[bool]string{true: "deny", false: "allow"}[i%7 == 0]))
		count++
	}
	files["bench.json"] = []byte("[" + strings.Join(gen, ",") + "]")
	set, err := policy.LoadFiles(files)
	if err != nil {
		b.Fatal(err)
	}
	return set
}

func benchIngest(b *testing.B, recs [][]byte, policies int) { benchIngestIn(b, recs, policies, "") }

func benchIngestBatch(b *testing.B, recs [][]byte) { benchIngestOpts(b, recs, 0, "", batchOf(recs)) }

// batchOf is how many of recs go in one batch request: up to 256 records
// or 512 KiB.
func batchOf(recs [][]byte) int {
	longest := 0
	for _, r := range recs {
		longest = max(longest, len(r))
	}
	return min(256, (512<<10)/longest)
}

// benchIngestIn runs the benchmark on a hub with the datasets of schemasDir
// (the repository's when ""), prepared by prep.
func benchIngestIn(b *testing.B, recs [][]byte, policies int, schemasDir string, prep ...func(*testing.B, *node.Node)) {
	benchIngestOpts(b, recs, policies, schemasDir, 0, prep...)
}

// benchIngestOpts is benchIngestIn with the hub's records sent batch
// records to a request (alone when 0).
func benchIngestOpts(b *testing.B, recs [][]byte, policies int, schemasDir string, batch int, prep ...func(*testing.B, *node.Node)) {
	benchIngestInto(b, "jobads", recs, policies, schemasDir, batch, prep...)
}

// benchIngestDataset runs the benchmark on another of the repository's
// datasets, with the shipped declaration.
func benchIngestDataset(b *testing.B, dataset string, recs [][]byte, batch int) {
	benchIngestInto(b, dataset, recs, 0, "", batch)
}

// benchIngestInto is benchIngestOpts into dataset.
func benchIngestInto(b *testing.B, dataset string, recs [][]byte, policies int, schemasDir string, batch int, prep ...func(*testing.B, *node.Node)) {
	cfg := hubtest.Config(b.TempDir())
	if schemasDir != "" {
		cfg.Schemas = schemasDir
	}
	n := hubtest.Start(b, cfg)
	for _, p := range prep {
		p(b, n)
	}
	benchActor := hubtest.NewActor(b, "bench")
	rawActor := hubtest.NewActor(b, "bench-raw")
	set := benchPolicies(b, policies)
	if _, err := n.Access().Apply(context.Background(), set, "bench"); err != nil {
		b.Fatal(err)
	}
	if _, err := n.Access().CreateActor(context.Background(), "bench", benchActor.PublicKey(), "bench"); err != nil {
		b.Fatal(err)
	}
	n.NATS().SetAuthorizer(benchAuthorizer{Service: n.Access(), rawKey: rawActor.PublicKey()})
	{
		{
			d, _ := n.Registry().Get(dataset)
			rawCfg := store.StreamConfig(d, 1)
			rawCfg.Name, rawCfg.Subjects = "BENCH_RAW", []string{"bench.raw.>"}
			ctx := context.Background()
			if _, err := n.JetStream().CreateStream(ctx, rawCfg); err != nil {
				b.Fatal(err)
			}
			// Two TCP connections, as an actor's process would have.
			rawNC := hubtest.Connect(b, n, rawActor)
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
					// A full window stalls past the client's wait on a busy
					// machine: wait it out, as the hub's own publisher does.
					for {
						_, err := js.PublishMsgAsync(m)
						if err == nil {
							break
						}
						if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
							b.Fatal(err)
						}
						<-js.PublishAsyncComplete()
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
				bfuts := make(chan *publish.BatchFuture, window)
				errc := make(chan error, 1)
				if batch > 0 {
					go func() {
						defer close(errc)
						for f := range bfuts {
							rs, err := f.Results(ctx)
							for _, r := range rs {
								if err == nil && r.Status != wire.StatusStored {
									err = fmt.Errorf("record not stored: %+v", r)
								}
							}
							if err != nil {
								errc <- err
								for range bfuts {
								}
								return
							}
						}
					}()
					group := make([]publish.Record, 0, batch)
					for i := 0; i < count; i++ {
						seq++
						group = append(group, publish.Record{ID: "hub-" + strconv.Itoa(seq), Data: recs[seq%len(recs)]})
						if len(group) == batch || i == count-1 {
							f, err := p.SendBatch(ctx, dataset, group)
							if err != nil {
								b.Fatal(err)
							}
							bfuts <- f
							group = group[:0]
						}
					}
					close(bfuts)
					if err := <-errc; err != nil {
						b.Fatal(err)
					}
					return time.Since(start)
				}
				first := seq
				seq += count
				if err := publishtest.StoreAll(ctx, p, dataset, count, func(i int) ([]byte, string) {
					n := first + i + 1
					return recs[n%len(recs)], "hub-" + strconv.Itoa(n)
				}); err != nil {
					b.Fatal(err)
				}
				return time.Since(start)
			}
			raw(2000) // warm both paths
			hub(2000)
			if d, _ := n.Registry().Get(dataset); !d.ScopedByPublisher() && len(recs) > 2000 {
				hub(len(recs)) // claim every key: the run measures known keys
			}
			b.ResetTimer()
			b.StopTimer()
			if os.Getenv("INGEST_BENCH_ONLY") == "hub" {
				// For profiles of the hub's path alone.
				b.StartTimer()
				hub(b.N)
				return
			}
			cpu0 := processCPU()
			rawTime := raw(b.N)
			cpu1 := processCPU()
			b.StartTimer()
			hubTime := hub(b.N)
			b.StopTimer()
			cpu2 := processCPU()
			rawRate := float64(b.N) / rawTime.Seconds()
			hubRate := float64(b.N) / hubTime.Seconds()
			b.ReportMetric(hubRate, "hub-rec/s")
			b.ReportMetric(rawRate, "raw-rec/s")
			b.ReportMetric(hubRate/rawRate, "ratio")
			// CPU per record of each path (client, server and JetStream all
			// run in this process), and their ratio: steadier than the
			// rates when other processes share the machine.
			rawCPU, hubCPU := float64((cpu1-cpu0).Microseconds())/float64(b.N), float64((cpu2-cpu1).Microseconds())/float64(b.N)
			b.ReportMetric(hubCPU, "hub-cpu-µs/rec")
			b.ReportMetric(rawCPU, "raw-cpu-µs/rec")
			if hubCPU > 0 {
				b.ReportMetric(rawCPU/hubCPU, "cpu-ratio")
			}
			b.ReportMetric(float64(set.Len()), "policies")
			b.SetBytes(int64(len(recs[0])))
		}
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
