package sidecar_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/kittest"
)

// While the hub is down the connector says so once, not four times a second.
func TestHubDownIsLoggedOnce(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "connector.yaml")
	cfg := fmt.Sprintf("hub:\n  url: %s\n  credentials: %s\nlisten: 127.0.0.1:%d\noutbox: %s\nstate: %s\nlog_level: info\n",
		h.NATSURL(), h.Actor("jobbland"), kittest.FreePort(t), filepath.Join(dir, "outbox"), filepath.Join(dir, "state"))
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	c := runConnector(t, cfgPath)
	h.Kill()
	waitHealth(t, c.url, 10*time.Second, "hub-unreachable", func(h health) bool { return h.Status == "hub-unreachable" })
	time.Sleep(3 * time.Second) // the hub stays away; the kit keeps trying
	h.Restart()
	waitHealth(t, c.url, 15*time.Second, "ok", func(h health) bool { return h.Status == "ok" })
	c.kill()
	var warns, back int
	for _, l := range strings.Split(c.log.String(), "\n") {
		switch {
		case strings.Contains(l, "level=WARN") && strings.Contains(l, "hub"):
			warns++
		case strings.Contains(l, "hub connection back"):
			back++
		}
	}
	if warns != 1 || back != 1 {
		t.Fatalf("%d warnings and %d 'back' lines for one outage of ~3 s, want 1 and 1:\n%s", warns, back, c.log.String())
	}
}
