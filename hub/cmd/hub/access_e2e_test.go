package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
)

var natsLine = `NATS:\s+((?:nats|tls)://\S+)`

func TestActorsPoliciesAuditCLI(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	h := serve(t, data)
	common := []string{"--hub-url", h.httpURL, "--data", data}
	creds := filepath.Join(t.TempDir(), "jobbland.nk")

	out, errOut, code := run(t, nil, append([]string{"actor", "create", "jobbland", "--out", creds}, common...)...)
	if code != 0 {
		t.Fatalf("actor create: %d %s%s", code, out, errOut)
	}
	fi, err := os.Stat(creds)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file %v %v, want mode 0600", fi, err)
	}
	// The file is what a standard NATS client takes.
	opt, err := nats.NkeyOptionFromSeed(creds)
	if err != nil {
		t.Fatalf("nats.NkeyOptionFromSeed: %v", err)
	}
	nc, err := nats.Connect(h.natsURL(t), opt, nats.CustomInboxPrefix(wire.InboxPrefix("jobbland")))
	if err != nil {
		t.Fatalf("connect with the credentials file: %v", err)
	}
	m, err := nc.Request(wire.IngestSubject("jobads", "jobbland"), hubtest.ReadFile(t, filepath.Join(hubtest.SchemasDir(), "jobads", "examples", "valid", "small-ad.json")), 2*time.Second)
	if err != nil || !strings.Contains(string(m.Data), `"stored"`) {
		t.Fatalf("job board publish with its credentials: %v", err)
	}
	nc.Close()
	if _, _, code := run(t, nil, append([]string{"actor", "create", "jobbland", "--out", filepath.Join(t.TempDir(), "x")}, common...)...); code == 0 {
		t.Fatal("second actor with the same name created")
	}
	out, _, _ = run(t, nil, append([]string{"actor", "list"}, common...)...)
	if !strings.Contains(out, "jobbland") {
		t.Fatalf("actor list: %s", out)
	}

	// check: allow exits 0, deny exits 1, both name the deciding policy.
	out, _, code = run(t, nil, append([]string{"policy", "check", "--actor", "jobbland", "--action", "publish", "--dataset", "jobads"}, common...)...)
	if code != 0 || !strings.HasPrefix(out, "allow") || !strings.Contains(out, "job-boards-publish-jobads") {
		t.Fatalf("check allow: %d %s", code, out)
	}
	out, _, code = run(t, nil, append([]string{"policy", "check", "--actor", "yrkeshogskolan", "--action", "subscribe", "--dataset", "jobads"}, common...)...)
	if code != 1 || !strings.HasPrefix(out, "deny") || !strings.Contains(out, "yrkeshogskolan-denied-jobads") {
		t.Fatalf("check deny: %d %s", code, out)
	}
	out, _, code = run(t, nil, append([]string{"policy", "explain", "ifau"}, common...)...)
	if code != 0 || !strings.Contains(out, "ifau-subscribes-jobads-2026") {
		t.Fatalf("explain: %d %s", code, out)
	}

	// A bad policy file: error names file and policy; nothing changes.
	bad := t.TempDir()
	for _, f := range []string{"publishers.json", "consumers.json", "groups.yaml"} {
		b := hubtest.ReadFile(t, filepath.Join(hubtest.RepoRoot(), "policies", f))
		if err := os.WriteFile(filepath.Join(bad, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(bad, "broken.json"), []byte(`[{"id":"oops","description":"x","subjects":["actor:jobbland"],"resources":["dataset:jobads"],"actions":["delete"],"effect":"allow"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = run(t, nil, append([]string{"policy", "apply", "-f", bad}, common...)...)
	if code == 0 || !strings.Contains(errOut, "broken.json") || !strings.Contains(errOut, "oops") {
		t.Fatalf("bad apply: %d %s", code, errOut)
	}
	out, _, code = run(t, nil, append([]string{"policy", "check", "--actor", "ifau", "--action", "subscribe", "--dataset", "jobads"}, common...)...)
	if code != 0 {
		t.Fatalf("a failed apply changed the policies: %s", out)
	}
	// A good apply without research.json removes ifau's grant.
	if err := os.Remove(filepath.Join(bad, "broken.json")); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = run(t, nil, append([]string{"policy", "apply", "-f", bad}, common...)...)
	if code != 0 || !strings.Contains(out, "applied") {
		t.Fatalf("apply: %d %s %s", code, out, errOut)
	}
	if _, _, code = run(t, nil, append([]string{"policy", "check", "--actor", "ifau", "--action", "subscribe", "--dataset", "jobads"}, common...)...); code != 1 {
		t.Fatal("ifau still allowed after apply")
	}

	out, _, code = run(t, nil, append([]string{"actor", "revoke", "jobbland"}, common...)...)
	if code != 0 {
		t.Fatalf("revoke: %s", out)
	}
	if nc, err := nats.Connect(h.natsURL(t), opt, nats.NoReconnect()); err == nil {
		nc.Close()
		t.Fatal("revoked credentials still connect")
	}
	time.Sleep(200 * time.Millisecond) // the audit writer is asynchronous
	out, _, code = run(t, nil, append([]string{"audit", "verify"}, common...)...)
	if code != 0 || !strings.Contains(out, "intact") {
		t.Fatalf("audit verify: %d %s", code, out)
	}
	out, _, code = run(t, nil, append([]string{"audit", "tail", "-n", "0"}, common...)...)
	for _, kind := range []string{"policy.apply", "actor.create", "actor.revoke"} {
		if !strings.Contains(out, kind) {
			t.Errorf("audit tail lacks %s:\n%s", kind, out)
		}
	}
	h.stop(t)
}
