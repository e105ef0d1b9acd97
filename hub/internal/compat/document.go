package compat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
)

// Document is one version of a dataset's schema, with the documents its
// $refs reach.
type Document struct {
	// Name is where the schema lives: a URL, a file path or dataset@version.
	// It is the base URI of relative $refs when the schema has no $id, and
	// names the schema in errors. Empty means "schema.json".
	Name string
	// Schema is the JSON Schema (draft 2020-12) document.
	Schema []byte
	// Resources are the documents a $ref may reach, keyed by URL or file
	// path, exactly as [schema.Compile] takes them; each is also reachable
	// by its own top-level $id.
	Resources map[string][]byte
	// Version is the registry's version number of this schema; it only
	// labels changes and errors.
	Version int
}

// label names the document in errors: its name and version.
func (d Document) label() string {
	name := d.Name
	if name == "" {
		name = defaultName
	}
	if d.Version != 0 {
		return fmt.Sprintf("%s (version %d)", name, d.Version)
	}
	return name
}

const defaultName = "schema.json"

// dialect2020 is the only $schema the checker reads keywords for.
const dialect2020 = "https://json-schema.org/draft/2020-12/schema"

// resDoc is one parsed document: the schema itself (key "") or a resource.
type resDoc struct {
	key   string // as given in Document.Resources; "" for the schema
	url   string // absolute URL, without fragment
	value any
}

// loc is a place in a document where a schema (or a keyword's value) is.
type loc struct {
	doc  *resDoc
	ptr  string   // JSON pointer from the document's root
	base *url.URL // base URI in effect here
	v    any      // the value at ptr
}

// key identifies the location across all documents of one side.
func (l loc) key() string { return l.doc.url + "#" + l.ptr }

// String renders the location as a Change pointer: the pointer alone in the
// schema document, RESOURCE#POINTER in a resource.
func (l loc) String() string {
	if l.doc == nil || l.doc.key == "" {
		return l.ptr
	}
	return l.doc.key + "#" + l.ptr
}

// kw returns the location of a keyword's value inside the schema at l.
func (l loc) kw(name string) loc {
	m, _ := l.v.(map[string]any)
	return loc{doc: l.doc, ptr: l.ptr + "/" + escapeToken(name), base: l.base, v: m[name]}
}

// sub returns the location of a subschema reached from l by tokens (e.g.
// "properties", "name"), with the base URI of that subschema.
func (l loc) sub(tokens ...string) loc {
	out := loc{doc: l.doc, ptr: l.ptr, base: l.base, v: l.v}
	for _, t := range tokens {
		out.ptr += "/" + escapeToken(t)
		switch c := out.v.(type) {
		case map[string]any:
			out.v = c[t]
		case []any:
			var i int
			if _, err := fmt.Sscan(t, &i); err == nil && i >= 0 && i < len(c) {
				out.v = c[i]
			} else {
				out.v = nil
			}
		default:
			out.v = nil
		}
	}
	out.base = withID(out.base, out.v)
	return out
}

// withID returns the base URI of a schema: base, changed by its $id if it
// has one.
func withID(base *url.URL, v any) *url.URL {
	m, ok := v.(map[string]any)
	if !ok {
		return base
	}
	id, ok := m["$id"].(string)
	if !ok || id == "" {
		return base
	}
	ref, err := url.Parse(id)
	if err != nil {
		return base
	}
	u := base.ResolveReference(ref)
	u.Fragment, u.RawFragment = "", ""
	return u
}

// escapeToken escapes one JSON pointer token (RFC 6901).
func escapeToken(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// side is one schema version with its resources, parsed and indexed for
// $ref resolution.
type side struct {
	label   string
	root    loc
	byURL   map[string]loc // document URLs and embedded $ids
	anchors map[string]loc // URL#anchor
}

// load checks a document with the reference validator's compiler (so a
// schema the hub would refuse is refused here with the same message), then
// parses it and its resources and indexes every $id and $anchor.
func load(d Document) (*side, error) {
	name := d.Name
	if name == "" {
		name = defaultName
	}
	if _, err := schema.Compile(name, d.Schema, d.Resources); err != nil {
		return nil, fmt.Errorf("%s: %w: %w", d.label(), ErrInvalidSchema, err)
	}
	s := &side{label: d.label(), byURL: map[string]loc{}, anchors: map[string]loc{}}
	keys := make([]string, 0, len(d.Resources))
	for k := range d.Resources {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, err := s.add(k, k, d.Resources[k]); err != nil {
			return nil, err
		}
	}
	root, err := s.add("", name, d.Schema)
	if err != nil {
		return nil, err
	}
	if m, ok := root.v.(map[string]any); ok {
		if dialect, ok := m["$schema"].(string); ok && strings.TrimSuffix(dialect, "#") != dialect2020 {
			return nil, fmt.Errorf("%s: %w: $schema is %q; the compatibility checker reads JSON Schema 2020-12 (%s) only", d.label(), ErrUnsupported, dialect, dialect2020)
		}
	}
	s.root = root
	return s, nil
}

// add parses one document and indexes it under its URL and $ids.
func (s *side) add(key, name string, data []byte) (loc, error) {
	u, err := resourceURL(name)
	if err != nil {
		return loc{}, fmt.Errorf("%s: %w: %s: %w", s.label, ErrInvalidSchema, name, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return loc{}, fmt.Errorf("%s: %w: %s: %w", s.label, ErrInvalidSchema, name, err)
	}
	doc := &resDoc{key: key, url: u.String(), value: v}
	root := loc{doc: doc, ptr: "", base: withID(u, v), v: v}
	s.byURL[doc.url] = root
	s.index(root, 0)
	return root, nil
}

// maxIndexDepth bounds the walk over nested subschemas; deeper schemas are
// refused by the validator's depth limits long before.
const maxIndexDepth = 200

// index records the $id and $anchor of every subschema under l.
func (s *side) index(l loc, depth int) {
	m, ok := l.v.(map[string]any)
	if !ok || depth > maxIndexDepth {
		return
	}
	if _, ok := m["$id"].(string); ok {
		s.byURL[l.base.String()] = l
	}
	for _, a := range []string{"$anchor", "$dynamicAnchor"} {
		if name, ok := m[a].(string); ok {
			s.anchors[l.base.String()+"#"+name] = l
		}
	}
	forEachSubschema(l, func(c loc) { s.index(c, depth+1) })
}

// forEachSubschema calls f with every direct subschema of the schema at l,
// in a fixed order.
func forEachSubschema(l loc, f func(loc)) {
	m, ok := l.v.(map[string]any)
	if !ok {
		return
	}
	for _, kw := range []string{"additionalProperties", "unevaluatedProperties", "propertyNames",
		"items", "contains", "unevaluatedItems", "not", "if", "then", "else", "contentSchema"} {
		if _, ok := m[kw]; ok {
			f(l.sub(kw))
		}
	}
	for _, kw := range []string{"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"} {
		if mm, ok := m[kw].(map[string]any); ok {
			for _, k := range slices.Sorted(maps.Keys(mm)) {
				f(l.sub(kw, k))
			}
		}
	}
	for _, kw := range []string{"allOf", "anyOf", "oneOf", "prefixItems"} {
		if a, ok := m[kw].([]any); ok {
			for i := range a {
				f(l.sub(kw, fmt.Sprint(i)))
			}
		}
	}
}

// resolve finds the schema a $ref (or $dynamicRef) at l names.
func (s *side) resolve(l loc, ref string) (loc, error) {
	r, err := url.Parse(ref)
	if err != nil {
		return loc{}, fmt.Errorf("%w: $ref %q at %s: %w", ErrInvalidSchema, ref, l, err)
	}
	u := l.base.ResolveReference(r)
	frag := u.Fragment
	u.Fragment, u.RawFragment = "", ""
	target, ok := s.byURL[u.String()]
	if !ok {
		return loc{}, fmt.Errorf("%w: $ref %q at %s: %s is not a known schema resource", ErrInvalidSchema, ref, l, u)
	}
	switch {
	case frag == "":
		return target, nil
	case strings.HasPrefix(frag, "/"):
		if _, ok := schema.Lookup(target.v, frag); !ok {
			return loc{}, fmt.Errorf("%w: $ref %q at %s: no %s in %s", ErrInvalidSchema, ref, l, frag, u)
		}
		return target.sub(splitPointer(frag)...), nil
	default:
		a, ok := s.anchors[u.String()+"#"+frag]
		if !ok {
			return loc{}, fmt.Errorf("%w: $ref %q at %s: no anchor %q in %s", ErrInvalidSchema, ref, l, frag, u)
		}
		return a, nil
	}
}

// splitPointer splits a JSON pointer into unescaped tokens.
func splitPointer(p string) []string {
	toks := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, t := range toks {
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return toks
}

// resourceURL turns a name into an absolute URL, as the reference
// validator's compiler does: a URL (or URN) stays as it is, anything else is
// a file path.
func resourceURL(name string) (*url.URL, error) {
	if u, err := url.Parse(name); err == nil && len(u.Scheme) > 1 {
		u.Fragment, u.RawFragment = "", ""
		return u, nil
	}
	abs, err := filepath.Abs(name)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", name, err)
	}
	return &url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}, nil
}
