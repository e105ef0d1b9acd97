package compat

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"unicode/utf8"
)

// compareType compares the type keywords. The change breaks backward when
// some kind the old schema accepts (after its enum, anyOf, ...) is not in
// the new type keyword, and forward the other way round.
func (c *comparator) compareType(o, n *node, eo, en typeSet) []change {
	tkO, tkN := o.typeBits(), n.typeBits()
	if tkO == tkN {
		return nil
	}
	typ := TypeChanged
	switch {
	case tkN&tkO == tkN:
		typ = TypeNarrowed
	case tkN&tkO == tkO:
		typ = TypeWidened
	}
	return []change{{typ: typ, b: eo&^tkN != 0, f: en&^tkO != 0,
		oldAt:  kwAt(o, o.types != nil, func() loc { return o.types.at }),
		newAt:  kwAt(n, n.types != nil, func() loc { return n.types.at }),
		detail: fmt.Sprintf("type changed from %s to %s", tkO, tkN)}}
}

// kwAt is a keyword's location when present, else its schema object's.
func kwAt(n *node, present bool, at func() loc) loc {
	if present {
		return at()
	}
	return n.at
}

// compareValues compares enum and const. vo and vn are the values each side
// accepts when finite.
func (c *comparator) compareValues(o, n *node, vo, vn []any) []change {
	ov, nv := o.values, n.values
	if ov == nil && nv == nil {
		return nil
	}
	notIn := func(set []any) func(any) bool { return func(v any) bool { return !containsValue(set, v) } }
	name := func(v *valuesKw) string {
		if v.isConst {
			return "const"
		}
		return "enum"
	}
	switch {
	case ov == nil:
		typ := EnumAdded
		if nv.isConst {
			typ = ConstAdded
		}
		return []change{{typ: typ, b: vo == nil || anyValue(vo, notIn(nv.vals)), oldAt: o.at, newAt: nv.at,
			detail: fmt.Sprintf("%s added: only %s allowed", name(nv), renderValues(nv.vals))}}
	case nv == nil:
		typ := EnumRemoved
		if ov.isConst {
			typ = ConstRemoved
		}
		return []change{{typ: typ, f: vn == nil || anyValue(vn, notIn(ov.vals)), oldAt: ov.at, newAt: n.at,
			detail: fmt.Sprintf("%s removed: values other than %s are allowed", name(ov), renderValues(ov.vals))}}
	}
	var added, removed []any
	for _, v := range nv.vals {
		if !containsValue(ov.vals, v) {
			added = append(added, v)
		}
	}
	for _, v := range ov.vals {
		if !containsValue(nv.vals, v) {
			removed = append(removed, v)
		}
	}
	if len(added) == 0 && len(removed) == 0 {
		return nil
	}
	typ := EnumArrayChanged
	switch {
	case ov.isConst && nv.isConst:
		typ = ConstChanged
	case len(removed) == 0:
		typ = EnumArrayExtended
	case len(added) == 0:
		typ = EnumArrayNarrowed
	}
	var parts []string
	if len(added) > 0 {
		parts = append(parts, "added "+renderValues(added))
	}
	if len(removed) > 0 {
		parts = append(parts, "removed "+renderValues(removed))
	}
	b := len(removed) > 0
	if vo != nil {
		b = anyValue(vo, notIn(nv.vals))
	}
	f := len(added) > 0
	if vn != nil {
		f = anyValue(vn, notIn(ov.vals))
	}
	detail := fmt.Sprintf("%s values changed: %s", name(nv), strings.Join(parts, "; "))
	if typ == ConstChanged {
		detail = fmt.Sprintf("const changed from %s to %s", render(ov.vals[0]), render(nv.vals[0]))
	}
	return []change{{typ: typ, b: b, f: f, oldAt: ov.at, newAt: nv.at, detail: detail}}
}

// boundSpec describes a keyword that bounds a count (a length, a number of
// items or properties) from below or above.
type boundSpec struct {
	kw                                   string
	lower                                bool
	added, removed, increased, decreased ChangeType
	count                                func(v any) (int, bool) // the counted size of a value, if it has one
}

var (
	strLen = func(v any) (int, bool) {
		s, ok := v.(string)
		return utf8.RuneCountInString(s), ok
	}
	arrLen = func(v any) (int, bool) {
		a, ok := v.([]any)
		return len(a), ok
	}
	objLen = func(v any) (int, bool) {
		m, ok := v.(map[string]any)
		return len(m), ok
	}
	minLengthSpec = boundSpec{"minLength", true, MinLengthAdded, MinLengthRemoved, MinLengthIncreased, MinLengthDecreased, strLen}
	maxLengthSpec = boundSpec{"maxLength", false, MaxLengthAdded, MaxLengthRemoved, MaxLengthIncreased, MaxLengthDecreased, strLen}
	minItemsSpec  = boundSpec{"minItems", true, MinItemsAdded, MinItemsRemoved, MinItemsIncreased, MinItemsDecreased, arrLen}
	maxItemsSpec  = boundSpec{"maxItems", false, MaxItemsAdded, MaxItemsRemoved, MaxItemsIncreased, MaxItemsDecreased, arrLen}
	minPropsSpec  = boundSpec{"minProperties", true, MinPropertiesAdded, MinPropertiesRemoved, MinPropertiesIncreased, MinPropertiesDecreased, objLen}
	maxPropsSpec  = boundSpec{"maxProperties", false, MaxPropertiesAdded, MaxPropertiesRemoved, MaxPropertiesIncreased, MaxPropertiesDecreased, objLen}
	minContSpec   = boundSpec{"minContains", true, MinContainsAdded, MinContainsRemoved, MinContainsIncreased, MinContainsDecreased, nil}
	maxContSpec   = boundSpec{"maxContains", false, MaxContainsAdded, MaxContainsRemoved, MaxContainsIncreased, MaxContainsDecreased, nil}
)

// compareCount compares a count bound. A tighter bound breaks backward, a
// looser one forward; with finite value sets the values decide.
func (c *comparator) compareCount(o, n *node, s boundSpec, vo, vn []any) []change {
	a, b := *o.numField(s.kw), *n.numField(s.kw)
	if (a == nil && b == nil) || (a != nil && b != nil && a.r.Cmp(b.r) == 0) {
		return nil
	}
	ch := change{oldAt: kwAt(o, a != nil, func() loc { return a.at }), newAt: kwAt(n, b != nil, func() loc { return b.at })}
	var narrows bool
	switch {
	case a == nil:
		ch.typ, narrows = s.added, true
		ch.detail = fmt.Sprintf("%s %s added", s.kw, ratString(b.r))
	case b == nil:
		ch.typ, narrows = s.removed, false
		ch.detail = fmt.Sprintf("%s %s removed", s.kw, ratString(a.r))
	case b.r.Cmp(a.r) > 0:
		ch.typ, narrows = s.increased, s.lower
		ch.detail = fmt.Sprintf("%s raised from %s to %s", s.kw, ratString(a.r), ratString(b.r))
	default:
		ch.typ, narrows = s.decreased, !s.lower
		ch.detail = fmt.Sprintf("%s lowered from %s to %s", s.kw, ratString(a.r), ratString(b.r))
	}
	fails := func(bound *numKw) func(any) bool {
		return func(v any) bool {
			size, ok := s.count(v)
			if !ok || bound == nil {
				return false
			}
			cmp := big.NewRat(int64(size), 1).Cmp(bound.r)
			return (s.lower && cmp < 0) || (!s.lower && cmp > 0)
		}
	}
	ch.b, ch.f = narrows, !narrows
	if narrows && vo != nil && s.count != nil {
		ch.b = anyValue(vo, fails(b))
	}
	if !narrows && vn != nil && s.count != nil {
		ch.f = anyValue(vn, fails(a))
	}
	return []change{ch}
}

// compareString compares the string keywords.
func (c *comparator) compareString(o, n *node, vo, vn []any) []change {
	out := c.compareCount(o, n, minLengthSpec, vo, vn)
	out = append(out, c.compareCount(o, n, maxLengthSpec, vo, vn)...)
	matches := func(p string) func(any) bool {
		re := compileRegexp(p)
		return func(v any) bool {
			s, ok := v.(string)
			return ok && (re == nil || !re.MatchString(s))
		}
	}
	out = append(out, compareStrings(o, n, o.patterns, n.patterns, "pattern", PatternAdded, PatternRemoved, PatternChanged, vo, vn, matches)...)
	anyString := func(string) func(any) bool {
		return func(v any) bool { _, ok := v.(string); return ok }
	}
	out = append(out, compareStrings(o, n, o.formats, n.formats, "format", FormatAdded, FormatRemoved, FormatChanged, vo, vn, anyString)...)
	return out
}

// compareStrings compares sets of string keywords (patterns, formats): one
// added breaks backward, one removed breaks forward, unless the finite values
// on the source side all pass. fails(s) tells whether a value may fail s.
func compareStrings(o, n *node, os, ns []strKw, kw string, added, removed, changed ChangeType, vo, vn []any, fails func(string) func(any) bool) []change {
	has := func(list []strKw, s string) bool {
		for _, x := range list {
			if x.s == s {
				return true
			}
		}
		return false
	}
	var add, rem []strKw
	for _, x := range ns {
		if !has(os, x.s) {
			add = append(add, x)
		}
	}
	for _, x := range os {
		if !has(ns, x.s) {
			rem = append(rem, x)
		}
	}
	breaksB := func(x strKw) bool { return vo == nil || anyValue(vo, fails(x.s)) }
	breaksF := func(x strKw) bool { return vn == nil || anyValue(vn, fails(x.s)) }
	if len(add) == 1 && len(rem) == 1 {
		return []change{{typ: changed, b: breaksB(add[0]), f: breaksF(rem[0]), oldAt: rem[0].at, newAt: add[0].at,
			detail: fmt.Sprintf("%s changed from %q to %q", kw, rem[0].s, add[0].s)}}
	}
	var out []change
	for _, x := range add {
		out = append(out, change{typ: added, b: breaksB(x), oldAt: o.at, newAt: x.at,
			detail: fmt.Sprintf("%s %q added", kw, x.s)})
	}
	for _, x := range rem {
		out = append(out, change{typ: removed, f: breaksF(x), oldAt: x.at, newAt: n.at,
			detail: fmt.Sprintf("%s %q removed", kw, x.s)})
	}
	return out
}

// bound is a numeric bound: a value and whether it is exclusive.
type bound struct {
	r    *big.Rat
	excl bool
}

// lowerOf returns n's effective lower bound: the tighter of minimum and
// exclusiveMinimum.
func lowerOf(n *node) (bound, bool) {
	return tighter(n.minimum, n.exclMin, true)
}

// upperOf returns n's effective upper bound.
func upperOf(n *node) (bound, bool) {
	return tighter(n.maximum, n.exclMax, false)
}

func tighter(incl, excl *numKw, lower bool) (bound, bool) {
	switch {
	case incl == nil && excl == nil:
		return bound{}, false
	case excl == nil:
		return bound{r: incl.r}, true
	case incl == nil:
		return bound{r: excl.r, excl: true}, true
	}
	cmp := excl.r.Cmp(incl.r)
	if (lower && cmp >= 0) || (!lower && cmp <= 0) {
		return bound{r: excl.r, excl: true}, true
	}
	return bound{r: incl.r}, true
}

// excludes reports whether the bound refuses r.
func (b bound) excludes(r *big.Rat, lower bool) bool {
	cmp := r.Cmp(b.r)
	if lower {
		return cmp < 0 || (cmp == 0 && b.excl)
	}
	return cmp > 0 || (cmp == 0 && b.excl)
}

// onIntegers returns the bound as an inclusive bound on integers: the
// least integer it accepts (lower) or the greatest (upper).
func (b bound) onIntegers(lower bool) *big.Rat {
	floor := new(big.Int).Div(b.r.Num(), b.r.Denom()) // Euclidean: floor for a positive denominator
	exact := b.r.IsInt()
	one := big.NewInt(1)
	switch {
	case lower && (b.excl || !exact): // floor(x)+1 is both ceil(x) of a fraction and the least integer > x
		floor.Add(floor, one)
	case !lower && b.excl && exact:
		floor.Sub(floor, one)
	}
	return new(big.Rat).SetInt(floor)
}

// stricter reports whether bound y refuses some value bound x accepts,
// considering integers only when intOnly.
func stricter(x bound, xok bool, y bound, yok bool, lower, intOnly bool) bool {
	if !yok {
		return false
	}
	if !xok {
		return true
	}
	if intOnly {
		xi, yi := x.onIntegers(lower), y.onIntegers(lower)
		if lower {
			return yi.Cmp(xi) > 0
		}
		return yi.Cmp(xi) < 0
	}
	cmp := y.r.Cmp(x.r)
	if !lower {
		cmp = -cmp
	}
	return cmp > 0 || (cmp == 0 && y.excl && !x.excl)
}

// numBoundSpec names the changes of one numeric keyword.
type numBoundSpec struct {
	kw                                   string
	lower                                bool
	added, removed, increased, decreased ChangeType
}

var numBoundSpecs = []numBoundSpec{
	{"minimum", true, MinimumAdded, MinimumRemoved, MinimumIncreased, MinimumDecreased},
	{"exclusiveMinimum", true, ExclusiveMinimumAdded, ExclusiveMinimumRemoved, ExclusiveMinimumIncreased, ExclusiveMinimumDecreased},
	{"maximum", false, MaximumAdded, MaximumRemoved, MaximumIncreased, MaximumDecreased},
	{"exclusiveMaximum", false, ExclusiveMaximumAdded, ExclusiveMaximumRemoved, ExclusiveMaximumIncreased, ExclusiveMaximumDecreased},
}

// compareNumber compares the numeric keywords. minimum and
// exclusiveMinimum are judged together as one lower bound (and the maxima
// as one upper bound), on integers alone when a side accepts no other
// numbers; each keyword that changed is listed.
func (c *comparator) compareNumber(o, n *node, eo, en typeSet, vo, vn []any) []change {
	var out []change
	for _, lower := range []bool{true, false} {
		get := lowerOf
		if !lower {
			get = upperOf
		}
		bo, okO := get(o)
		bn, okN := get(n)
		breaksB := stricter(bo, okO, bn, okN, lower, eo&tNum == tInt)
		breaksF := stricter(bn, okN, bo, okO, lower, en&tNum == tInt)
		if vo != nil {
			breaksB = anyValue(vo, func(v any) bool { return numberFails(v, bn, okN, lower) })
		}
		if vn != nil {
			breaksF = anyValue(vn, func(v any) bool { return numberFails(v, bo, okO, lower) })
		}
		for _, s := range numBoundSpecs {
			if s.lower != lower {
				continue
			}
			a, b := *o.numField(s.kw), *n.numField(s.kw)
			if (a == nil && b == nil) || (a != nil && b != nil && a.r.Cmp(b.r) == 0) {
				continue
			}
			ch := change{oldAt: kwAt(o, a != nil, func() loc { return a.at }), newAt: kwAt(n, b != nil, func() loc { return b.at })}
			var narrows bool
			switch {
			case a == nil:
				ch.typ, narrows = s.added, true
				ch.detail = fmt.Sprintf("%s %s added", s.kw, ratString(b.r))
			case b == nil:
				ch.typ = s.removed
				ch.detail = fmt.Sprintf("%s %s removed", s.kw, ratString(a.r))
			case b.r.Cmp(a.r) > 0:
				ch.typ, narrows = s.increased, lower
				ch.detail = fmt.Sprintf("%s raised from %s to %s", s.kw, ratString(a.r), ratString(b.r))
			default:
				ch.typ, narrows = s.decreased, !lower
				ch.detail = fmt.Sprintf("%s lowered from %s to %s", s.kw, ratString(a.r), ratString(b.r))
			}
			ch.b, ch.f = narrows && breaksB, !narrows && breaksF
			out = append(out, ch)
		}
	}
	return append(out, c.compareMultipleOf(o, n, eo, en, vo, vn)...)
}

// numberFails reports whether v is a number the bound refuses.
func numberFails(v any, b bound, ok, lower bool) bool {
	x, isNum := v.(json.Number)
	if !isNum || !ok {
		return false
	}
	r, okR := ratOf(x)
	return okR && b.excludes(r, lower)
}

// implied reports whether being a multiple of every value in ms (and an
// integer, when intOnly) makes a number a multiple of m.
func implied(ms []numKw, m *big.Rat, intOnly bool) bool {
	for _, k := range ms {
		if new(big.Rat).Quo(k.r, m).IsInt() {
			return true
		}
	}
	return intOnly && new(big.Rat).Quo(big.NewRat(1, 1), m).IsInt()
}

// compareMultipleOf compares multipleOf: a new divisor not implied by the
// old ones breaks backward; an old one not implied by the new ones breaks
// forward.
func (c *comparator) compareMultipleOf(o, n *node, eo, en typeSet, vo, vn []any) []change {
	has := func(list []numKw, r *big.Rat) bool {
		for _, x := range list {
			if x.r.Cmp(r) == 0 {
				return true
			}
		}
		return false
	}
	var add, rem []numKw
	for _, x := range n.multipleOf {
		if !has(o.multipleOf, x.r) {
			add = append(add, x)
		}
	}
	for _, x := range o.multipleOf {
		if !has(n.multipleOf, x.r) {
			rem = append(rem, x)
		}
	}
	if len(add) == 0 && len(rem) == 0 {
		return nil
	}
	notMultiple := func(m *big.Rat) func(any) bool {
		return func(v any) bool {
			x, ok := v.(json.Number)
			if !ok {
				return false
			}
			r, ok := ratOf(x)
			return ok && !new(big.Rat).Quo(r, m).IsInt()
		}
	}
	breaksB := false
	for _, m := range add {
		if vo != nil {
			breaksB = breaksB || anyValue(vo, notMultiple(m.r))
		} else {
			breaksB = breaksB || !implied(o.multipleOf, m.r, eo&tNum == tInt)
		}
	}
	breaksF := false
	for _, m := range rem {
		if vn != nil {
			breaksF = breaksF || anyValue(vn, notMultiple(m.r))
		} else {
			breaksF = breaksF || !implied(n.multipleOf, m.r, en&tNum == tInt)
		}
	}
	if len(add) == 1 && len(rem) == 1 {
		a, b := rem[0], add[0]
		typ := MultipleOfChanged
		switch {
		case new(big.Rat).Quo(a.r, b.r).IsInt():
			typ = MultipleOfReduced
		case new(big.Rat).Quo(b.r, a.r).IsInt():
			typ = MultipleOfExpanded
		}
		return []change{{typ: typ, b: breaksB, f: breaksF, oldAt: a.at, newAt: b.at,
			detail: fmt.Sprintf("multipleOf changed from %s to %s", ratString(a.r), ratString(b.r))}}
	}
	var out []change
	for _, x := range add {
		out = append(out, change{typ: MultipleOfAdded, b: breaksB, oldAt: o.at, newAt: x.at,
			detail: fmt.Sprintf("multipleOf %s added", ratString(x.r))})
	}
	for _, x := range rem {
		out = append(out, change{typ: MultipleOfRemoved, f: breaksF, oldAt: x.at, newAt: n.at,
			detail: fmt.Sprintf("multipleOf %s removed", ratString(x.r))})
	}
	return out
}

// annotationTypes names the change of each annotation keyword.
var annotationTypes = map[string]ChangeType{
	"$id": IDChanged, "title": TitleChanged, "description": DescriptionChanged,
	"default": DefaultChanged, "examples": ExamplesChanged, "deprecated": DeprecatedChanged,
}

// compareAnnotations lists changed annotations (title, description,
// default, ...); they never break anything.
func (c *comparator) compareAnnotations(o, n *node) []change {
	var out []change
	first := func(list []rawKw, name string) (rawKw, bool) {
		for _, a := range list {
			if a.name == name {
				return a, true
			}
		}
		return rawKw{}, false
	}
	seen := map[string]bool{}
	for _, list := range [][]rawKw{o.annotations, n.annotations} {
		for _, a := range list {
			if seen[a.name] || a.name == "$schema" {
				continue
			}
			seen[a.name] = true
			x, okO := first(o.annotations, a.name)
			y, okN := first(n.annotations, a.name)
			if okO && okN && jsonEqual(x.v, y.v) {
				continue
			}
			typ, ok := annotationTypes[a.name]
			if !ok {
				typ = AnnotationChanged
			}
			ch := change{typ: typ, oldAt: o.at, newAt: n.at}
			switch {
			case okO && okN:
				ch.oldAt, ch.newAt = x.at, y.at
				ch.detail = fmt.Sprintf("%s changed from %s to %s", a.name, render(x.v), render(y.v))
			case okN:
				ch.newAt = y.at
				ch.detail = fmt.Sprintf("%s %s added", a.name, render(y.v))
			default:
				ch.oldAt = x.at
				ch.detail = fmt.Sprintf("%s %s removed", a.name, render(x.v))
			}
			out = append(out, ch)
		}
	}
	return out
}

// compareUnknown compares keywords the checker does not know. A vocabulary
// of the hub's validator may assert them (x-taxonomy does), so an added one
// breaks backward, a removed one forward, and a changed one both.
func (c *comparator) compareUnknown(o, n *node) []change {
	var out []change
	find := func(list []rawKw, name string) []rawKw {
		var r []rawKw
		for _, k := range list {
			if k.name == name {
				r = append(r, k)
			}
		}
		return r
	}
	seen := map[string]bool{}
	for _, list := range [][]rawKw{o.unknown, n.unknown} {
		for _, k := range list {
			if seen[k.name] {
				continue
			}
			seen[k.name] = true
			xs, ys := find(o.unknown, k.name), find(n.unknown, k.name)
			switch {
			case len(xs) == 0:
				out = append(out, change{typ: UnknownKeywordAdded, b: true, oldAt: o.at, newAt: ys[0].at,
					detail: fmt.Sprintf("cannot prove compatibility: keyword %s %s added, which the checker does not know and a validator may assert", k.name, render(ys[0].v))})
			case len(ys) == 0:
				out = append(out, change{typ: UnknownKeywordRemoved, f: true, oldAt: xs[0].at, newAt: n.at,
					detail: fmt.Sprintf("cannot prove compatibility: keyword %s %s removed, which the checker does not know and a validator may assert", k.name, render(xs[0].v))})
			default:
				same := len(xs) == len(ys)
				for i := 0; same && i < len(xs); i++ {
					same = jsonEqual(xs[i].v, ys[i].v) && (k.name != "$dynamicRef" || xs[i].at.ptr == ys[i].at.ptr)
				}
				if !same {
					out = append(out, change{typ: UnknownKeywordChanged, b: true, f: true, oldAt: xs[0].at, newAt: ys[0].at,
						detail: fmt.Sprintf("cannot prove compatibility: keyword %s changed from %s to %s, which the checker does not know", k.name, render(xs[0].v), render(ys[0].v))})
				}
			}
		}
	}
	return out
}
