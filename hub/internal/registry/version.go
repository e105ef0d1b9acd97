package registry

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
	"github.com/jobtech-dev/datahub/hub/internal/compat"
	"github.com/jobtech-dev/datahub/internal/recordcheck"
)

// Source is one schema version's documents as the registry keeps them: the
// schema and the documents its $refs reach, named by their path under the
// schemas folder ("jobads/jobad.schema.json"), so a version reads the same
// whichever folder, machine or API call it came from.
type Source struct {
	// Name is the schema's path under the schemas folder; relative $refs
	// resolve against it (when the schema has no $id).
	Name string `json:"name"`
	// Doc is the schema document as written.
	Doc []byte `json:"doc"`
	// Resources are the documents its $refs reach, keyed as the compiler
	// takes them: a path under the schemas folder, or an absolute URL.
	Resources map[string][]byte `json:"resources,omitempty"`
}

// Digest identifies a source by the meaning of its JSON (formatting and the
// order of members do not count): two sources with one digest are the same
// schema.
func (s Source) Digest() string {
	h := sha256.New()
	write := func(name string, b []byte) {
		fmt.Fprintf(h, "%q\n", name)
		h.Write(canonical(b))
		h.Write([]byte{'\n'})
	}
	write("", s.Doc)
	for _, k := range sortedKeys(s.Resources) {
		write(k, s.Resources[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// canonical re-encodes a JSON document with sorted members and no spaces;
// bytes that are not JSON are kept as they are.
func canonical(b []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return b
	}
	out, err := json.Marshal(v)
	if err != nil {
		return b
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Document is the source as package compat reads it, labelled with the
// version number n.
func (s Source) Document(n int) compat.Document {
	return compat.Document{Name: s.Name, Schema: s.Doc, Resources: s.Resources, Version: n}
}

// Version is one registered version of a dataset's schema. Versions are
// append-only and never change once registered.
type Version struct {
	// Number counts from 1 (or from the number the dataset's first
	// declaration gave) up by one per registered version.
	Number int
	Source Source
	// Digest is Source.Digest(), kept to compare versions cheaply.
	Digest string
	// Schema is the compiled schema: what records pinned to this version,
	// or written while it is the latest, are validated against.
	Schema *schema.Schema
	// checker is this version's one-pass validator (internal/recordcheck
	// over internal/fastschema), compiled by [Compile] beside Schema with
	// the same taxonomy and reaction; [Dataset.CheckerFor] hands it out.
	checker *recordcheck.Checker

	// RegisteredAt and By say when and by whom it was registered; Route
	// how (a folder at start, the admin API, an actor's kit).
	RegisteredAt time.Time
	By           string
	Route        string
}

// Compile compiles v's schema for dataset d and fills in v.Schema and
// v.Digest. It is the one place the registry turns a schema's documents
// into a validator — for a folder read at start or sent to the API, for a
// version read back from the hub's state, and for a candidate version — so
// whatever a compiled version needs (a vocabulary, a faster validator)
// is added here once.
//
// opts carry what the hub's schemas share (schema.WithTaxonomy: the live
// taxonomy index); the dataset adds its own reaction to deprecated concepts.
// The one-pass validator is compiled from the same documents beside the
// reference, and takes the taxonomy and the reaction from it, so both judge
// the x-taxonomy keyword alike; it finds d's key and tombstone fields.
func Compile(d *Dataset, v *Version, opts ...schema.Option) error {
	opts = append(opts[:len(opts):len(opts)], schema.WithDeprecated(d.TaxonomyDeprecated))
	s, err := schema.Compile(v.Source.Name, v.Source.Doc, v.Source.Resources, opts...)
	if err != nil {
		return err
	}
	c, err := recordcheck.New(s, v.Source.Doc, v.Source.Resources, recordcheck.Options{Key: d.KeyPointer(), Tombstone: d.TombstonePointer()})
	if err != nil {
		return err
	}
	v.Schema, v.checker = s, c
	v.Digest = v.Source.Digest()
	return nil
}

// Narrow keeps of src.Resources only the documents its $refs reach,
// transitively, so a version does not change when an unrelated schema in
// the folder does. If the narrowed source would not compile as the full
// one did, the full one is kept.
func Narrow(src Source) Source {
	keep := reachable(src)
	if len(keep) == len(src.Resources) {
		return src
	}
	out := Source{Name: src.Name, Doc: src.Doc, Resources: make(map[string][]byte, len(keep))}
	for k := range keep {
		out.Resources[k] = src.Resources[k]
	}
	if _, err := schema.Compile(out.Name, out.Doc, out.Resources); err != nil {
		return src
	}
	if len(out.Resources) == 0 {
		out.Resources = nil
	}
	return out
}

// reachable returns the keys of the resources a $ref of src's schema can
// reach, following $refs inside the resources too. A $ref is resolved
// against its document's $id, or its key when it has none.
func reachable(src Source) map[string]bool {
	type doc struct {
		key  string
		base *url.URL
		val  any
	}
	byURL := map[string]string{} // resource URL (key or $id) → key
	parsed := map[string]doc{}
	for k, b := range src.Resources {
		var v any
		if json.Unmarshal(b, &v) != nil {
			continue
		}
		d := doc{key: k, base: baseOf(k, v), val: v}
		parsed[k] = d
		byURL[keyURL(k)] = k
		if id := idOfValue(v); id != nil {
			byURL[id.String()] = k
		}
	}
	var root any
	if json.Unmarshal(src.Doc, &root) != nil {
		return map[string]bool{}
	}
	keep := map[string]bool{}
	queue := []doc{{base: baseOf(src.Name, root), val: root}}
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		for _, ref := range refsIn(d.val, nil) {
			r, err := url.Parse(ref)
			if err != nil {
				continue
			}
			u := d.base.ResolveReference(r)
			u.Fragment = ""
			k, ok := byURL[u.String()]
			if !ok || keep[k] {
				continue
			}
			keep[k] = true
			queue = append(queue, parsed[k])
		}
	}
	return keep
}

// keyURL is the URL a resource key stands for: itself when it is an
// absolute URL, else a path under a fixed root (relative keys and names
// resolve against each other alike).
func keyURL(k string) string {
	if u, err := url.Parse(k); err == nil && u.IsAbs() {
		u.Fragment = ""
		return u.String()
	}
	return (&url.URL{Scheme: "file", Path: path.Join("/", k)}).String()
}

// baseOf is the base URL of a document named name with value v: its
// absolute $id, or its name.
func baseOf(name string, v any) *url.URL {
	if id := idOfValue(v); id != nil {
		return id
	}
	u, _ := url.Parse(keyURL(name))
	return u
}

func idOfValue(v any) *url.URL {
	m, _ := v.(map[string]any)
	s, _ := m["$id"].(string)
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() {
		return nil
	}
	u.Fragment = ""
	return u
}

// refsIn lists every $ref and $dynamicRef string in v.
func refsIn(v any, out []string) []string {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && (k == "$ref" || k == "$dynamicRef") && !strings.HasPrefix(s, "#") {
				out = append(out, s)
				continue
			}
			out = refsIn(e, out)
		}
	case []any:
		for _, e := range x {
			out = refsIn(e, out)
		}
	}
	return out
}
