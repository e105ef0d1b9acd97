package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "hub.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatal(err)
	}
	if g := Default().SubscriptionGrace; g != 7*24*time.Hour {
		t.Fatalf("default subscription grace %s, want 7 days", g)
	}
}

func TestLoad(t *testing.T) {
	c, err := Load(write(t, "name: north\ndata: /var/lib/hub\nnats_listen: 0.0.0.0:4222\nmax_record_bytes: 2097152\ndead_letter_max_age: 720h\nsubscription_grace: 48h\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "north" || c.Data != "/var/lib/hub" || c.NATSListen != "0.0.0.0:4222" || c.MaxRecordBytes != 2<<20 ||
		c.DeadLetterMaxAge.Hours() != 720 || c.HTTPListen != Default().HTTPListen || c.SubscriptionGrace.Hours() != 48 {
		t.Fatalf("loaded %+v", c)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct{ name, content, want string }{
		{"unknown key", "name: a\ncolour: red\n", "colour"},
		{"bad name", "name: North Hub\n", "name"},
		{"bad listen", "http_listen: 8080\n", "http_listen"},
		{"too large limit", "max_record_bytes: 1000000000\n", "max_record_bytes"},
		{"bad log level", "log_level: loud\n", "log_level"},
		{"bad log format", "log_format: xml\n", "log_format"},
		{"negative grace", "subscription_grace: -1h\n", "subscription_grace"},
		{"not yaml", "name: [\n", "hub.yaml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(write(t, tc.content))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want mention of %q", err, tc.want)
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Fatal("missing file: no error")
	}
}

func TestDeploySampleLoads(t *testing.T) {
	c, err := Load(filepath.Join("..", "..", "..", "deploy", "hub.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// Production keeps the applied policy state: files are applied explicitly.
	if c.Name != "hub-stockholm" || c.NATSListen != "0.0.0.0:4222" || c.Policies != "" || c.SubscriptionGrace.Hours() != 168 || c.LogFormat != "json" {
		t.Fatalf("sample config read as %+v", c)
	}
}
