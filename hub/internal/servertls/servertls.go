// Package servertls holds the hub's TLS certificate, key and (for mutual
// TLS) client CA, and gives both listeners — the NATS client port and the
// HTTP API — one tls.Config that reads them at each handshake. Reload reads
// the files again (the hub calls it on SIGHUP), so a renewed certificate is
// served to the next connection while the ones already open keep theirs:
// nothing is cut, and a bad new file leaves the old certificate in force.
package servertls

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jobtech-dev/datahub/internal/pemfile"
)

// Files names the PEM files the hub serves TLS with.
type Files struct {
	// Cert is the server certificate (with its chain), Key its private key.
	Cert, Key string
	// ClientCA, if set, turns on mutual TLS: every client must present a
	// certificate signed by one of the CAs in this file.
	ClientCA string
}

// Certs is the hub's TLS material, swapped whole on Reload.
type Certs struct {
	files Files
	log   *slog.Logger
	cur   atomic.Pointer[tls.Config] // what a handshake gets
}

// Load reads the files and checks them: the key matches the certificate,
// the certificate is valid now, the client CA file holds certificates.
// Errors name the file. log may be nil.
func Load(files Files, log *slog.Logger) (*Certs, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Certs{files: files, log: log}
	cfg, err := c.read()
	if err != nil {
		return nil, err
	}
	c.cur.Store(cfg)
	return c, nil
}

// Reload reads the files again and puts them in force for new connections;
// on any error the certificate in force stays and the error says why.
func (c *Certs) Reload() error {
	cfg, err := c.read()
	if err != nil {
		c.log.Error("TLS reload failed; the current certificate stays in force", "err", err)
		return err
	}
	c.cur.Store(cfg)
	leaf := cfg.Certificates[0].Leaf
	c.log.Info("TLS certificate reloaded", "subject", leaf.Subject.String(), "serial", leaf.SerialNumber.Text(16), "not_after", leaf.NotAfter.UTC().Format(time.RFC3339))
	return nil
}

// Leaf is the certificate in force.
func (c *Certs) Leaf() *x509.Certificate { return c.cur.Load().Certificates[0].Leaf }

// Mutual reports whether clients must present a certificate.
func (c *Certs) Mutual() bool { return c.files.ClientCA != "" }

// Files are the files the certificates are read from.
func (c *Certs) Files() Files { return c.files }

// Config returns the tls.Config a listener serves with. Every handshake takes
// the material in force at that moment, so Reload needs no listener restart.
// nextProtos are the ALPN protocols of the listener (HTTP: h2, http/1.1).
func (c *Certs) Config(nextProtos ...string) *tls.Config {
	base := &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: nextProtos,
		// Read by whoever inspects the config (nats-server announces
		// tls_verify to clients from it); each handshake uses the one
		// returned below.
		ClientAuth: c.clientAuth(),
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			cfg := c.cur.Load()
			if len(nextProtos) == 0 {
				return cfg, nil
			}
			cfg = cfg.Clone()
			cfg.NextProtos = nextProtos
			return cfg, nil
		},
	}
	// Servers that check a certificate is present before they start find
	// one through GetCertificate.
	base.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		return &c.cur.Load().Certificates[0], nil
	}
	return base
}

func (c *Certs) clientAuth() tls.ClientAuthType {
	if c.files.ClientCA != "" {
		return tls.RequireAndVerifyClientCert
	}
	return tls.NoClientCert
}

// read loads and checks the files into a ready tls.Config.
func (c *Certs) read() (*tls.Config, error) {
	f := c.files
	if f.Cert == "" || f.Key == "" {
		return nil, errors.New("tls: both a certificate and a key file are needed")
	}
	pair, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, fmt.Errorf("tls certificate %s with key %s: %w", f.Cert, f.Key, err)
	}
	leaf := pair.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, fmt.Errorf("tls certificate %s: %w", f.Cert, err)
		}
		pair.Leaf = leaf
	}
	if now := time.Now(); now.After(leaf.NotAfter) || now.Before(leaf.NotBefore) {
		return nil, fmt.Errorf("tls certificate %s (%s): %w: valid from %s to %s", f.Cert, leaf.Subject, ErrExpired,
			leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if left := time.Until(leaf.NotAfter); left < 14*24*time.Hour {
		c.log.Warn("TLS certificate expires soon: renew it and send the hub SIGHUP", "file", f.Cert, "not_after", leaf.NotAfter.UTC().Format(time.RFC3339), "left", left.Round(time.Minute).String())
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}, ClientAuth: c.clientAuth()}
	if f.ClientCA != "" {
		if cfg.ClientCAs, err = pemfile.CertPool(f.ClientCA); err != nil {
			return nil, fmt.Errorf("tls client CA: %w", err)
		}
	}
	return cfg, nil
}
