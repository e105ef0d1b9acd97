package schema

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/message"
)

// TaxonomyKeyword is the schema keyword that says a string names a concept
// of the shared taxonomy (the hub's taxonomy-concepts dataset):
//
//	{"x-taxonomy": {"type": "occupation-name"}}                       a concept id of that type
//	{"x-taxonomy": {"type": "municipality", "by": "legacy_id"}}       a legacy id ("0180") of that type
//	{"x-taxonomy": {"type": ["sun-education-level-1", "sun-education-level-2"]}}   any of the types
//
// It applies to strings only (other values pass, as JSON Schema's own string
// keywords do). Its value is checked when the schema is compiled, with or
// without a lookup: any other member, or a type that is not a kebab-case
// name, makes the schema invalid.
const TaxonomyKeyword = "x-taxonomy"

// TaxonomyRef is the value of one [TaxonomyKeyword]: the concept types a
// string may name, and whether it names them by concept id or by legacy id.
type TaxonomyRef struct {
	// Types are the concept types a value may name (at least one).
	Types []string
	// Legacy is set by "by": "legacy_id": values are the concepts' legacy
	// AMS taxonomy ids rather than their concept ids ("by": "id", the
	// default).
	Legacy bool
}

// The values of a TaxonomyKeyword's "by".
const (
	TaxonomyByID       = "id"
	TaxonomyByLegacyID = "legacy_id"
)

// conceptTypeRE is the form of a concept type (the concept schema's own).
var conceptTypeRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// ParseTaxonomyRef reads a [TaxonomyKeyword]'s value (decoded JSON). Both
// validators (this package's and the fast one) read it with this function,
// so they accept and refuse the same schemas.
func ParseTaxonomyRef(v any) (TaxonomyRef, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return TaxonomyRef{}, fmt.Errorf(`%s must be an object such as {"type": "occupation-name"}, not %s`, TaxonomyKeyword, jsonKind(v))
	}
	var ref TaxonomyRef
	for _, k := range sortedMembers(obj) {
		switch k {
		case "type":
			switch t := obj[k].(type) {
			case string:
				ref.Types = []string{t}
			case []any:
				for _, x := range t {
					s, ok := x.(string)
					if !ok {
						return TaxonomyRef{}, fmt.Errorf("%s/type: every item must be a concept type (a string), not %s", TaxonomyKeyword, jsonKind(x))
					}
					ref.Types = append(ref.Types, s)
				}
				if len(ref.Types) == 0 {
					return TaxonomyRef{}, fmt.Errorf("%s/type: an empty list names no concept type", TaxonomyKeyword)
				}
			default:
				return TaxonomyRef{}, fmt.Errorf("%s/type must be a concept type or a list of them, not %s", TaxonomyKeyword, jsonKind(obj[k]))
			}
			for _, t := range ref.Types {
				if !conceptTypeRE.MatchString(t) {
					return TaxonomyRef{}, fmt.Errorf("%s/type: %q is not a concept type (lower-case kebab-case, e.g. occupation-name)", TaxonomyKeyword, t)
				}
			}
		case "by":
			switch obj[k] {
			case TaxonomyByID:
			case TaxonomyByLegacyID:
				ref.Legacy = true
			default:
				return TaxonomyRef{}, fmt.Errorf("%s/by must be %q (concept ids, the default) or %q (legacy AMS taxonomy ids), not %s",
					TaxonomyKeyword, TaxonomyByID, TaxonomyByLegacyID, quoteJSON(obj[k]))
			}
		default:
			return TaxonomyRef{}, fmt.Errorf("%s: unknown member %q (it takes \"type\" and \"by\")", TaxonomyKeyword, k)
		}
	}
	if ref.Types == nil {
		return TaxonomyRef{}, fmt.Errorf(`%s needs "type": the concept type its values name, e.g. "occupation-name"`, TaxonomyKeyword)
	}
	return ref, nil
}

// typeList names the ref's types for a message: "skill", "a or b", "a, b or c".
func (r TaxonomyRef) typeList() string {
	switch len(r.Types) {
	case 0:
		return ""
	case 1:
		return r.Types[0]
	}
	return strings.Join(r.Types[:len(r.Types)-1], ", ") + " or " + r.Types[len(r.Types)-1]
}

// ConceptStatus is what a [TaxonomyLookup] knows about the concept a value
// names.
type ConceptStatus struct {
	// Known is true when the value names a concept of the type asked for.
	Known bool
	// ID is the concept's id (the value itself unless it was a legacy id).
	ID string
	// Deprecated is true for a concept the taxonomy no longer recommends.
	Deprecated bool
	// ReplacedBy are the ids of the concepts that replace a deprecated one.
	ReplacedBy []string
}

// TaxonomyLookup finds the concepts the [TaxonomyKeyword] checks values
// against. It must be safe for concurrent use: the hub's follows its
// taxonomy dataset live, so a concept published now is known to the next
// record.
type TaxonomyLookup interface {
	// Concept looks value up among the concepts of type typ, by concept id,
	// or by legacy id when legacy is set. value must not be kept.
	Concept(typ, value string, legacy bool) ConceptStatus
	// Len is how many concepts the lookup holds. A lookup that holds none
	// cannot judge anything: the keyword then lets every value pass (a hub
	// whose taxonomy is not loaded yet does not refuse every record).
	Len() int
	// Deprecated is how many deprecated concepts the lookup holds: with
	// none, no record is looked at for warnings.
	Deprecated() int
	// MayBeDeprecated reports whether value may be the id or legacy id of
	// a deprecated concept; false means certainly not. It lets a check
	// skip looking for warnings in a record that cannot have any.
	MayBeDeprecated(value string) bool
}

// TaxonomyVerdict is what the [TaxonomyKeyword] says about one value.
type TaxonomyVerdict uint8

const (
	// TaxonomyKnown: the value names a concept of the type, not deprecated.
	TaxonomyKnown TaxonomyVerdict = iota
	// TaxonomyUnchecked: the lookup holds no concepts; the value passes.
	TaxonomyUnchecked
	// TaxonomyUnknown: the value names no concept of the type; it fails.
	TaxonomyUnknown
	// TaxonomyDeprecated: the value names a deprecated concept of the
	// type; the dataset's [DeprecatedReaction] decides.
	TaxonomyDeprecated
)

// Judge looks value up as r says, in l. Both validators judge values with
// it, so they agree on every value.
func (r TaxonomyRef) Judge(l TaxonomyLookup, value string) (TaxonomyVerdict, ConceptStatus) {
	if l.Len() == 0 {
		return TaxonomyUnchecked, ConceptStatus{}
	}
	var found ConceptStatus
	for _, t := range r.Types {
		st := l.Concept(t, value, r.Legacy)
		if !st.Known {
			continue
		}
		if !st.Deprecated {
			return TaxonomyKnown, st
		}
		if !found.Known {
			found = st
		}
	}
	if found.Known {
		return TaxonomyDeprecated, found
	}
	return TaxonomyUnknown, ConceptStatus{}
}

// DeprecatedReaction is what a dataset does with a value naming a deprecated
// taxonomy concept, declared per dataset (dataset.yaml's
// taxonomy_deprecated).
type DeprecatedReaction string

const (
	// RejectDeprecated refuses the record with a violation naming the
	// concept and its replacement.
	RejectDeprecated DeprecatedReaction = "reject"
	// WarnDeprecated stores the record and reports a warning
	// ([Schema.Warnings]). It is the default: a deprecated concept still
	// names what it named, but publishers should move to its replacement.
	WarnDeprecated DeprecatedReaction = "warn"
	// AcceptDeprecated stores the record and says nothing.
	AcceptDeprecated DeprecatedReaction = "accept"
)

// ParseDeprecatedReaction reads a reaction by name; "" is [WarnDeprecated].
func ParseDeprecatedReaction(s string) (DeprecatedReaction, error) {
	switch r := DeprecatedReaction(s); r {
	case "":
		return WarnDeprecated, nil
	case RejectDeprecated, WarnDeprecated, AcceptDeprecated:
		return r, nil
	}
	return "", fmt.Errorf("%q must be %q, %q or %q", s, RejectDeprecated, WarnDeprecated, AcceptDeprecated)
}

// taxonomyMode is how one compiled graph treats deprecated concepts.
type taxonomyMode uint8

const (
	deprecatedPasses taxonomyMode = iota
	deprecatedFails               // reject, and the graph that finds warnings
)

// taxonomyVocab implements the [TaxonomyKeyword]. Without a lookup it only
// checks the keyword's value and records that the schema uses it (the
// schema then reports it in [Schema.UncheckedKeywords]).
func taxonomyVocab(l TaxonomyLookup, mode taxonomyMode, used *bool) *jsonschema.Vocabulary {
	return &jsonschema.Vocabulary{
		URL: "https://schemas.jobtechdev.se/datahub/vocab/taxonomy",
		Compile: func(_ *jsonschema.CompilerContext, obj map[string]any) (jsonschema.SchemaExt, error) {
			v, ok := obj[TaxonomyKeyword]
			if !ok {
				return nil, nil
			}
			ref, err := ParseTaxonomyRef(v)
			if err != nil {
				return nil, err
			}
			*used = true
			if l == nil {
				return nil, nil
			}
			return &taxonomyCheck{ref: ref, lookup: l, mode: mode}, nil
		},
	}
}

// taxonomyCheck is one compiled [TaxonomyKeyword].
type taxonomyCheck struct {
	ref    TaxonomyRef
	lookup TaxonomyLookup
	mode   taxonomyMode
}

func (c *taxonomyCheck) Validate(ctx *jsonschema.ValidatorContext, v any) {
	s, ok := v.(string)
	if !ok {
		return
	}
	switch verdict, st := c.ref.Judge(c.lookup, s); verdict {
	case TaxonomyUnknown:
		ctx.AddError(&unknownConcept{ref: c.ref, value: s})
	case TaxonomyDeprecated:
		if c.mode == deprecatedFails {
			ctx.AddError(&deprecatedConcept{ref: c.ref, value: s, status: st})
		}
	}
}

// unknownConcept is the error of a value that names no concept of the type.
type unknownConcept struct {
	ref   TaxonomyRef
	value string
}

func (*unknownConcept) KeywordPath() []string { return []string{TaxonomyKeyword} }

func (k *unknownConcept) LocalizedString(*message.Printer) string {
	what := "id"
	if k.ref.Legacy {
		what = "legacy id"
	}
	return fmt.Sprintf("%s is not the %s of %s concept in the taxonomy", quoteJSON(k.value), what, article(k.ref.typeList()))
}

// deprecatedConcept is the error (or, in a dataset that warns, the warning)
// of a value naming a deprecated concept.
type deprecatedConcept struct {
	ref    TaxonomyRef
	value  string
	status ConceptStatus
}

func (*deprecatedConcept) KeywordPath() []string { return []string{TaxonomyKeyword} }

func (k *deprecatedConcept) LocalizedString(*message.Printer) string {
	var b strings.Builder
	b.WriteString(quoteJSON(k.value))
	if k.ref.Legacy {
		fmt.Fprintf(&b, " (legacy id of %s)", k.status.ID)
	}
	fmt.Fprintf(&b, " names a deprecated %s concept", k.ref.typeList())
	switch len(k.status.ReplacedBy) {
	case 0:
		b.WriteString(" (the taxonomy names no replacement)")
	case 1:
		fmt.Fprintf(&b, ": replaced by %s", k.status.ReplacedBy[0])
	default:
		fmt.Fprintf(&b, ": replaced by %s", strings.Join(k.status.ReplacedBy, ", "))
	}
	return b.String()
}

// taxonomyWarnings are the deprecated concepts a valid record names, found
// by validating it again with the graph in which they fail.
func taxonomyWarnings(strict *jsonschema.Schema, v any) []Violation {
	err := strict.Validate(v)
	if err == nil {
		return nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return nil
	}
	var out []Violation
	var walk func(*jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if k, ok := e.ErrorKind.(*deprecatedConcept); ok {
			out = append(out, Violation{Pointer: pointerOf(e.InstanceLocation), Keyword: TaxonomyKeyword, Message: k.LocalizedString(printer)})
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return sortViolations(out)
}

// anyString reports whether some string in a decoded value (member names
// excepted) satisfies f.
func anyString(v any, f func(string) bool) bool {
	switch x := v.(type) {
	case string:
		return f(x)
	case map[string]any:
		for _, y := range x {
			if anyString(y, f) {
				return true
			}
		}
	case []any:
		for _, y := range x {
			if anyString(y, f) {
				return true
			}
		}
	}
	return false
}

// article puts "a" or "an" before a type name.
func article(s string) string {
	if s != "" && strings.ContainsRune("aeiou", rune(s[0])) {
		return "an " + s
	}
	return "a " + s
}

// quoteJSON renders a decoded value briefly, strings quoted.
func quoteJSON(v any) string {
	if s, ok := v.(string); ok {
		if r := []rune(s); len(r) > 80 {
			s = string(r[:77]) + "..."
		}
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprint(v)
}

func sortedMembers(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
