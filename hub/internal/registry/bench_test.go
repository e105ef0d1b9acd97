package registry

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
)

// BenchmarkRealSchemaCheck measures the full record check (pre-checks,
// decode, validate, key) of the real job-ad examples against the real
// jobads schema: the hub's per-record CPU cost.
func BenchmarkRealSchemaCheck(b *testing.B) {
	ds, err := LoadDir(filepath.Join("..", "..", "..", "schemas"))
	if err != nil {
		b.Fatal(err)
	}
	d, ok := New(ds...).Get("jobads")
	if !ok {
		b.Fatal("no jobads dataset")
	}
	dir := filepath.Join("..", "..", "..", "schemas", "jobads", "examples", "valid")
	for _, f := range []string{"small-ad.json", "ad-22884504.json", "ad-23187561.json"} {
		rec, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(f, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(rec)))
			for b.Loop() {
				v, viol := d.Schema.Check(rec, schema.Limits{})
				if len(viol) > 0 {
					b.Fatal(viol)
				}
				if _, kv := d.KeyOf(v); kv != nil {
					b.Fatal(kv)
				}
			}
		})
	}
}
