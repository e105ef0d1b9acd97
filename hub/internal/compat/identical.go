package compat

// pair names two locations, one on each side.
type pair struct{ a, b string }

// identical reports whether two schemas are written identically and every
// $ref in them reaches schemas that are identical in turn: then nothing
// changed between them, whatever they mean. Schemas whose references loop
// back on themselves are identical when the loop is.
func (c *comparator) identical(o, n *node) bool {
	if c.sameMemo == nil {
		c.sameMemo = map[pair]bool{}
	}
	top := pair{o.src.key(), n.src.key()}
	if r, ok := c.sameMemo[top]; ok {
		return r
	}
	// Within one call a pair met again is assumed identical: if any pair
	// turns out not to be, the whole call answers false at once.
	seen := map[pair]bool{}
	var same func(a, b loc) bool
	same = func(a, b loc) bool {
		p := pair{a.key(), b.key()}
		if seen[p] {
			return true
		}
		seen[p] = true
		if !jsonEqual(a.v, b.v) {
			return false
		}
		var ra, rb []loc
		refsIn(a, &ra, 0)
		refsIn(b, &rb, 0)
		if len(ra) != len(rb) {
			return false
		}
		for i := range ra {
			ma, _ := ra[i].v.(map[string]any)
			if _, dyn := ma["$dynamicRef"]; dyn {
				return false
			}
			ref, _ := ma["$ref"].(string)
			ta, errA := o.b.side.resolve(ra[i], ref)
			tb, errB := n.b.side.resolve(rb[i], ref)
			if errA != nil || errB != nil || !same(ta, tb) {
				return false
			}
		}
		return true
	}
	r := same(*o.src, *n.src)
	c.sameMemo[top] = r
	return r
}

// refsIn lists the subschemas under l (l included) that hold a $ref or a
// $dynamicRef, in a fixed order.
func refsIn(l loc, out *[]loc, depth int) {
	m, ok := l.v.(map[string]any)
	if !ok || depth > maxIndexDepth {
		return
	}
	_, ref := m["$ref"]
	_, dyn := m["$dynamicRef"]
	if ref || dyn {
		*out = append(*out, l)
	}
	forEachSubschema(l, func(c loc) { refsIn(c, out, depth+1) })
}
