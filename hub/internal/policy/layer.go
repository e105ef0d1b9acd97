package policy

import (
	"errors"
	"fmt"
	"maps"
	"slices"
)

// A layer is a named group of policies kept apart from the applied policy
// files: the hub's access requests are one (an approved request becomes a
// time-boxed allow there). Applying the policies folder replaces the files
// and keeps every layer; a layer is replaced only as a whole, by its owner.
// Layer policies take part in every decision like file policies (an
// explicit deny in either wins), and explain names the layer of the policy
// that decided.

// WithLayer returns a Set holding s's file policies, its other layers, and
// the policies of files as the layer name (replacing an earlier layer of
// that name). The files are read like policy files (one policy or an array
// each, strictly); a policy id must be unique across the files and every
// layer, and a group a layer policy names must be a group of s. On any
// mistake it returns nil and every mistake, joined. [Set.Files] and
// [Set.Digest] of the result stay those of the applied files.
func (s *Set) WithLayer(name string, files map[string][]byte) (*Set, error) {
	if !namePattern.MatchString(name) {
		return nil, fmt.Errorf("policy: layer name %q: %w", name, ErrInvalidPolicy)
	}
	base := s.Base()
	policies := slices.Clone(base.policies)
	for _, p := range s.policies {
		if p.layer != "" && p.layer != name {
			policies = append(policies, p)
		}
	}
	var errs []error
	for _, f := range slices.Sorted(maps.Keys(files)) {
		ps, ferrs := parseFile("layer "+name+": "+f, files[f])
		for _, p := range ps {
			p.layer = name
			for _, g := range p.groups {
				if _, ok := base.groups[g]; !ok {
					errs = append(errs, &PolicyError{File: p.file, PolicyID: p.policy.ID, Field: "subjects",
						Err: fmt.Errorf("%w %q: %s declares no such group", ErrUnknownGroup, g, GroupsFile)})
				}
			}
		}
		policies = append(policies, ps...)
		errs = append(errs, ferrs...)
	}
	errs = append(errs, checkIDs(policies)...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	out := newSet(policies, base.groups, base.files)
	out.base = base
	return out, nil
}

// Base returns the Set of the applied files alone, without any layer.
func (s *Set) Base() *Set {
	if s.base != nil {
		return s.base
	}
	return s
}

// Layer returns the layer of the policy with the given id: "" for a policy
// of the applied files (or none such).
func (s *Set) Layer(id string) string {
	for _, p := range s.policies {
		if p.policy.ID == id {
			return p.layer
		}
	}
	return ""
}

// Layers returns the ids of each layer's policies, by layer name.
func (s *Set) Layers() map[string][]string {
	out := map[string][]string{}
	for _, p := range s.policies {
		if p.layer != "" {
			out[p.layer] = append(out[p.layer], p.policy.ID)
		}
	}
	return out
}
