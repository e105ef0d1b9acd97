package compat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
)

// gen makes JSON values to probe a pair of schemas: random values built from
// a vocabulary drawn from both schemas (property names, enum values, bounds
// and the values around them, lengths around string bounds), and values
// guided by one schema's structure so that many of them are valid.
type gen struct {
	r     *rand.Rand
	names []string
	vals  []any
	strs  []string
	nums  []json.Number
}

// decode parses JSON with numbers kept as json.Number.
func decode(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

func newGen(seed uint64, docs ...any) *gen {
	g := &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	g.strs = []string{"", "a", "abc", "0180", "2019-04-15T23:59:59", "2019-04-15T23:59:59Z", "2019-04-15", "PFZr_Syz_cUq", "x-a", "y-b"}
	g.nums = []json.Number{"0", "1", "-1", "2", "0.5", "100", "-180", "180"}
	seen := map[string]bool{}
	for _, d := range docs {
		g.collect(d, seen, 0)
	}
	return g
}

// collect walks a schema gathering its vocabulary.
func (g *gen) collect(v any, seen map[string]bool, depth int) {
	if depth > 50 {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			switch k {
			case "properties", "dependentRequired", "dependentSchemas":
				if m, ok := c.(map[string]any); ok {
					for name := range m {
						g.addName(name, seen)
					}
				}
			case "patternProperties":
				if m, ok := c.(map[string]any); ok {
					for re := range m {
						if p, ok := literalPrefix(re); ok {
							g.addName(p+"k", seen)
						}
					}
				}
			case "required":
				if a, ok := c.([]any); ok {
					for _, n := range a {
						if s, ok := n.(string); ok {
							g.addName(s, seen)
						}
					}
				}
			case "enum", "examples":
				if a, ok := c.([]any); ok {
					g.vals = append(g.vals, a...)
				}
			case "const", "default":
				g.vals = append(g.vals, c)
			case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf":
				if n, ok := c.(json.Number); ok {
					g.addNumberNear(n)
				}
			case "minLength", "maxLength":
				if n, ok := c.(json.Number); ok {
					if l, err := n.Int64(); err == nil && l < 300 {
						for _, d := range []int64{-1, 0, 1} {
							if l+d >= 0 {
								g.strs = append(g.strs, strings.Repeat("é", int(l+d)))
							}
						}
					}
				}
			}
			g.collect(c, seen, depth+1)
		}
	case []any:
		for _, c := range x {
			g.collect(c, seen, depth+1)
		}
	}
}

func (g *gen) addName(n string, seen map[string]bool) {
	if !seen[n] {
		seen[n] = true
		g.names = append(g.names, n)
	}
}

func (g *gen) addNumberNear(n json.Number) {
	r, ok := ratOf(n)
	if !ok {
		return
	}
	for _, d := range []string{"0", "1", "-1", "1/2", "-1/2"} {
		dr, _ := new(bigRat).SetString(d)
		x := new(bigRat).Add(r, dr)
		g.nums = append(g.nums, json.Number(ratString(x)))
	}
	g.nums = append(g.nums, json.Number(ratString(new(bigRat).Mul(r, newRat(2)))))
}

// value makes a random JSON value.
func (g *gen) value(depth int) any {
	k := g.r.IntN(10)
	if depth > 3 && k >= 7 {
		k = g.r.IntN(7)
	}
	switch k {
	case 0:
		return nil
	case 1:
		return g.r.IntN(2) == 0
	case 2, 3:
		return g.nums[g.r.IntN(len(g.nums))]
	case 4, 5:
		return g.strs[g.r.IntN(len(g.strs))]
	case 6:
		if len(g.vals) > 0 {
			return g.vals[g.r.IntN(len(g.vals))]
		}
		return "v"
	case 7:
		a := make([]any, g.r.IntN(4))
		for i := range a {
			a[i] = g.value(depth + 1)
		}
		return a
	default:
		m := map[string]any{}
		for range g.r.IntN(4) {
			m[g.name()] = g.value(depth + 1)
		}
		return m
	}
}

func (g *gen) name() string {
	if len(g.names) > 0 && g.r.IntN(5) > 0 {
		return g.names[g.r.IntN(len(g.names))]
	}
	return fmt.Sprintf("n%d", g.r.IntN(3))
}

// guided makes a value that follows schema s (inside document root) most of
// the time, with random departures.
func (g *gen) guided(s, root any, depth int) any {
	m, ok := s.(map[string]any)
	if !ok || depth > 6 || g.r.IntN(12) == 0 {
		return g.value(depth)
	}
	if ref, ok := m["$ref"].(string); ok && strings.HasPrefix(ref, "#") && g.r.IntN(4) > 0 {
		if target, ok := schema.Lookup(root, strings.TrimPrefix(ref, "#")); ok {
			if tm, ok := target.(map[string]any); ok {
				merged := map[string]any{}
				for k, v := range tm {
					merged[k] = v
				}
				for k, v := range m {
					if k != "$ref" {
						merged[k] = v
					}
				}
				return g.guided(merged, root, depth+1)
			}
		}
	}
	if c, ok := m["const"]; ok && g.r.IntN(4) > 0 {
		return c
	}
	if e, ok := m["enum"].([]any); ok && len(e) > 0 && g.r.IntN(4) > 0 {
		return e[g.r.IntN(len(e))]
	}
	for _, kw := range []string{"anyOf", "oneOf", "allOf"} {
		if a, ok := m[kw].([]any); ok && len(a) > 0 && g.r.IntN(3) > 0 {
			return g.guided(a[g.r.IntN(len(a))], root, depth+1)
		}
	}
	typ := g.pickType(m)
	switch typ {
	case "null":
		return nil
	case "boolean":
		return g.r.IntN(2) == 0
	case "integer", "number":
		n := g.nums[g.r.IntN(len(g.nums))]
		if typ == "integer" && kindOf(n) != tInt && g.r.IntN(2) == 0 {
			return json.Number("3")
		}
		return n
	case "string":
		return g.strs[g.r.IntN(len(g.strs))]
	case "array":
		var a []any
		prefix, _ := m["prefixItems"].([]any)
		for i := range g.r.IntN(4) + min(len(prefix), 2) {
			switch {
			case i < len(prefix):
				a = append(a, g.guided(prefix[i], root, depth+1))
			case m["items"] != nil:
				a = append(a, g.guided(m["items"], root, depth+1))
			default:
				a = append(a, g.value(depth+1))
			}
		}
		if a == nil {
			a = []any{}
		}
		return a
	case "object":
		out := map[string]any{}
		props, _ := m["properties"].(map[string]any)
		req := map[string]bool{}
		if r, ok := m["required"].([]any); ok {
			for _, x := range r {
				if s, ok := x.(string); ok {
					req[s] = true
				}
			}
		}
		for _, name := range slices.Sorted(maps.Keys(props)) {
			if req[name] || g.r.IntN(3) > 0 {
				out[name] = g.guided(props[name], root, depth+1)
			}
		}
		for name := range req {
			if _, ok := out[name]; !ok {
				out[name] = g.value(depth + 1)
			}
		}
		if pp, ok := m["patternProperties"].(map[string]any); ok {
			for _, re := range slices.Sorted(maps.Keys(pp)) {
				if p, ok := literalPrefix(re); ok && g.r.IntN(2) == 0 {
					out[p+"k"] = g.guided(pp[re], root, depth+1)
				}
			}
		}
		if g.r.IntN(3) == 0 {
			out[g.name()] = g.value(depth + 1)
		}
		return out
	}
	return g.value(depth)
}

// pickType chooses a type the schema allows, or guesses one from its keywords.
func (g *gen) pickType(m map[string]any) string {
	switch t := m["type"].(type) {
	case string:
		return t
	case []any:
		if len(t) > 0 {
			s, _ := t[g.r.IntN(len(t))].(string)
			return s
		}
	}
	switch {
	case m["properties"] != nil || m["required"] != nil || m["additionalProperties"] != nil:
		return "object"
	case m["items"] != nil || m["prefixItems"] != nil:
		return "array"
	case m["maxLength"] != nil || m["minLength"] != nil || m["pattern"] != nil:
		return "string"
	case m["minimum"] != nil || m["maximum"] != nil:
		return "number"
	}
	return []string{"null", "boolean", "integer", "number", "string", "array", "object"}[g.r.IntN(7)]
}

// mutate returns a copy of v with one random part replaced, removed or added.
func (g *gen) mutate(v any, root any, depth int) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x)+1)
		for k, c := range x {
			out[k] = c
		}
		keys := slices.Sorted(maps.Keys(out))
		switch {
		case len(keys) > 0 && g.r.IntN(3) > 0:
			k := keys[g.r.IntN(len(keys))]
			if g.r.IntN(4) == 0 {
				delete(out, k)
			} else {
				out[k] = g.mutate(out[k], root, depth+1)
			}
		default:
			out[g.name()] = g.value(depth + 1)
		}
		return out
	case []any:
		out := append([]any{}, x...)
		if len(out) > 0 && g.r.IntN(3) > 0 {
			i := g.r.IntN(len(out))
			out[i] = g.mutate(out[i], root, depth+1)
		} else {
			out = append(out, g.value(depth+1))
		}
		return out
	}
	return g.value(depth)
}

type bigRat = big.Rat

func newRat(n int64) *big.Rat { return big.NewRat(n, 1) }
