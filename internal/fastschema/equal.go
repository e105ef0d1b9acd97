package fastschema

import (
	"bytes"
	"encoding/json"
	"hash/maphash"
	"math/big"
	"slices"
)

// Equality of raw JSON values, as JSON Schema defines it (and jsonschema/v6
// implements it): objects by their members whatever the order, numbers by
// value (1 equals 1.0), strings by their text. Used by const, enum and
// uniqueItems on arrays and objects; the values are well-formed (the pass
// has read them).

// cursor walks a well-formed JSON text.
type cursor struct {
	d []byte
	i int
}

func (c *cursor) ws() {
	for c.i < len(c.d) && isSpace[c.d[c.i]] {
		c.i++
	}
}

// str reads a string and returns its text (buf may be used).
func (c *cursor) str(buf []byte) []byte {
	end := stringEnd(c.d, c.i)
	raw := c.d[c.i+1 : end]
	c.i = end + 1
	if bytes.IndexByte(raw, '\\') >= 0 {
		return unescape(buf[:0], raw)
	}
	return raw
}

// skip moves past one value.
func (c *cursor) skip() {
	c.ws()
	switch c.d[c.i] {
	case '"':
		c.i = stringEnd(c.d, c.i) + 1
	case '{', '[':
		depth := 0
		for {
			switch c.d[c.i] {
			case '"':
				c.i = stringEnd(c.d, c.i)
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					c.i++
					return
				}
			}
			c.i++
		}
	case 't', 'n':
		c.i += 4
	case 'f':
		c.i += 5
	default:
		c.i, _, _, _ = scanNumber(c.d, c.i)
	}
}

// members calls f for each member of the object at the cursor, with the
// name's text and a cursor at its value; f must move the cursor past the
// value. It stops when f returns false.
func (c *cursor) members(f func(name []byte, v *cursor) bool) bool {
	c.ws()
	c.i++ // {
	var buf []byte
	for {
		c.ws()
		if c.d[c.i] == '}' {
			c.i++
			return true
		}
		if c.d[c.i] == ',' {
			c.i++
			c.ws()
		}
		name := c.str(buf)
		c.ws()
		c.i++ // :
		c.ws()
		if !f(name, c) {
			return false
		}
	}
}

// items calls f for each item of the array at the cursor.
func (c *cursor) items(f func(v *cursor) bool) bool {
	c.ws()
	c.i++ // [
	for {
		c.ws()
		if c.d[c.i] == ']' {
			c.i++
			return true
		}
		if c.d[c.i] == ',' {
			c.i++
			c.ws()
		}
		if !f(c) {
			return false
		}
	}
}

// rawEqualValue compares raw JSON with a value decoded by jsonschema/v6
// (numbers as json.Number).
func rawEqualValue(raw []byte, v any) bool {
	c := &cursor{d: raw}
	return c.equalValue(v)
}

func (c *cursor) equalValue(v any) bool {
	c.ws()
	switch v := v.(type) {
	case map[string]any:
		if c.d[c.i] != '{' {
			c.skip()
			return false
		}
		n := 0
		ok := c.members(func(name []byte, vc *cursor) bool {
			n++
			x, found := v[string(name)]
			if !found {
				return false
			}
			return vc.equalValue(x)
		})
		return ok && n == len(v)
	case []any:
		if c.d[c.i] != '[' {
			c.skip()
			return false
		}
		n := 0
		ok := c.items(func(ic *cursor) bool {
			if n >= len(v) {
				return false
			}
			n++
			return ic.equalValue(v[n-1])
		})
		return ok && n == len(v)
	case string:
		if c.d[c.i] != '"' {
			c.skip()
			return false
		}
		return string(c.str(nil)) == v
	case bool:
		if v {
			ok := bytes.HasPrefix(c.d[c.i:], litTrue)
			c.skip()
			return ok
		}
		ok := bytes.HasPrefix(c.d[c.i:], litFalse)
		c.skip()
		return ok
	case nil:
		ok := bytes.HasPrefix(c.d[c.i:], litNull)
		c.skip()
		return ok
	case json.Number:
		ch := c.d[c.i]
		if ch != '-' && (ch < '0' || ch > '9') {
			c.skip()
			return false
		}
		start := c.i
		end, d, _, _ := scanNumber(c.d, c.i)
		c.i = end
		cv, err := newCval(v)
		if err != nil {
			return false
		}
		var rat *big.Rat
		return numEqual(cv, d, c.d[start:end], &rat)
	}
	return false
}

// rawEqual compares two raw JSON values.
func rawEqual(a, b []byte) bool {
	ca, cb := &cursor{d: a}, &cursor{d: b}
	ca.ws()
	cb.ws()
	return equalAt(ca, cb)
}

// kindAt is the JSON kind of the value at a cursor.
func kindAt(c *cursor) uint8 {
	switch ch := c.d[c.i]; ch {
	case '{':
		return tObject
	case '[':
		return tArray
	case '"':
		return tString
	case 't', 'f':
		return tBool
	case 'n':
		return tNull
	}
	return tNumber
}

// equalAt compares the values at two cursors and moves both past them.
func equalAt(a, b *cursor) bool {
	a.ws()
	b.ws()
	ka, kb := kindAt(a), kindAt(b)
	if ka != kb {
		a.skip()
		b.skip()
		return false
	}
	switch ka {
	case tString:
		return bytes.Equal(a.str(nil), b.str(nil))
	case tNumber:
		sa, sb := a.i, b.i
		ea, da, _, _ := scanNumber(a.d, a.i)
		eb, db, _, _ := scanNumber(b.d, b.i)
		a.i, b.i = ea, eb
		if da.exact && db.exact {
			return cmpDec(da, db) == 0
		}
		return ratOf(a.d[sa:ea]).Cmp(ratOf(b.d[sb:eb])) == 0
	case tBool, tNull:
		ok := a.d[a.i] == b.d[b.i]
		a.skip()
		b.skip()
		return ok
	case tArray:
		// Walk both arrays in step.
		var bItems []int
		b.items(func(ic *cursor) bool {
			bItems = append(bItems, ic.i)
			ic.skip()
			return true
		})
		n := 0
		ok := a.items(func(ic *cursor) bool {
			if n >= len(bItems) {
				return false
			}
			bc := &cursor{d: b.d, i: bItems[n]}
			n++
			return equalAt(ic, bc)
		})
		if !ok {
			return false
		}
		return n == len(bItems)
	default: // objects
		type mem struct {
			name []byte
			at   int
		}
		var bm []mem
		b.members(func(name []byte, vc *cursor) bool {
			bm = append(bm, mem{bytes.Clone(name), vc.i})
			vc.skip()
			return true
		})
		n := 0
		ok := a.members(func(name []byte, vc *cursor) bool {
			n++
			for _, m := range bm {
				if bytes.Equal(m.name, name) {
					return equalAt(vc, &cursor{d: b.d, i: m.at})
				}
			}
			return false
		})
		return ok && n == len(bm)
	}
}

// uniqueItems reports whether the array items r.spans[sp0:] are pairwise
// different: pairwise for short arrays, by hash for long ones.
func (r *run) uniqueItems(sp0 int) bool {
	items := r.spans[sp0:]
	if len(items) <= 20 {
		for i := 1; i < len(items); i++ {
			for j := 0; j < i; j++ {
				if rawEqual(r.data[items[i].start:items[i].end], r.data[items[j].start:items[j].end]) {
					return false
				}
			}
		}
		return true
	}
	r.hashes = r.hashes[:0]
	for i, s := range items {
		var h maphash.Hash
		h.SetSeed(r.v.seed)
		c := &cursor{d: r.data[s.start:s.end]}
		c.ws()
		hashAt(c, &h)
		r.hashes = append(r.hashes, spanHash{h: h.Sum64(), i: int32(i)})
	}
	slices.SortFunc(r.hashes, func(a, b spanHash) int {
		switch {
		case a.h < b.h:
			return -1
		case a.h > b.h:
			return 1
		}
		return int(a.i - b.i)
	})
	for i := 0; i < len(r.hashes); i++ {
		for j := i + 1; j < len(r.hashes) && r.hashes[j].h == r.hashes[i].h; j++ {
			a, b := items[r.hashes[i].i], items[r.hashes[j].i]
			if rawEqual(r.data[a.start:a.end], r.data[b.start:b.end]) {
				return false
			}
		}
	}
	return true
}

// hashAt hashes the value at c so that equal values hash alike: object
// members are combined whatever their order, numbers by value.
func hashAt(c *cursor, h *maphash.Hash) {
	c.ws()
	switch kindAt(c) {
	case tString:
		h.WriteByte(4)
		h.Write(c.str(nil))
	case tNumber:
		start := c.i
		end, d, _, _ := scanNumber(c.d, c.i)
		c.i = end
		h.WriteByte(5)
		switch {
		case d.exact && d.m == 0:
		case d.exact:
			var b [13]byte
			for i := 0; i < 8; i++ {
				b[i] = byte(d.m >> (8 * i))
			}
			for i := 0; i < 4; i++ {
				b[8+i] = byte(uint32(d.e) >> (8 * i))
			}
			if d.neg {
				b[12] = 1
			}
			h.Write(b[:])
		default:
			h.WriteString(ratOf(c.d[start:end]).String())
		}
	case tBool, tNull:
		h.WriteByte(c.d[c.i])
		c.skip()
	case tArray:
		h.WriteByte(1)
		c.items(func(ic *cursor) bool {
			hashAt(ic, h)
			return true
		})
	default:
		var sum uint64
		seed := h.Seed()
		c.members(func(name []byte, vc *cursor) bool {
			var mh maphash.Hash
			mh.SetSeed(seed)
			mh.Write(name)
			mh.WriteByte(0)
			hashAt(vc, &mh)
			sum += mh.Sum64()
			return true
		})
		h.WriteByte(0)
		var b [8]byte
		for i := 0; i < 8; i++ {
			b[i] = byte(sum >> (8 * i))
		}
		h.Write(b[:])
	}
}
