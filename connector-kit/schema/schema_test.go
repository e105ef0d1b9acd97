package schema

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

func TestCheckRealAds(t *testing.T) {
	s := jobAdSchema(t)
	recs := append(realAds(t), smallAd(t))
	for i, data := range recs {
		v, vs := s.Check(data, Limits{})
		if vs != nil {
			t.Errorf("record %d: %v", i, vs)
		}
		if _, ok := v.(map[string]any)["id"].(string); !ok {
			t.Errorf("record %d: no id in decoded value", i)
		}
	}
}

func TestCheckViolations(t *testing.T) {
	s := jobAdSchema(t)
	ad := string(smallAd(t))
	// edit replaces the first occurrence of old in the 1 KiB ad.
	edit := func(pairs ...string) string {
		out := ad
		for i := 0; i < len(pairs); i += 2 {
			if !strings.Contains(out, pairs[i]) {
				t.Fatalf("ad has no %q", pairs[i])
			}
			out = strings.Replace(out, pairs[i], pairs[i+1], 1)
		}
		return out
	}
	tests := []struct {
		name string
		data string
		want []Violation
	}{
		{"valid", ad, nil},
		{"type", edit(`"removed":false`, `"removed":"no"`),
			[]Violation{{Pointer: "/removed", Keyword: "type", Message: "got string, want boolean"}}},
		{"required at top level names the field", edit(`"headline":`, `"title":`),
			[]Violation{{Pointer: "/headline", Keyword: "required", Message: `required property "headline" is missing`}}},
		{"required through $ref names the nested field", edit(`"name":"Fazer Food Services AB",`, ``),
			[]Violation{{Pointer: "/employer/name", Keyword: "required", Message: `required property "name" is missing`}}},
		{"pattern", edit(`"id":"22884504"`, `"id":"22 884 504"`),
			[]Violation{{Pointer: "/id", Keyword: "pattern", Message: "'22 884 504' does not match pattern '^[0-9A-Za-z_-]{1,64}$'"}}},
		{"format through $ref", edit(`"email":"info@visitabisko.com"`, `"email":"not an email"`),
			[]Violation{{Pointer: "/employer/email", Keyword: "format", Message: "'not an email' is not valid email: missing @"}}},
		{"anyOf is one violation listing its alternatives", edit(`"concept_id":"PFZr_Syz_cUq"`, `"concept_id":7`),
			[]Violation{{Pointer: "/employment_type", Keyword: "anyOf", Message: "must match at least one of the anyOf alternatives, but matches none: /employment_type/concept_id: got number, want null or string; got object, want null"}}},
		{"multiple violations, all listed, ordered by pointer",
			edit(`"removed":false`, `"removed":1`, `"timestamp":1539958052330`, `"timestamp":-1`, `"id":"22884504",`, ``, `"number_of_vacancies":1`, `"number_of_vacancies":1.5`),
			[]Violation{
				{Pointer: "/id", Keyword: "required", Message: `required property "id" is missing`},
				{Pointer: "/number_of_vacancies", Keyword: "type", Message: "got number, want null or integer"},
				{Pointer: "/removed", Keyword: "type", Message: "got number, want boolean"},
				{Pointer: "/timestamp", Keyword: "minimum", Message: "must be >= 0 but found -1"},
			}},
		{"pre-check stops before the schema", `[` + ad + `]`,
			[]Violation{{Pointer: "", Keyword: "type", Message: "record must be a JSON object, not an array"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := s.Check([]byte(tt.data), Limits{})
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestValidateSchemaKeywords(t *testing.T) {
	tests := []struct {
		name   string
		schema string
		record string
		want   []Violation
	}{
		{"integer beyond 2^53 refused before the schema", `{"properties":{"n":{"type":"integer"}}}`,
			`{"n":12345678901234567890}`, []Violation{{Pointer: "/n", Keyword: "number", Message: "integer 12345678901234567890 is beyond ±9007199254740991 (2^53−1): JavaScript and float64 decoders round it and int64 decoders may refuse it; send it as a string"}}},
		{"exact decimal bounds", `{"properties":{"n":{"maximum":1.2345678901234567890}}}`,
			`{"n":1.2345678901234567891}`, []Violation{{Pointer: "/n", Keyword: "maximum", Message: "must be <= 1.234567890123456789 but found 1.2345678901234567891"}}},
		{"1.0 is an integer", `{"properties":{"n":{"type":"integer"}}}`, `{"n":1.0}`, nil},
		{"several required missing", `{"required":["a","b/c","d~e"],"properties":{"a":{}}}`, `{"x":1}`,
			[]Violation{{Pointer: "/a", Keyword: "required", Message: `required property "a" is missing`}, {Pointer: "/b~1c", Keyword: "required", Message: `required property "b/c" is missing`}, {Pointer: "/d~0e", Keyword: "required", Message: `required property "d~e" is missing`}}},
		{"false subschema", `{"properties":{"x":false}}`, `{"x":1}`, []Violation{{Pointer: "/x", Keyword: "false", Message: "not allowed"}}},
		{"property named like a keyword", `{"properties":{"type":{"type":"string"}}}`, `{"type":1}`,
			[]Violation{{Pointer: "/type", Keyword: "type", Message: "got number, want string"}}},
		{"additionalProperties", `{"additionalProperties":false,"properties":{"a":{}}}`, `{"a":1,"b":2}`,
			[]Violation{{Pointer: "", Keyword: "additionalProperties", Message: "additional properties 'b' not allowed"}}},
		{"allOf leaves", `{"allOf":[{"required":["a"]},{"properties":{"b":{"type":"string"}}}]}`, `{"b":1}`,
			[]Violation{{Pointer: "/a", Keyword: "required", Message: `required property "a" is missing`}, {Pointer: "/b", Keyword: "type", Message: "got number, want string"}}},
		{"array indexes sort as numbers", `{"properties":{"l":{"items":{"type":"string"}}}}`, `{"l":[1,"x","x","x","x","x","x","x","x","x",2]}`,
			[]Violation{{Pointer: "/l/0", Keyword: "type", Message: "got number, want string"}, {Pointer: "/l/10", Keyword: "type", Message: "got number, want string"}}},
		{"dependentRequired", `{"dependentRequired":{"a":["b"]}}`, `{"a":1}`,
			[]Violation{{Pointer: "", Keyword: "dependentRequired", Message: "properties 'b' required, if 'a' exists"}}},
		{"draft-07 by $schema", `{"$schema":"http://json-schema.org/draft-07/schema#","items":[{"type":"string"}],"properties":{"l":{"items":[{"type":"string"}]}}}`,
			`{"l":[1]}`, []Violation{{Pointer: "/l/0", Keyword: "type", Message: "got number, want string"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustCompile(t, tt.schema)
			_, got := s.Check([]byte(tt.record), Limits{})
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestValidateNonJSONValue(t *testing.T) {
	s := mustCompile(t, `{"properties":{"a":{"type":"string"}}}`)
	got := s.Validate(map[string]any{"a": struct{}{}})
	if len(got) != 1 || got[0].Keyword != "json" {
		t.Fatalf("got %v", got)
	}
}

func TestCompileRefs(t *testing.T) {
	employer, err := os.ReadFile("testdata/employer.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	const byID = `{"properties":{"employer":{"$ref":"https://schemas.jobtech.se/test/employer.schema.json"}}}`
	tests := []struct {
		name      string
		doc       string
		resources map[string][]byte
		wantErr   error
		errHas    string
		record    string
		want      []Violation
	}{
		{name: "ref by $id of a resource keyed by its file", doc: byID,
			resources: map[string][]byte{"testdata/employer.schema.json": employer},
			record:    `{"employer":{"name":"X"}}`,
			want:      []Violation{{Pointer: "/employer/organization_number", Keyword: "required", Message: `required property "organization_number" is missing`}}},
		{name: "ref by relative file path", doc: `{"properties":{"employer":{"$ref":"employer.schema.json"}}}`,
			resources: map[string][]byte{"testdata/employer.schema.json": employer},
			record:    `{"employer":{"name":"X","organization_number":"12"}}`,
			want:      []Violation{{Pointer: "/employer/organization_number", Keyword: "pattern", Message: "'12' does not match pattern '^[0-9]{10}$'"}}},
		{name: "ref to a fragment of a resource", doc: `{"properties":{"n":{"$ref":"urn:test:defs#/$defs/n"}}}`,
			resources: map[string][]byte{"urn:test:defs": []byte(`{"$defs":{"n":{"type":"integer"}}}`)},
			record:    `{"n":"x"}`,
			want:      []Violation{{Pointer: "/n", Keyword: "type", Message: "got string, want integer"}}},
		{name: "network ref refused", doc: `{"properties":{"a":{"$ref":"http://example.com/x.json"}}}`,
			wantErr: ErrRefNotAllowed, errHas: `"http://example.com/x.json"`},
		{name: "file ref refused", doc: `{"$ref":"employer.schema.json"}`,
			wantErr: ErrRefNotAllowed, errHas: `employer.schema.json"`},
		{name: "$id ref without the resource refused", doc: byID,
			wantErr: ErrRefNotAllowed, errHas: `"https://schemas.jobtech.se/test/employer.schema.json"`},
		{name: "meta-schema violation", doc: `{"type":"objekt"}`, wantErr: ErrInvalidSchema, errHas: "/type"},
		{name: "bad regex", doc: `{"pattern":"(["}`, wantErr: ErrInvalidSchema, errHas: "pattern"},
		{name: "not JSON", doc: `{"type":`, wantErr: ErrInvalidSchema, errHas: "byte offset 8"},
		{name: "bad resource", doc: `{}`, resources: map[string][]byte{"urn:x": []byte(`{`)},
			wantErr: ErrInvalidSchema, errHas: "resource urn:x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Compile("testdata/test.schema.json", []byte(tt.doc), tt.resources)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.errHas) ||
					!strings.HasPrefix(err.Error(), "compile schema testdata/test.schema.json: ") {
					t.Fatalf("got error %v, want %v naming %s", err, tt.wantErr, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, got := s.Check([]byte(tt.record), Limits{})
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestKeywordOf(t *testing.T) {
	tests := []struct {
		loc       string
		kw        string
		isKeyword bool
	}{
		{"", "", false},
		{"/type", "type", true},
		{"/properties/employer/$ref/required", "required", true},
		{"/properties/required", "properties", false},
		{"/allOf/1/properties/x/pattern", "pattern", true},
		{"/anyOf", "anyOf", true},
		{"/anyOf/0", "anyOf", false},
		{"/items/0", "items", false},
		{"/items/type", "type", true},
		{"/dependentRequired/a/0", "dependentRequired", true},
		{"/dependencies/a/0", "dependencies", true},
		{"/dependencies/a/type", "type", true},
		{"/$defs/x", "$defs", false},
	}
	for _, tt := range tests {
		kw, isKw := keywordOf(tt.loc)
		if kw != tt.kw || isKw != tt.isKeyword {
			t.Errorf("keywordOf(%q) = %q, %v; want %q, %v", tt.loc, kw, isKw, tt.kw, tt.isKeyword)
		}
	}
}

func TestKindKeyword(t *testing.T) {
	tests := []struct {
		kind      jsonschema.ErrorKind
		schemaURL string
		kw        string
	}{
		{&kind.Type{}, "", "type"},
		{&kind.Required{}, "", "required"},
		{&kind.Pattern{}, "", "pattern"},
		{&kind.AnyOf{}, "", "anyOf"},
		{&kind.OneOf{}, "", "oneOf"},
		{&kind.FalseSchema{}, "urn:x#/properties/x", "false"},
		{&kind.FalseSchema{}, "urn:x#/properties/items", "false"},
		{&kind.FalseSchema{}, "urn:x#/properties/l/items", "items"},
		{&kind.FalseSchema{}, "urn:x#/unevaluatedProperties", "unevaluatedProperties"},
		{&kind.FalseSchema{}, "urn:x", "false"},
		{&kind.Not{}, "", "not"},
		{&kind.DependentRequired{Prop: "a"}, "", "dependentRequired"},
		{&kind.Dependency{Prop: "a"}, "", "dependencies"},
		{&kind.AdditionalProperties{}, "", "additionalProperties"},
		{&kind.RefCycle{}, "", "$ref"},
	}
	for _, tt := range tests {
		ve := &jsonschema.ValidationError{SchemaURL: tt.schemaURL, ErrorKind: tt.kind}
		if kw := kindKeyword(ve); kw != tt.kw {
			t.Errorf("kindKeyword(%T at %q) = %q; want %q", tt.kind, tt.schemaURL, kw, tt.kw)
		}
	}
}

func TestLookup(t *testing.T) {
	v := map[string]any{"a": map[string]any{"b/c": "slash", "d~e": "tilde", "l": []any{"x", "y"}}, "": "empty"}
	tests := []struct {
		ptr  string
		want any
		ok   bool
	}{
		{"/a/b~1c", "slash", true},
		{"/a/d~0e", "tilde", true},
		{"/a/l/1", "y", true},
		{"/a/l/01", nil, false},
		{"/a/l/2", nil, false},
		{"/a/l/-1", nil, false},
		{"/", "empty", true},
		{"/x", nil, false},
		{"a", nil, false},
	}
	for _, tt := range tests {
		got, ok := Lookup(v, tt.ptr)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("Lookup(%q) = %v, %v; want %v, %v", tt.ptr, got, ok, tt.want, tt.ok)
		}
	}
}

func TestComparePointers(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"", "/a", -1}, {"/a", "", 1}, {"/a/2", "/a/10", -1}, {"/a/b", "/a/a", 1}, {"/a", "/a/b", -1},
	}
	for _, tt := range tests {
		if got := ComparePointers(tt.a, tt.b); got != tt.want {
			t.Errorf("ComparePointers(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
