package audit

import (
	"encoding/json"
	"maps"
	"slices"
	"time"
)

// Kinds of [Refusal].
const (
	// RefusedConnect is a refused connection (unknown or revoked key, bad
	// signature, no credentials).
	RefusedConnect = "connect"
	// RefusedPermission is a publish or subscribe the server refused an
	// actor.
	RefusedPermission = "permission"
)

// ActorUnknown is the actor of refusal entries for keys no actor has: those
// are grouped by source address.
const ActorUnknown = "unknown"

// Refusal is one refused connection or operation, for [Writer.Refused].
type Refusal struct {
	// Kind is RefusedConnect or RefusedPermission.
	Kind string
	// Actor is the actor concerned; "" for a key no actor has.
	Actor string
	// RemoteIP is the client's source address, if known.
	RemoteIP string
	// NKey is the key presented, if any.
	NKey string
	// Reason is why it was refused (for a permission: the server's message,
	// naming the subject).
	Reason string
}

// Bounds of one refusal group's detail: a flood of distinct subjects,
// addresses or keys cannot make an entry grow.
const (
	maxReasons = 8
	maxIPs     = 8
	maxKeys    = 4
	maxCounted = 1000 // distinct keys counted exactly up to this
)

// groupKey is what refusals are grouped by in one interval: the actor, or
// the source address for unknown keys.
type groupKey struct{ kind, actor, ip string }

// group is the refusals of one key in one interval.
type group struct {
	key          groupKey
	overflow     bool // the group of everything beyond MaxGroups
	count        int
	first, last  time.Time
	reasons      map[string]int
	otherReasons int
	ips          map[string]int
	otherIPs     int
	keys         map[string]bool
	keySample    []string
}

func newGroup(k groupKey, overflow bool) *group {
	return &group{key: k, overflow: overflow, reasons: map[string]int{}, ips: map[string]int{}, keys: map[string]bool{}}
}

func (g *group) add(r Refusal, now time.Time) {
	if g.count == 0 {
		g.first = now
	}
	g.count++
	g.last = now
	g.otherReasons += bump(g.reasons, r.Reason, 1, maxReasons)
	if r.RemoteIP != "" {
		g.otherIPs += bump(g.ips, r.RemoteIP, 1, maxIPs)
	}
	g.addKey(r.NKey)
}

// bump adds n to m[k] when k is counted or m has room, and otherwise
// returns n for the "other" count.
func bump(m map[string]int, k string, n, max int) int {
	if _, ok := m[k]; ok || len(m) < max {
		m[k] += n
		return 0
	}
	return n
}

// addKey counts a distinct key, keeping a few as a sample.
func (g *group) addKey(k string) {
	if k == "" || g.keys[k] || len(g.keys) >= maxCounted {
		return
	}
	g.keys[k] = true
	if len(g.keySample) < maxKeys {
		g.keySample = append(g.keySample, k)
	}
}

// merge adds h (a later or failed write of the same key) into g.
func (g *group) merge(h *group) {
	if g.count == 0 || h.first.Before(g.first) {
		g.first = h.first
	}
	if h.last.After(g.last) {
		g.last = h.last
	}
	g.count += h.count
	for r, n := range h.reasons {
		g.otherReasons += bump(g.reasons, r, n, maxReasons)
	}
	g.otherReasons += h.otherReasons
	for ip, n := range h.ips {
		g.otherIPs += bump(g.ips, ip, n, maxIPs)
	}
	g.otherIPs += h.otherIPs
	for k := range h.keys {
		g.addKey(k)
	}
}

// entry is the group as one access.denied entry.
func (g *group) entry() Entry {
	actor, grouped := g.key.actor, "actor"
	switch {
	case g.overflow:
		actor, grouped = ActorUnknown, "overflow"
	case actor == "":
		actor, grouped = ActorUnknown, "address"
	}
	d := map[string]any{
		"kind":    g.key.kind,
		"grouped": grouped,
		"count":   g.count,
		"first":   g.first.UTC(),
		"last":    g.last.UTC(),
		"reasons": g.reasons,
	}
	if g.otherReasons > 0 {
		d["other_reasons"] = g.otherReasons
	}
	if len(g.ips) > 0 {
		d["remote_ips"] = g.ips
	}
	if g.otherIPs > 0 {
		d["other_remote_ips"] = g.otherIPs
	}
	if len(g.keys) > 0 {
		d["nkeys"] = g.keySample
		d["distinct_nkeys"] = len(g.keys)
	}
	b, _ := json.Marshal(d) // maps of strings and numbers: cannot fail
	return Entry{Kind: KindAccessDenied, Actor: actor, Subject: g.key.kind, Detail: b}
}

// refusals is the aggregation of one interval, bounded to max groups plus
// one overflow group.
type refusals struct {
	max    int
	groups map[groupKey]*group
	over   map[string]*group // by kind
}

func newRefusals(max int) *refusals {
	return &refusals{max: max, groups: map[groupKey]*group{}, over: map[string]*group{}}
}

func (rs *refusals) add(r Refusal, now time.Time) {
	k := groupKey{kind: r.Kind, actor: r.Actor}
	if r.Actor == "" {
		k.ip = r.RemoteIP
	}
	g, ok := rs.groups[k]
	if !ok {
		if len(rs.groups) >= rs.max {
			o, ok := rs.over[r.Kind]
			if !ok {
				o = newGroup(groupKey{kind: r.Kind}, true)
				rs.over[r.Kind] = o
			}
			o.add(r, now)
			return
		}
		g = newGroup(k, false)
		rs.groups[k] = g
	}
	g.add(r, now)
}

// empty reports whether nothing was refused.
func (rs *refusals) empty() bool { return len(rs.groups) == 0 && len(rs.over) == 0 }

// list is every group, oldest first, the overflow group last.
func (rs *refusals) list() []*group {
	out := slices.SortedFunc(maps.Values(rs.groups), func(a, b *group) int { return a.first.Compare(b.first) })
	for _, k := range slices.Sorted(maps.Keys(rs.over)) {
		out = append(out, rs.over[k])
	}
	return out
}

// putBack merges groups that could not be written into rs.
func (rs *refusals) putBack(gs []*group) {
	for _, g := range gs {
		if g.overflow {
			if o, ok := rs.over[g.key.kind]; ok {
				o.merge(g)
			} else {
				rs.over[g.key.kind] = g
			}
			continue
		}
		if have, ok := rs.groups[g.key]; ok {
			have.merge(g)
		} else {
			rs.groups[g.key] = g // may exceed max by what failed: bounded by one interval's worth
		}
	}
}
