package natsd_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
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

func TestNoAnonymousAccess(t *testing.T) {
	t.Parallel()
	s := start(t)
	known, stranger := user(t), user(t)
	if err := s.SetUsers([]natsd.User{{Name: "known", PublicKey: pub(known)}}); err != nil {
		t.Fatal(err)
	}
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
	nc, err := nats.Connect(s.ClientURL(), nats.Nkey(pub(known), known.Sign))
	if err != nil {
		t.Fatalf("known user refused: %v", err)
	}
	nc.Close()
}

func TestSetUsersCutsLiveRights(t *testing.T) {
	t.Parallel()
	s := start(t)
	a := user(t)
	perms := func(allow ...string) *server.Permissions {
		return &server.Permissions{Subscribe: &server.SubjectPermission{Allow: allow}, Publish: &server.SubjectPermission{Allow: []string{"x.>"}}}
	}
	if err := s.SetUsers([]natsd.User{{Name: "a", PublicKey: pub(a), Permissions: perms("x.>")}}); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 10)
	nc, err := nats.Connect(s.ClientURL(), nats.Nkey(pub(a), a.Sign), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { errs <- err }))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("x.data")
	if err != nil {
		t.Fatal(err)
	}
	hub, err := s.Connect("test-hub")
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	_ = nc.Flush()
	_ = hub.Publish("x.data", []byte("1"))
	if _, err := sub.NextMsg(2 * time.Second); err != nil {
		t.Fatalf("granted subscription got nothing: %v", err)
	}
	// Remove the right: the live subscription stops at once, the connection stays.
	if err := s.SetUsers([]natsd.User{{Name: "a", PublicKey: pub(a), Permissions: perms("y.>")}}); err != nil {
		t.Fatal(err)
	}
	_ = hub.Publish("x.data", []byte("2"))
	if m, err := sub.NextMsg(300 * time.Millisecond); err == nil {
		t.Fatalf("revoked subscription still delivered %q", m.Data)
	}
	if !nc.IsConnected() {
		t.Fatal("connection closed by a rights change; want it kept")
	}
	// Remove the user: its connection closes.
	if err := s.SetUsers(nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for nc.IsConnected() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if nc.IsConnected() {
		t.Fatal("removed user still connected")
	}
}
