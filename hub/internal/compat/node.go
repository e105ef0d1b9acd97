package compat

import (
	"encoding/json"
	"fmt"
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

// annotationKeywords never constrain a record.
var annotationKeywords = map[string]bool{
	"title": true, "description": true, "default": true, "examples": true, "$comment": true,
	"deprecated": true, "readOnly": true, "writeOnly": true, "contentMediaType": true,
	"contentEncoding": true, "contentSchema": true, "$schema": true, "$id": true,
	"$anchor": true, "$dynamicAnchor": true, "$vocabulary": true,
}

// builder reads the nodes of one side, each location once.
type builder struct {
	side     *side
	ids      *int
	nodes    map[string]*node
	building map[string]bool
}

func newBuilder(s *side, ids *int) *builder {
	return &builder{side: s, ids: ids, nodes: map[string]*node{}, building: map[string]bool{}}
}

func (b *builder) newNode(at loc) *node {
	*b.ids++
	return &node{id: *b.ids, b: b, at: at}
}

// trueAt returns an empty schema standing for an absent keyword of the
// schema at l (an absent additionalProperties, items, then, ...).
func (b *builder) trueAt(l loc) *node {
	k := l.key() + "#absent"
	if n, ok := b.nodes[k]; ok {
		return n
	}
	n := b.newNode(l)
	b.nodes[k] = n
	return n
}

// get returns the node of a child, or the empty schema at parent when the
// child is absent.
func (b *builder) get(c *child, parent loc) (*node, error) {
	if c == nil {
		return b.trueAt(parent), nil
	}
	k := c.key()
	if n, ok := b.nodes[k]; ok {
		return n, nil
	}
	n, err := b.parse(c.parts[0])
	if err != nil {
		return nil, err
	}
	if len(c.parts) > 1 {
		merged := b.newNode(c.parts[0])
		merged.mergeFrom(n)
		for _, p := range c.parts[1:] {
			m, err := b.parse(p)
			if err != nil {
				return nil, err
			}
			if merged.canMerge(m) {
				merged.mergeFrom(m)
			} else {
				merged.conj = append(merged.conj, &child{parts: []loc{p}})
			}
		}
		merged.finish()
		n = merged
	}
	b.nodes[k] = n
	return n, nil
}

// parse reads the schema at l.
func (b *builder) parse(l loc) (*node, error) {
	k := l.key()
	if n, ok := b.nodes[k]; ok {
		return n, nil
	}
	if b.building[k] {
		return nil, fmt.Errorf("%w: $ref or allOf cycle at %s: the schema includes itself without descending into a property or item", ErrInvalidSchema, l)
	}
	b.building[k] = true
	defer delete(b.building, k)
	n := b.newNode(l)
	src := l
	n.src = &src
	switch v := l.v.(type) {
	case bool:
		n.falsy = !v
	case map[string]any:
		if err := b.keywords(n, l, v); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: %s: a schema must be an object or a boolean, not %s", ErrInvalidSchema, pointerName(l), render(l.v))
	}
	n.finish()
	b.nodes[k] = n
	return n, nil
}

// pointerName shows a location in an error; the root is named as such.
func pointerName(l loc) string {
	if s := l.String(); s != "" {
		return s
	}
	return "the root"
}

// keywords reads the keywords of a schema object, then merges in its $ref
// target and allOf branches.
func (b *builder) keywords(n *node, l loc, m map[string]any) error {
	bad := func(kw, want string) error {
		return fmt.Errorf("%w: %s: %s must be %s", ErrInvalidSchema, l.kw(kw), kw, want)
	}
	num := func(kw string, nonNegInt bool) (*numKw, error) {
		x, ok := m[kw].(json.Number)
		if !ok {
			return nil, bad(kw, "a number")
		}
		r, ok := ratOf(x)
		if !ok || (nonNegInt && (!r.IsInt() || r.Sign() < 0)) {
			return nil, bad(kw, "a non-negative integer")
		}
		return &numKw{r: r, at: l.kw(kw)}, nil
	}
	sub := func(kw string) *child { return &child{parts: []loc{l.sub(kw)}} }
	subMap := func(kw string) (map[string]*child, []string, error) {
		mm, ok := m[kw].(map[string]any)
		if !ok {
			return nil, nil, bad(kw, "an object")
		}
		keys := sortedKeys(mm)
		out := make(map[string]*child, len(mm))
		for _, name := range keys {
			out[name] = &child{parts: []loc{l.sub(kw, name)}}
		}
		return out, keys, nil
	}
	subList := func(kw string) ([]*child, error) {
		a, ok := m[kw].([]any)
		if !ok {
			return nil, bad(kw, "an array")
		}
		out := make([]*child, len(a))
		for i := range a {
			out[i] = &child{parts: []loc{l.sub(kw, fmt.Sprint(i))}}
		}
		return out, nil
	}
	var err error
	for _, kw := range sortedKeys(m) {
		v := m[kw]
		switch kw {
		case "type":
			var set typeSet
			names, isList := v.([]any)
			if !isList {
				names = []any{v}
			}
			for _, x := range names {
				s, _ := x.(string)
				t, ok := typeNames[s]
				if !ok {
					return bad(kw, "a type name or a list of them")
				}
				set |= t
			}
			n.types = &typesKw{set: set, at: l.kw(kw)}
		case "enum", "const":
			var vals []any
			if kw == "enum" {
				a, ok := v.([]any)
				if !ok {
					return bad(kw, "an array")
				}
				vals = a
			} else {
				vals = []any{v}
			}
			n.intersectValues(&valuesKw{vals: vals, at: l.kw(kw), isConst: kw == "const"})
		case "minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties", "minContains", "maxContains":
			x, err := num(kw, true)
			if err != nil {
				return err
			}
			*n.numField(kw) = x
		case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum":
			x, err := num(kw, false)
			if err != nil {
				return err
			}
			*n.numField(kw) = x
		case "multipleOf":
			x, err := num(kw, false)
			if err != nil {
				return err
			}
			if x.r.Sign() <= 0 {
				return bad(kw, "greater than 0")
			}
			n.multipleOf = append(n.multipleOf, *x)
		case "pattern", "format":
			s, ok := v.(string)
			if !ok {
				return bad(kw, "a string")
			}
			if kw == "pattern" {
				n.patterns = append(n.patterns, strKw{s: s, at: l.kw(kw)})
			} else {
				n.formats = append(n.formats, strKw{s: s, at: l.kw(kw)})
			}
		case "properties":
			if n.props, n.propOrder, err = subMap(kw); err != nil {
				return err
			}
		case "patternProperties":
			pp, keys, err := subMap(kw)
			if err != nil {
				return err
			}
			for _, re := range keys {
				n.patternProps = append(n.patternProps, patProp{re: re, c: pp[re]})
			}
		case "additionalProperties":
			n.addl = sub(kw)
		case "unevaluatedProperties":
			n.unevalProps = sub(kw)
		case "propertyNames":
			n.propNames = sub(kw)
		case "required":
			a, ok := v.([]any)
			if !ok {
				return bad(kw, "an array of strings")
			}
			n.required = map[string]loc{}
			for _, x := range a {
				s, ok := x.(string)
				if !ok {
					return bad(kw, "an array of strings")
				}
				if _, dup := n.required[s]; !dup {
					n.required[s] = l.kw(kw)
					n.reqOrder = append(n.reqOrder, s)
				}
			}
		case "dependentRequired":
			mm, ok := v.(map[string]any)
			if !ok {
				return bad(kw, "an object")
			}
			n.depRequired = map[string]depReq{}
			for _, name := range sortedKeys(mm) {
				a, ok := mm[name].([]any)
				if !ok {
					return bad(kw, "an object of string arrays")
				}
				var names []string
				for _, x := range a {
					s, ok := x.(string)
					if !ok {
						return bad(kw, "an object of string arrays")
					}
					names = append(names, s)
				}
				n.depRequired[name] = depReq{names: names, at: l.sub(kw, name)}
			}
		case "dependentSchemas":
			if n.depSchemas, _, err = subMap(kw); err != nil {
				return err
			}
		case "prefixItems":
			if n.prefix, err = subList(kw); err != nil {
				return err
			}
		case "items":
			if _, isList := v.([]any); isList {
				return fmt.Errorf("%w: %s: items as an array is draft-07 tuple syntax; 2020-12 uses prefixItems", ErrUnsupported, l.kw(kw))
			}
			n.items = sub(kw)
		case "contains":
			n.contains = sub(kw)
		case "uniqueItems":
			if u, _ := v.(bool); u {
				at := l.kw(kw)
				n.unique = &at
			}
		case "unevaluatedItems":
			n.unevalItems = sub(kw)
		case "anyOf", "oneOf":
			branches, err := subList(kw)
			if err != nil {
				return err
			}
			n.groups = append(n.groups, group{branches: branches, at: l.kw(kw), oneOf: kw == "oneOf"})
		case "not":
			n.nots = append(n.nots, notKw{c: sub(kw), at: l.kw(kw)})
		case "if":
			c := cond{ifc: sub(kw), at: l.kw(kw), thenAt: l, elseAt: l}
			if _, ok := m["then"]; ok {
				c.thenc, c.thenAt = sub("then"), l.kw("then")
			}
			if _, ok := m["else"]; ok {
				c.elsec, c.elseAt = sub("else"), l.kw("else")
			}
			n.conds = append(n.conds, c)
		case "then", "else", "allOf", "$ref":
			// then/else are read with if (alone they do nothing); allOf
			// and $ref are merged in below.
		case "$defs", "definitions":
			if mm, ok := v.(map[string]any); ok {
				if n.defs == nil {
					n.defs = map[string]loc{}
				}
				for name := range mm {
					n.defs[name] = l.sub(kw, name)
				}
			}
		default:
			if annotationKeywords[kw] {
				n.annotations = append(n.annotations, rawKw{name: kw, v: v, at: l.kw(kw)})
			} else {
				n.unknown = append(n.unknown, rawKw{name: kw, v: v, at: l.kw(kw)})
			}
		}
	}
	var parts []loc
	if ref, ok := m["$ref"]; ok {
		s, ok := ref.(string)
		if !ok {
			return bad("$ref", "a string")
		}
		target, err := b.side.resolve(l, s)
		if err != nil {
			return err
		}
		parts = append(parts, target)
	}
	if _, ok := m["allOf"]; ok {
		branches, err := subList("allOf")
		if err != nil {
			return err
		}
		for _, br := range branches {
			parts = append(parts, br.parts[0])
		}
	}
	// A schema that is only a $ref (and annotations) is its target: point
	// changes there.
	pureRef := len(parts) == 1 && m["allOf"] == nil && !n.hasConstraints()
	for _, p := range parts {
		if pureRef {
			n.at = p
		}
		x, err := b.parse(p)
		if err != nil {
			return err
		}
		if n.canMerge(x) {
			n.mergeFrom(x)
		} else {
			n.conj = append(n.conj, &child{parts: []loc{p}})
		}
	}
	return nil
}

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

// lowerKeywords and upperKeywords are merged by keeping the tighter bound.
var (
	lowerKeywords = []string{"minLength", "minItems", "minProperties", "minContains", "minimum", "exclusiveMinimum"}
	upperKeywords = []string{"maxLength", "maxItems", "maxProperties", "maxContains", "maximum", "exclusiveMaximum"}
)

// intersectValues adds an enum or const: the allowed values become the
// intersection.
func (n *node) intersectValues(v *valuesKw) {
	if n.values == nil {
		n.values = v
		return
	}
	var both []any
	for _, x := range n.values.vals {
		if containsValue(v.vals, x) {
			both = append(both, x)
		}
	}
	n.values = &valuesKw{vals: both, at: n.values.at, isConst: n.values.isConst || v.isConst}
}

// hasConditional reports whether the node has applicators whose evaluated
// properties and items depend on the record.
func (n *node) hasConditional() bool {
	if len(n.groups) > 0 || len(n.conds) > 0 || len(n.conj) > 0 || len(n.depSchemas) > 0 {
		return true
	}
	for _, u := range n.unknown {
		if u.name == "$dynamicRef" || u.name == "$recursiveRef" {
			return true
		}
	}
	return false
}

// evaluatesProps reports whether the node evaluates any property, which an
// unevaluatedProperties merged into it would then see.
func (n *node) evaluatesProps() bool {
	return len(n.props) > 0 || len(n.patternProps) > 0 || n.addl != nil || n.unevalProps != nil || n.hasConditional()
}

// evaluatesItems is evaluatesProps for items.
func (n *node) evaluatesItems() bool {
	return len(n.prefix) > 0 || n.items != nil || n.contains != nil || n.unevalItems != nil || n.hasConditional()
}

// canMerge reports whether x's keywords can join n's without changing what
// either means: keywords that depend on their siblings (additionalProperties
// on properties, items on prefixItems, unevaluated* on everything) must not
// gain siblings from the other schema.
func (n *node) canMerge(x *node) bool {
	switch {
	case x.unevalProps != nil && n.evaluatesProps(), n.unevalProps != nil && x.hasConditional(),
		x.unevalItems != nil && n.evaluatesItems(), n.unevalItems != nil && x.hasConditional():
		return false
	case x.addl != nil && (len(n.props) > 0 || len(n.patternProps) > 0),
		n.addl != nil && (len(x.props) > 0 || len(x.patternProps) > 0):
		return false
	case (x.items != nil || n.items != nil) && len(x.prefix) != len(n.prefix):
		return false
	case x.contains != nil && n.contains != nil:
		return false
	}
	return true
}

// conjChild joins two optional subschemas.
func conjChild(a, b *child) *child {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	return &child{parts: append(append([]loc{}, a.parts...), b.parts...)}
}

// mergeFrom adds x's keywords to n (n ∧ x); canMerge must hold. x is not
// changed.
func (n *node) mergeFrom(x *node) {
	n.falsy = n.falsy || x.falsy
	if x.types != nil {
		if n.types == nil || x.types.set&n.types.set == x.types.set {
			n.types = &typesKw{set: x.types.set & n.typeBits(), at: x.types.at}
		} else {
			n.types = &typesKw{set: n.types.set & x.types.set, at: n.types.at}
		}
	}
	if x.values != nil {
		n.intersectValues(x.values)
	}
	for _, kw := range lowerKeywords {
		if xv := *x.numField(kw); xv != nil {
			if nv := n.numField(kw); *nv == nil || xv.r.Cmp((*nv).r) > 0 {
				*nv = xv
			}
		}
	}
	for _, kw := range upperKeywords {
		if xv := *x.numField(kw); xv != nil {
			if nv := n.numField(kw); *nv == nil || xv.r.Cmp((*nv).r) < 0 {
				*nv = xv
			}
		}
	}
	n.multipleOf = append(n.multipleOf[:len(n.multipleOf):len(n.multipleOf)], x.multipleOf...)
	n.patterns = append(n.patterns[:len(n.patterns):len(n.patterns)], x.patterns...)
	n.formats = append(n.formats[:len(n.formats):len(n.formats)], x.formats...)
	if len(x.props) > 0 {
		props := make(map[string]*child, len(n.props)+len(x.props))
		for k, v := range n.props {
			props[k] = v
		}
		order := append([]string{}, n.propOrder...)
		for _, k := range x.propOrder {
			if _, ok := props[k]; !ok {
				order = append(order, k)
			}
			props[k] = conjChild(props[k], x.props[k])
		}
		n.props, n.propOrder = props, order
	}
	if len(x.patternProps) > 0 {
		pp := append([]patProp{}, n.patternProps...)
	next:
		for _, p := range x.patternProps {
			for i := range pp {
				if pp[i].re == p.re {
					pp[i].c = conjChild(pp[i].c, p.c)
					continue next
				}
			}
			pp = append(pp, p)
		}
		n.patternProps = pp
	}
	n.addl = conjChild(n.addl, x.addl)
	n.addlUneval = n.addlUneval || x.addlUneval
	n.unevalProps = conjChild(n.unevalProps, x.unevalProps)
	if len(x.required) > 0 {
		req := make(map[string]loc, len(n.required)+len(x.required))
		for k, v := range n.required {
			req[k] = v
		}
		order := append([]string{}, n.reqOrder...)
		for _, k := range x.reqOrder {
			if _, ok := req[k]; !ok {
				req[k] = x.required[k]
				order = append(order, k)
			}
		}
		n.required, n.reqOrder = req, order
	}
	n.propNames = conjChild(n.propNames, x.propNames)
	if len(x.depRequired) > 0 {
		dr := make(map[string]depReq, len(n.depRequired)+len(x.depRequired))
		for k, v := range n.depRequired {
			dr[k] = v
		}
		for k, v := range x.depRequired {
			if old, ok := dr[k]; ok {
				v = depReq{names: append(append([]string{}, old.names...), v.names...), at: old.at}
			}
			dr[k] = v
		}
		n.depRequired = dr
	}
	if len(x.depSchemas) > 0 {
		ds := make(map[string]*child, len(n.depSchemas)+len(x.depSchemas))
		for k, v := range n.depSchemas {
			ds[k] = v
		}
		for k, v := range x.depSchemas {
			ds[k] = conjChild(ds[k], v)
		}
		n.depSchemas = ds
	}
	if len(x.prefix) > 0 {
		pre := make([]*child, max(len(n.prefix), len(x.prefix)))
		for i := range pre {
			var a, b *child
			if i < len(n.prefix) {
				a = n.prefix[i]
			}
			if i < len(x.prefix) {
				b = x.prefix[i]
			}
			pre[i] = conjChild(a, b)
		}
		n.prefix = pre
	}
	n.items = conjChild(n.items, x.items)
	n.itemsUneval = n.itemsUneval || x.itemsUneval
	if x.contains != nil {
		n.contains, n.minContains, n.maxContains = x.contains, x.minContains, x.maxContains
	}
	if x.unique != nil {
		n.unique = x.unique
	}
	n.unevalItems = conjChild(n.unevalItems, x.unevalItems)
	n.groups = append(n.groups[:len(n.groups):len(n.groups)], x.groups...)
	n.nots = append(n.nots[:len(n.nots):len(n.nots)], x.nots...)
	n.conds = append(n.conds[:len(n.conds):len(n.conds)], x.conds...)
	n.conj = append(n.conj[:len(n.conj):len(n.conj)], x.conj...)
	n.unknown = append(n.unknown[:len(n.unknown):len(n.unknown)], x.unknown...)
	n.annotations = append(n.annotations[:len(n.annotations):len(n.annotations)], x.annotations...)
}

// typeBits returns the kinds n's type keyword allows (all when absent).
func (n *node) typeBits() typeSet {
	if n.types == nil {
		return tAll
	}
	return n.types.set
}

// finish settles keywords whose meaning depends on the others once all
// parts are merged: an unevaluatedProperties beside an additionalProperties
// is void; one with no conditional applicator beside it means what an
// additionalProperties would. The same for unevaluatedItems and items.
func (n *node) finish() {
	if n.addl != nil {
		n.unevalProps = nil
	} else if n.unevalProps != nil && !n.hasConditional() {
		n.addl, n.addlUneval, n.unevalProps = n.unevalProps, true, nil
	}
	if n.items != nil {
		n.unevalItems = nil
	} else if n.unevalItems != nil && n.contains == nil && !n.hasConditional() {
		n.items, n.itemsUneval, n.unevalItems = n.unevalItems, true, nil
	}
	if n.contains == nil {
		n.minContains, n.maxContains = nil, nil
	}
}

// hasConstraints reports whether the node constrains anything at all; a
// node without constraints accepts every value.
func (n *node) hasConstraints() bool {
	return n.falsy || n.types != nil || n.values != nil || n.minLength != nil || n.maxLength != nil ||
		len(n.patterns) > 0 || len(n.formats) > 0 || n.minimum != nil || n.maximum != nil ||
		n.exclMin != nil || n.exclMax != nil || len(n.multipleOf) > 0 || len(n.props) > 0 ||
		len(n.patternProps) > 0 || n.addl != nil || n.unevalProps != nil || len(n.required) > 0 ||
		n.minProps != nil || n.maxProps != nil || n.propNames != nil || len(n.depRequired) > 0 ||
		len(n.depSchemas) > 0 || len(n.prefix) > 0 || n.items != nil || n.contains != nil ||
		n.minItems != nil || n.maxItems != nil || n.unique != nil || n.unevalItems != nil ||
		len(n.groups) > 0 || len(n.nots) > 0 || len(n.conds) > 0 || len(n.conj) > 0 || len(n.unknown) > 0
}
