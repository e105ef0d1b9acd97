package kittest_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jobtech-dev/datahub/connector-kit/kittest"
)

// TestFromAnActorsOwnModule uses kittest the way an actor does: from a
// module of its own that requires this one (here with a replace directive
// to this work tree), with a test that starts a real hub, publishes through
// the kit and reads the record back.
func TestFromAnActorsOwnModule(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds a module and the hub binary")
	}
	t.Parallel()
	dir := t.TempDir()
	gomod := "module example.org/jobboard\n\ngo 1.26\n\nrequire github.com/jobtech-dev/datahub v0.0.0\n\n" +
		"replace github.com/jobtech-dev/datahub => " + kittest.RepoRoot() + "\n"
	test := `package jobboard

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/connector-kit/kittest"
)

func TestMain(m *testing.M) { kittest.Main(m) }

func TestPublishThenRead(t *testing.T) {
	h := kittest.Start(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := kit.Dial(ctx, h.NATSURL(), h.Actor("jobbland"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ad, err := os.ReadFile(filepath.Join(kittest.RepoRoot(), "schemas", "jobads", "examples", "valid", "small-ad.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Publish(ctx, "jobads", ad, kit.WithRecordID("jb-1-v1")); err != nil {
		t.Fatal(err)
	}
	recs := h.Records("jobads")
	if len(recs) != 1 || recs[0].RecordID != "jb-1-v1" {
		t.Fatalf("stored %+v, want the one ad", recs)
	}
}
`
	for name, content := range map[string]string{"go.mod": gomod, "jobboard_test.go": test} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s in the actor's module: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("mod", "tidy")
	if out := run("test", "-count=1", "./..."); !strings.Contains(out, "ok") {
		t.Fatalf("the actor's test did not pass:\n%s", out)
	}
}
