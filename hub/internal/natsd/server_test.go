package natsd_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/jobtech-dev/datahub/hub/internal/natsd"
)

func start(t *testing.T) *natsd.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := natsd.Start(ctx, natsd.Config{Listen: "127.0.0.1:0", StoreDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s
}

func user(t *testing.T) nkeys.KeyPair {
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

func pub(kp nkeys.KeyPair) string { p, _ := kp.PublicKey(); return p }

// table is an authorizer with grants by public key that records refusals.
type table struct {
	mu      sync.Mutex
	grants  map[string]natsd.Grant
	conns   []natsd.Conn
	refused []string
}

func (a *table) Authorize(_ context.Context, c natsd.Conn) (natsd.Grant, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.conns = append(a.conns, c)
	g, ok := a.grants[c.PublicKey]
	if !ok {
		return natsd.Grant{}, errors.New("unknown actor")
	}
	return g, nil
}

func (a *table) Refused(_ natsd.Conn, reason string) {
	a.mu.Lock()
	a.refused = append(a.refused, reason)
	a.mu.Unlock()
}

func (a *table) set(key string, g natsd.Grant) {
	a.mu.Lock()
	a.grants[key] = g
	a.mu.Unlock()
}

func TestNoAnonymousAccess(t *testing.T) {
	t.Parallel()
	s := start(t)
	known, stranger := user(t), user(t)
	// Before the hub sets an authorizer, even known actors are refused.
	if nc, err := nats.Connect(s.ClientURL(), nats.Nkey(pub(known), known.Sign), nats.NoReconnect()); err == nil {
		nc.Close()
		t.Fatal("connected before the hub could authorize")
	}
	a := &table{grants: map[string]natsd.Grant{pub(known): {Actor: "known", Subscribe: []string{"_INBOX_known.>"}}}}
	s.SetAuthorizer(a)
	cases := map[string][]nats.Option{
		"no credentials":  nil,
		"user/password":   {nats.UserInfo("hub", "hub")},
		"token":           {nats.Token("secret")},
		"unknown nkey":    {nats.Nkey(pub(stranger), stranger.Sign)},
		"wrong signature": {nats.Nkey(pub(known), stranger.Sign)},
	}
	for name, opts := range cases {
		nc, err := nats.Connect(s.ClientURL(), append(opts, nats.NoReconnect())...)
		if err == nil {
			nc.Close()
			t.Errorf("%s: connected, want refused", name)
			continue
		}
		if !errors.Is(err, nats.ErrAuthorization) && !strings.Contains(strings.ToLower(err.Error()), "authorization") {
			t.Errorf("%s: error %v, want an authorization error", name, err)
		}
	}
	a.mu.Lock()
	refused := strings.Join(a.refused, "|")
	a.mu.Unlock()
	for _, want := range []string{"no nkey credentials", "bad nkey signature", "unknown actor"} {
		if !strings.Contains(refused, want) {
			t.Errorf("refusals %q lack %q", refused, want)
		}
	}
	nc, err := nats.Connect(s.ClientURL(), nats.Nkey(pub(known), known.Sign))
	if err != nil {
		t.Fatalf("known user refused: %v", err)
	}
	nc.Close()
	a.mu.Lock()
	last := a.conns[len(a.conns)-1]
	a.mu.Unlock()
	if last.RemoteIP != "127.0.0.1" || last.PublicKey != pub(known) || last.ID == 0 {
		t.Fatalf("authorizer saw %+v, want the client's IP, key and id", last)
	}
}

func TestKickAppliesNewRights(t *testing.T) {
	t.Parallel()
	s := start(t)
	a := user(t)
	tbl := &table{grants: map[string]natsd.Grant{}}
	tbl.set(pub(a), natsd.Grant{Actor: "a", Subscribe: []string{"x.>"}})
	s.SetAuthorizer(tbl)
	nc, err := nats.Connect(s.ClientURL(), nats.Nkey(pub(a), a.Sign), nats.ReconnectWait(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("x.data")
	if err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()
	hub, err := s.Connect("test-hub")
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	_ = hub.Publish("x.data", []byte("1"))
	if _, err := sub.NextMsg(2 * time.Second); err != nil {
		t.Fatalf("granted subscription got nothing: %v", err)
	}
	if got := s.Connected()["a"]; got != 1 {
		t.Fatalf("connected[a] = %d", got)
	}
	// Remove the right and cut the connection: the client reconnects with the
	// new rights and its subscription no longer delivers.
	tbl.set(pub(a), natsd.Grant{Actor: "a", Subscribe: []string{"y.>"}})
	if n := s.Kick("a"); n != 1 {
		t.Fatalf("kicked %d connections, want 1", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.Connected()["a"] != 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	_ = hub.Publish("x.data", []byte("2"))
	if m, err := sub.NextMsg(300 * time.Millisecond); err == nil {
		t.Fatalf("revoked subscription still delivered %q", m.Data)
	}
	// Internal subjects stay closed whatever a grant says.
	tbl.set(pub(a), natsd.Grant{Actor: "a", Subscribe: []string{">"}, Publish: []string{">"}})
	s.Kick("a")
	deadline = time.Now().Add(5 * time.Second)
	for s.Connected()["a"] != 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	perr := make(chan error, 4)
	nc2, err := nats.Connect(s.ClientURL(), nats.Nkey(pub(a), a.Sign), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { perr <- err }))
	if err != nil {
		t.Fatal(err)
	}
	defer nc2.Close()
	_, _ = nc2.SubscribeSync("$JS.API.>")
	_ = nc2.Flush()
	select {
	case err := <-perr:
		if !strings.Contains(err.Error(), "Permissions Violation") {
			t.Fatalf("error %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("subscribing to the JetStream API was not refused")
	}
}

func TestExpiredGrantClosesConnection(t *testing.T) {
	t.Parallel()
	s := start(t)
	a := user(t)
	tbl := &table{grants: map[string]natsd.Grant{}}
	tbl.set(pub(a), natsd.Grant{Actor: "a", Subscribe: []string{"x.>"}, Expires: time.Now().Add(1500 * time.Millisecond)})
	s.SetAuthorizer(tbl)
	closed := make(chan struct{})
	nc, err := nats.Connect(s.ClientURL(), nats.Nkey(pub(a), a.Sign), nats.NoReconnect(), nats.ClosedHandler(func(*nats.Conn) { close(closed) }))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("connection outlived its grant")
	}
}

// TestPermissionViolationsReachTheHook pins the one place the hub reads the
// server's log text: nats-server has no structured event for a permission
// violation (it tells the client and logs a line), so the hook that audits
// refusals parses that line. If a new server version words it differently,
// this test fails instead of the audit going quiet.
func TestPermissionViolationsReachTheHook(t *testing.T) {
	t.Parallel()
	type violation struct {
		actor string
		cid   uint64
		msg   string
	}
	got := make(chan violation, 8)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := natsd.Start(ctx, natsd.Config{Listen: "127.0.0.1:0", StoreDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		OnViolation: func(actor string, cid uint64, msg string) { got <- violation{actor, cid, msg} }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	a := user(t)
	tbl := &table{grants: map[string]natsd.Grant{}}
	tbl.set(pub(a), natsd.Grant{Actor: "jobbland", Publish: []string{"ingest.jobads.jobbland"}, Subscribe: []string{"_INBOX_jobbland.>"}})
	s.SetAuthorizer(tbl)
	nc, err := nats.Connect(s.ClientURL(), nats.Nkey(pub(a), a.Sign), nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.Publish("ingest.taxonomy-concepts.jobbland", []byte("{}")) // logged as `… - "$G/user:jobbland" - Publish Violation - Subject "…"`
	_, _ = nc.SubscribeSync("deliver.matchwise.jobads.x")
	_ = nc.Flush()
	want := map[string]bool{"Publish": false, "Subscription": false}
	for range 2 {
		select {
		case v := <-got:
			if v.actor != "jobbland" || v.cid == 0 {
				t.Fatalf("violation %+v: want the actor and its client id", v)
			}
			for kind := range want {
				if strings.Contains(v.msg, kind+" Violation - Subject") {
					want[kind] = true
				}
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("the hook heard %v of a publish and a subscribe the grant does not allow", want)
		}
	}
	if !want["Publish"] || !want["Subscription"] {
		t.Fatalf("violations seen %v: the server's wording may have changed", want)
	}
}
