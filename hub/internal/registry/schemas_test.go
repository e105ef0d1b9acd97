package registry

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
)

// schemasDir is the repository's real dataset declarations.
const schemasDir = "../../../schemas"

// TestRealSchemas loads the real declarations and checks their examples:
// every record in examples/valid passes Check and KeyOf; every file in
// examples/invalid fails with the violation examples/invalid/expect.yaml names.
//
// A "required" expectation at pointer P also matches a required violation at
// a property of P: this package names the missing property itself
// ("/employer" rather than "").
func TestRealSchemas(t *testing.T) {
	if _, err := os.Stat(schemasDir); os.IsNotExist(err) {
		t.Skip("no schemas folder")
	}
	ds, err := LoadDir(schemasDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) == 0 {
		t.Fatal("no datasets under " + schemasDir)
	}
	for _, d := range ds {
		t.Run(d.Name, func(t *testing.T) {
			ex := filepath.Join(filepath.Dir(d.File), "examples")
			valid, _ := filepath.Glob(filepath.Join(ex, "valid", "*"))
			for _, f := range valid {
				for i, rec := range records(t, f) {
					v, vs := d.Schema.Check(rec, schema.Limits{})
					if vs != nil {
						t.Errorf("%s record %d: %v", f, i+1, vs)
						continue
					}
					if _, kv := d.KeyOf(v); kv != nil {
						t.Errorf("%s record %d: %v", f, i+1, kv)
					}
				}
			}
			expectFile := filepath.Join(ex, "invalid", "expect.yaml")
			raw, err := os.ReadFile(expectFile)
			if os.IsNotExist(err) {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var expect map[string]struct {
				Pointer string `yaml:"pointer"`
				Keyword string `yaml:"keyword"`
			}
			if err := yaml.UnmarshalWithOptions(raw, &expect, yaml.DisallowUnknownField()); err != nil {
				t.Fatalf("%s: %v", expectFile, err)
			}
			invalid, _ := filepath.Glob(filepath.Join(ex, "invalid", "*.json"))
			for _, f := range invalid {
				want, ok := expect[filepath.Base(f)]
				if !ok {
					t.Errorf("%s: not listed in %s", f, expectFile)
					continue
				}
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				v, vs := d.Schema.Check(data, schema.Limits{})
				if vs == nil {
					if _, kv := d.KeyOf(v); kv != nil {
						vs = append(vs, *kv)
					}
				}
				found := false
				for _, got := range vs {
					if got.Keyword == want.Keyword && (got.Pointer == want.Pointer ||
						got.Keyword == "required" && isChild(got.Pointer, want.Pointer)) {
						found = true
					}
				}
				if !found {
					t.Errorf("%s: want a %q violation at %q, got %v", f, want.Keyword, want.Pointer, vs)
				}
			}
			for name := range expect {
				if _, err := os.Stat(filepath.Join(ex, "invalid", name)); err != nil {
					t.Errorf("%s lists %s: %v", expectFile, name, err)
				}
			}
		})
	}
}

// isChild reports whether pointer p is a direct child of parent.
func isChild(p, parent string) bool {
	rest, ok := strings.CutPrefix(p, parent+"/")
	return ok && rest != "" && !strings.Contains(rest, "/")
}

// records reads a .json file (one record) or a .ndjson file (one per line).
func records(t *testing.T, f string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	switch filepath.Ext(f) {
	case ".json":
		return [][]byte{data}
	case ".ndjson":
		var out [][]byte
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 4<<20)
		for sc.Scan() {
			if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
				out = append(out, bytes.Clone(line))
			}
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	return nil
}
