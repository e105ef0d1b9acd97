package policy

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// LoadDir reads every *.json policy file in dir (not its subdirectories),
// in name order, and the groups file dir/groups.yaml if present, and
// returns them as one Set. The directory is the whole policy state.
//
// Loading is all-or-nothing: on any mistake LoadDir returns a nil Set and
// every mistake found, joined; each is a [*PolicyError] (or, for the groups
// file, an error naming it) matching [ErrInvalidPolicy]. Besides the rules
// of [LoadFile], policy ids must be unique across files and every literal
// "group:<name>" subject must name a group of the groups file
// ([ErrUnknownGroup]).
func LoadDir(dir string) (*Set, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("policy: read policies directory: %w", err)
	}
	var (
		policies []*compiled
		errs     []error
	)
	for _, e := range entries { // os.ReadDir sorts by name
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		ps, ferrs := readPolicyFile(filepath.Join(dir, e.Name()))
		policies = append(policies, ps...)
		errs = append(errs, ferrs...)
	}

	groups := map[string][]string{}
	groupsPath := filepath.Join(dir, GroupsFile)
	data, err := os.ReadFile(groupsPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		errs = append(errs, fmt.Errorf("policy: read groups file: %w", err))
	default:
		g, gerrs := parseGroups(groupsPath, data)
		errs = append(errs, gerrs...)
		if g != nil {
			groups = g
		}
	}

	errs = append(errs, checkIDs(policies)...)
	for _, p := range policies {
		for _, g := range p.groups {
			if _, ok := groups[g]; !ok {
				errs = append(errs, &PolicyError{File: p.file, PolicyID: p.policy.ID, Field: "subjects",
					Err: fmt.Errorf("%w %q: %s declares no such group", ErrUnknownGroup, g, groupsPath)})
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return newSet(policies, groups), nil
}

// LoadFile reads one policy file holding a policy object or an array of
// them, and returns it as a Set with no groups.
//
// The file is decoded strictly and checked whole: an unknown field
// ([ErrUnknownField]), a missing or duplicate id ([ErrMissingID],
// [ErrDuplicateID]), an effect other than allow or deny
// ([ErrInvalidEffect]), empty subjects, resources or actions
// ([ErrEmptyList]), a subject or resource outside the vocabulary
// ([ErrInvalidSubject], [ErrInvalidResource]), a pattern ladon cannot
// compile ([ErrBadPattern]), an unknown action ([ErrUnknownAction]), an
// unknown condition type or key ([ErrUnknownCondition]) or bad condition
// options ([ErrInvalidCondition]) each give a [*PolicyError] naming the
// file, the policy id and the field. All are returned, joined, with a nil Set.
func LoadFile(path string) (*Set, error) {
	policies, errs := readPolicyFile(path)
	errs = append(errs, checkIDs(policies)...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return newSet(policies, map[string][]string{}), nil
}

func readPolicyFile(path string) ([]*compiled, []error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, []error{fmt.Errorf("policy: read policy file: %w", err)}
	}
	return parseFile(path, data)
}

// checkIDs reports every id used more than once, naming where it was first defined.
func checkIDs(policies []*compiled) []error {
	var errs []error
	first := make(map[string]*compiled, len(policies))
	for _, p := range policies {
		if prev, ok := first[p.policy.ID]; ok {
			where := "earlier in the same file"
			if prev.file != p.file {
				where = "first defined in " + prev.file
			}
			errs = append(errs, &PolicyError{File: p.file, PolicyID: p.policy.ID, Field: "id",
				Err: fmt.Errorf("%w (%s)", ErrDuplicateID, where)})
			continue
		}
		first[p.policy.ID] = p
	}
	return errs
}

// newSet builds the immutable Set; policies keep their load order.
func newSet(policies []*compiled, groups map[string][]string) *Set {
	registerConditions()
	s := &Set{
		policies: slices.Clip(policies),
		groups:   groups,
		memberOf: map[string][]string{},
	}
	for _, g := range slices.Sorted(maps.Keys(groups)) {
		for _, m := range groups[g] {
			s.memberOf[m] = append(s.memberOf[m], g)
		}
	}
	return s
}
