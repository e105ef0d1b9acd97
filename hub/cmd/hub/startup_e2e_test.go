package main_test

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
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
// 200 from /readyz, the CPU time the process used by then (a figure the
// load of a shared machine does not stretch), the part of it JetStream
// took to recover its streams (from the hub's debug log), and the resident
// memory then (VmRSS, and the peak VmHWM), against the same figures on the
// same, empty, data dir in the same run (the ratios). The ads are stored
// through the hub's own ingest (admin NDJSON batches of 10,000, two at a
// time: validated, as any record). The hub is started three times on the
// filled dir; the bar is a median start-up under 2 s. A manual measurement
// (`make startup-bench`, HUB_STARTUP_BENCH=1): filling takes minutes.
//
// JetStream rebuilds a stream's duplicate window at start by reading every
// record stored within it (jobads: 1 h), so a hub restarted right after a
// bulk import reads all of it. STARTUP_BENCH_DEDUPE (e.g. 1s) sets jobads'
// dedupe_window, to measure the start-up of a data dir whose records are
// older than the window, as on a hub running for longer than it.
//
// STARTUP_BENCH_DATA names a data dir to keep: the first run fills it (and
// writes startup-bench.ads there once filled), later runs with the same
// STARTUP_BENCH_ADS only time the start-up on it, so one fill serves many
// measurements. Copy it (cp -a) before a run that must not change it.
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
	extra := []string{"--log-level", "debug"} // JetStream's recovery time is read from the log
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
		extra = append(extra, "--schemas", schemas)
	}
	data, filled := t.TempDir(), false
	if d := os.Getenv("STARTUP_BENCH_DATA"); d != "" {
		data, filled = d, keptFill(t, d, ads)
	}
	var empty startup
	if !filled {
		first := serve(t, data, extra...) // creates the data dir's state
		first.stop(t)

		empty = timedStart(t, data, extra, nil)
		t.Logf("empty data dir: %s", empty)

		fillStart := time.Now()
		timedStart(t, data, extra, func(url string) { fillAds(t, data, url, ads) })
		fill := time.Since(fillStart)
		t.Logf("stored %d ads in %s (%.0f rec/s)", ads, fill.Round(time.Second), float64(ads)/fill.Seconds())
		if os.Getenv("STARTUP_BENCH_DATA") != "" {
			if err := os.WriteFile(filepath.Join(data, startupBenchMark), []byte(strconv.Itoa(ads)+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	} else {
		t.Logf("data dir %s already holds %d ads: timing its start-up only", data, ads)
	}
	var runs []startup
	for range 3 {
		s := timedStart(t, data, extra, nil)
		t.Logf("%d ads: %s", ads, s)
		runs = append(runs, s)
	}
	slices.SortFunc(runs, func(a, b startup) int { return cmp.Compare(a.up, b.up) })
	med := runs[len(runs)/2]
	if empty.up > 0 {
		t.Logf("%d ads, median of %d starts: %s; ratio to the empty data dir: start-up %.1f, RSS %.1f",
			ads, len(runs), med, med.up.Seconds()/empty.up.Seconds(), float64(med.rss)/float64(empty.rss))
	} else {
		t.Logf("%d ads, median of %d starts: %s", ads, len(runs), med)
	}
	if med.up > 2*time.Second {
		t.Errorf("start-up with %d ads took %s (median of %d): the bar is 2 s", ads, med.up.Round(time.Millisecond), len(runs))
	}
}

// startupBenchMark is the file a kept STARTUP_BENCH_DATA dir holds once
// filled: the number of ads stored in it.
const startupBenchMark = "startup-bench.ads"

// keptFill reports whether the kept data dir d was filled with ads ads; a
// dir filled with another number, or half-filled, is refused rather than
// measured.
func keptFill(t *testing.T, d string, ads int) bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(d, startupBenchMark))
	if os.IsNotExist(err) {
		if entries, _ := os.ReadDir(d); len(entries) > 0 {
			t.Fatalf("STARTUP_BENCH_DATA=%s is neither empty nor a filled start-up bench dir (no %s)", d, startupBenchMark)
		}
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := strconv.Atoi(strings.TrimSpace(string(b))); n != ads {
		t.Fatalf("STARTUP_BENCH_DATA=%s holds %s ads, not %d (STARTUP_BENCH_ADS)", d, strings.TrimSpace(string(b)), ads)
	}
	return true
}

// startup is one measured start of a hub.
type startup struct {
	up        time.Duration // exec to the first 200 from /readyz
	cpu       time.Duration // user and system CPU time of the process by then
	jetstream time.Duration // JetStream's recovery of its streams, as its log says
	rss, peak int           // kB
}

func (s startup) String() string {
	return fmt.Sprintf("ready in %s (CPU %s; JetStream recovery %s), RSS %d MiB (peak %d MiB)",
		s.up.Round(time.Millisecond), s.cpu.Round(10*time.Millisecond), s.jetstream.Round(time.Millisecond), s.rss>>10, s.peak>>10)
}

// jetstreamTook is the nats server's debug line giving its recovery time.
var jetstreamTook = regexp.MustCompile(`Took (\S+) to start JetStream`)

// timedStart starts `hub serve` on data (with extra flags) on a known HTTP
// port, measures its start-up (see startup), runs while (if any) with the
// HTTP URL, and stops the hub.
func timedStart(t *testing.T, data string, extra []string, while func(url string)) startup {
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
	s := startup{up: time.Since(start), cpu: procCPU(t, cmd.Process.Pid)}
	s.rss, s.peak = procStatus(t, cmd.Process.Pid, "VmRSS"), procStatus(t, cmd.Process.Pid, "VmHWM")
	if m := jetstreamTook.FindStringSubmatch(p.stderr.String()); m != nil {
		s.jetstream, _ = time.ParseDuration(m[1])
	}
	if while != nil {
		while(url)
	}
	p.stop(t)
	return s
}

// procCPU is the user and system CPU time process pid has used, from
// /proc/PID/stat (fields 14 and 15, in the kernel's USER_HZ ticks: 100 a
// second on Linux).
func procCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// The command name (field 2) may hold spaces: count from its ')'.
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3
	if len(f) < 13 {
		t.Fatalf("/proc/%d/stat: too few fields: %s", pid, b)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("/proc/%d/stat: utime %q, stime %q", pid, f[11], f[12])
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
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
