package registry_test

import (
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
	"github.com/jobtech-dev/datahub/hub/internal/registry"
	"github.com/jobtech-dev/datahub/internal/recordcheck"
	"github.com/jobtech-dev/datahub/internal/recordfile"
	"github.com/jobtech-dev/datahub/internal/taxonomy"
)

// BenchmarkValidators measures, for every shipped dataset, the check the
// hub runs on each record (recordcheck: the one-pass fast path) against
// the reference validator alone (recordcheck.Reference: decode, then
// jsonschema), on the same real records, in the same run: each one's
// ns/op and allocations per record, and the fast path's cost as a share
// of the reference's (fast/ref, lower is better). The datasets are
// compiled as the hub compiles them, with the real taxonomy snapshot;
// the records are each dataset's valid examples, plus, for jobads, the
// real JobTech ads and, for taxonomy-concepts, the first 2,000 concepts
// of the real snapshot — those the reference accepts (a real ad naming
// concepts the snapshot lacks is left out). One op is one record.
func BenchmarkValidators(b *testing.B) {
	root := filepath.Join("..", "..", "..")
	tax, err := taxonomy.LoadFile(filepath.Join(root, "testdata", "jobtech", "taxonomy-concepts.json"))
	if err != nil {
		b.Fatal(err)
	}
	ds, err := registry.LoadDir(filepath.Join(root, "schemas"), schema.WithTaxonomy(tax))
	if err != nil {
		b.Fatal(err)
	}
	extra := map[string]string{
		"jobads":            filepath.Join(root, "testdata", "jobtech", "job-ads.ndjson"),
		"taxonomy-concepts": filepath.Join(root, "testdata", "jobtech", "taxonomy-concepts.json"),
	}
	for _, d := range ds {
		fast := d.Checker()
		key, tomb := fast.Fields()
		ref := recordcheck.Reference(d.Schema, recordcheck.Options{Key: key, Tombstone: tomb})
		files, _ := filepath.Glob(filepath.Join(root, "schemas", d.Name, "examples", "valid", "*"))
		if f, ok := extra[d.Name]; ok {
			files = append(files, f)
		}
		var recs [][]byte
		size := 0
		for _, f := range files {
			n := 0
			err := recordfile.ReadFileWith(f, recordfile.Options{MapKey: "id"}, func(r recordfile.Record) error {
				if n++; n > 2000 {
					return nil
				}
				if res := ref.Check(r.Data, schema.Limits{}); res.Violations == nil && res.KeyProblem == "" {
					recs = append(recs, append([]byte(nil), r.Data...))
					size += len(r.Data)
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		if len(recs) == 0 {
			b.Fatalf("%s: no valid record", d.Name)
		}
		b.Run(d.Name, func(b *testing.B) {
			if !fast.Fast() {
				b.Logf("%s is checked by the %s", d.Name, fast.Validator())
			}
			b.SetBytes(int64(size / len(recs)))
			run := func(c *recordcheck.Checker, n int) (nsPerOp, allocsPerOp float64) {
				var m0, m1 runtime.MemStats
				runtime.ReadMemStats(&m0)
				start := time.Now()
				for i := range n {
					if res := c.Check(recs[i%len(recs)], schema.Limits{}); res.Violations != nil {
						b.Fatalf("%s: record %d refused: %v", d.Name, i%len(recs), res.Violations)
					}
				}
				el := time.Since(start)
				runtime.ReadMemStats(&m1)
				return float64(el.Nanoseconds()) / float64(n), float64(m1.Mallocs-m0.Mallocs) / float64(n)
			}
			run(fast, len(recs)) // warm both
			run(ref, len(recs))
			b.ResetTimer()
			fastNS, fastAllocs := run(fast, b.N)
			b.StopTimer()
			// The reference is an order of magnitude slower: a sample of
			// b.N (at least every record) keeps the run short.
			refNS, refAllocs := run(ref, max(len(recs), min(b.N, 5000)))
			b.ReportMetric(fastNS, "fast-ns/rec")
			b.ReportMetric(refNS, "ref-ns/rec")
			b.ReportMetric(fastNS/refNS, "fast/ref")
			b.ReportMetric(fastAllocs, "fast-allocs/rec")
			b.ReportMetric(refAllocs, "ref-allocs/rec")
			b.ReportMetric(float64(len(recs)), "records")
		})
	}
}
