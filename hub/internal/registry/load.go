package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"

	"github.com/goccy/go-yaml/ast"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
	"github.com/jobtech-dev/datahub/internal/recordcheck"
)

// DeclarationFile is the name of a dataset's declaration file.
const DeclarationFile = "dataset.yaml"

// LoadDir loads every dataset declared under dir, one per subfolder
// (dir/*/dataset.yaml), sorted by name. A schema's $ref may point to any
// other JSON file in its own folder, or to any dir/*/*.schema.json by file
// path or by $id; nothing else is reachable.
//
// It reports every mistake at once (errors.Join), each naming its file and,
// where known, line:col and field; each wraps [ErrInvalidDeclaration]. If
// there is any mistake it returns no datasets. A dir with no declarations
// gives none and no error; a dir that cannot be read is an error.
//
// Each schema is compiled twice: by the reference validator and into the
// one-pass validator (see [Dataset.Checker]); opts configure the latter.
func LoadDir(dir string, opts ...Option) ([]*Dataset, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	if _, err := os.ReadDir(dir); err != nil {
		return nil, fmt.Errorf("load datasets: %w", err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*", DeclarationFile))
	if err != nil {
		return nil, fmt.Errorf("load datasets from %s: %w", dir, err)
	}
	sort.Strings(files)
	shared, err := filepath.Glob(filepath.Join(dir, "*", "*.schema.json"))
	if err != nil {
		return nil, fmt.Errorf("load datasets from %s: %w", dir, err)
	}
	var errs []error
	res := readResources(shared, &errs)

	var out []*Dataset
	byName := map[string]*Dataset{}
	for _, file := range files {
		d, err := load(file, res, o)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if prev, dup := byName[d.Name]; dup {
			errs = append(errs, &declError{file: file, line: d.nameLine, col: d.nameCol, field: "name",
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

// LoadFile loads one dataset.yaml. Its schema's $ref may point to other JSON
// files in the same folder. Errors are as for [LoadDir].
func LoadFile(path string, opts ...Option) (*Dataset, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	var errs []error
	d, err := load(path, readResources(nil, &errs), o)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return d, nil
}

// readResources reads schema documents by path; a file that cannot be read
// or is not JSON is reported and left out.
func readResources(paths []string, errs *[]error) map[string][]byte {
	res := make(map[string][]byte, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			*errs = append(*errs, &declError{file: p, msg: err.Error()})
			continue
		}
		if !json.Valid(b) {
			_, err := schema.Compile(p, b, nil) // for its message with the position
			*errs = append(*errs, &declError{file: p, msg: fmt.Sprint(err)})
			continue
		}
		res[p] = b
	}
	return res
}

// load reads, checks and compiles one declaration, with shared schema
// resources from other datasets.
func load(file string, shared map[string][]byte, o options) (*Dataset, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, &declError{file: file, msg: err.Error()}
	}
	decl, f, err := parseDeclaration(file, data)
	if err != nil {
		return nil, err
	}
	d, errs := decl.check(file, f)
	d.nameLine, d.nameCol = position(file, f, "name")
	if decl.KeyScope != "" {
		d.scopeLine, d.scopeCol = position(file, f, "key_scope")
	}
	if decl.Schema != "" && len(errs) == 0 {
		if err := compileSchema(d, file, f, decl.Schema, shared, o); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return d, nil
}

// compileSchema reads and compiles the dataset's schema file, with every
// other JSON file in its folder and the shared documents as resources.
func compileSchema(d *Dataset, file string, f *ast.File, rel string, shared map[string][]byte, o options) error {
	dir := filepath.Dir(file)
	path := filepath.Join(dir, filepath.FromSlash(rel))
	doc, err := os.ReadFile(path)
	if err != nil {
		return at(file, f, "schema", "cannot read schema file: %v", err)
	}
	res := make(map[string][]byte, len(shared)+4)
	for k, v := range shared {
		res[k] = v
	}
	// Sibling files are reachable by file path and, when the schema has
	// an $id, relative to it (a relative $ref resolves against $id).
	base := idOf(doc)
	local, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	for _, p := range local {
		if p == path {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil || !json.Valid(b) {
			continue
		}
		res[p] = b
		if base != nil && idOf(b) == nil {
			res[base.ResolveReference(&url.URL{Path: filepath.Base(p)}).String()] = b
		}
	}
	delete(res, path)
	s, err := schema.Compile(path, doc, res)
	if err != nil {
		return at(file, f, "schema", "%v", err)
	}
	c, err := recordcheck.New(s, doc, res, recordcheck.Options{Key: d.KeyPointer(), Tombstone: d.TombstonePointer(), Keywords: o.keywords})
	if err != nil {
		return at(file, f, "schema", "%v", err)
	}
	d.SchemaFile = path
	d.SchemaDoc = json.RawMessage(doc)
	d.Schema = s
	d.checker = c
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
