package registry

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
	"github.com/jobtech-dev/datahub/internal/fastschema"
)

// Every shipped dataset is checked by the one-pass validator (a keyword it
// does not implement would quietly cost the hub most of its ingest rate),
// and its checker judges every example as the reference schema and KeyOf
// do.
func TestShippedSchemasUseTheFastValidator(t *testing.T) {
	t.Parallel()
	ds, err := LoadDir(schemasDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.Validator() != "fast" {
			t.Errorf("%s: validator %s", d.Name, d.Validator())
		}
		files, _ := filepath.Glob(filepath.Join(filepath.Dir(d.File), "examples", "*", "*"))
		for _, f := range files {
			for i, rec := range records(t, f) {
				got := d.Checker().Check(rec, schema.Limits{})
				v, vs := d.Schema.Check(rec, schema.Limits{})
				if !reflect.DeepEqual(got.Violations, vs) {
					t.Errorf("%s record %d: violations %v, reference %v", f, i+1, got.Violations, vs)
					continue
				}
				if vs != nil {
					continue
				}
				key, kv := d.KeyOf(v)
				if kv != nil && (got.KeyProblem == "" || *d.KeyViolation(got.KeyProblem) != *kv) || kv == nil && got.Key != key {
					t.Errorf("%s record %d: key %q (%s), KeyOf %q (%v)", f, i+1, got.Key, got.KeyProblem, key, kv)
				}
				if got.Tombstone != d.IsTombstone(v) {
					t.Errorf("%s record %d: tombstone %v", f, i+1, got.Tombstone)
				}
			}
		}
	}
}

// A schema with a keyword the fast path does not implement loads, and its
// dataset says it is checked by the reference and why; a custom keyword
// given with WithKeywords is the fast path's.
func TestValidatorOfADataset(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(rel, text string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("gigs/dataset.yaml", "name: gigs\nowner: gigwork\nkey: id\nschema_version: 1\nschema: gig.schema.json\n")
	write("gigs/gig.schema.json", `{"type":"object","required":["id"],"properties":{"id":{"type":"string"},"skills":{"type":"array","items":{"type":"string"},"unevaluatedItems":false}}}`)
	write("places/dataset.yaml", "name: places\nowner: gigwork\nkey: id\nschema_version: 1\nschema: place.schema.json\n")
	write("places/place.schema.json", `{"type":"object","properties":{"id":{"type":"string"},"municipality":{"type":"string","x-taxonomy":{"type":"municipality"}}}}`)

	ds, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := ds[0].Validator(); got != "reference (unsupported keyword unevaluatedItems at /properties/skills)" {
		t.Errorf("gigs: %s", got)
	}
	if got := ds[1].Validator(); !strings.HasPrefix(got, "reference (unsupported keyword x-taxonomy at /properties/municipality") {
		t.Errorf("places without the taxonomy keyword: %s", got)
	}
	known := func(typ, v string) (bool, bool) { return typ == "municipality" && v == "AvNB_uwa_6n6", false }
	ds, err = LoadDir(dir, WithKeywords(fastschema.Taxonomy(known, fastschema.Fail)))
	if err != nil {
		t.Fatal(err)
	}
	if got := ds[1].Validator(); got != "fast" {
		t.Errorf("places with the taxonomy keyword: %s", got)
	}
	if res := ds[1].Checker().Check([]byte(`{"id":"p1","municipality":"AvNB_uwa_6n6"}`), schema.Limits{}); res.Violations != nil || res.Key != "p1" {
		t.Errorf("a known concept: %+v", res)
	}
	if _, err := LoadDir(dir, WithKeywords(fastschema.Keyword{Name: "x-bad"})); err == nil {
		t.Error("a keyword without a Compile function was taken")
	}
}
