package policy

import (
	"slices"

	"github.com/ory/ladon"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// Set is a loaded, checked set of policies and groups. It is immutable and
// safe for concurrent use; a policy change means loading a new Set.
type Set struct {
	policies []*compiled         // in load order: file name, then position in file
	groups   map[string][]string // group → sorted members
	memberOf map[string][]string // actor → sorted groups
	files    map[string][]byte   // bare file name → raw content, as loaded
	digest   string              // digestFiles(files)
	base     *Set                // the files alone, when layers were added (nil: this is it)
}

// Files returns the raw content of every file the set was loaded from, by
// bare file name: each *.json policy file and groups.yaml if there was one
// (for [LoadFile], the file under its base name). Files the loader ignored
// (other names, subdirectories) are not included. Loading the result with
// [LoadFiles] gives an equivalent Set with the same [Set.Digest]. The map
// and its contents are copies.
func (s *Set) Files() map[string][]byte {
	out := make(map[string][]byte, len(s.files))
	for name, data := range s.files {
		out[name] = slices.Clone(data)
	}
	return out
}

// Digest returns the hex SHA-256 of [Set.Files]: the file names in sorted
// order, each with its content (every name and content preceded by its
// length). Two sets have the same digest exactly when they were loaded from
// the same file names with the same bytes, wherever from, so the hub can
// tell whether applying a set of files changes anything. It says nothing
// about semantics: reformatting a file changes the digest.
func (s *Set) Digest() string {
	if s.digest == "" { // a zero Set
		return digestFiles(s.files)
	}
	return s.digest
}

// Len returns the number of policies in the set.
func (s *Set) Len() int { return len(s.policies) }

// PolicyIDs returns the ids of the set's policies in load order.
func (s *Set) PolicyIDs() []string {
	ids := make([]string, len(s.policies))
	for i, p := range s.policies {
		ids[i] = p.policy.ID
	}
	return ids
}

// Policies returns the set's policies as ladon policies, in load order. They
// are copies: changing them does not change the Set.
func (s *Set) Policies() ladon.Policies {
	out := make(ladon.Policies, len(s.policies))
	for i, p := range s.policies {
		out[i] = clonePolicy(p.policy)
	}
	return out
}

// Policy returns a copy of the policy with the given id, and whether it exists.
func (s *Set) Policy(id string) (ladon.Policy, bool) {
	for _, p := range s.policies {
		if p.policy.ID == id {
			return clonePolicy(p.policy), true
		}
	}
	return nil, false
}

// File returns the file the policy with the given id was loaded from, or "".
func (s *Set) File(id string) string {
	for _, p := range s.policies {
		if p.policy.ID == id {
			return p.file
		}
	}
	return ""
}

// Groups returns a copy of the groups: group name → sorted actor names.
func (s *Set) Groups() map[string][]string {
	out := make(map[string][]string, len(s.groups))
	for g, m := range s.groups {
		out[g] = slices.Clone(m)
	}
	return out
}

// GroupsOf returns the sorted names of the groups the actor belongs to.
func (s *Set) GroupsOf(actor string) []string { return slices.Clone(s.memberOf[actor]) }

// identities returns the subjects an actor is evaluated as: itself and each
// of its groups. A peer hub's subject token (wire.PeerActor) is evaluated as
// "hub:<name>" alone: groups hold actors, and no actor pattern matches it.
func (s *Set) identities(actor string) []string {
	if name, ok := wire.PeerName(actor); ok {
		return []string{prefixHub + name}
	}
	ids := make([]string, 0, 1+len(s.memberOf[actor]))
	ids = append(ids, prefixActor+actor)
	for _, g := range s.memberOf[actor] {
		ids = append(ids, prefixGroup+g)
	}
	return ids
}

// forActor returns the policies whose subjects match any of the actor's
// identities, in load order.
func (s *Set) forActor(actor string) []*compiled {
	ids := s.identities(actor)
	var out []*compiled
	for _, p := range s.policies {
		if p.matchesAnySubject(ids) {
			out = append(out, p)
		}
	}
	return out
}

func (c *compiled) matchesAnySubject(ids []string) bool {
	for _, id := range ids {
		if anyMatches(c.subjects, id) {
			return true
		}
	}
	return false
}

func clonePolicy(p *ladon.DefaultPolicy) *ladon.DefaultPolicy {
	cp := *p
	cp.Subjects = slices.Clone(p.Subjects)
	cp.Resources = slices.Clone(p.Resources)
	cp.Actions = slices.Clone(p.Actions)
	cp.Conditions = make(ladon.Conditions, len(p.Conditions))
	for k, c := range p.Conditions {
		switch v := c.(type) {
		case *TimeWindowCondition:
			w := *v
			cp.Conditions[k] = &w
		case *ladon.CIDRCondition:
			n := *v
			cp.Conditions[k] = &n
		default:
			cp.Conditions[k] = c
		}
	}
	cp.Meta = slices.Clone(p.Meta)
	return &cp
}
