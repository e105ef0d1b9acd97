package compat

import (
	"fmt"
	"math/big"
	"strconv"
)

// compareArray compares the array keywords. Positions an array cannot
// reach (at or beyond its maxItems) break nothing.
func (c *comparator) compareArray(o, n *node, vo, vn []any, depth int) []change {
	var out []change
	lo, ln := len(o.prefix), len(n.prefix)
	reach := func(m *numKw, i int) bool { return m == nil || m.r.Cmp(big.NewRat(int64(i), 1)) > 0 }
	for i := 0; i < max(lo, ln); i++ {
		oc, nc := o.items, n.items
		if i < lo {
			oc = o.prefix[i]
		}
		if i < ln {
			nc = n.prefix[i]
		}
		on, nn := c.get(o, oc), c.get(n, nc)
		tok := strconv.Itoa(i)
		sub := mask(under(c.compare(on, nn, tAll, tAll, depth+1), tok), reach(o.maxItems, i), reach(n.maxItems, i))
		if i < lo && i < ln {
			out = append(out, sub...)
			continue
		}
		b, f := flags(sub)
		ch := change{b: b, f: f, inst: "/" + tok}
		// Where the other side's items is a real schema, its changes explain
		// the verdict; otherwise one change says it all.
		if i < ln { // prefix item added
			ch.typ, ch.oldAt, ch.newAt = PrefixItemAdded, o.at, nc.at()
			ch.detail = fmt.Sprintf("prefixItems gained item %d", i)
			if oc != nil && !on.falsy && on.hasConstraints() {
				ch.oldAt = oc.at()
				ch.b, ch.f = false, false
				out = append(out, sub...)
			}
		} else {
			ch.typ, ch.oldAt, ch.newAt = PrefixItemRemoved, oc.at(), n.at
			ch.detail = fmt.Sprintf("prefixItems lost item %d", i)
			if nc != nil && !nn.falsy && nn.hasConstraints() {
				ch.newAt = nc.at()
				ch.b, ch.f = false, false
				out = append(out, sub...)
			}
		}
		out = append(out, ch)
	}
	if o.items != nil || n.items != nil {
		st := itemsSlot
		if o.itemsUneval || n.itemsUneval {
			st = unevalItemsSlot
		}
		rest := max(lo, ln)
		out = append(out, mask(c.compareSlot(o, n, o.items, n.items, st, "*", depth, true, true), reach(o.maxItems, rest), reach(n.maxItems, rest))...)
	}
	out = append(out, c.compareCount(o, n, minItemsSpec, vo, vn)...)
	out = append(out, c.compareCount(o, n, maxItemsSpec, vo, vn)...)
	switch {
	case o.unique == nil && n.unique != nil:
		out = append(out, change{typ: UniqueItemsAdded, b: vo == nil || anyValue(vo, hasDuplicates), oldAt: o.at, newAt: *n.unique,
			detail: "uniqueItems added: arrays with repeated items are refused"})
	case o.unique != nil && n.unique == nil:
		out = append(out, change{typ: UniqueItemsRemoved, f: vn == nil || anyValue(vn, hasDuplicates), oldAt: *o.unique, newAt: n.at,
			detail: "uniqueItems removed: arrays may repeat items"})
	}
	return append(out, c.compareContains(o, n, depth)...)
}

// hasDuplicates reports whether v is an array with two equal items.
func hasDuplicates(v any) bool {
	a, ok := v.([]any)
	if !ok {
		return false
	}
	for i := range a {
		for j := i + 1; j < len(a); j++ {
			if jsonEqual(a[i], a[j]) {
				return true
			}
		}
	}
	return false
}

// compareContains compares contains with minContains and maxContains.
// With at least m items matching the old contains, an array has at least m
// matching a wider new one; a maxContains turns that round, so the verdict
// takes both directions of the contains schemas into account.
func (c *comparator) compareContains(o, n *node, depth int) []change {
	switch {
	case o.contains == nil && n.contains == nil:
		return nil
	case o.contains == nil:
		return []change{{typ: ContainsAdded, b: true, oldAt: o.at, newAt: n.contains.at(),
			detail: "contains added: arrays must now hold a matching item"}}
	case n.contains == nil:
		return []change{{typ: ContainsRemoved, f: true, oldAt: o.contains.at(), newAt: n.at,
			detail: "contains removed: arrays need no longer hold a matching item"}}
	}
	sub := c.compare(c.get(o, o.contains), c.get(n, n.contains), tAll, tAll, depth+1)
	bounds := append(c.compareCount(o, n, minContSpec, nil, nil), c.compareCount(o, n, maxContSpec, nil, nil)...)
	if !structural(sub) {
		return append(sub, bounds...)
	}
	sb, sf := flags(sub)
	one := big.NewRat(1, 1)
	minOf := func(x *node) *big.Rat {
		if x.minContains != nil {
			return x.minContains.r
		}
		return one
	}
	less := func(a, b *numKw) bool { return a != nil && (b == nil || a.r.Cmp(b.r) < 0) }
	b := sb || minOf(n).Cmp(minOf(o)) > 0 || (n.maxContains != nil && (sf || less(n.maxContains, o.maxContains)))
	f := sf || minOf(o).Cmp(minOf(n)) > 0 || (o.maxContains != nil && (sb || less(o.maxContains, n.maxContains)))
	out := mask(bounds, false, false)
	return append(out, change{typ: ContainsChanged, b: b, f: f, oldAt: o.contains.at(), newAt: n.contains.at(), inst: "/*",
		detail: "contains changed: which items count towards minContains and maxContains is different"})
}
