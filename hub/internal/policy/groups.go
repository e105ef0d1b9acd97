package policy

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/goccy/go-yaml"

	"github.com/jobtech-dev/datahub/internal/strictyaml"
)

// GroupsFile is the name of the optional groups file in a policies directory.
const GroupsFile = "groups.yaml"

// groupsDoc mirrors groups.yaml:
//
//	groups:
//	  job-boards: [jobbland, jobfinder]
type groupsDoc struct {
	Groups map[string][]string `yaml:"groups"`
}

// parseGroups reads a groups file strictly and returns group → sorted
// members. Every mistake is reported, each naming the file.
func parseGroups(file string, data []byte) (map[string][]string, []error) {
	doc, err := decodeGroups(data)
	if err != nil {
		if len(bytes.TrimSpace(data)) == 0 {
			return map[string][]string{}, nil
		}
		return nil, []error{&groupsError{file: file, msg: yaml.FormatError(err, false, true)}}
	}
	var errs []error
	groups := make(map[string][]string, len(doc.Groups))
	for _, g := range slices.Sorted(maps.Keys(doc.Groups)) {
		if !namePattern.MatchString(g) {
			errs = append(errs, &groupsError{file: file, group: g, msg: fmt.Sprintf("group name must match %s", namePattern)})
			continue
		}
		members := slices.Clone(doc.Groups[g])
		slices.Sort(members)
		for i, m := range members {
			if !namePattern.MatchString(m) {
				errs = append(errs, &groupsError{file: file, group: g, msg: fmt.Sprintf("actor name %q must match %s", m, namePattern)})
			}
			if i > 0 && members[i-1] == m {
				errs = append(errs, &groupsError{file: file, group: g, msg: fmt.Sprintf("actor %q listed twice", m)})
			}
		}
		groups[g] = slices.Compact(members)
	}
	return groups, errs
}

// decodeGroups decodes a groups file strictly. go-yaml (v1.19.2) panics on
// a tagged scalar where a list is expected ("job-boards: !x a"): strictyaml
// returns that panic as an error, so a bad groups file cannot crash the hub.
func decodeGroups(data []byte) (doc groupsDoc, err error) {
	err = strictyaml.Decode(data, &doc, yaml.DisallowUnknownField())
	if errors.Is(err, strictyaml.ErrDecoder) {
		return doc, fmt.Errorf("not a groups document (%w)", err)
	}
	return doc, err
}

// groupsError is a mistake in the groups file; it matches [ErrInvalidPolicy]
// and [ErrInvalidGroups].
type groupsError struct {
	file, group, msg string
}

func (e *groupsError) Error() string {
	if e.group == "" {
		return e.file + ": invalid groups: " + e.msg
	}
	return fmt.Sprintf("%s: group %q: %s", e.file, e.group, e.msg)
}

func (e *groupsError) Unwrap() []error { return []error{ErrInvalidPolicy, ErrInvalidGroups} }
