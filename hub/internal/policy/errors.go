package policy

import (
	"errors"
	"fmt"
)

// ErrInvalidPolicy is matched (with [errors.Is]) by every error [LoadDir],
// [LoadFS], [LoadFiles] and [LoadFile] report for a policy file (or, for
// LoadFiles, its name), a policy in it, or the groups file. The more
// specific sentinels below say which rule was broken.
var ErrInvalidPolicy = errors.New("invalid policy")

// ErrSyntax reports a policy or groups file that is not well-formed JSON or
// YAML, or whose top level is neither a policy object nor an array of them.
var ErrSyntax = errors.New("malformed document")

// ErrUnknownField reports a field a policy, condition or groups file does not have.
var ErrUnknownField = errors.New("unknown field")

// ErrMissingID reports a policy without an id.
var ErrMissingID = errors.New("missing id")

// ErrDuplicateID reports a policy id used twice, in one file or across files.
var ErrDuplicateID = errors.New("duplicate id")

// ErrInvalidEffect reports an effect other than "allow" or "deny".
var ErrInvalidEffect = errors.New("invalid effect")

// ErrEmptyList reports empty subjects, resources or actions.
var ErrEmptyList = errors.New("empty list")

// ErrInvalidSubject reports a subject that is not "actor:<name>",
// "group:<name>" or "hub:<name>" (or a pattern starting with one of those
// prefixes).
var ErrInvalidSubject = errors.New("invalid subject")

// ErrInvalidResource reports a resource that is not "dataset:<name>" (or a
// pattern starting with "dataset:").
var ErrInvalidResource = errors.New("invalid resource")

// ErrBadPattern reports a ladon <regex> pattern that does not compile.
var ErrBadPattern = errors.New("bad pattern")

// ErrUnknownAction reports an action that is not one of [Actions], or a
// pattern that matches none of them.
var ErrUnknownAction = errors.New("unknown action")

// ErrUnknownCondition reports a condition type, or a condition key, the hub
// does not know: only TimeWindowCondition under "time" and CIDRCondition
// under "remote_ip" exist.
var ErrUnknownCondition = errors.New("unknown condition")

// ErrInvalidCondition reports bad options of a known condition.
var ErrInvalidCondition = errors.New("invalid condition")

// ErrUnknownGroup reports a "group:<name>" subject naming a group that the
// groups file of the same directory does not declare.
var ErrUnknownGroup = errors.New("unknown group")

// ErrInvalidGroups reports a wrong groups file: a bad group or actor name or
// a member listed twice.
var ErrInvalidGroups = errors.New("invalid groups")

// ErrInvalidFileName reports a file name [LoadFiles] does not accept: one
// with a path separator, or not ending in ".json" and not groups.yaml.
var ErrInvalidFileName = errors.New("invalid file name")

// PolicyError is one mistake in a policy file. Its message names the file,
// the policy (by id, or by position when it has none) and the field:
//
//	policies/consumers.json: policy "x": actions[1]: unknown action "fetch"
//
// It matches [ErrInvalidPolicy] and the sentinel in Err.
type PolicyError struct {
	File     string // the file as passed to LoadFile, found by LoadDir (dir/name), or named in LoadFS or LoadFiles (bare name)
	PolicyID string // empty when the policy has no id, or the error is about the whole file
	Index    int    // position of the policy in its file (0 for a single object); -1 for the whole file
	Field    string // e.g. "actions[1]", "conditions.time.options.until"; empty when not about one field
	Err      error
}

// Error returns the message described on [PolicyError].
func (e *PolicyError) Error() string {
	msg := e.File + ": "
	switch {
	case e.PolicyID != "":
		msg += fmt.Sprintf("policy %q: ", e.PolicyID)
	case e.Index >= 0:
		msg += fmt.Sprintf("policy #%d (no id): ", e.Index+1)
	}
	if e.Field != "" {
		msg += e.Field + ": "
	}
	return msg + e.Err.Error()
}

// Unwrap lets [errors.Is] match both [ErrInvalidPolicy] and the cause.
func (e *PolicyError) Unwrap() []error { return []error{ErrInvalidPolicy, e.Err} }
