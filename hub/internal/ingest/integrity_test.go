package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/jobstream"
	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
	"github.com/jobtech-dev/datahub/hub/internal/node"
	"github.com/jobtech-dev/datahub/hub/internal/owners"
	"github.com/jobtech-dev/datahub/hub/internal/store"
	"github.com/jobtech-dev/datahub/internal/publish"
)

// The actors of the repository's policies these tests use: Arbetsförmedlingen
// and the job board jobbland may publish job ads, matchwise reads them.
const (
	af       = "arbetsformedlingen"
	jobbland = "jobbland"
	reader   = "matchwise"
)

// ecosystem is a hub under the repository's sharing policies with real
// connections for af, jobbland and the reader.
type ecosystem struct {
	n      *node.Node
	actors map[string]hubtest.Actor
	pubs   map[string]*publish.Publisher
}

// startEcosystem starts a hub in dir (a fresh one when "") with the datasets
// of schemasDir (the repository's when "").
func startEcosystem(t *testing.T, dir, schemasDir string) *ecosystem {
	t.Helper()
	return restartEcosystem(t, dir, schemasDir, nil)
}

// restartEcosystem starts a hub on dir again with the actors of prev (already
// registered there); nil prev creates them.
func restartEcosystem(t *testing.T, dir, schemasDir string, prev *ecosystem) *ecosystem {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	cfg := hubtest.Config(dir)
	if schemasDir != "" {
		cfg.Schemas = schemasDir
	}
	e := &ecosystem{n: hubtest.Start(t, cfg), actors: map[string]hubtest.Actor{}, pubs: map[string]*publish.Publisher{}}
	for _, name := range []string{af, jobbland, reader} {
		var a hubtest.Actor
		if prev != nil {
			a = prev.actors[name]
		} else {
			a = hubtest.NewActor(t, name)
			if _, err := e.n.Access().CreateActor(ctx(t), name, a.PublicKey(), "test"); err != nil {
				t.Fatal(err)
			}
		}
		e.actors[name] = a
		if name == reader {
			continue
		}
		p, err := publish.New(hubtest.Connect(t, e.n, a), name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		e.pubs[name] = p
	}
	return e
}

// ownedJobAds is a copy of the repository's schemas in which job ads have
// owned keys (key_scope: dataset).
func ownedJobAds(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(hubtest.SchemasDir())); err != nil {
		t.Fatal(err)
	}
	decl := filepath.Join(dir, "jobads", "dataset.yaml")
	b := hubtest.ReadFile(t, decl)
	b = bytes.Replace(b, []byte("key_scope: publisher"), []byte("key_scope: dataset"), 1)
	if err := os.WriteFile(decl, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func (e *ecosystem) publish(t *testing.T, actor string, data []byte, id string) wire.Reply {
	t.Helper()
	r, err := e.pubs[actor].Publish(ctx(t), "jobads", data, id)
	if err != nil {
		t.Fatalf("publish as %s: %v", actor, err)
	}
	return r
}

// kitClient connects as actor with the Go kit.
func (e *ecosystem) kitClient(t *testing.T, actor string) *kit.Client {
	t.Helper()
	a := e.actors[actor]
	c, err := kit.DialKey(ctx(t), e.n.NATSURL(), actor, a.PublicKey(), a.Key.Sign)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// snapshot is the latest record per key as the hub reads it.
func (e *ecosystem) snapshot(t *testing.T) []wire.Envelope {
	t.Helper()
	var out []wire.Envelope
	err := store.Read(ctx(t), e.n.JetStream(), "jobads", store.Position{Snapshot: true}, store.ReadOptions{}, func(env wire.Envelope) error {
		out = append(out, env)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// subscribed is what a subscription starting at the snapshot delivers of
// the records stored now.
func (e *ecosystem) subscribed(t *testing.T) []wire.Envelope {
	t.Helper()
	c := e.kitClient(t, reader)
	got := make(chan wire.Envelope, 100)
	caught := make(chan struct{})
	sub, err := c.Subscribe(ctx(t), "jobads", func(_ context.Context, d kit.Delivery) error {
		got <- d.Envelope
		if d.Pending == 0 {
			close(caught)
		}
		return nil
	}, kit.FromSnapshot())
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop()
	if sub.InitialPending() > 0 {
		select {
		case <-caught:
		case <-ctx(t).Done():
			t.Fatal("subscription did not catch up")
		}
	}
	close(got)
	var out []wire.Envelope
	for env := range got {
		out = append(out, env)
	}
	return out
}

// jobStreamSnapshot is the JobStream /snapshot answer for the records of the
// hub's snapshot, with the dataset's ad ids, decoded by encoding/json as a
// JobStream client would.
func (e *ecosystem) jobStreamSnapshot(t *testing.T) map[string]map[string]any {
	t.Helper()
	d, _ := e.n.Registry().Get("jobads")
	envs := func(yield func(wire.Envelope, error) bool) {
		for _, env := range e.snapshot(t) {
			if !yield(env, nil) {
				return
			}
		}
	}
	var b bytes.Buffer
	if _, err := jobstream.WriteSnapshot(ctx(t), &b, envs, jobstream.WithAdIDs(jobstream.For(d.KeyScope, d.Owner))); err != nil {
		t.Fatal(err)
	}
	var ads []map[string]any
	if err := json.Unmarshal(b.Bytes(), &ads); err != nil {
		t.Fatalf("JobStream snapshot does not decode: %v", err)
	}
	out := map[string]map[string]any{}
	for _, ad := range ads {
		id, _ := ad["id"].(string)
		if _, dup := out[id]; dup {
			t.Fatalf("JobStream snapshot has ad id %s twice", id)
		}
		out[id] = ad
	}
	return out
}

// hasAd reports whether envs hold publisher's record with key.
func hasAd(envs []wire.Envelope, key, publisher string) (wire.Envelope, bool) {
	for _, e := range envs {
		if e.Key == key && e.Publisher == publisher {
			return e, true
		}
	}
	return wire.Envelope{}, false
}

func withHeadline(t *testing.T, ad []byte, headline string) []byte {
	t.Helper()
	var v map[string]json.RawMessage
	if err := json.Unmarshal(ad, &v); err != nil {
		t.Fatal(err)
	}
	v["headline"], _ = json.Marshal(headline)
	b, _ := json.Marshal(v)
	return b
}

// TestTombstoneFromAnotherPublisherLeavesTheAd: jobbland's tombstone for
// Arbetsförmedlingen's ad 22884504 lands in jobbland's own key space; the ad
// stays in the snapshot, the JobStream snapshot and a subscription from the
// snapshot.
func TestTombstoneFromAnotherPublisherLeavesTheAd(t *testing.T) {
	t.Parallel()
	e := startEcosystem(t, "", "")
	ad := example(t, "jobads", "valid", "ad-22884504.json")
	if r := e.publish(t, af, ad, ""); r.Status != wire.StatusStored {
		t.Fatalf("af: %+v", r)
	}
	r := e.publish(t, jobbland, example(t, "jobads", "valid", "tombstone-22884504.json"), "")
	if r.Status != wire.StatusStored {
		t.Fatalf("jobbland's tombstone: %+v, want stored in its own key space", r)
	}
	if env, ok := hasAd(e.snapshot(t), "22884504", af); !ok || !bytes.Equal(env.Data, ad) {
		t.Fatalf("snapshot lost arbetsformedlingen's ad 22884504: %+v", e.snapshot(t))
	}
	if _, ok := hasAd(e.subscribed(t), "22884504", af); !ok {
		t.Fatal("a subscription from the snapshot lost arbetsformedlingen's ad 22884504")
	}
	js := e.jobStreamSnapshot(t)
	if got, ok := js["22884504"]; !ok || got["headline"] == nil {
		t.Fatalf("JobStream snapshot lost ad 22884504: %v", js)
	}
	if len(js) != 1 {
		t.Fatalf("JobStream snapshot has %d ads, want only arbetsformedlingen's", len(js))
	}
}

// TestTwoPublishersSameAdID: two publishers' ads with the same id are two
// ads; JobStream serves the dataset owner's under its id and the other's
// under "<publisher>:<id>", and each publisher's tombstone ends only its own.
func TestTwoPublishersSameAdID(t *testing.T) {
	t.Parallel()
	e := startEcosystem(t, "", "")
	ad := example(t, "jobads", "valid", "ad-22884504.json")
	theirs := withHeadline(t, ad, "Jobblands egen annons")
	e.publish(t, af, ad, "")
	e.publish(t, jobbland, theirs, "")
	snap := e.snapshot(t)
	mine, ok1 := hasAd(snap, "22884504", af)
	other, ok2 := hasAd(snap, "22884504", jobbland)
	if !ok1 || !ok2 || !bytes.Equal(mine.Data, ad) || !bytes.Equal(other.Data, theirs) || len(snap) != 2 {
		t.Fatalf("snapshot %d records, want both publishers' ad 22884504 as each published it", len(snap))
	}
	js := e.jobStreamSnapshot(t)
	if js["22884504"]["headline"] == "Jobblands egen annons" || js["jobbland:22884504"]["headline"] != "Jobblands egen annons" {
		t.Fatalf("JobStream ids: %v", keysOf(js))
	}
	e.publish(t, jobbland, example(t, "jobads", "valid", "tombstone-22884504.json"), "")
	snap = e.snapshot(t)
	if _, ok := hasAd(snap, "22884504", af); !ok || len(snap) != 1 {
		t.Fatalf("after jobbland's tombstone: %d records, want only arbetsformedlingen's ad", len(snap))
	}
	if js := e.jobStreamSnapshot(t); len(js) != 1 || js["22884504"] == nil {
		t.Fatalf("JobStream after jobbland's tombstone: %v", keysOf(js))
	}
}

func keysOf(m map[string]map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// TestOwnedKeyRefusesOthers: with key_scope: dataset the first publisher owns
// the key; another publisher's record or tombstone for it is refused, names
// the owner and is dead-lettered, and the ad stays everywhere.
func TestOwnedKeyRefusesOthers(t *testing.T) {
	t.Parallel()
	e := startEcosystem(t, "", ownedJobAds(t))
	ad := example(t, "jobads", "valid", "ad-22884504.json")
	e.publish(t, af, ad, "")
	for _, bad := range [][]byte{example(t, "jobads", "valid", "tombstone-22884504.json"), withHeadline(t, ad, "kapad")} {
		r := e.publish(t, jobbland, bad, "")
		if r.Status != wire.StatusRejected || len(r.Violations) != 1 || r.Violations[0].Keyword != "owner" ||
			r.Violations[0].Pointer != "/id" || !strings.Contains(r.Error, `key "22884504" belongs to arbetsformedlingen@hub`) {
			t.Fatalf("jobbland over arbetsformedlingen's key: %+v", r)
		}
	}
	var dls []wire.DeadLetter
	_ = store.ReadDeadLetters(ctx(t), e.n.JetStream(), "jobads", 0, store.ReadOptions{}, func(d wire.DeadLetter) error {
		dls = append(dls, d)
		return nil
	})
	if len(dls) != 2 || dls[0].Publisher != jobbland || !strings.Contains(dls[0].Reason, "belongs to arbetsformedlingen") {
		t.Fatalf("dead letters %+v, want jobbland's two refused records with the owner", dls)
	}
	if env, ok := hasAd(e.snapshot(t), "22884504", af); !ok || !bytes.Equal(env.Data, ad) {
		t.Fatal("snapshot lost arbetsformedlingen's ad")
	}
	if _, ok := hasAd(e.subscribed(t), "22884504", af); !ok {
		t.Fatal("subscription from the snapshot lost arbetsformedlingen's ad")
	}
	if js := e.jobStreamSnapshot(t); len(js) != 1 || js["22884504"]["headline"] == "kapad" {
		t.Fatalf("JobStream snapshot: %v", keysOf(js))
	}
	// A new key is jobbland's; its own tombstone ends it.
	own := bytes.Replace(ad, []byte(`"22884504"`), []byte(`"777"`), 1)
	if r := e.publish(t, jobbland, own, ""); r.Status != wire.StatusStored {
		t.Fatalf("jobbland's own new key: %+v", r)
	}
	if ko, err := e.n.Owners().Owner(ctx(t), "jobads", "777"); err != nil || ko.Publisher != jobbland || ko.Origin != "hub" || ko.By != "record" {
		t.Fatalf("owner of 777: %+v, %v", ko, err)
	}
	if r := e.publish(t, jobbland, []byte(`{"id":"777","removed":true}`), ""); r.Status != wire.StatusStored {
		t.Fatalf("jobbland's tombstone of its own key: %+v", r)
	}
	if _, ok := hasAd(e.snapshot(t), "777", jobbland); ok {
		t.Fatal("jobbland's own tombstone did not end its key")
	}
}

// adminCall calls the admin API of n.
func adminCall(t *testing.T, n *node.Node, method, path, body string, hdr ...string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx(t), method, n.HTTPURL()+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+n.Token())
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestKeyTransfer: an admin (API) and the dataset's owner (kit) can transfer
// a key, nobody else can; the new owner alone may then write it; transfers
// are audited; an admin can assign a key before its first record.
func TestKeyTransfer(t *testing.T) {
	t.Parallel()
	e := startEcosystem(t, "", ownedJobAds(t))
	ad := example(t, "jobads", "valid", "ad-22884504.json")
	tomb := example(t, "jobads", "valid", "tombstone-22884504.json")
	e.publish(t, af, ad, "")

	status, body := adminCall(t, e.n, http.MethodPut, "/api/v1/datasets/jobads/owners/22884504", `{"publisher":"jobbland"}`)
	var ko wire.KeyOwner
	if status != http.StatusOK || json.Unmarshal(body, &ko) != nil || ko.Publisher != jobbland || ko.Previous != "arbetsformedlingen@hub" || ko.By != "admin" {
		t.Fatalf("admin transfer: %d %s", status, body)
	}
	if r := e.publish(t, af, withHeadline(t, ad, "ny version"), ""); r.Status != wire.StatusRejected || !strings.Contains(r.Error, "belongs to jobbland@hub") {
		t.Fatalf("the old owner after the transfer: %+v", r)
	}
	if r := e.publish(t, jobbland, tomb, ""); r.Status != wire.StatusStored {
		t.Fatalf("the new owner's tombstone: %+v", r)
	}
	if _, ok := hasAd(e.snapshot(t), "22884504", af); ok {
		t.Fatal("the new owner's tombstone did not end the key")
	}
	status, body = adminCall(t, e.n, http.MethodGet, "/api/v1/datasets/jobads/owners/22884504", "")
	if status != http.StatusOK || !strings.Contains(string(body), `"publisher":"jobbland"`) {
		t.Fatalf("GET owner: %d %s", status, body)
	}

	// The dataset's owner may transfer with the kit; another actor may not.
	afc, jbc := e.kitClient(t, af), e.kitClient(t, jobbland)
	if _, err := jbc.TransferKey(ctx(t), "jobads", "22884504", jobbland); !errors.Is(err, kit.ErrForbidden) {
		t.Fatalf("jobbland (not the dataset's owner) transferring: %v, want ErrForbidden", err)
	}
	if ko, err := afc.TransferKey(ctx(t), "jobads", "22884504", af); err != nil || ko.Publisher != af || ko.By != af {
		t.Fatalf("the dataset owner's transfer: %+v, %v", ko, err)
	}
	if got, err := jbc.KeyOwner(ctx(t), "jobads", "22884504"); err != nil || got == nil || got.Publisher != af {
		t.Fatalf("KeyOwner: %+v, %v", got, err)
	}
	if r := e.publish(t, af, ad, ""); r.Status != wire.StatusStored {
		t.Fatalf("after the transfer back: %+v", r)
	}

	// An admin assigns a key nobody owns yet: a squatter is refused.
	if status, body := adminCall(t, e.n, http.MethodPut, "/api/v1/datasets/jobads/owners/23999999", `{"publisher":"arbetsformedlingen"}`); status != http.StatusOK {
		t.Fatalf("assign: %d %s", status, body)
	}
	if r := e.publish(t, jobbland, bytes.Replace(ad, []byte(`"22884504"`), []byte(`"23999999"`), 1), ""); r.Status != wire.StatusRejected {
		t.Fatalf("squatting an assigned key: %+v", r)
	}
	// Unknown keys, bad bodies, publisher-scoped datasets.
	for _, tc := range []struct {
		method, path, body string
		want               int
	}{
		{http.MethodGet, "/api/v1/datasets/jobads/owners/nobody-has-it", "", http.StatusNotFound},
		{http.MethodPut, "/api/v1/datasets/jobads/owners/1", `{"publisher":"Not A Name"}`, http.StatusBadRequest},
		{http.MethodPut, "/api/v1/datasets/jobads/owners/1", `nope`, http.StatusBadRequest},
		{http.MethodGet, "/api/v1/datasets/nosuch/owners/1", "", http.StatusNotFound},
	} {
		if status, body := adminCall(t, e.n, tc.method, tc.path, tc.body); status != tc.want || !strings.Contains(string(body), `"status"`) {
			t.Errorf("%s %s: %d %s, want %d problem", tc.method, tc.path, status, body, tc.want)
		}
	}
	// Every transfer is in the audit log, with who asked.
	_, body = adminCall(t, e.n, http.MethodGet, "/api/v1/audit?n=50", "")
	var transfers []string
	for _, l := range bytes.Split(body, []byte("\n")) {
		var ent struct{ Kind, Actor, Subject string }
		if json.Unmarshal(l, &ent) == nil && ent.Kind == owners.KindKeyTransfer {
			transfers = append(transfers, ent.Actor+" "+ent.Subject)
		}
	}
	if want := []string{"admin jobads/22884504", "arbetsformedlingen jobads/22884504", "admin jobads/23999999"}; strings.Join(transfers, ",") != strings.Join(want, ",") {
		t.Fatalf("audited transfers %q, want %q", transfers, want)
	}
}

// TestKeysOfAPublisherScopedDataset: there is nothing to own or transfer.
func TestKeysOfAPublisherScopedDataset(t *testing.T) {
	t.Parallel()
	e := startEcosystem(t, "", "")
	if status, body := adminCall(t, e.n, http.MethodPut, "/api/v1/datasets/jobads/owners/1", `{"publisher":"jobbland"}`); status != http.StatusConflict || !strings.Contains(string(body), "key_scope") {
		t.Fatalf("transfer in a publisher-scoped dataset: %d %s", status, body)
	}
	if _, err := e.kitClient(t, af).KeyOwner(ctx(t), "jobads", "1"); !errors.Is(err, kit.ErrKeysNotShared) {
		t.Fatalf("KeyOwner in a publisher-scoped dataset: %v", err)
	}
}

// TestRecordIDSquatting: record ids are per publisher, so jobbland storing a
// fake ad under id jobads:squat-77 first does not stop Arbetsförmedlingen's
// real record with that id; envelope ids stay unique.
func TestRecordIDSquatting(t *testing.T) {
	t.Parallel()
	e := startEcosystem(t, "", "")
	fake := withHeadline(t, bytes.Replace(example(t, "jobads", "valid", "small-ad.json"), []byte(`"22884504"`), []byte(`"666"`), 1), "fake")
	squat := e.publish(t, jobbland, fake, "jobads:squat-77")
	if squat.Status != wire.StatusStored {
		t.Fatalf("jobbland: %+v", squat)
	}
	ad := example(t, "jobads", "valid", "ad-22884504.json")
	real := e.publish(t, af, ad, "jobads:squat-77")
	if real.Status != wire.StatusStored || real.Seq == squat.Seq || real.ID != "jobads:squat-77" {
		t.Fatalf("arbetsformedlingen's record with jobbland's id: %+v, want stored", real)
	}
	if real.EnvelopeID != "hub:arbetsformedlingen:jobads:squat-77" || squat.EnvelopeID != "hub:jobbland:jobads:squat-77" {
		t.Fatalf("envelope ids %q and %q", real.EnvelopeID, squat.EnvelopeID)
	}
	env, ok := hasAd(e.snapshot(t), "22884504", af)
	if !ok || !bytes.Equal(env.Data, ad) || env.ID != real.EnvelopeID || env.RecordID != "jobads:squat-77" {
		t.Fatalf("arbetsformedlingen's record: %+v", env.ID)
	}
	// A retry is still a duplicate of one's own record.
	if again := e.publish(t, af, ad, "jobads:squat-77"); again.Status != wire.StatusDuplicate || again.Seq != real.Seq {
		t.Fatalf("retry: %+v, want duplicate of seq %d", again, real.Seq)
	}
}

// TestSameIDOtherContentIsConflict: a duplicate answer never hides a record
// whose content differs from the stored one: it is a conflict, kept as a dead
// letter, and answered 409 by the admin API.
func TestSameIDOtherContentIsConflict(t *testing.T) {
	t.Parallel()
	e := startEcosystem(t, "", "")
	ad := example(t, "jobads", "valid", "ad-22884504.json")
	first := e.publish(t, af, ad, "af-1")
	if again := e.publish(t, af, ad, "af-1"); again.Status != wire.StatusDuplicate || again.Seq != first.Seq {
		t.Fatalf("same content: %+v", again)
	}
	changed := e.publish(t, af, withHeadline(t, ad, "ändrad"), "af-1")
	if changed.Status != wire.StatusConflict || changed.Seq != first.Seq || !strings.Contains(changed.Error, "different content") {
		t.Fatalf("same id, other content: %+v, want conflict with the stored seq", changed)
	}
	if st, _ := store.DatasetStats(ctx(t), e.n.JetStream(), "jobads"); st.Records != 1 {
		t.Fatalf("%d records stored, want 1", st.Records)
	}
	var dls []wire.DeadLetter
	_ = store.ReadDeadLetters(ctx(t), e.n.JetStream(), "jobads", 0, store.ReadOptions{}, func(d wire.DeadLetter) error {
		dls = append(dls, d)
		return nil
	})
	if len(dls) != 1 || !strings.Contains(string(dls[0].Data), "ändrad") || dls[0].Violations[0].Keyword != "conflict" ||
		dls[0].RecordID != "af-1" || dls[0].ID != "hub:arbetsformedlingen:af-1" {
		t.Fatalf("dead letters %+v, want the conflicting record with its ids", dls)
	}
	if c := e.n.IngestCounts(); c.Conflicts != 1 || c.Duplicates != 1 {
		t.Fatalf("counts %+v", c)
	}
	// The admin API: 201, 200 duplicate, 409 problem+json.
	small := example(t, "jobads", "valid", "small-ad.json")
	for i, tc := range []struct {
		body []byte
		want int
	}{{small, http.StatusCreated}, {small, http.StatusOK}, {withHeadline(t, small, "x"), http.StatusConflict}} {
		status, body := adminCall(t, e.n, http.MethodPost, "/api/v1/datasets/jobads/records", string(tc.body), wire.RequestRecordID, "admin-1")
		if status != tc.want {
			t.Fatalf("post %d: %d %s, want %d", i, status, body, tc.want)
		}
		if tc.want == http.StatusConflict && !strings.Contains(string(body), `"type":"https://jobtechdev.se/datahub/problems/conflict"`) {
			t.Fatalf("409 is not a conflict problem: %s", body)
		}
	}
}

// TestOwnersSeededFromStoredRecords: keys stored before they had owners (an
// older hub, or a lost bucket) go to the publisher of their latest record,
// not to whoever writes them next.
func TestOwnersSeededFromStoredRecords(t *testing.T) {
	t.Parallel()
	dir, schemas := t.TempDir(), ownedJobAds(t)
	e := startEcosystem(t, dir, schemas)
	e.publish(t, af, example(t, "jobads", "valid", "ad-22884504.json"), "")
	if err := e.n.JetStream().DeleteKeyValue(ctx(t), owners.Bucket); err != nil {
		t.Fatal(err)
	}
	hubtest.Stop(t, e.n)
	e = restartEcosystem(t, dir, schemas, e)
	if r := e.publish(t, jobbland, example(t, "jobads", "valid", "tombstone-22884504.json"), ""); r.Status != wire.StatusRejected || !strings.Contains(r.Error, "arbetsformedlingen") {
		t.Fatalf("jobbland's tombstone after the owners were rebuilt: %+v", r)
	}
}

// TestKeyScopeFixedOnceStored: a dataset holding records cannot change its
// key scope (its records' subjects say which it was); the error names the
// declaration's line and field.
func TestKeyScopeFixedOnceStored(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := startEcosystem(t, dir, "")
	e.publish(t, af, example(t, "jobads", "valid", "small-ad.json"), "")
	hubtest.Stop(t, e.n)
	cfg := hubtest.Config(dir)
	cfg.Schemas = ownedJobAds(t)
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := node.Start(c, cfg, hubtest.Logger(t))
	if err == nil {
		hubtest.Stop(t, n)
		t.Fatal("hub started with a changed key scope")
	}
	if msg := err.Error(); !strings.Contains(msg, "jobads/dataset.yaml:") || !strings.Contains(msg, "key_scope:") || !strings.Contains(msg, `holds 1 records stored with key_scope "publisher"`) {
		t.Fatalf("error %q does not name the file, line and field", msg)
	}
}
