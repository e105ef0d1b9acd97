package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/goccy/go-yaml/ast"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
)

// DeclarationFile is the name of a dataset's declaration file.
const DeclarationFile = "dataset.yaml"

// Files are a schemas folder's files as the registry reads them: paths
// relative to the folder, with forward slashes ("jobads/dataset.yaml",
// "jobads/jobad.schema.json"), to their content. Only each dataset's
// declaration and the JSON files beside it count.
type Files map[string][]byte

// ReadDir reads what [LoadFiles] needs of a schemas folder: every
// dir/*/dataset.yaml and dir/*/*.json (examples, deeper down, are left
// out). A folder that is itself one dataset's (it holds a dataset.yaml) is
// read as that one dataset, named by the folder's own name.
func ReadDir(dir string) (Files, error) {
	files, _, err := readDir(dir)
	return files, err
}

// readDir is ReadDir, also returning the folder the paths are relative to.
func readDir(dir string) (Files, string, error) {
	if _, err := os.ReadDir(dir); err != nil {
		return nil, "", fmt.Errorf("load datasets: %w", err)
	}
	root, prefix := dir, ""
	if _, err := os.Stat(filepath.Join(dir, DeclarationFile)); err == nil {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, "", fmt.Errorf("load datasets: %w", err)
		}
		root, prefix = filepath.Dir(abs), filepath.Base(abs)
		if c := filepath.Clean(dir); !filepath.IsAbs(c) && c != "." && filepath.Base(c) == prefix {
			root = filepath.Dir(c) // keep the path as the user wrote it
		}
	}
	var pats []string
	if prefix != "" {
		pats = []string{filepath.Join(root, prefix, DeclarationFile), filepath.Join(root, prefix, "*.json")}
	} else {
		pats = []string{filepath.Join(root, "*", DeclarationFile), filepath.Join(root, "*", "*.json")}
	}
	files := Files{}
	for _, p := range pats {
		matches, err := filepath.Glob(p)
		if err != nil {
			return nil, "", fmt.Errorf("load datasets from %s: %w", dir, err)
		}
		for _, m := range matches {
			if fi, err := os.Stat(m); err != nil || !fi.Mode().IsRegular() {
				continue
			}
			b, err := os.ReadFile(m)
			if err != nil {
				return nil, "", fmt.Errorf("load datasets from %s: %w", dir, err)
			}
			rel, err := filepath.Rel(root, m)
			if err != nil {
				return nil, "", fmt.Errorf("load datasets from %s: %w", dir, err)
			}
			files[filepath.ToSlash(rel)] = b
		}
	}
	return files, root, nil
}

// LoadDir loads every dataset declared under dir, one per subfolder
// (dir/*/dataset.yaml), sorted by name: [ReadDir], then [LoadFiles] with
// errors naming the files under dir. opts are as for [LoadFiles].
func LoadDir(dir string, opts ...schema.Option) ([]*Dataset, error) {
	files, root, err := readDir(dir)
	if err != nil {
		return nil, err
	}
	return LoadFiles(files, root, opts...)
}

// LoadFiles loads every dataset declared in files (see [Files]), sorted by
// name, each holding one version: the folder's schema, numbered as its
// schema_version says (1 when it says nothing). A schema's $ref may point to
// any other JSON file in its own folder (by path, or relative to its $id),
// or to any */*.schema.json by path or by $id; nothing else is reachable.
// Each version keeps only the documents its $refs reach.
//
// Errors name each file as shown joined with its path in files (shown "" for
// the bare path). It reports every mistake at once (errors.Join), each
// naming its file and, where known, line:col and field; each wraps
// [ErrInvalidDeclaration]. If there is any mistake it returns no datasets.
// No declarations give none and no error.
//
// opts are given to every schema's compile (see [Compile]: the hub's
// taxonomy index, for the x-taxonomy keyword).
func LoadFiles(files Files, shown string, opts ...schema.Option) ([]*Dataset, error) {
	display := func(p string) string {
		if shown == "" {
			return p
		}
		return filepath.Join(shown, filepath.FromSlash(p))
	}
	var decls, shared []string
	for p := range files {
		if !fs.ValidPath(p) {
			return nil, &declError{file: p, msg: "not a path under the schemas folder"}
		}
		dir, base := path.Split(p)
		depth := strings.Count(strings.TrimSuffix(dir, "/"), "/")
		if dir == "" || depth > 0 {
			continue // only <dataset>/<file> counts
		}
		switch {
		case base == DeclarationFile:
			decls = append(decls, p)
		case strings.HasSuffix(base, ".schema.json"):
			shared = append(shared, p)
		}
	}
	sort.Strings(decls)
	sort.Strings(shared)
	var errs []error
	res := map[string][]byte{}
	for _, p := range shared {
		if b, ok := checkJSON(p, files[p], display, &errs); ok {
			res[p] = b
		}
	}
	var out []*Dataset
	byName := map[string]*Dataset{}
	for _, p := range decls {
		d, err := load(p, files, res, display, opts)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if prev, dup := byName[d.Name]; dup {
			errs = append(errs, &declError{file: display(p), line: d.nameLine, col: d.nameCol, field: "name",
				msg: fmt.Sprintf("dataset %q is already declared in %s", d.Name, prev.File)})
			continue
		}
		byName[d.Name] = d
		out = append(out, d)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// LoadFile loads one dataset.yaml, as [LoadDir] loads its folder. Its
// schema's $ref may point to other JSON files in the same folder.
func LoadFile(file string, opts ...schema.Option) (*Dataset, error) {
	if filepath.Base(file) != DeclarationFile {
		return nil, &declError{file: file, msg: "a dataset is declared in a file named " + DeclarationFile}
	}
	ds, err := LoadDir(filepath.Dir(file), opts...)
	if err != nil {
		return nil, err
	}
	return ds[0], nil
}

// checkJSON returns b when it is JSON; else it reports the syntax error with
// its position.
func checkJSON(p string, b []byte, display func(string) string, errs *[]error) ([]byte, bool) {
	if json.Valid(b) {
		return b, true
	}
	_, err := schema.Compile(p, b, nil) // for its message with the position
	*errs = append(*errs, &declError{file: display(p), msg: fmt.Sprint(err)})
	return nil, false
}

// load reads, checks and compiles one declaration, with shared schema
// resources from other datasets.
func load(p string, files Files, shared map[string][]byte, display func(string) string, opts []schema.Option) (*Dataset, error) {
	file := display(p)
	decl, f, err := parseDeclaration(file, files[p])
	if err != nil {
		return nil, err
	}
	d, errs := decl.check(file, f)
	d.nameLine, d.nameCol = position(file, f, "name")
	if decl.KeyScope != "" {
		d.scopeLine, d.scopeCol = position(file, f, "key_scope")
	}
	if decl.SchemaVersion != nil {
		d.verLine, d.verCol = position(file, f, "schema_version")
	}
	d.schemaLine, d.schemaCol = position(file, f, "schema")
	if decl.Schema != "" && len(errs) == 0 {
		if err := loadSchema(d, p, files, shared, display, opts); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return d, nil
}

// loadSchema compiles the dataset's schema file, with every other JSON file
// in its folder and the shared documents as resources, into the dataset's
// one version.
func loadSchema(d *Dataset, declPath string, files Files, shared map[string][]byte, display func(string) string, opts []schema.Option) error {
	dir := path.Dir(declPath)
	name := path.Join(dir, path.Clean(filepath.ToSlash(d.SchemaName)))
	doc, ok := files[name]
	if !ok {
		return d.SchemaError("cannot read schema file: %s: no such file in the schemas folder", display(name))
	}
	res := make(map[string][]byte, len(shared)+4)
	for k, v := range shared {
		res[k] = v
	}
	// Sibling files are reachable by path and, when the schema has an $id,
	// relative to it (a relative $ref resolves against $id).
	base := idOf(doc)
	for p, b := range files {
		if path.Dir(p) != dir || p == name || !strings.HasSuffix(p, ".json") || !json.Valid(b) {
			continue
		}
		res[p] = b
		if base != nil && idOf(b) == nil {
			res[base.ResolveReference(&url.URL{Path: path.Base(p)}).String()] = b
		}
	}
	delete(res, name)
	v := &Version{Number: max(d.DeclaredVersion, 1), Source: Source{Name: name, Doc: doc, Resources: res}}
	if err := Compile(d, v, opts...); err != nil {
		return d.SchemaError("%v", err)
	}
	v.Source = Narrow(v.Source)
	v.Digest = v.Source.Digest()
	*d = *d.WithVersions([]*Version{v})
	d.SchemaFile = display(name)
	return nil
}

// idOf returns a schema document's absolute top-level $id, or nil.
func idOf(doc []byte) *url.URL {
	var head struct {
		ID string `json:"$id"`
	}
	if json.Unmarshal(doc, &head) != nil || head.ID == "" {
		return nil
	}
	u, err := url.Parse(head.ID)
	if err != nil || !u.IsAbs() {
		return nil
	}
	u.Fragment = ""
	return u
}

// position returns the line and column of a top-level field's value.
func position(file string, f *ast.File, field string) (line, col int) {
	e := at(file, f, field, "")
	return e.line, e.col
}
