package policy

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
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
//
// LoadDir is [LoadFS] over os.DirFS(dir), except that errors name each file
// as dir joined with the file name.
func LoadDir(dir string) (*Set, error) {
	if dir == "" {
		// os.DirFS refuses an empty root; fail as os.ReadDir("") does.
		if _, err := os.ReadDir(dir); err != nil {
			return nil, fmt.Errorf("policy: read policies directory: %w", err)
		}
	}
	return loadFS(os.DirFS(dir), func(name string) string {
		if name == "." {
			return dir
		}
		return filepath.Join(dir, name)
	})
}

// LoadFS is [LoadDir] over the top level of fsys: it reads every *.json
// policy file in fsys's root directory (not its subdirectories), in name
// order, and the groups file groups.yaml if present, with the same rules,
// all-or-nothing. Errors name each file by its bare name, as do the Set's
// [Set.File] and [Set.Expiries].
func LoadFS(fsys fs.FS) (*Set, error) {
	return loadFS(fsys, func(name string) string { return name })
}

// LoadFiles is [LoadFS] over an in-memory set of files: file name → content.
// Every name must be a bare file name (no path separator) ending in ".json"
// or be exactly groups.yaml; otherwise LoadFiles loads nothing and returns an
// error naming each bad name, matching [ErrInvalidFileName] and
// [ErrInvalidPolicy]. The map is the whole policy state: an empty map gives
// an empty Set. Errors name each file by its bare name. The contents are
// copied; files may be changed after LoadFiles returns.
func LoadFiles(files map[string][]byte) (*Set, error) {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if err := checkFileName(name); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return LoadFS(newMemFS(files))
}

// checkFileName reports why name cannot be a file of a policy set given to
// [LoadFiles], or nil.
func checkFileName(name string) error {
	var msg string
	switch {
	case name == "":
		msg = "empty file name"
	case strings.ContainsAny(name, `/\`) || strings.ContainsRune(name, filepath.Separator):
		msg = "must be a bare file name, without a path separator"
	case strings.ContainsRune(name, 0):
		msg = "must not contain a NUL byte"
	case name != GroupsFile && !strings.HasSuffix(name, ".json"):
		msg = "must be a *.json policy file or " + GroupsFile
	default:
		return nil
	}
	return &fileNameError{name: name, msg: msg}
}

// fileNameError is a file name [LoadFiles] does not accept; it matches
// [ErrInvalidPolicy] and [ErrInvalidFileName].
type fileNameError struct {
	name, msg string
}

func (e *fileNameError) Error() string {
	return fmt.Sprintf("policy: file name %q: %s", e.name, e.msg)
}

func (e *fileNameError) Unwrap() []error { return []error{ErrInvalidPolicy, ErrInvalidFileName} }

// loadFS implements LoadDir and LoadFS; display turns a file name of fsys
// into the name errors and the Set report.
func loadFS(fsys fs.FS, display func(string) string) (*Set, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("policy: read policies directory: %w", displayErr(err, display))
	}
	var (
		policies []*compiled
		errs     []error
		files    = map[string][]byte{}
	)
	for _, e := range entries { // fs.ReadDir sorts by name
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		data, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			errs = append(errs, fmt.Errorf("policy: read policy file: %w", displayErr(err, display)))
			continue
		}
		files[e.Name()] = data
		ps, ferrs := parseFile(display(e.Name()), data)
		policies = append(policies, ps...)
		errs = append(errs, ferrs...)
	}

	groups := map[string][]string{}
	groupsPath := display(GroupsFile)
	data, err := fs.ReadFile(fsys, GroupsFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		errs = append(errs, fmt.Errorf("policy: read groups file: %w", displayErr(err, display)))
	default:
		files[GroupsFile] = data
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
	return newSet(policies, groups, files), nil
}

// displayErr returns err, if it is an *fs.PathError (as fs.ReadDir and
// fs.ReadFile return), with its path turned into the display name, so that
// LoadDir's messages name dir/file as os.ReadFile's would. Other errors are
// returned as they are.
func displayErr(err error, display func(string) string) error {
	pe, ok := err.(*fs.PathError) // not errors.As: only a bare PathError is rewritten
	if !ok {
		return err
	}
	cp := *pe
	cp.Path = display(pe.Path)
	return &cp
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
//
// The Set's [Set.Files] holds the file under its base name.
func LoadFile(path string) (*Set, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("policy: read policy file: %w", err)
	}
	policies, errs := parseFile(path, data)
	errs = append(errs, checkIDs(policies)...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return newSet(policies, map[string][]string{}, map[string][]byte{filepath.Base(path): data}), nil
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

// newSet builds the immutable Set; policies keep their load order. files
// (bare file name → raw content) is owned by the Set from here on.
func newSet(policies []*compiled, groups map[string][]string, files map[string][]byte) *Set {
	registerConditions()
	s := &Set{
		policies: slices.Clip(policies),
		groups:   groups,
		memberOf: map[string][]string{},
		files:    files,
		digest:   digestFiles(files),
	}
	for _, g := range slices.Sorted(maps.Keys(groups)) {
		for _, m := range groups[g] {
			s.memberOf[m] = append(s.memberOf[m], g)
		}
	}
	return s
}

// digestFiles returns the hex SHA-256 of the files in name order, each name
// and content preceded by its length so that no two different sets of files
// hash alike.
func digestFiles(files map[string][]byte) string {
	h := sha256.New()
	var n [8]byte
	for _, name := range slices.Sorted(maps.Keys(files)) {
		binary.BigEndian.PutUint64(n[:], uint64(len(name)))
		h.Write(n[:])
		h.Write([]byte(name))
		binary.BigEndian.PutUint64(n[:], uint64(len(files[name])))
		h.Write(n[:])
		h.Write(files[name])
	}
	return hex.EncodeToString(h.Sum(nil))
}
