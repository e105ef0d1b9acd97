package fastschema

import (
	"testing"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
)

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
		fast := mustCompileFile(b, set.schema, nil, Options{Key: "/id", Tombstone: "/removed"})
		ref, err := schema.Compile(set.schema, readFile(b, set.schema), nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(set.name+"/fastschema", func(b *testing.B) {
			b.SetBytes(bytesPer(set.recs))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if res := fast.Validate(set.recs[i%len(set.recs)]); !res.Valid {
					b.Fatalf("invalid: %+v", res.Failure)
				}
			}
		})
		b.Run(set.name+"/reference", func(b *testing.B) {
			b.SetBytes(bytesPer(set.recs))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, vs := ref.Check(set.recs[i%len(set.recs)], schema.Limits{}); vs != nil {
					b.Fatal(vs)
				}
			}
		})
	}
}
