package compat

import "fmt"

// compareCombinators compares anyOf, oneOf, not, if/then/else and the
// allOf branches and $ref targets that could not be merged.
func (c *comparator) compareCombinators(o, n *node, eo, en typeSet, depth int) []change {
	// The lenient assumption is about the properties a schema names; inside
	// a branch, names the rest of the schema gives are not in sight, so
	// branches are always compared strictly.
	defer func(saved bool) { c.lenient = saved }(c.lenient)
	c.lenient = false
	out := c.compareGroups(o, n, eo, en, depth)
	out = append(out, c.compareNots(o, n, eo, en, depth)...)
	out = append(out, c.compareConds(o, n, eo, en, depth)...)
	return append(out, c.compareConj(o, n, eo, en, depth)...)
}

// within reports whether x (of kinds tx) accepts only values y accepts.
// xOld says x is from the old side (then y is from the new).
func (c *comparator) within(x, y *node, tx typeSet, xOld bool, depth int) bool {
	if xOld {
		b, _ := flags(c.compare(x, y, tx, tAll, depth))
		return !b
	}
	_, f := flags(c.compare(y, x, tAll, tx, depth))
	return !f
}

// covers reports whether every value src accepts (of kinds ts) is
// accepted by the union dst: by some branch, and, when dst is a oneOf, by
// no other branch. A value in src avoids another branch when the two are
// disjoint, or when src is itself a oneOf branch and the other branch lies
// within a different branch of src's oneOf (srcAlts). overlap says the
// second condition failed.
func (c *comparator) covers(src *node, ts typeSet, srcAlts []*node, dst []*node, dstOneOf, srcOld bool, depth int) (ok, overlap bool) {
	for _, t := range bits(ts & c.eff(src)) {
		found := false
		for j, d := range dst {
			if !c.within(src, d, t, srcOld, depth) {
				continue
			}
			if !dstOneOf {
				found = true
				break
			}
			alone := true
			for k, other := range dst {
				if k == j || c.disjoint(src, other, t, tAll, 0) {
					continue
				}
				inAlt := false
				for _, alt := range srcAlts {
					if alt != src && c.within(other, alt, tAll, !srcOld, depth) {
						inAlt = true
						break
					}
				}
				if !inAlt {
					alone = false
					break
				}
			}
			if alone {
				found = true
				break
			}
			overlap = true
		}
		if !found {
			return false, overlap
		}
	}
	return true, false
}

// groupNames names a group's keyword and changes.
func groupNames(g group) (kw string, added, removed, branchAdded, branchRemoved ChangeType) {
	if g.oneOf {
		return "oneOf", OneOfAdded, OneOfRemoved, OneOfBranchAdded, OneOfBranchRemoved
	}
	return "anyOf", AnyOfAdded, AnyOfRemoved, AnyOfBranchAdded, AnyOfBranchRemoved
}

// compareGroups pairs anyOf and oneOf keywords by position and compares
// them. An anyOf or oneOf only on the new side must accept every old value;
// one only on the old side must accept every new value.
func (c *comparator) compareGroups(o, n *node, eo, en typeSet, depth int) []change {
	var out []change
	for i := 0; i < max(len(o.groups), len(n.groups)); i++ {
		switch {
		case i < len(o.groups) && i < len(n.groups):
			out = append(out, c.compareGroup(o, n, o.groups[i], n.groups[i], eo, en, depth)...)
		case i < len(n.groups):
			g := n.groups[i]
			kw, added, _, _, _ := groupNames(g)
			ok, overlap := c.covers(o, eo, nil, c.branches(n, g), g.oneOf, true, depth)
			detail := fmt.Sprintf("%s added: values must now match %s of its %d branches", kw, oneOrAny(g.oneOf), len(g.branches))
			if !ok && overlap {
				detail = fmt.Sprintf("cannot prove compatibility: %s added and an old value may match more than one of its branches", kw)
			}
			out = append(out, change{typ: added, b: !ok, oldAt: o.at, newAt: g.at, detail: detail})
		default:
			g := o.groups[i]
			kw, _, removed, _, _ := groupNames(g)
			ok, overlap := c.covers(n, en, nil, c.branches(o, g), g.oneOf, false, depth)
			detail := fmt.Sprintf("%s removed: values need no longer match its branches", kw)
			if !ok && overlap {
				detail = fmt.Sprintf("cannot prove compatibility: %s removed and a new value may match more than one of its branches", kw)
			}
			out = append(out, change{typ: removed, f: !ok, oldAt: g.at, newAt: n.at, detail: detail})
		}
	}
	return out
}

func oneOrAny(oneOf bool) string {
	if oneOf {
		return "exactly one"
	}
	return "at least one"
}

// branches returns the nodes of a group's branches.
func (c *comparator) branches(n *node, g group) []*node {
	out := make([]*node, len(g.branches))
	for i, br := range g.branches {
		out[i] = c.get(n, br)
	}
	return out
}

// compareGroup compares two anyOf/oneOf keywords. Every old branch must be
// covered by the new branches (backward) and every new branch by the old
// (forward). For the listing, branches are paired (unchanged ones first,
// then by position); a pair's changes break a direction only when the
// branch on its source side is not covered.
func (c *comparator) compareGroup(o, n *node, gO, gN group, eo, en typeSet, depth int) []change {
	var out []change
	oNodes, nNodes := c.branches(o, gO), c.branches(n, gN)
	kwO, _, _, _, removed := groupNames(gO)
	kwN, _, _, added, _ := groupNames(gN)
	if gO.oneOf != gN.oneOf {
		out = append(out, change{typ: CombinedTypeChanged, oldAt: gO.at, newAt: gN.at,
			detail: fmt.Sprintf("%s became %s", kwO, kwN)})
	}
	covB := make([]bool, len(oNodes))
	overB := make([]bool, len(oNodes))
	for i, x := range oNodes {
		covB[i], overB[i] = c.covers(x, eo, oNodes, nNodes, gN.oneOf, true, depth)
		if !gO.oneOf {
			// Without oneOf on the old side, a value may match several old
			// branches, so no old branch may be used to rule out overlaps.
			covB[i], overB[i] = c.covers(x, eo, nil, nNodes, gN.oneOf, true, depth)
		}
	}
	covF := make([]bool, len(nNodes))
	overF := make([]bool, len(nNodes))
	for j, y := range nNodes {
		var alts []*node
		if gN.oneOf {
			alts = nNodes
		}
		covF[j], overF[j] = c.covers(y, en, alts, oNodes, gO.oneOf, false, depth)
	}
	pairOf := c.pairBranches(oNodes, nNodes, eo, en, depth)
	pairedN := make([]bool, len(nNodes))
	flaggedB := make([]bool, len(oNodes))
	flaggedF := make([]bool, len(nNodes))
	for i, j := range pairOf {
		if j < 0 {
			out = append(out, change{typ: removed, b: !covB[i], oldAt: gO.branches[i].at(), newAt: gN.at,
				detail: fmt.Sprintf("%s branch %d removed", kwO, i)})
			flaggedB[i] = true
			continue
		}
		pairedN[j] = true
		sub := mask(c.compare(oNodes[i], nNodes[j], eo, en, depth), !covB[i], !covF[j])
		b, f := flags(sub)
		flaggedB[i], flaggedF[j] = b, f
		out = append(out, sub...)
	}
	for j := range nNodes {
		if !pairedN[j] {
			out = append(out, change{typ: added, f: !covF[j], oldAt: gO.at, newAt: gN.branches[j].at(),
				detail: fmt.Sprintf("%s branch %d added", kwN, j)})
			flaggedF[j] = true
		}
	}
	// Every uncovered branch gets a change that says so, even where the
	// paired branch's own changes do not show it.
	for i := range oNodes {
		if covB[i] || (flaggedB[i] && !overB[i]) {
			continue
		}
		typ, detail := SumTypeNarrowed, fmt.Sprintf("values of old %s branch %d are not all allowed by any new branch", kwO, i)
		if overB[i] {
			typ, detail = OneOfBranchesMayOverlap, fmt.Sprintf("cannot prove compatibility: values of old %s branch %d may match more than one new oneOf branch", kwO, i)
		}
		out = append(out, change{typ: typ, b: true, oldAt: gO.branches[i].at(), newAt: gN.at, detail: detail})
	}
	for j := range nNodes {
		if covF[j] || (flaggedF[j] && !overF[j]) {
			continue
		}
		typ, detail := SumTypeExtended, fmt.Sprintf("values of new %s branch %d are not all allowed by any old branch", kwN, j)
		if overF[j] {
			typ, detail = OneOfBranchesMayOverlap, fmt.Sprintf("cannot prove compatibility: values of new %s branch %d may match more than one old oneOf branch", kwN, j)
		}
		out = append(out, change{typ: typ, f: true, oldAt: gO.at, newAt: gN.branches[j].at(), detail: detail})
	}
	return out
}

// pairBranches pairs old and new branches for the listing: unchanged pairs
// first, then the remaining ones by position. pairOf[i] is the new branch
// paired with old branch i, or -1.
func (c *comparator) pairBranches(oNodes, nNodes []*node, eo, en typeSet, depth int) []int {
	pairOf := make([]int, len(oNodes))
	used := make([]bool, len(nNodes))
	for i := range pairOf {
		pairOf[i] = -1
		for j := range nNodes {
			if !used[j] && !structural(c.compare(oNodes[i], nNodes[j], eo, en, depth)) {
				pairOf[i], used[j] = j, true
				break
			}
		}
	}
	for i := range pairOf {
		if pairOf[i] < 0 && i < len(nNodes) && !used[i] {
			pairOf[i], used[i] = i, true
		}
	}
	for i := range pairOf {
		if pairOf[i] >= 0 {
			continue
		}
		for j := range nNodes {
			if !used[j] {
				pairOf[i], used[j] = j, true
				break
			}
		}
	}
	return pairOf
}

// compareNots compares not keywords by position. not A ⊆ not B when
// B ⊆ A, so the inner schemas are compared the other way round.
func (c *comparator) compareNots(o, n *node, eo, en typeSet, depth int) []change {
	var out []change
	for i := 0; i < max(len(o.nots), len(n.nots)); i++ {
		switch {
		case i < len(o.nots) && i < len(n.nots):
			xo, xn := c.get(o, o.nots[i].c), c.get(n, n.nots[i].c)
			if !structural(c.compare(xn, xo, tAll, tAll, depth)) {
				continue
			}
			b, _ := flags(c.compare(xn, xo, eo, tAll, depth))
			_, f := flags(c.compare(xn, xo, tAll, en, depth))
			out = append(out, change{typ: NotChanged, b: b, f: f, oldAt: o.nots[i].at, newAt: n.nots[i].at,
				detail: "the schema under not changed"})
		case i < len(n.nots):
			xn := c.get(n, n.nots[i].c)
			out = append(out, change{typ: NotAdded, b: !c.disjoint(o, xn, eo, tAll, 0), oldAt: o.at, newAt: n.nots[i].at,
				detail: "not added: values matching its schema are refused"})
		default:
			xo := c.get(o, o.nots[i].c)
			out = append(out, change{typ: NotRemoved, f: !c.disjoint(n, xo, en, tAll, 0), oldAt: o.nots[i].at, newAt: n.at,
				detail: "not removed: values matching its schema are allowed"})
		}
	}
	return out
}

// compareConds compares if/then/else by position. With an unchanged if,
// then and else are compared with each other. Otherwise (and for one added
// or removed) the only proof used is that the whole of the source side
// satisfies both then and else; failing that, the change cannot be proved
// compatible.
func (c *comparator) compareConds(o, n *node, eo, en typeSet, depth int) []change {
	var out []change
	thenElse := func(x *node, cd cond) (*node, *node) {
		return c.get(x, cd.thenc), c.get(x, cd.elsec)
	}
	bothBranches := func(src *node, ts typeSet, then, els *node, srcOld bool) bool {
		return c.within(src, then, ts, srcOld, depth) && c.within(src, els, ts, srcOld, depth)
	}
	for i := 0; i < max(len(o.conds), len(n.conds)); i++ {
		switch {
		case i < len(o.conds) && i < len(n.conds):
			co, cn := o.conds[i], n.conds[i]
			ifSub := c.compare(c.get(o, co.ifc), c.get(n, cn.ifc), tAll, tAll, depth)
			thenO, elseO := thenElse(o, co)
			thenN, elseN := thenElse(n, cn)
			if !structural(ifSub) {
				out = append(out, ifSub...)
				out = append(out, c.compare(thenO, thenN, eo, en, depth)...)
				out = append(out, c.compare(elseO, elseN, eo, en, depth)...)
				continue
			}
			b := !bothBranches(o, eo, thenN, elseN, true)
			f := !bothBranches(n, en, thenO, elseO, false)
			detail := "if changed; the records on each side satisfy both then and else of the other"
			if b || f {
				detail = "cannot prove compatibility: the if of an if/then/else changed"
			}
			out = append(out, change{typ: ConditionalChanged, b: b, f: f, oldAt: co.at, newAt: cn.at, detail: detail})
		case i < len(n.conds):
			cn := n.conds[i]
			thenN, elseN := thenElse(n, cn)
			b := !bothBranches(o, eo, thenN, elseN, true)
			detail := "if/then/else added; every old record satisfies both its then and its else"
			if b {
				detail = "cannot prove compatibility: if/then/else added, and old records may fail its then or else"
			}
			out = append(out, change{typ: ConditionalAdded, b: b, oldAt: o.at, newAt: cn.at, detail: detail})
		default:
			co := o.conds[i]
			thenO, elseO := thenElse(o, co)
			f := !bothBranches(n, en, thenO, elseO, false)
			detail := "if/then/else removed; every new record satisfies both its then and its else"
			if f {
				detail = "cannot prove compatibility: if/then/else removed, and new records may fail its then or else"
			}
			out = append(out, change{typ: ConditionalRemoved, f: f, oldAt: co.at, newAt: n.at, detail: detail})
		}
	}
	return out
}

// compareConj compares the allOf branches and $ref targets that could not be
// merged into their schema. Each new one must be implied by an old one or by
// the old schema as a whole (backward), and each old one by a new one or the
// new schema as a whole (forward).
func (c *comparator) compareConj(o, n *node, eo, en typeSet, depth int) []change {
	if len(o.conj) == 0 && len(n.conj) == 0 {
		return nil
	}
	var out []change
	oNodes := make([]*node, len(o.conj))
	for i, x := range o.conj {
		oNodes[i] = c.get(o, x)
	}
	nNodes := make([]*node, len(n.conj))
	for j, x := range n.conj {
		nNodes[j] = c.get(n, x)
	}
	provenB := make([]bool, len(nNodes))
	for j, y := range nNodes {
		for _, x := range append(append([]*node{}, oNodes...), o) {
			if c.within(x, y, eo, true, depth) {
				provenB[j] = true
				break
			}
		}
	}
	provenF := make([]bool, len(oNodes))
	for i, x := range oNodes {
		for _, y := range append(append([]*node{}, nNodes...), n) {
			if c.within(y, x, en, false, depth) {
				provenF[i] = true
				break
			}
		}
	}
	pairOf := c.pairBranches(oNodes, nNodes, eo, en, depth)
	paired := make([]bool, len(nNodes))
	for i, j := range pairOf {
		if j < 0 {
			out = append(out, change{typ: AllOfBranchRemoved, f: !provenF[i], oldAt: o.conj[i].at(), newAt: n.at,
				detail: "an allOf branch (or $ref) removed"})
			continue
		}
		paired[j] = true
		sub := mask(c.compare(oNodes[i], nNodes[j], eo, en, depth), !provenB[j], !provenF[i])
		b, f := flags(sub)
		out = append(out, sub...)
		if !provenB[j] && !b {
			out = append(out, change{typ: AllOfBranchAdded, b: true, oldAt: o.conj[i].at(), newAt: n.conj[j].at(),
				detail: "cannot prove compatibility: the old schema is not known to satisfy this allOf branch (or $ref)"})
		}
		if !provenF[i] && !f {
			out = append(out, change{typ: AllOfBranchRemoved, f: true, oldAt: o.conj[i].at(), newAt: n.conj[j].at(),
				detail: "cannot prove compatibility: the new schema is not known to satisfy this allOf branch (or $ref)"})
		}
	}
	for j := range nNodes {
		if !paired[j] {
			out = append(out, change{typ: AllOfBranchAdded, b: !provenB[j], oldAt: o.at, newAt: n.conj[j].at(),
				detail: "an allOf branch (or $ref) added"})
		}
	}
	return out
}
