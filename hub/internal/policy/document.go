package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/dlclark/regexp2"
	"github.com/ory/ladon"
	"github.com/ory/ladon/compiler"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// namePattern is what actor, group and dataset names look like.
var namePattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

// Prefixes of subjects and resources.
const (
	prefixActor   = "actor:"
	prefixGroup   = "group:"
	prefixDataset = "dataset:"
	// prefixHub names a peer hub (federation): "hub:<name>". The hub asks
	// about it by its subject token, wire.PeerActor(name).
	prefixHub = wire.PeerSubjectPrefix
)

// policyDoc mirrors one policy object in a file; it is decoded with unknown
// fields disallowed and then turned into a ladon.DefaultPolicy.
type policyDoc struct {
	ID          string                  `json:"id"`
	Description string                  `json:"description"`
	Subjects    []string                `json:"subjects"`
	Resources   []string                `json:"resources"`
	Actions     []string                `json:"actions"`
	Effect      string                  `json:"effect"`
	Conditions  map[string]conditionDoc `json:"conditions"`
}

type conditionDoc struct {
	Type    string          `json:"type"`
	Options json.RawMessage `json:"options"`
}

type timeWindowOptions struct {
	From  string `json:"from"`
	Until string `json:"until"`
}

type cidrOptions struct {
	CIDR string `json:"cidr"`
}

// pattern is one compiled subject or resource: a literal, or a ladon
// <regex> template compiled once at load time exactly as ladon's
// RegexpMatcher would compile it.
type pattern struct {
	literal string
	re      *regexp2.Regexp
}

// matches mirrors ladon.RegexpMatcher.Matches for one haystack entry.
func (p pattern) matches(s string) bool {
	if p.re == nil {
		return p.literal == s
	}
	ok, err := p.re.MatchString(s)
	return err == nil && ok
}

func anyMatches(ps []pattern, s string) bool {
	for _, p := range ps {
		if p.matches(s) {
			return true
		}
	}
	return false
}

// compiled is a loaded policy: the ladon policy plus what Decide needs
// precomputed.
type compiled struct {
	policy    *ladon.DefaultPolicy
	file      string
	allow     bool
	subjects  []pattern
	resources []pattern
	actions   uint8 // bit i set: actions[i] matches
	window    *TimeWindowCondition
	cidr      *ladon.CIDRCondition
	groups    []string // literal group names among the subjects, for the unknown-group check
	layer     string   // the layer the policy belongs to; "" for the applied files
}

// parseFile parses one policy file's content. It returns every policy that
// is valid and every error found; the caller discards all on any error.
func parseFile(file string, data []byte) ([]*compiled, []error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, []error{&PolicyError{File: file, Index: -1, Err: fmt.Errorf("%w: file is empty", ErrSyntax)}}
	}
	var raws []json.RawMessage
	switch trimmed[0] {
	case '[':
		if err := decodeStrict(trimmed, &raws); err != nil {
			return nil, []error{&PolicyError{File: file, Index: -1, Err: syntaxErr(trimmed, err)}}
		}
	case '{':
		var raw json.RawMessage
		if err := decodeStrict(trimmed, &raw); err != nil {
			return nil, []error{&PolicyError{File: file, Index: -1, Err: syntaxErr(trimmed, err)}}
		}
		raws = []json.RawMessage{raw}
	default:
		return nil, []error{&PolicyError{File: file, Index: -1,
			Err: fmt.Errorf("%w: want a policy object or an array of them", ErrSyntax)}}
	}

	var (
		out  []*compiled
		errs []error
	)
	for i, raw := range raws {
		c, perrs := parsePolicy(file, i, raw)
		if len(perrs) > 0 {
			errs = append(errs, perrs...)
			continue
		}
		out = append(out, c)
	}
	return out, errs
}

// decodeStrict decodes exactly one JSON value, refusing unknown fields and
// trailing data.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}

// syntaxErr describes a JSON decoding error with its line and column.
func syntaxErr(data []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := position(data, se.Offset)
		return fmt.Errorf("%w: line %d column %d: %v", ErrSyntax, line, col, err)
	}
	return fmt.Errorf("%w: %v", ErrSyntax, err)
}

func position(data []byte, offset int64) (line, col int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(offset) - bytes.LastIndexByte(before, '\n')
	return line, col
}

// parsePolicy decodes and checks one policy object.
func parsePolicy(file string, index int, raw json.RawMessage) (*compiled, []error) {
	// Read the id leniently first so that every error, even a decoding
	// one, can name the policy.
	var idOnly struct {
		ID any `json:"id"`
	}
	_ = json.Unmarshal(raw, &idOnly)
	id, _ := idOnly.ID.(string)

	fail := func(field string, err error) *PolicyError {
		return &PolicyError{File: file, PolicyID: id, Index: index, Field: field, Err: err}
	}

	var doc policyDoc
	if err := decodeStrict(raw, &doc); err != nil {
		return nil, []error{decodeErr(fail, err)}
	}

	var errs []error
	c := &compiled{file: file}

	if strings.TrimSpace(doc.ID) == "" {
		errs = append(errs, fail("id", ErrMissingID))
	}
	switch doc.Effect {
	case ladon.AllowAccess:
		c.allow = true
	case ladon.DenyAccess:
	default:
		errs = append(errs, fail("effect", fmt.Errorf("%w %q: want %q or %q", ErrInvalidEffect, doc.Effect, ladon.AllowAccess, ladon.DenyAccess)))
	}

	if len(doc.Subjects) == 0 {
		errs = append(errs, fail("subjects", fmt.Errorf("%w: at least one subject is needed", ErrEmptyList)))
	}
	for i, s := range doc.Subjects {
		p, group, err := compileSubject(s)
		if err != nil {
			errs = append(errs, fail(fmt.Sprintf("subjects[%d]", i), err))
			continue
		}
		c.subjects = append(c.subjects, p)
		if group != "" {
			c.groups = append(c.groups, group)
		}
	}

	if len(doc.Resources) == 0 {
		errs = append(errs, fail("resources", fmt.Errorf("%w: at least one resource is needed", ErrEmptyList)))
	}
	for i, r := range doc.Resources {
		p, err := compileResource(r)
		if err != nil {
			errs = append(errs, fail(fmt.Sprintf("resources[%d]", i), err))
			continue
		}
		c.resources = append(c.resources, p)
	}

	if len(doc.Actions) == 0 {
		errs = append(errs, fail("actions", fmt.Errorf("%w: at least one action is needed", ErrEmptyList)))
	}
	for i, a := range doc.Actions {
		mask, err := compileAction(a)
		if err != nil {
			errs = append(errs, fail(fmt.Sprintf("actions[%d]", i), err))
			continue
		}
		c.actions |= mask
	}

	conds := ladon.Conditions{}
	for _, key := range slices.Sorted(maps.Keys(doc.Conditions)) {
		cd := doc.Conditions[key]
		field := "conditions." + key
		cond, err := buildCondition(key, cd)
		if err != nil {
			errs = append(errs, fail(field, err))
			continue
		}
		switch v := cond.(type) {
		case *TimeWindowCondition:
			c.window = v
		case *ladon.CIDRCondition:
			c.cidr = v
		}
		conds.AddCondition(key, cond)
	}

	if len(errs) > 0 {
		return nil, errs
	}
	c.policy = &ladon.DefaultPolicy{
		ID:          doc.ID,
		Description: doc.Description,
		Subjects:    doc.Subjects,
		Effect:      doc.Effect,
		Resources:   doc.Resources,
		Actions:     doc.Actions,
		Conditions:  conds,
	}
	return c, nil
}

// decodeErr turns a strict-decoding error into a PolicyError naming the field.
func decodeErr(fail func(string, error) *PolicyError, err error) *PolicyError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fail(te.Field, fmt.Errorf("%w: want %s, got JSON %s", ErrInvalidPolicy, te.Type, te.Value))
	}
	// encoding/json reports unknown fields only as text: `json: unknown field "x"`.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return fail(strings.Trim(name, `"`), ErrUnknownField)
	}
	return fail("", fmt.Errorf("%w: %v", ErrSyntax, err))
}

// compilePattern compiles s with ladon's own compiler when it holds a
// <regex>, as ladon's matcher would on first use.
func compilePattern(s string) (pattern, error) {
	if !strings.ContainsRune(s, '<') {
		return pattern{literal: s}, nil
	}
	re, err := compiler.CompileRegex(s, '<', '>')
	if err != nil {
		return pattern{}, fmt.Errorf("%w %q: %v", ErrBadPattern, s, err)
	}
	return pattern{literal: s, re: re}, nil
}

// compileSubject checks and compiles one subject; group is the group's name
// when the subject is a literal "group:<name>".
func compileSubject(s string) (p pattern, group string, err error) {
	var rest string
	var isGroup bool
	switch {
	case strings.HasPrefix(s, prefixActor):
		rest = s[len(prefixActor):]
	case strings.HasPrefix(s, prefixGroup):
		rest, isGroup = s[len(prefixGroup):], true
	case strings.HasPrefix(s, prefixHub):
		rest = s[len(prefixHub):]
	default:
		return pattern{}, "", fmt.Errorf("%w %q: want %q, %q or %q followed by a name or pattern", ErrInvalidSubject, s, prefixActor+"NAME", prefixGroup+"NAME", prefixHub+"NAME")
	}
	if p, err = compilePattern(s); err != nil {
		return pattern{}, "", err
	}
	if p.re == nil {
		if !namePattern.MatchString(rest) {
			return pattern{}, "", fmt.Errorf("%w %q: name must match %s", ErrInvalidSubject, s, namePattern)
		}
		if isGroup {
			group = rest
		}
	}
	return p, group, nil
}

func compileResource(s string) (pattern, error) {
	rest, ok := strings.CutPrefix(s, prefixDataset)
	if !ok {
		return pattern{}, fmt.Errorf("%w %q: want %q followed by a name or pattern", ErrInvalidResource, s, prefixDataset+"NAME")
	}
	p, err := compilePattern(s)
	if err != nil {
		return pattern{}, err
	}
	if p.re == nil && !namePattern.MatchString(rest) {
		return pattern{}, fmt.Errorf("%w %q: name must match %s", ErrInvalidResource, s, namePattern)
	}
	return p, nil
}

// compileAction returns the mask of known actions a literal or pattern
// covers; covering none is an error.
func compileAction(s string) (uint8, error) {
	p, err := compilePattern(s)
	if err != nil {
		return 0, err
	}
	var mask uint8
	for i, a := range actions {
		if p.matches(a) {
			mask |= 1 << i
		}
	}
	if mask == 0 {
		return 0, fmt.Errorf("%w %q: want one of %s, or a pattern matching at least one", ErrUnknownAction, s, strings.Join(actions[:], ", "))
	}
	return mask, nil
}

// buildCondition checks one condition: its key must fit its type, and its
// options are decoded strictly and validated.
func buildCondition(key string, cd conditionDoc) (ladon.Condition, error) {
	switch cd.Type {
	case conditionTimeWindow:
		if key != ContextKeyTime {
			return nil, fmt.Errorf("%w: %s must be under the key %q, not %q", ErrUnknownCondition, cd.Type, ContextKeyTime, key)
		}
		var o timeWindowOptions
		if err := decodeOptions(cd.Options, &o); err != nil {
			return nil, err
		}
		return buildTimeWindow(o)
	case conditionCIDR:
		if key != ContextKeyRemoteIP {
			return nil, fmt.Errorf("%w: %s must be under the key %q, not %q", ErrUnknownCondition, cd.Type, ContextKeyRemoteIP, key)
		}
		var o cidrOptions
		if err := decodeOptions(cd.Options, &o); err != nil {
			return nil, err
		}
		if o.CIDR == "" {
			return nil, fmt.Errorf("%w: options.cidr is required", ErrInvalidCondition)
		}
		if _, _, err := net.ParseCIDR(o.CIDR); err != nil {
			return nil, fmt.Errorf("%w: options.cidr %q: %v", ErrInvalidCondition, o.CIDR, err)
		}
		return &ladon.CIDRCondition{CIDR: o.CIDR}, nil
	case "":
		return nil, fmt.Errorf("%w: type is required (%s or %s)", ErrUnknownCondition, conditionTimeWindow, conditionCIDR)
	default:
		return nil, fmt.Errorf("%w type %q: want %s (key %q) or %s (key %q)", ErrUnknownCondition, cd.Type,
			conditionTimeWindow, ContextKeyTime, conditionCIDR, ContextKeyRemoteIP)
	}
}

func decodeOptions(raw json.RawMessage, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return fmt.Errorf("%w: options are required", ErrInvalidCondition)
	}
	if err := decodeStrict(raw, v); err != nil {
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return fmt.Errorf("%w: %w options.%s", ErrInvalidCondition, ErrUnknownField, strings.Trim(name, `"`))
		}
		return fmt.Errorf("%w: options: %v", ErrInvalidCondition, err)
	}
	return nil
}

func buildTimeWindow(o timeWindowOptions) (*TimeWindowCondition, error) {
	var c TimeWindowCondition
	if o.From == "" && o.Until == "" {
		return nil, fmt.Errorf("%w: options need from, until or both", ErrInvalidCondition)
	}
	if o.From != "" {
		t, err := time.Parse(time.RFC3339, o.From)
		if err != nil {
			return nil, fmt.Errorf("%w: options.from %q is not RFC 3339: %v", ErrInvalidCondition, o.From, err)
		}
		c.From = t
	}
	if o.Until != "" {
		t, err := time.Parse(time.RFC3339, o.Until)
		if err != nil {
			return nil, fmt.Errorf("%w: options.until %q is not RFC 3339: %v", ErrInvalidCondition, o.Until, err)
		}
		c.Until = t
	}
	if !c.From.IsZero() && !c.Until.IsZero() && !c.Until.After(c.From) {
		return nil, fmt.Errorf("%w: options.until %s is not after options.from %s", ErrInvalidCondition, o.Until, o.From)
	}
	return &c, nil
}
