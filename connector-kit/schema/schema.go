package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// Schema is a compiled JSON Schema. It is immutable and safe for concurrent use.
type Schema struct {
	name     string
	compiled *jsonschema.Schema
	// required maps the absolute location of every compiled (sub)schema
	// with a "required" keyword to its list, to name missing properties.
	required map[string][]string
}

// Name returns the name the schema was compiled under.
func (s *Schema) Name() string { return s.name }

// Compile compiles a schema document. name is its location in errors (a file
// path, a URL or dataset@version); a file path also serves as the base URL for
// relative $refs. The dialect is Draft 2020-12 unless the document declares
// its own $schema, and "format" is asserted.
//
// A $ref resolves only to the documents in resources, keyed by URL or file
// path; each is also registered under its own top-level $id. Any other $ref is
// a compile error wrapping [ErrRefNotAllowed] that names the reference. A
// document that is not valid JSON or not a valid schema gives an error
// wrapping [ErrInvalidSchema].
func Compile(name string, doc []byte, resources map[string][]byte) (*Schema, error) {
	root, err := resourceURL(name)
	if err != nil {
		return nil, fmt.Errorf("compile schema %s: %w: %w", name, ErrInvalidSchema, err)
	}
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	c.AssertFormat = true
	c.LoadURL = func(u string) (io.ReadCloser, error) {
		return nil, fmt.Errorf("%w: %q (only the registry's schemas can be referenced; no network or file access)", ErrRefNotAllowed, u)
	}
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
		return nil, fmt.Errorf("compile schema %s: %w", name, compileError(err))
	}
	s := &Schema{name: name, compiled: compiled, required: map[string][]string{}}
	walk(compiled, map[*jsonschema.Schema]bool{}, func(x *jsonschema.Schema) {
		if len(x.Required) > 0 {
			s.required[x.Location] = x.Required
		}
	})
	return s, nil
}

// compileError makes jsonschema's compile errors say what went wrong: a
// refused $ref keeps ErrRefNotAllowed; anything else wraps ErrInvalidSchema.
func compileError(err error) error {
	if errors.Is(err, ErrRefNotAllowed) {
		// Drop jsonschema's wrapping: our own error names the reference.
		ref := err
		for {
			u := errors.Unwrap(ref)
			if u == nil || u == ErrRefNotAllowed {
				return ref
			}
			ref = u
		}
	}
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		// The schema does not match its meta-schema: list every reason.
		var msgs []string
		for _, v := range flatten(ve, nil, nil, nil) {
			msgs = append(msgs, v.String())
		}
		return fmt.Errorf("%w: %s", ErrInvalidSchema, strings.Join(msgs, "; "))
	}
	return fmt.Errorf("%w: %s", ErrInvalidSchema, strings.TrimPrefix(err.Error(), "jsonschema: "))
}

// addResource registers doc under key and under its top-level $id.
func addResource(c *jsonschema.Compiler, key string, doc []byte) error {
	u, err := resourceURL(key)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidSchema, err)
	}
	var head struct {
		ID string `json:"$id"`
	}
	if err := json.Unmarshal(doc, &head); err != nil {
		var raw json.RawMessage
		if err := json.Unmarshal(doc, &raw); err != nil {
			return fmt.Errorf("%w: %s", ErrInvalidSchema, syntaxMessage("document", doc, err))
		}
		// Valid JSON that is not an object with a string $id (e.g. a
		// boolean schema): jsonschema judges it.
	}
	if err := c.AddResource(u, bytes.NewReader(doc)); err != nil {
		return fmt.Errorf("%w: %s", ErrInvalidSchema, strings.TrimPrefix(err.Error(), "jsonschema: "))
	}
	if id, _, _ := strings.Cut(head.ID, "#"); id != "" && id != u {
		if pu, err := url.Parse(id); err == nil && pu.IsAbs() {
			if err := c.AddResource(id, bytes.NewReader(doc)); err != nil {
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

// walk visits every schema reachable from s once.
func walk(s *jsonschema.Schema, seen map[*jsonschema.Schema]bool, f func(*jsonschema.Schema)) {
	if s == nil || seen[s] {
		return
	}
	seen[s] = true
	f(s)
	one := func(xs ...*jsonschema.Schema) {
		for _, x := range xs {
			walk(x, seen, f)
		}
	}
	anySchema := func(v any) {
		switch x := v.(type) {
		case *jsonschema.Schema:
			walk(x, seen, f)
		case []*jsonschema.Schema:
			one(x...)
		}
	}
	one(s.Ref, s.RecursiveRef, s.DynamicRef, s.Not, s.If, s.Then, s.Else,
		s.PropertyNames, s.UnevaluatedProperties, s.Items2020, s.Contains,
		s.UnevaluatedItems, s.ContentSchema)
	one(s.AllOf...)
	one(s.AnyOf...)
	one(s.OneOf...)
	one(s.PrefixItems...)
	for _, x := range s.Properties {
		walk(x, seen, f)
	}
	for _, x := range s.PatternProperties {
		walk(x, seen, f)
	}
	for _, x := range s.DependentSchemas {
		walk(x, seen, f)
	}
	for _, x := range s.Dependencies {
		anySchema(x)
	}
	anySchema(s.AdditionalProperties)
	anySchema(s.Items)
	anySchema(s.AdditionalItems)
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

// Validate checks an already decoded value against the schema only (no
// pre-checks). v must hold only JSON values as decoded by [Decode] or
// encoding/json with UseNumber. It returns every violation, ordered by
// pointer; nil means valid. A value that is not JSON (a Go struct, say) gives
// one violation with keyword "json".
func (s *Schema) Validate(v any) []Violation {
	err := s.compiled.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []Violation{{Keyword: "json", Message: strings.TrimPrefix(err.Error(), "jsonschema: ")}}
	}
	return sortViolations(flatten(ve, v, s.required, nil))
}

// flatten appends the leaf violations of a jsonschema error tree to out.
//
// Wrappers ($ref, allOf, properties, ...) are descended into. An anyOf or
// oneOf that no alternative matched becomes one violation at its own pointer
// whose message lists why each alternative failed: its branches are
// alternatives the record was not meant to satisfy all of, so their leaves
// alone would mislead. A "required" leaf becomes one violation per missing
// property, pointing at that property, when its schema is known (required
// non-nil) and the value is at hand.
func flatten(ve *jsonschema.ValidationError, v any, required map[string][]string, out []Violation) []Violation {
	kw, isKeyword := keywordOf(ve.KeywordLocation)
	if len(ve.Causes) > 0 {
		if isKeyword && (kw == "anyOf" || kw == "oneOf") {
			var branches []Violation
			for _, c := range ve.Causes {
				branches = flatten(c, v, required, branches)
			}
			branches = slices.Compact(branches)
			parts := make([]string, len(branches))
			for i, b := range branches {
				if b.Pointer != ve.InstanceLocation {
					parts[i] = b.Pointer + ": " + b.Message
				} else {
					parts[i] = b.Message
				}
			}
			return append(out, Violation{Pointer: ve.InstanceLocation, Keyword: kw,
				Message: "must match " + map[string]string{"anyOf": "at least one", "oneOf": "exactly one"}[kw] +
					" of the " + kw + " alternatives, but matches none: " + strings.Join(parts, "; ")})
		}
		for _, c := range ve.Causes {
			out = flatten(c, v, required, out)
		}
		return out
	}
	if !isKeyword {
		// The location is a subschema that rejects everything (false).
		kw = "false"
	}
	if kw == "required" && required != nil {
		if names, ok := required[strings.TrimSuffix(ve.AbsoluteKeywordLocation, "/required")]; ok {
			if obj, ok := lookupObject(v, ve.InstanceLocation); ok {
				n := len(out)
				for _, name := range names {
					if _, present := obj[name]; !present {
						out = append(out, Violation{Pointer: ve.InstanceLocation + "/" + escapePointerToken(name),
							Keyword: "required", Message: fmt.Sprintf("required property %q is missing", name)})
					}
				}
				if len(out) > n {
					return out
				}
			}
		}
	}
	return append(out, Violation{Pointer: ve.InstanceLocation, Keyword: kw, Message: ve.Message})
}

// lookupObject returns the object at pointer in v.
func lookupObject(v any, pointer string) (map[string]any, bool) {
	x, ok := Lookup(v, pointer)
	if !ok {
		return nil, false
	}
	obj, ok := x.(map[string]any)
	return obj, ok
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
