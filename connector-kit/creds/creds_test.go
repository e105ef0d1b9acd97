package creds_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/jobtech-dev/datahub/connector-kit/creds"
	"github.com/jobtech-dev/datahub/internal/secretfile"
)

func TestFileCarriesTheHubAndStaysReadableByNATSTools(t *testing.T) {
	t.Parallel()
	c, pub, err := creds.New("jobbland", "tls://hub.example.org:4222")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "jobbland.nk")
	if err := c.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	got, kp, err := creds.Read(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Actor != "jobbland" || got.Hub != "tls://hub.example.org:4222" {
		t.Fatalf("read back %+v", got)
	}
	if p, _ := kp.PublicKey(); p != pub {
		t.Fatalf("public key %s, want %s", p, pub)
	}
	// nats.go (and the nats CLI, which uses it) reads the seed despite the
	// comment lines.
	if _, err := nats.NkeyOptionFromSeed(path); err != nil {
		t.Fatalf("nats.NkeyOptionFromSeed: %v", err)
	}
	if err := c.WriteFile(path); err == nil {
		t.Fatal("overwrote an existing credentials file")
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := creds.Read(path, nil); !errors.Is(err, secretfile.ErrReadableByOthers) || !strings.Contains(err.Error(), "chmod 600 "+path) {
		t.Fatalf("world-readable credentials: %v", err)
	}
}

func TestCheckHubURL(t *testing.T) {
	t.Parallel()
	for u, ok := range map[string]bool{
		"nats://127.0.0.1:4222": true, "tls://hub.example.org:4222": true,
		"https://hub.example.org:8080": false, "hub.example.org:4222": false, "": false,
		// the nodes of a clustered hub
		"nats://10.0.0.1:4222,nats://10.0.0.2:4222, nats://10.0.0.3:4222": true,
		"tls://a:4222,https://b:8080":                                     false,
		" , ":                                                             false,
	} {
		if err := creds.CheckHubURL(u); (err == nil) != ok {
			t.Errorf("CheckHubURL(%q) = %v", u, err)
		}
	}
}

func TestCredentialsNameEveryNodeOfAClusteredHub(t *testing.T) {
	t.Parallel()
	nodes := "nats://hub-0.hub:4222,nats://hub-1.hub:4222,nats://hub-2.hub:4222"
	c, _, err := creds.New("jobbland", nodes)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "jobbland.nk")
	if err := c.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	got, _, err := creds.Read(path, nil)
	if err != nil || got.Hub != nodes {
		t.Fatalf("read back %+v, %v", got, err)
	}
	if urls := creds.HubURLs(got.Hub); len(urls) != 3 || urls[2] != "nats://hub-2.hub:4222" {
		t.Fatalf("HubURLs = %q", urls)
	}
}
