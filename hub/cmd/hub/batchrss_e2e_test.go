package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
	"github.com/jobtech-dev/datahub/internal/problem"
)

// TestBatchPeakRSS measures the hub's peak resident memory while 8 clients
// each POST a 63 MiB NDJSON batch of real job ads at once. It is a manual
// measurement (`make batch-rss`), not part of the normal suite: it moves half
// a gigabyte and its figure depends on the machine.
func TestBatchPeakRSS(t *testing.T) {
	if os.Getenv("HUB_BATCH_RSS") == "" {
		t.Skip("manual measurement: run `make batch-rss` (HUB_BATCH_RSS=1)")
	}
	const parallel, batchBytes = 8, 63 << 20
	data := t.TempDir()
	p := serve(t, data)
	token := strings.TrimSpace(string(hubtest.ReadFile(t, filepath.Join(data, "admin.token"))))
	bodies := make([][]byte, parallel)
	for i := range bodies {
		bodies[i] = realAdsBatch(t, batchBytes, fmt.Sprintf("rss%d-", i))
	}
	before := procStatus(t, p.cmd.Process.Pid, "VmRSS")
	start := time.Now()
	var wg sync.WaitGroup
	statuses := make([]string, parallel)
	for i := range bodies {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, p.httpURL+"/api/v1/datasets/jobads/records", bytes.NewReader(bodies[i]))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/x-ndjson")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				statuses[i] = err.Error()
				return
			}
			var res problem.Batch
			_ = json.NewDecoder(resp.Body).Decode(&res)
			resp.Body.Close()
			statuses[i] = fmt.Sprintf("%d %v", resp.StatusCode, res.Counts)
		})
	}
	wg.Wait()
	took := time.Since(start)
	peak := procStatus(t, p.cmd.Process.Pid, "VmHWM")
	t.Logf("8 parallel batches of %d MiB (%d lines each) in %s", len(bodies[0])>>20, bytes.Count(bodies[0], []byte("\n")), took.Round(time.Millisecond))
	for i, s := range statuses {
		t.Logf("batch %d: %s", i, s)
	}
	t.Logf("hub RSS before: %d MiB; peak (VmHWM): %d MiB", before>>10, peak>>10)
	p.stop(t)
}

// realAdsBatch is an NDJSON batch of at most size bytes of real job ads,
// each under a fresh ad id.
func realAdsBatch(t *testing.T, size int, prefix string) []byte {
	t.Helper()
	b := hubtest.RealAds(t, prefix, size/6000) // the ads average 7 KB
	if len(b) > size {
		b = b[:bytes.LastIndexByte(b[:size], '\n')+1]
	}
	return b
}

// procStatus reads a kB figure (VmRSS, VmHWM) of process pid.
func procStatus(t *testing.T, pid int, field string) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
