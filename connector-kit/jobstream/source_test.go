package jobstream_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/jobstream"
	"github.com/jobtech-dev/datahub/connector-kit/jobstream/jobstreamtest"
	"github.com/jobtech-dev/datahub/connector-kit/plugin"
)

func conf(url string, extra ...string) string {
	return "url: " + url + "\ninterval: 50ms\nbackoff_initial: 20ms\n" + strings.Join(extra, "\n")
}

// readSnapshot reads and acks the 3 real ads of the initial snapshot.
func readSnapshot(t *testing.T, src plugin.Source, ads []json.RawMessage) {
	t.Helper()
	want := map[string]string{}
	for _, ad := range ads {
		id, _ := adID(t, ad)
		want[id] = string(ad)
	}
	for range ads {
		r := readOne(t, src)
		id, removed := adID(t, r.rec.Data)
		if removed || want[id] != string(r.rec.Data) {
			t.Fatalf("snapshot record %s: unexpected %.80s", r.rec.ID, r.rec.Data)
		}
		if r.rec.ID != jobstream.RecordID(id, r.rec.Data) || !strings.HasPrefix(r.rec.ID, "jobstream-"+id+"-") {
			t.Errorf("record id %q", r.rec.ID)
		}
		if r.rec.Dataset != "jobads" {
			t.Errorf("dataset %q", r.rec.Dataset)
		}
		delete(want, id)
		ack(t, r, nil)
	}
}

// readUntil reads (and acks) records until one satisfies ok.
func readUntil(t *testing.T, src plugin.Source, ok func(plugin.Record) bool) read {
	t.Helper()
	for i := 0; i < 50; i++ {
		r := readOne(t, src)
		if ok(r.rec) {
			return r
		}
		ack(t, r, nil)
	}
	t.Fatal("record never arrived")
	return read{}
}

func TestSourceSnapshotThenStream(t *testing.T) {
	ads := realAds(t)
	fake := jobstreamtest.NewServer(t, jobstreamtest.Options{Ads: ads, APIKey: "s3cret"})
	src := newSource(t, t.TempDir(), conf(fake.URL, "api_key: s3cret"))
	readSnapshot(t, src, ads)

	var changed map[string]any
	json.Unmarshal(ads[1], &changed)
	changed["headline"] = "Java-utvecklare, uppdaterad"
	b, _ := json.Marshal(changed)
	if err := fake.Put(b); err != nil {
		t.Fatal(err)
	}
	r := readUntil(t, src, func(rec plugin.Record) bool { return strings.Contains(string(rec.Data), "uppdaterad") })
	ack(t, r, nil)
	if !strings.HasPrefix(r.rec.ID, "jobstream-23174210-") {
		t.Errorf("record id %q", r.rec.ID)
	}

	reqs := fake.Requests()
	if reqs[0].Path != "/snapshot" {
		t.Errorf("first request %s, want /snapshot", reqs[0].Path)
	}
	var streams int
	for _, q := range reqs {
		if q.APIKey != "s3cret" || q.Accept != "application/json" || q.Status != 200 {
			t.Errorf("request %s: api-key %q accept %q status %d", q.Path, q.APIKey, q.Accept, q.Status)
		}
		if q.Path == "/stream" {
			streams++
			if _, err := jobstream.ParseStreamQuery(q.Query); err != nil || q.Query.Get("updated-before-date") == "" {
				t.Errorf("stream query %v: %v", q.Query, err)
			}
		}
	}
	if streams == 0 {
		t.Error("no /stream request after the snapshot")
	}
}

func TestSourceRemovalArrivesAsTombstone(t *testing.T) {
	ads := realAds(t)
	fake := jobstreamtest.NewServer(t, jobstreamtest.Options{Ads: ads})
	src := newSource(t, t.TempDir(), conf(fake.URL))
	readSnapshot(t, src, ads)

	if err := fake.Remove("23174210"); err != nil {
		t.Fatal(err)
	}
	r := readUntil(t, src, func(rec plugin.Record) bool { _, removed := adID(t, rec.Data); return removed })
	ack(t, r, nil)
	var got map[string]any
	json.Unmarshal(r.rec.Data, &got)
	if got["id"] != "23174210" || got["removed"] != true || len(got) != 3 {
		t.Errorf("tombstone %s, want {id, removed: true, removed_date}", r.rec.Data)
	}
	if _, err := jobstream.ParseDate("removed_date", got["removed_date"].(string)); err != nil {
		t.Errorf("removed_date: %v", err)
	}
	if !strings.HasPrefix(r.rec.ID, "jobstream-23174210-") {
		t.Errorf("record id %q", r.rec.ID)
	}
}

func TestSourceSinceStreamsRealTimestamps(t *testing.T) {
	ads := realAds(t)
	fake := jobstreamtest.NewServer(t, jobstreamtest.Options{Ads: ads})
	// The real ads changed on 2018-10-19, 2019-03-12 and 2019-03-19.
	src := newSource(t, t.TempDir(), conf(fake.URL, "since: 2019-01-01T00:00:00"))
	got := map[string]bool{}
	for range 2 {
		r := readOne(t, src)
		id, _ := adID(t, r.rec.Data)
		got[id] = true
		ack(t, r, nil)
	}
	if !got["23174210"] || !got["23187561"] {
		t.Errorf("got %v, want the two 2019 ads", got)
	}
	first := fake.Requests()[0]
	if first.Path != "/stream" || first.Query.Get("date") != "2019-01-01T00:00:00" {
		t.Errorf("first request %s?%s", first.Path, first.Query.Encode())
	}
}

func TestSourceCursorIsDurable(t *testing.T) {
	ads := realAds(t)
	fake := jobstreamtest.NewServer(t, jobstreamtest.Options{Ads: ads})
	state := t.TempDir()
	src1 := newSource(t, state, conf(fake.URL))
	readSnapshot(t, src1, ads)

	var changed map[string]any
	json.Unmarshal(ads[2], &changed)
	changed["number_of_vacancies"] = 11
	b, _ := json.Marshal(changed)
	if err := fake.Put(b); err != nil {
		t.Fatal(err)
	}
	isUpdate := func(rec plugin.Record) bool { return strings.Contains(string(rec.Data), `"number_of_vacancies":11`) }
	unacked := readUntil(t, src1, isUpdate) // read, never acked: a crash
	src1.Close(context.Background())

	if _, err := os.Stat(filepath.Join(state, "jobstream-cursor.json")); err != nil {
		t.Fatalf("no cursor after an acked snapshot: %v", err)
	}
	before := len(fake.Requests())

	src2 := newSource(t, state, conf(fake.URL))
	r := readOne(t, src2)
	if !isUpdate(r.rec) || r.rec.ID != unacked.rec.ID {
		t.Fatalf("new instance read %s %.80s, want the unacked update %s again", r.rec.ID, r.rec.Data, unacked.rec.ID)
	}
	ack(t, r, nil)
	for _, q := range fake.Requests()[before:] {
		if q.Path == "/snapshot" {
			t.Error("the new instance took a snapshot again instead of continuing from the cursor")
		}
	}
}

func TestSourceNackReadsAgain(t *testing.T) {
	ads := realAds(t)
	fake := jobstreamtest.NewServer(t, jobstreamtest.Options{Ads: ads[:1]})
	src := newSource(t, t.TempDir(), conf(fake.URL))
	r := readOne(t, src)
	ack(t, r, errors.New("hub unreachable"))
	again := readOne(t, src)
	if again.rec.ID != r.rec.ID {
		t.Fatalf("after a nack read %s, want %s again", again.rec.ID, r.rec.ID)
	}
	ack(t, again, plugin.Permanent(errors.New("invalid"))) // permanent: moves on

	// Everything is done: the cursor is written on the next Read.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, _, err := src.Read(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Read with nothing new = %v, want the deadline", err)
	}
}

func TestSourceBacksOffOn503(t *testing.T) {
	ads := realAds(t)
	fake := jobstreamtest.NewServer(t, jobstreamtest.Options{Ads: ads})
	fake.FailNext(2)
	src := newSource(t, t.TempDir(), conf(fake.URL))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var waits []time.Duration
	for range 2 {
		_, _, err := src.Read(ctx)
		var be *plugin.BackoffError
		if !errors.As(err, &be) || !strings.Contains(err.Error(), "503") {
			t.Fatalf("Read = %v, want a BackoffError naming the 503", err)
		}
		waits = append(waits, be.Wait)
	}
	if waits[0] != 20*time.Millisecond || waits[1] != 40*time.Millisecond {
		t.Errorf("waits %v, want 20ms then 40ms", waits)
	}
	readSnapshot(t, src, ads) // recovered
}

func TestSourceRefusedKey(t *testing.T) {
	fake := jobstreamtest.NewServer(t, jobstreamtest.Options{APIKey: "right"})
	src := newSource(t, t.TempDir(), conf(fake.URL, "api_key: wrong"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _, err := src.Read(ctx)
	var se *jobstream.StatusError
	if !errors.As(err, &se) || se.Code != 401 || !strings.Contains(err.Error(), fake.URL+"/snapshot") {
		t.Fatalf("Read = %v, want a 401 StatusError naming the URL", err)
	}
}

func TestSourceConfigErrors(t *testing.T) {
	tests := []struct{ conf, field string }{
		{"interval: 1m", "url"},
		{"url: ftp://x", "url"},
		{"url: http://x\ninterval: often", "interval"},
		{"url: http://x\ntimeout: -1s", "timeout"},
		{"url: http://x\nsince: yesterday", "since"},
		{"url: http://x\nbogus: 1", "bogus"},
	}
	for _, tt := range tests {
		_, err := jobstream.NewSource([]byte(tt.conf), plugin.Resources{StateDir: t.TempDir()})
		if !errors.Is(err, plugin.ErrInvalidConfig) || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("%q: got %v, want ErrInvalidConfig naming %s", tt.conf, err, tt.field)
		}
	}
	if _, err := jobstream.NewSource([]byte("url: http://x"), plugin.Resources{}); !errors.Is(err, plugin.ErrInvalidConfig) {
		t.Errorf("no state dir: %v", err)
	}
}
