package compat

import (
	"fmt"
	"slices"
	"strings"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
)

// Policy says what the checker may assume about records.
type Policy string

const (
	// Strict assumes nothing: a version is compatible only if every record
	// the JSON Schema allows passes. This is the default, as in Confluent.
	Strict Policy = "STRICT"
	// Lenient assumes records carry only the properties their schema names
	// (in properties or patternProperties). Then adding an optional property
	// to an open content model, removing one from it, and closing or opening
	// additionalProperties break nothing, as in Confluent's lenient policy.
	// A record that carried an unnamed property can then be refused by a
	// version judged compatible.
	Lenient Policy = "LENIENT"
)

// ParsePolicy reads a policy name, case-insensitively; empty is [Strict].
func ParsePolicy(s string) (Policy, error) {
	switch p := Policy(strings.ToUpper(strings.TrimSpace(s))); p {
	case "":
		return Strict, nil
	case Strict, Lenient:
		return p, nil
	}
	return "", fmt.Errorf("%w: unknown compatibility policy %q (want STRICT or LENIENT)", ErrInvalidOption, s)
}

// Option configures [Diff] and [Check].
type Option func(*options) error

type options struct {
	policy Policy
}

// WithPolicy sets the policy ([Strict] by default). An unknown policy gives
// an error wrapping [ErrInvalidOption].
func WithPolicy(p Policy) Option {
	return func(o *options) error {
		if p != Strict && p != Lenient {
			return fmt.Errorf("%w: unknown compatibility policy %q (want STRICT or LENIENT)", ErrInvalidOption, p)
		}
		o.policy = p
		return nil
	}
}

func applyOptions(opts []Option) (options, error) {
	o := options{policy: Strict}
	for _, f := range opts {
		if err := f(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}

// Diff lists every change from old to new, compatible ones included, each
// with the direction it breaks (if any), a pointer into each schema and a
// message. Changes are ordered by their place in the new schema. A document
// that is not a valid schema gives an error wrapping [ErrInvalidSchema] that
// names it and the pointer; one in another dialect than 2020-12, an error
// wrapping [ErrUnsupported].
func Diff(old, new Document, opts ...Option) ([]Change, error) {
	o, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	so, err := load(old)
	if err != nil {
		return nil, fmt.Errorf("old schema: %w", err)
	}
	sn, err := load(new)
	if err != nil {
		return nil, fmt.Errorf("new schema: %w", err)
	}
	return diff(so, sn, old.Version, o)
}

// diff compares two loaded sides.
func diff(so, sn *side, version int, o options) ([]Change, error) {
	ids := 0
	bo, bn := newBuilder(so, &ids), newBuilder(sn, &ids)
	ro, err := bo.parse(so.root)
	if err != nil {
		return nil, fmt.Errorf("old schema: %s: %w", so.label, err)
	}
	rn, err := bn.parse(sn.root)
	if err != nil {
		return nil, fmt.Errorf("new schema: %s: %w", sn.label, err)
	}
	c := newComparator(o.policy == Lenient)
	cs := c.run(ro, rn)
	if c.err != nil {
		return nil, c.err
	}
	cs = append(cs, definitions(ro, rn)...)
	return finish(cs, version), nil
}

// definitions lists $defs added to or removed from the schema's root: they
// change nothing until referenced, but a diff should show them.
func definitions(o, n *node) []change {
	var out []change
	for _, name := range unionKeys(o.defs, n.defs) {
		a, okA := o.defs[name]
		b, okB := n.defs[name]
		switch {
		case !okA:
			out = append(out, change{typ: DefinitionAdded, oldAt: o.at, newAt: b, detail: fmt.Sprintf("definition %q added", name)})
		case !okB:
			out = append(out, change{typ: DefinitionRemoved, oldAt: a, newAt: n.at, detail: fmt.Sprintf("definition %q removed", name)})
		}
	}
	return out
}

// finish turns the comparison's changes into Changes: the same change
// reached along several paths (a definition used in many places) is
// listed once, breaking in every direction any path breaks; then they are
// ordered by new pointer, old pointer and type.
func finish(cs []change, version int) []Change {
	var out []Change
	for _, x := range dedupe(cs) {
		dir := DirNone
		if x.b {
			dir |= DirBackward
		}
		if x.f {
			dir |= DirForward
		}
		out = append(out, Change{Type: x.typ, Breaks: dir, OldPointer: x.oldAt.String(), NewPointer: x.newAt.String(),
			Instance: x.inst, Message: message(x.inst, x.detail, dir), Version: version})
	}
	slices.SortStableFunc(out, func(a, b Change) int {
		if c := schema.ComparePointers(a.NewPointer, b.NewPointer); c != 0 {
			return c
		}
		if c := schema.ComparePointers(a.OldPointer, b.OldPointer); c != 0 {
			return c
		}
		return strings.Compare(string(a.Type), string(b.Type))
	})
	return out
}

// message writes a change's message: where in the record, what changed,
// and what breaks.
func message(inst, detail string, dir Direction) string {
	where := "at the record's root"
	if inst != "" {
		where = "at " + inst
	}
	var b strings.Builder
	b.WriteString(detail)
	b.WriteString(" (")
	b.WriteString(where)
	b.WriteString(")")
	switch dir {
	case DirBackward:
		b.WriteString("; breaks backward: a record valid under the old schema can fail the new one")
	case DirForward:
		b.WriteString("; breaks forward: a record valid under the new schema can fail the old one")
	case DirBoth:
		b.WriteString("; breaks backward and forward: records valid under either schema can fail the other")
	}
	return b.String()
}

// Report is the verdict of [Check].
type Report struct {
	// Mode is the mode checked.
	Mode Mode `json:"mode"`
	// Version is the candidate's version (its Document.Version).
	Version int `json:"version"`
	// Compatible is true when the candidate may be registered.
	Compatible bool `json:"compatible"`
	// Checked lists the versions the candidate was compared with.
	Checked []int `json:"checked"`
	// Breaking lists every change that breaks a direction the mode checks,
	// against each version checked (Change.Version says which).
	Breaking []Change `json:"breaking"`
}

// Check decides whether candidate may follow history (the registered
// versions, oldest first) under mode: BACKWARD, FORWARD and FULL compare it
// with the latest version, their TRANSITIVE variants with every version,
// and NONE with none. An empty history accepts any valid candidate. Every
// breaking change is listed; a change the checker cannot prove harmless
// counts as breaking. The candidate is always checked to be a valid
// schema (an error wrapping [ErrInvalidSchema] otherwise); an unknown mode
// gives an error wrapping [ErrUnknownMode].
func Check(mode Mode, history []Document, candidate Document, opts ...Option) (Report, error) {
	if !mode.valid() {
		_, err := ParseMode(string(mode))
		if err == nil {
			err = fmt.Errorf("%w %q", ErrUnknownMode, mode)
		}
		return Report{}, err
	}
	o, err := applyOptions(opts)
	if err != nil {
		return Report{}, err
	}
	sn, err := load(candidate)
	if err != nil {
		return Report{}, fmt.Errorf("candidate schema: %w", err)
	}
	r := Report{Mode: mode, Version: candidate.Version, Compatible: true, Checked: []int{}, Breaking: []Change{}}
	dirs := mode.Directions()
	if dirs == DirNone || len(history) == 0 {
		return r, nil
	}
	against := history[len(history)-1:]
	if mode.Transitive() {
		against = history
	}
	for _, old := range against {
		so, err := load(old)
		if err != nil {
			return Report{}, fmt.Errorf("registered schema: %w", err)
		}
		cs, err := diff(so, sn, old.Version, o)
		if err != nil {
			return Report{}, err
		}
		r.Checked = append(r.Checked, old.Version)
		for _, ch := range cs {
			if ch.Breaks&dirs != 0 {
				r.Breaking = append(r.Breaking, ch)
			}
		}
	}
	r.Compatible = len(r.Breaking) == 0
	return r, nil
}
