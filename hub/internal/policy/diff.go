package policy

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"time"
)

// Diff is what changes between two policy sets, by policy id and group
// name, so an admin can read what an apply or a start is about to do.
type Diff struct {
	// Added are the ids of policies only in the new set, in its load order.
	Added []string `json:"added"`
	// Removed are the ids of policies only in the old set, in its load order.
	Removed []string `json:"removed"`
	// Changed are the ids in both whose content differs (subjects,
	// resources, actions, effect, conditions, description), in the new
	// set's load order.
	Changed []string `json:"changed"`
	// Groups are the names of groups added, removed or with other members,
	// sorted.
	Groups []string `json:"groups"`
}

// Empty reports whether the two sets grant the same: no policy or group
// differs (the files may still differ, e.g. in formatting).
func (d Diff) Empty() bool {
	return len(d.Added) == 0 && len(d.Removed) == 0 && len(d.Changed) == 0 && len(d.Groups) == 0
}

// DiffSets compares from with to. A nil set counts as empty.
func DiffSets(from, to *Set) Diff {
	d := Diff{Added: []string{}, Removed: []string{}, Changed: []string{}, Groups: []string{}}
	old, new := policiesByID(from), policiesByID(to)
	for _, id := range to.ids() {
		o, ok := old[id]
		switch {
		case !ok:
			d.Added = append(d.Added, id)
		case !bytes.Equal(o, new[id]):
			d.Changed = append(d.Changed, id)
		}
	}
	for _, id := range from.ids() {
		if _, ok := new[id]; !ok {
			d.Removed = append(d.Removed, id)
		}
	}
	og, ng := from.groupsOrNil(), to.groupsOrNil()
	for _, g := range slices.Sorted(maps.Keys(ng)) {
		if m, ok := og[g]; !ok || !slices.Equal(m, ng[g]) {
			d.Groups = append(d.Groups, g)
		}
	}
	for _, g := range slices.Sorted(maps.Keys(og)) {
		if _, ok := ng[g]; !ok {
			d.Groups = append(d.Groups, g)
		}
	}
	slices.Sort(d.Groups)
	return d
}

func (s *Set) ids() []string {
	if s == nil {
		return nil
	}
	return s.PolicyIDs()
}

func (s *Set) groupsOrNil() map[string][]string {
	if s == nil {
		return nil
	}
	return s.groups
}

// policiesByID encodes each policy of s (nil: none) for comparison.
func policiesByID(s *Set) map[string][]byte {
	out := map[string][]byte{}
	if s == nil {
		return out
	}
	for _, p := range s.policies {
		b, err := json.Marshal(p.policy)
		if err != nil {
			b = []byte(p.policy.ID) // cannot happen for a loaded policy
		}
		out[p.policy.ID] = b
	}
	return out
}

// NextChange returns the earliest time-window bound (a start or an end) of
// any policy of the set after t, zero if there is none: the next moment any
// decision of the set can change by itself.
func (s *Set) NextChange(t time.Time) time.Time { return nextChange(s.policies, t) }
