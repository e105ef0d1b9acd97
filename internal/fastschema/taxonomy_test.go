package fastschema

import (
	"errors"
	"strings"
	"testing"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
	"github.com/jobtech-dev/datahub/internal/taxonomy"
)

// deprecatedTaxonomy is the real snapshot with the small ad's occupation,
// fg7B_yov_smw (also ad 23187561's occupation and ad 23174210's must-have
// work experience), deprecated and replaced.
func deprecatedTaxonomy(tb testing.TB) *taxonomy.Index {
	tb.Helper()
	x, err := taxonomy.LoadFile(conceptsFile)
	if err != nil {
		tb.Fatal(err)
	}
	x.Put(taxonomy.Concept{ID: "fg7B_yov_smw", Type: "occupation-name", Label: "Systemutvecklare/Programmerare",
		LegacyID: "2419", Deprecated: true, ReplacedBy: []taxonomy.Ref{{ID: "rQds_YGd_quU"}}})
	return x
}

// TestTaxonomyKeyword holds the fast path's taxonomy keyword to the
// reference's vocabulary (connector-kit/schema) on the shipped job-ad
// schema, the real ads and mutations of them, against the real concept
// snapshot with one concept deprecated, under each reaction: ad 23174210
// names concepts absent from the snapshot and fails in both.
func TestTaxonomyKeyword(t *testing.T) {
	t.Parallel()
	x := deprecatedTaxonomy(t)
	ads := realAds(t)
	for _, react := range []Outcome{Fail, Warn, Pass} {
		spec := &taxonomySpec{lookup: x, onDeprecated: react}
		opts := Options{Key: "/id", Tombstone: "/removed", Keywords: []Keyword{spec.keyword()}}
		c := dcase{name: "jobads-taxonomy", file: jobAdSchema, opts: opts, tax: spec}
		fast, o := c.compile(t)
		recs := append(append([][]byte{smallAd(t)}, ads...), mutations(smallAd(t), replacements, 1)...)
		for _, ad := range ads {
			recs = append(recs, mutations(ad, taxonomyReplacements, 2)...)
		}
		agree(t, fast, o, recs)
		for i, ad := range ads {
			res := fast.Validate(ad)
			want := !strings.Contains(string(ad), `"23174210"`) &&
				(react != Fail || !strings.Contains(string(ad), `"fg7B_yov_smw"`))
			if res.Valid != want {
				t.Errorf("react %d: ad %d valid=%v, want %v", react, i, res.Valid, want)
			}
		}
		res := fast.Validate(smallAd(t))
		if want := react != Fail; res.Valid != want || res.Valid && res.Warned != (react == Warn) {
			t.Errorf("react %d: small ad with a deprecated occupation: %+v", react, res)
		}
		if v, vs := o.kit.Check(smallAd(t), schema.Limits{}); vs == nil {
			if w := o.kit.Warnings(v); (w != nil) != (react == Warn) || w != nil && w[0].Pointer != "/occupation/concept_id" {
				t.Errorf("react %d: reference warnings %v", react, w)
			}
		}
	}
}

// taxonomyReplacements are values for the mutations of the taxonomy test:
// concept ids of the right type, of another type, legacy ids, deprecated
// ones, near misses, and values that are not strings.
var taxonomyReplacements = []string{
	`"fg7B_yov_smw"`, `"7wdX_4rv_33z"`, `"AvNB_uwa_6n6"`, `"0180"`, `"2419"`, `"199"`, `"01"`, `"jCsR_WQX_CKD"`,
	`"NVxJ_hLg_TYS"`, `"fg7B_yov_sm"`, `"FG7B_YOV_SMW"`, `""`, `null`, `7`, `{"concept_id":"fg7B_yov_smw"}`,
}

// TestTaxonomyKeywordEmptyLookup: with no concepts loaded, both validators
// let every value pass.
func TestTaxonomyKeywordEmptyLookup(t *testing.T) {
	t.Parallel()
	spec := &taxonomySpec{lookup: taxonomy.NewIndex(), onDeprecated: Fail}
	c := dcase{name: "jobads-empty-taxonomy", file: jobAdSchema, tax: spec,
		opts: Options{Key: "/id", Tombstone: "/removed", Keywords: []Keyword{spec.keyword()}}}
	fast, o := c.compile(t)
	recs := realAds(t)
	for _, ad := range realAds(t) {
		recs = append(recs, mutations(ad, taxonomyReplacements, 1)...)
	}
	agree(t, fast, o, recs)
	for i, ad := range realAds(t) {
		if !fast.Validate(ad).Valid {
			t.Errorf("ad %d is invalid with no taxonomy loaded", i)
		}
	}
}

// TestTaxonomyKeywordNeedsACheck: a schema using the keyword is unsupported
// unless a check is configured; a value the reference refuses makes the
// schema invalid in both.
func TestTaxonomyKeywordNeedsACheck(t *testing.T) {
	doc := readFile(t, jobAdSchema)
	_, err := Compile("tax.schema.json", doc, nil, Options{})
	var ue *UnsupportedError
	if !errors.As(err, &ue) || ue.Keyword != TaxonomyKeyword || !strings.Contains(ue.Location, "#/") {
		t.Fatalf("without a check: %v", err)
	}
	tax := Taxonomy(taxonomy.NewIndex(), Fail)
	for _, bad := range []string{
		`{"properties":{"o":{"x-taxonomy":{"type":"skill","match":"legacy-id"}}}}`,
		`{"x-taxonomy":"skill"}`,
		`{"x-taxonomy":{"type":"skill","by":"label"}}`,
	} {
		_, err = Compile("tax.schema.json", []byte(bad), nil, Options{Keywords: []Keyword{tax}})
		_, refErr := schema.Compile("tax.schema.json", []byte(bad), nil)
		if !errors.Is(err, schema.ErrInvalidSchema) || errors.Is(err, ErrUnsupported) || !errors.Is(refErr, schema.ErrInvalidSchema) {
			t.Errorf("%s: fast %v; reference %v: both must refuse it as invalid", bad, err, refErr)
		}
	}
}
