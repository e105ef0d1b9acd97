package fastschema

import (
	"bytes"
	"hash/maphash"
)

// linearKeys is how many unknown member names an object may have before
// duplicate checks switch from comparing each pair to a hash table.
const linearKeys = 16

// keyTable is an object's hash table of unknown member names: slots
// r.slots[off:off+size] hold ukey indexes + 1 (0 is empty).
type keyTable struct{ off, size int }

// object evaluates an object value: its members one by one, each against
// the subschemas its ents' keywords give it, then the ents' whole-object
// keywords.
func (r *run) object(e0, k0, k1 int) bool {
	r.depth++
	if r.depth > r.lim.MaxDepth {
		r.why = whyDepth
		return false
	}
	start := r.pos
	r.pos++
	for i := e0; i < len(r.ents); i++ {
		e := &r.ents[i]
		n := e.n
		if n.nwords > 0 {
			// Presence bits are kept even for a failed ent: they find
			// duplicate member names.
			e.seen = int32(len(r.words))
			for j := 0; j < n.nwords; j++ {
				r.words = append(r.words, 0)
			}
		}
		if (n.never || n.types != 0 && n.types&tObject == 0) && !r.fail(i) {
			return false
		}
	}
	uk0, sl0 := len(r.ukeys), len(r.slots)
	var table keyTable
	count := 0
	r.ws()
	if r.pos < len(r.data) && r.data[r.pos] == '}' {
		r.pos++
	} else {
		for {
			if r.pos >= len(r.data) || r.data[r.pos] != '"' {
				return r.syntax()
			}
			kstart := r.pos + 1
			kend, kesc, ok := r.scanStr(true)
			if !ok {
				return false
			}
			key := r.data[kstart:kend]
			if kesc {
				r.kbuf = unescape(r.kbuf[:0], key)
				key = r.kbuf
			}
			if r.classify {
				r.path = append(r.path, pathTok{key: bytes.Clone(key), isKey: true})
			}
			r.ws()
			if r.pos >= len(r.data) || r.data[r.pos] != ':' {
				return r.syntax()
			}
			r.pos++
			r.ws()
			count++
			kids0 := len(r.kids)
			known, ok := r.member(key, k0, k1)
			if !ok {
				return false
			}
			if !known && !r.unknownKey(key, kesc, kstart, kend, uk0, &table) {
				return false
			}
			kc, tc := r.kcur, r.tcur
			r.kcur = byName(kc, r.v.key, key)
			r.tcur = byName(tc, r.v.tomb, key)
			ok = r.value(kids0, len(r.kids))
			r.kcur, r.tcur = kc, tc
			if !ok {
				return false
			}
			for k := kids0; k < len(r.kids); k++ {
				if kd := &r.kids[k]; !kd.ok && kd.owner >= 0 {
					r.ents[kd.owner].ok = false
				}
			}
			r.kids = r.kids[:kids0]
			if r.classify {
				r.path = r.path[:len(r.path)-1]
			}
			if more, ok := r.next('}'); !ok {
				return false
			} else if !more {
				break
			}
		}
	}
	r.depth--
	r.ukeys, r.slots = r.ukeys[:uk0], r.slots[:sl0]
	for i := e0; i < len(r.ents); i++ {
		if e := &r.ents[i]; e.ok && !r.objectOK(e, count, start) && !r.fail(i) {
			return false
		}
	}
	return true
}

// next reads what follows a member or an item: a comma (more follows, and
// r.pos is at it) or the closing bracket.
func (r *run) next(closing byte) (more, ok bool) {
	r.ws()
	if r.pos >= len(r.data) {
		return false, r.syntax()
	}
	switch r.data[r.pos] {
	case ',':
		r.pos++
		r.ws()
		return true, true
	case closing:
		r.pos++
		return false, true
	}
	return false, r.syntax()
}

// member applies the kids' keywords to one member name: it marks the name
// present, finds duplicates among names a schema knows, evaluates
// propertyNames and pushes the kids the member's value gets. known reports
// whether some schema table has the name.
func (r *run) member(key []byte, k0, k1 int) (known, ok bool) {
	for k := k0; k < k1; k++ {
		kd := r.kids[k]
		p := kd.n.plan
		base := int(kd.base)
		var matched uint64
		if p.names != nil {
			for _, h := range p.names.lookup(key) {
				ei := base + int(h.at)
				e := &r.ents[ei]
				wi := int(e.seen) + int(h.name>>6)
				bit := uint64(1) << (h.name & 63)
				if !known {
					// The first table that knows a name finds its
					// duplicates.
					known = true
					if r.words[wi]&bit != 0 && !r.decodeIssue(KeywordDuplicateKey) {
						return known, false
					}
				}
				r.words[wi] |= bit
				if h.prop {
					matched |= 1 << h.at
					if h.child != nil && e.ok {
						r.kids = append(r.kids, kid{n: h.child, must: e.must, owner: int32(ei)})
					}
				}
			}
		}
		for _, at := range p.objMembers {
			ei := base + int(at)
			if !r.ents[ei].ok {
				continue
			}
			n := r.ents[ei].n
			if n.propertyNames != nil {
				if !r.propertyName(ei, n.propertyNames, key) {
					return known, false
				}
				if !r.ents[ei].ok {
					continue
				}
			}
			m := matched>>at&1 != 0
			for _, pp := range n.patterns {
				if pp.re.matches(key) {
					m = true
					if pp.n != nil {
						r.kids = append(r.kids, kid{n: pp.n, must: r.ents[ei].must, owner: int32(ei)})
					}
				}
			}
			if !m && n.additional != nil {
				r.kids = append(r.kids, kid{n: n.additional, must: r.ents[ei].must, owner: int32(ei)})
			}
		}
	}
	return known, true
}

// propertyName evaluates a member name against ent ei's propertyNames.
func (r *run) propertyName(ei int, pn *node, key []byte) bool {
	k := len(r.kids)
	r.kids = append(r.kids, kid{n: pn, must: r.ents[ei].must, owner: int32(ei)})
	e0 := len(r.ents)
	r.kids[k].base = int32(e0)
	for i := range pn.plan.members {
		m := &pn.plan.members[i]
		r.ents = append(r.ents, ent{n: m.n, must: r.ents[ei].must && m.must, ok: true, seen: -1})
	}
	if !r.stringChecks(e0, key) || !r.combine(k) {
		return false
	}
	ok := r.kids[k].ok
	r.ents, r.kids = r.ents[:e0], r.kids[:k]
	if !ok {
		return r.fail(ei)
	}
	return true
}

// unknownKey finds a duplicate among the member names no schema knows and
// remembers the name.
func (r *run) unknownKey(key []byte, esc bool, kstart, kend, uk0 int, t *keyTable) bool {
	n := len(r.ukeys) - uk0
	if t.size == 0 && n >= linearKeys {
		r.growTable(t, uk0)
	}
	if t.size == 0 {
		for j := uk0; j < len(r.ukeys); j++ {
			if bytes.Equal(r.ukeyBytes(j), key) {
				return r.decodeIssue(KeywordDuplicateKey)
			}
		}
	} else {
		mask := t.size - 1
		for s := int(maphash.Bytes(r.v.seed, key)) & mask; ; s = (s + 1) & mask {
			x := r.slots[t.off+s]
			if x == 0 {
				break
			}
			if bytes.Equal(r.ukeyBytes(int(x)-1), key) {
				return r.decodeIssue(KeywordDuplicateKey)
			}
		}
	}
	u := ukey{off: int32(kstart), n: int32(kend - kstart)}
	if esc {
		u = ukey{off: int32(len(r.arena)), n: int32(len(key)), arena: true}
		r.arena = append(r.arena, key...)
	}
	r.ukeys = append(r.ukeys, u)
	if t.size > 0 {
		if 2*(n+1) > t.size {
			r.growTable(t, uk0)
		} else {
			r.insert(t, len(r.ukeys)-1)
		}
	}
	return true
}

func (r *run) ukeyBytes(j int) []byte {
	u := r.ukeys[j]
	if u.arena {
		return r.arena[u.off : u.off+u.n]
	}
	return r.data[u.off : u.off+u.n]
}

// growTable (re)builds an object's table of unknown names at the end of
// r.slots, twice as large as the names need.
func (r *run) growTable(t *keyTable, uk0 int) {
	n := len(r.ukeys) - uk0
	size := 64
	for size < 4*n {
		size *= 2
	}
	t.off, t.size = len(r.slots), size
	for i := 0; i < size; i++ {
		r.slots = append(r.slots, 0)
	}
	for j := uk0; j < len(r.ukeys); j++ {
		r.insert(t, j)
	}
}

func (r *run) insert(t *keyTable, j int) {
	mask := t.size - 1
	s := int(maphash.Bytes(r.v.seed, r.ukeyBytes(j))) & mask
	for r.slots[t.off+s] != 0 {
		s = (s + 1) & mask
	}
	r.slots[t.off+s] = int32(j + 1)
}

// objectOK checks an ent's whole-object keywords once its members are read.
func (r *run) objectOK(e *ent, count, start int) bool {
	n := e.n
	if !r.containerEquals(n, tObject, start) {
		return false
	}
	if n.kinds&tObject == 0 {
		return true
	}
	if n.minProps >= 0 && count < n.minProps || n.maxProps >= 0 && count > n.maxProps {
		return false
	}
	for _, q := range n.required {
		if !r.has(e.seen, q) {
			return false
		}
	}
	for _, d := range n.depRequired {
		if r.has(e.seen, d.name) {
			for _, q := range d.req {
				if !r.has(e.seen, q) {
					return false
				}
			}
		}
	}
	return true
}

// containerEquals checks const and enum on the object or array that ends
// at r.pos (it starts at start).
func (r *run) containerEquals(n *node, kind uint8, start int) bool {
	raw := r.data[start:r.pos]
	if n.hasConst && (n.cnst.kind != kind || !rawEqualValue(raw, n.cnst.v)) {
		return false
	}
	if n.enum == nil {
		return true
	}
	if n.enum.kinds&kind != 0 {
		for _, v := range n.enum.containers {
			if rawEqualValue(raw, v) {
				return true
			}
		}
	}
	return false
}

// array evaluates an array value: each item against prefixItems, items and
// contains of its ents, then the ents' whole-array keywords.
func (r *run) array(e0, k0, k1 int) bool {
	r.depth++
	if r.depth > r.lim.MaxDepth {
		r.why = whyDepth
		return false
	}
	start := r.pos
	r.pos++
	uniq := false
	for i := e0; i < len(r.ents); i++ {
		n := r.ents[i].n
		if (n.never || n.types != 0 && n.types&tArray == 0) && !r.fail(i) {
			return false
		}
		uniq = uniq || r.ents[i].ok && n.unique
	}
	sp0 := len(r.spans)
	idx := 0
	r.ws()
	if r.pos < len(r.data) && r.data[r.pos] == ']' {
		r.pos++
	} else {
		for {
			kids0 := len(r.kids)
			for k := k0; k < k1; k++ {
				kd := r.kids[k]
				base := int(kd.base)
				for _, at := range kd.n.plan.arrMembers {
					ei := base + int(at)
					e := &r.ents[ei]
					if !e.ok {
						continue
					}
					n := e.n
					c := n.items
					if idx < len(n.prefix) {
						c = n.prefix[idx]
					}
					if c != nil {
						r.kids = append(r.kids, kid{n: c, must: e.must, owner: int32(ei)})
					}
					if n.contains != nil {
						r.kids = append(r.kids, kid{n: n.contains, owner: int32(ei), contains: true})
					}
				}
			}
			if r.classify {
				r.path = append(r.path, pathTok{idx: idx})
			}
			kc, tc := r.kcur, r.tcur
			r.kcur = byIndex(kc, r.v.keyIx, idx)
			r.tcur = byIndex(tc, r.v.tombIx, idx)
			vstart := r.pos
			ok := r.value(kids0, len(r.kids))
			r.kcur, r.tcur = kc, tc
			if !ok {
				return false
			}
			if uniq {
				r.spans = append(r.spans, span{int32(vstart), int32(r.pos)})
			}
			for k := kids0; k < len(r.kids); k++ {
				kd := &r.kids[k]
				switch {
				case kd.contains:
					if kd.ok {
						r.ents[kd.owner].count++
					}
				case !kd.ok && kd.owner >= 0:
					r.ents[kd.owner].ok = false
				}
			}
			r.kids = r.kids[:kids0]
			if r.classify {
				r.path = r.path[:len(r.path)-1]
			}
			idx++
			if more, ok := r.next(']'); !ok {
				return false
			} else if !more {
				break
			}
		}
	}
	r.depth--
	for i := e0; i < len(r.ents); i++ {
		if e := &r.ents[i]; e.ok && !r.arrayOK(e, idx, start, sp0) && !r.fail(i) {
			return false
		}
	}
	r.spans = r.spans[:sp0]
	return true
}

// arrayOK checks an ent's whole-array keywords once its items are read.
func (r *run) arrayOK(e *ent, count, start, sp0 int) bool {
	n := e.n
	if !r.containerEquals(n, tArray, start) {
		return false
	}
	if n.kinds&tArray == 0 {
		return true
	}
	if n.minItems >= 0 && count < n.minItems || n.maxItems >= 0 && count > n.maxItems {
		return false
	}
	if n.unique && count > 1 && !r.uniqueItems(sp0) {
		return false
	}
	if n.contains != nil {
		c := int(e.count)
		if n.minContains >= 0 {
			if c < n.minContains {
				return false
			}
		} else if c == 0 {
			return false
		}
		if n.maxContains >= 0 && c > n.maxContains {
			return false
		}
	}
	return true
}
