package audit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/jobtech-dev/datahub/hub/internal/audit"
)

// testServer is an embedded NATS server with JetStream storing in dir.
type testServer struct {
	s  *server.Server
	nc *nats.Conn
	js jetstream.JetStream
}

// startServer starts a server on dir and connects to it; t.Cleanup stops it.
func startServer(t testing.TB, dir string) *testServer {
	t.Helper()
	s, err := server.NewServer(&server.Options{Port: -1, Host: "127.0.0.1", JetStream: true, StoreDir: dir, NoSigs: true})
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	ts := &testServer{s: s}
	ts.nc, ts.js = connect(t, s)
	t.Cleanup(ts.stop)
	return ts
}

// connect opens another client connection to s.
func connect(t testing.TB, s *server.Server) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	return nc, js
}

func (ts *testServer) stop() {
	ts.nc.Close()
	ts.s.Shutdown()
	ts.s.WaitForShutdown()
}

func open(t testing.TB, js jetstream.JetStream, opts ...audit.Option) *audit.Log {
	t.Helper()
	l, err := audit.Open(t.Context(), js, opts...)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return l
}

// appendN appends n entries and returns them as stored.
func appendN(t testing.TB, l *audit.Log, n int) []audit.Entry {
	t.Helper()
	var out []audit.Entry
	for i := range n {
		e, err := l.Append(t.Context(), audit.Entry{
			Kind:    audit.KindPolicyApply,
			Actor:   audit.ActorAdmin,
			Subject: fmt.Sprintf("policy-%d", i),
			Detail:  json.RawMessage(fmt.Sprintf(`{ "n": %d, "files": ["a.json"] }`, i)),
		})
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		out = append(out, e)
	}
	return out
}

func verify(t testing.TB, l *audit.Log, opts ...audit.VerifyOption) audit.Report {
	t.Helper()
	r, err := l.Verify(t.Context(), opts...)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return r
}

// wantOK fails unless r is a clean report of n entries.
func wantOK(t testing.TB, r audit.Report, n int) {
	t.Helper()
	if !r.OK || len(r.Problems) > 0 || r.Entries != n {
		t.Fatalf("report = %+v, want OK with %d entries", r, n)
	}
}

func TestAppendVerify(t *testing.T) {
	ts := startServer(t, t.TempDir())
	l := open(t, ts.js)
	wantOK(t, verify(t, l), 0)

	got := appendN(t, l, 5)
	prev := ""
	for i, e := range got {
		if e.Seq != uint64(i+1) {
			t.Errorf("entry %d: seq %d", i, e.Seq)
		}
		if e.Prev != prev {
			t.Errorf("entry %d: prev %q, want %q", i, e.Prev, prev)
		}
		if h, _ := audit.ComputeHash(e); h != e.Hash || len(h) != 64 {
			t.Errorf("entry %d: hash %q, computed %q", i, e.Hash, h)
		}
		if e.Time.Location() != time.UTC || time.Since(e.Time) > time.Minute {
			t.Errorf("entry %d: time %v", i, e.Time)
		}
		prev = e.Hash
	}
	r := verify(t, l)
	wantOK(t, r, 5)
	if r.LastSeq != 5 || r.Head != got[4].Hash {
		t.Errorf("report last %d head %q, want 5 %q", r.LastSeq, r.Head, got[4].Hash)
	}

	// The JetStream API cannot remove entries.
	s, err := ts.js.Stream(t.Context(), audit.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	if !s.CachedInfo().Config.DenyDelete || !s.CachedInfo().Config.DenyPurge {
		t.Errorf("stream config %+v lacks deny flags", s.CachedInfo().Config)
	}
	if err := s.DeleteMsg(t.Context(), 2); err == nil {
		t.Error("DeleteMsg succeeded on the audit stream")
	}
	if err := s.Purge(t.Context()); err == nil {
		t.Error("Purge succeeded on the audit stream")
	}
	wantOK(t, verify(t, l), 5)
}

func TestAppendInvalid(t *testing.T) {
	ts := startServer(t, t.TempDir())
	l := open(t, ts.js)
	tests := []struct {
		name string
		e    audit.Entry
	}{
		{"no kind", audit.Entry{Actor: "admin"}},
		{"detail not JSON", audit.Entry{Kind: audit.KindActorCreate, Detail: json.RawMessage(`{"a":`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := l.Append(t.Context(), tt.e); !errors.Is(err, audit.ErrInvalidEntry) {
				t.Fatalf("err = %v, want ErrInvalidEntry", err)
			}
		})
	}
	// Nothing landed, and the log still works.
	wantOK(t, verify(t, l), 0)
	appendN(t, l, 1)
	wantOK(t, verify(t, l), 1)
}

func TestOpenInvalidOption(t *testing.T) {
	ts := startServer(t, t.TempDir())
	tests := []struct {
		name string
		opt  audit.Option
	}{
		{"nil anchor key", audit.WithAnchorKey(nil)},
		{"anchor key without seed", audit.WithAnchorKey(publicOnly(t))},
		{"zero replicas", audit.WithReplicas(0)},
		{"zero attempts", audit.WithAttempts(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := audit.Open(t.Context(), ts.js, tt.opt); !errors.Is(err, audit.ErrInvalidOption) {
				t.Fatalf("err = %v, want ErrInvalidOption", err)
			}
		})
	}
}

// publicOnly is a key that can verify but not sign.
func publicOnly(t testing.TB) nkeys.KeyPair {
	kp, _ := nkeys.CreateServer()
	pub, _ := kp.PublicKey()
	p, err := nkeys.FromPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCanonical(t *testing.T) {
	at := time.Date(2026, 1, 2, 15, 4, 5, 120000000, time.FixedZone("CET", 3600))
	tests := []struct {
		name string
		e    audit.Entry
		want string
	}{
		{
			name: "no detail",
			e:    audit.Entry{Seq: 9, Time: at, Kind: "actor.create", Actor: "admin", Subject: "jobboard-a", Hash: "ignored"},
			want: `{"time":"2026-01-02T14:04:05.12Z","kind":"actor.create","actor":"admin","subject":"jobboard-a","detail":null,"prev":""}`,
		},
		{
			name: "detail compacted, key order kept",
			e:    audit.Entry{Time: at, Kind: "policy.apply", Actor: "admin", Subject: "p1", Detail: json.RawMessage("{ \"z\": 1,\n \"a\": [1, 2] }"), Prev: "ab"},
			want: `{"time":"2026-01-02T14:04:05.12Z","kind":"policy.apply","actor":"admin","subject":"p1","detail":{"z":1,"a":[1,2]},"prev":"ab"}`,
		},
		{
			name: "string detail and HTML escaping",
			e:    audit.Entry{Time: at, Kind: "access.denied", Actor: "<x>", Subject: "a&b", Detail: json.RawMessage(`"<no>"`)},
			want: `{"time":"2026-01-02T14:04:05.12Z","kind":"access.denied","actor":"\u003cx\u003e","subject":"a\u0026b","detail":"\u003cno\u003e","prev":""}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := audit.Canonical(tt.e)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("canonical\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestChainContinuesAcrossOpen(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir)
	first := appendN(t, open(t, ts.js), 3)
	ts.stop()

	ts = startServer(t, dir)
	l := open(t, ts.js)
	next := appendN(t, l, 2)
	if next[0].Seq != 4 || next[0].Prev != first[2].Hash {
		t.Fatalf("after reopen: seq %d prev %q, want 4 %q", next[0].Seq, next[0].Prev, first[2].Hash)
	}
	wantOK(t, verify(t, l), 5)
}

func TestConcurrentAppends(t *testing.T) {
	ts := startServer(t, t.TempDir())
	l := open(t, ts.js)
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				_, err := l.Append(t.Context(), audit.Entry{Kind: audit.KindAccessDenied, Actor: fmt.Sprintf("actor-%d", w), Subject: fmt.Sprint(i)})
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	wantOK(t, verify(t, l), workers*each)
}

func TestTwoWriters(t *testing.T) {
	ts := startServer(t, t.TempDir())
	_, js2 := connect(t, ts.s)
	l1, l2 := open(t, ts.js), open(t, js2)

	// l2 has not seen l1's entry: its publish is refused, it re-reads and
	// chains after it.
	a := appendN(t, l1, 1)[0]
	b := appendN(t, l2, 1)[0]
	if b.Seq != 2 || b.Prev != a.Hash {
		t.Fatalf("second writer: seq %d prev %q, want 2 %q", b.Seq, b.Prev, a.Hash)
	}

	// Both writers at once, from several goroutines each.
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for w := range 8 {
		l := []*audit.Log{l1, l2}[w%2]
		wg.Go(func() {
			for i := range 25 {
				if _, err := l.Append(t.Context(), audit.Entry{Kind: audit.KindDatasetApply, Actor: "admin", Subject: fmt.Sprintf("w%d-%d", w, i)}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	wantOK(t, verify(t, l1), 202)
	wantOK(t, verify(t, l2), 202)
}

// stored reads every message of the audit stream as an entry, by sequence.
func stored(t *testing.T, js jetstream.JetStream) []audit.Entry {
	t.Helper()
	s, err := js.Stream(t.Context(), audit.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.Entry
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(t.Context(), seq)
		if err != nil {
			t.Fatal(err)
		}
		var e audit.Entry
		if err := json.Unmarshal(m.Data, &e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// rewrite replaces the stream by a fresh one holding entries: JetStream
// cannot edit a message, so this is how someone with access to the storage
// would change the log.
func rewrite(t *testing.T, js jetstream.JetStream, entries []audit.Entry) {
	t.Helper()
	if err := js.DeleteStream(t.Context(), audit.StreamName); err != nil {
		t.Fatal(err)
	}
	open(t, js, audit.Tamperable())
	for _, e := range entries {
		e.Seq = 0
		data, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.Publish(t.Context(), audit.Subject, data); err != nil {
			t.Fatal(err)
		}
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	rehash := func(e audit.Entry) audit.Entry {
		e.Hash, _ = audit.ComputeHash(e)
		return e
	}
	tests := []struct {
		name   string
		tamper func(t *testing.T, js jetstream.JetStream, es []audit.Entry)
		want   []uint64 // sequences the problems name
	}{
		{
			name: "entry changed",
			tamper: func(t *testing.T, js jetstream.JetStream, es []audit.Entry) {
				es[2].Subject = "someone-else"
				rewrite(t, js, es)
			},
			want: []uint64{3},
		},
		{
			name: "entry changed with its hash recomputed",
			tamper: func(t *testing.T, js jetstream.JetStream, es []audit.Entry) {
				es[2].Detail = json.RawMessage(`{"n":2,"files":["b.json"]}`)
				es[2] = rehash(es[2])
				rewrite(t, js, es)
			},
			want: []uint64{4},
		},
		{
			name: "detail made invalid",
			tamper: func(t *testing.T, js jetstream.JetStream, es []audit.Entry) {
				es[1].Detail = json.RawMessage(`"x"`)
				rewrite(t, js, es)
			},
			want: []uint64{2},
		},
		{
			name: "entry deleted",
			tamper: func(t *testing.T, js jetstream.JetStream, _ []audit.Entry) {
				deleteMsg(t, js, 3)
			},
			want: []uint64{3},
		},
		{
			name: "first entry deleted",
			tamper: func(t *testing.T, js jetstream.JetStream, _ []audit.Entry) {
				deleteMsg(t, js, 1)
			},
			want: []uint64{1},
		},
		{
			name: "last entry deleted",
			tamper: func(t *testing.T, js jetstream.JetStream, _ []audit.Entry) {
				deleteMsg(t, js, 6)
			},
			want: []uint64{6},
		},
		{
			name: "entry removed and the rest renumbered",
			tamper: func(t *testing.T, js jetstream.JetStream, es []audit.Entry) {
				rewrite(t, js, slices.Delete(es, 2, 3))
			},
			want: []uint64{3},
		},
		{
			name: "two entries swapped",
			tamper: func(t *testing.T, js jetstream.JetStream, es []audit.Entry) {
				es[2], es[3] = es[3], es[2]
				rewrite(t, js, es)
			},
			want: []uint64{3, 4, 5},
		},
		{
			name: "entry forged in between",
			tamper: func(t *testing.T, js jetstream.JetStream, es []audit.Entry) {
				f := rehash(audit.Entry{Time: es[1].Time, Kind: audit.KindActorCreate, Actor: "admin", Subject: "intruder", Prev: es[1].Hash})
				rewrite(t, js, slices.Insert(es, 2, f))
			},
			want: []uint64{4},
		},
		{
			name: "entry replayed",
			tamper: func(t *testing.T, js jetstream.JetStream, es []audit.Entry) {
				rewrite(t, js, append(es, es[1]))
			},
			want: []uint64{7},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, t.TempDir())
			l := open(t, ts.js, audit.Tamperable())
			appendN(t, l, 6)
			wantOK(t, verify(t, l), 6)

			tt.tamper(t, ts.js, stored(t, ts.js))
			r := verify(t, l)
			var got []uint64
			for _, p := range r.Problems {
				got = append(got, p.Seq)
			}
			if r.OK || !slices.Equal(got, tt.want) {
				t.Fatalf("problems at %v, want %v; report %+v", got, tt.want, r)
			}
			for _, p := range r.Problems {
				t.Logf("seq %d: %s", p.Seq, p.Message)
			}
		})
	}
}

func deleteMsg(t *testing.T, js jetstream.JetStream, seq uint64) {
	t.Helper()
	s, err := js.Stream(t.Context(), audit.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMsg(t.Context(), seq); err != nil {
		t.Fatal(err)
	}
}

func TestAppendAfterTailDeleted(t *testing.T) {
	ts := startServer(t, t.TempDir())
	l := open(t, ts.js, audit.Tamperable())
	es := appendN(t, l, 3)
	deleteMsg(t, ts.js, 3)

	// A fresh Log continues from the last entry left; Verify still reports
	// the removed one.
	e := appendN(t, open(t, ts.js, audit.Tamperable()), 1)[0]
	if e.Seq != 4 || e.Prev != es[1].Hash {
		t.Fatalf("append after removed tail: seq %d prev %q, want 4 %q", e.Seq, e.Prev, es[1].Hash)
	}
	r := verify(t, l)
	if r.OK || len(r.Problems) != 1 || r.Problems[0].Seq != 3 {
		t.Fatalf("report %+v, want one problem at 3", r)
	}
}

func TestTail(t *testing.T) {
	ts := startServer(t, t.TempDir())
	l := open(t, ts.js)
	if err := l.Tail(t.Context(), 5, false, func(audit.Entry) error { return errors.New("called on empty log") }); err != nil {
		t.Fatal(err)
	}
	es := appendN(t, l, 10)

	tests := []struct {
		name string
		n    int
		want []uint64
	}{
		{"last 3", 3, []uint64{8, 9, 10}},
		{"more than stored", 50, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{"all", 0, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []uint64
			err := l.Tail(t.Context(), tt.n, false, func(e audit.Entry) error {
				if w := es[e.Seq-1]; e.Hash != w.Hash || e.Subject != w.Subject || !e.Time.Equal(w.Time) {
					t.Errorf("entry %d differs from appended", e.Seq)
				}
				got = append(got, e.Seq)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}

	t.Run("fn error stops", func(t *testing.T) {
		stop := errors.New("stop")
		n := 0
		err := l.Tail(t.Context(), 0, false, func(audit.Entry) error { n++; return stop })
		if !errors.Is(err, stop) || n != 1 {
			t.Fatalf("err %v after %d calls, want stop after 1", err, n)
		}
	})

	t.Run("follow", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		got := make(chan audit.Entry, 16)
		done := make(chan error, 1)
		go func() {
			done <- l.Tail(ctx, 2, true, func(e audit.Entry) error { got <- e; return nil })
		}()
		recv := func() uint64 {
			select {
			case e := <-got:
				return e.Seq
			case <-time.After(5 * time.Second):
				t.Fatal("no entry within 5s")
				return 0
			}
		}
		if a, b := recv(), recv(); a != 9 || b != 10 {
			t.Fatalf("stored part: %d %d, want 9 10", a, b)
		}
		appendN(t, l, 3)
		for want := uint64(11); want <= 13; want++ {
			if got := recv(); got != want {
				t.Fatalf("live entry %d, want %d", got, want)
			}
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("follow ended with %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("follow did not end after cancel")
		}
	})
}

// TestVerify10k checks a long chain and logs how long Verify takes.
func TestVerify10k(t *testing.T) {
	if testing.Short() {
		t.Skip("long chain")
	}
	ts := startServer(t, t.TempDir())
	l := open(t, ts.js)
	start := time.Now()
	appendN(t, l, 10_000)
	appendTook := time.Since(start)
	start = time.Now()
	r := verify(t, l)
	took := time.Since(start)
	wantOK(t, r, 10_000)
	t.Logf("10,000 entries: appended in %v (%v each), verified in %v", appendTook, appendTook/10_000, took)
}
