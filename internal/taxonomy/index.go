package taxonomy

import (
	"sync"
	"sync/atomic"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
)

// Index is the taxonomy in memory: for each concept type, its concept ids
// and legacy ids, with their deprecation. It implements
// [schema.TaxonomyLookup]. It is safe for concurrent use: lookups take a
// read lock for two map reads; a change takes the write lock.
type Index struct {
	mu     sync.RWMutex
	types  map[string]*typeIndex // concept type → its concepts
	byID   map[string]*entry     // every concept by id, to replace or remove it
	depVal map[string]int        // ids and legacy ids of deprecated concepts → how many
	gone   map[string]uint64     // ids removed by a tombstone → its stream sequence

	n, deprecated atomic.Int64
}

// typeIndex holds the concepts of one type.
type typeIndex struct {
	name   string
	ids    map[string]*entry
	legacy map[string]*entry
}

// entry is one concept. It is never changed once in the index (a change
// replaces it), so a lookup may read it after the lock is released.
type entry struct {
	id, legacy string
	typ        *typeIndex
	deprecated bool
	replacedBy []string
	seq        uint64 // the stream sequence of the record it came from (0: a file)
}

var _ schema.TaxonomyLookup = (*Index)(nil)

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{types: map[string]*typeIndex{}, byID: map[string]*entry{}, depVal: map[string]int{}, gone: map[string]uint64{}}
}

// Put adds c, or replaces the concept with c's id (whatever its type was).
func (x *Index) Put(c Concept) { x.PutAt(c, 0) }

// PutAt is [Index.Put] for the record at stream sequence seq of the
// taxonomy dataset: it is ignored when the index already holds a later
// record of the concept (or its removal). Records reach the index twice —
// from the hub's ingest as it stores them, and from the follower reading
// the stream — and not always in order; the latest wins.
func (x *Index) PutAt(c Concept, seq uint64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if seq > 0 && x.later(c.ID, seq) {
		return
	}
	delete(x.gone, c.ID)
	if old := x.byID[c.ID]; old != nil {
		x.remove(old)
	}
	t := x.types[c.Type]
	if t == nil {
		t = &typeIndex{name: c.Type, ids: map[string]*entry{}, legacy: map[string]*entry{}}
		x.types[c.Type] = t
	}
	e := &entry{id: c.ID, legacy: c.LegacyID, typ: t, deprecated: c.Deprecated, seq: seq}
	for _, r := range c.ReplacedBy {
		if r.ID != "" {
			e.replacedBy = append(e.replacedBy, r.ID)
		}
	}
	x.byID[e.id] = e
	t.ids[e.id] = e
	if e.legacy != "" {
		t.legacy[e.legacy] = e
	}
	x.n.Add(1)
	if e.deprecated {
		x.deprecated.Add(1)
		x.depVal[e.id]++
		if e.legacy != "" {
			x.depVal[e.legacy]++
		}
	}
}

// Remove takes the concept with id out of the index; it reports whether
// there was one.
func (x *Index) Remove(id string) bool { return x.RemoveAt(id, 0) }

// RemoveAt is [Index.Remove] for the tombstone at stream sequence seq (see
// [Index.PutAt]).
func (x *Index) RemoveAt(id string, seq uint64) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if seq > 0 {
		if x.later(id, seq) {
			return false
		}
		x.gone[id] = seq
	}
	e := x.byID[id]
	if e == nil {
		return false
	}
	x.remove(e)
	return true
}

// later reports whether the index holds a record of id from a stream
// sequence at or after seq; x.mu is held.
func (x *Index) later(id string, seq uint64) bool {
	if e := x.byID[id]; e != nil && e.seq >= seq {
		return true
	}
	return x.gone[id] >= seq
}

// remove takes e out; x.mu is held.
func (x *Index) remove(e *entry) {
	delete(x.byID, e.id)
	delete(e.typ.ids, e.id)
	if e.legacy != "" && e.typ.legacy[e.legacy] == e {
		delete(e.typ.legacy, e.legacy)
	}
	if len(e.typ.ids) == 0 {
		delete(x.types, e.typ.name)
	}
	x.n.Add(-1)
	if e.deprecated {
		x.deprecated.Add(-1)
		x.unmarkDeprecated(e.id)
		if e.legacy != "" {
			x.unmarkDeprecated(e.legacy)
		}
	}
}

func (x *Index) unmarkDeprecated(v string) {
	if x.depVal[v] <= 1 {
		delete(x.depVal, v)
	} else {
		x.depVal[v]--
	}
}

// Concept implements [schema.TaxonomyLookup]: value looked up among the
// concepts of type typ, by id or by legacy id.
func (x *Index) Concept(typ, value string, legacy bool) schema.ConceptStatus {
	var e *entry
	x.mu.RLock()
	if t := x.types[typ]; t != nil {
		if legacy {
			e = t.legacy[value]
		} else {
			e = t.ids[value]
		}
	}
	x.mu.RUnlock()
	if e == nil {
		return schema.ConceptStatus{}
	}
	return schema.ConceptStatus{Known: true, ID: e.id, Deprecated: e.deprecated, ReplacedBy: e.replacedBy}
}

// Len is the number of concepts in the index.
func (x *Index) Len() int { return int(x.n.Load()) }

// Deprecated is the number of deprecated concepts in the index.
func (x *Index) Deprecated() int { return int(x.deprecated.Load()) }

// MayBeDeprecated implements [schema.TaxonomyLookup]: whether value is the
// id or legacy id of some deprecated concept, of any type.
func (x *Index) MayBeDeprecated(value string) bool {
	if x.deprecated.Load() == 0 {
		return false
	}
	x.mu.RLock()
	_, ok := x.depVal[value]
	x.mu.RUnlock()
	return ok
}

// Types returns how many concepts each type has.
func (x *Index) Types() map[string]int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make(map[string]int, len(x.types))
	for name, t := range x.types {
		out[name] = len(t.ids)
	}
	return out
}
