package recordcheck_test

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
	"github.com/jobtech-dev/datahub/internal/fastschema"
	"github.com/jobtech-dev/datahub/internal/recordcheck"
	"github.com/jobtech-dev/datahub/internal/taxonomy"
)

const jobAdSchema = "../../schemas/jobads/jobad.schema.json"

// compile returns a checker of the schema at path with the fields o names,
// the reference compiled with opts.
func compile(t *testing.T, path string, doc []byte, o recordcheck.Options, opts ...schema.Option) *recordcheck.Checker {
	t.Helper()
	ref, err := schema.Compile(path, doc, nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	c, err := recordcheck.New(ref, doc, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSpace(b)
}

var jobAdFields = recordcheck.Options{Key: "/id", Tombstone: "/removed"}

// Every shipped example gets the same verdict, key, tombstone flag,
// report and warnings from the checker as from the reference alone, and the
// job-ad schema is judged by the fast path, taxonomy keyword included (the
// real concept snapshot, as the examples are checked against it).
func TestCheckerAgreesWithTheReference(t *testing.T) {
	t.Parallel()
	x, err := taxonomy.LoadFile("../../testdata/jobtech/taxonomy-concepts.json")
	if err != nil {
		t.Fatal(err)
	}
	c := compile(t, jobAdSchema, read(t, jobAdSchema), jobAdFields, schema.WithTaxonomy(x))
	if !c.Fast() || c.Validator() != "fast" {
		t.Fatalf("the job-ad schema is not judged by the fast path: %s", c.Validator())
	}
	ref := recordcheck.Reference(c.Schema(), jobAdFields)
	files, _ := filepath.Glob("../../schemas/jobads/examples/*/*.json")
	if len(files) < 10 {
		t.Fatalf("only %d examples", len(files))
	}
	for _, f := range files {
		rec := read(t, f)
		got, want := c.Check(rec, schema.Limits{}), ref.Check(rec, schema.Limits{})
		if got.Reference != (got.Violations != nil) {
			t.Errorf("%s: the reference judged it: %v", f, got.Reference)
		}
		got.Reference = true
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n fast+reference %+v\n reference      %+v", f, got, want)
		}
		if strings.Contains(f, "/valid/") && (got.Violations != nil || got.KeyProblem != "" || got.Key == "") {
			t.Errorf("%s: a valid example refused: %+v", f, got)
		}
		if strings.Contains(f, "/invalid/") && got.Violations == nil {
			t.Errorf("%s: an invalid example passed", f)
		}
	}
}

// A record valid under the schema whose key cannot be a key gets the
// reference's reason, as does a record over the limits given per call.
func TestCheckerKeyProblemsAndLimits(t *testing.T) {
	t.Parallel()
	doc := []byte(`{"type":"object","properties":{"removed":{"type":"boolean"}}}`)
	c := compile(t, "inline.schema.json", doc, jobAdFields)
	if !c.Fast() {
		t.Fatal(c.Validator())
	}
	for rec, want := range map[string]recordcheck.Result{
		`{"id":"a-1"}`:             {Key: "a-1"},
		`{"id":42,"removed":true}`: {Key: "42", Tombstone: true},
		`{"id":4.2}`:               {Key: "4.2", KeyProblem: "must be a non-empty string or an integer, not 4.2"},
		`{"id":""}`:                {KeyProblem: "must be a non-empty string or an integer, not an empty string"},
		`{"name":"x"}`:             {KeyProblem: "is missing"},
		`{"id":["a"]}`:             {KeyProblem: "must be a non-empty string or an integer, not an array"},
		`{"id":"` + strings.Repeat("é", 100) + `"}`: {Key: strings.Repeat("é", 100), KeyProblem: "is too long: 200 bytes (at most 256 plain characters)"},
	} {
		want.Reference = want.KeyProblem != ""
		if got := c.Check([]byte(rec), schema.Limits{}); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %+v, want %+v", rec, got, want)
		}
	}
	res := c.Check([]byte(`{"id":"a","x":[[[1]]]}`), schema.Limits{MaxDepth: 2})
	if len(res.Violations) != 1 || res.Violations[0].Keyword != schema.KeywordMaxDepth {
		t.Errorf("depth over the per-call limit: %+v", res)
	}
	res = c.Check([]byte(`{"id":"abcdef"}`), schema.Limits{MaxBytes: 10})
	if len(res.Violations) != 1 || res.Violations[0].Keyword != schema.KeywordMaxBytes {
		t.Errorf("size over the per-call limit: %+v", res)
	}
}

// A schema the fast path does not implement is checked by the reference,
// and Validator names the keyword and where it is.
func TestCheckerFallsBackForUnsupportedKeywords(t *testing.T) {
	t.Parallel()
	doc := []byte(`{"type":"object","properties":{"tags":{"type":"array","unevaluatedItems":false,"prefixItems":[{"type":"string"}]}}}`)
	c := compile(t, "tags.schema.json", doc, recordcheck.Options{Key: "/id"})
	if c.Fast() {
		t.Fatal("unevaluatedItems is judged by the fast path")
	}
	if want := "reference (unsupported keyword unevaluatedItems at /properties/tags)"; c.Validator() != want {
		t.Errorf("Validator() = %q, want %q", c.Validator(), want)
	}
	if res := c.Check([]byte(`{"id":"a","tags":["x",1]}`), schema.Limits{}); len(res.Violations) != 1 || res.Violations[0].Pointer != "/tags/1" {
		t.Errorf("the reference did not judge the record: %+v", res)
	}
	if res := c.Check([]byte(`{"id":"a","tags":["x"]}`), schema.Limits{}); res.Violations != nil || res.Key != "a" {
		t.Errorf("a valid record: %+v", res)
	}
}

// When the fast path refuses a record the reference accepts, the
// reference's verdict stands and the result says so. A custom keyword the
// reference does not know stands in for a fast-path bug.
func TestCheckerReferenceWinsADisagreement(t *testing.T) {
	t.Parallel()
	never := fastschema.Keyword{Name: "x-never", Compile: func(any) (fastschema.StringCheck, error) {
		return func(string) fastschema.Outcome { return fastschema.Fail }, nil
	}}
	doc := []byte(`{"type":"object","properties":{"name":{"type":"string","x-never":true}}}`)
	c := compile(t, "never.schema.json", doc, recordcheck.Options{Key: "/id", Keywords: []fastschema.Keyword{never}})
	if !c.Fast() {
		t.Fatal(c.Validator())
	}
	res := c.Check([]byte(`{"id":"a","name":"x"}`), schema.Limits{})
	if !res.Disagreement || res.Violations != nil || res.Key != "a" {
		t.Errorf("got %+v, want the reference's acceptance marked as a disagreement", res)
	}
	if res := c.Check([]byte(`{"id":"a"}`), schema.Limits{}); res.Disagreement || res.Key != "a" {
		t.Errorf("no disagreement without the keyword's value: %+v", res)
	}
}

// The taxonomy keyword is judged on the fast path as the reference was
// compiled to judge it: a deprecated concept passes silently (accept), is
// stored with the reference's warnings (warn), or is refused with the
// reference's report (reject); an unknown concept is refused.
func TestCheckerTaxonomyReaction(t *testing.T) {
	t.Parallel()
	x := taxonomy.NewIndex()
	x.Put(taxonomy.Concept{ID: "AvNB_uwa_6n6", Type: "municipality", Label: "Stockholm"})
	x.Put(taxonomy.Concept{ID: "old_mun_xyz", Type: "municipality", Label: "Old", Deprecated: true, ReplacedBy: []taxonomy.Ref{{ID: "AvNB_uwa_6n6"}}})
	doc := []byte(`{"type":"object","properties":{"id":{"type":"string"},"municipality":{"type":"string","x-taxonomy":{"type":"municipality"}}}}`)
	known, old, unknown := []byte(`{"id":"a","municipality":"AvNB_uwa_6n6"}`), []byte(`{"id":"b","municipality":"old_mun_xyz"}`), []byte(`{"id":"c","municipality":"nowhere"}`)
	for _, react := range []schema.DeprecatedReaction{schema.AcceptDeprecated, schema.WarnDeprecated, schema.RejectDeprecated} {
		c := compile(t, "place.schema.json", doc, recordcheck.Options{Key: "/id"}, schema.WithTaxonomy(x), schema.WithDeprecated(react))
		if !c.Fast() {
			t.Fatalf("%s: %s", react, c.Validator())
		}
		if got := c.Check(known, schema.Limits{}); got.Violations != nil || got.Warnings != nil || got.Reference {
			t.Errorf("%s: a known concept: %+v", react, got)
		}
		if got := c.Check(unknown, schema.Limits{}); got.Violations == nil || got.Violations[0].Keyword != schema.TaxonomyKeyword {
			t.Errorf("%s: an unknown concept: %+v", react, got)
		}
		got := c.Check(old, schema.Limits{})
		v, viol := c.Schema().Check(old, schema.Limits{})
		switch react {
		case schema.AcceptDeprecated:
			if got.Violations != nil || got.Warnings != nil || got.Reference {
				t.Errorf("accept: a deprecated concept: %+v", got)
			}
		case schema.WarnDeprecated:
			want := c.Schema().Warnings(v)
			if got.Violations != nil || want == nil || !reflect.DeepEqual(got.Warnings, want) || got.Key != "b" {
				t.Errorf("warn: a deprecated concept: %+v, reference warnings %v", got, want)
			}
		case schema.RejectDeprecated:
			if viol == nil || !reflect.DeepEqual(got.Violations, viol) || got.Disagreement {
				t.Errorf("reject: a deprecated concept: %+v, reference %v", got, viol)
			}
		}
	}
}
