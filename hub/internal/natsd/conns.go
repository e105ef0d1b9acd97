package natsd

import "sync"

// Conns is the one registry of the live client connections on this server:
// who each is (its actor, where it connected from) and the grant it was let
// in with. The auth callout records a connection as it lets it in and caps
// each actor's connections here; whoever changes rights (the access service)
// records the grant as it decides it and finds here the connections to cut.
// A connection that has closed is forgotten when it is next met.
type Conns struct {
	alive func(id uint64) bool // the server still has client id
	cut   func(id uint64) bool // closes client id; reports whether it was open

	mu       sync.Mutex
	byID     map[uint64]Live
	perActor map[string]map[uint64]struct{}
	added    uint64
}

// Live is one live connection and the grant it was let in with.
type Live struct {
	Conn  Conn
	Grant Grant
}

func newConns(alive, cut func(id uint64) bool) *Conns {
	return &Conns{alive: alive, cut: cut, byID: map[uint64]Live{}, perActor: map[string]map[uint64]struct{}{}}
}

// Add records c with the grant g (again: the last grant recorded counts).
func (r *Conns) Add(c Conn, g Grant) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.byID[c.ID]; ok && old.Grant.Actor != g.Actor {
		r.forget(c.ID)
	}
	r.byID[c.ID] = Live{Conn: c, Grant: g}
	if r.perActor[g.Actor] == nil {
		r.perActor[g.Actor] = map[uint64]struct{}{}
	}
	r.perActor[g.Actor][c.ID] = struct{}{}
	r.added++
	if r.added%256 == 0 {
		r.prune() // so the maps stay small between reads
	}
}

// Remove forgets client id.
func (r *Conns) Remove(id uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.forget(id)
}

// Actor names the actor of client id ("" if unknown).
func (r *Conns) Actor(id uint64) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byID[id].Grant.Actor
}

// AtLimit reports whether actor already has max live connections besides
// client except (the one asking); max 0 means no limit.
func (r *Conns) AtLimit(actor string, except uint64, max int) bool {
	if max <= 0 {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	count := func() int {
		n := len(r.perActor[actor])
		if _, ok := r.perActor[actor][except]; ok {
			n--
		}
		return n
	}
	if count() < max {
		return false
	}
	for id := range r.perActor[actor] {
		if id != except && !r.alive(id) {
			r.forget(id)
		}
	}
	return count() >= max
}

// Cut closes every live connection for which match is true, so its client
// reconnects and is judged again under the rules in force, and returns how
// many it closed.
func (r *Conns) Cut(match func(Live) bool) int {
	r.mu.Lock()
	var ids []uint64
	for id, l := range r.byID {
		if !r.alive(id) {
			r.forget(id)
			continue
		}
		if match(l) {
			ids = append(ids, id)
			r.forget(id)
		}
	}
	r.mu.Unlock()
	n := 0
	for _, id := range ids {
		if r.cut(id) {
			n++
		}
	}
	return n
}

// Count counts the live connections per actor.
func (r *Conns) Count() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.prune()
	out := map[string]int{}
	for a, ids := range r.perActor {
		out[a] = len(ids)
	}
	return out
}

// prune forgets the connections that have closed. Lock held.
func (r *Conns) prune() {
	for id := range r.byID {
		if !r.alive(id) {
			r.forget(id)
		}
	}
}

// forget drops client id. Lock held.
func (r *Conns) forget(id uint64) {
	l, ok := r.byID[id]
	if !ok {
		return
	}
	delete(r.byID, id)
	if ids := r.perActor[l.Grant.Actor]; ids != nil {
		delete(ids, id)
		if len(ids) == 0 {
			delete(r.perActor, l.Grant.Actor)
		}
	}
}
