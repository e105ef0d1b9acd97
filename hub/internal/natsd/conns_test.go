package natsd

import (
	"maps"
	"testing"
)

// TestConnsOneRecordPerConnection checks the registry both the callout and
// the access service write: a connection recorded twice (by the authorizer,
// then as it is let in) counts once against its actor's cap, the one asking
// is not counted against itself, closed connections are forgotten, and Cut
// closes exactly the live connections it matches.
func TestConnsOneRecordPerConnection(t *testing.T) {
	t.Parallel()
	open := map[uint64]bool{}
	var closed []uint64
	r := newConns(func(id uint64) bool { return open[id] }, func(id uint64) bool {
		closed = append(closed, id)
		was := open[id]
		delete(open, id)
		return was
	})
	add := func(id uint64, actor string) {
		open[id] = true
		r.Add(Conn{ID: id, RemoteIP: "10.0.0.1"}, Grant{Actor: actor})
	}
	add(1, "jobboard")
	add(1, "jobboard") // the callout records what the authorizer recorded
	add(2, "jobboard")
	add(3, "matcher")
	if got, want := r.Count(), map[string]int{"jobboard": 2, "matcher": 1}; !maps.Equal(got, want) {
		t.Fatalf("Count = %v, want %v", got, want)
	}
	if r.AtLimit("jobboard", 2, 2) {
		t.Fatal("connection 2 counted against its own actor's cap")
	}
	if !r.AtLimit("jobboard", 4, 2) {
		t.Fatal("a third jobboard connection not at the cap of 2")
	}
	delete(open, 2) // the client went away
	if r.AtLimit("jobboard", 4, 2) {
		t.Fatal("a closed connection still counted against the cap")
	}
	if got := r.Actor(3); got != "matcher" {
		t.Fatalf("Actor(3) = %q", got)
	}
	if n := r.Cut(func(l Live) bool { return l.Grant.Actor == "jobboard" }); n != 1 || len(closed) != 1 || closed[0] != 1 {
		t.Fatalf("Cut(jobboard) = %d closing %v, want 1 closing [1]", n, closed)
	}
	if got, want := r.Count(), map[string]int{"matcher": 1}; !maps.Equal(got, want) {
		t.Fatalf("after the cut Count = %v, want %v", got, want)
	}
	r.Remove(3)
	if got := r.Actor(3); got != "" {
		t.Fatalf("Actor(3) after Remove = %q", got)
	}
}
