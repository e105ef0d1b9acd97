package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/api"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
	"github.com/jobtech-dev/datahub/hub/internal/node"
	"github.com/jobtech-dev/datahub/hub/internal/store"
	"github.com/jobtech-dev/datahub/internal/problem"
	"github.com/jobtech-dev/datahub/internal/publish"
)

// batchAPI serves an API with the given batch limits in front of a real
// hub's ingest path, and returns it with its URL.
func batchAPI(t *testing.T, n *node.Node, d api.Deps) (*api.Handler, string) {
	t.Helper()
	nc, err := n.NATS().Connect("test-admin", nats.CustomInboxPrefix(wire.InboxPrefix(wire.AdminActor)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	pub, err := publish.New(nc, wire.AdminActor)
	if err != nil {
		t.Fatal(err)
	}
	d.Registry, d.JetStream, d.Publisher, d.Token, d.Logger = n.Registry(), n.JetStream(), pub, "t", hubtest.Logger(t)
	h := api.New(d)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv.URL
}

func postBatch(t *testing.T, url string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/api/v1/datasets/jobads/records", body)
	req.Header.Set("Authorization", "Bearer t")
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// Parallel batches never hold more record bytes in flight than the limit,
// however fast they send, and every record of every batch is stored.
func TestBatchBytesInFlightAreBounded(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	const limit = 48 << 10
	h, url := batchAPI(t, n, api.Deps{MaxRecordBytes: 16 << 10, MaxBatch: 1000, BatchConcurrency: 4, BatchInflightBytes: limit})
	const batches, lines = 4, 40
	var wg sync.WaitGroup
	for b := range batches {
		wg.Go(func() {
			resp, body := postBatch(t, url, bytes.NewReader(hubtest.RealAds(t, fmt.Sprintf("b%d-", b), lines)))
			var res problem.Batch
			if err := json.Unmarshal(body, &res); err != nil || resp.StatusCode != 200 || res.Counts[wire.StatusStored] != lines || len(res.Results) != lines {
				t.Errorf("batch %d: %d %+v %v", b, resp.StatusCode, res, err)
			}
		})
	}
	wg.Wait()
	now, peak := h.BatchBytes()
	if peak > limit || now != 0 {
		t.Fatalf("bytes in flight: peak %d (limit %d), %d left after the batches", peak, limit, now)
	}
	if peak < limit/2 {
		t.Fatalf("peak %d: the limit of %d was never approached, the test proves nothing", peak, limit)
	}
	if st, _ := store.DatasetStats(t.Context(), n.JetStream(), "jobads"); st.Records != batches*lines {
		t.Fatalf("%d records stored, want %d", st.Records, batches*lines)
	}
}

// One batch per slot: the next waits its turn, then is told to retry.
func TestBatchesBeyondTheSlotsAreAskedToRetry(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	_, url := batchAPI(t, n, api.Deps{MaxRecordBytes: 16 << 10, MaxBatch: 1000, BatchConcurrency: 1, BatchWait: 200 * time.Millisecond})
	// A batch whose body has not ended holds the only slot.
	pr, pw := io.Pipe()
	first := make(chan int, 1)
	go func() {
		resp, _ := postBatch(t, url, pr)
		first <- resp.StatusCode
	}()
	ads := hubtest.RealAds(t, "slot-", 2)
	line1, line2, _ := bytes.Cut(ads, []byte("\n"))
	_, _ = pw.Write(append(line1, '\n'))
	time.Sleep(100 * time.Millisecond)
	resp, body := postBatch(t, url, bytes.NewReader(ads))
	p := problemOf(t, resp, body, http.StatusServiceUnavailable)
	if resp.Header.Get("Retry-After") == "" || !strings.Contains(p.Detail, "batches") {
		t.Fatalf("second batch: %v %+v", resp.Header, p)
	}
	_, _ = pw.Write(line2)
	pw.Close()
	if code := <-first; code != 200 {
		t.Fatalf("first batch: %d", code)
	}
}

// Lines are bounded as they are read: a line far past the record limit is
// refused without being held, one a little past it reaches the validator,
// and a batch over the record count stops with what became of each part.
func TestBatchLinesAreBoundedAsTheyAreRead(t *testing.T) {
	t.Parallel()
	cfg := hubtest.Config(t.TempDir())
	cfg.MaxRecordBytes = 16 << 10 // the validator's limit too
	n := hubtest.Start(t, cfg)
	_, url := batchAPI(t, n, api.Deps{MaxRecordBytes: 16 << 10, MaxBatch: 5})
	ads := bytes.Split(bytes.TrimSpace(hubtest.RealAds(t, "line-", 7)), []byte("\n"))
	huge := `{"id":"huge","x":"` + strings.Repeat("a", 100<<10) + `"}`
	near := `{"id":"near","x":"` + strings.Repeat("a", 20<<10) + `"}`
	body := strings.Join([]string{string(ads[0]), huge, "", near, string(ads[1])}, "\n")
	resp, b := postBatch(t, url, strings.NewReader(body))
	var res problem.Batch
	if err := json.Unmarshal(b, &res); err != nil || resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	if res.Counts[wire.StatusStored] != 2 || res.Refused() != 2 || len(res.Results) != 4 {
		t.Fatalf("result %+v", res)
	}
	for i, want := range []int{1, 2, 4, 5} {
		if res.Results[i].Line != want {
			t.Fatalf("result %d is for line %d, want %d", i, res.Results[i].Line, want)
		}
	}
	for _, i := range []int{1, 2} {
		if o := res.Results[i]; len(o.Violations) == 0 || o.Violations[0].Keyword != "maxBytes" {
			t.Fatalf("line %d: %+v", o.Line, o)
		}
	}
	if !strings.Contains(res.Results[1].Violations[0].Message, fmt.Sprint(len(huge))) {
		t.Fatalf("huge line: %+v", res.Results[1].Violations)
	}

	// Seven records against a limit of five: five are processed, the
	// answer says so and where to go on.
	resp, b = postBatch(t, url, bytes.NewReader(bytes.Join(ads, []byte("\n"))))
	p := problemOf(t, resp, b, http.StatusRequestEntityTooLarge)
	if !strings.Contains(p.Detail, "first 5 records (to line 5)") || !strings.Contains(p.Detail, "5 stored") {
		t.Fatalf("over the count: %+v", p)
	}

	// A body announced larger than the limit is refused before it is read.
	req, _ := http.NewRequest("POST", url+"/api/v1/datasets/jobads/records", strings.NewReader("{}"))
	req.ContentLength = 1 << 40
	req.Header.Set("Authorization", "Bearer t")
	req.Header.Set("Content-Type", "application/x-ndjson")
	if resp, err := http.DefaultTransport.RoundTrip(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("announced 1 TiB: %d", resp.StatusCode)
		}
	}
}
