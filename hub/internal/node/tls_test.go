package node_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/config"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
	"github.com/jobtech-dev/datahub/hub/internal/natsd"
	"github.com/jobtech-dev/datahub/hub/internal/node"
	"github.com/jobtech-dev/datahub/hub/internal/servertls"
	"github.com/jobtech-dev/datahub/internal/testcerts"
)

// tlsHub is a hub serving TLS from certificate files a test can replace.
type tlsHub struct {
	n         *node.Node
	ca        *testcerts.CA
	cert, key string
	actor     hubtest.Actor
	ad        []byte
}

// startTLSHub starts a hub whose listeners serve a certificate of ca, with
// clientCA (if not "") required of clients, and one actor allowed to
// publish job ads.
func startTLSHub(t *testing.T, clientCA string) *tlsHub {
	t.Helper()
	h := &tlsHub{ca: testcerts.NewCA(t, "hub-ca")}
	dir := t.TempDir()
	h.cert, h.key = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	h.ca.Server(t, "hub").CopyTo(t, h.cert, h.key)
	cfg := hubtest.Config(t.TempDir())
	cfg.TLSCert, cfg.TLSKey, cfg.TLSClientCA = h.cert, h.key, clientCA
	h.n = hubtest.Start(t, cfg)
	h.actor = hubtest.NewActor(t, "jobbland")
	hubtest.Allow(t, h.n, map[hubtest.Actor]natsd.Grant{h.actor: hubtest.IngestOnly("jobbland", "jobads")})
	h.ad = hubtest.ReadFile(t, filepath.Join(hubtest.SchemasDir(), "jobads", "examples", "valid", "small-ad.json"))
	return h
}

// connect dials the hub's NATS port as the actor, without reconnecting.
func (h *tlsHub) connect(url string, opts ...nats.Option) (*nats.Conn, error) {
	return nats.Connect(url, append([]nats.Option{
		nats.Nkey(h.actor.PublicKey(), h.actor.Key.Sign),
		nats.CustomInboxPrefix(wire.InboxPrefix(h.actor.Name)),
		nats.NoReconnect(),
		nats.Timeout(5 * time.Second),
	}, opts...)...)
}

// publish sends the small ad through the ingest path and wants it stored.
func (h *tlsHub) publish(t *testing.T, nc *nats.Conn) {
	t.Helper()
	m, err := nc.Request(wire.IngestSubject("jobads", h.actor.Name), h.ad, 5*time.Second)
	if err != nil || !strings.Contains(string(m.Data), `"stored"`) {
		t.Fatalf("publish over TLS: %v %v", m, err)
	}
}

// httpsClient trusts caFile and presents client, if given.
func httpsClient(t *testing.T, caFile string, client *testcerts.Pair) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(hubtest.ReadFile(t, caFile)) {
		t.Fatal("bad CA file")
	}
	cfg := &tls.Config{RootCAs: pool}
	if client != nil {
		pair, err := tls.LoadX509KeyPair(client.Cert, client.Key)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	tr := &http.Transport{TLSClientConfig: cfg}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

func peerSerial(t *testing.T, nc *nats.Conn) *big.Int {
	t.Helper()
	st, err := nc.TLSConnectionState()
	if err != nil {
		t.Fatal(err)
	}
	return st.PeerCertificates[0].SerialNumber
}

func TestTLSOnBothListeners(t *testing.T) {
	t.Parallel()
	h := startTLSHub(t, "")
	if !strings.HasPrefix(h.n.NATSURL(), "tls://") || !strings.HasPrefix(h.n.HTTPURL(), "https://") {
		t.Fatalf("URLs %s %s, want tls:// and https://", h.n.NATSURL(), h.n.HTTPURL())
	}
	nc, err := h.connect(h.n.NATSURL(), nats.RootCAs(h.ca.File))
	if err != nil {
		t.Fatalf("connect with the hub's CA: %v", err)
	}
	defer nc.Close()
	h.publish(t, nc)

	// Plain NATS is refused: the port announces TLS as required and
	// answers a plain CONNECT with an error, never a PONG.
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(h.n.NATSURL(), "tls://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	rd := bufio.NewReader(conn)
	info, _ := rd.ReadString('\n')
	if !strings.Contains(info, `"tls_required":true`) {
		t.Fatalf("INFO %q does not require TLS", info)
	}
	if _, err := conn.Write([]byte("CONNECT {\"verbose\":false}\r\nPING\r\n")); err != nil {
		t.Fatal(err)
	}
	if reply, _ := rd.ReadString('\n'); strings.HasPrefix(reply, "PONG") {
		t.Fatalf("a plain client got %q", reply)
	}
	// A certificate from another CA is not trusted, the host name is checked.
	other := testcerts.NewCA(t, "other-ca")
	if nc, err := h.connect(h.n.NATSURL(), nats.RootCAs(other.File)); err == nil {
		nc.Close()
		t.Fatal("connected trusting another CA")
	} else if !errors.Is(err, nats.ErrTLS) {
		t.Fatalf("wrong CA: %v, want a TLS error", err)
	}
	byName := strings.Replace(h.n.NATSURL(), "127.0.0.1", "127.0.0.2", 1)
	if nc, err := h.connect(byName, nats.RootCAs(h.ca.File)); err == nil {
		nc.Close()
		t.Fatal("connected to an address the certificate does not name")
	}

	resp, err := httpsClient(t, h.ca.File, nil).Get(h.n.HTTPURL() + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("https healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	if _, err := httpsClient(t, other.File, nil).Get(h.n.HTTPURL() + "/healthz"); err == nil {
		t.Fatal("https trusted with another CA")
	}
	if resp, err := http.Get(strings.Replace(h.n.HTTPURL(), "https://", "http://", 1) + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP served")
		}
	}
}

func TestTLSReloadKeepsOpenConnections(t *testing.T) {
	t.Parallel()
	h := startTLSHub(t, "")
	first := h.n.TLS().Leaf().SerialNumber
	old, err := h.connect(h.n.NATSURL(), nats.RootCAs(h.ca.File))
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	h.publish(t, old)
	web := httpsClient(t, h.ca.File, nil)
	var reused bool
	get := func() *big.Int {
		t.Helper()
		reused = false
		req, _ := http.NewRequest(http.MethodGet, h.n.HTTPURL()+"/healthz", nil)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}))
		resp, err := web.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("https healthz: %v %v", resp, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body) // read to the end, so the connection is kept
		resp.Body.Close()
		return resp.TLS.PeerCertificates[0].SerialNumber
	}
	if got := get(); got.Cmp(first) != 0 {
		t.Fatalf("served serial %x, want %x", got, first)
	}

	renewed := h.ca.Server(t, "hub-renewed")
	renewed.CopyTo(t, h.cert, h.key)
	if err := h.n.ReloadTLS(); err != nil {
		t.Fatal(err)
	}
	if got := h.n.TLS().Leaf().SerialNumber; got.Cmp(renewed.Leaf.SerialNumber) != 0 {
		t.Fatalf("in force after reload: %x, want %x", got, renewed.Leaf.SerialNumber)
	}
	// The open NATS connection was not cut: same connection, old
	// certificate, and it still publishes.
	h.publish(t, old)
	if old.Stats().Reconnects != 0 || !old.IsConnected() || peerSerial(t, old).Cmp(first) != 0 {
		t.Fatalf("open connection disturbed: reconnects %d, connected %v", old.Stats().Reconnects, old.IsConnected())
	}
	// The open HTTPS connection is reused with its certificate.
	if got := get(); !reused || got.Cmp(first) != 0 {
		t.Fatalf("kept-alive https connection: reused %v, serial %x, want reused with %x", reused, got, first)
	}
	// New connections get the new certificate.
	fresh, err := h.connect(h.n.NATSURL(), nats.RootCAs(h.ca.File))
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if got := peerSerial(t, fresh); got.Cmp(renewed.Leaf.SerialNumber) != 0 {
		t.Fatalf("new NATS connection got serial %x, want the renewed %x", got, renewed.Leaf.SerialNumber)
	}
	h.publish(t, fresh)
	web.Transport.(*http.Transport).CloseIdleConnections()
	if got := get(); reused || got.Cmp(renewed.Leaf.SerialNumber) != 0 {
		t.Fatalf("new https connection got serial %x, want the renewed %x", got, renewed.Leaf.SerialNumber)
	}

	// A bad or expired replacement is refused and the renewed one stays.
	h.ca.Server(t, "hub-expired", testcerts.Expired()).CopyTo(t, h.cert, h.key)
	if err := h.n.ReloadTLS(); !errors.Is(err, servertls.ErrExpired) {
		t.Fatalf("reload of an expired certificate: %v, want ErrExpired", err)
	}
	if err := os.WriteFile(h.cert, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := h.n.ReloadTLS(); err == nil || !strings.Contains(err.Error(), h.cert) {
		t.Fatalf("reload of a broken file: %v, want an error naming %s", err, h.cert)
	}
	if got := h.n.TLS().Leaf().SerialNumber; got.Cmp(renewed.Leaf.SerialNumber) != 0 {
		t.Fatal("a failed reload replaced the certificate in force")
	}
	again, err := h.connect(h.n.NATSURL(), nats.RootCAs(h.ca.File))
	if err != nil {
		t.Fatalf("connect after failed reloads: %v", err)
	}
	again.Close()
}

func TestMutualTLS(t *testing.T) {
	t.Parallel()
	clients := testcerts.NewCA(t, "clients-ca")
	h := startTLSHub(t, clients.File)
	good := clients.Client(t, "jobbland")
	stranger := testcerts.NewCA(t, "stranger-ca").Client(t, "jobbland")

	if nc, err := h.connect(h.n.NATSURL(), nats.RootCAs(h.ca.File)); err == nil {
		nc.Close()
		t.Fatal("connected without a client certificate")
	}
	if nc, err := h.connect(h.n.NATSURL(), nats.RootCAs(h.ca.File), nats.ClientCert(stranger.Cert, stranger.Key)); err == nil {
		nc.Close()
		t.Fatal("connected with a client certificate of another CA")
	}
	nc, err := h.connect(h.n.NATSURL(), nats.RootCAs(h.ca.File), nats.ClientCert(good.Cert, good.Key))
	if err != nil {
		t.Fatalf("connect with a client certificate: %v", err)
	}
	defer nc.Close()
	h.publish(t, nc)
	// The certificate adds to the nkey; an unknown key is still refused.
	unknown := hubtest.NewActor(t, "jobbland")
	if nc, err := nats.Connect(h.n.NATSURL(), nats.Nkey(unknown.PublicKey(), unknown.Key.Sign), nats.NoReconnect(),
		nats.RootCAs(h.ca.File), nats.ClientCert(good.Cert, good.Key)); err == nil {
		nc.Close()
		t.Fatal("a client certificate let an unknown nkey in")
	} else if !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("unknown nkey with a good certificate: %v, want an authorization error", err)
	}

	if _, err := httpsClient(t, h.ca.File, nil).Get(h.n.HTTPURL() + "/healthz"); err == nil {
		t.Fatal("https without a client certificate served")
	}
	resp, err := httpsClient(t, h.ca.File, &good).Get(h.n.HTTPURL() + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("https with a client certificate: %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestStartRefusesBadTLSFiles(t *testing.T) {
	t.Parallel()
	ca := testcerts.NewCA(t, "hub-ca")
	good, expired := ca.Server(t, "hub"), ca.Server(t, "old", testcerts.Expired())
	for name, tc := range map[string]struct {
		mutate func(*config.Config)
		want   string
	}{
		"expired":           {func(c *config.Config) { c.TLSCert, c.TLSKey = expired.Cert, expired.Key }, "not valid now"},
		"key of another":    {func(c *config.Config) { c.TLSCert, c.TLSKey = good.Cert, expired.Key }, good.Cert},
		"missing cert":      {func(c *config.Config) { c.TLSCert, c.TLSKey = good.Cert+".none", good.Key }, good.Cert + ".none"},
		"client CA not PEM": {func(c *config.Config) { c.TLSCert, c.TLSKey, c.TLSClientCA = good.Cert, good.Key, good.Key }, "no PEM certificate"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := hubtest.Config(t.TempDir())
			tc.mutate(&cfg)
			n, err := node.Start(t.Context(), cfg, hubtest.Logger(t))
			if err == nil {
				hubtest.Stop(t, n)
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want mention of %q", err, tc.want)
			}
		})
	}
}
