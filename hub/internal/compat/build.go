package compat

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

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
		keys := slices.Sorted(maps.Keys(mm))
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
	for _, kw := range slices.Sorted(maps.Keys(m)) {
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
			for _, name := range slices.Sorted(maps.Keys(mm)) {
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
