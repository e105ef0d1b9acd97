package compat

import (
	"testing"
)

// BenchmarkDiffJobAd measures one Diff of the shipped job-ad schema with
// a changed headline (both documents compiled and compared).
func BenchmarkDiffJobAd(b *testing.B) {
	m := jobAd(b)
	at(m, "properties", "headline")["maxLength"] = 100
	old := Document{Schema: repoFile(b, "schemas/jobads/jobad.schema.json"), Version: 1}
	cand := Document{Schema: []byte(mustJSON(b, m)), Version: 2}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Diff(old, cand); err != nil {
			b.Fatal(err)
		}
	}
}
