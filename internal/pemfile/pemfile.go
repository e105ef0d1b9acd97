// Package pemfile reads a PEM file of CA certificates into the pool TLS
// verifies against — the hub's client CA, the CA a kit, connector or CLI
// trusts for the hub — with one error that names the file.
package pemfile

import (
	"crypto/x509"
	"fmt"
	"os"
)

// CertPool reads the CA certificates in the PEM file at path. A file with no
// certificate in it (a key, a DER file, an empty file) is an error.
func CertPool(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("CA file %s: no PEM certificate in it", path)
	}
	return pool, nil
}
