package fastschema

import "fmt"

// finish completes the translated graph: it marks trivially true nodes,
// refuses in-place cycles and builds every node's plan.
func (t *translator) finish() error {
	for _, n := range t.all {
		n.trivial = !n.never && n.types == 0 && !n.hasConst && n.enum == nil && n.kinds == 0 &&
			n.ref == nil && len(n.allOf) == 0 && len(n.anyOf) == 0 && len(n.oneOf) == 0 &&
			n.not == nil && n.ifN == nil && n.thenN == nil && n.elseN == nil && len(n.depSchemas) == 0
	}
	for _, n := range t.all {
		n.readsText = n.kinds&tString != 0 || n.hasConst || n.enum != nil
	}
	drop := func(n *node) *node {
		if n != nil && n.trivial {
			return nil
		}
		return n
	}
	for _, n := range t.all {
		for i := range n.nameProps {
			n.nameProps[i] = drop(n.nameProps[i])
		}
		for i := range n.patterns {
			n.patterns[i].n = drop(n.patterns[i].n)
		}
		n.additional = drop(n.additional)
		n.hasAdditional = n.additional != nil
		n.items = drop(n.items)
		for i := range n.prefix {
			n.prefix[i] = drop(n.prefix[i])
		}
		n.propertyNames = drop(n.propertyNames)
	}
	if err := checkCycles(t.all); err != nil {
		return err
	}
	for _, n := range t.all {
		p, err := buildPlan(n)
		if err != nil {
			return err
		}
		n.plan = p
	}
	return nil
}

// inPlace lists the nodes n applies to the same value.
func inPlace(n *node) []*node {
	var out []*node
	add := func(c *node) {
		if c != nil {
			out = append(out, c)
		}
	}
	add(n.ref)
	for _, c := range n.allOf {
		add(c)
	}
	for _, c := range n.anyOf {
		add(c)
	}
	for _, c := range n.oneOf {
		add(c)
	}
	add(n.not)
	add(n.ifN)
	add(n.thenN)
	add(n.elseN)
	for _, d := range n.depSchemas {
		add(d.n)
	}
	return out
}

// checkCycles refuses a cycle of in-place applicators: the reference reports
// it as a $ref cycle when a record reaches it (connector-kit/schema refuses
// the schema when an empty object does); the fast path leaves such schemas to
// the reference.
func checkCycles(all []*node) error {
	const (
		white = iota
		grey
		black
	)
	color := map[*node]int{}
	var visit func(n *node) *node
	visit = func(n *node) *node {
		switch color[n] {
		case grey:
			return n
		case black:
			return nil
		}
		color[n] = grey
		for _, c := range inPlace(n) {
			if bad := visit(c); bad != nil {
				return bad
			}
		}
		color[n] = black
		return nil
	}
	for _, n := range all {
		if bad := visit(n); bad != nil {
			return &UnsupportedError{Keyword: "$ref cycle", Location: bad.loc,
				Detail: "subschemas apply to the same value in a loop"}
		}
	}
	return nil
}

// buildPlan computes root's in-place closure in topological order (a node
// before those it applies in place) and the tables evaluation uses.
func buildPlan(root *node) (*plan, error) {
	var post []*node
	seen := map[*node]bool{}
	var visit func(n *node)
	visit = func(n *node) {
		if seen[n] {
			return
		}
		seen[n] = true
		for _, c := range inPlace(n) {
			visit(c)
		}
		post = append(post, n)
	}
	visit(root)
	if len(post) > maxPlan {
		return nil, &UnsupportedError{Keyword: "in-place applicators", Location: root.loc,
			Detail: fmt.Sprintf("%d subschemas apply to one value; at most %d are implemented", len(post), maxPlan)}
	}
	order := make([]*node, len(post))
	for i, n := range post {
		order[len(post)-1-i] = n
	}
	at := make(map[*node]int16, len(order))
	for i, n := range order {
		at[n] = int16(i)
	}
	idx := func(n *node) int16 {
		if n == nil {
			return -1
		}
		return at[n]
	}
	idxs := func(ns []*node) []int16 {
		if len(ns) == 0 {
			return nil
		}
		out := make([]int16, len(ns))
		for i, n := range ns {
			out[i] = at[n]
		}
		return out
	}
	p := &plan{members: make([]member, len(order))}
	names := map[string][]hit{}
	for i, n := range order {
		m := member{n: n, ref: idx(n.ref), all: idxs(n.allOf), any: idxs(n.anyOf), one: idxs(n.oneOf),
			not: idx(n.not), ifI: idx(n.ifN), then: idx(n.thenN), els: idx(n.elseN)}
		for _, d := range n.depSchemas {
			m.deps = append(m.deps, depIndex{name: d.name, at: at[d.n]})
		}
		p.members[i] = m
	}
	p.members[0].must = true
	for i := range p.members {
		m := &p.members[i]
		if !m.must {
			continue
		}
		if m.ref >= 0 {
			p.members[m.ref].must = true
		}
		for _, a := range m.all {
			p.members[a].must = true
		}
	}
	for i := range p.members {
		m := &p.members[i]
		n := m.n
		if !m.must || len(m.any) > 0 || len(m.one) > 0 || m.not >= 0 || m.ifI >= 0 || len(m.deps) > 0 {
			p.needsCombine = true
		}
		if n.kinds&tObject != 0 {
			p.hasObject = true
		}
		for name, ni := range n.names {
			names[name] = append(names[name], hit{at: uint8(i), name: ni, prop: n.isProp[ni], child: n.nameProps[ni]})
		}
		if len(n.patterns) > 0 || n.hasAdditional || n.propertyNames != nil {
			p.objMembers = append(p.objMembers, uint8(i))
		}
		if len(n.prefix) > 0 || n.items != nil || n.contains != nil {
			p.arrMembers = append(p.arrMembers, uint8(i))
		}
	}
	p.names = newNameTable(names)
	return p, nil
}
