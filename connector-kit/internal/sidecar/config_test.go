package sidecar

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	c := DefaultConfig()
	c.Hub.Credentials = "x.nk"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for url, ok := range map[string]bool{"nats://hub:4222": true, "tls://hub:4222": true, "http://127.0.0.1:8080": false, "hub:4222": false, "": true} {
		c.Hub.URL = url
		if err := c.Validate(); (err == nil) != ok || (err != nil && !strings.Contains(err.Error(), "hub.url")) {
			t.Errorf("hub.url %q: %v", url, err)
		}
	}
}

func TestDeploySampleLoads(t *testing.T) {
	c, err := LoadConfig("../../../deploy/connector.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Outputs) != 2 || c.Outputs[0].Type != "webhook" || c.Outputs[1].Start != "snapshot" {
		t.Fatalf("sample connector config read as %+v", c)
	}
}

// A tagged scalar where a list belongs panicked go-yaml, and with it the
// connector, at start: it is an error naming the file now.
func TestConfigThatCrashedTheDecoderIsRefused(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "connector.yaml")
	if err := os.WriteFile(path, []byte("hub:\n  url: nats://127.0.0.1:4222\ninputs: !x a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := ReadConfig(path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("ReadConfig: %v, want an error naming %s", err, path)
	}
}
