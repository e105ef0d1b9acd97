package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// printer renders jsonschema's error kinds in plain English. A
// message.Printer is safe for concurrent use.
var printer = message.NewPrinter(language.English)

// Schema is a compiled JSON Schema. It is immutable and safe for concurrent use.
type Schema struct {
	name     string
	compiled *jsonschema.Schema
	// strict is the same schema with deprecated taxonomy concepts failing,
	// compiled only for a dataset that warns about them: a record valid
	// under compiled is validated again with it to find the warnings.
	strict       *jsonschema.Schema
	taxonomy     TaxonomyLookup
	deprecated   DeprecatedReaction
	usesTaxonomy bool
	unchecked    []string
}

// Name returns the name the schema was compiled under.
func (s *Schema) Name() string { return s.name }

// UncheckedKeywords names the keywords of the schema that its checks skip:
// [TaxonomyKeyword] when the schema uses it and was compiled without
// [WithTaxonomy] (the connector kit's local check has no taxonomy; the hub
// checks it). Tools that validate with such a schema say so in their output.
func (s *Schema) UncheckedKeywords() []string { return s.unchecked }

// UsesTaxonomy reports whether the schema has a [TaxonomyKeyword].
func (s *Schema) UsesTaxonomy() bool { return s.usesTaxonomy }

// Taxonomy returns the lookup given with [WithTaxonomy] (nil without it), so
// another validator compiled beside this one (the hub's one-pass validator)
// checks the keyword against the same concepts.
func (s *Schema) Taxonomy() TaxonomyLookup { return s.taxonomy }

// Deprecated returns the reaction to deprecated concepts the schema was
// compiled with ([WithDeprecated]; [WarnDeprecated] by default).
func (s *Schema) Deprecated() DeprecatedReaction { return s.deprecated }

// refusingLoader is the only loader a compiler uses: every URL that is not
// one of the documents handed to [Compile] is refused.
type refusingLoader struct{}

func (refusingLoader) Load(u string) (any, error) {
	return nil, fmt.Errorf("%w: %q (only the registry's schemas can be referenced; no network or file access)", ErrRefNotAllowed, u)
}

// Compile compiles a schema document. name is its location in errors (a file
// path, a URL or dataset@version); a file path also serves as the base URL for
// relative $refs. The dialect is Draft 2020-12 unless the document declares
// its own $schema, and "format" is asserted.
//
// A $ref resolves only to the documents in resources, keyed by URL or file
// path; each is also registered under its own top-level $id. Any other $ref is
// a compile error wrapping [ErrRefNotAllowed] that names the reference. A
// document that is not valid JSON or not a valid schema gives an error
// wrapping [ErrInvalidSchema]; a bad option one wrapping [ErrInvalidOption].
//
// The [TaxonomyKeyword] is checked against the lookup given with
// [WithTaxonomy], deprecated concepts as [WithDeprecated] says.
func Compile(name string, doc []byte, resources map[string][]byte, opts ...Option) (*Schema, error) {
	o := options{deprecated: WarnDeprecated}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("compile schema %s: %w", name, err)
		}
	}
	root, err := resourceURL(name)
	if err != nil {
		return nil, fmt.Errorf("compile schema %s: %w: %w", name, ErrInvalidSchema, err)
	}
	mode := deprecatedPasses
	if o.deprecated == RejectDeprecated {
		mode = deprecatedFails
	}
	var usesTaxonomy bool
	compiled, err := compileGraph(name, root, doc, resources, taxonomyVocab(o.taxonomy, mode, &usesTaxonomy))
	if err != nil {
		return nil, err
	}
	// A $ref cycle compiles but fails every record: find it now. An empty
	// object reaches every $ref a record's root reaches first.
	if err := compiled.Validate(map[string]any{}); err != nil {
		if cyc := findRefCycle(err); cyc != "" {
			return nil, fmt.Errorf("compile schema %s: %w: $ref cycle: %s", name, ErrInvalidSchema, cyc)
		}
	}
	s := &Schema{name: name, compiled: compiled, taxonomy: o.taxonomy, deprecated: o.deprecated, usesTaxonomy: usesTaxonomy}
	switch {
	case usesTaxonomy && o.taxonomy == nil:
		s.unchecked = []string{TaxonomyKeyword}
	case usesTaxonomy && o.deprecated == WarnDeprecated:
		var again bool
		if s.strict, err = compileGraph(name, root, doc, resources, taxonomyVocab(o.taxonomy, deprecatedFails, &again)); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// compileGraph compiles doc (at root) with the resources, configured the one
// way every schema of the platform is compiled, with the safe-integer
// vocabulary and the given taxonomy vocabulary.
func compileGraph(name, root string, doc []byte, resources map[string][]byte, taxonomy *jsonschema.Vocabulary) (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(refusingLoader{})
	c.AssertVocabs()
	c.RegisterVocabulary(safeIntegerVocab())
	c.RegisterVocabulary(taxonomy)
	// Add resources in a fixed order so that errors do not depend on map order.
	keys := make([]string, 0, len(resources))
	for k := range resources {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := addResource(c, k, resources[k]); err != nil {
			return nil, fmt.Errorf("compile schema %s: resource %s: %w", name, k, err)
		}
	}
	if err := addResource(c, root, doc); err != nil {
		return nil, fmt.Errorf("compile schema %s: %w", name, err)
	}
	compiled, err := c.Compile(root)
	if err != nil {
		return nil, fmt.Errorf("compile schema %s: %w", name, compileError(err, root))
	}
	return compiled, nil
}

// compileError makes jsonschema's compile errors say what went wrong: a
// refused $ref keeps ErrRefNotAllowed; anything else wraps ErrInvalidSchema.
// root is the URL of the document being compiled.
func compileError(err error, root string) error {
	// jsonschema's error types carry their cause in a field but have no
	// Unwrap method, so errors.Is cannot see ErrRefNotAllowed through them.
	for e := err; e != nil; {
		if errors.Is(e, ErrRefNotAllowed) {
			// Our own error names the reference.
			return e
		}
		switch x := e.(type) {
		case *jsonschema.LoadURLError:
			e = x.Err
		case *jsonschema.SchemaValidationError:
			e = x.Err
		case *jsonschema.InvalidMetaSchemaURLError:
			e = x.Err
		case *jsonschema.ParseURLError:
			e = x.Err
		default:
			e = errors.Unwrap(e)
		}
	}
	var sve *jsonschema.SchemaValidationError
	if errors.As(err, &sve) {
		var ve *jsonschema.ValidationError
		if errors.As(sve.Err, &ve) {
			// The schema does not match its meta-schema: list every reason.
			var msgs []string
			for _, v := range sortViolations(flatten(ve, nil)) {
				msgs = append(msgs, v.String())
			}
			where := ""
			if doc, _, _ := strings.Cut(sve.URL, "#"); doc != root {
				where = " " + sve.URL
			}
			return fmt.Errorf("%w:%s does not match its meta-schema: %s", ErrInvalidSchema, where, strings.Join(msgs, "; "))
		}
	}
	return fmt.Errorf("%w: %s", ErrInvalidSchema, strings.TrimPrefix(err.Error(), "jsonschema: "))
}

// addResource registers doc under key and under its top-level $id.
func addResource(c *jsonschema.Compiler, key string, doc []byte) error {
	u, err := resourceURL(key)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidSchema, err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		// encoding/json's own error gives the offset.
		var raw json.RawMessage
		if err2 := json.Unmarshal(doc, &raw); err2 != nil {
			err = err2
		}
		return fmt.Errorf("%w: %s", ErrInvalidSchema, syntaxMessage("document", doc, err))
	}
	if err := c.AddResource(u, v); err != nil {
		return fmt.Errorf("%w: %s", ErrInvalidSchema, strings.TrimPrefix(err.Error(), "jsonschema: "))
	}
	// A document that is not an object with a string $id (e.g. a boolean
	// schema) has no alias; jsonschema judges it.
	obj, _ := v.(map[string]any)
	id, _ := obj["$id"].(string)
	if id, _, _ := strings.Cut(id, "#"); id != "" && id != u {
		if pu, err := url.Parse(id); err == nil && pu.IsAbs() {
			if err := c.AddResource(id, v); err != nil {
				return fmt.Errorf("%w: %s", ErrInvalidSchema, strings.TrimPrefix(err.Error(), "jsonschema: "))
			}
		}
	}
	return nil
}

// resourceURL turns a name into the absolute URL jsonschema keys documents
// by: an absolute URL (or URN) stays as it is, anything else is a file path.
func resourceURL(name string) (string, error) {
	if u, err := url.Parse(name); err == nil && len(u.Scheme) > 1 {
		return strings.TrimSuffix(name, "#"), nil
	}
	abs, err := filepath.Abs(name)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", name, err)
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String(), nil
}

// Check runs the pre-checks of [Decode] and then the schema. It returns the
// decoded value (for key extraction; nil if a pre-check failed) and every
// violation, ordered by pointer; nil violations mean the record is valid.
func (s *Schema) Check(data []byte, lim Limits) (any, []Violation) {
	v, vs := Decode(data, lim)
	if vs != nil {
		return nil, vs
	}
	return v, s.Validate(v)
}

// Warnings returns what a record valid under the schema is warned about:
// the deprecated taxonomy concepts it names, for a schema compiled with
// [WithTaxonomy] and [WarnDeprecated], each at its pointer with keyword
// [TaxonomyKeyword] and the concept's replacement. v is the decoded record
// (see [Schema.Check]). It returns nil at once when the record names no
// string that may be a deprecated concept.
func (s *Schema) Warnings(v any) []Violation {
	if s.strict == nil || s.taxonomy.Deprecated() == 0 || !anyString(v, s.taxonomy.MayBeDeprecated) {
		return nil
	}
	return taxonomyWarnings(s.strict, v)
}

// Validate checks an already decoded value against the schema only (no
// pre-checks). v must hold only JSON values as decoded by [Decode] or
// encoding/json with UseNumber. It returns every violation, ordered by
// pointer; nil means valid. A value that is not JSON (a Go struct, say) gives
// one violation with keyword "json", pointing at that value.
func (s *Schema) Validate(v any) []Violation {
	err := s.compiled.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []Violation{{Keyword: "json", Message: strings.TrimPrefix(err.Error(), "jsonschema: ")}}
	}
	if bad := findInvalidJSON(ve); bad != nil {
		return []Violation{{Pointer: pointerOf(bad.InstanceLocation), Keyword: "json",
			Message: "value is not JSON: " + bad.ErrorKind.LocalizedString(printer)}}
	}
	return sortViolations(flatten(ve, nil))
}

// findInvalidJSON returns the first error in the tree that is about a value
// that is not JSON, or nil.
func findInvalidJSON(ve *jsonschema.ValidationError) *jsonschema.ValidationError {
	if _, ok := ve.ErrorKind.(*kind.InvalidJsonValue); ok {
		return ve
	}
	for _, c := range ve.Causes {
		if bad := findInvalidJSON(c); bad != nil {
			return bad
		}
	}
	return nil
}

// flatten appends the leaf violations of a jsonschema error tree to out.
//
// Wrappers (the schema, a group of errors, $ref, allOf, ...) are descended
// into. An anyOf or oneOf that no alternative matched becomes one violation
// at its own pointer whose message lists why each alternative failed: its
// branches are alternatives the record was not meant to satisfy all of, so
// their leaves alone would mislead. The same holds for contains and
// minContains, whose causes are the items that do not match. A "required"
// leaf becomes one violation per missing property, pointing at that
// property.
func flatten(ve *jsonschema.ValidationError, out []Violation) []Violation {
	switch k := ve.ErrorKind.(type) {
	case *kind.AnyOf, *kind.OneOf, *kind.Contains, *kind.MinContains:
		if len(ve.Causes) > 0 {
			return append(out, alternatives(ve))
		}
	case *kind.Required:
		ptr := pointerOf(ve.InstanceLocation)
		for _, name := range k.Missing {
			out = append(out, Violation{Pointer: ptr + "/" + escapePointerToken(name),
				Keyword: "required", Message: fmt.Sprintf("required property %q is missing", name)})
		}
		return out
	}
	if len(ve.Causes) > 0 {
		for _, c := range ve.Causes {
			out = flatten(c, out)
		}
		return out
	}
	return append(out, Violation{Pointer: pointerOf(ve.InstanceLocation), Keyword: kindKeyword(ve), Message: messageOf(ve.ErrorKind)})
}

// alternatives turns an anyOf or oneOf that matched no alternative (or a
// contains that matched no item) into one violation listing the reasons.
func alternatives(ve *jsonschema.ValidationError) Violation {
	ptr := pointerOf(ve.InstanceLocation)
	var branches []Violation
	for _, c := range ve.Causes {
		branches = flatten(c, branches)
	}
	branches = slices.Compact(branches)
	parts := make([]string, len(branches))
	for i, b := range branches {
		if b.Pointer != ptr {
			parts[i] = b.Pointer + ": " + b.Message
		} else {
			parts[i] = b.Message
		}
	}
	kw := kindKeyword(ve)
	var msg string
	switch kw {
	case "anyOf":
		msg = "must match at least one of the anyOf alternatives, but matches none"
	case "oneOf":
		msg = "must match exactly one of the oneOf alternatives, but matches none"
	default:
		msg = messageOf(ve.ErrorKind)
	}
	return Violation{Pointer: ptr, Keyword: kw, Message: msg + ": " + strings.Join(parts, "; ")}
}

// kindKeyword names the schema keyword an error is about: the first element
// of its kind's keyword path ("dependentRequired" rather than the property
// that follows it), "not", "$ref" for a reference cycle, and for a
// subschema that rejects everything (false) the keyword holding it when it
// holds a single schema ("items", "unevaluatedProperties", ...), else "false".
func kindKeyword(ve *jsonschema.ValidationError) string {
	switch ve.ErrorKind.(type) {
	case *kind.FalseSchema:
		_, frag, _ := strings.Cut(ve.SchemaURL, "#")
		if kw, isKeyword := keywordOf(frag); isKeyword {
			return kw
		}
		return "false"
	case *kind.Not:
		return "not"
	case *kind.Dependency:
		return "dependencies"
	case *kind.DependentRequired:
		return "dependentRequired"
	case *kind.RefCycle:
		return "$ref"
	case *kind.InvalidJsonValue:
		return "json"
	}
	if p := ve.ErrorKind.KeywordPath(); len(p) > 0 {
		return p[0]
	}
	return "schema"
}

// keywordOf returns the last keyword in a schema keyword location such as
// "/properties/employer/$ref/required" ("required"), skipping property
// names and array indexes. isKeyword is false when the location ends at a
// subschema rather than a keyword (e.g. "/properties/x").
func keywordOf(loc string) (kw string, isKeyword bool) {
	segs := strings.Split(strings.TrimPrefix(loc, "/"), "/")
	if loc == "" {
		segs = nil
	}
	for i := 0; i < len(segs); i++ {
		kw, isKeyword = segs[i], true
		switch kw {
		case "properties", "patternProperties", "$defs", "definitions", "dependentSchemas":
			i++ // a name follows
			isKeyword = i >= len(segs)
		case "allOf", "anyOf", "oneOf", "prefixItems":
			i++ // an index follows
			isKeyword = i >= len(segs)
		case "items":
			if i+1 < len(segs) && isIndex(segs[i+1]) { // draft-07 tuple form
				i++
				isKeyword = false
			}
		case "dependencies", "dependentRequired":
			i++ // a name follows, then an index (list form) or a subschema
			if i+1 < len(segs) && isIndex(segs[i+1]) {
				i++
				isKeyword = true
			} else {
				isKeyword = i >= len(segs)
			}
		}
	}
	return kw, isKeyword
}

// isIndex reports whether s is a decimal array index.
func isIndex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// messageOf renders an error kind in plain English. Numeric bounds are
// rendered exactly (jsonschema rounds them to float64, which can make a
// failing big integer look equal to its bound).
func messageOf(k jsonschema.ErrorKind) string {
	switch k := k.(type) {
	case *kind.FalseSchema:
		return "not allowed"
	case *kind.Not:
		return "must not match the schema in not"
	case *kind.Minimum:
		return "must be >= " + ratString(k.Want) + " but found " + ratString(k.Got)
	case *kind.Maximum:
		return "must be <= " + ratString(k.Want) + " but found " + ratString(k.Got)
	case *kind.ExclusiveMinimum:
		return "must be > " + ratString(k.Want) + " but found " + ratString(k.Got)
	case *kind.ExclusiveMaximum:
		return "must be < " + ratString(k.Want) + " but found " + ratString(k.Got)
	case *kind.MultipleOf:
		return "must be a multiple of " + ratString(k.Want) + " but found " + ratString(k.Got)
	}
	return k.LocalizedString(printer)
}

var (
	big2 = big.NewInt(2)
	big5 = big.NewInt(5)
)

// ratString renders a number exactly: an integer in full, a finite decimal
// fraction with all its digits; anything else (which no JSON number is) to
// float64 precision.
func ratString(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	d := new(big.Int).Set(r.Denom())
	twos, fives := 0, 0
	m := new(big.Int)
	for {
		q, rem := new(big.Int).QuoRem(d, big2, m)
		if rem.Sign() != 0 {
			break
		}
		d, twos = q, twos+1
	}
	for {
		q, rem := new(big.Int).QuoRem(d, big5, m)
		if rem.Sign() != 0 {
			break
		}
		d, fives = q, fives+1
	}
	if d.Cmp(big.NewInt(1)) == 0 {
		return r.FloatString(max(twos, fives))
	}
	f, _ := r.Float64()
	return fmt.Sprint(f)
}

// pointerOf turns an instance location into a JSON pointer.
func pointerOf(loc []string) string {
	switch len(loc) {
	case 0:
		return ""
	case 1:
		return "/" + escapePointerToken(loc[0])
	}
	n := 0
	for _, tok := range loc {
		n += 1 + len(tok)
	}
	var b strings.Builder
	b.Grow(n)
	for _, tok := range loc {
		b.WriteByte('/')
		b.WriteString(escapePointerToken(tok))
	}
	return b.String()
}

// findRefCycle returns the message of a $ref-cycle error in err's tree.
func findRefCycle(err error) string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return ""
	}
	var walk func(*jsonschema.ValidationError) string
	walk = func(v *jsonschema.ValidationError) string {
		if _, ok := v.ErrorKind.(*kind.RefCycle); ok {
			return v.Error()
		}
		for _, c := range v.Causes {
			if m := walk(c); m != "" {
				return m
			}
		}
		return ""
	}
	return walk(ve)
}
