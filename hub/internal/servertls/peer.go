package servertls

import (
	"crypto/tls"
	"fmt"
	"log/slog"

	"github.com/jobtech-dev/datahub/internal/pemfile"
)

// Peer is the TLS of the links between the nodes of a cluster: every node
// both accepts links and dials them, so each presents its certificate and
// checks the other's against the cluster's CA, in both directions.
type Peer struct {
	*Certs
	ca string
}

// LoadPeer reads a node's certificate and key and the CA that signed every
// node's certificate. The certificate must be valid for both server and
// client authentication (extendedKeyUsage serverAuth, clientAuth) and name
// the host the other nodes dial. Errors name the file.
func LoadPeer(cert, key, ca string, log *slog.Logger) (*Peer, error) {
	if ca == "" {
		return nil, fmt.Errorf("tls: the cluster's CA file is needed to check the other nodes")
	}
	c, err := Load(Files{Cert: cert, Key: key, ClientCA: ca}, log)
	if err != nil {
		return nil, err
	}
	return &Peer{Certs: c, ca: ca}, nil
}

// Config is the tls.Config of the cluster's links: it serves and presents
// the certificate in force (Reload renews it for new links) and trusts only
// the cluster's CA.
func (p *Peer) Config() (*tls.Config, error) {
	roots, err := pemfile.CertPool(p.ca)
	if err != nil {
		return nil, fmt.Errorf("tls cluster CA: %w", err)
	}
	cfg := p.Certs.Config()
	cfg.RootCAs = roots
	cfg.ClientCAs = roots
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		return &p.cur.Load().Certificates[0], nil
	}
	return cfg, nil
}
