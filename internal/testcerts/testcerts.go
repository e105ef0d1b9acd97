// Package testcerts makes X.509 certificates at test time, so the TLS tests
// of the hub, the kit and the connector need no files checked in (which would
// expire) and no openssl: a CA, server certificates for the loopback
// addresses, client certificates for mutual TLS, an expired one, and as many
// unrelated CAs as a test wants to prove that a wrong one is refused.
package testcerts

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CA is a certificate authority made for one test. File is its certificate
// as a PEM file: what a client is given to trust the servers it signed, or a
// server to trust its clients.
type CA struct {
	Name string
	File string
	Cert *x509.Certificate
	key  *ecdsa.PrivateKey
	dir  string
}

// Pair is a certificate and its private key as PEM files.
type Pair struct {
	Cert, Key string
	Leaf      *x509.Certificate
}

// Option changes a certificate before it is signed.
type Option func(*x509.Certificate)

// Expired makes a certificate whose validity ended an hour ago.
func Expired() Option {
	return func(c *x509.Certificate) {
		c.NotBefore = time.Now().Add(-48 * time.Hour)
		c.NotAfter = time.Now().Add(-time.Hour)
	}
}

// Hosts replaces the names and addresses a server certificate is valid for.
func Hosts(hosts ...string) Option {
	return func(c *x509.Certificate) {
		c.DNSNames, c.IPAddresses = nil, nil
		for _, h := range hosts {
			if ip := net.ParseIP(h); ip != nil {
				c.IPAddresses = append(c.IPAddresses, ip)
			} else {
				c.DNSNames = append(c.DNSNames, h)
			}
		}
	}
}

// Peer makes a certificate valid for both server and client authentication,
// as a cluster node's: it accepts links from the other nodes and dials them.
func Peer() Option {
	return func(c *x509.Certificate) {
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	}
}

// NewCA makes a CA whose files live in a temp dir of t.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"JobTech Data Hub tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("testcerts: create CA %s: %v", name, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ca := &CA{Name: name, Cert: cert, key: key, dir: t.TempDir()}
	ca.File = filepath.Join(ca.dir, name+"-ca.pem")
	writePEM(t, ca.File, "CERTIFICATE", der)
	return ca
}

// Server signs a server certificate for 127.0.0.1, ::1 and localhost, valid
// for a day, written as name.pem and name-key.pem.
func (ca *CA) Server(t testing.TB, name string, opts ...Option) Pair {
	t.Helper()
	tmpl := ca.leaf(t, name)
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	Hosts("127.0.0.1", "::1", "localhost")(tmpl)
	return ca.sign(t, name, tmpl, opts)
}

// Client signs a client certificate for mutual TLS.
func (ca *CA) Client(t testing.TB, name string, opts ...Option) Pair {
	t.Helper()
	tmpl := ca.leaf(t, name)
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	return ca.sign(t, name, tmpl, opts)
}

func (ca *CA) leaf(t testing.TB, name string) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
}

func (ca *CA) sign(t testing.TB, name string, tmpl *x509.Certificate, opts []Option) Pair {
	t.Helper()
	for _, o := range opts {
		o(tmpl)
	}
	key := newKey(t)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatalf("testcerts: sign %s: %v", name, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	p := Pair{Cert: filepath.Join(ca.dir, name+".pem"), Key: filepath.Join(ca.dir, name+"-key.pem"), Leaf: leaf}
	writePEM(t, p.Cert, "CERTIFICATE", der)
	writePEM(t, p.Key, "PRIVATE KEY", kb)
	return p
}

// CopyTo copies the pair's files over cert and key (as an operator replaces
// certificate files before a reload), keeping the key file private.
func (p Pair) CopyTo(t testing.TB, cert, key string) {
	t.Helper()
	for src, dst := range map[string]string{p.Cert: cert, p.Key: key} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		// Write beside and rename, so a reader never sees half a file.
		tmp := dst + ".tmp"
		if err := os.WriteFile(tmp, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, dst); err != nil {
			t.Fatal(err)
		}
	}
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
