package compat

import (
	"fmt"
	"testing"
)

var sprintf = fmt.Sprintf

// commonV1 and commonV2 are a shared resource in two versions, referenced
// by its $id.
const (
	commonID = "https://schemas.jobtechdev.se/datahub/common/v1.json"
	commonV1 = `{"$id":"https://schemas.jobtechdev.se/datahub/common/v1.json",
		"$defs":{"municipality":{"type":"string","pattern":"^[0-9]{4}$"}}}`
	commonV2 = `{"$id":"https://schemas.jobtechdev.se/datahub/common/v1.json",
		"$defs":{"municipality":{"type":"string","pattern":"^[0-9]{4}$","maxLength":3}}}`
	treeSchema = `{"type":"object","properties":{"name":{"type":"string","maxLength":%d},
		"children":{"type":"array","items":{"$ref":"#"}}},"required":["name"]}`
)

// structureCases cover arrays, $ref into $defs and into other resources,
// recursive schemas, anyOf/oneOf/allOf, not and if/then/else.
var structureCases = []pairCase{
	{
		name:     "items narrowed",
		old:      `{"type":"array","items":{"type":["string","integer"]}}`,
		new:      `{"type":"array","items":{"type":"string"}}`,
		backward: false, forward: true,
		breaking: []want{{TypeNarrowed, DirBackward, "/items/type", "/items/type"}},
	},
	{
		name:     "items added to an array of anything",
		old:      `{"type":"array"}`,
		new:      `{"type":"array","items":{"type":"string"}}`,
		backward: false, forward: true,
		breaking: []want{{ItemsAdded, DirBackward, "", "/items"}},
	},
	{
		name:     "maxItems lowered and minItems lowered",
		old:      `{"type":"array","minItems":2,"maxItems":10}`,
		new:      `{"type":"array","minItems":1,"maxItems":5}`,
		backward: false, forward: false,
		breaking: []want{{MaxItemsDecreased, DirBackward, "/maxItems", "/maxItems"}, {MinItemsDecreased, DirForward, "/minItems", "/minItems"}},
	},
	{
		name:     "prefixItems item added to a closed tuple",
		old:      `{"type":"array","prefixItems":[{"type":"number"}],"items":false}`,
		new:      `{"type":"array","prefixItems":[{"type":"number"},{"type":"number"}],"items":false}`,
		backward: true, forward: false,
		breaking: []want{{PrefixItemAdded, DirForward, "", "/prefixItems/1"}},
	},
	{
		name:     "prefixItems item removed from an open tuple",
		old:      `{"type":"array","prefixItems":[{"type":"number"},{"type":"string"}]}`,
		new:      `{"type":"array","prefixItems":[{"type":"number"}]}`,
		backward: true, forward: false,
		breaking: []want{{PrefixItemRemoved, DirForward, "/prefixItems/1", ""}},
	},
	{
		name:     "items beyond maxItems change nothing (coordinates)",
		old:      `{"type":"array","minItems":2,"maxItems":2,"prefixItems":[{"type":"number"},{"type":"number"}]}`,
		new:      `{"type":"array","minItems":2,"maxItems":2,"prefixItems":[{"type":"number"},{"type":"number"}],"items":{"type":"string"}}`,
		backward: true, forward: true,
		also: []want{{ItemsAdded, DirNone, "", "/items"}},
	},
	{
		name:     "prefixItems bound narrowed",
		old:      `{"type":"array","prefixItems":[{"type":"number","minimum":-180,"maximum":180}]}`,
		new:      `{"type":"array","prefixItems":[{"type":"number","minimum":-90,"maximum":180}]}`,
		backward: false, forward: true,
		breaking: []want{{MinimumIncreased, DirBackward, "/prefixItems/0/minimum", "/prefixItems/0/minimum"}},
	},
	{
		name:     "uniqueItems added",
		old:      `{"type":"array","items":{"type":"string"}}`,
		new:      `{"type":"array","items":{"type":"string"},"uniqueItems":true}`,
		backward: false, forward: true,
		breaking: []want{{UniqueItemsAdded, DirBackward, "", "/uniqueItems"}},
	},
	{
		name:     "contains widened from integer to number",
		old:      `{"type":"array","contains":{"type":"integer"}}`,
		new:      `{"type":"array","contains":{"type":"number"}}`,
		backward: true, forward: false,
		breaking: []want{{ContainsChanged, DirForward, "/contains", "/contains"}},
	},
	{
		name:     "contains with maxContains widened",
		old:      `{"type":"array","contains":{"type":"integer"},"maxContains":2}`,
		new:      `{"type":"array","contains":{"type":"number"},"maxContains":2}`,
		backward: false, forward: false,
		breaking: []want{{ContainsChanged, DirBoth, "/contains", "/contains"}},
	},
	{
		name: "a $defs definition narrowed, used twice, is reported once",
		old: `{"type":"object","properties":{"from":{"$ref":"#/$defs/day"},"to":{"$ref":"#/$defs/day"}},
			"$defs":{"day":{"type":"string","maxLength":20}}}`,
		new: `{"type":"object","properties":{"from":{"$ref":"#/$defs/day"},"to":{"$ref":"#/$defs/day"}},
			"$defs":{"day":{"type":"string","maxLength":10}}}`,
		backward: false, forward: true,
		breaking: []want{{MaxLengthDecreased, DirBackward, "/$defs/day/maxLength", "/$defs/day/maxLength"}},
	},
	{
		name:     "an inline schema moved to $defs unchanged",
		old:      `{"type":"object","properties":{"day":{"type":"string","maxLength":20}}}`,
		new:      `{"type":"object","properties":{"day":{"$ref":"#/$defs/day"}},"$defs":{"day":{"type":"string","maxLength":20}}}`,
		backward: true, forward: true,
		also: []want{{DefinitionAdded, DirNone, "", "/$defs/day"}},
	},
	{
		name:     "a $ref with siblings (a concept reference) narrowed in the referenced definition",
		old:      `{"type":["object","null"],"$ref":"#/$defs/f","$defs":{"f":{"required":["id"],"properties":{"id":{"type":"string"},"label":{"type":["string","null"]}}}}}`,
		new:      `{"type":["object","null"],"$ref":"#/$defs/f","$defs":{"f":{"required":["id"],"properties":{"id":{"type":"string"},"label":{"type":"string"}}}}}`,
		backward: false, forward: true,
		breaking: []want{{TypeNarrowed, DirBackward, "/$defs/f/properties/label/type", "/$defs/f/properties/label/type"}},
	},
	{
		name:    "a definition in another resource narrowed",
		old:     `{"type":"object","properties":{"municipality_code":{"$ref":"` + commonID + `#/$defs/municipality"}}}`,
		new:     `{"type":"object","properties":{"municipality_code":{"$ref":"` + commonID + `#/$defs/municipality"}}}`,
		oldRes:  map[string]string{commonID: commonV1},
		newRes:  map[string]string{commonID: commonV2},
		oldName: "jobad.schema.json", newName: "jobad.schema.json",
		backward: false, forward: true,
		breaking: []want{{MaxLengthAdded, DirBackward, commonID + "#/$defs/municipality", commonID + "#/$defs/municipality/maxLength"}},
	},
	{
		name:     "recursive schema: a change deep in a tree",
		old:      sprintf(treeSchema, 100),
		new:      sprintf(treeSchema, 50),
		backward: false, forward: true,
		breaking: []want{{MaxLengthDecreased, DirBackward, "/properties/name/maxLength", "/properties/name/maxLength"}},
	},
	{
		name:     "recursive schema unchanged",
		old:      sprintf(treeSchema, 100),
		new:      sprintf(treeSchema, 100),
		backward: true, forward: true,
	},
	{
		name:     "anyOf branch added",
		old:      `{"anyOf":[{"type":"string"},{"type":"integer"}]}`,
		new:      `{"anyOf":[{"type":"string"},{"type":"integer"},{"type":"boolean"}]}`,
		backward: true, forward: false,
		breaking: []want{{AnyOfBranchAdded, DirForward, "/anyOf", "/anyOf/2"}},
	},
	{
		name:     "anyOf branch removed",
		old:      `{"anyOf":[{"type":"string"},{"type":"integer"},{"type":"boolean"}]}`,
		new:      `{"anyOf":[{"type":"string"},{"type":"integer"}]}`,
		backward: false, forward: true,
		breaking: []want{{AnyOfBranchRemoved, DirBackward, "/anyOf/2", "/anyOf"}},
	},
	{
		name:     "anyOf branches reordered",
		old:      `{"anyOf":[{"type":"string","maxLength":3},{"type":"integer"}]}`,
		new:      `{"anyOf":[{"type":"integer"},{"type":"string","maxLength":3}]}`,
		backward: true, forward: true,
	},
	{
		name:     "anyOf branch narrowed while another still covers it",
		old:      `{"anyOf":[{"type":"string","maxLength":10},{"type":"string"}]}`,
		new:      `{"anyOf":[{"type":"string","maxLength":5},{"type":"string"}]}`,
		backward: true, forward: true,
		also: []want{{MaxLengthDecreased, DirNone, "/anyOf/0/maxLength", "/anyOf/0/maxLength"}},
	},
	{
		name:     "anyOf of types replaced by a type list",
		old:      `{"anyOf":[{"type":"string"},{"type":"null"}]}`,
		new:      `{"type":["string","null"]}`,
		backward: true, forward: true,
	},
	{
		name:     "type list replaced by anyOf of types",
		old:      `{"type":["string","null"]}`,
		new:      `{"anyOf":[{"type":"string"},{"type":"null"}]}`,
		backward: true, forward: true,
	},
	{
		name: "discriminated oneOf gains a branch",
		old: `{"oneOf":[{"type":"object","properties":{"kind":{"const":"a"}},"required":["kind"]},
			{"type":"object","properties":{"kind":{"const":"b"}},"required":["kind"]}]}`,
		new: `{"oneOf":[{"type":"object","properties":{"kind":{"const":"a"}},"required":["kind"]},
			{"type":"object","properties":{"kind":{"const":"b"}},"required":["kind"]},
			{"type":"object","properties":{"kind":{"const":"c"}},"required":["kind"]}]}`,
		backward: true, forward: false,
		breaking: []want{{OneOfBranchAdded, DirForward, "/oneOf", "/oneOf/2"}},
	},
	{
		name:     "oneOf gains a branch that overlaps an old one",
		old:      `{"oneOf":[{"type":"string"},{"type":"integer"}]}`,
		new:      `{"oneOf":[{"type":"string"},{"type":"integer"},{"type":"number"}]}`,
		backward: false, forward: false,
		breaking: []want{{OneOfBranchesMayOverlap, DirBackward, "/oneOf/1", "/oneOf"}, {OneOfBranchAdded, DirForward, "/oneOf", "/oneOf/2"}},
	},
	{
		name:     "anyOf became oneOf over disjoint branches",
		old:      `{"anyOf":[{"type":"string"},{"type":"integer"}]}`,
		new:      `{"oneOf":[{"type":"string"},{"type":"integer"}]}`,
		backward: true, forward: true,
		also: []want{{CombinedTypeChanged, DirNone, "/anyOf", "/oneOf"}},
	},
	{
		name:     "allOf branches that cannot be merged: one narrowed",
		old:      `{"allOf":[{"properties":{"a":{"type":"string"}},"additionalProperties":false},{"properties":{"b":{"type":"string"}}}]}`,
		new:      `{"allOf":[{"properties":{"a":{"type":"string","maxLength":3}},"additionalProperties":false},{"properties":{"b":{"type":"string"}}}]}`,
		backward: false, forward: true,
		breaking: []want{{MaxLengthAdded, DirBackward, "/allOf/0/properties/a", "/allOf/0/properties/a/maxLength"}},
	},
	{
		name:     "allOf branch added",
		old:      `{"type":"object","properties":{"a":{"type":"string"}}}`,
		new:      `{"type":"object","properties":{"a":{"type":"string"}},"allOf":[{"required":["a"]}]}`,
		backward: false, forward: true,
		breaking: []want{{RequiredPropertyAdded, DirBackward, "", "/allOf/0/required"}},
	},
	{
		name:     "not added, disjoint from what was allowed",
		old:      `{"type":"string"}`,
		new:      `{"type":"string","not":{"type":"null"}}`,
		backward: true, forward: true,
		also: []want{{NotAdded, DirNone, "", "/not"}},
	},
	{
		name:     "not added, refusing some old values",
		old:      `{"type":"string"}`,
		new:      `{"type":"string","not":{"const":""}}`,
		backward: false, forward: true,
		breaking: []want{{NotAdded, DirBackward, "", "/not"}},
	},
	{
		name:     "not narrowed (so the schema widened)",
		old:      `{"not":{"type":["string","null"]}}`,
		new:      `{"not":{"type":"null"}}`,
		backward: true, forward: false,
		breaking: []want{{NotChanged, DirForward, "/not", "/not"}},
	},
	{
		name:     "then gains a required property",
		old:      `{"type":"object","if":{"properties":{"removed":{"const":true}},"required":["removed"]},"then":{"required":["id"]},"else":{"required":["id"]}}`,
		new:      `{"type":"object","if":{"properties":{"removed":{"const":true}},"required":["removed"]},"then":{"required":["id","removed_date"]},"else":{"required":["id"]}}`,
		backward: false, forward: true,
		breaking: []want{{RequiredPropertyAdded, DirBackward, "/then", "/then/required"}},
	},
	{
		name:     "the if of an if/then/else changed",
		old:      `{"type":"object","if":{"required":["a"]},"then":{"required":["b"]}}`,
		new:      `{"type":"object","if":{"required":["c"]},"then":{"required":["b"]}}`,
		backward: false, forward: false,
		breaking: []want{{ConditionalChanged, DirBoth, "/if", "/if"}},
	},
	{
		name:     "if/then/else added whose branches every old record satisfies",
		old:      `{"type":"object","required":["a"]}`,
		new:      `{"type":"object","required":["a"],"if":{"required":["b"]},"then":{"required":["a"]}}`,
		backward: true, forward: true,
		also: []want{{ConditionalAdded, DirNone, "", "/if"}},
	},
}

func TestStructureChanges(t *testing.T) {
	t.Parallel()
	for _, pc := range structureCases {
		t.Run(pc.name, func(t *testing.T) { t.Parallel(); runPairCase(t, pc) })
	}
}
