package compat

import (
	"encoding/json"
	"fmt"
	"math/big"
	"unicode/utf8"
)

// change is a Change while the comparison runs: instance paths are relative
// to the pair being compared, and b and f say whether it breaks backward
// (old ⊄ new) and forward (new ⊄ old).
type change struct {
	typ          ChangeType
	b, f         bool
	oldAt, newAt loc
	inst         string
	detail       string
}

// maxSteps bounds the pairs of schemas one comparison visits.
const maxSteps = 50_000

// pairKey identifies one comparison: two nodes, each restricted to some
// kinds of values.
type pairKey struct {
	o, n    int
	mo, mn  typeSet
	lenient bool
}

// comparator decides, for pairs of schemas, what changed and which way each
// change breaks. compare(x, y) judges L(x) ⊆ L(y) (no b flag) and
// L(y) ⊆ L(x) (no f flag), where L is the set of values a schema accepts;
// every flag is raised unless the checker can prove it false.
type comparator struct {
	lenient  bool
	memo     map[pairKey][]change
	onStack  map[pairKey]int
	depths   []int                // record depth of each pair on the stack
	seed     map[pairKey][]change // what pairs met again while in progress are assumed to give
	assumed  map[pairKey]bool     // pairs met again while in progress in this pass
	steps    int
	passes   int // passes of the last run
	err      error
	effMemo  map[int]typeSet
	effBusy  map[int]bool
	sameMemo map[pair]bool
}

func newComparator(lenient bool) *comparator {
	return &comparator{lenient: lenient, onStack: map[pairKey]int{}, seed: map[pairKey][]change{},
		effMemo: map[int]typeSet{}, effBusy: map[int]bool{}}
}

// maxPasses bounds the passes of run; each pass can only add flags, so
// few are ever needed.
const maxPasses = 32

// run compares two root schemas. Recursive schemas make pairs meet
// themselves again; such a pair is first assumed to give what the seed says
// (nothing at first), and every result is cached. When a pass ends with a
// pair that turned out to break more than it was assumed to, the pass is
// run again with that pair's changes as its assumption. A pass whose every
// assumption held is the answer: assuming compatibility for a pair met again
// deeper in the record is sound by induction on the record's depth, and
// changes found under assumptions are real. (Confluent's checker iterates
// the same way.)
func (c *comparator) run(o, n *node) []change {
	for c.passes = 1; c.passes <= maxPasses; c.passes++ {
		c.memo, c.assumed = map[pairKey][]change{}, map[pairKey]bool{}
		out := c.compare(o, n, tAll, tAll, 0)
		if c.err != nil {
			return nil
		}
		grew := false
		for k := range c.assumed {
			rb, rf := flags(c.memo[k])
			sb, sf := flags(c.seed[k])
			if (rb && !sb) || (rf && !sf) {
				c.seed[k] = dedupe(append(c.seed[k], c.memo[k]...))
				grew = true
			}
		}
		if !grew {
			return out
		}
	}
	c.fail(fmt.Errorf("%w: no stable answer after %d passes over recursive schemas", ErrTooComplex, maxPasses))
	return nil
}

// fail records the first error; comparison then winds down.
func (c *comparator) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

// get returns the node of one of n's subschemas (the empty schema at n
// when ch is nil).
func (c *comparator) get(n *node, ch *child) *node {
	x, err := n.b.get(ch, n.at)
	if err != nil {
		c.fail(fmt.Errorf("%s: %w", n.b.side.label, err))
		return n.b.trueAt(n.at)
	}
	return x
}

// compare compares two schemas, o from the old side and n from the new,
// for values of kinds mo and mn. depth is how deep in the record the pair
// applies. A pair met again deeper in the record gives what run assumes for
// it; a pair met again at the same depth loops without reading the record
// and cannot be proved.
func (c *comparator) compare(o, n *node, mo, mn typeSet, depth int) []change {
	if c.err != nil {
		return nil
	}
	if c.steps++; c.steps > maxSteps {
		c.fail(fmt.Errorf("%w: more than %d schema pairs to compare", ErrTooComplex, maxSteps))
		return nil
	}
	k := pairKey{o.id, n.id, mo, mn, c.lenient}
	if r, ok := c.memo[k]; ok {
		return r
	}
	if o.src != nil && n.src != nil && c.identical(o, n) {
		c.memo[k] = nil
		return nil
	}
	if idx, ok := c.onStack[k]; ok {
		if c.depths[idx] == depth {
			return []change{{typ: RefCycleUnproven, b: true, f: true, oldAt: o.at, newAt: n.at,
				detail: "cannot prove compatibility: the schemas refer to themselves (through $ref, anyOf, not, ...) without descending into the record"}}
		}
		c.assumed[k] = true
		return c.seed[k]
	}
	idx := len(c.depths)
	c.onStack[k] = idx
	c.depths = append(c.depths, depth)
	out := dedupe(c.compareNodes(o, n, mo, mn, depth))
	delete(c.onStack, k)
	c.depths = c.depths[:idx]
	c.memo[k] = out
	return out
}

// compareNodes is compare's body.
func (c *comparator) compareNodes(o, n *node, mo, mn typeSet, depth int) []change {
	out := c.compareAnnotations(o, n)
	eo, en := c.eff(o)&mo, c.eff(n)&mn
	if o.falsy || n.falsy {
		switch {
		case o.falsy && n.falsy:
		case o.falsy:
			out = append(out, change{typ: SchemaWidenedFromFalse, f: en != 0, oldAt: o.at, newAt: n.at,
				detail: "the schema was false (nothing allowed) and now allows values"})
		default:
			out = append(out, change{typ: SchemaNarrowedToFalse, b: eo != 0, oldAt: o.at, newAt: n.at,
				detail: "the schema is now false: nothing is allowed here any more"})
		}
		return out
	}
	vo, vn := c.finite(o, eo), c.finite(n, en)
	if vo != nil {
		eo &= kindsOf(vo)
	}
	if vn != nil {
		en &= kindsOf(vn)
	}
	out = append(out, c.compareType(o, n, eo, en)...)
	out = append(out, c.compareValues(o, n, vo, vn)...)
	out = append(out, mask(c.compareString(o, n, vo, vn), eo&tStr != 0, en&tStr != 0)...)
	out = append(out, mask(c.compareNumber(o, n, eo, en, vo, vn), eo&tNum != 0, en&tNum != 0)...)
	out = append(out, mask(c.compareObject(o, n, vo, vn, depth), eo&tObj != 0, en&tObj != 0)...)
	out = append(out, mask(c.compareArray(o, n, vo, vn, depth), eo&tArr != 0, en&tArr != 0)...)
	out = append(out, c.compareCombinators(o, n, eo, en, depth)...)
	out = append(out, c.compareUnknown(o, n)...)
	out = append(out, c.compareUnevaluated(o, n, eo, en, depth)...)
	return mask(out, eo != 0, en != 0)
}

// changeKey identifies a change in a listing: the same change reached along
// several paths (a definition used in many places, a recursive schema) is
// one change.
type changeKey struct {
	typ          ChangeType
	oldAt, newAt string
}

// dedupe keeps the first of each change (with the shortest record path,
// as the comparison meets it first), breaking in every direction any of
// its copies breaks. This keeps lists small however often a definition is
// reached.
func dedupe(cs []change) []change {
	if len(cs) < 2 {
		return cs
	}
	index := make(map[changeKey]int, len(cs))
	out := make([]change, 0, len(cs))
	for _, x := range cs {
		k := changeKey{x.typ, x.oldAt.String(), x.newAt.String()}
		if i, ok := index[k]; ok {
			out[i].b = out[i].b || x.b
			out[i].f = out[i].f || x.f
			continue
		}
		index[k] = len(out)
		out = append(out, x)
	}
	return out
}

// mask clears the b flags unless keepB and the f flags unless keepF: a
// change cannot break a direction for values the source schema never
// accepts.
func mask(cs []change, keepB, keepF bool) []change {
	if keepB && keepF {
		return cs
	}
	out := make([]change, len(cs))
	for i, x := range cs {
		x.b = x.b && keepB
		x.f = x.f && keepF
		out[i] = x
	}
	return out
}

// under places changes at a property or item of the record.
func under(cs []change, token string) []change {
	out := make([]change, len(cs))
	for i, x := range cs {
		x.inst = "/" + escapeToken(token) + x.inst
		out[i] = x
	}
	return out
}

// flags returns whether any change breaks backward and forward.
func flags(cs []change) (b, f bool) {
	for _, x := range cs {
		b = b || x.b
		f = f || x.f
	}
	return b, f
}

// structural reports whether any change is more than an annotation.
func structural(cs []change) bool {
	for _, x := range cs {
		if !isAnnotation(x.typ) {
			return true
		}
	}
	return false
}

// isAnnotation reports whether a change type is about annotations only.
func isAnnotation(t ChangeType) bool {
	switch t {
	case IDChanged, TitleChanged, DescriptionChanged, DefaultChanged, ExamplesChanged,
		DeprecatedChanged, AnnotationChanged, DefinitionAdded, DefinitionRemoved:
		return true
	}
	return false
}

// eff returns the kinds of values n may accept: its type keyword narrowed by
// its enum or const and by its anyOf, oneOf and unmerged allOf parts.
func (c *comparator) eff(n *node) typeSet {
	if n.falsy {
		return 0
	}
	if t, ok := c.effMemo[n.id]; ok {
		return t
	}
	if c.effBusy[n.id] {
		return tAll
	}
	c.effBusy[n.id] = true
	defer delete(c.effBusy, n.id)
	t := n.typeBits()
	if n.values != nil {
		t &= kindsOf(n.values.vals)
	}
	for _, g := range n.groups {
		var u typeSet
		for _, br := range g.branches {
			u |= c.eff(c.get(n, br))
		}
		t &= u
	}
	for _, cj := range n.conj {
		t &= c.eff(c.get(n, cj))
	}
	c.effMemo[n.id] = t
	return t
}

// kindsOf returns the kinds of a list of values.
func kindsOf(vals []any) typeSet {
	var t typeSet
	for _, v := range vals {
		t |= kindOf(v)
	}
	return t
}

// finite returns every value n may accept among kinds ts when that set is
// known to be finite (an enum, a const, booleans and null), else nil. Values
// that certainly fail n's other keywords are left out.
func (c *comparator) finite(n *node, ts typeSet) []any {
	var vals []any
	switch {
	case n.values != nil:
		vals = n.values.vals
	case ts != 0 && ts&^(tNull|tBool) == 0:
		vals = []any{nil, false, true}
	default:
		return nil
	}
	out := make([]any, 0, len(vals))
	for _, v := range vals {
		if kindOf(v)&ts != 0 && !scalarFails(v, n) {
			out = append(out, v)
		}
	}
	return out
}

// scalarFails reports whether v certainly fails n's keywords about single
// values (type, enum, const, string and number bounds, pattern); false
// means it may pass.
func scalarFails(v any, n *node) bool {
	if n.falsy || kindOf(v)&n.typeBits() == 0 {
		return true
	}
	if n.values != nil && !containsValue(n.values.vals, v) {
		return true
	}
	switch x := v.(type) {
	case string:
		l := big.NewRat(int64(utf8.RuneCountInString(x)), 1)
		if (n.minLength != nil && l.Cmp(n.minLength.r) < 0) || (n.maxLength != nil && l.Cmp(n.maxLength.r) > 0) {
			return true
		}
		for _, p := range n.patterns {
			if re := compileRegexp(p.s); re != nil && !re.MatchString(x) {
				return true
			}
		}
	case json.Number:
		if r, ok := ratOf(x); ok {
			return numFails(r, n)
		}
	}
	return false
}

// numFails reports whether the number r fails n's numeric keywords.
func numFails(r *big.Rat, n *node) bool {
	if lo, ok := lowerOf(n); ok && lo.excludes(r, true) {
		return true
	}
	if hi, ok := upperOf(n); ok && hi.excludes(r, false) {
		return true
	}
	for _, m := range n.multipleOf {
		if !new(big.Rat).Quo(r, m.r).IsInt() {
			return true
		}
	}
	return false
}

// disjoint reports whether no value can be accepted by both a (among kinds
// ta) and b (among kinds tb): their kinds differ, their values differ, or
// they are objects requiring a property on which they are disjoint.
func (c *comparator) disjoint(a, b *node, ta, tb typeSet, depth int) bool {
	ea, eb := c.eff(a)&ta, c.eff(b)&tb
	if ea&eb == 0 || a.falsy || b.falsy {
		return true
	}
	if va := c.finite(a, ea); va != nil && allFail(va, b, eb) {
		return true
	}
	if vb := c.finite(b, eb); vb != nil && allFail(vb, a, ea) {
		return true
	}
	if ea&eb == tObj && depth < 4 {
		for _, p := range a.reqOrder {
			if _, ok := b.required[p]; !ok {
				continue
			}
			pa, _ := c.propNode(a, p)
			pb, _ := c.propNode(b, p)
			if c.disjoint(pa, pb, tAll, tAll, depth+1) {
				return true
			}
		}
	}
	return false
}

// allFail reports whether every value certainly fails n (among kinds ts).
func allFail(vals []any, n *node, ts typeSet) bool {
	for _, v := range vals {
		if kindOf(v)&ts != 0 && !scalarFails(v, n) {
			return false
		}
	}
	return true
}

// anyValue reports whether some value satisfies pred.
func anyValue(vals []any, pred func(any) bool) bool {
	for _, v := range vals {
		if pred(v) {
			return true
		}
	}
	return false
}

// bits splits a kind set into its single kinds.
func bits(t typeSet) []typeSet {
	var out []typeSet
	for b := typeSet(1); b <= tFrac; b <<= 1 {
		if t&b != 0 {
			out = append(out, b)
		}
	}
	return out
}
