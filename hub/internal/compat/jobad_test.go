package compat

import (
	"testing"
)

// employmentTypes are the employment-type concepts of the JobTech taxonomy
// snapshot (testdata/jobtech/taxonomy-concepts.json).
var employmentTypes = []any{"PFZr_Syz_cUq", "Jh8f_q9J_pbJ", "9Wuo_2Yb_36E"}

// withEmploymentTypes gives the job ad an employment type restricted to the
// listed concept ids, as a schema author would pin a closed vocabulary.
func withEmploymentTypes(t testing.TB, ids ...any) string {
	m := jobAd(t)
	at(m, "$defs")["employmentType"] = map[string]any{
		"type": []any{"object", "null"}, "$ref": "#/$defs/conceptFields",
		// The taxonomy reference the shipped schema makes stays: only the enum is new.
		"properties": map[string]any{"concept_id": map[string]any{"enum": ids, "x-taxonomy": map[string]any{"type": "employment-type"}}},
	}
	at(m, "properties")["employment_type"] = map[string]any{"$ref": "#/$defs/employmentType"}
	return mustJSON(t, m)
}

// jobAdCases evolve the shipped job-ad schema as its stewards would.
func jobAdCases(t testing.TB) []pairCase {
	v1 := mustJSON(t, jobAd(t))
	evolve := func(f func(m map[string]any)) string {
		m := jobAd(t)
		f(m)
		return mustJSON(t, m)
	}
	headline := func(maxLength int) string {
		return evolve(func(m map[string]any) { at(m, "properties", "headline")["maxLength"] = maxLength })
	}
	remote := evolve(func(m map[string]any) {
		at(m, "properties")["remote_work"] = map[string]any{"type": []any{"boolean", "null"}}
	})
	noAccess := evolve(func(m map[string]any) { delete(at(m, "properties"), "access") })
	return []pairCase{
		{
			name: "job ad: optional field added at the open top level", old: v1, new: remote,
			backward: false, forward: true,
			breaking: []want{{PropertyAddedToOpenContentModel, DirBackward, "", "/properties/remote_work"}},
		},
		{
			name: "job ad: optional field added at the open top level, lenient policy", old: v1, new: remote, policy: Lenient,
			backward: true, forward: true,
			also: []want{{PropertyAddedToOpenContentModel, DirNone, "", "/properties/remote_work"}},
		},
		{
			name: "job ad: field removed from the open top level", old: v1, new: noAccess,
			backward: true, forward: false,
			breaking: []want{{PropertyRemovedFromOpenContentModel, DirForward, "/properties/access", ""}},
		},
		{
			name: "job ad: field removed from the open top level, lenient policy", old: v1, new: noAccess, policy: Lenient,
			backward: true, forward: true,
		},
		{
			name: "job ad: employment type pinned to the taxonomy's concept ids",
			old:  v1, new: withEmploymentTypes(t, employmentTypes...),
			backward: false, forward: true,
			breaking: []want{{EnumAdded, DirBackward, "/properties/employment_type/properties/concept_id", "/$defs/employmentType/properties/concept_id/enum"}},
		},
		{
			name:     "job ad: an employment type added to the enum",
			old:      withEmploymentTypes(t, employmentTypes...),
			new:      withEmploymentTypes(t, append(append([]any{}, employmentTypes...), "1paU_aCR_nGn")...),
			backward: true, forward: false,
			breaking: []want{{EnumArrayExtended, DirForward, "/$defs/employmentType/properties/concept_id/enum", "/$defs/employmentType/properties/concept_id/enum"}},
		},
		{
			name: "job ad: maxLength added on headline", old: v1, new: headline(200),
			backward: false, forward: true,
			breaking: []want{{MaxLengthAdded, DirBackward, "/properties/headline", "/properties/headline/maxLength"}},
		},
		{
			name: "job ad: maxLength lowered on headline", old: headline(200), new: headline(100),
			backward: false, forward: true,
			breaking: []want{{MaxLengthDecreased, DirBackward, "/properties/headline/maxLength", "/properties/headline/maxLength"}},
		},
		{
			name: "job ad: a required field added for ads (not tombstones)", old: v1,
			new: evolve(func(m map[string]any) {
				e := at(m, "else")
				e["required"] = append(e["required"].([]any), "application_deadline")
			}),
			backward: false, forward: true,
			breaking: []want{{RequiredPropertyAdded, DirBackward, "/else", "/else/required"}},
		},
		{
			name: "job ad: descriptions edited", old: v1,
			new: evolve(func(m map[string]any) {
				at(m, "properties", "id")["description"] = "Ad id (the record key)."
				m["title"] = "Job ad (JobTech)"
			}),
			backward: true, forward: true,
			also: []want{{DescriptionChanged, DirNone, "/properties/id/description", "/properties/id/description"},
				{TitleChanged, DirNone, "/title", "/title"}},
		},
		{
			name: "job ad: headline made nullable", old: v1,
			new: evolve(func(m map[string]any) {
				at(m, "properties", "headline")["type"] = []any{"string", "null"}
			}),
			backward: true, forward: false,
			breaking: []want{{TypeWidened, DirForward, "/properties/headline/type", "/properties/headline/type"}},
		},
		{
			name: "job ad: a concept's label made non-nullable in the shared definition", old: v1,
			new: evolve(func(m map[string]any) {
				at(m, "$defs", "conceptFields", "properties", "label")["type"] = "string"
			}),
			backward: false, forward: true,
			breaking: []want{{TypeNarrowed, DirBackward, "/$defs/conceptFields/properties/label/type", "/$defs/conceptFields/properties/label/type"}},
		},
		{
			name: "job ad: coordinates' latitude range narrowed", old: v1,
			new: evolve(func(m map[string]any) {
				lat := at(m, "properties", "workplace_address", "properties", "coordinates")["prefixItems"].([]any)[1].(map[string]any)
				lat["minimum"] = 55
			}),
			backward: false, forward: true,
			breaking: []want{{MinimumIncreased, DirBackward,
				"/properties/workplace_address/properties/coordinates/prefixItems/1/minimum",
				"/properties/workplace_address/properties/coordinates/prefixItems/1/minimum"}},
		},
	}
}

func TestJobAdEvolution(t *testing.T) {
	t.Parallel()
	for _, pc := range jobAdCases(t) {
		t.Run(pc.name, func(t *testing.T) { t.Parallel(); runPairCase(t, pc) })
	}
}

// TestTransitive checks three versions where each step is compatible and
// the first and last are not: only the TRANSITIVE modes refuse, naming
// version 1.
func TestTransitive(t *testing.T) {
	t.Parallel()
	jobV1 := mustJSON(t, jobAd(t))
	m := jobAd(t)
	delete(at(m, "properties"), "access")
	jobV2 := mustJSON(t, m)
	at(m, "properties")["access"] = map[string]any{"type": "object"}
	jobV3 := mustJSON(t, m)
	for _, tc := range []struct {
		name           string
		v1, v2, v3     string
		policy         Policy
		modes          []Mode // refused only in these
		typ            ChangeType
		oldPtr, newPtr string
	}{
		{
			name:   "field removed, then added back with another type (lenient)",
			v1:     `{"type":"object","properties":{"b":{"type":"string"}}}`,
			v2:     `{"type":"object"}`,
			v3:     `{"type":"object","properties":{"b":{"type":"integer"}}}`,
			policy: Lenient, modes: []Mode{BackwardTransitive, ForwardTransitive, FullTransitive},
			typ: TypeChanged, oldPtr: "/properties/b/type", newPtr: "/properties/b/type",
		},
		{
			name: "job ad: access removed, then added back as an object (lenient)",
			v1:   jobV1, v2: jobV2, v3: jobV3,
			policy: Lenient, modes: []Mode{BackwardTransitive, ForwardTransitive, FullTransitive},
			typ: TypeChanged, oldPtr: "/properties/access/type", newPtr: "/properties/access/type",
		},
		{
			name:  "a narrowing registered while the mode was NONE, then an annotation edit",
			v1:    `{"type":"string","maxLength":100}`,
			v2:    `{"type":"string","maxLength":50}`,
			v3:    `{"type":"string","maxLength":50,"title":"Headline"}`,
			modes: []Mode{BackwardTransitive, FullTransitive},
			typ:   MaxLengthDecreased, oldPtr: "/maxLength", newPtr: "/maxLength",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var opts []Option
			if tc.policy != "" {
				opts = append(opts, WithPolicy(tc.policy))
			}
			history := []Document{{Schema: []byte(tc.v1), Version: 1}, {Schema: []byte(tc.v2), Version: 2}}
			cand := Document{Schema: []byte(tc.v3), Version: 3}
			for _, mode := range Modes() {
				r, err := Check(mode, history, cand, opts...)
				if err != nil {
					t.Fatal(err)
				}
				refused := false
				for _, m := range tc.modes {
					refused = refused || m == mode
				}
				if r.Compatible == refused {
					t.Errorf("%s: compatible=%v, want %v:\n%s", mode, r.Compatible, !refused, listChanges(r.Breaking))
				}
				wantChecked := []int{2}
				if mode.Transitive() {
					wantChecked = []int{1, 2}
				}
				if mode == None {
					wantChecked = []int{}
				}
				if len(r.Checked) != len(wantChecked) || (len(wantChecked) > 0 && r.Checked[0] != wantChecked[0]) {
					t.Errorf("%s: checked %v, want %v", mode, r.Checked, wantChecked)
				}
				if !refused {
					continue
				}
				found := false
				for _, c := range r.Breaking {
					if c.Version != 1 {
						t.Errorf("%s: a breaking change against version %d: %v", mode, c.Version, c)
					}
					found = found || (c.Type == tc.typ && c.OldPointer == tc.oldPtr && c.NewPointer == tc.newPtr)
				}
				if !found {
					t.Errorf("%s: no %s %s -> %s among:\n%s", mode, tc.typ, tc.oldPtr, tc.newPtr, listChanges(r.Breaking))
				}
			}
		})
	}
}
