package servertls_test

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/hub/internal/servertls"
	"github.com/jobtech-dev/datahub/internal/testcerts"
)

// handshake runs one TLS handshake of a client presenting client (if set)
// against a listener serving cfg, and returns the server certificate's
// subject or the error either side saw.
func handshake(t *testing.T, cfg *tls.Config, ca *testcerts.CA, client *testcerts.Pair) (string, error) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	srvErr := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			srvErr <- err
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		err = c.(*tls.Conn).Handshake()
		if err == nil {
			_, err = c.Write([]byte{1}) // lets a TLS 1.3 client see a refusal
		}
		srvErr <- err
	}()
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	ccfg := &tls.Config{RootCAs: pool, ServerName: "localhost"}
	if client != nil {
		pair, err := tls.LoadX509KeyPair(client.Cert, client.Key)
		if err != nil {
			t.Fatal(err)
		}
		ccfg.Certificates = []tls.Certificate{pair}
	}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ln.Addr().String(), ccfg)
	if err != nil {
		<-srvErr
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != nil {
		<-srvErr
		return "", err
	}
	if err := <-srvErr; err != nil {
		return "", err
	}
	return c.ConnectionState().PeerCertificates[0].Subject.CommonName, nil
}

func TestReloadSwapsCertificateAndClientCA(t *testing.T) {
	t.Parallel()
	ca := testcerts.NewCA(t, "hub-ca")
	clientsA, clientsB := testcerts.NewCA(t, "clients-a"), testcerts.NewCA(t, "clients-b")
	dir := t.TempDir()
	files := servertls.Files{Cert: filepath.Join(dir, "tls.crt"), Key: filepath.Join(dir, "tls.key"), ClientCA: filepath.Join(dir, "clients.pem")}
	ca.Server(t, "first").CopyTo(t, files.Cert, files.Key)
	copyFile(t, clientsA.File, files.ClientCA)
	certs, err := servertls.Load(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !certs.Mutual() {
		t.Fatal("a client CA given, but not mutual")
	}
	cfg := certs.Config()
	if cfg.ClientAuth != tls.RequireAndVerifyClientCert {
		t.Fatalf("ClientAuth %v, want RequireAndVerifyClientCert", cfg.ClientAuth)
	}
	a, b := clientsA.Client(t, "a"), clientsB.Client(t, "b")
	if name, err := handshake(t, cfg, ca, &a); err != nil || name != "first" {
		t.Fatalf("client of CA a: %q %v", name, err)
	}
	if _, err := handshake(t, cfg, ca, &b); err == nil {
		t.Fatal("client of CA b accepted before the reload")
	}
	if _, err := handshake(t, cfg, ca, nil); err == nil {
		t.Fatal("client without a certificate accepted")
	}

	ca.Server(t, "second").CopyTo(t, files.Cert, files.Key)
	copyFile(t, clientsB.File, files.ClientCA)
	if err := certs.Reload(); err != nil {
		t.Fatal(err)
	}
	// The same config, unchanged, now serves the new material.
	if name, err := handshake(t, cfg, ca, &b); err != nil || name != "second" {
		t.Fatalf("after reload, client of CA b: %q %v", name, err)
	}
	if _, err := handshake(t, cfg, ca, &a); err == nil {
		t.Fatal("client of CA a accepted after the client CA was replaced")
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
