package config

import (
	"strings"
	"testing"
)

func TestTLSSettings(t *testing.T) {
	c, err := Load(write(t, "tls_cert: /etc/hub/tls.crt\ntls_key: /etc/hub/tls.key\ntls_client_ca: /etc/hub/clients.pem\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.TLSCert != "/etc/hub/tls.crt" || c.TLSKey != "/etc/hub/tls.key" || c.TLSClientCA != "/etc/hub/clients.pem" {
		t.Fatalf("loaded %+v", c)
	}
	for content, want := range map[string]string{
		"tls_cert: /etc/hub/tls.crt\n":     "give both or neither",
		"tls_key: /etc/hub/tls.key\n":      "give both or neither",
		"tls_client_ca: /etc/hub/ca.pem\n": "tls_client_ca: mutual TLS needs",
	} {
		if _, err := Load(write(t, content)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", content, err, want)
		}
	}
}
