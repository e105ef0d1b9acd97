package registry

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
	"github.com/jobtech-dev/datahub/internal/taxonomy"
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
// dataset says it is checked by the reference and why; the taxonomy keyword
// is the fast path's, with the taxonomy and the deprecated reaction the
// reference was compiled with (registry.Compile's options).
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
	write("places/dataset.yaml", "name: places\nowner: gigwork\nkey: id\nschema_version: 1\nschema: place.schema.json\ntaxonomy_deprecated: reject\n")
	write("places/place.schema.json", `{"type":"object","properties":{"id":{"type":"string"},"municipality":{"type":"string","x-taxonomy":{"type":"municipality"}}}}`)

	ds, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := ds[0].Validator(); got != "reference (unsupported keyword unevaluatedItems at /properties/skills)" {
		t.Errorf("gigs: %s", got)
	}
	// Without a taxonomy the reference checks no record against the
	// keyword; nor does the fast path.
	if got := ds[1].Validator(); got != "fast" {
		t.Errorf("places without a taxonomy: %s", got)
	}
	if res := ds[1].Checker().Check([]byte(`{"id":"p1","municipality":"nowhere"}`), schema.Limits{}); res.Violations != nil || res.Reference {
		t.Errorf("no taxonomy, any string: %+v", res)
	}

	x := taxonomy.NewIndex()
	x.Put(taxonomy.Concept{ID: "AvNB_uwa_6n6", Type: "municipality", Label: "Stockholm"})
	x.Put(taxonomy.Concept{ID: "old_mun_xyz", Type: "municipality", Label: "Old", Deprecated: true, ReplacedBy: []taxonomy.Ref{{ID: "AvNB_uwa_6n6"}}})
	ds, err = LoadDir(dir, schema.WithTaxonomy(x))
	if err != nil {
		t.Fatal(err)
	}
	d := ds[1]
	if got := d.Validator(); got != "fast" {
		t.Errorf("places with the taxonomy: %s", got)
	}
	c := d.CheckerFor(d.Latest())
	if res := c.Check([]byte(`{"id":"p1","municipality":"AvNB_uwa_6n6"}`), schema.Limits{}); res.Violations != nil || res.Key != "p1" || res.Reference {
		t.Errorf("a known concept: %+v", res)
	}
	for _, rec := range []string{`{"id":"p2","municipality":"nowhere"}`, `{"id":"p3","municipality":"old_mun_xyz"}`} {
		res := c.Check([]byte(rec), schema.Limits{})
		_, want := d.Schema.Check([]byte(rec), schema.Limits{})
		if res.Violations == nil || !reflect.DeepEqual(res.Violations, want) || res.Disagreement {
			t.Errorf("%s (unknown, deprecated under reject): %+v, reference %v", rec, res, want)
		}
	}
}

// Each schema version has its own one-pass checker (a record pinned to an
// older version is judged by that version's schema, on the fast path); a
// version compiled for other key or tombstone fields than the dataset's
// now is judged by the reference with the dataset's fields.
func TestCheckerPerVersion(t *testing.T) {
	t.Parallel()
	d := &Dataset{Name: "gigs", Key: "id"}
	compile := func(n int, doc string) *Version {
		v := &Version{Number: n, Source: Source{Name: "gigs/gig.schema.json", Doc: []byte(doc)}}
		if err := Compile(d, v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	v1 := compile(1, `{"type":"object","properties":{"id":{"type":"string"},"title":{"type":"string","maxLength":5}}}`)
	v2 := compile(2, `{"type":"object","properties":{"id":{"type":"string"},"title":{"type":"string","maxLength":50}}}`)
	d = d.WithVersions([]*Version{v1, v2})
	rec := []byte(`{"id":"g1","title":"a long title"}`)
	if c := d.CheckerFor(v2); !c.Fast() || c != d.Checker() {
		t.Fatalf("latest: %s", c.Validator())
	}
	if res := d.CheckerFor(v2).Check(rec, schema.Limits{}); res.Violations != nil || res.Key != "g1" || res.Reference {
		t.Errorf("version 2: %+v", res)
	}
	c1 := d.CheckerFor(v1)
	if !c1.Fast() {
		t.Fatalf("version 1: %s", c1.Validator())
	}
	if res := c1.Check(rec, schema.Limits{}); len(res.Violations) != 1 || res.Violations[0].Keyword != "maxLength" {
		t.Errorf("version 1: %+v", res)
	}
	moved := *d
	moved.Key, moved.keyPtr = "ref", ""
	if c := moved.CheckerFor(v2); c.Fast() || c.Check([]byte(`{"ref":"r1"}`), schema.Limits{}).Key != "r1" {
		t.Errorf("key field changed since the version was compiled: %s", c.Validator())
	}
}
