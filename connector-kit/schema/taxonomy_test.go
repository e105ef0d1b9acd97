package schema

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// mapLookup is a small taxonomy for tests: type → id → concept.
type mapLookup map[string]map[string]ConceptStatus

func (m mapLookup) Concept(typ, value string, legacy bool) ConceptStatus {
	for id, st := range m[typ] {
		st.ID = id
		if legacy && strings.HasPrefix(value, "legacy:") && value == "legacy:"+id || !legacy && value == id {
			st.Known = true
			return st
		}
	}
	return ConceptStatus{}
}

func (m mapLookup) Len() int {
	n := 0
	for _, ids := range m {
		n += len(ids)
	}
	return n
}

func (m mapLookup) Deprecated() int {
	n := 0
	for _, ids := range m {
		for _, st := range ids {
			if st.Deprecated {
				n++
			}
		}
	}
	return n
}

func (m mapLookup) MayBeDeprecated(v string) bool {
	for _, ids := range m {
		for id, st := range ids {
			if st.Deprecated && (v == id || v == "legacy:"+id) {
				return true
			}
		}
	}
	return false
}

var testTaxonomy = mapLookup{
	"occupation-name": {"7wdX_4rv_33z": {}, "fg7B_yov_smw": {Deprecated: true, ReplacedBy: []string{"rQds_YGd_quU"}}},
	"skill":           {"jCsR_WQX_CKD": {}},
	"municipality":    {"AvNB_uwa_6n6": {}},
	"sun-level-1":     {"aaaa_bbb_ccc": {}},
	"sun-level-2":     {"dddd_eee_fff": {}},
}

const taxSchema = `{
  "type": "object",
  "properties": {
    "occupation": {"type": "object", "properties": {"concept_id": {"x-taxonomy": {"type": "occupation-name"}}}},
    "skills": {"type": "array", "items": {"x-taxonomy": {"type": "skill"}}},
    "municipality_code": {"type": ["string", "null"], "x-taxonomy": {"type": "municipality", "by": "legacy_id"}},
    "level": {"x-taxonomy": {"type": ["sun-level-1", "sun-level-2"]}},
    "either": {"anyOf": [{"x-taxonomy": {"type": "occupation-name"}}, {"type": "integer"}]}
  }
}`

func compileTax(t *testing.T, opts ...Option) *Schema {
	t.Helper()
	s, err := Compile("tax.schema.json", []byte(taxSchema), nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTaxonomyKeyword(t *testing.T) {
	t.Parallel()
	s := compileTax(t, WithTaxonomy(testTaxonomy), WithDeprecated(RejectDeprecated))
	if got := s.UncheckedKeywords(); got != nil {
		t.Errorf("with a lookup nothing is skipped: %v", got)
	}
	tests := []struct {
		name, rec string
		want      []Violation
	}{
		{"known ids", `{"occupation":{"concept_id":"7wdX_4rv_33z"},"skills":["jCsR_WQX_CKD"],"municipality_code":"legacy:AvNB_uwa_6n6","level":"dddd_eee_fff"}`, nil},
		{"other values pass", `{"occupation":{"concept_id":7},"skills":[null,true,{}],"municipality_code":null,"either":3}`, nil},
		{"unknown id names itself, its pointer and the type", `{"occupation":{"concept_id":"29387234_yov_smw"}}`,
			[]Violation{{Pointer: "/occupation/concept_id", Keyword: "x-taxonomy", Message: `"29387234_yov_smw" is not the id of an occupation-name concept in the taxonomy`}}},
		{"an id of another type is unknown", `{"skills":["jCsR_WQX_CKD","7wdX_4rv_33z"]}`,
			[]Violation{{Pointer: "/skills/1", Keyword: "x-taxonomy", Message: `"7wdX_4rv_33z" is not the id of a skill concept in the taxonomy`}}},
		{"legacy id", `{"municipality_code":"0180"}`,
			[]Violation{{Pointer: "/municipality_code", Keyword: "x-taxonomy", Message: `"0180" is not the legacy id of a municipality concept in the taxonomy`}}},
		{"a concept id is not a legacy id", `{"municipality_code":"AvNB_uwa_6n6"}`,
			[]Violation{{Pointer: "/municipality_code", Keyword: "x-taxonomy", Message: `"AvNB_uwa_6n6" is not the legacy id of a municipality concept in the taxonomy`}}},
		{"type list", `{"level":"aaaa_bbb_ccc"}`, nil},
		{"type list unknown", `{"level":"jCsR_WQX_CKD"}`,
			[]Violation{{Pointer: "/level", Keyword: "x-taxonomy", Message: `"jCsR_WQX_CKD" is not the id of a sun-level-1 or sun-level-2 concept in the taxonomy`}}},
		{"deprecated rejected with its replacement", `{"occupation":{"concept_id":"fg7B_yov_smw"}}`,
			[]Violation{{Pointer: "/occupation/concept_id", Keyword: "x-taxonomy", Message: `"fg7B_yov_smw" names a deprecated occupation-name concept: replaced by rQds_YGd_quU`}}},
	}
	for _, tc := range tests {
		_, got := s.Check([]byte(tc.rec), Limits{})
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %v\nwant %v", tc.name, got, tc.want)
		}
	}
}

// TestTaxonomyDeprecatedReactions: reject fails the record; warn stores it
// and Warnings names the concept; accept says nothing.
func TestTaxonomyDeprecatedReactions(t *testing.T) {
	t.Parallel()
	rec := []byte(`{"occupation":{"concept_id":"fg7B_yov_smw"},"either":"fg7B_yov_smw","skills":["jCsR_WQX_CKD"]}`)
	want := []Violation{
		{Pointer: "/either", Keyword: "x-taxonomy", Message: `"fg7B_yov_smw" names a deprecated occupation-name concept: replaced by rQds_YGd_quU`},
		{Pointer: "/occupation/concept_id", Keyword: "x-taxonomy", Message: `"fg7B_yov_smw" names a deprecated occupation-name concept: replaced by rQds_YGd_quU`},
	}
	for _, tc := range []struct {
		r             DeprecatedReaction
		valid, warned bool
	}{{RejectDeprecated, false, false}, {WarnDeprecated, true, true}, {AcceptDeprecated, true, false}, {"", true, true}} {
		s := compileTax(t, WithTaxonomy(testTaxonomy), WithDeprecated(tc.r))
		v, vs := s.Check(rec, Limits{})
		if (vs == nil) != tc.valid {
			t.Errorf("%q: violations %v", tc.r, vs)
			continue
		}
		if !tc.valid {
			// "either" is an anyOf: its failure lists the alternatives.
			if len(vs) != 2 || vs[0].Keyword != "anyOf" || vs[1] != want[1] {
				t.Errorf("%q: violations %v", tc.r, vs)
			}
			continue
		}
		got := s.Warnings(v)
		if tc.warned != (got != nil) || tc.warned && !reflect.DeepEqual(got, want) {
			t.Errorf("%q: warnings %v, want %v", tc.r, got, want)
		}
	}
	// A record naming no deprecated concept is not validated again.
	s := compileTax(t, WithTaxonomy(testTaxonomy))
	v, _ := s.Check([]byte(`{"occupation":{"concept_id":"7wdX_4rv_33z"}}`), Limits{})
	if w := s.Warnings(v); w != nil {
		t.Errorf("warnings for a current concept: %v", w)
	}
}

// TestTaxonomyUnchecked: without a lookup (the kit), or with an empty one (a
// hub whose taxonomy is not loaded), values pass; the first says so.
func TestTaxonomyUnchecked(t *testing.T) {
	t.Parallel()
	rec := []byte(`{"occupation":{"concept_id":"nope"},"municipality_code":"nope"}`)
	s := compileTax(t)
	if got := s.UncheckedKeywords(); !reflect.DeepEqual(got, []string{TaxonomyKeyword}) {
		t.Errorf("UncheckedKeywords = %v", got)
	}
	if _, vs := s.Check(rec, Limits{}); vs != nil {
		t.Errorf("without a lookup: %v", vs)
	}
	s = compileTax(t, WithTaxonomy(mapLookup{}))
	if _, vs := s.Check(rec, Limits{}); vs != nil || s.UncheckedKeywords() != nil {
		t.Errorf("with an empty lookup: %v", vs)
	}
	plain, err := Compile("plain.schema.json", []byte(`{"type":"object"}`), nil)
	if err != nil || plain.UncheckedKeywords() != nil {
		t.Errorf("a schema without the keyword skips nothing: %v %v", err, plain.UncheckedKeywords())
	}
}

// TestTaxonomyKeywordValue: the keyword's value is checked when the schema
// is compiled, lookup or not.
func TestTaxonomyKeywordValue(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ value, want string }{
		{`"skill"`, `x-taxonomy must be an object such as {"type": "occupation-name"}, not a string`},
		{`{}`, `x-taxonomy needs "type"`},
		{`{"type":""}`, `"" is not a concept type`},
		{`{"type":"Skill"}`, `"Skill" is not a concept type`},
		{`{"type":[]}`, `an empty list names no concept type`},
		{`{"type":["skill",3]}`, `every item must be a concept type (a string), not a number`},
		{`{"type":"skill","by":"label"}`, `x-taxonomy/by must be "id" (concept ids, the default) or "legacy_id"`},
		{`{"type":"skill","match":"x"}`, `unknown member "match"`},
	} {
		for _, opts := range [][]Option{nil, {WithTaxonomy(testTaxonomy)}} {
			_, err := Compile("bad.schema.json", []byte(`{"properties":{"s":{"x-taxonomy":`+tc.value+`}}}`), nil, opts...)
			if !errors.Is(err, ErrInvalidSchema) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: %v, want %q", tc.value, err, tc.want)
			}
		}
	}
	if _, err := Compile("s.json", []byte(`{}`), nil, WithDeprecated("ignore")); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("bad reaction: %v", err)
	}
	if _, err := Compile("s.json", []byte(`{}`), nil, WithTaxonomy(nil)); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("nil lookup: %v", err)
	}
	for in, want := range map[string]DeprecatedReaction{"": WarnDeprecated, "reject": RejectDeprecated, "accept": AcceptDeprecated} {
		if got, err := ParseDeprecatedReaction(in); err != nil || got != want {
			t.Errorf("ParseDeprecatedReaction(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseDeprecatedReaction("Warn"); err == nil {
		t.Error("reactions are lower case")
	}
}
