package sidecar

import (
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
