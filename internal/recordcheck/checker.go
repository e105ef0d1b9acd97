package recordcheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/internal/fastschema"
)

// Options say what a [Checker] finds and which custom keywords it knows.
type Options struct {
	// Key is the JSON pointer of the record key ("" for none).
	Key string
	// Tombstone is the JSON pointer of the boolean tombstone flag ("" for
	// none).
	Tombstone string
	// Keywords are custom keywords for the fast path. A schema using a
	// custom keyword the fast path is not given is checked by the
	// reference, except the taxonomy keyword: unless given here, it is
	// made from the reference's own taxonomy and reaction to deprecated
	// concepts (see [New]).
	Keywords []fastschema.Keyword
}

// Checker checks records against one compiled schema version. It is
// immutable and safe for concurrent use.
type Checker struct {
	ref    *schema.Schema
	fast   *fastschema.Validator // nil: the reference checks every record
	why    string                // why fast is nil, for Validator
	key    string
	tomb   string
	keyed  bool
	tombed bool
}

// New returns a checker for the schema ref, compiled by the reference from
// doc with resources (the same document and resources, under the same
// name, are compiled again for the fast path). A schema the fast path does
// not implement (fastschema.ErrUnsupported) is no error: every record then
// goes to the reference, and [Checker.Validator] says why. Bad options (a
// key that is not a JSON pointer) are an error wrapping
// fastschema.ErrInvalidOption.
//
// A schema using the taxonomy keyword gets it on the fast path as the
// reference was compiled with it: the same lookup and reaction to
// deprecated concepts (schema.WithTaxonomy, schema.WithDeprecated), or,
// compiled without a lookup, a keyword that reads its value and lets every
// string pass, as the reference does.
func New(ref *schema.Schema, doc []byte, resources map[string][]byte, o Options) (*Checker, error) {
	if ref == nil {
		return nil, errors.New("recordcheck: no reference schema")
	}
	c := &Checker{ref: ref, key: o.Key, tomb: o.Tombstone, keyed: o.Key != "", tombed: o.Tombstone != ""}
	kws := o.Keywords
	if ref.UsesTaxonomy() && !slices.ContainsFunc(kws, func(k fastschema.Keyword) bool { return k.Name == fastschema.TaxonomyKeyword }) {
		kws = append(kws[:len(kws):len(kws)], taxonomyOf(ref))
	}
	fast, err := fastschema.Compile(ref.Name(), doc, resources, fastschema.Options{Key: o.Key, Tombstone: o.Tombstone, Keywords: kws})
	var ue *fastschema.UnsupportedError
	switch {
	case err == nil:
		c.fast = fast
	case errors.As(err, &ue):
		c.why = "unsupported keyword " + ue.Keyword + " at " + location(ref.Name(), ue.Location)
		if ue.Detail != "" {
			c.why += ": " + ue.Detail
		}
	case errors.Is(err, fastschema.ErrInvalidOption):
		return nil, fmt.Errorf("schema %s: %w", ref.Name(), err)
	default:
		// The reference compiled it, so the fast path must: keep the
		// reference and say why.
		c.why = "the fast validator could not compile it: " + err.Error()
	}
	return c, nil
}

// taxonomyOf is the fast path's taxonomy keyword as ref judges it.
func taxonomyOf(ref *schema.Schema) fastschema.Keyword {
	if l := ref.Taxonomy(); l != nil {
		return fastschema.Taxonomy(l, fastschema.DeprecatedOutcome(ref.Deprecated()))
	}
	// No lookup: the reference reads the keyword's value but checks no
	// record against it (schema.Schema.UncheckedKeywords).
	return fastschema.Keyword{Name: fastschema.TaxonomyKeyword, Compile: func(value any) (fastschema.StringCheck, error) {
		if _, err := schema.ParseTaxonomyRef(value); err != nil {
			return nil, err
		}
		return func(string) fastschema.Outcome { return fastschema.Pass }, nil
	}}
}

// Reference returns a checker that uses the reference for every record, as
// a checker of a schema the fast path does not support does.
func Reference(ref *schema.Schema, o Options) *Checker {
	return &Checker{ref: ref, key: o.Key, tomb: o.Tombstone, keyed: o.Key != "", tombed: o.Tombstone != "", why: "chosen"}
}

// location renders where an unsupported keyword is: the JSON pointer into
// the schema, after the document's base name when it is not the schema
// itself.
func location(name, loc string) string {
	doc, frag, _ := strings.Cut(loc, "#")
	if frag == "" {
		frag = "/"
	}
	if u, err := url.Parse(doc); err == nil && doc != "" {
		if base := path.Base(u.Path); base != "." && base != "/" && base != path.Base(strings.ReplaceAll(name, "\\", "/")) {
			return base + "#" + frag
		}
	}
	return frag
}

// Validator says which validator judges records: "fast", or "reference
// (why)", e.g. "reference (unsupported keyword $dynamicRef at
// /properties/x)".
func (c *Checker) Validator() string {
	if c.fast != nil {
		return "fast"
	}
	return "reference (" + c.why + ")"
}

// Fields returns the key and tombstone pointers the checker was made for.
func (c *Checker) Fields() (key, tombstone string) { return c.key, c.tomb }

// Fast reports whether the one-pass validator judges records.
func (c *Checker) Fast() bool { return c.fast != nil }

// Schema returns the reference schema.
func (c *Checker) Schema() *schema.Schema { return c.ref }

// Result is a checked record.
type Result struct {
	// Violations are the reference's report; nil when the record passes
	// the decode checks and the schema.
	Violations []schema.Violation
	// Key is the record key (Options.Key), when KeyProblem is "".
	Key string
	// KeyProblem says why the value at the key field cannot be a key
	// ("is missing", or wire's key rule), for a record without
	// Violations; "" when Key is the key or no key was asked for.
	KeyProblem string
	// Tombstone reports whether the tombstone flag is true.
	Tombstone bool
	// Warnings are the reference's warnings about a valid record (deprecated
	// taxonomy concepts, for a schema compiled to warn about them).
	Warnings []schema.Violation
	// Reference reports that the reference judged the record (the fast
	// path refused it, found no usable key, or is not used for the schema).
	Reference bool
	// Disagreement reports that the fast path refused a record the
	// reference accepts: the reference's verdict stands.
	Disagreement bool
}

// Check checks one record with the limits lim (zero fields: the defaults).
// It allocates nothing on the fast path for a valid record beyond its key.
func (c *Checker) Check(data []byte, lim schema.Limits) Result {
	if c.fast == nil {
		return c.reference(data, lim)
	}
	r := c.fast.ValidateLimits(data, lim)
	if r.Valid && !r.Warned && (r.KeyOK || !c.keyed) {
		return Result{Key: r.Key, Tombstone: r.Tombstone}
	}
	// Refused, an unusable key or a warning: the reference says what
	// users see (the warnings too).
	res := c.reference(data, lim)
	res.Disagreement = !r.Valid && res.Violations == nil
	return res
}

// reference checks data with the reference validator and finds the key
// and the tombstone flag in the decoded value.
func (c *Checker) reference(data []byte, lim schema.Limits) Result {
	v, viol := c.ref.Check(data, lim)
	if len(viol) > 0 {
		return Result{Violations: viol, Reference: true}
	}
	res := Result{Reference: true, Warnings: c.ref.Warnings(v)}
	if c.keyed {
		res.Key, res.KeyProblem = KeyOf(v, c.key)
	}
	if c.tombed {
		res.Tombstone = TombstoneOf(v, c.tomb)
	}
	return res
}

// KeyOf returns the record key at pointer ptr in a decoded record (numbers
// as json.Number), or why there is none usable: "is missing", or what
// wire's key rule says about the value.
func KeyOf(v any, ptr string) (key, problem string) {
	x, ok := schema.Lookup(v, ptr)
	if !ok {
		return "", "is missing"
	}
	switch k := x.(type) {
	case string:
		return k, wire.StringKeyProblem(k)
	case json.Number:
		return string(k), wire.NumberKeyProblem(string(k))
	case nil:
		return "", "must be a non-empty string or an integer, not null"
	case bool:
		return "", "must be a non-empty string or an integer, not a boolean"
	case map[string]any:
		return "", "must be a non-empty string or an integer, not an object"
	case []any:
		return "", "must be a non-empty string or an integer, not an array"
	default:
		return "", fmt.Sprintf("must be a non-empty string or an integer, not %T", x)
	}
}

// TombstoneOf reports whether the value at pointer ptr of a decoded record
// is true.
func TombstoneOf(v any, ptr string) bool {
	x, ok := schema.Lookup(v, ptr)
	return ok && x == true
}
