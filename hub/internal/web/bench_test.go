package web_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
	"github.com/jobtech-dev/datahub/hub/internal/jobstore"
	"github.com/jobtech-dev/datahub/hub/internal/node"
)

// benchKeys is how many distinct job ads the filled stream holds: the
// records are versions of these, so the snapshot has many keys.
const benchKeys = 100_000

// benchPublishers publish the ads (jobads is scoped by publisher: each
// key is stored under one of them).
var benchPublishers = []string{"platsbanken", "board-a", "board-b", "board-c"}

// BenchmarkDatasetPage measures GET /datasets/jobads over HTTP on loopback
// from a real hub whose jobads stream holds a million stored records
// (WEB_BENCH_RECORDS lowers it), spread over 100,000 ads and four
// publishers, with three Jobstore services built on the dataset. The
// records are stamped as the ingest path stamps them but published with
// raw JetStream async publishes, without validation: this measures the
// page, not ingest. It reports ms/page (the mean) and p50/p99 per request.
func BenchmarkDatasetPage(b *testing.B) {
	records := 1_000_000
	if s := os.Getenv("WEB_BENCH_RECORDS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			b.Fatalf("WEB_BENCH_RECORDS=%q: want a positive whole number of records", s)
		}
		records = v
	}
	n := hubtest.StartNew(b)
	start := time.Now()
	fillJobAds(b, n, records)
	fill := time.Since(start)
	b.Logf("stored %d records in %s (%.0f rec/s)", records, fill.Round(time.Millisecond), float64(records)/fill.Seconds())
	publishServices(b, n)

	url := n.HTTPURL() + "/datasets/jobads"
	client := &http.Client{Timeout: 30 * time.Second}
	get := func() []byte {
		resp, err := client.Get(url)
		if err != nil {
			b.Fatalf("GET %s: %v", url, err)
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("GET %s: status %d, read error %v", url, resp.StatusCode, err)
		}
		return body
	}
	// The page must show what was stored (records and keys), and the
	// services; the first
	// request also fills the schema cache, as the first visitor would.
	page := get()
	keys := "(" + groupDigits(uint64(min(records, benchKeys))) + " keys)"
	for _, want := range []string{groupDigits(uint64(records)), keys, "Bench matching 1"} {
		if !bytes.Contains(page, []byte(want)) {
			b.Fatalf("the dataset page does not show %q:\n%s", want, page)
		}
	}

	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		get()
		took = append(took, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(took)
	var sum time.Duration
	for _, d := range took {
		sum += d
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(sum)/float64(len(took)), "ms/page")
	b.ReportMetric(ms(took[len(took)/2]), "p50-ms")
	b.ReportMetric(ms(took[min(len(took)-1, len(took)*99/100)]), "p99-ms")
	b.ReportMetric(float64(records), "records")
	b.ReportMetric(fill.Seconds(), "fill-s")
}

// fillJobAds stores count records on the jobads stream, each stamped with
// the headers the ingest path sets (wire.Header*), under the subject
// registry.Dataset.Subject gives, through the hub's own JetStream handle.
func fillJobAds(b *testing.B, n *node.Node, count int) {
	b.Helper()
	d, ok := n.Registry().Get("jobads")
	if !ok {
		b.Fatal("the repository's schemas declare no jobads dataset")
	}
	ad := hubtest.ReadFile(b, filepath.Join(hubtest.SchemasDir(), "jobads", "examples", "valid", "small-ad.json"))
	const adID = `"id":"23187561"`
	if !bytes.Contains(ad, []byte(adID)) {
		b.Fatalf("small-ad.json no longer starts with %s", adID)
	}
	origin := hubtest.Config("").Name
	version := strconv.Itoa(d.SchemaVersion)
	js := n.JetStream()
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	for i := range count {
		key := strconv.Itoa(30_000_000 + i%benchKeys)
		publisher := benchPublishers[(i%benchKeys)%len(benchPublishers)]
		id := key + "-v" + strconv.Itoa(i/benchKeys)
		msg := &nats.Msg{
			Subject: d.Subject(key, origin, publisher),
			Data:    bytes.Replace(ad, []byte(adID), []byte(`"id":"`+key+`"`), 1),
			Header: nats.Header{
				wire.HeaderRecordID:          {wire.EnvelopeID(origin, publisher, id)},
				wire.HeaderPublisherRecordID: {id},
				wire.HeaderDataset:           {d.Name},
				wire.HeaderKey:               {key},
				wire.HeaderSchemaVersion:     {version},
				wire.HeaderPublisher:         {publisher},
				wire.HeaderOrigin:            {origin},
			},
		}
		// The hub's handle allows 4,096 publishes in flight; past that (a
		// slow fsync on a busy machine) wait for the acks and send again.
		_, err := js.PublishMsgAsync(msg)
		for errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
			waitAcks(b, ctx, js, i)
			_, err = js.PublishMsgAsync(msg)
		}
		if err != nil {
			b.Fatalf("publish record %d of %d: %v", i, count, err)
		}
	}
	waitAcks(b, ctx, js, count)
	st, err := js.Stream(ctx, wire.StreamName(d.Name))
	if err != nil {
		b.Fatalf("jobads stream: %v", err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		b.Fatalf("jobads stream info: %v", err)
	}
	if info.State.Msgs != uint64(count) {
		b.Fatalf("jobads stream holds %d records, want %d", info.State.Msgs, count)
	}
}

// waitAcks waits until every async publish so far is acknowledged.
func waitAcks(b *testing.B, ctx context.Context, js jetstream.JetStream, sent int) {
	b.Helper()
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		b.Fatalf("%d records sent, %d still unacknowledged: %v", sent, js.PublishAsyncPending(), ctx.Err())
	}
}

// publishServices puts three Jobstore services on jobads, so the page
// lists services as a live hub's would.
func publishServices(b *testing.B, n *node.Node) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i, cat := range jobstore.Categories[:3] {
		s := jobstore.Service{Actor: benchPublishers[i], Name: "bench-" + cat, Title: fmt.Sprintf("Bench %s %d", cat, i+1),
			Description: "A service the dataset page benchmark lists.", Category: cat, URL: "https://example.org/" + cat,
			Datasets: []string{"jobads"}, Contact: "dev@example.org"}
		if _, err := n.Services().Publish(ctx, s, "admin"); err != nil {
			b.Fatalf("publish service %s: %v", s.Key(), err)
		}
	}
}

// groupDigits writes n as the pages do: digits in groups of three, a
// space between groups.
func groupDigits(n uint64) string {
	s := strconv.FormatUint(n, 10)
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ' ')
		}
		out = append(out, s[i])
	}
	return string(out)
}
