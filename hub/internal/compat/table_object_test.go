package compat

import "testing"

// objectCases cover properties, required, content models (open, closed,
// partially open), patternProperties, unevaluatedProperties, property
// counts and names, and dependencies.
var objectCases = []pairCase{
	{
		name:     "optional property added to open content: old records may carry it with any value",
		old:      `{"type":"object","properties":{"a":{"type":"string"}}}`,
		new:      `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}}}`,
		backward: false, forward: true,
		breaking: []want{{PropertyAddedToOpenContentModel, DirBackward, "", "/properties/b"}},
	},
	{
		name:     "optional property added to open content, lenient policy",
		old:      `{"type":"object","properties":{"a":{"type":"string"}}}`,
		new:      `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}}}`,
		policy:   Lenient,
		backward: true, forward: true,
		also: []want{{PropertyAddedToOpenContentModel, DirNone, "", "/properties/b"}},
	},
	{
		name:     "property with an empty schema added to open content",
		old:      `{"type":"object","properties":{"a":{"type":"string"}}}`,
		new:      `{"type":"object","properties":{"a":{"type":"string"},"b":{"description":"anything"}}}`,
		backward: true, forward: true,
		also: []want{{PropertyWithEmptySchemaAddedToOpenContent, DirNone, "", "/properties/b"}},
	},
	{
		name:     "optional property added to closed content",
		old:      `{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}`,
		new:      `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}},"additionalProperties":false}`,
		backward: true, forward: false,
		breaking: []want{{PropertyAddedToClosedContentModel, DirForward, "/additionalProperties", "/properties/b"}},
	},
	{
		name:     "property removed from open content",
		old:      `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}}}`,
		new:      `{"type":"object","properties":{"a":{"type":"string"}}}`,
		backward: true, forward: false,
		breaking: []want{{PropertyRemovedFromOpenContentModel, DirForward, "/properties/b", ""}},
	},
	{
		name:     "property removed from closed content",
		old:      `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}},"additionalProperties":false}`,
		new:      `{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}`,
		backward: false, forward: true,
		breaking: []want{{PropertyRemovedFromClosedContentModel, DirBackward, "/properties/b", "/additionalProperties"}},
	},
	{
		name:     "property added to partially open content with the same schema",
		old:      `{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":{"type":"string"}}`,
		new:      `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}},"additionalProperties":{"type":"string"}}`,
		backward: true, forward: true,
		also: []want{{PropertyAddedToPartiallyOpenContentModel, DirNone, "/additionalProperties", "/properties/b"}},
	},
	{
		name:     "property added to partially open content with a narrower schema",
		old:      `{"type":"object","additionalProperties":{"type":["string","null"]}}`,
		new:      `{"type":"object","properties":{"b":{"type":"string"}},"additionalProperties":{"type":["string","null"]}}`,
		backward: false, forward: true,
		breaking: []want{{TypeNarrowed, DirBackward, "/additionalProperties/type", "/properties/b/type"}},
	},
	{
		name:     "required property added",
		old:      `{"type":"object","properties":{"a":{"type":"string"}}}`,
		new:      `{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]}`,
		backward: false, forward: true,
		breaking: []want{{RequiredPropertyAdded, DirBackward, "", "/required"}},
	},
	{
		name:     "required property with a default added: validation fills in nothing",
		old:      `{"type":"object","properties":{"a":{"type":"string","default":"x"}}}`,
		new:      `{"type":"object","properties":{"a":{"type":"string","default":"x"}},"required":["a"]}`,
		backward: false, forward: true,
		breaking: []want{{RequiredPropertyAdded, DirBackward, "", "/required"}},
	},
	{
		name:     "required property removed",
		old:      `{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]}`,
		new:      `{"type":"object","properties":{"a":{"type":"string"}}}`,
		backward: true, forward: false,
		breaking: []want{{RequiredPropertyRemoved, DirForward, "/required", ""}},
	},
	{
		name:     "content model closed",
		old:      `{"type":"object","properties":{"a":{"type":"string"}}}`,
		new:      `{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}`,
		backward: false, forward: true,
		breaking: []want{{AdditionalPropertiesClosed, DirBackward, "", "/additionalProperties"}},
	},
	{
		name:     "content model closed, lenient policy",
		old:      `{"type":"object","properties":{"a":{"type":"string"}}}`,
		new:      `{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}`,
		policy:   Lenient,
		backward: true, forward: true,
		also: []want{{AdditionalPropertiesClosed, DirNone, "", "/additionalProperties"}},
	},
	{
		name:     "content model opened",
		old:      `{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}`,
		new:      `{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":true}`,
		backward: true, forward: false,
		breaking: []want{{AdditionalPropertiesOpened, DirForward, "/additionalProperties", "/additionalProperties"}},
	},
	{
		name:     "additionalProperties schema narrowed",
		old:      `{"type":"object","additionalProperties":{"type":["string","number"]}}`,
		new:      `{"type":"object","additionalProperties":{"type":"string"}}`,
		backward: false, forward: true,
		breaking: []want{{TypeNarrowed, DirBackward, "/additionalProperties/type", "/additionalProperties/type"}},
	},
	{
		name:     "patternProperties added to open content",
		old:      `{"type":"object","properties":{"a":{"type":"string"}}}`,
		new:      `{"type":"object","properties":{"a":{"type":"string"}},"patternProperties":{"^x-":{"type":"string"}}}`,
		backward: false, forward: true,
		breaking: []want{{PatternPropertyAdded, DirBackward, "", "/patternProperties/^x-"}},
	},
	{
		name:     "patternProperties schema widened",
		old:      `{"type":"object","patternProperties":{"^x-":{"type":"string"}},"additionalProperties":false}`,
		new:      `{"type":"object","patternProperties":{"^x-":{"type":["string","null"]}},"additionalProperties":false}`,
		backward: true, forward: false,
		breaking: []want{{TypeWidened, DirForward, "/patternProperties/^x-/type", "/patternProperties/^x-/type"}},
	},
	{
		name:     "patternProperties removed from closed content",
		old:      `{"type":"object","patternProperties":{"^x-":{"type":"string"}},"additionalProperties":false}`,
		new:      `{"type":"object","additionalProperties":false}`,
		backward: false, forward: true,
		breaking: []want{{PatternPropertyRemoved, DirBackward, "/patternProperties/^x-", ""}},
	},
	{
		name:     "a second, disjoint pattern added to closed content",
		old:      `{"type":"object","patternProperties":{"^x-":{"type":"string"}},"additionalProperties":false}`,
		new:      `{"type":"object","patternProperties":{"^x-":{"type":"string"},"^y-":{"type":"integer"}},"additionalProperties":false}`,
		backward: true, forward: false,
		breaking: []want{{PatternPropertyAdded, DirForward, "", "/patternProperties/^y-"}},
	},
	{
		name:     "unevaluatedProperties false added to a schema without applicators",
		old:      `{"type":"object","properties":{"a":{"type":"string"}}}`,
		new:      `{"type":"object","properties":{"a":{"type":"string"}},"unevaluatedProperties":false}`,
		backward: false, forward: true,
		breaking: []want{{UnevaluatedPropertiesClosed, DirBackward, "", "/unevaluatedProperties"}},
	},
	{
		name: "property added to a schema that extends a base with allOf and closes it with unevaluatedProperties",
		old: `{"$defs":{"base":{"properties":{"id":{"type":"string"}},"required":["id"]}},
			"type":"object","allOf":[{"$ref":"#/$defs/base"}],"properties":{"name":{"type":"string"}},"unevaluatedProperties":false}`,
		new: `{"$defs":{"base":{"properties":{"id":{"type":"string"}},"required":["id"]}},
			"type":"object","allOf":[{"$ref":"#/$defs/base"}],"properties":{"name":{"type":"string"},"city":{"type":"string"}},"unevaluatedProperties":false}`,
		backward: true, forward: false,
		breaking: []want{{PropertyAddedToClosedContentModel, DirForward, "/unevaluatedProperties", "/properties/city"}},
	},
	{
		name: "unevaluatedProperties beside a changed anyOf cannot be proved",
		old: `{"type":"object","anyOf":[{"properties":{"a":{"type":"string"}},"required":["a"]},{"required":["b"]}],
			"unevaluatedProperties":false}`,
		new: `{"type":"object","anyOf":[{"properties":{"a":{"type":"string"}},"required":["a"]},{"properties":{"c":true},"required":["b"]}],
			"unevaluatedProperties":false}`,
		backward: false, forward: false,
		breaking: []want{{UnevaluatedPropertiesUnproven, DirBoth, "/unevaluatedProperties", "/unevaluatedProperties"}},
	},
	{
		name:     "minProperties added and maxProperties raised",
		old:      `{"type":"object","maxProperties":3}`,
		new:      `{"type":"object","minProperties":1,"maxProperties":5}`,
		backward: false, forward: false,
		breaking: []want{{MinPropertiesAdded, DirBackward, "", "/minProperties"}, {MaxPropertiesIncreased, DirForward, "/maxProperties", "/maxProperties"}},
	},
	{
		name:     "propertyNames added",
		old:      `{"type":"object"}`,
		new:      `{"type":"object","propertyNames":{"maxLength":10}}`,
		backward: false, forward: true,
		breaking: []want{{PropertyNamesAdded, DirBackward, "", "/propertyNames"}},
	},
	{
		name:     "dependentRequired gains a name and loses another",
		old:      `{"type":"object","dependentRequired":{"card":["name"],"iban":["bic"]}}`,
		new:      `{"type":"object","dependentRequired":{"card":["name","expiry"]}}`,
		backward: false, forward: false,
		breaking: []want{{DependentRequiredAdded, DirBackward, "/dependentRequired/card", "/dependentRequired/card"},
			{DependentRequiredRemoved, DirForward, "/dependentRequired/iban", ""}},
	},
	{
		name:     "dependentSchemas added",
		old:      `{"type":"object"}`,
		new:      `{"type":"object","dependentSchemas":{"card":{"required":["expiry"]}}}`,
		backward: false, forward: true,
		breaking: []want{{DependentSchemaAdded, DirBackward, "", "/dependentSchemas/card"}},
	},
	{
		name:     "object keywords added to a schema that only accepts strings change nothing",
		old:      `{"type":"string"}`,
		new:      `{"type":"string","required":["a"],"properties":{"a":{"type":"integer"}},"additionalProperties":false}`,
		backward: true, forward: true,
		also: []want{{RequiredPropertyAdded, DirNone, "", "/required"}},
	},
}

func TestObjectChanges(t *testing.T) {
	t.Parallel()
	for _, pc := range objectCases {
		t.Run(pc.name, func(t *testing.T) { t.Parallel(); runPairCase(t, pc) })
	}
}
