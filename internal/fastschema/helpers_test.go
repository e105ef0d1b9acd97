package fastschema

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
	"github.com/jobtech-dev/datahub/internal/taxonomy"
)

// Paths of the shared test data (read only; the repository stands alone).
const (
	repoRoot      = "../.."
	jobAdSchema   = repoRoot + "/schemas/jobads/jobad.schema.json"
	conceptSchema = repoRoot + "/schemas/taxonomy-concepts/concept.schema.json"
	kitTestSchema = repoRoot + "/connector-kit/schema/testdata/jobad.schema.json"
	kitEmployer   = repoRoot + "/connector-kit/schema/testdata/employer.schema.json"
	realAdsFile   = repoRoot + "/testdata/jobtech/job-ads.ndjson"
	conceptsFile  = repoRoot + "/testdata/jobtech/taxonomy-concepts.json"
)

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// realAds returns the three real JobTech ads, one JSON document each.
func realAds(tb testing.TB) [][]byte {
	tb.Helper()
	var ads [][]byte
	for _, line := range bytes.Split(bytes.TrimSpace(readFile(tb, realAdsFile)), []byte("\n")) {
		ads = append(ads, line)
	}
	if len(ads) != 3 {
		tb.Fatalf("want 3 real ads, got %d", len(ads))
	}
	return ads
}

// smallAd is the shipped 1 KiB example ad.
func smallAd(tb testing.TB) []byte {
	tb.Helper()
	b := bytes.TrimSpace(readFile(tb, repoRoot+"/schemas/jobads/examples/valid/small-ad.json"))
	if len(b) > 1100 || !utf8.Valid(b) {
		tb.Fatalf("small ad is %d bytes", len(b))
	}
	return b
}

// concepts returns n taxonomy concepts as records of the concept schema
// (the map key as id), in key order, and the lookup table by type.
func concepts(tb testing.TB, n int) ([][]byte, map[string]map[string]bool) {
	tb.Helper()
	all, err := conceptSnapshot()
	if err != nil {
		tb.Fatal(err)
	}
	ids := sortedKeys(all)
	byType := map[string]map[string]bool{}
	var recs [][]byte
	for _, id := range ids {
		c := all[id]
		typ, _ := c["type"].(string)
		if byType[typ] == nil {
			byType[typ] = map[string]bool{}
		}
		byType[typ][id] = true
		if len(recs) < n {
			b, err := json.Marshal(withID(c, id))
			if err != nil {
				tb.Fatal(err)
			}
			recs = append(recs, b)
		}
	}
	return recs, byType
}

// exampleRecords returns the example records under a dataset folder's
// examples/valid and examples/invalid (NDJSON files split into lines).
func exampleRecords(tb testing.TB, dataset string) (valid, invalid [][]byte) {
	tb.Helper()
	read := func(dir string) [][]byte {
		var out [][]byte
		files, _ := filepath.Glob(filepath.Join(repoRoot, "schemas", dataset, "examples", dir, "*.json*"))
		for _, f := range files {
			b := readFile(tb, f)
			if filepath.Ext(f) == ".ndjson" {
				for _, l := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
					out = append(out, l)
				}
				continue
			}
			out = append(out, b)
		}
		return out
	}
	return read("valid"), read("invalid")
}

func mustCompileFile(tb testing.TB, path string, resources map[string][]byte, opts Options) *Validator {
	tb.Helper()
	v, err := Compile(path, readFile(tb, path), resources, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// conceptSnapshot reads the taxonomy snapshot once per process.
var conceptSnapshot = sync.OnceValues(func() (map[string]map[string]any, error) {
	var all map[string]map[string]any
	b, err := os.ReadFile(conceptsFile)
	if err != nil {
		return nil, err
	}
	return all, json.Unmarshal(b, &all)
})

// realTaxonomy is the index of the real concept snapshot, as the hub builds
// it from its taxonomy dataset (loaded once per process; never changed).
var realTaxonomy = sync.OnceValues(func() (*taxonomy.Index, error) { return taxonomy.LoadFile(conceptsFile) })

// adsTaxonomy is the snapshot plus the six references of ad 23174210 it
// lacks, so that the three real ads are valid (for benchmarks and tests of
// valid records).
var adsTaxonomy = sync.OnceValues(func() (*taxonomy.Index, error) {
	x, err := taxonomy.LoadFile(conceptsFile)
	if err != nil {
		return nil, err
	}
	for _, c := range []taxonomy.Concept{
		{ID: "29387234_yov_smw", Type: "skill"}, {ID: "2938adsfdov_smw", Type: "skill"},
		{ID: "2sdfds34_yov_smw", Type: "language"}, {ID: "2sdfdsasdfov_smw", Type: "language"},
		{ID: "fg7B_yoasdfw", Type: "occupation-name"}, {ID: "test_ctr_y01", Type: "country", LegacyID: "01"},
	} {
		x.Put(c)
	}
	return x, nil
})

// jobAdTaxonomy is the taxonomy keyword of the shipped job-ad schema over
// the real snapshot (deprecated concepts warn, the default), for both
// validators.
func jobAdTaxonomy(tb testing.TB) *taxonomySpec {
	tb.Helper()
	x, err := realTaxonomy()
	if err != nil {
		tb.Fatal(err)
	}
	return &taxonomySpec{lookup: x, onDeprecated: Warn}
}

// jobAdOptions are the fast path's options for the shipped job-ad schema:
// key, tombstone, and the taxonomy keyword over lookup.
func jobAdOptions(lookup schema.TaxonomyLookup) Options {
	return Options{Key: "/id", Tombstone: "/removed", Keywords: []Keyword{Taxonomy(lookup, Warn)}}
}

// allAdsValid is jobAdOptions over adsTaxonomy.
func allAdsValid(tb testing.TB) Options {
	tb.Helper()
	x, err := adsTaxonomy()
	if err != nil {
		tb.Fatal(err)
	}
	return jobAdOptions(x)
}

func withID(c map[string]any, id string) map[string]any {
	out := map[string]any{"id": id}
	for k, v := range c {
		out[k] = v
	}
	return out
}
