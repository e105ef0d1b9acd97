package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/jobtech-dev/datahub/hub/internal/compat"
	"github.com/jobtech-dev/datahub/hub/internal/registry"
)

// SchemaVersion is one registered version of a dataset's schema.
type SchemaVersion struct {
	Version int
	Schema  []byte
}

// property is one row of a schema rendered readably.
type property struct {
	Pointer     string
	Depth       int
	Types       string
	Required    bool
	Description string
	Constraints string
}

// versionView is one version as the page shows it: its fields, the change
// from the version before, the raw document.
type versionView struct {
	Version    int
	Properties []property
	Changes    []compat.Change
	DiffError  string
	Raw        []byte
}

// schemaView is everything the page shows of a dataset's schema, made once
// per dataset (datasets are immutable in the registry).
type schemaView struct {
	Versions []versionView
	Example  []byte
	Examples string // the file the example came from
}

// schemaOf renders d's schema versions and example (cached).
func (w *Web) schemaOf(d *registry.Dataset) schemaView {
	if v, ok := w.schemas.Load(d); ok {
		return v.(schemaView)
	}
	vs := []SchemaVersion{{Version: d.SchemaVersion, Schema: d.SchemaDoc}}
	if w.Versions != nil {
		if more := w.Versions(d.Name); len(more) > 0 {
			vs = more
		}
	}
	var sv schemaView
	for i, v := range vs {
		vv := versionView{Version: v.Version, Raw: v.Schema, Properties: properties(v.Schema)}
		if i > 0 {
			ch, err := compat.Diff(compat.Document{Name: d.Name, Schema: vs[i-1].Schema, Version: vs[i-1].Version},
				compat.Document{Name: d.Name, Schema: v.Schema, Version: v.Version})
			if err != nil {
				vv.DiffError = err.Error()
			}
			vv.Changes = ch
		}
		sv.Versions = append(sv.Versions, vv)
	}
	slices.Reverse(sv.Versions) // newest first
	sv.Example, sv.Examples = exampleOf(d)
	w.schemas.Store(d, sv)
	return sv
}

// exampleOf reads the first valid example beside d's declaration that is
// not a tombstone (examples/valid/*.json, else the first line of
// examples/valid/*.ndjson), if any.
func exampleOf(d *registry.Dataset) ([]byte, string) {
	if d.File == "" {
		return nil, ""
	}
	dir := filepath.Join(filepath.Dir(d.File), "examples", "valid")
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	sort.Strings(files)
	// A dataset whose examples are NDJSON only (the taxonomy's) shows the
	// first record of its first file.
	lines, _ := filepath.Glob(filepath.Join(dir, "*.ndjson"))
	sort.Strings(lines)
	for _, f := range append(files, lines...) {
		b, err := os.ReadFile(f)
		if err != nil || len(b) > 256<<10 || strings.Contains(filepath.Base(f), "tombstone") {
			continue
		}
		if strings.HasSuffix(f, ".ndjson") {
			first, _, _ := bytes.Cut(bytes.TrimSpace(b), []byte("\n"))
			if len(first) == 0 {
				continue
			}
			b = first
		}
		return b, filepath.Join("examples", "valid", filepath.Base(f))
	}
	return nil, ""
}

// properties lists a schema's properties, nested objects and array items
// included, to a depth of 4.
func properties(doc []byte) []property {
	var root map[string]any
	if json.Unmarshal(doc, &root) != nil {
		return nil
	}
	defs, _ := root["$defs"].(map[string]any)
	var out []property
	var walk func(s map[string]any, ptr string, depth int, seen map[string]bool)
	walk = func(s map[string]any, ptr string, depth int, seen map[string]bool) {
		if depth > 4 {
			return
		}
		s = resolve(s, defs, seen)
		props, _ := s["properties"].(map[string]any)
		req := map[string]bool{}
		if rs, ok := s["required"].([]any); ok {
			for _, r := range rs {
				if n, ok := r.(string); ok {
					req[n] = true
				}
			}
		}
		names := make([]string, 0, len(props))
		for n := range props {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			ps, _ := props[n].(map[string]any)
			p := ptr + "/" + n
			child := map[string]bool{}
			for k := range seen {
				child[k] = true
			}
			ps = resolve(ps, defs, child)
			out = append(out, property{Pointer: p, Depth: depth, Types: typesOf(ps), Required: req[n], Description: str(ps["description"]), Constraints: constraints(ps)})
			walk(ps, p, depth+1, child)
			if items, ok := ps["items"].(map[string]any); ok {
				walk(items, p+"/*", depth+1, child)
			}
		}
	}
	walk(root, "", 0, map[string]bool{})
	return out
}

// resolve follows a local $ref into $defs once (a loop stops).
func resolve(s map[string]any, defs map[string]any, seen map[string]bool) map[string]any {
	ref, _ := s["$ref"].(string)
	name, ok := strings.CutPrefix(ref, "#/$defs/")
	if !ok || seen[name] {
		return s
	}
	seen[name] = true
	if d, ok := defs[name].(map[string]any); ok {
		return d
	}
	return s
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func typesOf(s map[string]any) string {
	switch t := s["type"].(type) {
	case string:
		return t
	case []any:
		var ts []string
		for _, x := range t {
			ts = append(ts, fmt.Sprint(x))
		}
		return strings.Join(ts, " | ")
	}
	switch {
	case s["enum"] != nil:
		return "enum"
	case s["const"] != nil:
		return "const"
	case s["anyOf"] != nil, s["oneOf"] != nil:
		return "one of several"
	}
	return "any"
}

func constraints(s map[string]any) string {
	var out []string
	for _, k := range []string{"format", "pattern", "minLength", "maxLength", "minimum", "maximum", "minItems", "maxItems"} {
		if v, ok := s[k]; ok {
			out = append(out, fmt.Sprintf("%s %v", k, v))
		}
	}
	if e, ok := s["enum"].([]any); ok {
		var vs []string
		for i, x := range e {
			if i == 8 {
				vs = append(vs, "…")
				break
			}
			b, _ := json.Marshal(x)
			vs = append(vs, string(b))
		}
		out = append(out, "one of "+strings.Join(vs, ", "))
	}
	return strings.Join(out, "; ")
}
