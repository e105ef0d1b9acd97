package fastschema

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// taxonomyAdSchema is the shipped job-ad schema with the taxonomy keyword on
// the concept references, as the registry issue will have it.
func taxonomyAdSchema(tb testing.TB) []byte {
	tb.Helper()
	var s map[string]any
	if err := json.Unmarshal(readFile(tb, jobAdSchema), &s); err != nil {
		tb.Fatal(err)
	}
	tax := func(ref, typ string) map[string]any {
		return map[string]any{"$ref": "#/$defs/" + ref,
			"properties": map[string]any{"concept_id": map[string]any{TaxonomyKeyword: map[string]any{"type": typ}}}}
	}
	list := func(typ string) map[string]any {
		return map[string]any{"type": []any{"array", "null"}, "items": tax("weightedConceptRef", typ)}
	}
	props := s["properties"].(map[string]any)
	props["occupation"] = tax("conceptRef", "occupation-name")
	props["occupation_group"] = tax("nullableConceptRef", "occupation-group")
	props["occupation_field"] = tax("nullableConceptRef", "occupation-field")
	props["employment_type"] = tax("nullableConceptRef", "employment-type")
	props["driving_license"] = map[string]any{"type": []any{"array", "null"}, "items": tax("conceptRef", "driving-license")}
	req := s["$defs"].(map[string]any)["requirements"].(map[string]any)["properties"].(map[string]any)
	req["skills"] = list("skill")
	req["languages"] = list("language")
	req["work_experiences"] = list("occupation-name")
	wa := props["workplace_address"].(map[string]any)["properties"].(map[string]any)
	wa["municipality_concept_id"] = map[string]any{"type": []any{"string", "null"}, TaxonomyKeyword: map[string]any{"type": "municipality"}}
	return marshal(s)
}

// taxonomyLookup looks ids up in the real concept snapshot; ids in
// deprecated count as deprecated.
func taxonomyLookup(tb testing.TB, deprecated map[string]bool) Lookup {
	_, byType := concepts(tb, 0)
	return func(typ, id string) (bool, bool) {
		return byType[typ][id], deprecated[id]
	}
}

// TestTaxonomyKeyword holds the fast path's taxonomy hook to a reference
// with the keyword as a vocabulary, on the real ads against the real concept
// snapshot: ad 23174210 names concepts absent from it and fails in both.
func TestTaxonomyKeyword(t *testing.T) {
	t.Parallel()
	doc := taxonomyAdSchema(t)
	ads := realAds(t)
	// The small ad's occupation, fg7B_yov_smw (also in ad 23187561), is
	// marked deprecated.
	for _, react := range []Outcome{Fail, Warn, Pass} {
		spec := &taxonomySpec{lookup: taxonomyLookup(t, map[string]bool{"fg7B_yov_smw": true}), onDeprecated: react}
		c := dcase{name: "jobads-taxonomy", doc: doc, opts: Options{Key: "/id", Tombstone: "/removed",
			Keywords: []Keyword{Taxonomy(spec.lookup, react)}}, tax: spec}
		fast, o := c.compile(t)
		recs := append(append([][]byte{smallAd(t)}, ads...), mutations(smallAd(t), replacements, 1)...)
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
	}
}

// TestTaxonomyKeywordNeedsACheck: a schema using the keyword is unsupported
// unless a check is configured, and so is a form of it the hook does not
// know.
func TestTaxonomyKeywordNeedsACheck(t *testing.T) {
	doc := taxonomyAdSchema(t)
	_, err := Compile("tax.schema.json", doc, nil, Options{})
	var ue *UnsupportedError
	if !errors.As(err, &ue) || ue.Keyword != TaxonomyKeyword || !strings.Contains(ue.Location, "#/properties/") {
		t.Fatalf("without a check: %v", err)
	}
	tax := Taxonomy(func(string, string) (bool, bool) { return true, false }, Fail)
	_, err = Compile("tax.schema.json", []byte(`{"properties":{"o":{"x-taxonomy":{"type":"skill","match":"legacy-id"}}}}`), nil, Options{Keywords: []Keyword{tax}})
	if !errors.As(err, &ue) || ue.Keyword != TaxonomyKeyword+"/match" || !strings.HasSuffix(ue.Location, "#/properties/o") {
		t.Fatalf("unknown member: %v", err)
	}
	_, err = Compile("tax.schema.json", []byte(`{"x-taxonomy":"skill"}`), nil, Options{Keywords: []Keyword{tax}})
	if err == nil || errors.Is(err, ErrUnsupported) {
		t.Fatalf("a bad keyword value must make the schema invalid: %v", err)
	}
}
