package ingest_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
	"github.com/jobtech-dev/datahub/internal/recordfile"
)

// postings are the schema.org JobPosting records of the job-postings
// dataset (its valid examples: postings as collectors scrape them, with
// strings, arrays and nested objects per property), `variants` copies
// each with an id of its own: the SHA-256 of its url with a copy number,
// in the form the schema requires.
func postings(b testing.TB) [][]byte {
	b.Helper()
	files, _ := filepath.Glob(filepath.Join(hubtest.SchemasDir(), "job-postings", "examples", "valid", "*"))
	var base [][]byte
	for _, f := range files {
		err := recordfile.ReadFile(f, func(r recordfile.Record) error {
			base = append(base, bytes.Clone(r.Data))
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if len(base) < 2 {
		b.Fatalf("want the job-postings examples, got %d records", len(base))
	}
	out := make([][]byte, 0, variants)
	for i := range variants {
		rec := base[i%len(base)]
		id := keyOf(b, rec)
		sum := sha256.Sum256([]byte(id + "#" + strconv.Itoa(i)))
		v := bytes.Replace(rec, []byte(id), []byte(hex.EncodeToString(sum[:])), 1)
		if bytes.Equal(v, rec) {
			b.Fatal("could not vary the id of a posting")
		}
		out = append(out, v)
	}
	return out
}
