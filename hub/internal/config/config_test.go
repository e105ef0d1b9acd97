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
		{"anchor key in the data dir", "data: /var/lib/hub\naudit_anchor_key: /var/lib/hub/anchor.nk\n", "audit_anchor_key"},
		{"anchor file in the data dir", "data: /var/lib/hub\naudit_anchor_file: /var/lib/hub/x/anchors.ndjson\n", "audit_anchor_file"},
		{"anchor interval too short", "audit_anchor_interval: 10ms\n", "audit_anchor_interval"},
		{"audit max age too short", "audit_max_age: 5m\n", "audit_max_age"},
		{"no read timeout", "http_read_timeout: 0s\n", "http_read_timeout"},
		{"bad conn cap", "http_max_conns_per_ip: -2\n", "http_max_conns_per_ip"},
		{"tiny header limit", "http_max_header_bytes: 10\n", "http_max_header_bytes"},
		{"batch budget below a record", "batch_inflight_bytes: 1000\n", "batch_inflight_bytes"},
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

func TestLoadLimits(t *testing.T) {
	c, err := Load(write(t, "http_write_timeout: 5s\nhttp_max_conns_per_ip: -1\nmax_conns_per_actor: 10\nnats_max_conns: 2000\nbatch_concurrency: 2\njetstream_sync_interval: 30s\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPWriteTimeout.Seconds() != 5 || c.HTTPMaxConnsPerIP != -1 || c.MaxConnsPerActor != 10 || c.NATSMaxConns != 2000 ||
		c.BatchConcurrency != 2 || c.JetStreamSyncInterval.Seconds() != 30 || c.HTTPReadTimeout != Default().HTTPReadTimeout {
		t.Fatalf("loaded %+v", c)
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

func TestAuditAnchorsDefaultBesideTheDataDir(t *testing.T) {
	for data, want := range map[string]string{
		"data":                  "data-audit",
		"/var/lib/jobtech-hub/": "/var/lib/jobtech-hub-audit",
	} {
		c := Default()
		c.Data = data
		if c.AnchorKeyPath() != filepath.Join(want, "anchor.nk") || c.AnchorFilePath() != filepath.Join(want, "anchors.ndjson") {
			t.Errorf("data %q: key %s, file %s; want them in %s", data, c.AnchorKeyPath(), c.AnchorFilePath(), want)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("data %q: %v", data, err)
		}
	}
	c := Default()
	c.Data = "."
	if filepath.Base(c.AuditDir()) == ".-audit" || inside(c.AnchorKeyPath(), c.Data) {
		t.Fatalf("data . puts the anchors at %s", c.AuditDir())
	}
}
