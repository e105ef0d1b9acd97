package cli_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/connector-kit/kittest"
	"github.com/jobtech-dev/datahub/internal/publish"
	"github.com/jobtech-dev/datahub/internal/publish/publishtest"
)

// BenchmarkImport measures `connector import` of b.N 1 KiB job ads (each
// with an id and a key of its own, from one NDJSON file) against the hub's
// ingest rate measured in the same run on the same hub: single-record
// requests, 1024 in flight, as BenchmarkIngest sends them (but to the real
// hub binary, over TCP). It reports both rates and their ratio; the import
// rate is the one the command prints in its summary (from its first record
// sent to its last answer), import-wall-rec/s the whole process with its
// dial and the count of the file.
func BenchmarkImport(b *testing.B) {
	h := kittest.Start(b, "")
	creds := h.Actor("jobbland")
	bin := kittest.Bin(b, "connector")
	tmpl := smallAd(b)
	runs := 0 // each run's records have ids and keys of their own
	b.Run("ad-1KiB", func(b *testing.B) {
		runs++
		n := max(b.N, 2000)
		dir := b.TempDir()
		var buf bytes.Buffer
		for i := range n {
			buf.Write(tmpl.With("imp"+strconv.Itoa(runs)+"-", int64(i)))
			buf.WriteByte('\n')
		}
		file := filepath.Join(dir, "ads.ndjson")
		if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
			b.Fatal(err)
		}
		hubRate := hubIngestRate(b, h, creds, tmpl, "run"+strconv.Itoa(runs)+"-", n)
		b.ResetTimer()
		start := time.Now()
		out, err := exec.Command(bin, "import", "-q", "--dataset", "jobads", "--hub", h.NATSURL(), "--credentials", creds, file).CombinedOutput()
		wall := time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatalf("import: %v\n%s", err, out)
		}
		m := regexp.MustCompile(`\((\d+) records/s\): (\d+) stored`).FindSubmatch(out)
		if m == nil {
			b.Fatalf("import printed no summary:\n%s", out)
		}
		rate, _ := strconv.ParseFloat(string(m[1]), 64)
		if stored, _ := strconv.Atoi(string(m[2])); stored != n {
			b.Fatalf("import stored %d of %d:\n%s", stored, n, out)
		}
		b.ReportMetric(rate, "import-rec/s")
		b.ReportMetric(float64(n)/wall.Seconds(), "import-wall-rec/s")
		b.ReportMetric(hubRate, "hub-rec/s")
		b.ReportMetric(rate/hubRate, "ratio")
		b.SetBytes(int64(tmpl.Len()))
	})
}

// hubIngestRate publishes n 1 KiB ads as single-record requests with 1024
// in flight (ids and keys not used by the import) and returns records/s.
func hubIngestRate(b *testing.B, h *kittest.Hub, creds string, t publishtest.Template, run string, n int) float64 {
	ctx := context.Background()
	c, err := kit.Dial(ctx, h.NATSURL(), creds)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	p, err := publish.New(c.Conn(), c.Actor(), publish.WithWindow(1024))
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	send := func(prefix string, count int) time.Duration {
		start := time.Now()
		if err := publishtest.StoreAll(ctx, p, "jobads", count, func(i int) ([]byte, string) {
			return t.With(prefix, int64(i)), prefix + "-" + strconv.Itoa(i)
		}); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	send(run+"warm", 2000)
	return float64(n) / send(run+"hub", n).Seconds()
}

// smallAd is the 1 KiB job ad as a template: each copy gets an id (and a
// key) of its own.
func smallAd(b *testing.B) publishtest.Template {
	rec, err := os.ReadFile(filepath.Join(kittest.RepoRoot(), "schemas", "jobads", "examples", "valid", "small-ad.json"))
	if err != nil {
		b.Fatal(err)
	}
	return publishtest.NewTemplate(b, bytes.TrimSpace(rec))
}
