package kit_test

import (
	"bytes"
	"crypto/tls"
	"errors"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/jobtech-dev/datahub/connector-kit/creds"
	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/connector-kit/kittest"
	"github.com/jobtech-dev/datahub/internal/pemfile"
	"github.com/jobtech-dev/datahub/internal/testcerts"
)

// tlsHub runs the hub binary serving a certificate of ca from files the test
// may replace; clients is the CA of client certificates, if any.
func tlsHub(t *testing.T, ca, clients *testcerts.CA) *kittest.Hub {
	t.Helper()
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	ca.Server(t, "hub").CopyTo(t, cert, key)
	o := kittest.TLS{Cert: cert, Key: key, CA: ca.File}
	if clients != nil {
		admin := clients.Client(t, "admin")
		o.ClientCA, o.ClientCert, o.ClientKey = clients.File, admin.Cert, admin.Key
	}
	return kittest.StartWith(t, kittest.Options{TLS: o})
}

func TestDialVerifiesTheHubsCertificate(t *testing.T) {
	t.Parallel()
	ca := testcerts.NewCA(t, "hub-ca")
	h := tlsHub(t, ca, nil)
	creds := h.Actor("arbetsformedlingen")

	c, err := kit.Dial(ctxT(t), h.NATSURL(), creds, kit.WithCA(ca.File))
	if err != nil {
		t.Fatalf("dial with the hub's CA: %v", err)
	}
	defer c.Close()
	if _, err := c.Publish(ctxT(t), "jobads", realAds(t)[0]); err != nil {
		t.Fatalf("publish over TLS: %v", err)
	}

	other := testcerts.NewCA(t, "other-ca")
	for name, tc := range map[string]struct {
		url  string
		opts []kit.Option
		want string
	}{
		"another CA":            {h.NATSURL(), []kit.Option{kit.WithCA(other.File)}, "give that CA's certificate with --ca"},
		"system CAs":            {h.NATSURL(), nil, "signed by a CA this client does not trust"},
		"plain URL, TLS hub":    {strings.Replace(h.NATSURL(), "tls://", "nats://", 1), nil, "does not trust"},
		"plain URL with the CA": {strings.Replace(h.NATSURL(), "tls://", "nats://", 1), []kit.Option{kit.WithCA(ca.File)}, ""},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := kit.Dial(ctxT(t), tc.url, creds, tc.opts...)
			if tc.want == "" {
				// A nats:// URL with the CA still gets TLS, verified.
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				c.Close()
				return
			}
			if err == nil {
				c.Close()
				t.Fatal("connected")
			}
			if !errors.Is(err, kit.ErrTLS) || kit.IsRetryable(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrTLS (not retryable) saying %q", err, tc.want)
			}
		})
	}
	// A whole tls.Config: the CAs in memory, the name to verify pinned.
	pool, err := pemfile.CertPool(ca.File)
	if err != nil {
		t.Fatal(err)
	}
	pinned, err := kit.Dial(ctxT(t), h.NATSURL(), creds, kit.WithTLSConfig(&tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12}))
	if err != nil {
		t.Fatalf("dial with a TLS config: %v", err)
	}
	pinned.Close()
	if _, err := kit.Dial(ctxT(t), h.NATSURL(), creds, kit.WithTLSConfig(&tls.Config{RootCAs: pool, ServerName: "hub.example.org"})); !errors.Is(err, kit.ErrTLS) {
		t.Fatalf("a name the certificate does not list: %v, want ErrTLS", err)
	}
	if _, err := kit.Dial(ctxT(t), h.NATSURL(), creds, kit.WithCA(creds)); !errors.Is(err, kit.ErrInvalidOption) {
		t.Fatalf("a CA file without a certificate: %v, want ErrInvalidOption", err)
	}
}

func TestDialRefusesAnExpiredHubCertificate(t *testing.T) {
	t.Parallel()
	// The hub itself refuses to serve an expired certificate, so a bare NATS
	// server plays the hub whose operator forgot to renew.
	ca := testcerts.NewCA(t, "hub-ca")
	expired := ca.Server(t, "hub", testcerts.Expired())
	pair, err := tls.LoadX509KeyPair(expired.Cert, expired.Key)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true, AlwaysEnableNonce: true,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, TLSTimeout: 2})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	creds := writeCreds(t, "arbetsformedlingen", "")
	_, err = kit.Dial(ctxT(t), ns.ClientURL(), creds, kit.WithCA(ca.File))
	if !errors.Is(err, kit.ErrTLS) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired hub certificate: %v, want ErrTLS saying it expired", err)
	}
}

func TestMutualTLSNeedsAClientCertificate(t *testing.T) {
	t.Parallel()
	ca, clients := testcerts.NewCA(t, "hub-ca"), testcerts.NewCA(t, "clients-ca")
	h := tlsHub(t, ca, clients)
	creds := h.Actor("arbetsformedlingen")

	if c, err := kit.Dial(ctxT(t), h.NATSURL(), creds, kit.WithCA(ca.File)); err == nil {
		c.Close()
		t.Fatal("connected without a client certificate")
	} else if !errors.Is(err, kit.ErrTLS) || !strings.Contains(err.Error(), "client certificates") {
		t.Fatalf("no client certificate: %v, want ErrTLS saying the hub may require client certificates", err)
	} else {
		t.Logf("without a client certificate: %v", err)
	}
	mine := clients.Client(t, "arbetsformedlingen")
	c, err := kit.Dial(ctxT(t), h.NATSURL(), creds, kit.WithCA(ca.File), kit.WithClientCert(mine.Cert, mine.Key))
	if err != nil {
		t.Fatalf("dial with a client certificate: %v", err)
	}
	defer c.Close()
	if _, err := c.Publish(ctxT(t), "jobads", realAds(t)[0]); err != nil {
		t.Fatalf("publish over mutual TLS: %v", err)
	}
}

func TestSIGHUPReloadsTheHubsCertificate(t *testing.T) {
	t.Parallel()
	ca := testcerts.NewCA(t, "hub-ca")
	h := tlsHub(t, ca, nil)
	creds := h.Actor("arbetsformedlingen")
	old, err := kit.Dial(ctxT(t), h.NATSURL(), creds, kit.WithCA(ca.File))
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	serial := func(c *kit.Client) *big.Int {
		st, err := c.Conn().TLSConnectionState()
		if err != nil {
			t.Fatal(err)
		}
		return st.PeerCertificates[0].SerialNumber
	}
	first := serial(old)

	renewed := ca.Server(t, "hub-renewed")
	renewed.CopyTo(t, h.TLS.Cert, h.TLS.Key)
	h.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := kit.Dial(ctxT(t), h.NATSURL(), creds, kit.WithCA(ca.File))
		if err != nil {
			t.Fatal(err)
		}
		got := serial(c)
		c.Close()
		if got.Cmp(renewed.Leaf.SerialNumber) == 0 {
			break
		}
		if got.Cmp(first) != 0 || time.Now().After(deadline) {
			t.Fatalf("after SIGHUP new connections get serial %x, want the renewed %x\n%s", got, renewed.Leaf.SerialNumber, h.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The connection opened before the reload was never cut.
	if _, err := old.Publish(ctxT(t), "jobads", realAds(t)[1]); err != nil {
		t.Fatalf("publish on the connection opened before SIGHUP: %v", err)
	}
	if n := old.Conn().Stats().Reconnects; n != 0 || serial(old).Cmp(first) != 0 {
		t.Fatalf("the open connection reconnected %d times", n)
	}
}

func TestDialUsesTheHubInTheCredentialsFile(t *testing.T) {
	t.Parallel()
	ca := testcerts.NewCA(t, "hub-ca")
	h := tlsHub(t, ca, nil)
	creds := h.Actor("arbetsformedlingen") // hub actor create --nats-url tls://127.0.0.1:PORT
	b, err := os.ReadFile(creds)
	if err != nil || !strings.Contains(string(b), "# hub: "+h.NATSURL()) {
		t.Fatalf("credentials file lacks the hub's address %s:\n%s", h.NATSURL(), b)
	}
	c, err := kit.Dial(ctxT(t), "", creds, kit.WithCA(ca.File))
	if err != nil {
		t.Fatalf("dial without a URL: %v", err)
	}
	defer c.Close()
	if c.URL() != h.NATSURL() {
		t.Fatalf("dialled %s, want the credentials file's %s", c.URL(), h.NATSURL())
	}
	if _, err := c.Publish(ctxT(t), "jobads", realAds(t)[0]); err != nil {
		t.Fatal(err)
	}
	if got, err := kit.ResolveURL("nats://elsewhere:4222", creds); err != nil || got != "nats://elsewhere:4222" {
		t.Fatalf("an explicit URL lost to the file: %q %v", got, err)
	}
	if got, err := kit.ResolveURL("", writeCreds(t, "x", "")); err != nil || got != kit.DefaultURL {
		t.Fatalf("no URL anywhere: %q %v, want %s", got, err, kit.DefaultURL)
	}
	if _, err := kit.ResolveURL("", writeCreds(t, "x", "http://127.0.0.1:8080")); err == nil || !strings.Contains(err.Error(), "# hub:") {
		t.Fatalf("an HTTP address in the file: %v, want an error naming the '# hub:' line", err)
	}
}

func TestDialJudgesCredentialsFilePermissions(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	creds := h.Actor("arbetsformedlingen")
	dial := func(mode os.FileMode) (string, error) {
		t.Helper()
		if err := os.Chmod(creds, mode); err != nil {
			t.Fatal(err)
		}
		var logged bytes.Buffer
		c, err := kit.Dial(ctxT(t), "", creds, kit.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
		if err == nil {
			c.Close()
		}
		return logged.String(), err
	}
	if _, err := dial(0o644); err == nil || !strings.Contains(err.Error(), "chmod 600 "+creds) {
		t.Fatalf("mode 0644: %v, want a refusal saying chmod 600 %s", err, creds)
	}
	if logged, err := dial(0o640); err != nil || !strings.Contains(logged, "readable by its group") {
		t.Fatalf("mode 0640: %v, log %q; want connected with a warning", err, logged)
	}
	if logged, err := dial(0o600); err != nil || logged != "" {
		t.Fatalf("mode 0600: %v, log %q; want connected in silence", err, logged)
	}
}

// writeCreds writes a credentials file for actor naming hub (if not "").
func writeCreds(t *testing.T, actor, hub string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), actor+".nk")
	cr, _, err := creds.New(actor, hub)
	if err != nil {
		t.Fatal(err)
	}
	if err := cr.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}
