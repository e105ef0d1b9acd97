package fastschema

import (
	"syscall"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
)

// cpuTime is the process's CPU time so far. Benchmarks report CPU time per
// op beside wall time: on a shared machine other processes stretch wall
// time, not the CPU time the validator spends.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loop runs f b.N times and reports CPU ns per op.
func loop(b *testing.B, f func(i int)) {
	start := cpuTime()
	i := 0
	for b.Loop() {
		f(i)
		i++
	}
	if i > 0 {
		b.ReportMetric(float64(cpuTime()-start)/float64(i), "cpu-ns/op")
	}
}

// benchSets are the records of the benchmarks: the 1 KiB ad, the three real
// ads (cycled), and taxonomy concepts (cycled), each with its schema.
func benchSets(tb testing.TB) []struct {
	name, schema string
	recs         [][]byte
} {
	cs, _ := concepts(tb, 1000)
	return []struct {
		name, schema string
		recs         [][]byte
	}{
		{"ad-1KiB", jobAdSchema, [][]byte{smallAd(tb)}},
		{"ads-real", jobAdSchema, realAds(tb)},
		{"concepts", conceptSchema, cs},
	}
}

func bytesPer(recs [][]byte) int64 {
	n := 0
	for _, r := range recs {
		n += len(r)
	}
	return int64(n / len(recs))
}

// BenchmarkValidate compares the fast path with the reference (decode and
// validate) on the same records, one record per op.
func BenchmarkValidate(b *testing.B) {
	for _, set := range benchSets(b) {
		// The job ads name taxonomy concepts: both check them against the
		// real snapshot (plus what ad 23174210 names that it lacks).
		tax, err := adsTaxonomy()
		if err != nil {
			b.Fatal(err)
		}
		fast := mustCompileFile(b, set.schema, nil, jobAdOptions(tax))
		ref, err := schema.Compile(set.schema, readFile(b, set.schema), nil, schema.WithTaxonomy(tax))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(set.name+"/fastschema", func(b *testing.B) {
			b.SetBytes(bytesPer(set.recs))
			b.ReportAllocs()
			loop(b, func(i int) {
				if res := fast.Validate(set.recs[i%len(set.recs)]); !res.Valid {
					b.Fatalf("invalid: %+v", res.Failure)
				}
			})
		})
		b.Run(set.name+"/reference", func(b *testing.B) {
			b.SetBytes(bytesPer(set.recs))
			b.ReportAllocs()
			loop(b, func(i int) {
				if _, vs := ref.Check(set.recs[i%len(set.recs)], schema.Limits{}); vs != nil {
					b.Fatal(vs)
				}
			})
		})
	}
}
