package compat

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestBadInputIsRefusedWithWhereAndWhat(t *testing.T) {
	t.Parallel()
	good := Document{Schema: []byte(`{"type":"object"}`), Version: 1}
	for _, tc := range []struct {
		name     string
		doc      Document
		sentinel error
		mentions []string
	}{
		{"not JSON", Document{Schema: []byte(`{"type":`), Version: 2}, ErrInvalidSchema, []string{"version 2", "not valid JSON"}},
		{"not a schema", Document{Schema: []byte(`{"type":"object","properties":{"a":{"type":"strin"}}}`), Version: 2},
			ErrInvalidSchema, []string{"/properties/a/type"}},
		{"negative maxLength", Document{Schema: []byte(`{"properties":{"a":{"maxLength":-1}}}`), Version: 2},
			ErrInvalidSchema, []string{"/properties/a/maxLength"}},
		{"unresolvable $ref", Document{Schema: []byte(`{"properties":{"a":{"$ref":"#/$defs/missing"}}}`), Version: 2},
			ErrInvalidSchema, []string{"#/$defs/missing"}},
		{"$ref to an unknown resource", Document{Schema: []byte(`{"$ref":"https://example.org/x.json"}`), Version: 2},
			ErrInvalidSchema, []string{"https://example.org/x.json"}},
		{"draft-07", Document{Schema: []byte(`{"$schema":"http://json-schema.org/draft-07/schema#","type":"object"}`), Version: 2},
			ErrUnsupported, []string{"draft-07", "2020-12"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Diff(good, tc.doc)
			if !errors.Is(err, tc.sentinel) {
				t.Fatalf("Diff: %v, want %v", err, tc.sentinel)
			}
			for _, m := range append(tc.mentions, "new schema") {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
			if _, err := Check(None, []Document{good}, tc.doc); !errors.Is(err, tc.sentinel) {
				t.Errorf("Check(NONE) with a bad candidate: %v, want %v", err, tc.sentinel)
			}
			if _, err := Check(Backward, []Document{tc.doc}, good); !errors.Is(err, tc.sentinel) {
				t.Errorf("Check with a bad registered version: %v, want %v", err, tc.sentinel)
			}
		})
	}
}

func TestRefCycleWithoutDescentIsAnError(t *testing.T) {
	t.Parallel()
	doc := Document{Schema: []byte(`{"type":"object","properties":{"a":{"$ref":"#/$defs/x"}},
		"$defs":{"x":{"$ref":"#/$defs/y"},"y":{"allOf":[{"$ref":"#/$defs/x"}]}}}`)}
	old := Document{Schema: []byte(`{"type":"object","properties":{"a":{"type":"string"}}}`)}
	_, err := Diff(old, doc)
	if err == nil {
		t.Fatal("a $ref cycle that never reads the record was accepted")
	}
	if !errors.Is(err, ErrInvalidSchema) || !strings.Contains(err.Error(), "/$defs/") {
		t.Fatalf("error %v does not name the cycle", err)
	}
}

func TestModesAndPolicies(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Mode{"": Backward, "backward": Backward, "full-transitive": FullTransitive,
		" NONE ": None, "Forward_Transitive": ForwardTransitive} {
		if got, err := ParseMode(in); err != nil || got != want {
			t.Errorf("ParseMode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseMode("SIDEWAYS"); !errors.Is(err, ErrUnknownMode) || !strings.Contains(err.Error(), "FULL_TRANSITIVE") {
		t.Errorf("ParseMode(SIDEWAYS): %v", err)
	}
	doc := Document{Schema: []byte(`{}`)}
	if _, err := Check(Mode("SIDEWAYS"), nil, doc); !errors.Is(err, ErrUnknownMode) {
		t.Errorf("Check with an unknown mode: %v", err)
	}
	if _, err := Check(Backward, nil, doc, WithPolicy("LOOSE")); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("Check with an unknown policy: %v", err)
	}
	if p, err := ParsePolicy("lenient"); err != nil || p != Lenient {
		t.Errorf("ParsePolicy(lenient) = %q, %v", p, err)
	}
	r, err := Check(FullTransitive, nil, doc)
	if err != nil || !r.Compatible || len(r.Checked) != 0 {
		t.Errorf("the first version: %+v, %v", r, err)
	}
	for _, m := range Modes() {
		if m.Transitive() != strings.HasSuffix(string(m), "_TRANSITIVE") {
			t.Errorf("%s.Transitive() = %v", m, m.Transitive())
		}
	}
}

// TestMutuallyRecursiveDefinitionsStayCheap compares definitions that refer
// to each other through anyOf and oneOf: every pair of schemas is compared
// once per pass, so the change in each is found without an explosion.
func TestMutuallyRecursiveDefinitionsStayCheap(t *testing.T) {
	t.Parallel()
	const n = 6
	mk := func(extra string) []byte {
		var defs []string
		for i := range n {
			defs = append(defs, fmt.Sprintf(`"d%d":{"type":"object","properties":{
				"x":{"anyOf":[{"$ref":"#/$defs/d%d"},{"$ref":"#/$defs/d%d"},{"type":"string"%s}]},
				"y":{"oneOf":[{"$ref":"#/$defs/d%d"},{"type":"integer"}]}}}`, i, (i+1)%n, (i+2)%n, extra, (i+3)%n))
		}
		return []byte(`{"$ref":"#/$defs/d0","$defs":{` + strings.Join(defs, ",") + `}}`)
	}
	cs, err := Diff(Document{Schema: mk("")}, Document{Schema: mk(`,"maxLength":3`)})
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, c := range cs {
		if c.Type == MaxLengthAdded && c.Breaks == DirBackward {
			found++
		}
	}
	if found != n {
		t.Fatalf("found %d of the %d maxLength changes:\n%s", found, n, listChanges(cs))
	}
}
