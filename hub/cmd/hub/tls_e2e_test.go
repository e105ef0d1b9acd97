package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/internal/testcerts"
)

func TestServeTLSAndAdminCommandsWithCA(t *testing.T) {
	t.Parallel()
	ca, clients := testcerts.NewCA(t, "hub-ca"), testcerts.NewCA(t, "clients-ca")
	srv, admin := ca.Server(t, "hub"), clients.Client(t, "admin")
	data := t.TempDir()
	h := serve(t, data, "--tls-cert", srv.Cert, "--tls-key", srv.Key, "--tls-client-ca", clients.File)
	if !strings.HasPrefix(h.httpURL, "https://127.0.0.1:") || !strings.HasPrefix(h.natsURL(t), "tls://127.0.0.1:") {
		t.Fatalf("printed URLs %s and %s, want https:// and tls://", h.httpURL, h.natsURL(t))
	}
	common := []string{"--hub-url", h.httpURL, "--data", data}
	withCerts := append([]string{"--ca", ca.File, "--client-cert", admin.Cert, "--client-key", admin.Key}, common...)

	out, errOut, code := run(t, nil, append([]string{"datasets"}, withCerts...)...)
	if code != 0 || !strings.Contains(out, "jobads") {
		t.Fatalf("datasets over mutual TLS: %d %s%s", code, out, errOut)
	}
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"no CA":                 {append([]string{"datasets", "--client-cert", admin.Cert, "--client-key", admin.Key}, common...), "give that CA's certificate with --ca"},
		"no client certificate": {append([]string{"datasets", "--ca", ca.File}, common...), "client certificates"},
		"CA for plain http":     {[]string{"datasets", "--ca", ca.File, "--hub-url", "http://127.0.0.1:1", "--data", data}, "for an https:// hub URL"},
	} {
		if _, errOut, code := run(t, nil, tc.args...); code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want a failure saying %q", name, code, errOut, tc.want)
		}
	}

	// actor create writes the hub's TLS address into the credentials file.
	creds := filepath.Join(t.TempDir(), "jobbland.nk")
	out, errOut, code = run(t, nil, append([]string{"actor", "create", "jobbland", "--out", creds, "--nats-url", h.natsURL(t)}, withCerts...)...)
	if code != 0 || !strings.Contains(out, h.natsURL(t)) {
		t.Fatalf("actor create: %d %s%s", code, out, errOut)
	}
	if b, err := os.ReadFile(creds); err != nil || !strings.Contains(string(b), "# hub: "+h.natsURL(t)+"\n") {
		t.Fatalf("credentials file lacks '# hub: %s':\n%s", h.natsURL(t), b)
	}
	if _, errOut, code := run(t, nil, append([]string{"actor", "create", "x", "--out", filepath.Join(t.TempDir(), "x.nk"), "--nats-url", h.httpURL}, withCerts...)...); code == 0 || !strings.Contains(errOut, "--nats-url") {
		t.Fatalf("actor create with the HTTP address as --nats-url: exit %d %s", code, errOut)
	}

	// SIGHUP reloads; the hub keeps serving.
	if err := h.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "TLS certificate reloaded", func() bool { return strings.Contains(h.stderr.String(), "TLS certificate reloaded") })
	if out, errOut, code := run(t, nil, append([]string{"datasets"}, withCerts...)...); code != 0 {
		t.Fatalf("datasets after SIGHUP: %d %s%s", code, out, errOut)
	}
	h.stop(t)
}

func TestSIGHUPDoesNotStopAPlainHub(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	h := serve(t, data)
	if err := h.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the SIGHUP log line", func() bool { return strings.Contains(h.stderr.String(), "nothing to reload") })
	if out, errOut, code := run(t, nil, "datasets", "--hub-url", h.httpURL, "--data", data); code != 0 {
		t.Fatalf("datasets after SIGHUP: %d %s%s", code, out, errOut)
	}
	h.stop(t)
}

func TestAdminTokenFilePermissions(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	h := serve(t, data)
	token := filepath.Join(data, "admin.token")
	common := []string{"datasets", "--hub-url", h.httpURL, "--data", data}
	if err := os.Chmod(token, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := run(t, []string{"HUB_TOKEN="}, common...); code == 0 || !strings.Contains(errOut, "chmod 600 "+token) {
		t.Fatalf("world-readable token: exit %d, stderr %q; want a refusal saying chmod 600 %s", code, errOut, token)
	}
	if err := os.Chmod(token, 0o640); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := run(t, []string{"HUB_TOKEN="}, common...); code != 0 || !strings.Contains(errOut, "readable by its group") {
		t.Fatalf("group-readable token: exit %d, %s%s; want it used with a warning", code, out, errOut)
	}
	h.stop(t)
}

// waitFor polls cond until it holds, for at most 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
