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

func TestStartSaysWhenPolicyFolderOverridesAppliedSet(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	h := serve(t, data)
	common := func() []string { return []string{"--hub-url", h.httpURL, "--data", data} }
	// An admin applies another set with the CLI: without IFAU's research
	// grant, with a new grant for jobfinder.
	other := t.TempDir()
	for _, f := range []string{"publishers.json", "consumers.json", "schemas.json", "groups.yaml"} {
		if err := os.WriteFile(filepath.Join(other, f), hubtest.ReadFile(t, filepath.Join(hubtest.RepoRoot(), "policies", f)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	extra := `[{"id":"jobfinder-reads-taxonomy","description":"jobfinder maps its ads to the taxonomy","subjects":["actor:jobfinder"],"resources":["dataset:taxonomy-concepts"],"actions":["subscribe"],"effect":"allow"}]`
	if err := os.WriteFile(filepath.Join(other, "extra.json"), []byte(extra), 0o600); err != nil {
		t.Fatal(err)
	}
	apply := func() {
		t.Helper()
		if out, errOut, code := run(t, nil, append([]string{"policy", "apply", "-f", other}, common()...)...); code != 0 {
			t.Fatalf("policy apply: %d %s%s", code, out, errOut)
		}
	}
	apply()
	h.stop(t)

	// A start with the folder puts the folder's set back, and says so: a
	// WARN naming what it drops and adds and how the set it replaces came.
	h = serve(t, data)
	out, _, code := run(t, nil, append([]string{"audit", "tail", "-n", "0", "-o", "json"}, common()...)...)
	if code != 0 || !strings.Contains(out, `"policy.override"`) || !strings.Contains(out, `"dropped":["jobfinder-reads-taxonomy"]`) ||
		!strings.Contains(out, `"added":["ifau-subscribes-jobads-2026"]`) {
		t.Fatalf("the override is not audited with its difference:\n%s", out)
	}
	h.stop(t)
	var warn string
	for _, l := range strings.Split(h.stderr.String(), "\n") {
		if strings.Contains(l, "level=WARN") && strings.Contains(l, "policies folder replaces") {
			warn = l
		}
	}
	for _, want := range []string{"dropped=[jobfinder-reads-taxonomy]", "added=[ifau-subscribes-jobads-2026]", "applied_route=api", "applied_by=admin", "applied_source=" + other} {
		if !strings.Contains(warn, want) {
			t.Errorf("start WARN lacks %q:\n%s\nstderr:\n%s", want, warn, h.stderr)
		}
	}

	// Applied again, and a start with --policies '' keeps it, quietly.
	h = serve(t, data)
	apply()
	h.stop(t)
	h = serve(t, data, "--policies", "")
	if out, _, code := run(t, nil, append([]string{"policy", "check", "--actor", "jobfinder", "--action", "subscribe", "--dataset", "taxonomy-concepts"}, common()...)...); code != 0 {
		t.Fatalf("--policies '' dropped the applied set: %s", out)
	}
	if _, _, code := run(t, nil, append([]string{"policy", "check", "--actor", "ifau", "--action", "subscribe", "--dataset", "jobads"}, common()...)...); code != 1 {
		t.Fatal("--policies '' put the folder's set back")
	}
	h.stop(t)
	if strings.Contains(h.stderr.String(), "policies folder replaces") {
		t.Fatalf("a start keeping the applied set warned of an override:\n%s", h.stderr)
	}
}

func TestServeSubscriptionGraceFlagWinsOverFile(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "hub.yaml")
	if err := os.WriteFile(file, []byte("subscription_grace: 48h\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// No schemas folder: were the flag ignored, the start would still fail
	// (on the folder), never serve.
	_, errOut, code := run(t, nil, "serve", "-c", file, "--subscription-grace", "-1h", "--data", t.TempDir(), "--schemas", filepath.Join(t.TempDir(), "none"),
		"--nats-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0")
	if code == 0 || !strings.Contains(errOut, "subscription_grace") {
		t.Fatalf("negative --subscription-grace over a file: exit %d, %s", code, errOut)
	}
}
