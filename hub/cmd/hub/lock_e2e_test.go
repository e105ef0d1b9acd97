package main_test

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
)

// TestSecondServeOnTheSameDataDirRefused: one hub per data dir, refused with
// the holder's process id; the lock dies with its process, also on SIGKILL.
func TestSecondServeOnTheSameDataDirRefused(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	h := serve(t, data)
	common := []string{"--hub-url", h.httpURL, "--data", data}
	ad := filepath.Join(hubtest.SchemasDir(), "jobads", "examples", "valid", "small-ad.json")
	if out, errOut, code := run(t, nil, append([]string{"publish", "--dataset", "jobads", ad}, common...)...); code != 0 {
		t.Fatalf("publish: %d %s%s", code, out, errOut)
	}

	// Without the lock the second hub would start and serve: give it 15 s.
	start := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	second := exec.CommandContext(ctx, hubBin, "serve", "--data", data, "--schemas", hubtest.SchemasDir(), "--nats-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0")
	var errb bytes.Buffer
	second.Stderr = &errb
	_ = second.Run()
	if ctx.Err() != nil {
		t.Fatalf("a second hub started on the same data dir and ran:\n%s", errb.String())
	}
	errOut, code := errb.String(), second.ProcessState.ExitCode()
	pid := fmt.Sprintf("process %d", h.cmd.Process.Pid)
	if code == 0 || !strings.Contains(errOut, "another hub runs on this data dir") || !strings.Contains(errOut, pid) || !strings.Contains(errOut, "since") {
		t.Fatalf("second hub on the same data dir: exit %d, want refused naming %s:\n%s", code, pid, errOut)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("refusal took %s", d)
	}
	t.Logf("refused: %s", strings.TrimSpace(errOut))

	// SIGKILL leaves no stale lock: the restart is not refused, and reads
	// back what was stored.
	if err := h.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-h.done
	h = serve(t, data)
	common = []string{"--hub-url", h.httpURL, "--data", data}
	out, errOut, code := run(t, nil, append([]string{"read", "--dataset", "jobads"}, common...)...)
	if code != 0 || len(envelopes(t, out)) != 1 {
		t.Fatalf("read after SIGKILL and restart: exit %d\n%s%s", code, out, errOut)
	}
	if out, _, code := run(t, nil, append([]string{"audit", "verify"}, common...)...); code != 0 {
		t.Fatalf("audit verify after SIGKILL and restart: exit %d\n%s", code, out)
	}
	h.stop(t)
}
