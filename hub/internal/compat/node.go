package compat

import (
	"math/big"
	"strings"
)

// node is a schema read for comparison: its constraints by keyword, each
// with the location it was written at. The keywords of a $ref's target and
// of allOf branches are merged in when that keeps their meaning (they are
// all conjunctions); what cannot be merged stays as a conjunct in conj.
type node struct {
	id    int
	b     *builder // the side the node belongs to, for its subschemas
	at    loc      // the schema object (for a merged node, the first part)
	src   *loc     // the one location the node was read from; nil for merged and absent schemas
	falsy bool     // accepts nothing (the false schema)

	types  *typesKw
	values *valuesKw // enum or const; several merge to their intersection

	minLength, maxLength *numKw
	patterns, formats    []strKw

	minimum, maximum, exclMin, exclMax *numKw
	multipleOf                         []numKw

	props        map[string]*child
	propOrder    []string
	patternProps []patProp
	addl         *child // additionalProperties (or unevaluatedProperties standing in for it)
	addlUneval   bool   // addl came from unevaluatedProperties
	unevalProps  *child // unevaluatedProperties that depend on conditional applicators
	required     map[string]loc
	reqOrder     []string
	minProps     *numKw
	maxProps     *numKw
	propNames    *child
	depRequired  map[string]depReq
	depSchemas   map[string]*child

	prefix                   []*child
	items                    *child
	itemsUneval              bool
	contains                 *child
	minContains, maxContains *numKw
	minItems, maxItems       *numKw
	unique                   *loc
	unevalItems              *child

	groups []group // anyOf and oneOf
	nots   []notKw
	conds  []cond
	conj   []*child // allOf branches and $ref targets that could not be merged

	unknown     []rawKw // keywords the checker does not know: may assert anything
	annotations []rawKw
	defs        map[string]loc // $defs and definitions at this schema
}

// typesKw is a type keyword: the kinds it allows.
type typesKw struct {
	set typeSet
	at  loc
}

// valuesKw is an enum or const keyword.
type valuesKw struct {
	vals    []any
	at      loc
	isConst bool
}

// numKw is a numeric keyword's value.
type numKw struct {
	r  *big.Rat
	at loc
}

// strKw is a string keyword's value (pattern, format).
type strKw struct {
	s  string
	at loc
}

// patProp is one patternProperties entry.
type patProp struct {
	re string
	c  *child
}

// depReq is one dependentRequired entry.
type depReq struct {
	names []string
	at    loc
}

// group is an anyOf or oneOf keyword.
type group struct {
	branches []*child
	at       loc
	oneOf    bool
}

// notKw is a not keyword.
type notKw struct {
	c  *child
	at loc
}

// cond is an if/then/else; then and else are nil when absent.
type cond struct {
	ifc, thenc, elsec *child
	at                loc // the if keyword
	thenAt, elseAt    loc // the then and else keywords, or the schema object
}

// rawKw is a keyword kept as written.
type rawKw struct {
	name string
	v    any
	at   loc
}

// child is a subschema: usually one location, several when properties of
// the same name were merged from different schemas (their conjunction).
type child struct {
	parts []loc
}

// key identifies the child's schema.
func (c *child) key() string {
	if len(c.parts) == 1 {
		return c.parts[0].key()
	}
	keys := make([]string, len(c.parts))
	for i, p := range c.parts {
		keys[i] = p.key()
	}
	return strings.Join(keys, "&")
}

// at is the child's first location, for pointers.
func (c *child) at() loc { return c.parts[0] }

// numField returns the field a numeric keyword is kept in.
func (n *node) numField(kw string) **numKw {
	switch kw {
	case "minLength":
		return &n.minLength
	case "maxLength":
		return &n.maxLength
	case "minItems":
		return &n.minItems
	case "maxItems":
		return &n.maxItems
	case "minProperties":
		return &n.minProps
	case "maxProperties":
		return &n.maxProps
	case "minContains":
		return &n.minContains
	case "maxContains":
		return &n.maxContains
	case "minimum":
		return &n.minimum
	case "maximum":
		return &n.maximum
	case "exclusiveMinimum":
		return &n.exclMin
	case "exclusiveMaximum":
		return &n.exclMax
	}
	panic("compat: no numeric keyword " + kw)
}
