package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/hub/internal/natsd"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
	"github.com/jobtech-dev/datahub/hub/internal/node"
	"github.com/jobtech-dev/datahub/hub/internal/store"
	"github.com/jobtech-dev/datahub/internal/publish"
)

func example(t testing.TB, dataset, kind, file string) []byte {
	t.Helper()
	return hubtest.ReadFile(t, filepath.Join(hubtest.SchemasDir(), dataset, "examples", kind, file))
}

// realAds are the three real JobTech ads.
func realAds(t testing.TB) [][]byte {
	t.Helper()
	var ads [][]byte
	for _, l := range bytes.Split(hubtest.ReadFile(t, filepath.Join(hubtest.JobTechData(), "job-ads.ndjson")), []byte("\n")) {
		if l = bytes.TrimSpace(l); len(l) > 0 {
			ads = append(ads, l)
		}
	}
	if len(ads) != 3 {
		t.Fatalf("want 3 real ads, got %d", len(ads))
	}
	return ads
}

// setup starts a hub and connects a publisher for actor "board" allowed to
// publish to jobads and taxonomy-concepts.
func setup(t *testing.T) (*node.Node, *publish.Publisher, *nats.Conn) {
	t.Helper()
	n := hubtest.StartNew(t)
	board := hubtest.NewActor(t, "board")
	hubtest.Allow(t, n, map[hubtest.Actor]natsd.Grant{board: hubtest.IngestOnly("board", "jobads", "taxonomy-concepts", "nosuch")})
	nc := hubtest.Connect(t, n, board)
	p, err := publish.New(nc, "board")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return n, p, nc
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// storedMsg fetches a stored record by sequence straight from JetStream.
func storedMsg(t *testing.T, n *node.Node, dataset string, seq uint64) *jetstream.RawStreamMsg {
	t.Helper()
	s, err := n.JetStream().Stream(ctx(t), wire.StreamName(dataset))
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetMsg(ctx(t), seq)
	if err != nil {
		t.Fatalf("get stored seq %d: %v", seq, err)
	}
	return m
}

func TestPublishRealAdsStoredWithEnvelope(t *testing.T) {
	t.Parallel()
	n, p, _ := setup(t)
	for _, ad := range realAds(t) {
		var want struct{ ID string }
		_ = json.Unmarshal(ad, &want)
		r, err := p.Publish(ctx(t), "jobads", ad, "")
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != wire.StatusStored || r.Key != want.ID || r.Seq == 0 || r.ID == "" {
			t.Fatalf("reply = %+v, want stored with key %s", r, want.ID)
		}
		// The reply is a promise: the record is in the stream the moment it arrives.
		m := storedMsg(t, n, "jobads", r.Seq)
		if !bytes.Equal(m.Data, ad) {
			t.Fatal("stored payload differs from the published one")
		}
		env, err := wire.EnvelopeFromMsg(nats.Header(m.Header), m.Data, m.Sequence, m.Time)
		if err != nil {
			t.Fatal(err)
		}
		if env.ID != "hub:board:"+r.ID || env.ID != r.EnvelopeID || env.RecordID != r.ID || env.Dataset != "jobads" || env.Key != want.ID ||
			env.SchemaVersion != 1 || env.Publisher != "board" || env.Origin != "hub" || time.Since(env.PublishedAt) > time.Minute {
			t.Fatalf("envelope = %+v (reply %+v)", env.ID, r)
		}
		if m.Subject != wire.ScopedDataSubject("jobads", want.ID, "hub", "board") {
			t.Fatalf("subject %s, want one subject per key and publisher", m.Subject)
		}
		if !strings.HasPrefix(r.ID, "0") || len(r.ID) != 36 || r.ID[14] != '7' {
			t.Fatalf("record id %q is not a UUIDv7", r.ID)
		}
	}
}

func TestDuplicateIDStoredOnce(t *testing.T) {
	t.Parallel()
	n, p, _ := setup(t)
	ad := example(t, "jobads", "valid", "small-ad.json")
	first, err := p.Publish(ctx(t), "jobads", ad, "board-ad-1")
	if err != nil || first.Status != wire.StatusStored || first.ID != "board-ad-1" {
		t.Fatalf("first = %+v, %v", first, err)
	}
	second, err := p.Publish(ctx(t), "jobads", ad, "board-ad-1")
	if err != nil || second.Status != wire.StatusDuplicate || second.Seq != first.Seq {
		t.Fatalf("second = %+v, %v; want duplicate of seq %d", second, err, first.Seq)
	}
	st, err := store.DatasetStats(ctx(t), n.JetStream(), "jobads")
	if err != nil || st.Records != 1 {
		t.Fatalf("stats = %+v, %v; want 1 record", st, err)
	}
}

func TestForgedPublisherIgnored(t *testing.T) {
	t.Parallel()
	n, _, nc := setup(t)
	m := &nats.Msg{Subject: wire.IngestSubject("jobads", "board"), Data: example(t, "jobads", "valid", "small-ad.json"),
		Header: nats.Header{wire.HeaderPublisher: {"arbetsformedlingen"}, wire.HeaderOrigin: {"elsewhere"}, wire.HeaderKey: {"forged"}}}
	resp, err := nc.RequestMsgWithContext(ctx(t), m)
	if err != nil {
		t.Fatal(err)
	}
	var r wire.Reply
	if err := json.Unmarshal(resp.Data, &r); err != nil || r.Status != wire.StatusStored {
		t.Fatalf("reply %s, %v", resp.Data, err)
	}
	sm := storedMsg(t, n, "jobads", r.Seq)
	h := nats.Header(sm.Header)
	if h.Get(wire.HeaderPublisher) != "board" || h.Get(wire.HeaderOrigin) != "hub" || h.Get(wire.HeaderKey) == "forged" {
		t.Fatalf("stored headers %v: publisher/origin/key taken from the publisher", h)
	}
}

func TestRejections(t *testing.T) {
	t.Parallel()
	n, p, _ := setup(t)
	deep := strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100)
	huge := `{"id":"x","headline":"` + strings.Repeat("a", 1<<20) + `"}`
	tests := []struct {
		name, dataset string
		data          []byte
		pointer, kw   string
		code          wire.Code
	}{
		{"not json", "jobads", []byte(`{"id": "1", headline`), "", "json", wire.CodeInvalid},
		{"not utf-8", "jobads", []byte("{\"id\":\"1\",\"headline\":\"caf\xe9\"}"), "", "utf8", wire.CodeInvalid},
		{"too large", "jobads", []byte(huge), "", "maxBytes", wire.CodeTooLarge},
		{"too deep", "jobads", []byte(deep), "", "maxDepth", wire.CodeInvalid},
		{"not an object", "jobads", []byte(`[1,2]`), "", "type", wire.CodeInvalid},
		{"missing key", "taxonomy-concepts", []byte(`{"label":"Kylteknik","legacyAmsTaxonomyId":"3300","type":"skill"}`), "", "required", wire.CodeInvalid},
		{"schema: headline a number", "jobads", example(t, "jobads", "invalid", "headline-not-string.json"), "/headline", "type", wire.CodeInvalid},
		{"unknown dataset", "nosuch", []byte(`{"id":"1"}`), "", "dataset", wire.CodeUnknownDataset},
	}
	for _, tc := range tests {
		r, err := p.Publish(ctx(t), tc.dataset, tc.data, "")
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if r.Code != tc.code || r.Status != wire.StatusFor(tc.code) || r.Error == "" || len(r.Violations) == 0 {
			t.Fatalf("%s: reply %+v, want code %s with violations", tc.name, r, tc.code)
		}
		found := false
		for _, v := range r.Violations {
			if v.Keyword == tc.kw && (tc.pointer == "" || v.Pointer == tc.pointer) && v.Message != "" {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: violations %+v lack keyword %q at %q", tc.name, r.Violations, tc.kw, tc.pointer)
		}
	}
	// Every rejection is kept with its reason, publisher and time.
	for _, ds := range []string{"jobads", "taxonomy-concepts", "nosuch"} {
		var dls []wire.DeadLetter
		err := store.ReadDeadLetters(ctx(t), n.JetStream(), ds, 0, store.ReadOptions{}, func(d wire.DeadLetter) error {
			dls = append(dls, d)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for _, tc := range tests {
			if tc.dataset == ds {
				want++
			}
		}
		if len(dls) != want {
			t.Fatalf("dataset %s: %d dead letters, want %d", ds, len(dls), want)
		}
		for _, d := range dls {
			if d.Publisher != "board" || d.Reason == "" || len(d.Violations) == 0 || time.Since(d.RejectedAt) > time.Minute || len(d.Data) == 0 {
				t.Errorf("dead letter %+v lacks publisher, reason, violations, time or data", d)
			}
		}
	}
	// Nothing invalid was stored, and the hub still takes good records.
	r, err := p.Publish(ctx(t), "jobads", example(t, "jobads", "valid", "small-ad.json"), "")
	if err != nil || r.Status != wire.StatusStored {
		t.Fatalf("after bad input: %+v, %v", r, err)
	}
	if st, _ := store.DatasetStats(ctx(t), n.JetStream(), "jobads"); st.Records != 1 {
		t.Fatalf("jobads has %d records, want only the valid one", st.Records)
	}
}

func TestAllViolationsListed(t *testing.T) {
	t.Parallel()
	_, p, _ := setup(t)
	rec := `{"id":"bad","label":"","legacyAmsTaxonomyId":90,"type":"Skill"}`
	r, err := p.Publish(ctx(t), "taxonomy-concepts", []byte(rec), "")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, v := range r.Violations {
		got[v.Pointer] = true
	}
	for _, want := range []string{"/id", "/label", "/legacyAmsTaxonomyId", "/type"} {
		if !got[want] {
			t.Errorf("no violation at %s in %+v", want, r.Violations)
		}
	}
}

func TestBadRecordIDRejected(t *testing.T) {
	t.Parallel()
	_, p, _ := setup(t)
	r, err := p.Publish(ctx(t), "jobads", example(t, "jobads", "valid", "small-ad.json"), "has space")
	if err != nil || r.Status != wire.StatusRejected || r.Violations[0].Keyword != "recordId" {
		t.Fatalf("reply %+v, %v; want rejected recordId", r, err)
	}
}

func TestStoredAnswersSurviveStopAndRestart(t *testing.T) {
	t.Parallel()
	cfg := hubtest.Config(t.TempDir())
	n := hubtest.Start(t, cfg)
	board := hubtest.NewActor(t, "board")
	hubtest.Allow(t, n, map[hubtest.Actor]natsd.Grant{board: hubtest.IngestOnly("board", "jobads")})
	nc := hubtest.Connect(t, n, board, nats.NoReconnect())
	p, err := publish.New(nc, "board")
	if err != nil {
		t.Fatal(err)
	}
	ad := example(t, "jobads", "valid", "small-ad.json")
	var futs []*publish.Future
	for i := 0; i < 500; i++ {
		f, err := p.Send(ctx(t), "jobads", ad, "")
		if err != nil {
			t.Fatal(err)
		}
		futs = append(futs, f)
	}
	if err := nc.Flush(); err != nil { // the hub has them all, in flight
		t.Fatal(err)
	}
	hubtest.Stop(t, n)
	// Every answer the hub sent before it stopped is on its way; give them
	// a moment together, then give up on the rest (not stored, or stored
	// without an answer: either way nothing stored may be missing below).
	wait, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var seqs []uint64
	for _, f := range futs {
		r, err := f.Result(wait)
		if err == nil && r.Status == wire.StatusStored {
			seqs = append(seqs, r.Seq)
		}
	}
	p.Close()
	n2 := hubtest.Start(t, cfg)
	st, err := store.DatasetStats(ctx(t), n2.JetStream(), "jobads")
	if err != nil {
		t.Fatal(err)
	}
	if len(seqs) == 0 || st.Records < uint64(len(seqs)) {
		t.Fatalf("%d answered stored, %d in the stream after restart", len(seqs), st.Records)
	}
	for _, seq := range seqs {
		storedMsg(t, n2, "jobads", seq)
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func TestPublisherOrderKept(t *testing.T) {
	t.Parallel()
	n, p, _ := setup(t)
	ad := string(example(t, "jobads", "valid", "small-ad.json"))
	var futs []*publish.Future
	const versions = 400
	for i := 0; i < versions; i++ {
		// Alternate a big and a small record so parallel workers finish out of order.
		rec := strings.Replace(ad, `"headline":"Java-utvecklare"`, fmt.Sprintf(`"headline":"v%04d"`, i), 1)
		if i%2 == 0 {
			rec = strings.Replace(rec, `"text":"`, `"text":"`+strings.Repeat("lång text ", 2000), 1)
		}
		f, err := p.Send(ctx(t), "jobads", []byte(rec), "")
		if err != nil {
			t.Fatal(err)
		}
		futs = append(futs, f)
	}
	for _, f := range futs {
		if r, err := f.Result(ctx(t)); err != nil || r.Status != wire.StatusStored {
			t.Fatalf("%+v %v", r, err)
		}
	}
	var got []string
	err := store.Read(ctx(t), n.JetStream(), "jobads", store.Position{}, store.ReadOptions{}, func(e wire.Envelope) error {
		var v struct{ Headline string }
		_ = json.Unmarshal(e.Data, &v)
		got = append(got, v.Headline)
		return nil
	})
	if err != nil || len(got) != versions {
		t.Fatalf("read %d, %v", len(got), err)
	}
	for i, h := range got {
		if h != fmt.Sprintf("v%04d", i) {
			t.Fatalf("record %d is %s: stored out of the publisher's order", i, h)
		}
	}
	var snap []string
	_ = store.Read(ctx(t), n.JetStream(), "jobads", store.Position{Snapshot: true}, store.ReadOptions{}, func(e wire.Envelope) error {
		var v struct{ Headline string }
		_ = json.Unmarshal(e.Data, &v)
		snap = append(snap, v.Headline)
		return nil
	})
	if len(snap) != 1 || snap[0] != fmt.Sprintf("v%04d", versions-1) {
		t.Fatalf("snapshot %v, want only the last version", snap)
	}
}
