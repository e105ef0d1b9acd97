package compat

import (
	"fmt"
	"maps"
	"slices"
)

// propKind says where a property name gets its schema from.
type propKind int

const (
	propDeclared   propKind = iota // properties (and any matching patternProperties)
	propPattern                    // matching patternProperties only
	propAdditional                 // additionalProperties
	propOpen                       // nothing: any value
)

// propChild returns the schema a property name gets in n and where from.
func propChild(n *node, name string) (*child, propKind) {
	ch, kind := n.props[name], propDeclared
	if ch == nil {
		kind = propPattern
	}
	for _, pp := range n.patternProps {
		if re := compileRegexp(pp.re); re != nil && re.MatchString(name) {
			ch = conjChild(ch, pp.c)
		}
	}
	switch {
	case ch != nil:
		return ch, kind
	case n.addl != nil:
		return n.addl, propAdditional
	}
	return nil, propOpen
}

// propNode is propChild's node.
func (c *comparator) propNode(n *node, name string) (*node, propKind) {
	ch, k := propChild(n, name)
	return c.get(n, ch), k
}

// slotTypes names the changes of a keyword holding one subschema that
// applies to a part of the record (additionalProperties, items, ...).
type slotTypes struct {
	added, removed, closed, opened ChangeType
	kw                             string
}

var (
	addlSlot        = slotTypes{AdditionalPropertiesAdded, AdditionalPropertiesRemoved, AdditionalPropertiesClosed, AdditionalPropertiesOpened, "additionalProperties"}
	unevalPropsSlot = slotTypes{UnevaluatedPropertiesAdded, UnevaluatedPropertiesRemoved, UnevaluatedPropertiesClosed, UnevaluatedPropertiesOpened, "unevaluatedProperties"}
	itemsSlot       = slotTypes{ItemsAdded, ItemsRemoved, ItemsClosed, ItemsOpened, "items"}
	unevalItemsSlot = slotTypes{UnevaluatedItemsAdded, UnevaluatedItemsRemoved, UnevaluatedItemsClosed, UnevaluatedItemsOpened, "unevaluatedItems"}
)

// compareSlot compares a keyword holding one subschema, absent meaning any
// value. Becoming false is reported as closed, leaving false as opened, and
// appearing or disappearing as added or removed (each one change carrying
// the verdict); otherwise the subschemas' own changes are listed. token is
// the record step the subschema applies at ("*" for any item or property).
// keepB and keepF, when false, drop the flags of that direction.
func (c *comparator) compareSlot(o, n *node, oc, nc *child, st slotTypes, token string, depth int, keepB, keepF bool) []change {
	if oc == nil && nc == nil {
		return nil
	}
	on, nn := c.get(o, oc), c.get(n, nc)
	sub := under(c.compare(on, nn, tAll, tAll, depth+1), token)
	b, f := flags(sub)
	oAt, nAt := o.at, n.at
	if oc != nil {
		oAt = oc.at()
	}
	if nc != nil {
		nAt = nc.at()
	}
	ch := change{oldAt: oAt, newAt: nAt, inst: "/" + token}
	oOpen, nOpen := !on.hasConstraints(), !nn.hasConstraints()
	switch {
	case oOpen && nOpen, on.falsy && nn.falsy:
		return sub // annotations only
	case nn.falsy:
		ch.typ, ch.b = st.closed, c.eff(on) != 0
		ch.detail = fmt.Sprintf("%s is now false: what it allowed before is refused", st.kw)
	case on.falsy:
		ch.typ, ch.f = st.opened, c.eff(nn) != 0
		ch.detail = fmt.Sprintf("%s was false and now allows values", st.kw)
	case oOpen:
		ch.typ, ch.b = st.added, b
		ch.detail = fmt.Sprintf("%s added: what was unconstrained must now match it", st.kw)
	case nOpen:
		ch.typ, ch.f = st.removed, f
		ch.detail = fmt.Sprintf("%s removed: what had to match it is now unconstrained", st.kw)
	default:
		return mask(sub, keepB, keepF)
	}
	ch.b, ch.f = ch.b && keepB, ch.f && keepF
	return []change{ch}
}

// compareObject compares the object keywords.
func (c *comparator) compareObject(o, n *node, vo, vn []any, depth int) []change {
	var out []change
	// The lenient policy assumes records carry only the properties their
	// schema names, its applicators (anyOf, if/then/else, ...) included.
	lo, ln := c.lenientFor(o, o, n), c.lenientFor(n, o, n)
	names := append([]string{}, o.propOrder...)
	for _, p := range n.propOrder {
		if o.props[p] == nil {
			names = append(names, p)
		}
	}
	for _, p := range names {
		on, ko := c.propNode(o, p)
		nn, kn := c.propNode(n, p)
		switch inO, inN := o.props[p] != nil, n.props[p] != nil; {
		case inO && inN:
			out = append(out, under(c.compare(on, nn, tAll, tAll, depth+1), p)...)
		case inN:
			out = append(out, c.propertyAdded(o, n, p, on, ko, nn, lo.name(p), depth)...)
		default:
			out = append(out, c.propertyRemoved(o, n, p, on, nn, kn, ln.name(p), depth)...)
		}
	}
	out = append(out, c.compareRequired(o, n)...)
	out = append(out, c.compareCount(o, n, minPropsSpec, vo, vn)...)
	out = append(out, c.compareCount(o, n, maxPropsSpec, vo, vn)...)
	st := addlSlot
	if o.addlUneval || n.addlUneval {
		st = unevalPropsSlot
	}
	// Under the lenient policy records carry only named properties, so what
	// additionalProperties allows never occurs.
	out = append(out, c.compareSlot(o, n, o.addl, n.addl, st, "*", depth, !lo.rest(), !ln.rest())...)
	out = append(out, c.comparePatternProps(o, n, lo.rest(), ln.rest(), depth)...)
	if o.propNames != nil || n.propNames != nil {
		sub := c.compare(c.get(o, o.propNames), c.get(n, n.propNames), tStr, tStr, depth)
		if structural(sub) {
			b, f := flags(sub)
			ch := change{typ: PropertyNamesChanged, b: b, f: f, oldAt: o.at, newAt: n.at, detail: "propertyNames changed"}
			switch {
			case o.propNames == nil:
				ch.typ, ch.newAt, ch.detail = PropertyNamesAdded, n.propNames.at(), "propertyNames added: property names are constrained"
			case n.propNames == nil:
				ch.typ, ch.oldAt, ch.detail = PropertyNamesRemoved, o.propNames.at(), "propertyNames removed: any property name is allowed"
			default:
				ch.oldAt, ch.newAt = o.propNames.at(), n.propNames.at()
			}
			out = append(out, ch)
		}
	}
	out = append(out, c.compareDependent(o, n, depth)...)
	return out
}

// propertyAdded judges a property the new schema names and the old did not.
func (c *comparator) propertyAdded(o, n *node, p string, on *node, ko propKind, nn *node, lenient bool, depth int) []change {
	newAt := n.props[p].at()
	inst := "/" + escapeToken(p)
	switch {
	case ko == propOpen && !nn.hasConstraints():
		return []change{{typ: PropertyWithEmptySchemaAddedToOpenContent, oldAt: o.at, newAt: newAt, inst: inst,
			detail: fmt.Sprintf("property %q added with a schema that allows any value", p)}}
	case ko == propOpen:
		b, _ := flags(c.compare(on, nn, tAll, tAll, depth+1))
		detail := fmt.Sprintf("property %q added to an open content model: the old schema allowed any value under this name, the new one constrains it", p)
		if lenient {
			detail += " (the lenient policy assumes no record carried a property the old schema did not name)"
		}
		return []change{{typ: PropertyAddedToOpenContentModel, b: b && !lenient, oldAt: o.at, newAt: newAt, inst: inst, detail: detail}}
	case ko == propAdditional && on.falsy:
		return []change{{typ: PropertyAddedToClosedContentModel, f: c.eff(nn) != 0, oldAt: o.addl.at(), newAt: newAt, inst: inst,
			detail: fmt.Sprintf("property %q added to a closed content model: the old schema refused it (additionalProperties false)", p)}}
	}
	from, oldAt := "patternProperties", o.at
	if ko == propAdditional {
		from, oldAt = "additionalProperties", o.addl.at()
	}
	sub := under(c.compare(on, nn, tAll, tAll, depth+1), p)
	if ko == propAdditional && lenient {
		sub = mask(sub, false, true)
	}
	return append(sub, change{typ: PropertyAddedToPartiallyOpenContentModel, oldAt: oldAt, newAt: newAt, inst: inst,
		detail: fmt.Sprintf("property %q added; the old schema's %s applied to it and is compared with the new definition", p, from)})
}

// propertyRemoved judges a property the old schema named and the new does not.
func (c *comparator) propertyRemoved(o, n *node, p string, on, nn *node, kn propKind, lenient bool, depth int) []change {
	oldAt := o.props[p].at()
	inst := "/" + escapeToken(p)
	switch {
	case kn == propOpen && !on.hasConstraints():
		return []change{{typ: PropertyRemovedFromOpenContentModel, oldAt: oldAt, newAt: n.at, inst: inst,
			detail: fmt.Sprintf("property %q, which allowed any value, removed from an open content model", p)}}
	case kn == propOpen:
		_, f := flags(c.compare(on, nn, tAll, tAll, depth+1))
		detail := fmt.Sprintf("property %q removed from an open content model: the new schema allows any value under this name, the old one constrained it", p)
		if lenient {
			detail += " (the lenient policy assumes no record carries a property its schema does not name)"
		}
		return []change{{typ: PropertyRemovedFromOpenContentModel, f: f && !lenient, oldAt: oldAt, newAt: n.at, inst: inst, detail: detail}}
	case kn == propAdditional && nn.falsy:
		return []change{{typ: PropertyRemovedFromClosedContentModel, b: c.eff(on) != 0, oldAt: oldAt, newAt: n.addl.at(), inst: inst,
			detail: fmt.Sprintf("property %q removed from a closed content model: the new schema refuses it (additionalProperties false)", p)}}
	}
	from, newAt := "patternProperties", n.at
	if kn == propAdditional {
		from, newAt = "additionalProperties", n.addl.at()
	}
	sub := under(c.compare(on, nn, tAll, tAll, depth+1), p)
	if kn == propAdditional && lenient {
		sub = mask(sub, true, false)
	}
	return append(sub, change{typ: PropertyRemovedFromPartiallyOpenContentModel, oldAt: oldAt, newAt: newAt, inst: inst,
		detail: fmt.Sprintf("property %q removed; the new schema's %s applies to it and is compared with the old definition", p, from)})
}

// compareRequired compares required: a name added breaks backward, one
// removed breaks forward.
func (c *comparator) compareRequired(o, n *node) []change {
	var out []change
	for _, p := range n.reqOrder {
		if _, ok := o.required[p]; ok {
			continue
		}
		detail := fmt.Sprintf("property %q is now required", p)
		if ch := n.props[p]; ch != nil {
			if x := c.get(n, ch); hasAnnotation(x, "default") {
				detail += " (its default does not help: validation does not fill in defaults)"
			}
		}
		out = append(out, change{typ: RequiredPropertyAdded, b: true, oldAt: o.at, newAt: n.required[p], inst: "/" + escapeToken(p), detail: detail})
	}
	for _, p := range o.reqOrder {
		if _, ok := n.required[p]; !ok {
			out = append(out, change{typ: RequiredPropertyRemoved, f: true, oldAt: o.required[p], newAt: n.at, inst: "/" + escapeToken(p),
				detail: fmt.Sprintf("property %q is no longer required", p)})
		}
	}
	return out
}

// hasAnnotation reports whether a node carries an annotation keyword.
func hasAnnotation(n *node, name string) bool {
	for _, a := range n.annotations {
		if a.name == name {
			return true
		}
	}
	return false
}

// comparePatternProps compares patternProperties. A property name may match
// several patterns, and whether two patterns overlap is not known in
// general, so an added pattern must accept what any old pattern (and the
// old additionalProperties) allowed, unless their anchored literal prefixes
// show they cannot overlap; and the other way round for a removed one.
func (c *comparator) comparePatternProps(o, n *node, lo, ln bool, depth int) []change {
	var out []change
	find := func(list []patProp, re string) *patProp {
		for i := range list {
			if list[i].re == re {
				return &list[i]
			}
		}
		return nil
	}
	oA, nA := c.get(o, o.addl), c.get(n, n.addl)
	for _, pp := range o.patternProps {
		if q := find(n.patternProps, pp.re); q != nil {
			out = append(out, under(c.compare(c.get(o, pp.c), c.get(n, q.c), tAll, tAll, depth+1), "*")...)
			continue
		}
		on := c.get(o, pp.c)
		b, f := flags(c.compare(on, nA, tAll, tAll, depth+1))
		f = f && !ln
		for _, q := range n.patternProps {
			if q.re != pp.re && !patternsDisjoint(q.re, pp.re) {
				_, f2 := flags(c.compare(on, c.get(n, q.c), tAll, tAll, depth+1))
				f = f || f2
			}
		}
		out = append(out, change{typ: PatternPropertyRemoved, b: b, f: f, oldAt: pp.c.at(), newAt: n.at, inst: "/*",
			detail: fmt.Sprintf("patternProperties %q removed: names matching it now get the schema of additionalProperties or of other patterns", pp.re)})
	}
	for _, pp := range n.patternProps {
		if find(o.patternProps, pp.re) != nil {
			continue
		}
		nn := c.get(n, pp.c)
		b, f := flags(c.compare(oA, nn, tAll, tAll, depth+1))
		b = b && !lo
		for _, q := range o.patternProps {
			if q.re != pp.re && !patternsDisjoint(q.re, pp.re) {
				b2, _ := flags(c.compare(c.get(o, q.c), nn, tAll, tAll, depth+1))
				b = b || b2
			}
		}
		out = append(out, change{typ: PatternPropertyAdded, b: b, f: f, oldAt: o.at, newAt: pp.c.at(), inst: "/*",
			detail: fmt.Sprintf("patternProperties %q added: names matching it must now match its schema", pp.re)})
	}
	return out
}

// compareDependent compares dependentRequired and dependentSchemas.
func (c *comparator) compareDependent(o, n *node, depth int) []change {
	var out []change
	keys := unionKeys(o.depRequired, n.depRequired)
	for _, k := range keys {
		a, okA := o.depRequired[k]
		b, okB := n.depRequired[k]
		var added, removed []string
		for _, x := range b.names {
			if !slices.Contains(a.names, x) {
				added = append(added, x)
			}
		}
		for _, x := range a.names {
			if !slices.Contains(b.names, x) {
				removed = append(removed, x)
			}
		}
		oAt, nAt := o.at, n.at
		if okA {
			oAt = a.at
		}
		if okB {
			nAt = b.at
		}
		if len(added) > 0 {
			out = append(out, change{typ: DependentRequiredAdded, b: true, oldAt: oAt, newAt: nAt,
				detail: fmt.Sprintf("dependentRequired: when %q is present, %q are now required too", k, added)})
		}
		if len(removed) > 0 {
			out = append(out, change{typ: DependentRequiredRemoved, f: true, oldAt: oAt, newAt: nAt,
				detail: fmt.Sprintf("dependentRequired: when %q is present, %q are no longer required", k, removed)})
		}
	}
	for _, k := range unionKeys(o.depSchemas, n.depSchemas) {
		a, b := o.depSchemas[k], n.depSchemas[k]
		sub := c.compare(c.get(o, a), c.get(n, b), tObj, tObj, depth)
		bb, ff := flags(sub)
		switch {
		case a == nil:
			out = append(out, change{typ: DependentSchemaAdded, b: bb, oldAt: o.at, newAt: b.at(),
				detail: fmt.Sprintf("dependentSchemas %q added: objects with %q must match it", k, k)})
		case b == nil:
			out = append(out, change{typ: DependentSchemaRemoved, f: ff, oldAt: a.at(), newAt: n.at,
				detail: fmt.Sprintf("dependentSchemas %q removed", k)})
		default:
			out = append(out, sub...)
		}
	}
	return out
}

// unionKeys returns the keys of two maps in order, without repeats.
func unionKeys[V any](a, b map[string]V) []string {
	keys := slices.Sorted(maps.Keys(a))
	for _, k := range slices.Sorted(maps.Keys(b)) {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// compareUnevaluated judges unevaluatedProperties and unevaluatedItems that
// depend on conditional applicators (anyOf, oneOf, if/then/else, unmerged
// allOf, dependentSchemas). Which properties or items they see depends on
// what the applicators evaluate, and that depends on annotations, not only
// on what the applicators accept (additionalProperties: true and no
// additionalProperties accept the same, yet evaluate differently). So the
// two keywords are compared only when the applicators are written
// identically and the schema names the same properties (or items);
// otherwise compatibility cannot be proved.
func (c *comparator) compareUnevaluated(o, n *node, eo, en typeSet, depth int) []change {
	var out []change
	for _, x := range []struct {
		oc, nc   *child
		typ      ChangeType
		st       slotTypes
		what     string
		kinds    typeSet
		sameEval bool
	}{
		{o.unevalProps, n.unevalProps, UnevaluatedPropertiesUnproven, unevalPropsSlot, "properties", tObj, sameNames(o.propOrder, n.propOrder) &&
			samePatterns(o.patternProps, n.patternProps) && (o.addl == nil) == (n.addl == nil)},
		{o.unevalItems, n.unevalItems, UnevaluatedItemsUnproven, unevalItemsSlot, "items", tArr, len(o.prefix) == len(n.prefix) &&
			(o.items == nil) == (n.items == nil) && (o.contains == nil) == (n.contains == nil)},
	} {
		if x.oc == nil && x.nc == nil {
			continue
		}
		if x.sameEval && c.sameApplicators(o, n) {
			out = append(out, mask(c.compareSlot(o, n, x.oc, x.nc, x.st, "*", depth, true, true), eo&x.kinds != 0, en&x.kinds != 0)...)
			continue
		}
		oAt, nAt := o.at, n.at
		if x.oc != nil {
			oAt = x.oc.at()
		}
		if x.nc != nil {
			nAt = x.nc.at()
		}
		out = append(out, change{typ: x.typ, b: eo&x.kinds != 0, f: en&x.kinds != 0, oldAt: oAt, newAt: nAt, inst: "/*",
			detail: fmt.Sprintf("cannot prove compatibility: %s depends on which %s the applicators beside it (anyOf, oneOf, if/then/else, ...) evaluate, and those changed", x.st.kw, x.what)})
	}
	return out
}

// sameNames reports whether two name lists hold the same names.
func sameNames(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// samePatterns reports whether two patternProperties have the same regexes.
func samePatterns(a, b []patProp) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		found := false
		for _, y := range b {
			found = found || x.re == y.re
		}
		if !found {
			return false
		}
	}
	return true
}

// sameApplicators reports whether the conditional applicators of two nodes
// are written identically (and reach identical schemas).
func (c *comparator) sameApplicators(o, n *node) bool {
	if len(o.groups) != len(n.groups) || len(o.conds) != len(n.conds) || len(o.conj) != len(n.conj) ||
		len(o.depSchemas) != len(n.depSchemas) || len(o.unknown) != len(n.unknown) {
		return false
	}
	same := func(a, b *child) bool {
		if a == nil || b == nil {
			return a == b
		}
		if len(a.parts) != 1 || len(b.parts) != 1 {
			return false
		}
		x, y := c.get(o, a), c.get(n, b)
		return x.src != nil && y.src != nil && c.identical(x, y)
	}
	for i := range o.groups {
		g, h := o.groups[i], n.groups[i]
		if g.oneOf != h.oneOf || len(g.branches) != len(h.branches) {
			return false
		}
		for j := range g.branches {
			if !same(g.branches[j], h.branches[j]) {
				return false
			}
		}
	}
	for i := range o.conds {
		a, b := o.conds[i], n.conds[i]
		if !same(a.ifc, b.ifc) || !same(a.thenc, b.thenc) || !same(a.elsec, b.elsec) {
			return false
		}
	}
	for i := range o.conj {
		if !same(o.conj[i], n.conj[i]) {
			return false
		}
	}
	for k, a := range o.depSchemas {
		if !same(a, n.depSchemas[k]) {
			return false
		}
	}
	for i := range o.unknown {
		if o.unknown[i].name != n.unknown[i].name || !jsonEqual(o.unknown[i].v, n.unknown[i].v) {
			return false
		}
	}
	return true
}

// applicatorNames returns the property names x's applicators mention (in
// properties, required or dependentRequired of anyOf, oneOf, if/then/else,
// not, unmerged allOf branches and dependentSchemas, and theirs in turn):
// names a record of x may carry although x's own properties do not declare
// them. complete is false when the applicators nest too deep to tell.
func (c *comparator) applicatorNames(x *node) (names map[string]bool, complete bool) {
	names, complete = map[string]bool{}, true
	seen := map[int]bool{}
	var walk func(y *node, depth int)
	walk = func(y *node, depth int) {
		if seen[y.id] {
			return
		}
		seen[y.id] = true
		if depth > 0 {
			for name := range y.props {
				names[name] = true
			}
			for name := range y.required {
				names[name] = true
			}
			for name, d := range y.depRequired {
				names[name] = true
				for _, m := range d.names {
					names[m] = true
				}
			}
			if len(y.patternProps) > 0 || y.addl != nil {
				complete = false
			}
		}
		var subs []*child
		for _, g := range y.groups {
			subs = append(subs, g.branches...)
		}
		for _, cd := range y.conds {
			subs = append(subs, cd.ifc, cd.thenc, cd.elsec)
		}
		for _, nt := range y.nots {
			subs = append(subs, nt.c)
		}
		subs = append(subs, y.conj...)
		for _, k := range slices.Sorted(maps.Keys(y.depSchemas)) {
			subs = append(subs, y.depSchemas[k])
		}
		if len(subs) > 0 && depth >= 8 {
			complete = false
			return
		}
		for _, ch := range subs {
			if ch != nil {
				walk(c.get(y, ch), depth+1)
			}
		}
	}
	walk(x, 0)
	return names, complete
}

// lenientSide says where the lenient assumption may be used for one side
// of an object comparison: for a property name (does no applicator of that
// side mention it?) and for the names neither side declares.
type lenientSide struct {
	on       bool
	names    map[string]bool
	complete bool
	undecl   bool // no applicator mentions a name that neither side declares
}

func (c *comparator) lenientFor(x, o, n *node) lenientSide {
	if !c.lenient {
		return lenientSide{}
	}
	names, complete := c.applicatorNames(x)
	undecl := complete
	for name := range names {
		if o.props[name] == nil && n.props[name] == nil {
			undecl = false
		}
	}
	return lenientSide{on: true, names: names, complete: complete, undecl: undecl}
}

// name reports whether the lenient assumption covers property name p: the
// side's records then carry p only if its properties declare it.
func (l lenientSide) name(p string) bool { return l.on && l.complete && !l.names[p] }

// rest reports whether the lenient assumption covers the names neither side
// declares.
func (l lenientSide) rest() bool { return l.on && l.undecl }
