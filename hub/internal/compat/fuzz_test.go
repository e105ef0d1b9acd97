package compat

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
)

// ops reads fuzz input as a stream of small choices.
type ops struct {
	b []byte
	i int
}

func (o *ops) next(n int) int {
	if n <= 0 || o.i >= len(o.b) {
		return 0
	}
	v := int(o.b[o.i]) % n
	o.i++
	return v
}

func (o *ops) done() bool { return o.i >= len(o.b) }

// subschemas lists the JSON pointers of every subschema of a schema.
func subschemas(v any, ptr string, out *[]string, depth int) {
	*out = append(*out, ptr)
	m, ok := v.(map[string]any)
	if !ok || depth > 8 {
		return
	}
	for _, kw := range []string{"additionalProperties", "items", "contains", "not", "if", "then", "else", "propertyNames", "unevaluatedProperties"} {
		if c, ok := m[kw]; ok {
			subschemas(c, ptr+"/"+kw, out, depth+1)
		}
	}
	for _, kw := range []string{"properties", "patternProperties", "$defs", "dependentSchemas"} {
		if mm, ok := m[kw].(map[string]any); ok {
			for _, k := range slices.Sorted(maps.Keys(mm)) {
				subschemas(mm[k], ptr+"/"+kw+"/"+escapeToken(k), out, depth+1)
			}
		}
	}
	for _, kw := range []string{"allOf", "anyOf", "oneOf", "prefixItems"} {
		if a, ok := m[kw].([]any); ok {
			for i, c := range a {
				subschemas(c, fmt.Sprintf("%s/%s/%d", ptr, kw, i), out, depth+1)
			}
		}
	}
}

// small returns a small random schema.
func small(o *ops) any {
	switch o.next(8) {
	case 0:
		return true
	case 1:
		return false
	case 2:
		return map[string]any{"type": []string{"string", "integer", "number", "null", "boolean", "object", "array"}[o.next(7)]}
	case 3:
		return map[string]any{"enum": []any{"a", json.Number("1"), nil}[:1+o.next(3)]}
	case 4:
		return map[string]any{"type": "string", "maxLength": json.Number(fmt.Sprint(o.next(5)))}
	case 5:
		return map[string]any{"$ref": "#"}
	case 6:
		return map[string]any{"type": "object", "properties": map[string]any{"a": map[string]any{"type": "integer"}}, "required": []any{"a"}}
	}
	return map[string]any{"const": "a"}
}

// mutateSchema applies a few random edits to a copy of a schema.
func mutateSchema(v any, o *ops, edits int) any {
	v = deepCopy(v)
	for range edits {
		if o.done() {
			break
		}
		var ptrs []string
		subschemas(v, "", &ptrs, 0)
		ptr := ptrs[o.next(len(ptrs))]
		target, _ := schema.Lookup(v, ptr)
		m, ok := target.(map[string]any)
		if !ok {
			v = replaceAt(v, ptr, map[string]any{})
			continue
		}
		names := []string{"a", "b", "x-c"}
		n := func(k int) json.Number { return json.Number(fmt.Sprint(o.next(k))) }
		switch o.next(24) {
		case 0:
			m["type"] = []string{"string", "integer", "number", "null", "boolean", "object", "array"}[o.next(7)]
		case 1:
			m["type"] = []any{"string", "null"}
		case 2:
			for _, k := range slices.Sorted(maps.Keys(m)) {
				if o.next(3) == 0 {
					delete(m, k)
				}
			}
		case 3:
			m["maxLength"] = n(6)
		case 4:
			m["minLength"] = n(3)
		case 5:
			m["pattern"] = []string{"^a", "^[0-9]+$", "b"}[o.next(3)]
		case 6:
			m["enum"] = []any{"a", "b", json.Number("1"), nil, true}[:1+o.next(5)]
		case 7:
			m["minimum"] = json.Number(fmt.Sprint(o.next(5) - 2))
		case 8:
			m["exclusiveMaximum"] = n(10)
		case 9:
			m["multipleOf"] = []json.Number{"1", "2", "0.5", "3"}[o.next(4)]
		case 10:
			m["required"] = []any{names[o.next(3)]}
		case 11:
			m["additionalProperties"] = small(o)
		case 12:
			props, _ := m["properties"].(map[string]any)
			if props == nil {
				props = map[string]any{}
				m["properties"] = props
			}
			props[names[o.next(3)]] = small(o)
		case 13:
			m["items"] = small(o)
		case 14:
			m["prefixItems"] = []any{small(o), small(o)}[:1+o.next(2)]
		case 15:
			m["maxItems"] = n(4)
		case 16:
			m["anyOf"] = []any{small(o), small(o), small(o)}[:1+o.next(3)]
		case 17:
			m["oneOf"] = []any{small(o), small(o)}[:1+o.next(2)]
		case 18:
			m["allOf"] = []any{small(o)}
		case 19:
			m["not"] = small(o)
		case 20:
			m["if"], m["then"] = small(o), small(o)
		case 21:
			m["patternProperties"] = map[string]any{"^x-": small(o)}
		case 22:
			m["unevaluatedProperties"] = false
		default:
			m["dependentRequired"] = map[string]any{names[o.next(3)]: []any{names[o.next(3)]}}
		}
	}
	return v
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, c := range x {
			m[k] = deepCopy(c)
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, c := range x {
			a[i] = deepCopy(c)
		}
		return a
	}
	return v
}

// replaceAt replaces the value at a pointer of a tree (or the tree).
func replaceAt(v any, ptr string, x any) any {
	if ptr == "" {
		return x
	}
	toks := splitPointer(ptr)
	parent, _ := schema.Lookup(v, ptr[:len(ptr)-len(escapeToken(toks[len(toks)-1]))-1])
	switch p := parent.(type) {
	case map[string]any:
		p[toks[len(toks)-1]] = x
	case []any:
		var i int
		fmt.Sscan(toks[len(toks)-1], &i)
		p[i] = x
	}
	return v
}

// FuzzDiff mutates the table's schemas at random. It checks that the
// checker never panics, that a schema is always compatible with itself in
// every mode (with no change listed at all), and, for pairs it judges
// compatible, that no generated record valid under one schema fails the
// other according to the reference validator.
func FuzzDiff(f *testing.F) {
	bases := fuzzBases(f)
	for i := range bases {
		f.Add(uint8(i), []byte{byte(i), 3, 7, 1, 12, 2, 5})
	}
	f.Add(uint8(0), []byte{0, 16, 4, 1, 0, 19, 5, 12, 0, 22})
	f.Fuzz(func(t *testing.T, pick uint8, in []byte) {
		o := &ops{b: in}
		base := bases[int(pick)%len(bases)]
		a := mutateSchema(base, o, 1+o.next(3))
		b := mutateSchema(a, o, 1+o.next(3))
		aj, _ := json.Marshal(a)
		bj, _ := json.Marshal(b)
		da, db := Document{Schema: aj, Version: 1}, Document{Schema: bj, Version: 2}
		if _, err := schema.Compile(defaultName, aj, nil); err != nil {
			return
		}
		self, err := Diff(da, da)
		if err != nil {
			if errors.Is(err, ErrTooComplex) || errors.Is(err, ErrInvalidSchema) {
				return
			}
			t.Fatalf("Diff(a, a): %v\n%s", err, aj)
		}
		if len(self) > 0 {
			t.Fatalf("a schema differs from itself: %s\n%s", listChanges(self), aj)
		}
		for _, h := range [][]Document{{da}, {da, da}} {
			for _, mode := range []Mode{Backward, FullTransitive} {
				r, err := Check(mode, h, da)
				if err != nil || !r.Compatible {
					t.Fatalf("Check(%s, %d × a, a) = %v, %v\n%s", mode, len(h), r.Compatible, err, aj)
				}
			}
		}
		if _, err := schema.Compile(defaultName, bj, nil); err != nil {
			return
		}
		cs, err := Diff(da, db)
		if err != nil {
			if errors.Is(err, ErrTooComplex) || errors.Is(err, ErrInvalidSchema) {
				return
			}
			t.Fatalf("Diff(a, b): %v", err)
		}
		var breaks Direction
		for _, c := range cs {
			breaks |= c.Breaks
		}
		if breaks == DirBoth {
			return
		}
		sa, sb := compileDoc(t, da), compileDoc(t, db)
		for _, r := range probe(t, uint64(len(in)), da, db, nil, 15) {
			inA, inB := sa.Validate(r) == nil, sb.Validate(r) == nil
			if inA && !inB && !breaks.Has(DirBackward) {
				t.Fatalf("judged backward compatible, but %s is valid under\n%s\nand fails\n%s\nchanges:\n%s", render(r), aj, bj, listChanges(cs))
			}
			if inB && !inA && !breaks.Has(DirForward) {
				t.Fatalf("judged forward compatible, but %s is valid under\n%s\nand fails\n%s\nchanges:\n%s", render(r), bj, aj, listChanges(cs))
			}
		}
	})
}

// fuzzBases are the old schemas of the table (without resources) and the
// job-ad schema.
func fuzzBases(tb testing.TB) []any {
	var out []any
	seen := map[string]bool{}
	for _, pc := range allCases(tb) {
		if pc.oldRes != nil || seen[pc.old] {
			continue
		}
		seen[pc.old] = true
		v, err := decode([]byte(pc.old))
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}
