package audit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/hub/internal/audit"
)

// entriesOf reads the whole log.
func entriesOf(t *testing.T, l *audit.Log) []audit.Entry {
	t.Helper()
	var es []audit.Entry
	if err := l.Tail(t.Context(), 0, false, func(e audit.Entry) error { es = append(es, e); return nil }); err != nil {
		t.Fatal(err)
	}
	return es
}

func TestWriterCountsRefusalsIntoBoundedEntries(t *testing.T) {
	ts := startServer(t, t.TempDir())
	l := open(t, ts.js)
	w := audit.NewWriter(t.Context(), l, audit.WriterOptions{Interval: time.Hour, MaxGroups: 10})
	defer w.Close(context.Background())

	// 3,000 unknown keys from 500 addresses, 1,000 denied publishes of
	// one actor to distinct subjects, and an admin change in between.
	for i := range 3000 {
		w.Refused(audit.Refusal{Kind: audit.RefusedConnect, RemoteIP: fmt.Sprintf("10.0.%d.%d", i%500/250, i%250), NKey: fmt.Sprintf("U%06d", i), Reason: "unknown or revoked actor key"})
	}
	for i := range 1000 {
		w.Refused(audit.Refusal{Kind: audit.RefusedPermission, Actor: "matchwise", Reason: fmt.Sprintf(`Publish Violation - Subject "ingest.jobads.x%d"`, i)})
	}
	if _, err := w.Record(t.Context(), audit.Entry{Kind: audit.KindActorCreate, Actor: "admin", Subject: "jobbland"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	es := entriesOf(t, l)
	var denied, total int
	for _, e := range es {
		if e.Kind != audit.KindAccessDenied {
			continue
		}
		denied++
		var d struct {
			Count   int            `json:"count"`
			Reasons map[string]int `json:"reasons"`
			IPs     map[string]int `json:"remote_ips"`
		}
		if err := json.Unmarshal(e.Detail, &d); err != nil {
			t.Fatal(err)
		}
		total += d.Count
		if len(d.Reasons) > 8 || len(d.IPs) > 8 || len(e.Detail) > 4096 {
			t.Fatalf("entry not bounded: %d reasons, %d addresses, %d bytes", len(d.Reasons), len(d.IPs), len(e.Detail))
		}
	}
	// 10 groups at most, plus one overflow entry per kind.
	if denied > 12 || total != 4000 {
		t.Fatalf("%d refusal entries counting %d refusals, want at most 12 counting 4000", denied, total)
	}
	wantOK(t, verify(t, l), len(es))
}

// An entry that cannot be stored now is not dropped: Record says so and
// the writer stores it later.
func TestWriterKeepsWhatItCouldNotStore(t *testing.T) {
	ts := startServer(t, t.TempDir())
	l := open(t, ts.js)
	w := audit.NewWriter(t.Context(), l, audit.WriterOptions{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := w.Record(ctx, audit.Entry{Kind: audit.KindActorRevoke, Actor: "admin", Subject: "jobbland"}); err == nil {
		t.Fatal("Record with a cancelled context reported success")
	}
	w.Submit(audit.Entry{Kind: audit.KindGrantExpired, Actor: "hub", Subject: "ifau-2026"})
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	es := entriesOf(t, l)
	if len(es) != 2 || es[0].Subject != "jobbland" || es[1].Subject != "ifau-2026" {
		t.Fatalf("entries %+v, want the revoke then the expiry", es)
	}
}

// TestSubmitOnceStoresOneEntryForManyWriters: the nodes of a cluster each
// see a grant end and each submit its entry; the log holds it once, and the
// chain still verifies.
func TestSubmitOnceStoresOneEntryForManyWriters(t *testing.T) {
	t.Parallel()
	ts := startServer(t, t.TempDir())
	var writers []*audit.Writer
	var logs []*audit.Log
	for range 3 {
		_, js := connect(t, ts.s)
		l := open(t, js)
		logs = append(logs, l)
		writers = append(writers, audit.NewWriter(t.Context(), l, audit.WriterOptions{}))
	}
	for round := range 5 {
		for i, w := range writers {
			w.SubmitOnce(fmt.Sprint("grant-expired:p1:", round), audit.Entry{Kind: audit.KindGrantExpired, Actor: "hub", Subject: "p1",
				Detail: json.RawMessage(fmt.Sprintf(`{"round":%d,"node":%d}`, round, i))})
		}
		// An ordinary entry in between from one writer.
		writers[round%3].Submit(audit.Entry{Kind: audit.KindActorCreate, Actor: "admin", Subject: fmt.Sprint("a", round)})
	}
	for _, w := range writers {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
		cancel()
	}
	es := entriesOf(t, logs[0])
	expired := 0
	for _, e := range es {
		if e.Kind == audit.KindGrantExpired {
			expired++
		}
	}
	if expired != 5 || len(es) != 10 {
		t.Fatalf("%d grant-expired entries of %d, want 5 of 10", expired, len(es))
	}
	rep, err := logs[1].Verify(t.Context())
	if err != nil || !rep.OK {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}
