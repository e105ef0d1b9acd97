package compat

import (
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// typeSet is a set of JSON value kinds. Numbers are split into integers
// (zero fractional part, as JSON Schema defines "integer") and the rest, so
// that integer ⊂ number is plain set inclusion.
type typeSet uint8

const (
	tNull typeSet = 1 << iota
	tBool
	tObj
	tArr
	tStr
	tInt
	tFrac

	tNum     = tInt | tFrac
	tAll     = tNull | tBool | tObj | tArr | tStr | tNum
	tScalars = tNull | tBool | tStr | tNum
)

// typeNames maps the names of the type keyword to kinds.
var typeNames = map[string]typeSet{
	"null": tNull, "boolean": tBool, "object": tObj, "array": tArr,
	"string": tStr, "integer": tInt, "number": tNum,
}

// String renders a set as type keyword names: [integer string].
func (t typeSet) String() string {
	if t == tAll {
		return "any type"
	}
	if t == 0 {
		return "no type"
	}
	var names []string
	for _, x := range []struct {
		t    typeSet
		name string
	}{{tNull, "null"}, {tBool, "boolean"}, {tObj, "object"}, {tArr, "array"}, {tStr, "string"}} {
		if t&x.t != 0 {
			names = append(names, x.name)
		}
	}
	switch t & tNum {
	case tNum:
		names = append(names, "number")
	case tInt:
		names = append(names, "integer")
	case tFrac:
		names = append(names, "non-integer number")
	}
	if len(names) == 1 {
		return names[0]
	}
	return "[" + strings.Join(names, " ") + "]"
}

// kindOf returns the kind of a decoded JSON value (numbers as json.Number).
func kindOf(v any) typeSet {
	switch x := v.(type) {
	case nil:
		return tNull
	case bool:
		return tBool
	case map[string]any:
		return tObj
	case []any:
		return tArr
	case string:
		return tStr
	case json.Number:
		if r, ok := ratOf(x); ok && r.IsInt() {
			return tInt
		}
		return tFrac
	}
	return 0
}

// ratOf parses a JSON number exactly.
func ratOf(n json.Number) (*big.Rat, bool) {
	return new(big.Rat).SetString(string(n))
}

// jsonEqual reports whether two decoded JSON values are equal as JSON
// Schema's const and enum compare them: numbers by value (1 equals 1.0).
func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		rx, ok1 := ratOf(x)
		ry, ok2 := ratOf(y)
		return ok1 && ok2 && rx.Cmp(ry) == 0
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !jsonEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	default:
		return a == b
	}
}

// containsValue reports whether vals holds a value equal to v.
func containsValue(vals []any, v any) bool {
	for _, w := range vals {
		if jsonEqual(v, w) {
			return true
		}
	}
	return false
}

// render shows a JSON value compactly in messages, cut at 60 bytes.
func render(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	s := string(b)
	if len(s) > 60 {
		cut := 57
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}

// renderValues shows a list of values in messages.
func renderValues(vals []any) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = render(v)
	}
	return strings.Join(parts, ", ")
}

// ratString renders a number exactly when it is a finite decimal.
func ratString(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	if f := r.FloatString(12); strings.TrimRight(f, "0") != "" {
		if back, ok := new(big.Rat).SetString(f); ok && back.Cmp(r) == 0 {
			return strings.TrimRight(strings.TrimRight(f, "0"), ".")
		}
	}
	return r.RatString()
}

// compileRegexp compiles a pattern as the reference validator does (Go's
// RE2 syntax); a pattern it cannot read is nil, and nothing is then
// concluded from it.
func compileRegexp(p string) *regexp.Regexp {
	re, err := regexp.Compile(p)
	if err != nil {
		return nil
	}
	return re
}

// literalPrefix returns the literal text a pattern anchored with ^ requires
// at the start of a name, and whether the pattern is anchored so.
func literalPrefix(p string) (string, bool) {
	re, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		return "", false
	}
	re = re.Simplify()
	subs := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		subs = re.Sub
	}
	if len(subs) == 0 || subs[0].Op != syntax.OpBeginText {
		return "", false
	}
	var b strings.Builder
	for _, s := range subs[1:] {
		if s.Op != syntax.OpLiteral || s.Flags&syntax.FoldCase != 0 {
			break
		}
		b.WriteString(string(s.Rune))
	}
	return b.String(), true
}

// patternsDisjoint reports whether no name can match both patterns, judged
// from their anchored literal prefixes ("^x-" and "^y-" cannot overlap).
func patternsDisjoint(p, q string) bool {
	a, okA := literalPrefix(p)
	b, okB := literalPrefix(q)
	if !okA || !okB {
		return false
	}
	return !strings.HasPrefix(a, b) && !strings.HasPrefix(b, a)
}
