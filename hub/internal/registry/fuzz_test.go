package registry

import (
	"errors"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzDeclaration feeds the loader a dataset.yaml beside the schema files
// of one shipped dataset (which picks it, modulo their number). Whatever
// the declaration, loading must not panic; a refused one must get an
// error matching ErrInvalidDeclaration that names the file; an accepted
// one must give one dataset with a valid name, a compiled schema and a
// checker, findable in a registry.
func FuzzDeclaration(f *testing.F) {
	root := filepath.Join("..", "..", "..", "schemas")
	entries, err := os.ReadDir(root)
	if err != nil {
		f.Fatal(err)
	}
	var dirs []Files // each shipped dataset's own files, declaration left out
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		files := Files{}
		all, err := os.ReadDir(filepath.Join(root, e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		for _, x := range all {
			if x.IsDir() {
				continue
			}
			b, err := os.ReadFile(filepath.Join(root, e.Name(), x.Name()))
			if err != nil {
				f.Fatal(err)
			}
			if x.Name() == DeclarationFile {
				f.Add(b, uint8(len(dirs)))
				continue
			}
			files[path.Join("fuzz", x.Name())] = b
		}
		dirs = append(dirs, files)
	}
	if len(dirs) == 0 {
		f.Fatal("no shipped datasets")
	}
	f.Add([]byte("name: x\nkey: id\nschema: jobad.schema.json\nretention: 30d\ndedupe_window: 2m\nkey_scope: dataset\n"), uint8(0))
	f.Add([]byte("name: x\nkey: /a/b\ntombstone: removed\nschema: ../fuzz/x.schema.json\nmax_per_key: -1\nreplicas: 9\n"), uint8(1))
	f.Add([]byte("name: x\nname: y\nowner: [a]\nretention: !foo 1\n"), uint8(2))
	f.Add([]byte("schema_version: 0\ncompatibility: SIDEWAYS\ntaxonomy_deprecated: maybe\nopen: yes\n"), uint8(3))
	f.Add([]byte("\xff: {"), uint8(4))
	f.Fuzz(func(t *testing.T, decl []byte, which uint8) {
		files := Files{}
		for k, v := range dirs[int(which)%len(dirs)] {
			files[k] = v
		}
		files[path.Join("fuzz", DeclarationFile)] = decl
		ds, err := LoadFiles(files, "schemas")
		if err != nil {
			if ds != nil {
				t.Fatalf("error %v with datasets", err)
			}
			if !errors.Is(err, ErrInvalidDeclaration) {
				t.Fatalf("error does not match ErrInvalidDeclaration: %v", err)
			}
			if !strings.Contains(err.Error(), filepath.Join("schemas", "fuzz")) {
				t.Fatalf("error names no file: %v", err)
			}
			return
		}
		if len(ds) != 1 {
			t.Fatalf("%d datasets from one declaration", len(ds))
		}
		d := ds[0]
		if !nameRE.MatchString(d.Name) {
			t.Fatalf("dataset name %q accepted", d.Name)
		}
		if d.Schema == nil || d.Checker() == nil || d.Latest() == nil {
			t.Fatalf("dataset %q without a schema, a checker or a version", d.Name)
		}
		if got, ok := New(ds...).Get(d.Name); !ok || got != d {
			t.Fatalf("dataset %q not in its registry", d.Name)
		}
	})
}
