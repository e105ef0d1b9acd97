package fastschema

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
)

// A small generator of random schemas over the keywords the fast path
// implements, and of records for them: values drawn from pools that hit the
// schemas' edges (names the properties use, strings the patterns and formats
// judge, numbers at the bounds), some built to follow the schema.

var (
	genNames   = []string{"a", "b", "c", "id", "é", "a/b", "~x", "aa", "ba", "removed"}
	genStrings = []string{"", "a", "ab", "abc", "abcd", "é", "éé", "😀", "12", "1234", "x", "B",
		"2019-04-15", "2019-04-15T23:59:59Z", "2019-04-15T23:59:59", "23:59:59Z", "a@b.se", "not an email",
		"127.0.0.1", "256.1.1.1", "::1", "3fa85f64-5717-4562-b3fc-2c963f66afa6", "P1D", "PT", "http://x.se/a",
		"rel/x", "[a-", "^a+$", "host.example", "1.2.3", "/a/b", "0/a", "occupation-name"}
	genNumbers = []string{"0", "-0", "1", "1.0", "2", "2.5", "-1", "-2.5", "0.1", "0.3", "0.30000000000000004",
		"3", "7", "10", "100", "1e2", "1e20", "1.5e1", "9007199254740991", "9007199254740993.0", "1e-3",
		"0.001", "-1e-7", "4.5", "12345678901234567890123", "1e300"}
	genPatterns = []string{"^a", "b$", "^[a-c]+$", `^\d{2}$`, "é", "^.{2}$", "^$", "^(a|b)*$", `^[0-9]{4}-[0-9]{2}-[0-9]{2}$`, "\\p{L}"}
	genFormats  = []string{"date", "date-time", "time", "email", "ipv4", "ipv6", "uuid", "regex", "hostname", "uri",
		"uri-reference", "duration", "json-pointer", "relative-json-pointer", "semver", "no-such-format"}
	genTypes = []string{"null", "boolean", "number", "integer", "string", "array", "object"}
)

type schemaGen struct {
	r    *rand.Rand
	ndef int
}

func newSchemaGen(seed uint64) *schemaGen {
	return &schemaGen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (g *schemaGen) pick(s []string) string { return s[g.r.IntN(len(s))] }
func (g *schemaGen) chance(p float64) bool  { return g.r.Float64() < p }

func (g *schemaGen) num() json.Number { return json.Number(g.pick(genNumbers)) }

func (g *schemaGen) small() int { return g.r.IntN(4) }

// document generates a whole schema document: a root object schema with
// some $defs the subschemas may $ref.
func (g *schemaGen) document() map[string]any {
	g.ndef = g.r.IntN(4)
	root := g.object(3)
	if g.ndef > 0 {
		defs := map[string]any{}
		for i := 0; i < g.ndef; i++ {
			defs[fmt.Sprintf("d%d", i)] = g.schema(2)
		}
		root["$defs"] = defs
	}
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	return root
}

// object is a schema for objects.
func (g *schemaGen) object(depth int) map[string]any {
	s := g.keywords(depth, "object")
	if g.chance(0.5) {
		s["type"] = "object"
	}
	return s
}

// schema generates a subschema.
func (g *schemaGen) schema(depth int) any {
	if g.chance(0.05) {
		return g.chance(0.6)
	}
	if g.ndef > 0 && g.chance(0.15) {
		ref := map[string]any{"$ref": fmt.Sprintf("#/$defs/d%d", g.r.IntN(g.ndef))}
		if g.chance(0.3) {
			for k, v := range g.keywords(0, g.pick(genTypes)) {
				ref[k] = v
			}
		}
		return ref
	}
	return g.keywords(depth, g.pick(genTypes))
}

// keywords generates keywords mostly for one kind of value.
func (g *schemaGen) keywords(depth int, kind string) map[string]any {
	s := map[string]any{}
	if g.chance(0.5) {
		if g.chance(0.7) {
			s["type"] = kind
		} else {
			other := g.pick(genTypes)
			for other == kind {
				other = g.pick(genTypes)
			}
			s["type"] = []any{kind, other}
		}
	}
	switch kind {
	case "string":
		if g.chance(0.4) {
			s["minLength"] = g.small()
		}
		if g.chance(0.3) {
			s["maxLength"] = g.small() + 1
		}
		if g.chance(0.3) {
			s["pattern"] = g.pick(genPatterns)
		}
		if g.chance(0.25) {
			s["format"] = g.pick(genFormats)
		}
	case "number", "integer":
		for _, kw := range []string{"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"} {
			if g.chance(0.25) {
				s[kw] = g.num()
			}
		}
		if g.chance(0.25) {
			s["multipleOf"] = json.Number(g.pick([]string{"1", "2", "0.5", "0.1", "3", "0.01", "1e-3", "2.5", "1e20"}))
		}
	case "object":
		if depth > 0 {
			props := map[string]any{}
			for i := g.r.IntN(4); i > 0; i-- {
				props[g.pick(genNames)] = g.schema(depth - 1)
			}
			if len(props) > 0 || g.chance(0.5) {
				s["properties"] = props
			}
			if g.chance(0.2) {
				s["patternProperties"] = map[string]any{g.pick([]string{"^a", "b$", "^[a-c]+$", "é", "^i"}): g.schema(depth - 1)}
			}
			if g.chance(0.3) {
				if g.chance(0.5) {
					s["additionalProperties"] = g.chance(0.3)
				} else {
					s["additionalProperties"] = g.schema(depth - 1)
				}
			}
			if g.chance(0.15) {
				s["propertyNames"] = g.keywords(0, "string")
			}
			if g.chance(0.15) {
				s["dependentSchemas"] = map[string]any{g.pick(genNames): g.schema(depth - 1)}
			}
		}
		if g.chance(0.4) {
			var req []any
			for i := g.r.IntN(3); i >= 0; i-- {
				req = append(req, g.pick(genNames))
			}
			s["required"] = dedupe(req)
		}
		if g.chance(0.15) {
			s["dependentRequired"] = map[string]any{g.pick(genNames): []any{g.pick(genNames)}}
		}
		if depth > 0 && g.chance(0.05) {
			// The draft-07 keyword, which jsonschema/v6 honours in 2020-12
			// documents too.
			if g.chance(0.5) {
				s["dependencies"] = map[string]any{g.pick(genNames): []any{g.pick(genNames)}}
			} else {
				s["dependencies"] = map[string]any{g.pick(genNames): g.schema(depth - 1)}
			}
		}
		if g.chance(0.1) {
			s["minProperties"] = g.small()
		}
		if g.chance(0.1) {
			s["maxProperties"] = g.small() + 1
		}
	case "array":
		if depth > 0 {
			if g.chance(0.3) {
				var pre []any
				for i := g.r.IntN(3) + 1; i > 0; i-- {
					pre = append(pre, g.schema(depth-1))
				}
				s["prefixItems"] = pre
			}
			if g.chance(0.5) {
				s["items"] = g.schema(depth - 1)
			}
			if g.chance(0.2) {
				s["contains"] = g.schema(depth - 1)
				if g.chance(0.4) {
					s["minContains"] = g.small()
				}
				if g.chance(0.3) {
					s["maxContains"] = g.small() + 1
				}
			}
		}
		if g.chance(0.2) {
			s["minItems"] = g.small()
		}
		if g.chance(0.2) {
			s["maxItems"] = g.small() + 1
		}
		if g.chance(0.2) {
			s["uniqueItems"] = true
		}
	}
	if g.chance(0.1) {
		var vals []any
		for i := g.r.IntN(4) + 1; i > 0; i-- {
			vals = append(vals, g.value(1))
		}
		s["enum"] = vals
	}
	if g.chance(0.05) {
		s["const"] = g.value(1)
	}
	if depth > 0 {
		for _, kw := range []string{"allOf", "anyOf", "oneOf"} {
			if g.chance(0.12) {
				var subs []any
				for i := g.r.IntN(3) + 1; i > 0; i-- {
					subs = append(subs, g.schema(depth-1))
				}
				s[kw] = subs
			}
		}
		if g.chance(0.08) {
			s["not"] = g.schema(depth - 1)
		}
		if g.chance(0.12) {
			s["if"] = g.schema(depth - 1)
			if g.chance(0.8) {
				s["then"] = g.schema(depth - 1)
			}
			if g.chance(0.6) {
				s["else"] = g.schema(depth - 1)
			}
		}
	}
	return s
}

func dedupe(xs []any) []any {
	seen := map[any]bool{}
	var out []any
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// value generates a random JSON value from the pools.
func (g *schemaGen) value(depth int) any {
	k := g.r.IntN(8)
	if depth <= 0 && k >= 6 {
		k = g.r.IntN(6)
	}
	switch k {
	case 0:
		return nil
	case 1:
		return g.chance(0.5)
	case 2, 3:
		return g.num()
	case 4, 5:
		return g.pick(genStrings)
	case 6:
		var a []any
		for i := g.r.IntN(4); i > 0; i-- {
			a = append(a, g.value(depth-1))
		}
		if a == nil {
			a = []any{}
		}
		return a
	default:
		o := map[string]any{}
		for i := g.r.IntN(4); i > 0; i-- {
			o[g.pick(genNames)] = g.value(depth - 1)
		}
		return o
	}
}

// instance generates a value that tries to follow schema s (so records reach
// deep into the schema rather than failing at the top).
func (g *schemaGen) instance(s any, doc map[string]any, depth int) any {
	m, ok := s.(map[string]any)
	if !ok || depth > 6 || g.chance(0.1) {
		return g.value(2)
	}
	if ref, ok := m["$ref"].(string); ok && g.chance(0.7) {
		defs, _ := doc["$defs"].(map[string]any)
		if d, ok := defs[strings.TrimPrefix(ref, "#/$defs/")]; ok {
			return g.instance(d, doc, depth+1)
		}
	}
	if c, ok := m["const"]; ok && g.chance(0.7) {
		return c
	}
	if e, ok := m["enum"].([]any); ok && g.chance(0.7) {
		return e[g.r.IntN(len(e))]
	}
	for _, kw := range []string{"anyOf", "oneOf", "allOf"} {
		if subs, ok := m[kw].([]any); ok && g.chance(0.4) {
			return g.instance(subs[g.r.IntN(len(subs))], doc, depth+1)
		}
	}
	kind := ""
	switch t := m["type"].(type) {
	case string:
		kind = t
	case []any:
		kind = t[g.r.IntN(len(t))].(string)
	}
	if kind == "" {
		switch {
		case m["properties"] != nil || m["required"] != nil:
			kind = "object"
		case m["items"] != nil || m["prefixItems"] != nil:
			kind = "array"
		default:
			return g.value(2)
		}
	}
	switch kind {
	case "object":
		o := map[string]any{}
		props, _ := m["properties"].(map[string]any)
		for name, sub := range props {
			if g.chance(0.8) {
				o[name] = g.instance(sub, doc, depth+1)
			}
		}
		if req, ok := m["required"].([]any); ok {
			for _, r := range req {
				if _, has := o[r.(string)]; !has && g.chance(0.9) {
					o[r.(string)] = g.value(1)
				}
			}
		}
		if g.chance(0.3) {
			o[g.pick(genNames)] = g.value(1)
		}
		return o
	case "array":
		var a []any
		pre, _ := m["prefixItems"].([]any)
		for _, sub := range pre {
			if g.chance(0.8) {
				a = append(a, g.instance(sub, doc, depth+1))
			}
		}
		for i := g.r.IntN(3); i > 0; i-- {
			if items, ok := m["items"]; ok {
				a = append(a, g.instance(items, doc, depth+1))
			} else {
				a = append(a, g.value(1))
			}
		}
		if a == nil {
			a = []any{}
		}
		return a
	case "string":
		return g.pick(genStrings)
	case "number", "integer":
		return g.num()
	case "boolean":
		return g.chance(0.5)
	}
	return nil
}

// record generates a record (an object) for document doc.
func (g *schemaGen) record(doc map[string]any) []byte {
	v := g.instance(doc, doc, 0)
	if _, ok := v.(map[string]any); !ok {
		v = map[string]any{"a": v}
	}
	return marshal(v)
}
