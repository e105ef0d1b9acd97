package federation_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jobtech-dev/datahub/connector-kit/creds"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/api"
)

// Two hubs: a gives jobads to hub:b; b takes jobads and taxonomy-concepts.
// The granted dataset flows with its record ids, publisher and origin, b
// adds itself to the path, a tombstone flows, a record b's stricter schema
// refuses is in b's dead letters with origin, peer and reason; the dataset
// not granted does not flow until a grants it, and then a's record for a
// key b's own publisher owns is refused, b's record kept.
func TestTwoHubsShareWhatThePolicyGrants(t *testing.T) {
	t.Parallel()
	strict := schemasWith(t, nil, func(ds string, s map[string]any) {
		if ds == "jobads" {
			s["properties"].(map[string]any)["headline"] = map[string]any{"type": "string", "minLength": 1, "maxLength": 12}
			// b's taxonomy holds only the concepts this test publishes: the
			// ads' concept references are not what this test is about.
			withoutTaxonomy(s)
		}
	})
	a := startHub(t, "a", grants(map[string][]string{"b": {"jobads"}}))
	b := startHub(t, "b", grants(nil), "--schemas", strict)

	// b's own publisher owns concept X1 on b before a's record for it comes.
	b.publishAdmin("taxonomy-concepts", []byte(`{"id": "XXX1_aaa_bbb", "label": "b's own", "type": "skill"}`+"\n"))

	credsB := a.give("b")
	b.take("a", a.NATSURL(), credsB, []string{"jobads", "taxonomy-concepts"})

	jobbland := a.actor()
	fine := ads("ad-", 20)
	ids := publish(t, jobbland, "jobads", "rec-", fine)
	long := publish(t, jobbland, "jobads", "long-", adsHeadline("long-", 1, func(int) string { return "a headline far longer than b allows" }))
	tomb := publish(t, jobbland, "jobads", "tomb-", [][]byte{[]byte(`{"id":"ad-3","removed":true,"removed_date":"2026-01-01T00:00:00"}`)})
	a.publishAdmin("taxonomy-concepts", []byte(`{"id": "XXX1_aaa_bbb", "label": "a's", "type": "skill"}`+"\n"+`{"id": "XXX2_aaa_bbb", "label": "a's too", "type": "skill"}`+"\n"))

	want := append(append([]string{}, ids...), tomb...)
	eventually(t, 30*time.Second, "granted ads on b", func() (bool, string) { return exactlyOnce(b, "jobads", want) })
	for _, e := range b.records("jobads") {
		origin, publisher, recordID, _ := wire.SplitEnvelopeID(e.ID)
		if e.Origin != "a" || e.Publisher != "jobbland" || origin != "a" || publisher != "jobbland" || e.RecordID != recordID ||
			!slices.Equal(e.Path, []string{"a", "b"}) {
			t.Errorf("record on b keeps who and where: %+v", e)
		}
		if e.ID == tomb[0] && (!e.Tombstone || e.Key != "ad-3") {
			t.Errorf("tombstone on b: %+v", e)
		}
	}
	eventually(t, 10*time.Second, "dead letter of the long headline on b", func() (bool, string) {
		for _, d := range b.deadLetters("jobads") {
			if d.ID == long[0] {
				if d.Origin != "a" || d.Peer != "a" || d.Publisher != "jobbland" || !strings.Contains(d.Reason, "headline") || !slices.Equal(d.Path, []string{"a"}) {
					return false, fmt.Sprintf("dead letter %+v", d)
				}
				return true, ""
			}
		}
		return false, "no dead letter yet"
	})

	// Not granted: nothing flows, and the link says so.
	eventually(t, 15*time.Second, "taxonomy-concepts refused", func() (bool, string) {
		for _, p := range b.peers() {
			if p.Link == nil {
				continue
			}
			for _, d := range p.Link.Status.Datasets {
				if d.Remote == "taxonomy-concepts" {
					return d.State == "refused", fmt.Sprintf("%+v", d)
				}
			}
		}
		return false, "no link"
	})
	if n := len(b.records("taxonomy-concepts")); n != 1 {
		t.Fatalf("b holds %d concepts before a grants them, want its own 1", n)
	}

	// A raw NATS client with b's credentials on a reads nothing else.
	rawClientIsConfined(t, a, credsB)

	// Granted now: the concepts flow, but a's X1 cannot replace b's.
	a.setPolicies(grants(map[string][]string{"b": {"jobads", "taxonomy-concepts"}}))
	eventually(t, 20*time.Second, "a's X2 on b", func() (bool, string) {
		var got []string
		for _, e := range b.records("taxonomy-concepts") {
			got = append(got, e.Key+"@"+e.Origin)
		}
		slices.Sort(got)
		return slices.Equal(got, []string{"XXX1_aaa_bbb@b", "XXX2_aaa_bbb@a"}), strings.Join(got, " ")
	})
	eventually(t, 10*time.Second, "a's XXX1 refused on b", func() (bool, string) {
		for _, d := range b.deadLetters("taxonomy-concepts") {
			if d.Origin == "a" && strings.Contains(d.Reason, "belongs to admin@b") {
				return true, ""
			}
		}
		return false, "no dead letter naming b's owner"
	})

	// The peer list on both sides.
	var link *api.PeerInfo
	for _, p := range b.peers() {
		if p.Name == "a" {
			link = &p
		}
	}
	if link == nil || link.Link == nil || link.Link.Status.State != "connected" {
		t.Fatalf("b's peer list: %+v", link)
	}
	for _, d := range link.Link.Status.Datasets {
		if d.Remote == "jobads" && (d.Received != uint64(len(want)) || d.DeadLettered != 1 || d.LastSeq != uint64(len(want)+1)) {
			t.Errorf("b's jobads link status: %+v (want %d received, 1 dead letter, last seq %d)", d, len(want), len(want)+1)
		}
	}
	var gives *api.PeerInfo
	for _, p := range a.peers() {
		if p.Name == "b" {
			gives = &p
		}
	}
	if gives == nil || gives.Identity == nil || gives.Identity.Subject != "hub:b" || gives.Identity.Connections != 1 || len(gives.Identity.Subscriptions) != 2 {
		t.Fatalf("a's peer list: %+v", gives)
	}
	out := b.CLI("peer", "list")
	if !strings.Contains(out, "takes  connected") || !strings.Contains(out, "jobads") {
		t.Errorf("peer list table:\n%s", out)
	}
}

// rawClientIsConfined connects to a with b's credentials through a plain
// NATS client and checks it can read nothing but its own deliveries.
func rawClientIsConfined(t *testing.T, a *hub, credsFile string) {
	t.Helper()
	cr, kp, err := creds.Read(credsFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	var mu sync.Mutex
	var violations []string
	nc, err := nats.Connect(a.NATSURL(), nats.Nkey(pub, kp.Sign), nats.CustomInboxPrefix(wire.InboxPrefix(cr.Actor)),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			mu.Lock()
			violations = append(violations, err.Error())
			mu.Unlock()
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	for _, subj := range []string{"data.>", "data.jobads.>", "deliver.jobbland.>", "$JS.API.>", "_INBOX_jobbland.>", "deadletter.>", "audit.>", "ingest.>"} {
		if _, err := nc.SubscribeSync(subj); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := nc.RequestWithContext(ctx, "$JS.API.STREAM.INFO.DS_jobads", nil); err == nil {
		t.Error("the peer's credentials reach the JetStream API")
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel2()
	if m, err := nc.RequestWithContext(ctx2, wire.ServiceSubject(wire.SubscribePrefix, "taxonomy-concepts", cr.Actor), []byte(`{"durable":"x"}`)); err == nil {
		t.Errorf("the peer subscribed to a dataset not granted: %s", m.Data)
	}
	if err := nc.Publish(wire.IngestSubject("jobads", cr.Actor), []byte(`{"id":"forged"}`)); err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()
	eventually(t, 5*time.Second, "permission violations", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, v := range violations {
			if strings.Contains(v, "ermissions violation") {
				n++
			}
		}
		return n >= 10, strings.Join(violations, "; ")
	})
	if !nc.IsConnected() && !errors.Is(nc.LastError(), nats.ErrAuthorization) {
		t.Logf("raw client: %v", nc.LastError())
	}
}

// withoutTaxonomy removes every x-taxonomy keyword from a schema.
func withoutTaxonomy(v any) {
	switch x := v.(type) {
	case map[string]any:
		delete(x, "x-taxonomy")
		for _, y := range x {
			withoutTaxonomy(y)
		}
	case []any:
		for _, y := range x {
			withoutTaxonomy(y)
		}
	}
}
