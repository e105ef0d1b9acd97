package fastschema

// nameTable is a plan's table of the member names its schemas mention: a
// static open-addressing table with a cheap hash (length and three bytes),
// at most a quarter full, so a lookup is a few comparisons. Its contents
// come from the schema, so a record cannot make its probes long.
type nameTable struct {
	mask    uint32
	slots   []int32 // entry index + 1; 0 is empty
	entries []nameEntry
}

type nameEntry struct {
	name string
	hits []hit
}

func nameHash(b string) uint32 {
	n := len(b)
	h := uint32(n) * 0x9E3779B1
	if n > 0 {
		h ^= uint32(b[0]) * 0x85EBCA77
		h ^= uint32(b[n-1]) * 0xC2B2AE3D
		h ^= uint32(b[n/2]) * 0x27D4EB2F
	}
	return h ^ h>>15
}

func newNameTable(m map[string][]hit) *nameTable {
	if len(m) == 0 {
		return nil
	}
	size := 8
	for size < 4*len(m) {
		size *= 2
	}
	t := &nameTable{mask: uint32(size - 1), slots: make([]int32, size)}
	for _, name := range sortedKeys(m) {
		t.entries = append(t.entries, nameEntry{name: name, hits: m[name]})
		h := nameHash(name) & t.mask
		for t.slots[h] != 0 {
			h = (h + 1) & t.mask
		}
		t.slots[h] = int32(len(t.entries))
	}
	return t
}

// lookup returns the hits of a member name (nil for a name no schema of the
// plan mentions).
func (t *nameTable) lookup(key []byte) []hit {
	k := view(key)
	for h := nameHash(k) & t.mask; ; h = (h + 1) & t.mask {
		x := t.slots[h]
		if x == 0 {
			return nil
		}
		if e := &t.entries[x-1]; e.name == k {
			return e.hits
		}
	}
}
