package natsd_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/natsd"
	"github.com/jobtech-dev/datahub/hub/internal/servertls"
	"github.com/jobtech-dev/datahub/internal/testcerts"
)

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startCluster starts n servers that route to each other with secret.
func startCluster(t *testing.T, n int, secret string) []*natsd.Server {
	t.Helper()
	addrs := make([]string, n)
	for i := range addrs {
		addrs[i] = freeAddr(t)
	}
	servers := make([]*natsd.Server, n)
	errs := make(chan error, n)
	for i := range servers {
		go func(i int) {
			s, err := startNode(t, fmt.Sprintf("n%d", i+1), addrs[i], addrs, secret)
			servers[i] = s
			errs <- err
		}(i)
	}
	for range servers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	return servers
}

func startNode(t *testing.T, name, listen string, routes []string, secret string) (*natsd.Server, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := natsd.Start(ctx, natsd.Config{Name: name, Listen: "127.0.0.1:0", StoreDir: t.TempDir(), Logger: quiet(),
		Cluster: &natsd.ClusterConfig{Name: "hubc", Listen: listen, Routes: routes, Secret: secret}})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s, nil
}

// waitFor polls cond until it holds or 20 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestClusterFormsAndDecidesOnTheClientsNode(t *testing.T) {
	t.Parallel()
	ss := startCluster(t, 3, "s3cret-for-routes")
	waitFor(t, "a JetStream leader and three nodes", func() bool {
		return ss[0].Cluster().Quorum && ss[2].Cluster().Quorum && ss[0].Cluster().Size == 3 && len(ss[0].Cluster().Peers) == 2
	})
	st := ss[0].Cluster()
	if st.Name != "hubc" || st.Node != "n1" || len(st.Routed) != 2 {
		t.Fatalf("cluster state %+v", st)
	}
	// Each node's callout decides its own clients, with its own issuer:
	// an actor can connect to any node.
	a := user(t)
	for i, s := range ss {
		tbl := &table{grants: map[string]natsd.Grant{}}
		tbl.set(pub(a), natsd.Grant{Actor: "a", Publish: []string{"ingest.ds.a"}, Subscribe: []string{"_INBOX_a.>"}})
		s.SetAuthorizer(tbl)
		nc, err := nats.Connect(s.ClientURL(), nats.Nkey(pub(a), a.Sign), nats.NoReconnect())
		if err != nil {
			t.Fatalf("node %d refused a known actor: %v", i+1, err)
		}
		nc.Close()
	}
	// A record published on node 1 reaches node 1's validators only, even
	// though node 2 and 3 listen in the same queue group.
	got := make([]chan string, 3)
	for i, s := range ss {
		hub, err := s.Connect("validator")
		if err != nil {
			t.Fatal(err)
		}
		defer hub.Close()
		ch := make(chan string, 100)
		got[i] = ch
		if _, err := hub.QueueSubscribe(s.IngestSubject(), wire.IngestQueue, func(m *nats.Msg) { ch <- m.Subject }); err != nil {
			t.Fatal(err)
		}
		_ = hub.Flush()
	}
	nc, err := nats.Connect(ss[0].ClientURL(), nats.Nkey(pub(a), a.Sign))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	time.Sleep(200 * time.Millisecond) // the other nodes' queue interest reaches node 1
	for range 50 {
		if err := nc.Publish("ingest.ds.a", []byte("{}")); err != nil {
			t.Fatal(err)
		}
	}
	_ = nc.Flush()
	for range 50 {
		select {
		case subj := <-got[0]:
			if subj != "ingest.ds.a.n1" {
				t.Fatalf("node 1 got %q", subj)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("node 1's validator did not get every record")
		}
	}
	time.Sleep(100 * time.Millisecond)
	if len(got[1])+len(got[2]) != 0 {
		t.Fatalf("records published on node 1 went to other nodes: %d and %d", len(got[1]), len(got[2]))
	}
	// JetStream replicates across the three.
	hub, err := ss[2].Connect("js")
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	js, _ := jetstream.New(hub)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	str, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "R3", Subjects: []string{"r3.>"}, Replicas: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "r3.x", []byte("1")); err != nil {
		t.Fatal(err)
	}
	info, err := str.Info(ctx)
	if err != nil || info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
		t.Fatalf("stream info %+v %v", info, err)
	}
}

func TestNodeWithoutTheSecretCannotJoin(t *testing.T) {
	t.Parallel()
	ss := startCluster(t, 2, "the-right-secret")
	waitFor(t, "routes", func() bool { return len(ss[0].RoutedNodes()) == 1 })
	intruder, err := startNode(t, "intruder", freeAddr(t), []string{ss[0].NATS().ClusterAddr().String()}, "a-wrong-secret")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if n := intruder.RoutedNodes(); len(n) != 0 {
		t.Fatalf("a node with the wrong secret has routes to %v", n)
	}
	if n := ss[0].RoutedNodes(); len(n) != 1 || n[0] != "n2" {
		t.Fatalf("after a node with the wrong secret tried, node 1 routes to %v, want [n2]", n)
	}
	if _, err := natsd.Start(context.Background(), natsd.Config{Name: "nosecret", StoreDir: t.TempDir(), Logger: quiet(),
		Cluster: &natsd.ClusterConfig{Name: "hubc", Listen: "127.0.0.1:0"}}); err == nil || !strings.Contains(err.Error(), "secret") {
		t.Fatalf("a cluster without a secret started: %v", err)
	}
}

func quiet() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.DiscardHandler)
}

func TestRoutesOverMutualTLS(t *testing.T) {
	t.Parallel()
	ca, other := testcerts.NewCA(t, "cluster CA"), testcerts.NewCA(t, "another CA")
	peerTLS := func(ca *testcerts.CA, name string) *tls.Config {
		p := ca.Server(t, name, testcerts.Peer())
		pc, err := servertls.LoadPeer(p.Cert, p.Key, ca.File, quiet())
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := pc.Config()
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	a1, a2, a3 := freeAddr(t), freeAddr(t), freeAddr(t)
	start := func(name, listen string, routes []string, cfg *tls.Config) *natsd.Server {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		s, err := natsd.Start(ctx, natsd.Config{Name: name, Listen: "127.0.0.1:0", StoreDir: t.TempDir(), Logger: quiet(),
			Cluster: &natsd.ClusterConfig{Name: "hubc", Listen: listen, Routes: routes, Secret: "s", TLS: cfg}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
		return s
	}
	n1 := start("n1", a1, []string{a2}, peerTLS(ca, "n1"))
	n2 := start("n2", a2, []string{a1}, peerTLS(ca, "n2"))
	waitFor(t, "a TLS route", func() bool { return len(n1.RoutedNodes()) == 1 && len(n2.RoutedNodes()) == 1 })
	// A node whose certificate another CA signed has the secret, but no link.
	n3 := start("n3", a3, []string{a1}, peerTLS(other, "n3"))
	time.Sleep(1500 * time.Millisecond)
	if r := n3.RoutedNodes(); len(r) != 0 {
		t.Fatalf("a node with a certificate of another CA routes to %v", r)
	}
	if r := n1.RoutedNodes(); len(r) != 1 {
		t.Fatalf("node 1 routes to %v, want only n2", r)
	}
}
