package cli_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/jobtech-dev/datahub/connector-kit/kittest"
)

// importRun runs `connector import` with stdin and returns stdout, stderr
// and the exit status.
func importRun(t *testing.T, h *kittest.Hub, creds string, stdin []byte, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(kittest.Bin(t, "connector"), append([]string{"import", "--dataset", "jobads", "--hub", h.NATSURL(), "--credentials", creds}, args...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin) // a pipe, as with `cat … |`
	}
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

func TestImportFromAPipe(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	creds := h.Actor("arbetsformedlingen")
	ads, err := os.ReadFile(filepath.Join(kittest.JobTechData(), "job-ads.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	stored := 0
	for _, step := range []struct {
		name  string
		stdin []byte
		args  []string
		want  string
		added int
	}{
		{"cat | import -", ads, []string{"-"}, "3 stored, 0 duplicates, 0 rejected", 3},
		{"the same again", ads, []string{"-"}, "0 stored, 3 duplicates, 0 rejected", 0},
		{"/dev/stdin is NDJSON by its content, same ids as -", ads, []string{"/dev/stdin"}, "0 stored, 3 duplicates, 0 rejected", 0},
		{"ids from a field", ads, []string{"--id-from", "id", "-"}, "3 stored, 0 duplicates, 0 rejected", 3},
		{"ids from a field, again", ads, []string{"--id-from", "id", "-"}, "0 stored, 3 duplicates, 0 rejected", 0},
		{"a field the records lack", ads, []string{"--id-from", "/nosuch", "-"}, "0 stored, 0 duplicates, 3 rejected", 0},
	} {
		out, errOut, code := importRun(t, h, creds, step.stdin, step.args...)
		wantCode := 0
		if strings.Contains(step.want, "3 rejected") {
			wantCode = 1
		}
		if code != wantCode || !strings.Contains(out, step.want) {
			t.Fatalf("%s: exit %d\n%s%s\nwant %q", step.name, code, out, errOut, step.want)
		}
		if strings.Contains(errOut, "importing") {
			t.Fatalf("%s: progress drawn on a pipe: %q", step.name, errOut)
		}
		stored += step.added
		if n := len(h.Records("jobads")); n != stored {
			t.Fatalf("%s: hub has %d records, want %d", step.name, n, stored)
		}
	}

	// A named pipe whose name says nothing, carrying a pretty-printed array.
	var raws []json.RawMessage
	for _, l := range bytes.Split(bytes.TrimSpace(ads), []byte("\n")) {
		raws = append(raws, json.RawMessage(l))
	}
	doc, _ := json.MarshalIndent(raws, "", "  ")
	fifo := filepath.Join(t.TempDir(), "feed")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for run, want := range []string{"3 stored, 0 duplicates", "0 stored, 3 duplicates"} {
		go func() {
			f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
			if err == nil {
				f.Write(doc)
				f.Close()
			}
		}()
		out, errOut, code := importRun(t, h, creds, nil, fifo)
		if code != 0 || !strings.Contains(out, "3 records in") || !strings.Contains(out, want) {
			t.Fatalf("FIFO run %d: exit %d\n%s%s", run+1, code, out, errOut)
		}
	}
}
