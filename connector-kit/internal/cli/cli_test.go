package cli_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/kittest"
	"github.com/jobtech-dev/datahub/internal/testcerts"
)

func TestMain(m *testing.M) { kittest.Main(m) }

func TestImportAndTail(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	creds := h.Actor("arbetsformedlingen")
	matchCreds := h.Actor("matchwise")
	bin := kittest.Bin(t, "connector")

	// tail prints records as they arrive.
	tail := exec.Command(bin, "tail", "jobads", "--hub", h.NATSURL(), "--credentials", matchCreds)
	out, _ := tail.StdoutPipe()
	if err := tail.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tail.Process.Kill(); _ = tail.Wait() }()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	time.Sleep(500 * time.Millisecond) // the subscription starts at "now"

	// import: the three real ads plus one invalid record.
	dir := t.TempDir()
	ads, err := os.ReadFile(filepath.Join(kittest.JobTechData(), "job-ads.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "ads.ndjson")
	if err := os.WriteFile(file, append(bytes.TrimSpace(ads), []byte("\n{\"id\":\"x\",\"headline\":7}\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "import", "--dataset", "jobads", "--hub", h.NATSURL(), "--credentials", creds, file)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("import with a bad record: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "3 stored, 0 duplicates, 1 rejected") || !strings.Contains(stdout.String(), "ads.ndjson:4: rejected") {
		t.Fatalf("import summary:\n%s", stdout.String())
	}
	if stderr.Len() != 0 {
		t.Fatalf("progress drawn on stderr, which is not a terminal: %q", stderr.String())
	}
	got := 0
	timeout := time.After(10 * time.Second)
	for got < 3 {
		select {
		case l := <-lines:
			var e struct{ Publisher, Dataset string }
			if err := json.Unmarshal([]byte(l), &e); err != nil || e.Publisher != "arbetsformedlingen" || e.Dataset != "jobads" {
				t.Fatalf("tail line %q: %v", l, err)
			}
			got++
		case <-timeout:
			t.Fatalf("tail printed %d of 3 records", got)
		}
	}
	if n := len(h.Records("jobads")); n != 3 {
		t.Fatalf("hub has %d records", n)
	}
}

func TestConnectorOverTLSFindsTheHubInItsCredentials(t *testing.T) {
	t.Parallel()
	ca := testcerts.NewCA(t, "hub-ca")
	srv := ca.Server(t, "hub")
	h := kittest.StartWith(t, kittest.Options{TLS: kittest.TLS{Cert: srv.Cert, Key: srv.Key, CA: ca.File}})
	creds := h.Actor("arbetsformedlingen") // names the hub: # hub: tls://127.0.0.1:PORT
	bin := kittest.Bin(t, "connector")
	ads := filepath.Join(kittest.JobTechData(), "job-ads.ndjson")
	connector := func(args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return stdout.String(), stderr.String(), code
	}

	// No --hub: the credentials file's address, verified with --ca.
	if out, errOut, code := connector("import", "-q", "--dataset", "jobads", "--credentials", creds, "--ca", ca.File, ads); code != 0 || !strings.Contains(out, "3 stored") {
		t.Fatalf("import over TLS: %d %s%s", code, out, errOut)
	}
	if _, errOut, code := connector("import", "-q", "--dataset", "jobads", "--credentials", creds, ads); code == 0 || !strings.Contains(errOut, "--ca") {
		t.Fatalf("import without the CA: exit %d, %q; want a TLS refusal naming --ca", code, errOut)
	}
	if err := os.Chmod(creds, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := connector("import", "-q", "--dataset", "jobads", "--credentials", creds, "--ca", ca.File, ads); code == 0 || !strings.Contains(errOut, "chmod 600 "+creds) {
		t.Fatalf("import with a world-readable credentials file: exit %d, %q", code, errOut)
	}
	if err := os.Chmod(creds, 0o600); err != nil {
		t.Fatal(err)
	}

	// connector run: hub.ca in connector.yaml, no hub.url.
	dir := t.TempDir()
	listen := fmt.Sprintf("127.0.0.1:%d", kittest.FreePort(t))
	conf := filepath.Join(dir, "connector.yaml")
	yaml := fmt.Sprintf("hub: {credentials: %s, ca: %s}\nlisten: %s\noutbox: %s\nstate: %s\nlog_level: warn\n",
		creds, ca.File, listen, filepath.Join(dir, "outbox"), filepath.Join(dir, "state"))
	if err := os.WriteFile(conf, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	run := exec.Command(bin, "run", "-c", conf)
	out, _ := run.StdoutPipe()
	var stderr bytes.Buffer
	run.Stderr = &stderr
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = run.Process.Kill(); _ = run.Wait() })
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if hub, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "hub:"); ok {
				ready <- strings.TrimSpace(hub)
			}
		}
	}()
	select {
	case hub := <-ready:
		if hub != h.NATSURL() {
			t.Fatalf("connector run connected to %s, want the credentials file's %s", hub, h.NATSURL())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("connector run not ready\n%s", stderr.String())
	}
	resp, err := http.Post("http://"+listen+"/v1/datasets/jobads/records", "application/json",
		bytes.NewReader(bytes.Split(bytes.TrimSpace(readFile(t, ads)), []byte("\n"))[0]))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST through the sidecar over TLS: %d\n%s", resp.StatusCode, stderr.String())
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
