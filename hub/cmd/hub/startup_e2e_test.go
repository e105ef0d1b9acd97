package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
	"github.com/jobtech-dev/datahub/internal/problem"
)

// TestStartupWithAMillionAds measures a real hub process on a data dir
// holding a million stored 1 KiB job ads (STARTUP_BENCH_ADS changes the
// number; each ad has a key of its own): the time from exec to the first
// 200 from /readyz, and the resident memory then (VmRSS, and the peak
// VmHWM), against the same figures on the same, empty, data dir in the
// same run (the ratios). The ads are stored through the hub's own ingest
// (admin NDJSON batches of 10,000, two at a time: validated, as any
// record). The bar is a start-up under 2 s. A manual measurement (`make
// startup-bench`, HUB_STARTUP_BENCH=1): filling takes minutes.
//
// JetStream rebuilds a stream's duplicate window at start by reading every
// record stored within it (jobads: 1 h), so a hub restarted right after a
// bulk import reads all of it. STARTUP_BENCH_DEDUPE (e.g. 1s) sets jobads'
// dedupe_window, to measure the start-up of a data dir whose records are
// older than the window, as on a hub running for longer than it.
func TestStartupWithAMillionAds(t *testing.T) {
	if os.Getenv("HUB_STARTUP_BENCH") == "" {
		t.Skip("manual measurement: run `make startup-bench` (HUB_STARTUP_BENCH=1)")
	}
	ads := 1_000_000
	if s := os.Getenv("STARTUP_BENCH_ADS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("STARTUP_BENCH_ADS=%q: want a positive whole number", s)
		}
		ads = n
	}
	var extra []string
	if w := os.Getenv("STARTUP_BENCH_DEDUPE"); w != "" {
		schemas := t.TempDir()
		if err := os.CopyFS(schemas, os.DirFS(hubtest.SchemasDir())); err != nil {
			t.Fatal(err)
		}
		decl := filepath.Join(schemas, "jobads", "dataset.yaml")
		b := hubtest.ReadFile(t, decl)
		if !bytes.Contains(b, []byte("\ndedupe_window: 1h\n")) {
			t.Fatal("jobads' dataset.yaml no longer says dedupe_window: 1h")
		}
		if err := os.WriteFile(decl, bytes.Replace(b, []byte("\ndedupe_window: 1h\n"), []byte("\ndedupe_window: "+w+"\n"), 1), 0o644); err != nil {
			t.Fatal(err)
		}
		extra = []string{"--schemas", schemas}
	}
	data := t.TempDir()
	first := serve(t, data, extra...) // creates the data dir's state
	first.stop(t)

	emptyUp, emptyRSS, emptyPeak := timedStart(t, data, extra, nil)
	t.Logf("empty data dir: ready in %s, RSS %d MiB (peak %d MiB)", emptyUp.Round(time.Millisecond), emptyRSS>>10, emptyPeak>>10)

	fillStart := time.Now()
	timedStart(t, data, extra, func(url string) { fillAds(t, data, url, ads) })
	fill := time.Since(fillStart)
	t.Logf("stored %d ads in %s (%.0f rec/s)", ads, fill.Round(time.Second), float64(ads)/fill.Seconds())

	up, rss, peak := timedStart(t, data, extra, nil)
	t.Logf("%d ads: ready in %s, RSS %d MiB (peak %d MiB); ratio to the empty data dir: start-up %.1f, RSS %.1f",
		ads, up.Round(time.Millisecond), rss>>10, peak>>10, up.Seconds()/emptyUp.Seconds(), float64(rss)/float64(emptyRSS))
	if up > 2*time.Second {
		t.Errorf("start-up with %d ads took %s: the bar is 2 s", ads, up.Round(time.Millisecond))
	}
}

// timedStart starts `hub serve` on data (with extra flags) on a known HTTP port, times exec to
// the first 200 from /readyz, reads its resident memory (kB) then, runs
// while (if any) with the HTTP URL, and stops the hub.
func timedStart(t *testing.T, data string, extra []string, while func(url string)) (up time.Duration, rss, peak int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(hubBin, serveArgs(data, append(extra, "--http-listen", addr)...)...)
	start := time.Now()
	p := startServe(t, cmd)
	url := "http://" + addr
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		resp, err := client.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Since(start) > 5*time.Minute {
			t.Fatalf("hub not ready after 5 minutes: %v\n%s", err, p.stderr)
		}
		time.Sleep(5 * time.Millisecond) // polled: readiness has no event to wait on
	}
	up = time.Since(start)
	rss, peak = procStatus(t, cmd.Process.Pid, "VmRSS"), procStatus(t, cmd.Process.Pid, "VmHWM")
	if while != nil {
		while(url)
	}
	p.stop(t)
	return up, rss, peak
}

// fillAds stores count copies of the 1 KiB ad, each with an id of its own,
// through the admin API's NDJSON batches.
func fillAds(t *testing.T, data, url string, count int) {
	t.Helper()
	token := strings.TrimSpace(string(hubtest.ReadFile(t, filepath.Join(data, "admin.token"))))
	ad := bytes.TrimSpace(hubtest.ReadFile(t, filepath.Join(hubtest.SchemasDir(), "jobads", "examples", "valid", "small-ad.json")))
	const adID = `"id":"23187561"`
	if !bytes.Contains(ad, []byte(adID)) {
		t.Fatalf("small-ad.json no longer has %s", adID)
	}
	const per = 10_000 // the hub's default most records in one batch
	batches := make(chan int)
	errs := make(chan error, 2)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for first := range batches {
				var body bytes.Buffer
				for i := first; i < min(first+per, count); i++ {
					body.Write(bytes.Replace(ad, []byte(adID), []byte(`"id":"`+strconv.Itoa(30_000_000+i)+`"`), 1))
					body.WriteByte('\n')
				}
				req, _ := http.NewRequest(http.MethodPost, url+"/api/v1/datasets/jobads/records", &body)
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/x-ndjson")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					errs <- err
					return
				}
				var res problem.Batch
				err = json.NewDecoder(resp.Body).Decode(&res)
				resp.Body.Close()
				if want := min(first+per, count) - first; err != nil || resp.StatusCode != http.StatusOK || res.Counts[wire.StatusStored] != want {
					errs <- fmt.Errorf("batch from ad %d: %d, %v of %d (%v)", first, resp.StatusCode, res.Counts, want, err)
					return
				}
			}
		})
	}
	for first := 0; first < count; first += per {
		select {
		case batches <- first:
		case err := <-errs:
			close(batches)
			wg.Wait()
			t.Fatal(err)
		}
	}
	close(batches)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
}
