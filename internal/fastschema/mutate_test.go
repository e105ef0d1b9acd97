package fastschema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Mutations of real records: every value replaced by values of other types
// and by edge cases, members dropped and added, arrays changed, and text
// edits that only raw bytes can express (duplicate members, lone
// surrogates, deep nesting, broken syntax).

// replacements are raw JSON values put in place of each value of a record.
var replacements = []string{
	`null`, `true`, `false`, `0`, `-0`, `1`, `-1`, `1.0`, `1.5`, `1e2`, `1E+2`, `-1e-2`, `100`, `101`,
	`-181`, `1e308`, `-1e308`, `1e400`, `1e-400`, `4.9e-324`, `9007199254740991`, `9007199254740992`,
	`-9007199254740992`, `1e20`, `12345678901234567890.0`, `0.1000000000000000000001`,
	`""`, `"x"`, `"\u00e9\u00e5"`, `"\ud83d\ude00"`, `"\ud800"`, `"\udc00x"`, `"a\u0000b"`,
	`"2019-04-15T23:59:59"`, `"2019-04-15 23:59:59"`, `"2019-04-15T23:59:59.5+01:00"`,
	`"PFZr_Syz_cUq"`, `"occupation-name"`, `"Vanlig anställning"`,
	`[]`, `{}`, `[1,"a",null]`, `[12.9995,55.607]`, `[null,null]`, `[1,2,3]`,
	`{"concept_id":"x","label":null}`, `{"concept_id":"","label":"y"}`, `{"a":1,"a":2}`,
	`{"text":"t"}`, `{"name":"n"}`,
}

// jsonPath is a path into a decoded record.
type jsonPath []any // string member names and int indexes

// paths lists every value's path in v, depth first, members in name order.
func paths(v any, prefix jsonPath, out []jsonPath) []jsonPath {
	out = append(out, append(jsonPath(nil), prefix...))
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out = paths(x[k], append(prefix, k), out)
		}
	case []any:
		for i, c := range x {
			out = paths(c, append(prefix, i), out)
		}
	}
	return out
}

// edit returns a deep copy of v with f applied to the value at p (f gets
// the parent container and the key or index).
func edit(v any, p jsonPath, f func(parent any, at any) any) any {
	if len(p) == 0 {
		return f(nil, nil)
	}
	switch x := v.(type) {
	case map[string]any:
		y := make(map[string]any, len(x))
		for k, c := range x {
			y[k] = c
		}
		k := p[0].(string)
		if len(p) == 1 {
			if r := f(y, k); r == deleted {
				delete(y, k)
			} else {
				y[k] = r
			}
			return y
		}
		y[k] = edit(x[k], p[1:], f)
		return y
	case []any:
		y := append([]any(nil), x...)
		i := p[0].(int)
		if len(p) == 1 {
			if r := f(y, i); r == deleted {
				return append(y[:i:i], y[i+1:]...)
			} else {
				y[i] = r
			}
			return y
		}
		y[i] = edit(x[i], p[1:], f)
		return y
	}
	return v
}

var deleted = &struct{ x int }{}

func decodeNumber(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// mutations returns mutated copies of a record: each value replaced by
// each of repl (or, with perValue > 0, by perValue of them in turn, so that
// every replacement is used across the record), dropped, and grown.
func mutations(rec []byte, repl []string, perValue int) [][]byte {
	v, err := decodeNumber(rec)
	if err != nil {
		return nil
	}
	// Under the race detector (make test) only every eighth mutation is
	// made; without it, and with -exhaustive, all.
	stride, n := 1, 0
	if raceEnabled && !*exhaustive {
		stride = 8
	}
	var out [][]byte
	add := func(f func() []byte) {
		if n%stride == 0 {
			out = append(out, f())
		}
		n++
	}
	turn := 0
	for _, p := range paths(v, nil, nil) {
		rs := repl
		if perValue > 0 {
			rs = nil
			for i := 0; i < perValue; i++ {
				rs = append(rs, repl[turn%len(repl)])
				turn++
			}
		}
		for _, r := range rs {
			raw := json.RawMessage(r)
			add(func() []byte { return marshal(edit(v, p, func(any, any) any { return raw })) })
		}
		if len(p) > 0 {
			add(func() []byte { return marshal(edit(v, p, func(any, any) any { return deleted })) })
		}
		add(func() []byte {
			return marshal(edit(v, p, func(_ any, _ any) any {
				cur := lookupPath(v, p)
				switch x := cur.(type) {
				case map[string]any:
					y := map[string]any{"unknown_field": json.RawMessage(`{"x":[1]}`)}
					for k, c := range x {
						y[k] = c
					}
					return y
				case []any:
					if len(x) > 0 {
						return append(append([]any(nil), x...), x[0])
					}
					return []any{json.RawMessage(`1`)}
				case string:
					return strings.ToUpper(x) + "\u0301"
				}
				return cur
			}))
		})
	}
	return append(out, textMutations(rec)...)
}

func lookupPath(v any, p jsonPath) any {
	for _, s := range p {
		switch x := v.(type) {
		case map[string]any:
			v = x[s.(string)]
		case []any:
			v = x[s.(int)]
		}
	}
	return v
}

// textMutations edit the raw text.
func textMutations(rec []byte) [][]byte {
	s := string(rec)
	var out []string
	out = append(out,
		`{"id":"dup",`+s[1:],                       // duplicate id (the record's own is later)
		strings.Replace(s, `{`, `{"id":1e400,`, 1), // a number outside float64 before the id
		` `+s+"\n\t",                               // surrounding whitespace
		s+`x`, s+`{}`, `[`+s+`]`, s[:len(s)/2],     // trailing garbage, not an object, cut
		"\ufeff"+s, // byte order mark
		strings.Replace(s, `"`, `"\ud800`, 3),
		strings.Replace(s, `"`, `"\u00e9`, 5),
		strings.Replace(s, `,`, `,"\ud800":1,`, 1),
		strings.Replace(s, `,`, `,"\u0069d":"x",`, 1), // "id" spelt with an escape
		strings.Replace(s, `:`, `: `, -1),
		strings.Replace(s, `,`, ` ,`+"\n", -1),
		strings.Replace(s, `}`, `,}`, 1),
		strings.Replace(s, `"`, `'`, 1),
		strings.Replace(s, `true`, `True`, 1),
		strings.Replace(s, `false`, `fals`, 1),
		strings.Replace(s, `null`, `nul`, 1),
		strings.Replace(s, `0`, `00`, 1),
		strings.Replace(s, `1`, `1.`, 1),
		strings.Replace(s, `1`, `1e`, 1),
		strings.Replace(s, `1`, `-`, 1),
		strings.Replace(s, `\n`, "\n", 1),   // a raw newline in a string
		strings.Replace(s, `\n`, `\x`, 1),   // a bad escape
		strings.Replace(s, `\n`, `\u12`, 1), // a short \u
	)
	for _, depth := range []int{62, 63, 64, 65, 200} {
		out = append(out, strings.Replace(s, `{`, `{"deep":`+strings.Repeat("[", depth)+strings.Repeat("]", depth)+`,`, 1))
	}
	many := make([]string, 40)
	for i := range many {
		many[i] = fmt.Sprintf(`"k%d":%d`, i, i)
	}
	out = append(out,
		strings.Replace(s, `{`, `{"unknown":{`+strings.Join(many, ",")+`,"k7":0},`, 1),
		strings.Replace(s, `{`, `{"unknown":{`+strings.Join(many, ",")+`},`, 1),
	)
	res := make([][]byte, len(out))
	for i, o := range out {
		res[i] = []byte(o)
	}
	return res
}
