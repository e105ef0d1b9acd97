package cli_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/kittest"
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
