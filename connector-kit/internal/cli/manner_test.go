package cli_test

import (
	"bufio"
	"bytes"
	"debug/buildinfo"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/kittest"
	ourbuild "github.com/jobtech-dev/datahub/internal/buildinfo"
	"github.com/jobtech-dev/datahub/internal/problem"
)

// connectorIn runs the connector binary in dir (the working directory; ""
// for the test's) with args and returns stdout, stderr and the exit status.
func connectorIn(t *testing.T, dir string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(kittest.Bin(t, "connector"), args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return stdout.String(), stderr.String(), ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), 0
}

func TestConnectorVersion(t *testing.T) {
	t.Parallel()
	bin := kittest.Bin(t, "connector")
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	want := "connector (JobTech Data Hub) " + ourbuild.From(bi).String() + "\n"
	for _, args := range [][]string{{"--version"}, {"version"}} {
		if out, errOut, code := connectorIn(t, "", args...); code != 0 || out != want {
			t.Errorf("connector %v: exit %d %q%s, want %q", args, code, out, errOut, want)
		}
	}
}

// A refusal by the sharing policies exits 1 and says, in the policies'
// terms, who may not do what to which dataset; usage and operational
// errors exit 2.
func TestConnectorExitStatusAndForbiddenMessages(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	jobbland := h.Actor("jobbland")
	ads := filepath.Join(kittest.JobTechData(), "job-ads.ndjson")
	concept := filepath.Join(t.TempDir(), "concept.json")
	if err := os.WriteFile(concept, []byte(`{"id":"vrDq_rUY_7PX","label":"x","type":"region"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "nats://" + ln.Addr().String()
	ln.Close()
	hub := []string{"--hub", h.NATSURL(), "--credentials", jobbland}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"publish forbidden", append([]string{"import", "-q", "--dataset", "taxonomy-concepts", concept}, hub...), 1,
			"jobbland may not publish to dataset taxonomy-concepts (no publish right in the sharing policies)"},
		{"subscribe forbidden", append([]string{"tail", "jobads"}, hub...), 1,
			"jobbland may not subscribe to dataset jobads (no subscribe right in the sharing policies)"},
		{"unknown dataset", append([]string{"import", "-q", "--dataset", "nosuch", ads}, hub...), 2, "unknown dataset"},
		{"unknown command", []string{"imprt"}, 2, "Did you mean this?\n\timport"},
		{"unknown flag", append([]string{"import", "--bogus", ads}, hub...), 2, "Run 'connector import --help'"},
		{"missing required flag", []string{"tail", "jobads"}, 2, `"credentials" not set`},
		{"missing file", append([]string{"import", "-q", "--dataset", "jobads", filepath.Join(t.TempDir(), "nosuch.ndjson")}, hub...), 2, "no such file"},
		{"missing config", []string{"run", "-c", filepath.Join(t.TempDir(), "nosuch.yaml")}, 2, "no such file"},
		{"unreachable hub", []string{"import", "-q", "--dataset", "jobads", "--hub", closed, "--credentials", jobbland, ads}, 2, "hub unreachable"},
	} {
		out, errOut, code := connectorIn(t, "", tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s (connector %s): exit %d, want %d with %q\n%s%s", tc.name, strings.Join(tc.args, " "), code, tc.code, tc.want, out, errOut)
		}
		if strings.Contains(errOut, "ingest.") || strings.Contains(errOut, "hub.subscribe.") {
			t.Errorf("%s: the answer names an internal NATS subject:\n%s", tc.name, errOut)
		}
	}

	// The sidecar answers a forbidden publish and a forbidden read alike.
	dir := t.TempDir()
	listen := fmt.Sprintf("127.0.0.1:%d", kittest.FreePort(t))
	run := startConnectorIn(t, "", "run", "--hub", h.NATSURL(), "--credentials", jobbland, "--listen", listen,
		"--outbox", filepath.Join(dir, "outbox"), "--state", filepath.Join(dir, "state"), "--log-level", "warn")
	run.waitFor(t, "local API:")
	for _, tc := range []struct{ method, path, want string }{
		{"POST", "/v1/datasets/taxonomy-concepts/records", "jobbland may not publish to dataset taxonomy-concepts (no publish right in the sharing policies)"},
		{"GET", "/v1/datasets/jobads/records?follow=false", "jobbland may not subscribe to dataset jobads (no subscribe right in the sharing policies)"},
	} {
		req, _ := http.NewRequest(tc.method, "http://"+listen+tc.path, bytes.NewReader(readFile(t, concept)))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		err = problem.Decode(resp)
		resp.Body.Close()
		var p *problem.Problem
		if !errors.As(err, &p) || p.Status != http.StatusForbidden || p.Detail != tc.want {
			t.Errorf("%s %s through the sidecar: %v, want 403 %q", tc.method, tc.path, err, tc.want)
		}
	}
}

// proc is a running connector whose stdout lines are read one by one.
type proc struct {
	lines  chan string
	stderr *bytes.Buffer
}

// startConnectorIn starts the connector in dir with args; it is killed when
// the test ends.
func startConnectorIn(t *testing.T, dir string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(kittest.Bin(t, "connector"), args...)
	cmd.Dir = dir
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{lines: make(chan string, 100), stderr: &bytes.Buffer{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	return p
}

// waitFor returns the first stdout line holding s.
func (p *proc) waitFor(t *testing.T, s string) string {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				t.Fatalf("connector ended before printing %q", s)
			}
			if strings.Contains(l, s) {
				return l
			}
		case <-timeout:
			t.Fatalf("connector did not print %q", s)
		}
	}
}

// Relative paths in connector.yaml are relative to the file's folder,
// wherever the connector is started from: the credentials, the outbox, the
// state folder and an ndjson_file input's path.
func TestConnectorYAMLPathsAreRelativeToTheFile(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	confDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(confDir, "jobbland.nk"), readFile(t, h.Actor("jobbland")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(confDir, "in"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(confDir, "in", "ads.ndjson"), readFile(t, filepath.Join(kittest.JobTechData(), "job-ads.ndjson")), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`hub: {url: %s, credentials: jobbland.nk}
listen: 127.0.0.1:%d
outbox: ./outbox
log_level: warn
inputs:
  - {name: ads-file, type: ndjson_file, dataset: jobads, config: {path: in/ads.ndjson}}
`, h.NATSURL(), kittest.FreePort(t))
	if err := os.WriteFile(filepath.Join(confDir, "connector.yaml"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	elsewhere := t.TempDir()
	p := startConnectorIn(t, elsewhere, "run", "-c", filepath.Join(confDir, "connector.yaml"))
	if l := p.waitFor(t, "outbox:"); !strings.Contains(l, filepath.Join(confDir, "outbox")) {
		t.Fatalf("outbox %q, want the one beside connector.yaml", l)
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(h.Records("jobads")) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("the input's records did not arrive: %d of 3\n%s", len(h.Records("jobads")), p.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range []string{"outbox", "connector-state/ads-file"} {
		if _, err := os.Stat(filepath.Join(confDir, want)); err != nil {
			t.Errorf("%s is not beside connector.yaml: %v", want, err)
		}
	}
	if entries, _ := os.ReadDir(elsewhere); len(entries) > 0 {
		t.Errorf("the connector wrote into its working directory: %v", entries)
	}
}

// Shell completion asks the hub for its dataset names as the actor.
func TestConnectorCompletesDatasetNames(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	creds := h.Actor("matchwise")
	for _, args := range [][]string{
		{"__complete", "tail", "--hub", h.NATSURL(), "--credentials", creds, ""},
		{"__complete", "import", "--hub", h.NATSURL(), "--credentials", creds, "--dataset", ""},
	} {
		out, errOut, code := connectorIn(t, "", args...)
		if got := strings.Fields(out); code != 0 || !reflect.DeepEqual(got, []string{"education-offerings", "gig-assignments", "job-postings", "jobads", "taxonomy-concepts", ":4"}) {
			t.Errorf("connector %v: exit %d %q %s", args, code, out, errOut)
		}
	}
	// Without credentials there is no one to ask as: cobra offers the
	// required flag, and no names.
	if out, _, _ := connectorIn(t, "", "__complete", "tail", ""); strings.Contains(out, "jobads") || !strings.Contains(out, "--credentials") {
		t.Errorf("completion without credentials: %q", out)
	}
}
