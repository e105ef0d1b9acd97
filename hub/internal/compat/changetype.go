package compat

// ChangeType names a kind of schema change. The names follow Confluent's
// JSON Schema differences where one exists; a change's [Direction] is
// decided for each change from both schemas, not from its type alone.
type ChangeType string

// Changes to annotations, which never break compatibility.
const (
	IDChanged          ChangeType = "ID_CHANGED"
	TitleChanged       ChangeType = "TITLE_CHANGED"
	DescriptionChanged ChangeType = "DESCRIPTION_CHANGED"
	DefaultChanged     ChangeType = "DEFAULT_CHANGED"
	ExamplesChanged    ChangeType = "EXAMPLES_CHANGED"
	DeprecatedChanged  ChangeType = "DEPRECATED_CHANGED"
	AnnotationChanged  ChangeType = "ANNOTATION_CHANGED"
	DefinitionAdded    ChangeType = "DEFINITION_ADDED"
	DefinitionRemoved  ChangeType = "DEFINITION_REMOVED"
)

// Changes to what a schema accepts as a whole.
const (
	SchemaNarrowedToFalse  ChangeType = "SCHEMA_NARROWED_TO_FALSE"
	SchemaWidenedFromFalse ChangeType = "SCHEMA_WIDENED_FROM_FALSE"
	TypeNarrowed           ChangeType = "TYPE_NARROWED"
	TypeWidened            ChangeType = "TYPE_WIDENED"
	TypeChanged            ChangeType = "TYPE_CHANGED"
	EnumAdded              ChangeType = "ENUM_ADDED"
	EnumRemoved            ChangeType = "ENUM_REMOVED"
	EnumArrayNarrowed      ChangeType = "ENUM_ARRAY_NARROWED"
	EnumArrayExtended      ChangeType = "ENUM_ARRAY_EXTENDED"
	EnumArrayChanged       ChangeType = "ENUM_ARRAY_CHANGED"
	ConstAdded             ChangeType = "CONST_ADDED"
	ConstRemoved           ChangeType = "CONST_REMOVED"
	ConstChanged           ChangeType = "CONST_CHANGED"
	UnknownKeywordAdded    ChangeType = "UNKNOWN_KEYWORD_ADDED"
	UnknownKeywordRemoved  ChangeType = "UNKNOWN_KEYWORD_REMOVED"
	UnknownKeywordChanged  ChangeType = "UNKNOWN_KEYWORD_CHANGED"
	RefCycleUnproven       ChangeType = "REF_CYCLE_UNPROVEN"
)

// Changes to string constraints.
const (
	MinLengthAdded     ChangeType = "MIN_LENGTH_ADDED"
	MinLengthRemoved   ChangeType = "MIN_LENGTH_REMOVED"
	MinLengthIncreased ChangeType = "MIN_LENGTH_INCREASED"
	MinLengthDecreased ChangeType = "MIN_LENGTH_DECREASED"
	MaxLengthAdded     ChangeType = "MAX_LENGTH_ADDED"
	MaxLengthRemoved   ChangeType = "MAX_LENGTH_REMOVED"
	MaxLengthIncreased ChangeType = "MAX_LENGTH_INCREASED"
	MaxLengthDecreased ChangeType = "MAX_LENGTH_DECREASED"
	PatternAdded       ChangeType = "PATTERN_ADDED"
	PatternRemoved     ChangeType = "PATTERN_REMOVED"
	PatternChanged     ChangeType = "PATTERN_CHANGED"
	FormatAdded        ChangeType = "FORMAT_ADDED"
	FormatRemoved      ChangeType = "FORMAT_REMOVED"
	FormatChanged      ChangeType = "FORMAT_CHANGED"
)

// Changes to numeric constraints.
const (
	MinimumAdded              ChangeType = "MINIMUM_ADDED"
	MinimumRemoved            ChangeType = "MINIMUM_REMOVED"
	MinimumIncreased          ChangeType = "MINIMUM_INCREASED"
	MinimumDecreased          ChangeType = "MINIMUM_DECREASED"
	MaximumAdded              ChangeType = "MAXIMUM_ADDED"
	MaximumRemoved            ChangeType = "MAXIMUM_REMOVED"
	MaximumIncreased          ChangeType = "MAXIMUM_INCREASED"
	MaximumDecreased          ChangeType = "MAXIMUM_DECREASED"
	ExclusiveMinimumAdded     ChangeType = "EXCLUSIVE_MINIMUM_ADDED"
	ExclusiveMinimumRemoved   ChangeType = "EXCLUSIVE_MINIMUM_REMOVED"
	ExclusiveMinimumIncreased ChangeType = "EXCLUSIVE_MINIMUM_INCREASED"
	ExclusiveMinimumDecreased ChangeType = "EXCLUSIVE_MINIMUM_DECREASED"
	ExclusiveMaximumAdded     ChangeType = "EXCLUSIVE_MAXIMUM_ADDED"
	ExclusiveMaximumRemoved   ChangeType = "EXCLUSIVE_MAXIMUM_REMOVED"
	ExclusiveMaximumIncreased ChangeType = "EXCLUSIVE_MAXIMUM_INCREASED"
	ExclusiveMaximumDecreased ChangeType = "EXCLUSIVE_MAXIMUM_DECREASED"
	MultipleOfAdded           ChangeType = "MULTIPLE_OF_ADDED"
	MultipleOfRemoved         ChangeType = "MULTIPLE_OF_REMOVED"
	// MultipleOfReduced: the new divisor divides the old one (3 to 1.5).
	MultipleOfReduced ChangeType = "MULTIPLE_OF_REDUCED"
	// MultipleOfExpanded: the old divisor divides the new one (2 to 4).
	MultipleOfExpanded ChangeType = "MULTIPLE_OF_EXPANDED"
	MultipleOfChanged  ChangeType = "MULTIPLE_OF_CHANGED"
)

// Changes to object constraints. A content model is open when properties
// the schema does not name may hold anything (no additionalProperties, or
// true), closed when they are refused (false), and partially open when they
// must match a schema (additionalProperties or patternProperties).
const (
	PropertyAddedToOpenContentModel              ChangeType = "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"
	PropertyWithEmptySchemaAddedToOpenContent    ChangeType = "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL"
	PropertyAddedToClosedContentModel            ChangeType = "PROPERTY_ADDED_TO_CLOSED_CONTENT_MODEL"
	PropertyAddedToPartiallyOpenContentModel     ChangeType = "PROPERTY_ADDED_TO_PARTIALLY_OPEN_CONTENT_MODEL"
	PropertyRemovedFromOpenContentModel          ChangeType = "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL"
	PropertyRemovedFromClosedContentModel        ChangeType = "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL"
	PropertyRemovedFromPartiallyOpenContentModel ChangeType = "PROPERTY_REMOVED_FROM_PARTIALLY_OPEN_CONTENT_MODEL"
	RequiredPropertyAdded                        ChangeType = "REQUIRED_PROPERTY_ADDED"
	RequiredPropertyRemoved                      ChangeType = "REQUIRED_PROPERTY_REMOVED"
	MinPropertiesAdded                           ChangeType = "MIN_PROPERTIES_ADDED"
	MinPropertiesRemoved                         ChangeType = "MIN_PROPERTIES_REMOVED"
	MinPropertiesIncreased                       ChangeType = "MIN_PROPERTIES_INCREASED"
	MinPropertiesDecreased                       ChangeType = "MIN_PROPERTIES_DECREASED"
	MaxPropertiesAdded                           ChangeType = "MAX_PROPERTIES_ADDED"
	MaxPropertiesRemoved                         ChangeType = "MAX_PROPERTIES_REMOVED"
	MaxPropertiesIncreased                       ChangeType = "MAX_PROPERTIES_INCREASED"
	MaxPropertiesDecreased                       ChangeType = "MAX_PROPERTIES_DECREASED"
	AdditionalPropertiesAdded                    ChangeType = "ADDITIONAL_PROPERTIES_ADDED"
	AdditionalPropertiesRemoved                  ChangeType = "ADDITIONAL_PROPERTIES_REMOVED"
	AdditionalPropertiesClosed                   ChangeType = "ADDITIONAL_PROPERTIES_CLOSED"
	AdditionalPropertiesOpened                   ChangeType = "ADDITIONAL_PROPERTIES_OPENED"
	UnevaluatedPropertiesAdded                   ChangeType = "UNEVALUATED_PROPERTIES_ADDED"
	UnevaluatedPropertiesRemoved                 ChangeType = "UNEVALUATED_PROPERTIES_REMOVED"
	UnevaluatedPropertiesClosed                  ChangeType = "UNEVALUATED_PROPERTIES_CLOSED"
	UnevaluatedPropertiesOpened                  ChangeType = "UNEVALUATED_PROPERTIES_OPENED"
	UnevaluatedPropertiesUnproven                ChangeType = "UNEVALUATED_PROPERTIES_UNPROVEN"
	PatternPropertyAdded                         ChangeType = "PATTERN_PROPERTY_ADDED"
	PatternPropertyRemoved                       ChangeType = "PATTERN_PROPERTY_REMOVED"
	PropertyNamesAdded                           ChangeType = "PROPERTY_NAMES_ADDED"
	PropertyNamesRemoved                         ChangeType = "PROPERTY_NAMES_REMOVED"
	PropertyNamesChanged                         ChangeType = "PROPERTY_NAMES_CHANGED"
	DependentRequiredAdded                       ChangeType = "DEPENDENT_REQUIRED_ADDED"
	DependentRequiredRemoved                     ChangeType = "DEPENDENT_REQUIRED_REMOVED"
	DependentSchemaAdded                         ChangeType = "DEPENDENT_SCHEMA_ADDED"
	DependentSchemaRemoved                       ChangeType = "DEPENDENT_SCHEMA_REMOVED"
)

// Changes to array constraints.
const (
	ItemsAdded               ChangeType = "ITEMS_ADDED"
	ItemsRemoved             ChangeType = "ITEMS_REMOVED"
	ItemsClosed              ChangeType = "ITEMS_CLOSED"
	ItemsOpened              ChangeType = "ITEMS_OPENED"
	PrefixItemAdded          ChangeType = "PREFIX_ITEM_ADDED"
	PrefixItemRemoved        ChangeType = "PREFIX_ITEM_REMOVED"
	MinItemsAdded            ChangeType = "MIN_ITEMS_ADDED"
	MinItemsRemoved          ChangeType = "MIN_ITEMS_REMOVED"
	MinItemsIncreased        ChangeType = "MIN_ITEMS_INCREASED"
	MinItemsDecreased        ChangeType = "MIN_ITEMS_DECREASED"
	MaxItemsAdded            ChangeType = "MAX_ITEMS_ADDED"
	MaxItemsRemoved          ChangeType = "MAX_ITEMS_REMOVED"
	MaxItemsIncreased        ChangeType = "MAX_ITEMS_INCREASED"
	MaxItemsDecreased        ChangeType = "MAX_ITEMS_DECREASED"
	UniqueItemsAdded         ChangeType = "UNIQUE_ITEMS_ADDED"
	UniqueItemsRemoved       ChangeType = "UNIQUE_ITEMS_REMOVED"
	ContainsAdded            ChangeType = "CONTAINS_ADDED"
	ContainsRemoved          ChangeType = "CONTAINS_REMOVED"
	ContainsChanged          ChangeType = "CONTAINS_CHANGED"
	MinContainsAdded         ChangeType = "MIN_CONTAINS_ADDED"
	MinContainsRemoved       ChangeType = "MIN_CONTAINS_REMOVED"
	MinContainsIncreased     ChangeType = "MIN_CONTAINS_INCREASED"
	MinContainsDecreased     ChangeType = "MIN_CONTAINS_DECREASED"
	MaxContainsAdded         ChangeType = "MAX_CONTAINS_ADDED"
	MaxContainsRemoved       ChangeType = "MAX_CONTAINS_REMOVED"
	MaxContainsIncreased     ChangeType = "MAX_CONTAINS_INCREASED"
	MaxContainsDecreased     ChangeType = "MAX_CONTAINS_DECREASED"
	UnevaluatedItemsAdded    ChangeType = "UNEVALUATED_ITEMS_ADDED"
	UnevaluatedItemsRemoved  ChangeType = "UNEVALUATED_ITEMS_REMOVED"
	UnevaluatedItemsClosed   ChangeType = "UNEVALUATED_ITEMS_CLOSED"
	UnevaluatedItemsOpened   ChangeType = "UNEVALUATED_ITEMS_OPENED"
	UnevaluatedItemsUnproven ChangeType = "UNEVALUATED_ITEMS_UNPROVEN"
)

// Changes to combinations of schemas: anyOf and oneOf (sums), allOf and
// $ref (products), not, and if/then/else (conditionals).
const (
	AnyOfAdded              ChangeType = "ANY_OF_ADDED"
	AnyOfRemoved            ChangeType = "ANY_OF_REMOVED"
	AnyOfBranchAdded        ChangeType = "ANY_OF_BRANCH_ADDED"
	AnyOfBranchRemoved      ChangeType = "ANY_OF_BRANCH_REMOVED"
	OneOfAdded              ChangeType = "ONE_OF_ADDED"
	OneOfRemoved            ChangeType = "ONE_OF_REMOVED"
	OneOfBranchAdded        ChangeType = "ONE_OF_BRANCH_ADDED"
	OneOfBranchRemoved      ChangeType = "ONE_OF_BRANCH_REMOVED"
	OneOfBranchesMayOverlap ChangeType = "ONE_OF_BRANCHES_MAY_OVERLAP"
	CombinedTypeChanged     ChangeType = "COMBINED_TYPE_CHANGED"
	// SumTypeNarrowed: values an old anyOf/oneOf branch allowed are not all
	// allowed by the new ones; SumTypeExtended the other way round.
	SumTypeNarrowed    ChangeType = "SUM_TYPE_NARROWED"
	SumTypeExtended    ChangeType = "SUM_TYPE_EXTENDED"
	AllOfBranchAdded   ChangeType = "ALL_OF_BRANCH_ADDED"
	AllOfBranchRemoved ChangeType = "ALL_OF_BRANCH_REMOVED"
	NotAdded           ChangeType = "NOT_ADDED"
	NotRemoved         ChangeType = "NOT_REMOVED"
	NotChanged         ChangeType = "NOT_CHANGED"
	ConditionalAdded   ChangeType = "CONDITIONAL_ADDED"
	ConditionalRemoved ChangeType = "CONDITIONAL_REMOVED"
	ConditionalChanged ChangeType = "CONDITIONAL_CHANGED"
)
